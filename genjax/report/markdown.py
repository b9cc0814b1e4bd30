"""REPORT.md: a one-screen summary (every claim, its verdict and deciding number), the methods
once, then per claim its test, each run's numbers and its figure with a caption; the runs with
their commands and protocols; the environment. The verdicts come from `judge.judge`.
"""

import os
import shlex
import socket
import sys

from genjax import registry
from genjax.claims import combine
from genjax.claims.verdicts import (
  DECIDED,
  INCONCLUSIVE,
  MIN_IDENTICAL_SEEDS,
  MIN_SEEDS,
  VERDICTS,
  Claim,
  Finding,
)
from genjax.report import compare, protocols
from genjax.report.figures import figures_of
from genjax.report.json_file import margin_json
from genjax.report.judge import NOT_CLEAR, QUESTIONS, AfterHolm, after_holm, holm_family
from genjax.report.machine import MATMUL_SIZE, environment, machine_line
from genjax.report.runs import Run, relative


def deciding_number(finding: Finding) -> str:
  margin = finding.margin
  if margin is None:
    return "—"
  return f"{margin.name}: {margin.describe(3, signed=True)}; threshold {margin.threshold:+.3g}"


def _holm_cell(finding: Finding, holm: dict) -> str:
  """A run's own p and whether it stays clear after Holm (its line in the claim's block)."""
  p, survives = holm.get(id(finding), (None, None))
  if p is None:
    return "—"
  return f"p {p:.2g}, {'clear' if survives else 'not clear'} after Holm"


def _after_holm_cell(judged: combine.Judged, after: AfterHolm) -> str:
  """The summary's multiplicity answer: the deciding run's p (named where several ran) and
  whether the claim's verdict survives Holm."""
  if after.p is None:
    return "—"
  which = (f" (`{'`, `'.join(after.runs)}`)" if len(judged.findings) > 1 and after.runs else "")
  if after.clear is None:
    return f"p {after.p:.2g}{which}; nothing decided"
  return f"p {after.p:.2g}{which}, {'clear' if after.clear else 'not clear'} after Holm"


def _verdict(finding: Finding) -> str:
  return f"**{finding.verdict}**" + (f" ({finding.condition})" if finding.condition else "")


def _sources(claim: Claim) -> str:
  if not claim.sources:
    return "ours"
  return ", ".join(s if s == "ours" else f"seed {s}" for s in claim.sources)


def summary_rows(sections, holm) -> list[str]:
  """One screen: every claim with its verdict and deciding number (one row per claim); a
  decision that does not survive Holm says so in its verdict cell."""
  rows = ["| | claim | from | verdict | deciding number [95% interval] (seeds) | after Holm |",
          "|---|---|---|---|---|---|"]
  for question in QUESTIONS:
    for judged in sections[question]:
      after = after_holm(judged, holm)
      verdict = judged.combined.verdict + (f" ({NOT_CLEAR})" if after.clear is False else "")
      rows.append(f"| {question} | {judged.claim.statement} | {_sources(judged.claim)} | "
                  f"{verdict} | {deciding_number(_deciding_finding(judged, after))} | "
                  f"{_after_holm_cell(judged, after)} |")
  return rows


def _deciding_finding(judged: combine.Judged, after: AfterHolm) -> Finding:
  """The finding whose margin the summary shows: the deciding run's (`judge.after_holm`), else
  the combined one's, else the first run's that gave the combined verdict."""
  combined = judged.combined
  deciding = [f for run, f in judged.findings if run.name in after.runs and f.margin
              and f.verdict in (*DECIDED, INCONCLUSIVE)]
  if deciding:
    return deciding[0]
  if combined.margin is not None:
    return combined
  same = [f for _, f in judged.findings if f.verdict == combined.verdict and f.margin]
  return same[0] if same else combined


def claim_lines(judged: combine.Judged, holm: dict, figures: dict[str, str]) -> list[str]:
  """A claim's block: the test, the verdict, each run's numbers, its figure with a caption."""
  claim, combined = judged.claim, judged.combined
  lines = [f"**{claim.statement}** (from: {_sources(claim)}; anchor: {claim.anchor})", "",
           f"- test: {claim.experiment}",
           f"- verdict: {_verdict(combined)}" + (f"; {combined.evidence}"
                                                 if len(judged.findings) != 1 else "")]
  for run, finding in judged.findings:
    ran = protocols.short(run)
    lines.append(f"- `{run.name}`{f' ({ran})' if ran else ''}: {_verdict(finding)}. "
                 f"{finding.evidence.rstrip('.')}."
                 + (f" Deciding: {deciding_number(finding)} ({_holm_cell(finding, holm)})."
                    if finding.margin else ""))
  if claim.disputed:
    lines.append(f"- the seeds disagree: {claim.disputed}")
  for name, figure in figures.items():
    drawn = os.path.basename(figure)[len(name) + 1:]  # copied as figures/<run name>_<its file>
    lines += ["", f"![{claim.statement} ({name})]({figure})",
              f"*Figure: {claim.statement} — `{name}`, `{drawn}`.*"]
  return lines + [""]


METHODS = [
    "## Methods",
    "",
    "- **Verdicts.** *supported*: the deciding interval lies on the claim's side of its "
    "threshold; *contradicted*: it lies clearly on the other side; *conditional*: the claim "
    "holds under a condition the data show (named in brackets) and fails outside it; "
    "*inconclusive*: the interval straddles its threshold, there are fewer than "
    f"{MIN_SEEDS} seeds, or the number is equal on every seed over fewer than "
    f"{MIN_IDENTICAL_SEEDS} (below); *not measured*: a model did not finish (its guard, with "
    "the numbers) or an input the rule reads is missing. Rules and thresholds: "
    "`genjax/claims/`; each threshold is a named constant with its reason, set before the "
    "runs it judges.",
    "- **Intervals.** Seed s of every model shares its data order and initialisation, so "
    "models are compared on per-seed differences with a two-sided 95% Student-t interval "
    "(`stats.compare`). Where every seed gives the same number the t interval has zero width; "
    "the report then says so and gives the share of seeds that agree with its exact "
    "(Clopper-Pearson) 95% interval. Intervals of bounded metrics (cells, precision, recall) "
    "are clipped to the metric's range. Attention slopes carry a t interval over sequence "
    "lengths (lengths - 2 degrees of freedom), not over seeds.",
    "- **One test per decision.** A verdict and its p come from the same test: the Student-t "
    "test whose interval the verdict reads, or, for a number equal on every seed, the exact "
    "sign test (p = 2 x 0.5^n), which reaches 95% only from "
    f"{MIN_IDENTICAL_SEEDS} seeds, so fewer such seeds never decide (`verdicts.one_test`). "
    "Counts, equivalence bands and single measurements carry no p (—).",
    "- **Multiplicity.** Each verdict reads its own test at 95% (raw). The *after Holm* column "
    "tests every measured run's deciding number in the report as one family (Holm's "
    "step-down, α = 0.05) and shows the p of the run that decides the claim (named where "
    "several ran: of runs that agree, the smallest; of runs that disagree, the larger side's). "
    "Where the verdict, recombined from the runs that stay clear after Holm, would not stand, "
    f"its cell says *{NOT_CLEAR}*: the number of tests in this report could explain it.",
    "- **Model selection.** Trained models are judged at a checkpoint chosen by a rule fixed "
    "before the run and applied to every model alike; each experiment's results state it (Q3: "
    "the evaluation step with the lowest validation reconstruction NLL, per seed; the final "
    "checkpoint's numbers are shown beside it).",
    "- **Protocols.** Each run's line names the configuration it derives from (config file "
    "and variant) and what its flagfile changes; where that is not the experiment's full "
    "configuration, *Runs* lists the fields the full one sets otherwise.",
    "- **Combining runs.** A claim judged on several runs: the decided runs agree -> their "
    "verdict; they disagree -> *conditional*, naming each run's verdict and its rule's "
    "condition; a *can* claim is supported by one "
    "run that supports it (`genjax/claims/combine.py`).",
    "- **Real text.** A comparison of byte-level models trained from scratch is judged at "
    "equal bytes before convergence, and only when every seed of every model beats the "
    "Kneser-Ney n-gram fitted on its own training split on the windows it reads (*not measured "
    "(below the competence floor)*), its verdict is the same at every evaluation of the second "
    "half of training (*inconclusive (not settled)*), and the seed-mean margin's trend against "
    "ln(step), carried to twice the budget, stays beyond the band (*inconclusive (closing)*); "
    "REPORT.json keeps the margin at every evaluation (`genjax/claims/text_settled.py`). "
    "Intervals are over seeds (each scores its own windows of the held-out documents), not "
    "over which documents were held out; the diversity study holds out two domains.",
    "- **Sources.** *seed NNN* names the file in `shared/seeds/` whose answer makes the claim; "
    "*ours* marks a row we added (a control or a finer reading of a seed claim).",
    "",
]


def elsewhere_lines(sections, holm, full: tuple[str, dict] | None) -> list[str]:
  """The report's note on the full protocol run elsewhere: `full` is (where, its REPORT.json),
  e.g. from `compare.where_it_ran` and `compare.load`; none without one."""
  if full is None:
    return []
  where, there = full
  here = {"claims": [
      {"question": q, "statement": j.claim.statement, "verdict": j.combined.verdict,
       "margin": margin_json(_deciding_finding(j, after_holm(j, holm)).margin),
       "runs": [{"name": run.name, "protocol": protocols.short(run)} for run, _ in j.findings]}
      for q in QUESTIONS for j in sections[q]]}
  notes = compare.elsewhere(here, there, where)
  return ["## The full protocol elsewhere", "",
          *(notes or [f"The full protocol run on {where} reads every claim both reports judged "
                      "as this report does."]), ""]


def write(path: str, runs: list[Run], sections, schedule: dict | None = None,
          full: tuple[str, dict] | None = None) -> str:
  """REPORT.md; `full`: (where, REPORT.json) of the full protocols run elsewhere, for the note
  on each claim that reads otherwise there (`elsewhere_lines`)."""
  report_dir = os.path.dirname(os.path.abspath(path))
  holm = holm_family(sections)
  counts = {v: sum(1 for q in sections.values() for j in q if j.combined.verdict == v)
            for v in VERDICTS}
  not_clear = sum(1 for q in sections.values() for j in q if after_holm(j, holm).clear is False)
  lines = ["# Claims report", "",
           "Each claim, restated in our words, comes from the seed texts (*seed NNN*) or is "
           "ours (*ours*: a control or a finer reading of a seed claim), and is judged by the "
           "rules in `genjax/claims/` on the runs below, each at the protocol its line states. "
           + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
           + (f"; {not_clear} of the decided not clear after Holm" if not_clear else "") + ".",
           "",
           *summary_rows(sections, holm), "", *elsewhere_lines(sections, holm, full),
           *METHODS]
  for question, title in QUESTIONS.items():
    lines += [f"## {question}. {title}", ""]
    if not sections[question]:
      lines += ["Not run in this report.", ""]
      continue
    for judged in sections[question]:
      lines += claim_lines(judged, holm, figures_of(judged, report_dir))
  lines += ["## Runs", ""]
  lines += [f"- `{run.name}`: `{shlex.join(relative(run.command))}`; {protocol(run)}"
            for run in runs]
  for run in runs:  # the tables an experiment shows beside its verdicts (registry `details`)
    shown = (registry.EXPERIMENTS[run.experiment].details_lines(run.results, run.config)
             if run.experiment and run.results else [])
    if shown:
      lines += ["", f"### `{run.name}`", "", *shown]
  lines += ["", "## Environment", "", *environment_lines(runs, schedule), "",
            f"This report: `{shlex.join(relative([sys.executable, *sys.argv]))}`", ""]
  text = "\n".join(lines)
  with open(path, "w") as f:
    f.write(text)
  return text


def protocol(run: Run) -> str:
  """One line: the configuration the run derives from and what its flagfile changes, compared
  with the experiment's full one (`protocols.describe`), then its seeds, steps and data as its
  results record them."""
  r = run.results or {}
  if run.experiment:  # in a shared workdir, this run's entry
    r = registry.EXPERIMENTS[run.experiment].run_results(r, run.config) or r
  parts = [f"{r[k]} {label[:-1] if r[k] == 1 else label}" for k, label in (
      ("num_seeds", "seeds"), ("num_steps", "steps"), ("dataset", "data")) if k in r]
  ran = protocols.describe(run)
  if ran and parts:
    return f"{ran}; its results: {', '.join(parts)}"
  return ran or ", ".join(parts) or "see its flagfile"


def environment_lines(runs: list[Run], schedule: dict | None = None) -> list[str]:
  env = environment(runs, schedule)
  lines = [f"- JAX {env['jax']} (jaxlib {env['jaxlib']}), numpy {env['numpy']}, backend "
           f"{env['backend']}, {env['devices']} x {env['device_kind']}; Python {env['python']} "
           f"on {env['machine']}, {env['cpu_model']}, {env['cpu_count']} cores; XLA_FLAGS "
           f"{env['xla_flags'] or '(unset)'}"]
  libraries = [f"{name} {env[name]}" for name in ("flax", "optax", "orbax") if name in env]
  if libraries:
    lines.append("- " + ", ".join(libraries))
  if env.get("nodes", [socket.gethostname()]) != [socket.gethostname()]:
    lines.append(f"- the runs ran on {', '.join(env['nodes'])} (REPORT.json: each run's node)")
  if schedule and all(run.wall_seconds is None for run in runs):
    lines.append("- this report: every run reused from its workdir; the times below are each "
                 "run's own, from the report that ran it")
  elif schedule:
    speed = ("" if "matmul_gflops" not in schedule else
             " on a machine whose {}³ float32 matmul ran at {:.0f} GFLOP/s before the runs and "
             "{:.0f} after".format(MATMUL_SIZE, *schedule["matmul_gflops"]))
    lines.append(f"- this report: {schedule['wall_seconds']:.0f} s wall{speed}, up to "
                 f"{schedule['jobs']} runs at a time (timed runs alone, runs of one workdir in "
                 "turn), so the run times below overlap")
  if schedule and schedule.get("runs_wall_seconds") is not None:
    lines.append(f"- with every run's own time (reused ones as recorded when they ran), the "
                 f"schedule replays to {schedule['runs_wall_seconds']:.0f} s wall")
  elif schedule and "runs_wall_seconds" in schedule:
    lines.append("- a run was resumed after an earlier attempt stopped (or reused with its time "
                 "unknown), so no wall time is known for the whole report")
  here = machine_line()
  for run in runs:
    # A run reused from another machine says which: its numbers are that machine's.
    where = f" on {run.machine}" if run.machine and run.machine != here else ""
    if run.resumed:
      wall = f"resumed: {run.wall_seconds:.0f} s here after an earlier attempt (own time unknown)"
    elif run.wall_seconds is not None:
      wall = f"{run.wall_seconds:.0f} s"
    elif run.recorded_seconds is not None:
      wall = f"reused ({run.recorded_seconds:.0f} s when it ran{where})"
    else:
      wall = f"reused from an earlier run{where}"
    lines.append(f"- {run.name}: {wall}")
  return lines

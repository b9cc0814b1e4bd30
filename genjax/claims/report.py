"""REPORT.md: every claim with the run(s) it rests on, numbers, anchor and rule-made verdict.

A rule says *not measured* only by returning it (its guard) or by raising `ResultMissing`; any
other exception inside a rule is a bug and propagates out of `judge`. A claim judged on several
runs is combined by `combine.combine` (see its docstring); REPORT.md shows the combined verdict
and one sub-row per run. REPORT.json (`report_json`) holds the same as data.
"""

import dataclasses
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any

import jax

from genjax import identity, registry
from genjax.claims import combine
from genjax.claims.verdicts import NOT_MEASURED, Claim, Finding, ResultMissing
from genjax.errors import UserError

FIGURES = "figures"  # folder beside REPORT.md with each claim's deciding figure
QUESTIONS = registry.QUESTIONS
# What `python experiments/report.py` runs with no flags (experiments/flags/report_quick.flags
# repeats it; a test keeps them equal): every claim, each protocol run from scratch.
QUICK_WORKDIR = "workdirs/report_quick"
# Longest first: a run starts when a worker frees up (genjax/claims/schedule.py).
QUICK_RUNS = [
    "gan:experiments/flags/gan_ring_metz_appendix_quick.flags",
    *(f"domain:experiments/flags/domain_{study}_quick.flags"
      for study in ("diversity", "architecture", "finetune", "fewshot", "continual")),
    "vae:experiments/flags/vae_digits_long.flags",
    "gan:experiments/flags/gan_stacked_digits_quick.flags",
    "attention:experiments/flags/attention_cpu_quick.flags",
]
# The report's own record, in each workdir it ran, of how long each run took, so a reused run
# can still show its time and price more seeds.
TIMES_FILE = "report_wall_seconds.json"  # {run name: seconds}


class RunFailed(UserError):
  """An experiment's process exited non-zero; the message holds its command and stderr tail."""

  exit_code = 1


@dataclasses.dataclass
class Run:
  """One experiment run the report needs: its command and the workdir of its results.json."""

  name: str
  command: list[str]
  workdir: str
  claims: list[Claim]
  wall_seconds: float | None = None  # None: reused from an earlier run
  results: dict | None = None
  flagfile: str = ""  # the flagfile it runs
  config: Any = None  # the config that flagfile gives; a finished run is reused only if equal
  recorded_seconds: float | None = None  # a reused run's time, where known
  experiment: str = ""  # its registry.EXPERIMENTS name


def finished(run: Run) -> bool:
  """Its results.json holds the results of this run's config (for a domain study: its entry)."""
  return identity.finished(run.workdir, run.config)


def first_finished(alternatives: list[Run]) -> Run:
  """The first run finished by its own config (longest protocols listed first); else the last,
  which is the one to run."""
  for run in alternatives:
    if finished(run):
      return run
  return alternatives[-1]


def execute(run: Run, rerun: bool) -> Run:
  """Runs the experiment unless it finished with this config (and rerun is off); loads results."""
  path = os.path.join(run.workdir, identity.RESULTS_FILE)
  times_path = os.path.join(run.workdir, TIMES_FILE)
  run.wall_seconds = run.recorded_seconds = None
  if rerun or not finished(run):
    start = time.perf_counter()
    completed = subprocess.run(run.command, capture_output=True, text=True)
    if completed.returncode:
      tail = "\n".join(completed.stderr.splitlines()[-20:])
      raise RunFailed(f"run {run.name} failed (exit {completed.returncode}): "
                      f"{shlex.join(run.command)}\n{tail}")
    run.wall_seconds = time.perf_counter() - start
    times = _read_json(times_path) or {}
    identity.write_json(times_path, times | {run.name: run.wall_seconds})
  with open(path) as f:
    run.results = json.load(f)
  if run.wall_seconds is None:
    # Only a report times a run (a run made by hand, or resumed, has no one time): unknown else.
    run.recorded_seconds = (_read_json(times_path) or {}).get(run.name)
  return run


def seconds(run: Run) -> float | None:
  """How long the run took on this machine: timed now, else recorded, else unknown."""
  return run.wall_seconds if run.wall_seconds is not None else run.recorded_seconds


def judge_one(claim: Claim, run: Run) -> Finding:
  try:
    return claim.rule(run.results)
  except ResultMissing as e:  # the only exception that means "not measured"; others are bugs
    return Finding(NOT_MEASURED, f"the results lack what this rule reads: {e}")


def judge(runs: list[Run]) -> dict[str, list[combine.Judged]]:
  """Per question, each claim (by statement, in first-seen order) with its runs' findings."""
  claims: dict[str, combine.Judged] = {}
  for run in runs:
    for claim in run.claims:
      judged = claims.setdefault(claim.statement, combine.Judged(claim, [], None))
      if claim.applies(run.results):
        judged.findings.append((run, judge_one(claim, run)))
  sections = {q: [] for q in QUESTIONS}
  for judged in claims.values():
    judged.combined = combine.combine(judged.findings)
    sections[judged.claim.question].append(judged)
  return sections


def environment(runs: list[Run], schedule: dict | None = None) -> dict:
  """Versions and devices; with `schedule` ({"jobs", "wall_seconds"}) how the runs were run."""
  devices = jax.devices()
  env = {"jax": jax.__version__, "backend": jax.default_backend(), "devices": len(devices),
         "device_kind": devices[0].device_kind, "python": platform.python_version(),
         "machine": platform.machine(), **(schedule or {})}
  try:
    import flax  # optional: judging needs neither training library
    import optax

    env |= {"flax": flax.__version__, "optax": optax.__version__}
  except ImportError:
    pass
  return env


def environment_lines(runs: list[Run], schedule: dict | None = None) -> list[str]:
  env = environment(runs, schedule)
  lines = [f"- JAX {env['jax']}, backend {env['backend']}, {env['devices']} x "
           f"{env['device_kind']}; Python {env['python']} on {env['machine']}"]
  if "flax" in env:
    lines.append(f"- flax {env['flax']}, optax {env['optax']}")
  if schedule and all(run.wall_seconds is None for run in runs):
    lines.append("- this report: every run reused from its workdir; the times below are each "
                 "run's own, from the report that ran it")
  elif schedule:
    lines.append(f"- this report: {schedule['wall_seconds']:.0f} s wall, up to "
                 f"{schedule['jobs']} runs at a time (timed runs alone, runs of one workdir in "
                 "turn), so the run times below overlap")
  for run in runs:
    if run.wall_seconds is not None:
      wall = f"{run.wall_seconds:.0f} s"
    elif run.recorded_seconds is not None:
      wall = f"reused ({run.recorded_seconds:.0f} s when it ran)"
    else:
      wall = "reused from an earlier run"
    lines.append(f"- {run.name}: {wall}")
  return lines


def copy_figure(claim: Claim, run: Run, report_dir: str) -> str | None:
  """Copies the claim's figure next to REPORT.md (so the folder can be shared as it is)."""
  if not claim.figure:
    return None
  source = os.path.join(run.workdir, claim.figure)
  if not os.path.exists(source):
    return None
  name = f"{run.name}_{os.path.basename(claim.figure)}"
  os.makedirs(os.path.join(report_dir, FIGURES), exist_ok=True)
  shutil.copyfile(source, os.path.join(report_dir, FIGURES, name))
  return f"{FIGURES}/{name}"


def figures_of(judged: combine.Judged, report_dir: str) -> dict[str, str]:
  """Run name -> the copied figure of this claim on that run (runs without one left out)."""
  copied = {run.name: copy_figure(judged.claim, run, report_dir) for run, _ in judged.findings}
  return {name: path for name, path in copied.items() if path}


def verdict_cell(finding: Finding, cost: dict | None) -> str:
  cell = f"**{finding.verdict}**" + (f": {finding.condition}" if finding.condition else "")
  described = combine.describe_cost(cost)
  return f"{cell}. {described}" if described else cell


def claim_rows(judged: combine.Judged) -> list[str]:
  """The claim's row; with several runs, the combined verdict and then one sub-row per run."""
  claim, combined = judged.claim, judged.combined
  if len(judged.findings) == 1:
    run, finding = judged.findings[0]
    cost = combine.decide_cost(finding, seconds(run))
    return [f"| {claim.statement} | {claim.experiment}; `{run.name}` | {finding.evidence} "
            f"| {claim.anchor} | {verdict_cell(finding, cost)} |"]
  where = f"{len(judged.findings)} runs, combined" if judged.findings else "no run applies"
  rows = [f"| {claim.statement} | {claim.experiment}; {where} | {combined.evidence} "
          f"| {claim.anchor} | {verdict_cell(combined, None)} |"]
  for run, finding in judged.findings:
    cost = combine.decide_cost(finding, seconds(run))
    rows.append(f"| ↳ on this run | `{run.name}` | {finding.evidence} | "
                f"| {verdict_cell(finding, cost)} |")
  return rows


def write(path: str, runs: list[Run], sections, schedule: dict | None = None) -> str:
  report_dir = os.path.dirname(os.path.abspath(path))
  lines = ["# Claims report", "",
           "Each claim from the seed texts, restated in our words, with the run it rests on, the "
           "measured numbers (spread over seeds where the experiment trains several), the "
           "published anchor and a verdict computed by the rules in `genjax/claims/` from those "
           "numbers. A rule that finds its models unfinished says *not measured*. A claim judged "
           "on several runs shows each run's finding under the combined verdict.", ""]
  for question, title in QUESTIONS.items():
    lines += [f"## {question}. {title}", ""]
    if not sections[question]:
      lines += ["Not run in this report.", ""]
      continue
    lines += ["| claim | run | measured | anchor | verdict |", "|---|---|---|---|---|"]
    figures = []
    for judged in sections[question]:
      lines += claim_rows(judged)
      figures += [f for f in figures_of(judged, report_dir).values() if f not in figures]
    lines.append("")
    lines += [f"![{os.path.basename(f)}]({f})" for f in figures]
    lines += [""] if figures else []
  lines += ["## Environment", "", *environment_lines(runs, schedule), "", "## Reproduce", ""]
  lines += [f"- {run.name}: `{shlex.join(relative(run.command))}`" for run in runs]
  lines += ["", f"This report: `{shlex.join(relative([sys.executable, *sys.argv]))}`", ""]
  text = "\n".join(lines)
  with open(path, "w") as f:
    f.write(text)
  return text


def _read_json(path: str) -> dict | None:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def relative(command: list[str]) -> list[str]:
  """The command as a user types it from the repository root (no machine-specific paths)."""
  return ["python" if part == sys.executable else os.path.relpath(part)
          if os.path.isabs(part) and os.path.exists(part) else part for part in command]

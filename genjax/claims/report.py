"""REPORT.md: every claim with its experiment, numbers, anchor and rule-made verdict."""

import dataclasses
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

import jax

from genjax.claims.verdicts import NOT_MEASURED, Claim, Finding

FIGURES = "figures"  # folder beside REPORT.md with each claim's deciding figure
QUESTIONS = {
    "Q1": "Domain generalization of language models",
    "Q2": "Mode collapse in GANs",
    "Q3": "VAEs vs standard autoencoders",
    "Q4": "The cost of self-attention",
}


@dataclasses.dataclass
class Run:
  """One experiment run the report needs: its command and where its results.json lands."""

  name: str
  command: list[str]
  workdir: str
  claims: list[Claim]
  results_file: str = "results.json"  # under workdir
  wall_seconds: float | None = None  # None: reused from an earlier run
  results: dict | None = None


def first_finished(alternatives: list[Run]) -> Run:
  """The first run whose results are in its workdir (longest protocols listed first); else the
  last, which is the one to run."""
  for run in alternatives:
    if os.path.exists(os.path.join(run.workdir, run.results_file)):
      return run
  return alternatives[-1]


def execute(run: Run, rerun: bool) -> Run:
  """Runs the experiment unless its results file already exists (and rerun is off)."""
  path = os.path.join(run.workdir, run.results_file)
  if rerun or not os.path.exists(path):
    start = time.perf_counter()
    completed = subprocess.run(run.command, capture_output=True, text=True)
    if completed.returncode:
      tail = "\n".join(completed.stderr.splitlines()[-5:])
      raise RuntimeError(f"{shlex.join(run.command)} failed:\n{tail}")
    run.wall_seconds = time.perf_counter() - start
  with open(path) as f:
    run.results = json.load(f)
  return run


def judge(runs: list[Run]) -> dict[str, list[tuple[Claim, Finding, Run]]]:
  sections = {q: [] for q in QUESTIONS}
  for run in runs:
    for claim in run.claims:
      try:
        finding = claim.rule(run.results)
      except (KeyError, IndexError, TypeError) as e:
        finding = Finding(NOT_MEASURED, f"the results lack what this rule reads ({e!r})")
      sections[claim.question].append((claim, finding, run))
  return sections


def environment_lines(runs: list[Run]) -> list[str]:
  devices = jax.devices()
  lines = [f"- JAX {jax.__version__}, backend {jax.default_backend()}, {len(devices)} x "
           f"{devices[0].device_kind}; Python {platform.python_version()} on {platform.machine()}"]
  try:
    import flax
    import optax

    lines.append(f"- flax {flax.__version__}, optax {optax.__version__}")
  except ImportError:
    pass
  for run in runs:
    wall = "reused from an earlier run" if run.wall_seconds is None else f"{run.wall_seconds:.0f} s"
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


def write(path: str, runs: list[Run], sections) -> str:
  report_dir = os.path.dirname(os.path.abspath(path))
  lines = ["# Claims report", "",
           "Each claim from the seed texts, restated in our words, with the run it rests on, the "
           "measured numbers (spread over seeds where the experiment trains several), the "
           "published anchor and a verdict computed by the rules in `genjax/claims/` from those "
           "numbers. A rule that finds its models unfinished says *not measured*.", ""]
  for question, title in QUESTIONS.items():
    lines += [f"## {question}. {title}", ""]
    if not sections[question]:
      lines += ["Not run in this report.", ""]
      continue
    lines += ["| claim | run | measured | anchor | verdict |", "|---|---|---|---|---|"]
    figures = []
    for claim, finding, run in sections[question]:
      verdict = f"**{finding.verdict}**" + (f": {finding.condition}" if finding.condition else "")
      lines.append(f"| {claim.statement} | {claim.experiment}; `{run.name}` "
                   f"| {finding.evidence} | {claim.anchor} | {verdict} |")
      figure = copy_figure(claim, run, report_dir)
      if figure and figure not in figures:
        figures.append(figure)
    lines.append("")
    lines += [f"![{os.path.basename(f)}]({f})" for f in figures]
    lines += [""] if figures else []
  lines += ["## Environment", "", *environment_lines(runs), "", "## Reproduce", ""]
  lines += [f"- {run.name}: `{shlex.join(_relative(run.command))}`" for run in runs]
  lines += ["", f"This report: `{shlex.join(_relative([sys.executable, *sys.argv]))}`", ""]
  text = "\n".join(lines)
  with open(path, "w") as f:
    f.write(text)
  return text


def _relative(command: list[str]) -> list[str]:
  return ["python" if part == sys.executable else os.path.relpath(part)
          if os.path.isabs(part) and os.path.exists(part) else part for part in command]

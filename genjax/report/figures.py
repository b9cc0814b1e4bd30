"""Each claim's deciding figure, copied from its run's workdir into `figures/` beside REPORT.md,
so the report's folder can be shared as it is."""

import os
import shutil

from genjax.claims import combine
from genjax.claims.verdicts import Claim
from genjax.report.runs import Run

FIGURES = "figures"  # folder beside REPORT.md with each claim's deciding figure


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
  """Run name -> the copied figure of this claim on that run (runs without one left out). A
  claim judged on runs of several experiments (the Markov and the real-text Q1 studies share
  their statements) is drawn by each run's own experiment, so each run's claim names the file."""
  copied = {run.name: copy_figure(own_claim(judged.claim, run), run, report_dir)
            for run, _ in judged.findings}
  return {name: path for name, path in copied.items() if path}


def own_claim(claim: Claim, run: Run) -> Claim:
  """The claim of `run`'s experiment with `claim`'s statement (its rule and figure)."""
  return next((c for c in run.claims if c.statement == claim.statement), claim)

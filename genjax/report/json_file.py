"""REPORT.json beside REPORT.md: the verdicts as data (genjax/report/compare.py reads two).

Per claim: its question, statement, sources, combined verdict, condition, evidence, margin (or
null), the p of the run that decides it with that run's name and whether the verdict stays clear
after Holm over the report, figure, and the runs it rests on with each run's protocol, finding,
p and Holm answer. Also the environment and each run's protocol and wall seconds.
A real-text margin also carries "evaluations": the deciding comparison at every evaluation
(genjax/claims/text_settled.py). Non-finite numbers are written as null (strict JSON).
"""

import dataclasses
import json
import math
import os

from genjax.claims import combine
from genjax.claims.verdicts import Finding, Margin
from genjax.report import protocols
from genjax.report import runs as report_runs
from genjax.report.figures import figures_of
from genjax.report.judge import QUESTIONS, after_holm, holm_family
from genjax.report.machine import environment


def _number(x):
  return x if not isinstance(x, float) or math.isfinite(x) else None


def _numbers(x):
  """_number through nested lists and dicts (a margin's per-evaluation records)."""
  if isinstance(x, dict):
    return {k: _numbers(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [_numbers(v) for v in x]
  return _number(x)


def margin_json(margin: Margin | None) -> dict | None:
  """Every field of the margin; a margin with fields of its own (the real-text rules' margins add
  "evaluations", the same comparison at every evaluation) writes them too."""
  if margin is None:
    return None
  return {k: _numbers(v) for k, v in dataclasses.asdict(margin).items()}


def _finding_json(finding: Finding, holm: dict) -> dict:
  p, survives = holm.get(id(finding), (None, None))
  return {"verdict": finding.verdict, "condition": finding.condition,
          "evidence": finding.evidence, "margin": margin_json(finding.margin),
          "p_value": _number(p) if p is not None else None, "clear_after_holm": survives}


def claim_json(judged: combine.Judged, report_dir: str, holm: dict) -> dict:
  """The claim as data; its p_value and clear_after_holm are the deciding run's p and whether
  the combined verdict survives Holm (`judge.after_holm`), deciding_runs names that run."""
  figures = figures_of(judged, report_dir)
  runs = [{"name": run.name, "flagfile": run.flagfile,
           "includes": protocols.included(run), "workdir": run.workdir,
           "protocol": protocols.short(run), **_finding_json(finding, holm),
           "figure": figures.get(run.name)}
          for run, finding in judged.findings]
  claim, after = judged.claim, after_holm(judged, holm)
  return {"question": claim.question, "statement": claim.statement,
          "sources": list(claim.sources) or ["ours"], "experiment": claim.experiment,
          "anchor": claim.anchor, **_finding_json(judged.combined, holm),
          "p_value": _number(after.p) if after.p is not None else None,
          "clear_after_holm": after.clear, "deciding_runs": list(after.runs),
          "figure": next(iter(figures.values()), None), "runs": runs}


def to_json(runs: list[report_runs.Run], sections, report_dir: str,
            schedule: dict | None = None) -> dict:
  holm = holm_family(sections)
  return {
      "claims": [claim_json(judged, report_dir, holm) for question in QUESTIONS
                 for judged in sections[question]],
      "environment": environment(runs, schedule),
      "runs": [{"name": run.name, "flagfile": run.flagfile, "workdir": run.workdir,
                "protocol": protocols.describe(run),
                "command": report_runs.relative(run.command), "reused": run.wall_seconds is None,
                "resumed": run.resumed, "wall_seconds": report_runs.seconds(run),
                "machine": run.machine, "node": run.node} for run in runs],
  }


def write(path: str, runs: list[report_runs.Run], sections, schedule: dict | None = None) -> dict:
  data = to_json(runs, sections, os.path.dirname(os.path.abspath(path)), schedule)
  with open(path, "w") as f:
    json.dump(data, f, indent=2, allow_nan=False)
  return data

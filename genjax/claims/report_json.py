"""REPORT.json beside REPORT.md (the verdicts as data), and what changed between two of them.

Per claim: its question, statement, sources, combined verdict, condition, evidence, margin (or
null, with its p-value and whether it stays clear after Holm over the report), figure, and the
runs it rests on with each run's finding. Also
the environment and each run's wall seconds. Non-finite numbers are written as null (strict
JSON). `compare(old, new)` lists the verdicts that changed and how far each margin moved.
"""

import dataclasses
import json
import math
import os

from genjax.claims import combine, report
from genjax.claims.verdicts import Finding, Margin
from genjax.errors import UserError


def _number(x):
  return x if not isinstance(x, float) or math.isfinite(x) else None


def margin_json(margin: Margin | None) -> dict | None:
  if margin is None:
    return None
  return {k: _number(v) for k, v in dataclasses.asdict(margin).items()}


def _finding_json(finding: Finding, holm: dict) -> dict:
  p, survives = holm.get(id(finding), (None, None))
  return {"verdict": finding.verdict, "condition": finding.condition,
          "evidence": finding.evidence, "margin": margin_json(finding.margin),
          "p_value": _number(p) if p is not None else None, "clear_after_holm": survives}


def claim_json(judged: combine.Judged, report_dir: str, holm: dict) -> dict:
  figures = report.figures_of(judged, report_dir)
  runs = [{"name": run.name, "flagfile": run.flagfile, "workdir": run.workdir,
           **_finding_json(finding, holm), "figure": figures.get(run.name)}
          for run, finding in judged.findings]
  claim = judged.claim
  return {"question": claim.question, "statement": claim.statement,
          "sources": list(claim.sources) or ["ours"], "experiment": claim.experiment,
          "anchor": claim.anchor, **_finding_json(judged.combined, holm),
          "figure": next(iter(figures.values()), None), "runs": runs}


def to_json(runs: list[report.Run], sections, report_dir: str,
            schedule: dict | None = None) -> dict:
  holm = report.holm_family(sections)
  return {
      "claims": [claim_json(judged, report_dir, holm) for question in report.QUESTIONS
                 for judged in sections[question]],
      "environment": report.environment(runs, schedule),
      "runs": [{"name": run.name, "flagfile": run.flagfile, "workdir": run.workdir,
                "command": report.relative(run.command), "reused": run.wall_seconds is None,
                "wall_seconds": report.seconds(run), "machine": run.machine} for run in runs],
  }


def write(path: str, runs: list[report.Run], sections, schedule: dict | None = None) -> dict:
  data = to_json(runs, sections, os.path.dirname(os.path.abspath(path)), schedule)
  with open(path, "w") as f:
    json.dump(data, f, indent=2, allow_nan=False)
  return data


def _distance(margin: dict | None) -> float | None:
  """value - threshold: how far the deciding number sits from flipping the verdict."""
  if not margin or margin.get("value") is None or margin.get("threshold") is None:
    return None
  return margin["value"] - margin["threshold"]


def _margin_pairs(old: dict, new: dict) -> list[tuple[str, float, float]]:
  """(label, old distance, new distance) for the claim's margins found in both reports: runs of
  the same name pair up; a claim with one margin on each side pairs them even if its run was
  renamed (a quick report against a full one)."""
  old_runs = {r["name"]: _distance(r["margin"]) for r in old["runs"]}
  new_runs = {r["name"]: _distance(r["margin"]) for r in new["runs"]}
  pairs = [(name, old_runs[name], new_runs[name]) for name in new_runs
           if name in old_runs and old_runs[name] is not None and new_runs[name] is not None]
  old_only = [(n, d) for n, d in old_runs.items() if d is not None]
  new_only = [(n, d) for n, d in new_runs.items() if d is not None]
  if not pairs and len(old_only) == 1 and len(new_only) == 1:
    pairs = [(f"{old_only[0][0]} -> {new_only[0][0]}", old_only[0][1], new_only[0][1])]
  return pairs


# The environment fields a trained number depends on: the library versions (XLA's kernels, the
# models' code), the backend and devices (sharding), the CPU model and its core count (rounding:
# experiments/bench_threads.py), XLA's flags. Not the wall time, the jobs or Python's version.
NUMBER_FIELDS = ("jax", "jaxlib", "numpy", "flax", "optax", "backend", "device_kind", "devices",
                 "cpu_model", "cpu_count", "xla_flags")


def compare_environments(old: dict, new: dict) -> list[str]:
  """Lines saying where the two reports' environments differ in NUMBER_FIELDS (a moved GAN
  number is then no surprise); none where neither report records one."""
  envs = old.get("environment"), new.get("environment")
  if envs == (None, None):
    return []
  if None in envs:
    return [f"Environment: not recorded in the {'old' if envs[0] is None else 'new'} report"]
  differ = [f"- {k}: {envs[0].get(k)!r} -> {envs[1].get(k)!r}" for k in NUMBER_FIELDS
            if envs[0].get(k) != envs[1].get(k)]
  if not differ:
    return [f"Environment: the same {', '.join(NUMBER_FIELDS)}"]
  return ["Environment differs in what trained numbers depend on (GAN training amplifies it):",
          *differ]


def compare(old: dict, new: dict) -> list[str]:
  """Lines saying which verdicts changed (old -> new), how far margins moved, and where the
  environments differ."""
  old_claims = {c["statement"]: c for c in old["claims"]}
  new_claims = {c["statement"]: c for c in new["claims"]}
  both = [s for s in new_claims if s in old_claims]
  changed = [f"- [{new_claims[s]['question']}] {s}: {old_claims[s]['verdict']} -> "
             f"{new_claims[s]['verdict']}" for s in both
             if old_claims[s]["verdict"] != new_claims[s]["verdict"]]
  moved = []
  for s in both:
    for label, before, after in _margin_pairs(old_claims[s], new_claims[s]):
      moved.append(f"- [{new_claims[s]['question']}] {s} (`{label}`): {before:+.4g} -> "
                   f"{after:+.4g} ({after - before:+.4g})")
  lines = ["Verdicts changed (old -> new):", *(changed or ["- none"]),
           "Margins, value - threshold (old -> new, change):", *(moved or ["- none in both"])]
  for title, only in (("Only in the old report:", [s for s in old_claims if s not in new_claims]),
                      ("Only in the new report:", [s for s in new_claims if s not in old_claims])):
    if only:
      lines += [title, *(f"- {s}: {(old_claims | new_claims)[s]['verdict']}" for s in only)]
  return lines + compare_environments(old, new)


def load(path: str) -> dict:
  """A REPORT.json, checked to be one: a UserError naming the file where it is not."""
  try:
    with open(path) as f:
      data = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise UserError(f"{path} is not a readable REPORT.json: {e}") from None
  claims = data.get("claims") if isinstance(data, dict) else None
  if not isinstance(claims, list) or not all(
      isinstance(c, dict) and {"statement", "verdict", "question", "runs"} <= c.keys()
      for c in claims):
    raise UserError(f"{path} is not a REPORT.json (no list of claims with statement, verdict, "
                    "question and runs)")
  return data


def compare_files(old_path: str, new_path: str) -> list[str]:
  return compare(load(old_path), load(new_path))

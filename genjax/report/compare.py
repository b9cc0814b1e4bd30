"""What changed between two REPORT.jsons (`--compare`): the verdicts that changed (claims', then
each run's), how far each margin moved, and where the environments differ in what trained numbers
depend on; and the note a report carries where the full protocol, run elsewhere, reads a claim
otherwise (`elsewhere`).
"""

import dataclasses
import json
import math

from genjax.claims.verdicts import Margin
from genjax.errors import UserError


def _distance(margin: dict | None) -> float | None:
  """value - threshold: how far the deciding number sits from flipping the verdict."""
  if not margin or margin.get("value") is None or margin.get("threshold") is None:
    return None
  return margin["value"] - margin["threshold"]


def _paired_runs(old: dict, new: dict) -> list[tuple[str, dict, dict]]:
  """(label, old run, new run) for the claim's runs in both reports: runs of the same name, and
  a renamed run, whose flagfile reads the old run's in place ("includes", e.g. a 5-seed flagfile
  built on the 3-seed one), labelled "old -> new"."""
  old_runs = {r["name"]: r for r in old["runs"]}
  new_runs = {r["name"]: r for r in new["runs"]}
  pairs = [(name, old_runs[name], run) for name, run in new_runs.items() if name in old_runs]
  by_flagfile = {r.get("flagfile"): r for name, r in old_runs.items()
                 if name not in new_runs and r.get("flagfile")}
  for name, run in new_runs.items():
    base = next((by_flagfile[f] for f in run.get("includes", []) if f in by_flagfile), None)
    if name not in old_runs and base is not None:
      pairs.append((f"{base['name']} -> {name}", base, run))
  return pairs


def _margin_pairs(old: dict, new: dict) -> list[tuple[str, float, float]]:
  """(label, old distance, new distance) for the claim's margins found in both reports: paired
  runs (`_paired_runs`); a claim with one margin on each side pairs them even if its run was
  renamed otherwise (a quick report against a full one)."""
  old_runs = {r["name"]: _distance(r["margin"]) for r in old["runs"]}
  new_runs = {r["name"]: _distance(r["margin"]) for r in new["runs"]}
  pairs = [(label, _distance(before["margin"]), _distance(after["margin"]))
           for label, before, after in _paired_runs(old, new)]
  pairs = [(label, b, a) for label, b, a in pairs if b is not None and a is not None]
  old_only = [(n, d) for n, d in old_runs.items() if d is not None]
  new_only = [(n, d) for n, d in new_runs.items() if d is not None]
  if not pairs and len(old_only) == 1 and len(new_only) == 1:
    pairs = [(f"{old_only[0][0]} -> {new_only[0][0]}", old_only[0][1], new_only[0][1])]
  return pairs


# The environment fields a trained number depends on: the library versions (XLA's kernels, the
# models' code), the backend and devices (sharding), the CPU model and its core count (rounding:
# bench/bench_threads.py), XLA's flags. Not the wall time, the jobs or Python's version.
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


def _run_verdict_changes(old: dict, new: dict) -> list[tuple[str, str, str]]:
  """(run, old verdict, new verdict) for the claim's paired runs (`_paired_runs`) whose own
  verdict changed, where the claim's verdict does not already say it: a run that is the claim's
  only one in both reports. A claim that another run decides can hide a run's flip (more budget
  settling a real-data row while a toy study decides the claim)."""
  if len(old["runs"]) == 1 and len(new["runs"]) == 1:
    return []
  return [(label, before["verdict"], after["verdict"])
          for label, before, after in _paired_runs(old, new)
          if before["verdict"] != after["verdict"]]


def compare(old: dict, new: dict) -> list[str]:
  """Lines saying which verdicts changed (old -> new), claims' and then runs', how far margins
  moved, and where the environments differ."""
  old_claims = {c["statement"]: c for c in old["claims"]}
  new_claims = {c["statement"]: c for c in new["claims"]}
  both = [s for s in new_claims if s in old_claims]
  changed = [f"- [{new_claims[s]['question']}] {s}: {old_claims[s]['verdict']} -> "
             f"{new_claims[s]['verdict']}" for s in both
             if old_claims[s]["verdict"] != new_claims[s]["verdict"]]
  runs_changed = [f"- [{new_claims[s]['question']}] {s} (`{name}`): {before} -> {after}"
                  for s in both
                  for name, before, after in _run_verdict_changes(old_claims[s], new_claims[s])]
  moved = []
  for s in both:
    for label, before, after in _margin_pairs(old_claims[s], new_claims[s]):
      moved.append(f"- [{new_claims[s]['question']}] {s} (`{label}`): {before:+.4g} -> "
                   f"{after:+.4g} ({after - before:+.4g})")
  lines = ["Verdicts changed (old -> new):", *(changed or ["- none"]),
           *(["Run verdicts changed, beside their claim's (old -> new):", *runs_changed]
             if runs_changed else []),
           "Margins, value - threshold (old -> new, change):", *(moved or ["- none in both"])]
  for title, only in (("Only in the old report:", [s for s in old_claims if s not in new_claims]),
                      ("Only in the new report:", [s for s in new_claims if s not in old_claims])):
    if only:
      lines += [title, *(f"- {s}: {(old_claims | new_claims)[s]['verdict']}" for s in only)]
  return lines + compare_environments(old, new)


def _number(margin: dict | None) -> str:
  """A REPORT.json margin in the report's one dialect (`Margin.describe`); "no single number"."""
  if not margin:
    return "no single number"
  fields = {k: (math.nan if v is None and k in ("low", "high", "sd") else v)
            for k, v in margin.items() if k in {f.name for f in dataclasses.fields(Margin)}}
  if fields.get("bounds") is not None:
    fields["bounds"] = tuple(fields["bounds"])
  return f"{margin['name']}: {Margin(**fields).describe(3, signed=True)}"


def _runs(claim: dict) -> str:
  return "; ".join(f"`{r['name']}`" + (f", {r['protocol']}" if r.get("protocol") else "")
                   for r in claim["runs"])


def where_it_ran(there: dict, path: str) -> str:
  """E.g. "1 x NVIDIA H200 (`reports/gpu/REPORT.json`)", from the report's own environment."""
  env = there.get("environment") or {}
  device = (f"{env['devices']} x {env['device_kind']}" if "devices" in env
            and "device_kind" in env else "another machine")
  return f"{device} (`{path}`)"


def elsewhere(here: dict, there: dict, where: str) -> list[str]:
  """The note on a claim this report reads otherwise than `there`, a REPORT.json of the full
  protocols run elsewhere (an accelerator): both verdicts with their deciding numbers and the
  runs (with protocols) behind each. Claims that agree, or that one report lacks, are left out;
  no line at all where they agree on every claim both judged."""
  theirs = {c["statement"]: c for c in there["claims"]}
  lines = []
  for claim in here["claims"]:
    other = theirs.get(claim["statement"])
    if other is None or other["verdict"] == claim["verdict"]:
      continue
    lines.append(f"- [{claim['question']}] {claim['statement']} Here **{claim['verdict']}** "
                 f"({_number(claim['margin'])}; {_runs(claim)}); at the full protocol on "
                 f"{where} **{other['verdict']}** ({_number(other['margin'])}; {_runs(other)}).")
  return lines


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

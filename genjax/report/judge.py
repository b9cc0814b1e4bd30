"""Judging the runs' results with the claims' rules (genjax/claims/): each claim's finding per run,
combined over its runs, and the Holm family over every deciding number of the report.

A rule says *not measured* only by returning it (its guard) or by raising `ResultMissing`; any
other exception inside a rule is a bug and propagates out of `judge`. A claim judged on several
runs is combined by `combine.combine` (see its docstring); REPORT.md shows the combined verdict
and one sub-row per run, REPORT.json the same as data.
"""

import dataclasses

from genjax import registry, stats
from genjax.claims import combine
from genjax.claims.verdicts import (
  DECIDED,
  INCONCLUSIVE,
  NOT_MEASURED,
  Claim,
  Finding,
  ResultMissing,
  one_test,
  require_seeds,
)
from genjax.report.runs import Run

QUESTIONS = registry.QUESTIONS
NOT_CLEAR = "not clear after Holm"  # the summary's word for a decision Holm does not keep


def judge_one(claim: Claim, run: Run) -> Finding:
  try:
    return one_test(require_seeds(claim.rule(run.results)))
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
    judged.combined = combine.combine(judged.findings, judged.claim.existential)
    sections[judged.claim.question].append(judged)
  return sections


def holm_family(sections) -> dict[int, tuple[float | None, bool | None]]:
  """id(finding) -> (p, still clear after Holm) over every run-level margin of the report that
  was measured (a *not measured* run tests nothing). The p is the one test its verdict reads
  (`verdicts.one_test`): Student t, or the exact sign test where every seed agrees."""
  findings = [f for judged_list in sections.values() for judged in judged_list
              for _, f in judged.findings if f.verdict != NOT_MEASURED]
  p_values = [f.margin.p_value() if f.margin else None for f in findings]
  return {id(f): (p, h) for f, p, h in zip(findings, p_values, stats.holm(p_values),
                                           strict=True)}


@dataclasses.dataclass(frozen=True)
class AfterHolm:
  """A claim's answer to multiplicity: the p of the run whose test decides it and whether the
  combined verdict survives Holm."""

  p: float | None  # the deciding run's p (None: no run's test decides it, e.g. a count)
  clear: bool | None  # the verdict survives Holm (None: nothing to survive, or no p)
  runs: tuple[str, ...]  # the run(s) with that p


def _recombined(judged: combine.Judged, keep) -> str:
  """The combined verdict with every decided finding that `keep` rejects read as inconclusive."""
  findings = [(run, f if f.verdict not in DECIDED or keep(f) else
               Finding(INCONCLUSIVE, f.evidence, NOT_CLEAR, f.margin))
              for run, f in judged.findings]
  return combine.combine(findings, judged.claim.existential).verdict


def after_holm(judged: combine.Judged, holm: dict) -> AfterHolm:
  """The deciding run's p and whether the claim's verdict survives Holm.

  A decided claim: its runs' decisions are dropped in order of their p, largest first (as Holm
  drops them); the deciding p is the largest p still kept when the combined verdict last stands
  (one run decides: its p; runs agree: the smallest of theirs; runs disagree: the larger of the
  two sides). It is clear when the verdict, recombined from the runs that stay clear after Holm,
  is unchanged. An inconclusive claim shows the p of its first inconclusive run with a margin,
  and nothing to survive. A run's finding missing from the family (a bug) raises KeyError."""
  combined = judged.combined
  if combined.verdict not in DECIDED:  # nothing decided, nothing to survive: the shown p only
    shown = [(run, f) for run, f in judged.findings if f.verdict == INCONCLUSIVE and f.margin]
    if combined.verdict != INCONCLUSIVE or not shown:
      return AfterHolm(None, None, ())
    run, finding = shown[0]
    return AfterHolm(holm[id(finding)][0], None, (run.name,))
  tested = {id(f): holm[id(f)] for _, f in judged.findings if f.verdict in DECIDED}
  levels = sorted({p for p, _ in tested.values() if p is not None})
  for level in [None, *levels]:
    def keep(f, level=level):
      p = tested[id(f)][0]
      return p is None or level is not None and p <= level
    if _recombined(judged, keep) == combined.verdict:
      break
  else:  # the verdict needs every decided run: it cannot fail to stand with all of them
    raise AssertionError(f"{judged.claim.statement!r}: its verdict does not recombine")
  if level is None:
    return AfterHolm(None, None, ())
  runs = tuple(run.name for run, f in judged.findings
               if f.verdict in DECIDED and tested[id(f)][0] == level)
  clear = _recombined(judged, lambda f: tested[id(f)][1] is not False) == combined.verdict
  return AfterHolm(level, clear, runs)

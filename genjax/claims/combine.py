"""One claim judged on several runs: how their findings combine, and how many seeds would decide.

A claim is identified by its `statement`; every run whose claims list it, and for which
`claim.applies(results)` holds, gives one finding. They combine as follows:

- no run applies, or every run says *not measured* -> *not measured* (with each run's reason);
- the runs that measured agree -> that verdict (a lone measured run keeps its condition and
  margin);
- the runs that measured disagree -> *depends*, and the condition names which run says what.

Runs that say *not measured* beside runs that measured do not veto them: the combined verdict
comes from the measured runs, and its evidence lists the unmeasured runs with their reasons, so
the claim reads as only as strong as the runs that measured it. A combined margin exists only
when one run measured the claim (margins of different runs are different numbers); each run's
own margin stays with its finding.
"""

import dataclasses
import math
from typing import Any

from genjax import stats
from genjax.claims.verdicts import DEPENDS, NOT_MEASURED, Claim, Finding, Margin

# Seeds beyond this are not searched: a claim that needs more is not decided by adding seeds.
MAX_SEEDS = 1000


@dataclasses.dataclass
class Judged:
  """One claim with each applicable run's finding and their combination."""

  claim: Claim  # as the first run lists it (statement, anchor, figure)
  findings: list[tuple[Any, Finding]]  # (run, its finding), in the order of the runs
  combined: Finding


def combine(findings: list[tuple[Any, Finding]]) -> Finding:
  """The combined finding of one claim over its runs (each run has a `.name`)."""
  if not findings:
    return Finding(NOT_MEASURED, "no run in this report can speak to this claim")
  if len(findings) == 1:
    return findings[0][1]
  measured = [(run, f) for run, f in findings if f.verdict != NOT_MEASURED]
  unmeasured = [(run, f) for run, f in findings if f.verdict == NOT_MEASURED]
  if not measured:
    return Finding(NOT_MEASURED, "; ".join(f"`{run.name}`: {f.evidence}" for run, f in findings))
  missing = ("; not measured on " + "; ".join(f"`{run.name}` ({f.evidence})"
                                              for run, f in unmeasured)) if unmeasured else ""
  if len(measured) == 1:
    finding = measured[0][1]
    return dataclasses.replace(finding, evidence=f"on `{measured[0][0].name}` only: "
                               f"{finding.evidence}{missing}")
  verdicts = list(dict.fromkeys(f.verdict for _, f in measured))  # first-seen order
  by_verdict = {v: ", ".join(f"`{run.name}`" for run, f in measured if f.verdict == v)
                for v in verdicts}
  if len(verdicts) == 1:
    verdict = verdicts[0]
    condition = "; ".join(f"`{run.name}`: {f.condition}" for run, f in measured if f.condition)
    return Finding(verdict, f"{len(measured)} runs agree ({by_verdict[verdict]}){missing}",
                   condition)
  condition = "the runs disagree: " + "; ".join(f"{v} on {by_verdict[v]}" for v in verdicts)
  return Finding(DEPENDS, f"{len(measured)} runs disagree{missing}", condition)


def straddles(margin: Margin | None) -> bool:
  """Whether the margin's interval contains its threshold (the seeds have not decided)."""
  return (margin is not None and math.isfinite(margin.low) and math.isfinite(margin.high)
          and margin.low <= margin.threshold <= margin.high)


def seeds_to_decide(margin: Margin) -> int | None:
  """Smallest n (of the margin's unit: seeds, or lengths of a slope fit) whose t interval (the
  margin's s.d. and confidence) clears the threshold at the observed mean; None if more than
  MAX_SEEDS would be needed."""
  distance = abs(margin.value - margin.threshold)
  fitted = 2 if margin.unit == "lengths" else 1  # a slope fit spends 2 degrees of freedom
  for n in range(fitted + 1, MAX_SEEDS + 1):
    if stats.t_critical(n - fitted, margin.confidence) * margin.sd / math.sqrt(n) < distance:
      return n
  return None


def decide_cost(finding: Finding, seconds: float | None) -> dict | None:
  """For a *depends* whose interval straddles its threshold: how many seeds (or sequence lengths,
  for a slope) would decide it and the minutes that would take here, scaling the run's seconds by
  n / seeds (the run trains its seeds together, or times each length in turn, so its time grows
  about linearly in them). None where it does not apply."""
  margin = finding.margin
  if finding.verdict != DEPENDS or not straddles(margin) or not math.isfinite(margin.sd) \
     or margin.sd <= 0 or margin.seeds < 1:
    return None
  n = seeds_to_decide(margin)
  minutes = None if n is None or seconds is None else seconds * n / margin.seeds / 60
  return {"seeds": n, "unit": margin.unit, "max_seeds": MAX_SEEDS, "minutes": minutes}


def describe_cost(cost: dict | None) -> str:
  """One sentence for REPORT.md ("" where no seed count applies)."""
  if cost is None:
    return ""
  what = "seeds" if cost["unit"] == "seeds" else "sequence lengths in the fitted range"
  if cost["seeds"] is None:
    return f"More than {cost['max_seeds']} {what} would be needed to decide it."
  minutes = ("at a cost this report cannot estimate (the run's time is unknown)"
             if cost["minutes"] is None else f"about {cost['minutes']:.0f} min on this machine")
  return f"{cost['seeds']} {what} would decide it, {minutes}."

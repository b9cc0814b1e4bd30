"""One claim judged on several runs: how their findings combine.

A claim is identified by its `statement`; every run whose claims list it, and for which
`claim.applies(results)` holds, gives one finding. They combine as follows:

- no run applies, or every run says *not measured* -> *not measured* (with each run's reason);
- an existential claim ("a GAN *can* collapse", `Claim.existential`) is *supported* by one run
  that supports it, whatever the others say (they are listed);
- the runs that decided (supported, contradicted, conditional) agree -> that verdict;
- they disagree -> *conditional* on the run, naming which run says what;
- no run decided -> *inconclusive*.

Runs that say *not measured* or *inconclusive* beside runs that decided do not veto them: the
combined verdict comes from the decided runs, and its evidence lists the others with their
reasons, so the claim reads as only as strong as the runs that decided it. A combined margin
exists only when one run decided the claim (margins of different runs are different numbers);
each run's own margin stays with its finding.
"""

import dataclasses
from typing import Any

from genjax.claims.verdicts import (
  CONDITIONAL,
  DECIDED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
)


@dataclasses.dataclass
class Judged:
  """One claim with each applicable run's finding and their combination."""

  claim: Claim  # as the first run lists it (statement, anchor, figure)
  findings: list[tuple[Any, Finding]]  # (run, its finding), in the order of the runs
  combined: Finding


def _names(pairs) -> str:
  return ", ".join(f"`{run.name}`" for run, _ in pairs)


def combine(findings: list[tuple[Any, Finding]], existential: bool = False) -> Finding:
  """The combined finding of one claim over its runs (each run has a `.name`)."""
  if not findings:
    return Finding(NOT_MEASURED, "no run in this report can speak to this claim")
  if len(findings) == 1:
    return findings[0][1]
  measured = [(run, f) for run, f in findings if f.verdict != NOT_MEASURED]
  if not measured:
    return Finding(NOT_MEASURED, "; ".join(f"`{run.name}`: {f.evidence}" for run, f in findings))
  decided = [(run, f) for run, f in measured if f.verdict in DECIDED]
  others = [(run, f) for run, f in findings if f.verdict not in DECIDED]
  rest = "".join(f"; {f.verdict} on `{run.name}` ({f.condition or f.evidence})"
                 for run, f in others)
  supporting = [(run, f) for run, f in decided if f.verdict == SUPPORTED]
  if existential and supporting:
    return Finding(SUPPORTED, f"the claim says this can happen: supported on "
                   f"{_names(supporting)}" + "".join(
                       f"; {f.verdict} on `{run.name}`" for run, f in findings
                       if f.verdict != SUPPORTED))
  if not decided:
    return Finding(INCONCLUSIVE, f"no run decides it{rest}", "each run's own line says what "
                   "it could not tell")
  if len(decided) == 1:
    run, finding = decided[0]
    return dataclasses.replace(finding, evidence=f"on `{run.name}` only: {finding.evidence}"
                               f"{rest}")
  verdicts = list(dict.fromkeys(f.verdict for _, f in decided))  # first-seen order
  by_verdict = {v: _names([(r, f) for r, f in decided if f.verdict == v]) for v in verdicts}
  if len(verdicts) == 1:
    verdict = verdicts[0]
    condition = "; ".join(f"`{run.name}`: {f.condition}" for run, f in decided if f.condition)
    return Finding(verdict, f"{len(decided)} runs agree ({by_verdict[verdict]}){rest}",
                   condition)
  condition = "on the run: " + "; ".join(f"{v} on {by_verdict[v]}" for v in verdicts)
  return Finding(CONDITIONAL, f"{len(decided)} runs disagree{rest}", condition)

"""One claim judged on several runs: how their findings combine.

A claim is identified by its `statement`; every run whose claims list it, and for which
`claim.applies(results)` holds, gives one finding. They combine as follows:

- no run applies, or every run says *not measured* -> *not measured* (with each run's reason,
  and their condition where they share one, e.g. *premise absent*);
- an existential claim ("a GAN *can* collapse", `Claim.existential`) is *supported* by one run
  that supports it (a witness), whatever the others say (they are listed); without a witness it
  is *inconclusive (not shown)* when some run was measured, never *contradicted* or
  *conditional*: a run that fails to show what can happen does not show that it cannot. A single
  run's *contradicted* or *conditional* finding reads *inconclusive (not shown)* for such a claim
  (the rules should not return one; this keeps the combination honest if one does);
- the runs that decided (supported, contradicted, conditional) agree -> that verdict;
- they disagree -> *conditional*, naming each run's verdict and the condition its rule names;
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
  CONTRADICTED,
  DECIDED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
)

# The condition of an existential claim that no run shows: *inconclusive (not shown)*.
NOT_SHOWN = "not shown"


@dataclasses.dataclass
class Judged:
  """One claim with each applicable run's finding and their combination."""

  claim: Claim  # as the first run lists it (statement, anchor, figure)
  findings: list[tuple[Any, Finding]]  # (run, its finding), in the order of the runs
  combined: Finding


def _names(pairs) -> str:
  return ", ".join(f"`{run.name}`" for run, _ in pairs)


def _unmeasured(findings) -> Finding:
  """Every run says *not measured*: each run's reason, and their shared condition if any."""
  conditions = {f.condition for _, f in findings}
  return Finding(NOT_MEASURED, "; ".join(f"`{run.name}`: {f.evidence}" for run, f in findings),
                 conditions.pop() if len(conditions) == 1 else "")


def _not_shown(finding: Finding) -> Finding:
  """A single run's finding against an existential claim: it shows the claim or it does not."""
  if finding.verdict not in (CONTRADICTED, CONDITIONAL):
    return finding
  why = f" ({finding.verdict}: {finding.condition})" if finding.condition else ""
  return Finding(INCONCLUSIVE, finding.evidence, f"{NOT_SHOWN}: this run does not show it"
                 f"{why}; a run that fails to does not contradict a claim that it can happen",
                 finding.margin)


def _existential(findings: list[tuple[Any, Finding]]) -> Finding:
  """A "can" claim over several runs: supported by one witness, else never decided."""
  listed = "".join(f"; {f.verdict} on `{run.name}`" + (f" ({f.condition})" if f.condition else "")
                   for run, f in findings if f.verdict != SUPPORTED)
  supporting = [(run, f) for run, f in findings if f.verdict == SUPPORTED]
  if supporting:
    return Finding(SUPPORTED, f"the claim says this can happen: supported on "
                   f"{_names(supporting)}{listed}")
  if all(f.verdict == NOT_MEASURED for _, f in findings):
    return _unmeasured(findings)
  return Finding(INCONCLUSIVE, f"the claim says this can happen: no run shows it{listed}",
                 f"{NOT_SHOWN}: no run that could be judged shows it; runs that fail to do not "
                 "contradict it")


def combine(findings: list[tuple[Any, Finding]], existential: bool = False) -> Finding:
  """The combined finding of one claim over its runs (each run has a `.name`)."""
  if not findings:
    return Finding(NOT_MEASURED, "no run in this report can speak to this claim")
  if len(findings) == 1:
    return _not_shown(findings[0][1]) if existential else findings[0][1]
  if existential:
    return _existential(findings)
  measured = [(run, f) for run, f in findings if f.verdict != NOT_MEASURED]
  if not measured:
    return _unmeasured(findings)
  decided = [(run, f) for run, f in measured if f.verdict in DECIDED]
  others = [(run, f) for run, f in findings if f.verdict not in DECIDED]
  rest = "".join(f"; {f.verdict} on `{run.name}` ({f.condition or f.evidence})"
                 for run, f in others)
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
  # Each run with what it read and the condition its own rule names (its regime, its data), so
  # the combined condition says what differs between the runs, not only that they differ.
  condition = "; ".join(f"{f.verdict} on `{run.name}`"
                        + (f" ({f.condition})" if f.condition else "") for run, f in decided)
  return Finding(CONDITIONAL, f"{len(decided)} runs disagree{rest}", condition)

"""The band every Q1 rule reads its comparisons against, written once for both language-model
studies: the Markov study in nats per token (genjax/claims/domain_checks.py) and the real-text
study in bits per byte (genjax/claims/text_checks.py), each with its own minimum effect.

Models of one seed are scored on the same evaluation sets, so two models are compared on the
per-seed differences (`stats.compare(paired=True)`, a CONFIDENCE Student-t interval). A
difference counts when its whole interval lies beyond the band ±min_effect; each verdict carries
the deciding comparison as its `Margin`, whose flip threshold is the band's edge on the claim's
side. Also here: what both studies' guards and rules share (the seed minimum, interpolating a
finetuning run at another model's target loss, the per-seed mean of several summaries).
"""

import dataclasses

import numpy as np

from genjax import stats
from genjax.claims.verdicts import (
  CONFIDENCE,
  CONTRADICTED,
  INCONCLUSIVE,
  MIN_SEEDS,
  SUPPORTED,
  Finding,
  Margin,
  by_interval,
)

# The baselines of the architecture rules: one attention layer, and a model blind to the order
# of its context (genjax/lm/model.py ARCHS).
ONE_LAYER, BLIND = "transformer_1layer", "bag_mlp"


@dataclasses.dataclass(frozen=True)
class Band:
  """Paired per-seed comparisons of losses in `unit`, read against ±`min_effect`.

  says_outcome: each comparison's text ends with its outcome ("lower", "higher" or "unclear":
  where the interval lies against the band), as the Markov study's evidence states it.
  """

  min_effect: float
  unit: str
  says_outcome: bool = False

  def compare(self, a: dict, b: dict) -> dict:
    """a - b per seed (summaries with "seeds"): stats.compare plus "outcome" and "text"."""
    c = stats.compare(a["seeds"], b["seeds"], paired=True, confidence=CONFIDENCE)
    if c["high"] < -self.min_effect:
      outcome = "lower"
    elif c["low"] > self.min_effect:
      outcome = "higher"
    else:
      outcome = "unclear"
    c["outcome"] = outcome
    text = stats.describe_compare(c, digits=3)
    c["text"] = f"{text} ({outcome})" if self.says_outcome else text
    return c

  def threshold(self, want: str) -> float:
    """The band's edge on `want`'s side ("lower" or "higher")."""
    return -self.min_effect if want == "lower" else self.min_effect

  def slack(self, c: dict, want: str) -> float:
    """How far c's interval clears the band toward `want`; < 0: it does not."""
    return -self.min_effect - c["high"] if want == "lower" else c["low"] - self.min_effect

  def margin(self, name: str, c: dict, want: str) -> Margin:
    """The Margin of a compare() result read toward `want`: its flip threshold is the band's
    edge on that side (the interval must lie beyond it for `want`)."""
    return Margin.from_compare(name, c, self.threshold(want), CONFIDENCE)

  def deciding(self, named: dict) -> Margin:
    """The Margin of the comparison closest to flipping ({name: (compare result, want)})."""
    name, (c, want) = min(named.items(), key=lambda item: self.slack(*item[1]))
    return self.margin(name, c, want)

  def verdict(self, name: str, c: dict, want: str = "lower") -> tuple[str, Margin]:
    """One comparison read toward `want`: SUPPORTED beyond the band on that side, CONTRADICTED
    when the interval rules that effect out, INCONCLUSIVE when it straddles the band's edge."""
    m = self.margin(name, c, want)
    return by_interval(m, "below" if want == "lower" else "above"), m

  def all_of(self, named: dict) -> tuple[str, Margin]:
    """Every comparison ({name: (compare result, want)}) must go its way: SUPPORTED with the one
    closest to flipping; else CONTRADICTED by the first ruled out, else INCONCLUSIVE by the
    first that straddles."""
    read = {name: self.verdict(name, c, want) for name, (c, want) in named.items()}
    if all(v == SUPPORTED for v, _ in read.values()):
      return SUPPORTED, self.deciding(named)
    for wanted in (CONTRADICTED, INCONCLUSIVE):
      for v, m in read.values():
        if v == wanted:
          return v, m
    raise AssertionError(f"unreachable: {read}")


def too_few_seeds(num_seeds: int) -> Finding | None:
  """INCONCLUSIVE below MIN_SEEDS seeds: no interval decides yet (every rule's first guard)."""
  if num_seeds < MIN_SEEDS:
    return Finding(INCONCLUSIVE, f"{num_seeds} seed(s)", f"every rule needs {MIN_SEEDS} seeds "
                   "before its interval decides")
  return None


def mean_of(summaries: list[dict]) -> dict:
  """The per-seed mean of several summaries (each with "seeds")."""
  return {"seeds": np.mean([s["seeds"] for s in summaries], axis=0).tolist()}


def at_matched_target(curve: dict, target: dict) -> tuple[dict, int]:
  """A finetuning run's held-out loss at another model's target loss, per seed: linear
  interpolation along the run's steps T in (target, held-out) (curve: {T: {"target",
  "heldout"}}; target: a summary with "seeds"). Matching the target loss compares forgetting at
  equal learning (Biderman et al. 2024); the count of seeds whose target lies outside the run's
  range (clamped there) comes back beside it."""
  steps = sorted(curve, key=int)
  matched, outside = [], 0
  for s, wanted in enumerate(target["seeds"]):
    points = sorted((curve[t]["target"]["seeds"][s], curve[t]["heldout"]["seeds"][s])
                    for t in steps)
    targets, heldouts = [p[0] for p in points], [p[1] for p in points]
    outside += not targets[0] <= wanted <= targets[-1]
    matched.append(float(np.interp(wanted, targets, heldouts)))
  return {"seeds": matched}, outside

"""What every Q1 rule shares: the paired comparison with its margin, and the guards that a model
learned (TRAINED_BELOW_UNIFORM) and finished pretraining (PLATEAU_NATS). Thresholds are named
here with their reasons; genjax/claims/domain.py holds the rules.
"""

import math

import numpy as np

from genjax import stats
from genjax.claims.verdicts import (
  CONFIDENCE,
  CONTRADICTED,
  INCONCLUSIVE,
  MIN_SEEDS,
  NOT_MEASURED,
  SUPPORTED,
  Finding,
  Margin,
  ResultMissing,
  by_interval,
)

# Differences inside ±0.002 nats/token (0.1% of the ~2-nat losses) are too small to matter for
# any of these claims, however many seeds pin them down.
MIN_EFFECT_NATS = 0.002
# A model has learned from its training data when its loss there is this far below uniform
# (log V = 2.079): an untrained transformer sits at uniform, and the in-context unigram, the
# weakest use of the context, is 0.05 below it at L = 64.
TRAINED_BELOW_UNIFORM = 0.02
# A pretrained model has finished training when its training-domain loss (mean over seeds) fell
# by less than this between its last two evaluations: 0.01 nats/token is 0.5% of the ~2-nat
# losses and a tenth of the architecture and diversity effects judged here (0.1-1 nat), so a
# model still falling faster could close such a gap in another evaluation interval.
PLATEAU_NATS = 0.01


def compare(a: dict, b: dict) -> dict:
  """a - b per seed (summaries with "seeds"): stats.compare plus "outcome" and "text"."""
  c = stats.compare(a["seeds"], b["seeds"], paired=True, confidence=CONFIDENCE)
  if c["high"] < -MIN_EFFECT_NATS:
    outcome = "lower"
  elif c["low"] > MIN_EFFECT_NATS:
    outcome = "higher"
  else:
    outcome = "unclear"
  c["outcome"] = outcome
  c["text"] = f"{stats.describe_compare(c, digits=3)} ({outcome})"
  return c


def _slack(c: dict, want: str) -> float:
  """How far c's interval clears the band toward `want` ("lower"/"higher"); < 0: it does not."""
  return -MIN_EFFECT_NATS - c["high"] if want == "lower" else c["low"] - MIN_EFFECT_NATS


def margin(name: str, c: dict, want: str) -> Margin:
  """The Margin of a compare() result read toward `want`: its flip threshold is the band's edge
  on that side (the interval must lie beyond it for `want`)."""
  threshold = -MIN_EFFECT_NATS if want == "lower" else MIN_EFFECT_NATS
  return Margin.from_compare(name, c, threshold, CONFIDENCE)


def deciding(named: dict) -> Margin:
  """The Margin of the comparison closest to flipping ({name: (compare result, want)})."""
  name, (c, want) = min(named.items(), key=lambda item: _slack(*item[1]))
  return margin(name, c, want)


def verdict(name: str, c: dict, want: str) -> tuple[str, Margin]:
  """One comparison read toward `want`: SUPPORTED beyond the band on that side, CONTRADICTED
  when the interval rules that effect out, INCONCLUSIVE when it straddles the band's edge."""
  m = margin(name, c, want)
  return by_interval(m, "below" if want == "lower" else "above"), m


def all_of(named: dict) -> tuple[str, Margin]:
  """Every comparison ({name: (compare result, want)}) must go its way: SUPPORTED with the one
  closest to flipping; else CONTRADICTED by the first ruled out, else INCONCLUSIVE by the
  first that straddles."""
  read = {name: verdict(name, c, want) for name, (c, want) in named.items()}
  if all(v == SUPPORTED for v, _ in read.values()):
    return SUPPORTED, deciding(named)
  for wanted in (CONTRADICTED, INCONCLUSIVE):
    for v, m in read.values():
      if v == wanted:
        return v, m
  raise AssertionError(f"unreachable: {read}")


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


def full_runs(methods: dict) -> list[str]:
  return [n for n, m in methods.items() if m["kind"] == "full" and not n.startswith("replay")]


def finetune_untrained(r: dict, names) -> Finding | None:
  grid, methods = r["grid"], r["methods"]
  first, last = str(grid[0]), str(grid[-1])
  named = {f"pretrained (T={first}, held-out)": methods[names[0]]["curve"][first]["heldout"]}
  named |= {f"{n} (T={last}, target)": methods[n]["curve"][last]["target"] for n in names}
  return untrained(r, named)


def get(container: dict, key, what: str):
  """container[key], or ResultMissing naming `what` when the results lack it."""
  if key not in container:
    raise ResultMissing(f"the results have no {what} ({key!r})")
  return container[key]


def untrained(results: dict, named: dict) -> Finding | None:
  """NOT_MEASURED if a seed's model in `named` ({label: summary on its training data}) is not
  below uniform by TRAINED_BELOW_UNIFORM; INCONCLUSIVE if there are too few seeds."""
  if results["num_seeds"] < MIN_SEEDS:
    return Finding(INCONCLUSIVE, f"{results['num_seeds']} seed(s)", f"every rule needs "
                   f"{MIN_SEEDS} seeds before its interval decides")
  bar = math.log(results["config"]["vocab"]) - TRAINED_BELOW_UNIFORM
  failed = [f"{label} {max(s['seeds']):.3f}" for label, s in named.items()
            if max(s["seeds"]) >= bar]
  if failed:
    return Finding(NOT_MEASURED, f"not trained: worst seed {', '.join(failed)} on its training "
                   f"data, not below {bar:.3f} (uniform - {TRAINED_BELOW_UNIFORM})")
  return None


def still_improving(named_rows: dict) -> Finding | None:
  """NOT_MEASURED if a model's training-domain loss still falls by more than PLATEAU_NATS over
  its last evaluation interval ({label: pretraining row with "indist_curve": {step: summary}})."""
  falling = []
  for label, row in named_rows.items():
    curve = get(row, "indist_curve", f"training-domain curve of {label}")
    if len(curve) < 2:
      raise ResultMissing(f"{label}: the plateau check needs two evaluations, the results have "
                          f"{len(curve)} (config.pretrain_evals)")
    before, last = sorted(curve, key=int)[-2:]
    drop = curve[before]["mean"] - curve[last]["mean"]
    if drop > PLATEAU_NATS:
      falling.append(f"{label} {curve[before]['mean']:.3f} at step {before} -> "
                     f"{curve[last]['mean']:.3f} at {last}")
  if falling:
    return Finding(NOT_MEASURED, "not converged: training-domain loss still falls by more than "
                   f"{PLATEAU_NATS} nats over the last evaluation interval: "
                   + "; ".join(falling))
  return None

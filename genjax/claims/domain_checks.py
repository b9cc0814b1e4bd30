"""What every Q1 rule shares: the paired comparison with its margin, and the guards that a model
learned (TRAINED_BELOW_UNIFORM) and finished pretraining (PLATEAU_NATS). Thresholds are named
here with their reasons; genjax/claims/domain.py holds the rules.
"""

import math

from genjax import stats
from genjax.claims.verdicts import NOT_MEASURED, Finding, Margin, ResultMissing

CONFIDENCE = 0.95  # of every t interval over seeds
# Differences inside ±0.002 nats/token (0.1% of the ~2-nat losses) are too small to matter for
# any of these claims, however many seeds pin them down.
MIN_EFFECT_NATS = 0.002
# A model has learned from its training data when its loss there is this far below uniform
# (log V = 2.079): an untrained transformer sits at uniform, and the in-context unigram, the
# weakest use of the context, is 0.05 below it at L = 64.
TRAINED_BELOW_UNIFORM = 0.02
MIN_SEEDS = 2  # an interval needs a spread over seeds
# A pretrained model has finished training when its training-domain loss (mean over seeds) fell
# by less than this between its last two evaluations: 0.01 nats/token is 0.5% of the ~2-nat
# losses and a tenth of the architecture and diversity effects judged here (0.1-1 nat), so a
# model still falling faster could close such a gap in another evaluation interval.
PLATEAU_NATS = 0.01


def compare(a: dict, b: dict) -> dict:
  """a - b per seed (summaries with "seeds"): stats.compare plus "outcome" and "text"."""
  c = stats.compare(a["seeds"], b["seeds"], paired=True, confidence=CONFIDENCE)
  if c["high"] < -MIN_EFFECT_NATS:
    outcome, flip = "lower", f"flips if the upper end reaches {-MIN_EFFECT_NATS:+.3f}"
  elif c["low"] > MIN_EFFECT_NATS:
    outcome, flip = "higher", f"flips if the lower end reaches {MIN_EFFECT_NATS:+.3f}"
  else:
    outcome, flip = "unclear", f"a verdict needs the interval beyond ±{MIN_EFFECT_NATS:.3f}"
  c["outcome"] = outcome
  c["text"] = (f"{c['diff']:+.3f} ({outcome}; 95% t interval {c['low']:+.3f} to "
               f"{c['high']:+.3f}, s.d. over {c['n']} seeds {c['sd']:.3f}; {flip})")
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


def get(container: dict, key, what: str):
  """container[key], or ResultMissing naming `what` when the results lack it."""
  if key not in container:
    raise ResultMissing(f"the results have no {what} ({key!r})")
  return container[key]


def untrained(results: dict, named: dict) -> Finding | None:
  """NOT_MEASURED if a seed's model in `named` ({label: summary on its training data}) is not
  below uniform by TRAINED_BELOW_UNIFORM, or if there are too few seeds for an interval."""
  if results["num_seeds"] < MIN_SEEDS:
    return Finding(NOT_MEASURED, f"{results['num_seeds']} seed: no interval (needs "
                   f"{MIN_SEEDS})")
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

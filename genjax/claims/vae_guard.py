"""Q3's guard and the readers every Q3 rule shares: whether each model finished training, the
checkpoint it is judged at, and the results' numbers (per-seed summaries).
"""

from genjax import stats
from genjax.claims.verdicts import CONFIDENCE, NOT_MEASURED, Finding, Margin, ResultMissing

# Convergence guard of every rule: a model counts as trained when its held-out (validation
# split) reconstruction NLL (z = mean), evaluated while training, fell by less than this fraction
# of its final value between the last evaluation at or before GUARD_FROM of training and the end
# (a rise means it is past its best, overfitting: also finished). 1%: the reconstruction
# differences these rules judge between AE and VAE are a few percent, so a model still
# improving by more could reorder them.
PLATEAU_FRACTION = 0.01
GUARD_FROM = 0.75
HELD_OUT = "validation_reconstruction_nll"  # the curve the guard reads (never the test split)


def _get(tree, *path):
  """tree[path[0]][path[1]]...; ResultMissing naming the path when the run lacks it."""
  for depth, key in enumerate(path):
    if not isinstance(tree, dict) or key not in tree:
      raise ResultMissing("no " + "/".join(map(str, path[:depth + 1])) + " in the results")
    tree = tree[key]
  return tree


def plateau_drop(model) -> tuple[float, int, int, float, float]:
  """(fractional fall of the held-out recon NLL over the guard window, its steps, its values)."""
  steps, held_out = _get(model, "curve", "step"), _get(model, "curve", HELD_OUT)
  if len(steps) < 2 or len(held_out) != len(steps):
    raise ResultMissing(f"a learning curve of {len(steps)} evaluation(s); the guard needs two")
  earlier = [i for i, step in enumerate(steps) if step <= GUARD_FROM * steps[-1]]
  if not earlier:
    raise ResultMissing(f"no evaluation at or before {GUARD_FROM:.0%} of the {steps[-1]} steps "
                        "(lower config.eval_every)")
  before, after = _mean(held_out[earlier[-1]]), _mean(held_out[-1])
  return (before - after) / after, steps[earlier[-1]], steps[-1], before, after


def training_unfinished(model) -> str | None:
  """Why the model cannot be judged as trained (its numbers), or None if it has plateaued."""
  drop, start, end, before, after = plateau_drop(model)
  if drop > PLATEAU_FRACTION:
    return (f"held-out recon NLL still falling: {before:.2f} at step {start} -> {after:.2f} at "
            f"step {end} ({drop:.1%} > {PLATEAU_FRACTION:.0%})")
  return None


def guard_margins(results, names, selected: bool = True) -> str:
  """The guard's number for each model, and (`selected`) the checkpoint each is judged at."""
  drops = [f"{n} {plateau_drop(_get(results, 'models', n))[0]:+.2%}" for n in names]
  return (f"held-out recon NLL fall over the last quarter (finished below "
          f"{PLATEAU_FRACTION:.0%}): " + ", ".join(drops) + "."
          + (" " + selection_text(results, names) if selected else ""))


def selection_text(results, names) -> str:
  """Which step each model is judged at (lowest validation recon NLL, per seed), and the final
  checkpoint's test recon NLL beside the selected one's: what the selection changed."""
  parts = []
  for n in names:
    model = _get(results, "models", n)
    if "selected_step" not in model:  # results of a run made before model selection
      return "Judged at the final checkpoint (no selection recorded)"
    steps = "/".join(f"{s:g}" for s in _values(model["selected_step"]))
    parts.append(f"{n} step {steps} (test recon NLL {_mean(model['reconstruction_nll']):.2f}; "
                 f"final {_mean(_get(model, 'final', 'reconstruction_nll')):.2f})")
  return ("Judged at the lowest validation recon NLL per seed of "
          f"{_get(results, 'num_steps')} steps: " + "; ".join(parts))


def _untrained(results, names) -> Finding | None:
  """NOT_MEASURED naming each model that has not finished training, else None."""
  reasons = [(n, training_unfinished(_get(results, "models", n))) for n in names]
  reasons = [f"{n}: {why}" for n, why in reasons if why]
  why = "models not trained to a plateau; " + "; ".join(reasons)
  return Finding(NOT_MEASURED, why) if reasons else None


def _values(metric) -> list[float]:  # a stats.summary's per-seed values; a number is one seed
  return metric["seeds"] if isinstance(metric, dict) else [float(metric)]


def _mean(metric) -> float:
  return metric["mean"] if isinstance(metric, dict) else float(metric)


def _spread(metric, digits=2) -> str:
  return stats.spread(metric, digits)


def _models(results, *names):
  """(NOT_MEASURED if a model is untrained, else None; the models); ResultMissing if absent."""
  return _untrained(results, names), [_get(results, "models", n) for n in names]


def _compare(a, b, scale_b: float = 1.0) -> dict:
  """a - scale_b * b over seeds, paired (a constant b is subtracted from every seed of a)."""
  a_values, b_values = _values(a), [scale_b * v for v in _values(b)]
  if len(b_values) == 1:
    b_values *= len(a_values)
  return stats.compare(a_values, b_values, paired=True, confidence=CONFIDENCE)


def _margin(name: str, c: dict) -> Margin:
  """The Margin of a paired difference `c` read against 0 (every rule's threshold here)."""
  return Margin.from_compare(name, c, 0.0, CONFIDENCE)


def _interval(c: dict, digits=2) -> str:
  return stats.describe_compare(c, digits=digits)


def _lower(c: dict) -> bool:  # the interval of a - b lies below zero: a is clearly lower
  return c["clear"] and c["high"] < 0


def _higher(c: dict) -> bool:
  return c["clear"] and c["low"] > 0

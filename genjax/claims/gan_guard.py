"""Q2's guard: was the run's budget enough to judge a generator, and has the generator settled?

A generator can fail two ways at the end of a run: it was not trained enough (the budget was too
small), or it was trained and this is what it does (a blurred collapse, a generator that keeps
hopping). The guard tells them apart with two checks, both read from results.json of
experiments/gan.py:

- **A budget witness.** Some method in the same run (same nets, data, optimizer budget and number
  of samples per step as the judged one) reaches the sharpness bar: its typical seed's median
  nearest-center distance is within MAX_MEDIAN_STD std (2D), or its precision is at least
  MIN_PRECISION_RATIO of real data's (images). Then the run's budget was enough to fit the data,
  and a judged generator that stays blurred does so by its own dynamics. A sharp judged generator
  is its own witness.
- **Steadiness.** The judged generator's cell statistics (STEADY_STATS) show no trend over the
  last third of training beyond seed noise (the evaluations at or after 2/3 of the last
  evaluated step, at least MIN_WINDOW of them, else the run has too few evaluations to say):
  per seed, the least-squares slope over that window times the window's length is the drift;
  there is a trend when the 95% t interval of the mean drift over seeds excludes 0 *and* the
  mean drift exceeds the seeds' spread (s.d.) at the last evaluation. A generator still moving
  beyond that is unfinished.

Without a witness, or with a trend, the rules say *not measured* with these numbers.
"""


import numpy as np

from genjax import stats
from genjax.claims.verdicts import CONFIDENCE  # of every interval a rule reads, stated once

# Sharp on a 2D mixture: the typical seed's median nearest-center distance is within the HQ
# radius (3 std), i.e. at least half its samples are high quality. Real data: 1.18 std; a
# uniform blur over the ring's square or an untrained G: tens of std.
MAX_MEDIAN_STD = 3.0
# Sharp where no distance exists (stacked digits): the typical seed's precision is at least half
# of real data's. A uniform blur over the ring's square scores 0.008 against real data's 0.975.
MIN_PRECISION_RATIO = 0.5
# What must be steady: the occupied cells, the fullest cell's share and the reverse KL of the
# cell histogram, all computed from every sample, sharp or not (metrics/coverage.py).
STEADY_STATS = ("cells", "top_share", "reverse_kl")
# Drifts below this are float noise of the fit: the statistics are shares and counts of at most
# ~1e5 samples, which resolve 1e-5 at best.
DRIFT_NOISE = 1e-6
# The window is the last third of training; it must hold at least this many evaluations (a slope
# and its spread need 3). Counting evaluations instead would let a run evaluated 4 times reach
# back to a third of training, where a generator is still expected to move.
WINDOW_FRACTION = 1 / 3
MIN_WINDOW = 3


def typical(results: dict, name: str, stat: str) -> float:
  """The median seed's final value (one diverged seed does not move it)."""
  return float(np.median(results["methods"][name]["summary"][stat]["seeds"]))


def sharpness(results: dict, name: str) -> tuple[bool, str]:
  """(the typical seed is sharp, the number with its bar)."""
  if "median_distance_std" in results["methods"][name]["summary"]:
    value = typical(results, name, "median_distance_std")
    return value <= MAX_MEDIAN_STD, f"{name} median distance {value:.1f} std"
  value = typical(results, name, "precision")
  return (value >= MIN_PRECISION_RATIO * results["real_data"]["precision"],
          f"{name} precision {value:.3f}")


def sharpness_bar(results: dict) -> str:
  real = results["real_data"]
  if "median_distance_std" in real:
    return f"<= {MAX_MEDIAN_STD:g} std (real data {real['median_distance_std']:.2f})"
  return f">= {MIN_PRECISION_RATIO:g} x real data's precision {real['precision']:.3f}"


def witness(results: dict, name: str) -> str | None:
  """A sharp method with `name`'s samples per step in this run (`name` itself first)."""
  methods = results["methods"]
  same_budget = [name] + [m for m in methods if m != name
                          and methods[m]["samples_per_step"] == methods[name]["samples_per_step"]]
  return next((m for m in same_budget if sharpness(results, m)[0]), None)


def drift(results: dict, name: str, stat: str) -> dict | None:
  """Trend of `stat` over the last third of `name`'s training (None: too few evaluations)."""
  history = [h for h in results["methods"][name]["history"] if stat in h]
  if not history:
    return None
  last = history[-1]["step"]
  start = last - WINDOW_FRACTION * last  # not (1 - 1/3) * last: 2/3 rounds below 10000 of 15000
  window = [h for h in history if h["step"] >= start]
  if len(window) < MIN_WINDOW:
    return None
  steps_W = np.array([h["step"] for h in window], np.float64)
  values_WxS = np.array([h[stat] for h in window], np.float64)
  slopes_S = np.polyfit(steps_W - steps_W[0], values_WxS, 1)[0]
  drift_S = slopes_S * (steps_W[-1] - steps_W[0])
  test = stats.compare(drift_S, np.zeros_like(drift_S), paired=True, confidence=CONFIDENCE)
  spread = float(values_WxS[-1].std(ddof=1)) if values_WxS.shape[1] > 1 else 0.0
  return {"stat": stat, "drift": float(drift_S.mean()), "low": test["low"], "high": test["high"],
          "spread": spread, "from": int(steps_W[0]), "to": int(steps_W[-1]),
          "trend": bool(test["clear"] and abs(drift_S.mean()) > max(spread, DRIFT_NOISE))}


def check(results: dict, judged: list[str]) -> tuple[bool, str]:
  """(the judged generators can be judged, the guard's numbers as text)."""
  texts, ok = [], True
  for name in judged:
    found = witness(results, name)
    sharp = sharpness(results, name)[1]
    if found is None:
      ok = False
      texts.append(f"no budget witness for {name}: no method at its "
                   f"{results['methods'][name]['samples_per_step']} samples per step is sharp "
                   f"({sharpness_bar(results)}); {sharp}")
    else:
      texts.append(f"{name}: budget witness {found} ({sharpness(results, found)[1]}, bar "
                   f"{sharpness_bar(results)})" + ("" if found == name else f"; {sharp}"))
    for stat in STEADY_STATS:
      d = drift(results, name, stat)
      if d is None:
        ok = False
        texts.append(f"{name} {stat}: fewer than {MIN_WINDOW} evaluations in the last third of "
                     "training, no trend test")
      elif d["trend"]:
        ok = False
        texts.append(f"{name} still trending: {stat} drifts {d['drift']:+.3f} over steps "
                     f"{d['from']}-{d['to']} (95% t interval {d['low']:+.3f} to "
                     f"{d['high']:+.3f}; seed s.d. {d['spread']:.3f})")
  return ok, "; ".join(texts)

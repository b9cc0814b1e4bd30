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

Without a witness, or with a trend, the rules say *not measured* with these numbers. `check`
takes the statistics that must be steady: a rule passes those that measure its claim, so a drift
in numbers that do not measure it never drops a run.

**The premise** (`premise`, issue 64's "premise before verdict"): a claim about a collapsed
generator's samples (which modes it covers, whether it keeps them, how realistic they look) is
judged only on a run whose samples are shown to lie on the data: the lower end of the 95% t
interval of the judged generator's precision over seeds, in the judge's space (results.json's
`prdc_space`), is at least ON_DATA_PRECISION_RATIO of the precision of an independent draw of
real data in the same space (`real_data`). Otherwise the run reads *not measured (premise
absent)* for that claim, with the numbers.
"""

import math

import numpy as np

from genjax import stats
from genjax.claims.verdicts import (  # CONFIDENCE: of every interval a rule reads, stated once
  CONFIDENCE,
  NOT_MEASURED,
  Finding,
  Margin,
  ResultMissing,
)

# Sharp on a 2D mixture: the typical seed's median nearest-center distance is within the HQ
# radius (3 std), i.e. at least half its samples are high quality. Real data sits well inside
# it (results.json's real_data row); a uniform blur over the ring's square or an untrained G
# lies far outside.
MAX_MEDIAN_STD = 3.0
# Sharp where no distance exists (stacked digits): the typical seed's precision is at least half
# of real data's; a uniform blur over the ring's square scores a small fraction of it (the
# uniform_blur row of results.json).
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
# The premise: samples lie on the data when they fall inside the real manifold (the union of real
# data's k-NN balls, metrics/prdc.py) at least half as often as a held-out draw of real data does.
# Then most of what the generator makes sits where data lies, so "the modes it covers" and "how its
# samples look" speak of the data's modes; a generator that never reached the data (a blob between
# the modes) has no modes of the data to cover, hop between or render realistically. Half, not the
# realism bar (gan_realism.REALISTIC_PRECISION_RATIO): the premise must not pre-decide that claim,
# so a run can sit on the data and still fall short of realistic. Fixed by issue 64 before any run
# it judges.
ON_DATA_PRECISION_RATIO = 0.5
# The condition a run reads when the premise fails: *not measured (premise absent)*.
PREMISE_ABSENT = "premise absent"
# How the precision's space is named in evidence (results.json's prdc_space).
SPACE = {"features": " in classifier features", "pixels": " in pixels", "data": ""}


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


def check(results: dict, judged: list[str], steady=STEADY_STATS) -> tuple[bool, str]:
  """(the judged generators can be judged, the guard's numbers as text); `steady`: the
  statistics that must show no trend (those that measure the claim)."""
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
    for stat in steady:
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


def require(results: dict, names) -> None:
  """The judged methods and the premise's inputs exist, else ResultMissing (never a verdict)."""
  missing = [n for n in names if n not in results["methods"]]
  if missing:
    raise ResultMissing(f"no {', '.join(missing)} run in {results['dataset']}")
  if "precision" not in results.get("real_data", {}):
    raise ResultMissing(f"no real-data precision in {results['dataset']} (the premise's bar)")
  lacking = [n for n in names if "precision" not in results["methods"][n]["summary"]]
  if lacking:
    raise ResultMissing(f"no precision of {', '.join(lacking)} in {results['dataset']} (the "
                        "premise reads it)")


def space(results: dict) -> str:
  return SPACE.get(results.get("prdc_space"), "")


def on_data(results: dict, name: str) -> tuple[bool, str]:
  """(`name`'s samples are shown to lie on the data, the numbers with the bar as text)."""
  real = results["real_data"]["precision"]
  bar = ON_DATA_PRECISION_RATIO * real
  m = Margin.of_values(f"{name} precision", results["methods"][name]["summary"]["precision"]
                       ["seeds"], bar, bounds=(0.0, 1.0))
  shown = math.isfinite(m.low) and m.low >= bar
  return shown, (f"{name} precision{space(results)} {m.describe(3)} vs {real:.3f} for real data: "
                 f"{'on' if shown else 'not shown on'} the data (premise: the interval stays >= "
                 f"{bar:.3f}, {ON_DATA_PRECISION_RATIO:g} x real data's)")


def premise(results: dict, name: str, steady=STEADY_STATS) -> tuple[Finding | None, str]:
  """The guard, then the premise, for a claim about `name`'s samples: (None, the guard's and the
  premise's numbers as text) when the run can be judged, else (its *not measured* finding, "")."""
  require(results, [name])
  ok, guard = check(results, [name], steady)
  if not ok:
    return Finding(NOT_MEASURED, "not measured: " + guard), ""
  shown, text = on_data(results, name)
  if not shown:
    return Finding(NOT_MEASURED, f"{results['dataset']}: the premise is absent, {name}'s samples "
                   f"are not shown to lie on the data, so this claim about a collapsed "
                   f"generator's samples is not judged here: {text}. Guard: {guard}",
                   PREMISE_ABSENT), ""
  return None, f"{text}. Guard: {guard}"

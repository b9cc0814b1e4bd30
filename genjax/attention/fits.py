"""From sweep rows to numbers: log-log slopes with honest intervals, crossovers, the summary."""

import dataclasses
import math

import numpy as np

# Expected log-log slopes in n (time, memory) from the seed claim.
EXPECTED_SLOPE = {
    "naive": (2, 2), "dot_product": (2, 2), "blocked": (2, 1), "chunked": (2, 1),
    "sliding_window": (1, 1), "block_sparse": (1, 1), "linformer": (1, 1), "performer": (1, 1),
    "lsh": (1, 1),
}
FIT_METHOD = ("OLS of log(median over timed rounds) on log(n), one point per n; 95% interval "
              "from Student's t with (points - 2) degrees of freedom (none with 2 points)")


@dataclasses.dataclass
class Fit:
  slope: float
  lo: float  # 95% interval; nan when only two n were fitted (no degrees of freedom left)
  hi: float
  n_lo: int
  n_hi: int
  points: int  # distinct n in the fit: the regression's sample size
  repeats: int  # fewest timed rounds behind one point's median
  intercept: float  # log(value) at n = 1, for drawing the fitted line


def fit_slope(ns, values_per_n, fit_points):
  """Log-log slope over the largest `fit_points` n, one median per n, with a 95% interval.

  Repeats at one n are not independent observations of the slope (they share that n's cache
  behaviour and the minute's load), so each n enters once, as its median; the interval then
  has points - 2 degrees of freedom and is as wide as the few points make it.
  """
  medians = {}
  for n, vs in zip(ns, values_per_n, strict=True):
    vs = [v for v in vs if v > 0 and np.isfinite(v)]
    if vs:
      medians[n] = (float(np.median(vs)), len(vs))
  use = sorted(medians)[-fit_points:]
  if len(use) < 2:
    return None
  x = np.log(np.array(use, float))
  y = np.log(np.array([medians[n][0] for n in use]))
  slope, icept = np.polyfit(x, y, 1)
  dof = len(use) - 2
  half = float("nan")
  if dof > 0:
    from scipy import stats

    resid = y - (slope * x + icept)
    se = math.sqrt(resid @ resid / dof / ((x - x.mean()) @ (x - x.mean())))
    half = stats.t.ppf(0.975, dof) * se
  return Fit(float(slope), float(slope - half), float(slope + half), use[0], use[-1], len(use),
             min(medians[n][1] for n in use), float(icept))


def crossover(ns, ratio):
  """First n where ratio (attention / other) crosses 1, log-log interpolated; None if never."""
  pts = [(n, r) for n, r in zip(ns, ratio, strict=True) if r > 0 and np.isfinite(r)]
  for (n0, r0), (n1, r1) in zip(pts, pts[1:], strict=False):
    if r0 < 1 <= r1:
      f = -math.log(r0) / (math.log(r1) - math.log(r0))
      return math.exp(math.log(n0) + f * (math.log(n1) - math.log(n0)))
  if pts and pts[0][1] >= 1:
    return float(pts[0][0])  # already above at the smallest n: an upper bound
  return None


def _floats(text):
  return [float(t) for t in text.split()]


def summarize(rows, config):
  """Slopes, crossovers and largest n from the rows: a dict for results.md and the logs."""
  out = {"slopes": [], "crossovers": [], "largest": {}, "errors": {}}
  scaling = [r for r in rows if r["section"] == "scaling" and r["status"] == "ok"]
  for name in config.variants:
    for mode in config.modes:
      pts = sorted((r for r in scaling if r["variant"] == name and r["mode"] == mode),
                   key=lambda r: r["n"])
      if not pts:
        continue
      ns = [r["n"] for r in pts]
      tfit = fit_slope(ns, [_floats(r["times"]) for r in pts], config.fit_points)
      # Per round, time over the reference matmul of the same round: cancels machine-wide load.
      nfit = fit_slope(ns, [[t / ref for t, ref in zip(_floats(r["times"]), _floats(
          r["reference_times"]), strict=True)] for r in pts], config.fit_points)
      mem = [r for r in pts if r["memory_source"] == "memory_analysis"]
      mfit = fit_slope([r["n"] for r in mem], [[r["temp_bytes"]] for r in mem], config.fit_points)
      out["slopes"].append(dict(variant=name, mode=mode, time=tfit, time_corrected=nfit,
                                memory=mfit, expected=EXPECTED_SLOPE[name]))
      errs = [(r["n"], r["rel_error"]) for r in pts if "rel_error" in r]
      if errs:
        out["errors"][name] = errs
  for r in rows:
    if r["section"] in ("scaling", "long") and r["status"] == "ok":
      key = (r["variant"], r["mode"], r["section"])
      out["largest"][key] = max(out["largest"].get(key, 0), r["n"])
  cross = [r for r in rows if r["section"] == "crossover"]
  for d in config.crossover_widths:
    by = {p: {r["n"]: r["time_s"] for r in cross if r["d"] == d and r["part"] == p}
          for p in ("attention", "mlp", "projections", "layer")}
    ns = sorted(by["attention"])
    if not ns:
      continue
    att = np.array([by["attention"][n] for n in ns])
    mlp = np.array([by["mlp"][n] for n in ns])
    lin = mlp + np.array([by["projections"][n] for n in ns])
    out["crossovers"].append(dict(
        d=d, ns=ns, attention_share=(att / (att + lin)).tolist(),
        attention_over_mlp=(att / mlp).tolist(),
        predicted_mlp=4 * d, measured_mlp=crossover(ns, att / mlp),
        predicted_linear=6 * d, measured_linear=crossover(ns, att / lin),
        parts_over_layer=((att + lin) / np.array([by["layer"][n] for n in ns])).tolist()))
  return out

"""From sweep rows to numbers: log-log slopes with honest intervals, crossovers, the summary."""

import dataclasses
import math

import numpy as np
from scipy import stats

from genjax.attention import measure

# Expected log-log slopes in n (time, memory) from the seed claim.
EXPECTED_SLOPE = {
    "naive": (2, 2), "dot_product": (2, 2), "blocked": (2, 1), "chunked": (2, 1),
    "sliding_window": (1, 1), "block_sparse": (1, 1), "linformer": (1, 1), "performer": (1, 1),
    "lsh": (1, 1),
}


def expected_slope(name: str, config) -> tuple[int, int]:
  """(time, memory) slopes in n the claim expects of a variant as this config runs it: XLA's
  dot_product writes the n x n scores out, a fused flash kernel (cuDNN's, Pallas') does not
  (memory slope 1.00 for cuDNN's on an H200)."""
  if measure.fused_kernel(name, config):
    return (2, 1)
  return EXPECTED_SLOPE[name]


# The fit window. A measured time is t(n) = c0 + a * n^k: a fixed cost per call c0 (dispatch,
# loop and buffer set-up) plus the work. Its local log-log slope is k * (1 - c0 / t(n)), so the
# curve is a power law of exponent k only where c0 is a small share of t. The same program at a
# tiny n (config.probe_n, timed in the same sweep) takes t_probe >= c0, so a point with
# t(n) >= OVERHEAD_FACTOR * t_probe has a local slope within k / OVERHEAD_FACTOR of k: 0.1 for
# quadratic and 0.05 for linear work at 20, under half the claim rules' tolerance of 0.25.
# Both times are the fastest of their rounds: other processes only ever add time, so the
# fastest round is the one least disturbed, and it still bounds c0 from above.
# The window is fixed by this rule before any slope is computed, the same for every variant.
OVERHEAD_FACTOR = 20.0
# Fewer points than this in the window give no slope (and the rules say *not measured*): 3
# points leave 1 degree of freedom (t = 12.7), too few to say anything.
MIN_FIT_POINTS = 4
FIT_METHOD = ("OLS of log(median over timed rounds) on log(n), one point per n, over the n whose "
              f"fastest round is at least {OVERHEAD_FACTOR:g}x the same program's fastest at "
              "the probe n (fixed costs under 5%: a power law); 95% interval from Student's t "
              "with (points - 2) degrees of freedom")


@dataclasses.dataclass
class Fit:
  slope: float
  lo: float  # 95% interval
  hi: float
  n_lo: int  # the fit window: the n whose fixed costs are under 1 / OVERHEAD_FACTOR of the time
  n_hi: int
  points: int  # distinct n in the fit: the regression's sample size
  repeats: int  # fewest timed rounds behind one point's median
  intercept: float  # log(value) at n = 1, for drawing the fitted line
  # The slope's s.d. per point: its standard error times sqrt(points), i.e. the residual s.d.
  # over the s.d. of log n. More n over the same range shrink the error like sd / sqrt(points).
  sd: float = float("nan")


def window(ns, fastest, probe_fastest):
  """The n whose fastest time is at least OVERHEAD_FACTOR times the probe's (a power law)."""
  return [n for n, t in zip(ns, fastest, strict=True)
          if math.isfinite(t) and t >= OVERHEAD_FACTOR * probe_fastest]


def median_per_n(ns, values_per_n):
  """{n: (median, count)} over the finite positive values at each n."""
  out = {}
  for n, vs in zip(ns, values_per_n, strict=True):
    vs = [v for v in vs if v > 0 and np.isfinite(v)]
    if vs:
      out[n] = (float(np.median(vs)), len(vs))
  return out


def fit_slope(ns, values_per_n, use=None):
  """Log-log slope over the n in `use` (default all), one median per n, with a 95% interval.

  Repeats at one n are not independent observations of the slope (they share that n's cache
  behaviour and the minute's load), so each n enters once, as its median; the interval has
  points - 2 degrees of freedom. None with fewer than MIN_FIT_POINTS n.
  """
  medians = median_per_n(ns, values_per_n)
  use = sorted(n for n in medians if use is None or n in use)
  if len(use) < MIN_FIT_POINTS:
    return None
  x = np.log(np.array(use, float))
  y = np.log(np.array([medians[n][0] for n in use]))
  slope, icept = np.polyfit(x, y, 1)
  dof = len(use) - 2
  resid = y - (slope * x + icept)
  sxx = (x - x.mean()) @ (x - x.mean())
  se = math.sqrt(resid @ resid / dof / sxx)
  half = stats.t.ppf(0.975, dof) * se
  return Fit(float(slope), float(slope - half), float(slope + half), use[0], use[-1], len(use),
             min(medians[n][1] for n in use), float(icept), float(se * math.sqrt(len(use))))


def count_fit(ns, counts):
  """Log-log fit of a deterministic count (XLA's FLOPs or bytes) over every n it has, with the
  same 95% interval as a timed slope: the same program gives the same count, so the interval
  holds only how far the count strays from one power law over the grid (lower-order terms
  fading, a lowering XLA picks at some n). None with fewer than MIN_FIT_POINTS counted n."""
  pts = [(n, c) for n, c in zip(ns, counts, strict=True) if c > 0 and math.isfinite(c)]
  return fit_slope([n for n, _ in pts], [[c] for _, c in pts]) if pts else None


def count_note(name, config, fit, counted, total) -> str:
  """Why a variant has no count fit ('' where it has one): what XLA could not count."""
  if fit is not None:
    return ""
  if name in measure.LOOP_VARIANTS:
    return "XLA cannot count it: a loop, whose body XLA's cost analysis counts once"
  if measure.fused_kernel(name, config):
    return "XLA cannot count it: a fused kernel XLA's cost analysis cannot see into"
  return (f"XLA counted its work at {counted} of {total} n (a count below the program's matmul "
          f"FLOPs is left out), fewer than the {MIN_FIT_POINTS} a fit needs")


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


def crossover_rounds(cross, d, ns):
  """The attention = MLP crossover of each timed round (each round times every part once at
  each n, interleaved, so a round's ratios share its load): `mlp_rounds`, a crossover n per round
  (None: attention stays below the MLP up to the largest n), and `mlp_rounds_from_start`,
  whether attention already costs more at the smallest n (the crossover is then an upper bound)."""
  times = {(r["part"], r["n"]): _floats(r["times"]) for r in cross if r["d"] == d}
  rounds = min(len(times[p, n]) for p in ("attention", "mlp") for n in ns)
  ratios = [[times["attention", n][i] / times["mlp", n][i] for n in ns] for i in range(rounds)]
  return {"mlp_rounds": [crossover(ns, r) for r in ratios],
          "mlp_rounds_from_start": [r[0] >= 1 for r in ratios]}


def _floats(text):
  return [float(t) for t in text.split()]


def summarize(rows, config, time_window=None):
  """Slopes, crossovers and largest n from the rows: a dict for results.md and the logs.

  Each (variant, mode) keeps its per-n medians (`points`, each marked whether it is in the fit
  window) and the probe's median time; its time, load-corrected time and memory slopes are all
  fitted over the one window the raw times give. XLA's counts are fitted over every n they
  have. `time_window` (cache.long_n_window, fixed before the sweep) gives the load-corrected time
  fits past the cache cliff (`time_long`, to the longest n) and below it (`time_in_cache`,
  inside the fixed-cost window).
  """
  n_from = (time_window or {}).get("n_from")
  out = {"slopes": [], "crossovers": [], "largest": {}, "errors": {},
         "time_window": time_window}
  scaling = [r for r in rows if r["section"] == "scaling" and r["status"] == "ok"]
  for name in config.variants:
    for mode in config.modes:
      pts = sorted((r for r in scaling if r["variant"] == name and r["mode"] == mode),
                   key=lambda r: r["n"])
      probe = next((r for r in pts if r["n"] == config.probe_n), None)
      pts = [r for r in pts if r["n"] != config.probe_n]
      if not pts:
        continue
      ns = [r["n"] for r in pts]
      times = [_floats(r["times"]) for r in pts]
      # Per round, time over the reference matmul of the same round: cancels machine-wide load.
      corrected = [[t / ref for t, ref in zip(ts, _floats(r["reference_times"]), strict=True)]
                   for ts, r in zip(times, pts, strict=True)]
      raw = [float(np.median(ts)) for ts in times]
      probe_s = min(_floats(probe["times"])) if probe else float("nan")
      use = window(ns, [min(ts) for ts in times], probe_s) if probe else []
      tfit = fit_slope(ns, times, use)
      nfit = fit_slope(ns, corrected, use)
      mem = [r for r in pts if r["memory_source"] == "memory_analysis"]
      mfit = fit_slope([r["n"] for r in mem], [[r["temp_bytes"]] for r in mem], use)
      counts = {what: [float(r.get(what, math.nan)) for r in pts]
                for what in ("xla_flops", "xla_bytes")}
      flops_fit, bytes_fit = (count_fit(ns, counts[w]) for w in ("xla_flops", "xla_bytes"))
      counted = sum(1 for c in counts["xla_flops"] if c > 0 and math.isfinite(c))
      past = fit_slope(ns, corrected, [n for n in ns if n >= n_from]) if n_from else None
      in_cache = fit_slope(ns, corrected, [n for n in use if n < n_from]) if n_from else None
      points = [dict(n=r["n"], time_s=t, time_min_s=min(ts),
                     time_over_reference=float(np.median(c)), temp_bytes=r["temp_bytes"],
                     xla_flops=float(r.get("xla_flops", math.nan)),
                     xla_bytes=float(r.get("xla_bytes", math.nan)), in_fit=r["n"] in use)
                for r, t, ts, c in zip(pts, raw, times, corrected, strict=True)]
      out["slopes"].append(dict(variant=name, mode=mode, time=tfit, time_corrected=nfit,
                                memory=mfit, flops_count=flops_fit, bytes_count=bytes_fit,
                                count_note=count_note(name, config, flops_fit, counted, len(ns)),
                                time_long=past, time_in_cache=in_cache,
                                expected=expected_slope(name, config), probe_n=config.probe_n,
                                probe_time_s=probe_s, points=points))
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
        attention_over_mlp=(att / mlp).tolist(), **crossover_rounds(cross, d, ns),
        predicted_mlp=4 * d, measured_mlp=crossover(ns, att / mlp),
        predicted_linear=6 * d, measured_linear=crossover(ns, att / lin),
        parts_over_layer=((att + lin) / np.array([by["layer"][n] for n in ns])).tolist()))
  return out

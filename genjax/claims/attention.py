"""Q4: the cost of self-attention. Rules read results.json of genjax.attention.sweep.

Every threshold is a named constant below, with the reason it has that value; each was set
before the sweep it judges was run. Every finding ends with its margin: the deciding numbers,
the thresholds that would flip it, and the 95% intervals. A deciding slope whose interval
contains the value in question but is too wide to count as near it decides nothing: the rule
then returns NOT_MEASURED rather than a verdict the run cannot back.
"""

import math

from genjax.claims.verdicts import DEPENDS, NOT_MEASURED, NOT_SUPPORTED, SUPPORTED, Claim, Finding

EXPERIMENT = "attention scaling sweep (experiments/attention.py)"
EFFICIENT = ("sliding_window", "block_sparse", "linformer", "performer", "lsh")

# A slope counts as "about k" (k = 1 or 2) when it is within SLOPE_TOLERANCE of k, or when its
# 95% interval contains k and is informative. 0.25 is a quarter of the gap between the two
# hypotheses every rule here separates (linear, quadratic), so no slope is near both.
SLOPE_TOLERANCE = 0.25
# An interval wider than +-0.5 could contain both 1 and 2: it cannot tell the hypotheses apart.
# Such a slope is near k only by its point estimate; if it is not, yet the interval contains k,
# the rule withholds its verdict (NOT_MEASURED). An interval that excludes k still counts.
MAX_HALF_WIDTH = 0.5
# "About linear" for the efficient variants, from the claim's "(n log n for LSH)": n log n
# over n = 1K-8K has a log-log slope of 1 + 1/ln(n) = 1.11-1.14, and fixed costs that fade
# with n pull measured slopes either way by about 0.1-0.2, so anything up to 1.3 is linear
# work; 1.3 is still 0.7 below quadratic.
ABOUT_LINEAR_MAX = 1.3
# The FLOP model puts attention (4n²d) equal to the MLP (16nd²) at n = 4d. "Dominates beyond a
# crossover" is supported when the measured crossover is within this factor of 4d: a 2x miss
# means attention runs at less than half (or more than twice) the MLP's FLOP rate, which is no
# longer a FLOP-count story.
CROSSOVER_FACTOR = 2.0


def _slope(results, variant, mode, what):
  for entry in results["slopes"]:
    if entry["variant"] == variant and entry["mode"] == mode and entry[what] is not None:
      return entry[what]
  raise KeyError(f"no {what} slope for {variant} {mode}")


def _fmt(fit) -> str:
  return f"{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}] (n {fit['n_lo']}-{fit['n_hi']})"


def _informative(fit) -> bool:
  half = (fit["hi"] - fit["lo"]) / 2
  return math.isfinite(half) and half <= MAX_HALF_WIDTH


def _near(fit, target) -> bool:
  """The slope is within SLOPE_TOLERANCE of target, or an informative interval contains it."""
  return (abs(fit["slope"] - target) <= SLOPE_TOLERANCE
          or (_informative(fit) and fit["lo"] <= target <= fit["hi"]))


def _about_linear(fit) -> bool:
  return fit["slope"] <= ABOUT_LINEAR_MAX or _near(fit, 1)


def _unclear(fit, target) -> bool:
  """Not near target, yet its interval contains it: too wide to say either way."""
  return (not _near(fit, target) and math.isfinite(fit["hi"] - fit["lo"])
          and fit["lo"] <= target <= fit["hi"])


def _linear_status(fit) -> str:
  if _about_linear(fit):
    return "linear"
  return "unclear" if _unclear(fit, 1) else "not linear"


def _too_wide(names, evidence, margin) -> Finding:
  """NOT_MEASURED: a deciding slope is neither near its target nor shown away from it."""
  return _finding(NOT_MEASURED, evidence, f"{margin}. The 95% interval of {', '.join(names)} "
                  f"contains the slope in question but is wider than +-{MAX_HALF_WIDTH}: this "
                  "run cannot tell; fit more n (the full config) before judging")


def _near_rule(target) -> str:
  return (f"a slope counts as ~{target} within {SLOPE_TOLERANCE} of it "
          f"({target - SLOPE_TOLERANCE:.2f}-{target + SLOPE_TOLERANCE:.2f}) or when its 95% "
          f"interval contains {target} and is no wider than +-{MAX_HALF_WIDTH}")


def _linear_rule() -> str:
  return f"'about linear' = slope <= {ABOUT_LINEAR_MAX}, or ~1 (" + _near_rule(1) + ")"


def _finding(verdict, evidence, margin, condition="") -> Finding:
  return Finding(verdict, f"{evidence}. Margin: {margin}", condition)


def quadratic_time(results) -> Finding:
  fwd = _slope(results, "naive", "forward", "time_corrected")
  both = _slope(results, "naive", "forward_backward", "time_corrected")
  evidence = (f"naive attention log-log time slope: forward {_fmt(fwd)}, forward+backward "
              f"{_fmt(both)} (load-corrected)")
  margin = (f"{_near_rule(2)}; both ~2 gives supported; a slope not ~2 whose interval lies "
            "above 2 counts as super-quadratic (memory bound), below 2 as sub-quadratic")
  unclear = [name for name, fit in (("forward", fwd), ("forward+backward", both))
             if _unclear(fit, 2)]
  if unclear:
    return _too_wide([f"naive {name} time" for name in unclear], evidence, margin)
  if _near(fwd, 2) and _near(both, 2):
    return _finding(SUPPORTED, evidence, margin)
  if all(_near(fit, 2) or fit["slope"] > 2 for fit in (fwd, both)):
    return _finding(DEPENDS, evidence, margin, "on the memory hierarchy: the work is n², but "
                    "measured time grows faster than n² where the n x n matrices fall out of "
                    "the cache")
  if _near(fwd, 2) or _near(both, 2):
    return _finding(DEPENDS, evidence, margin, "on the range of n: the slope reaches 2 only "
                    "where the n² work dominates fixed and cache costs")
  return _finding(NOT_SUPPORTED, evidence, margin)


def quadratic_memory(results) -> Finding:
  naive = _slope(results, "naive", "forward", "memory")
  chunked = _slope(results, "chunked", "forward", "memory")
  evidence = (f"temp memory slope: naive {_fmt(naive)}, exact chunked attention "
              f"{_fmt(chunked)}; largest n with chunked: "
              f"{results['largest'].get('chunked/forward/long', 'not run')}")
  margin = (f"naive must be ~2 ({_near_rule(2)}); chunked {_linear_rule()} turns supported "
            "into depends")
  unclear = [name for name, fit, target in (("naive", naive, 2), ("chunked", chunked, 1))
             if _unclear(fit, target)]
  if unclear:
    return _too_wide([f"{name} memory" for name in unclear], evidence, margin)
  if not _near(naive, 2):
    return _finding(NOT_SUPPORTED, evidence, margin)
  if _about_linear(chunked):
    return _finding(DEPENDS, evidence, margin, "on the implementation: standard attention "
                    "memory is O(n²), but exact attention computed in chunks needs O(n)")
  return _finding(SUPPORTED, evidence, margin)


def attention_dominates_long_sequences(results) -> Finding:
  """Attention overtakes the MLP beyond a crossover n; supported where the FLOP model finds it."""
  crossovers = results.get("crossovers") or []
  if not crossovers:
    return Finding(NOT_MEASURED, "no encoder-layer crossover in the results")
  parts, ratios = [], []
  for c in crossovers:
    predicted, measured = 4 * c["d"], c["measured_mlp"]
    if measured is None:
      ratios.append(None)
      parts.append(f"d={c['d']}: attention stays below the MLP up to n = {max(c['ns']):,}")
      continue
    ratios.append(measured / predicted)
    bound = ("" if c.get("attention_over_mlp", [0])[0] < 1
             else " (an upper bound: attention already costs more at the smallest n)")
    parts.append(f"d={c['d']}: attention = MLP at n ≈ {measured:,.0f} vs FLOP model "
                 f"{predicted:,}, ratio {ratios[-1]:.2f}{bound}")
  evidence = "; ".join(parts)
  margin = (f"supported when every measured crossover is within {CROSSOVER_FACTOR:g}x of 4d "
            f"(ratio {1 / CROSSOVER_FACTOR:g}-{CROSSOVER_FACTOR:g}); a width where attention "
            "never overtakes the MLP makes it not supported")
  if any(r is None for r in ratios):
    return _finding(NOT_SUPPORTED, evidence, margin)
  if all(1 / CROSSOVER_FACTOR <= r <= CROSSOVER_FACTOR for r in ratios):
    return _finding(SUPPORTED, evidence, margin, "beyond n ≈ 4d; below it the O(n·d²) MLP "
                    "and projections cost more than attention")
  return _finding(DEPENDS, evidence, margin, "on the kernels: attention does overtake the MLP, "
                  "but more than 2x away from the FLOP model's n = 4d, so the FLOP rates of "
                  "attention and the dense layers, not the FLOP counts, place the crossover")


def efficient_variants_scale_better(results) -> Finding:
  naive = _slope(results, "naive", "forward", "time_corrected")
  status, parts = {}, []
  for name in EFFICIENT:
    time = _slope(results, name, "forward", "time_corrected")
    memory = _slope(results, name, "forward", "memory")
    parts.append(f"{name} time {_fmt(time)}, memory {memory['slope']:.2f}")
    both = {_linear_status(time), _linear_status(memory)}
    status[name] = ("not linear" if "not linear" in both
                    else "unclear" if "unclear" in both else "linear")
  linear = [name for name in EFFICIENT if status[name] == "linear"]
  evidence = (f"forward slopes (load-corrected time) vs naive time {_fmt(naive)}: "
              + "; ".join(parts))
  margin = (f"{_linear_rule()}, in time and in memory; naive must not itself be about linear "
            f"(else there is nothing to reduce); about linear: {', '.join(linear) or 'none'}")
  # Naive attention is the baseline, not the claim: only a naive slope that is itself about
  # linear stops the rule; an uncertain one does not.
  unclear = [name for name in EFFICIENT if status[name] == "unclear"]
  if unclear:
    return _too_wide([f"{name} time" for name in unclear], evidence, margin)
  if _about_linear(naive) or not linear:
    return _finding(NOT_SUPPORTED, evidence, margin)
  if len(linear) == len(EFFICIENT):
    return _finding(SUPPORTED, evidence, margin)
  others = [name for name in EFFICIENT if name not in linear]
  return _finding(DEPENDS, evidence, margin, f"on the method: {', '.join(linear)} scale about "
                  f"linearly here, {', '.join(others)} do not")


CLAIMS = [
    Claim("Q4", "Self-attention's compute grows quadratically with sequence length n.",
          EXPERIMENT, "FlashAttention App. E: PyTorch attention time slope 1.93; LRA vanilla "
          "1K-4K: 1.27 (not asymptotic)", quadratic_time, figure="time_vs_n.png"),
    Claim("Q4", "Its memory grows quadratically too, which limits long inputs.", EXPERIMENT,
          "LRA vanilla memory slope 1.74; FlashAttention memory slope 1.00 vs 1.95; Rabe & "
          "Staats: 1 GB -> 17 MB at 2^14", quadratic_memory, figure="memory_vs_n.png"),
    Claim("Q4", "The quadratic attention term is what makes a transformer layer expensive "
          "(O(n²·d) overall).", EXPERIMENT,
          "FLOP model: attention = MLP at n = 4d, = all linear work at n = 6d",
          attention_dominates_long_sequences, figure="crossover.png"),
    Claim("Q4", "Sparse, sliding-window, low-rank (Linformer), kernel (Performer) and LSH "
          "(Reformer) attention reduce the cost to about linear (n log n for LSH).", EXPERIMENT,
          "LRA at 4K: Performer 1.06 GB, Linformer 0.99 GB vs vanilla 9.48 GB",
          efficient_variants_scale_better, figure="time_vs_n.png"),
]

"""Q4's interval readings of a log-log slope (genjax.claims.attention's rules use them).

Every slope is read off its 95% interval, never its point estimate; each threshold is a named
constant with its reason, set before the sweeps it judges.
"""

import math

from genjax.claims.verdicts import Finding, Margin, ResultMissing

EFFICIENT = ("sliding_window", "block_sparse", "linformer", "performer", "lsh")
MODES = ("forward", "forward_backward")

# The equivalence band of "about k": a quarter of the gap between the hypotheses every rule here
# separates (linear, quadratic), so no band holds both and a slope near one is far from the other.
SLOPE_TOLERANCE = 0.25
# "About linear" for the efficient variants, from the claim's "(n log n for LSH)": n log n over
# n = 1K-16K has a log-log slope of 1 + 1/ln(n) = 1.10-1.14, and lower-order terms that fade with
# n pull slopes either way by about 0.1-0.2, so anything up to 1.3 is linear work; 1.3 is still
# 0.7 below quadratic.
ABOUT_LINEAR_MAX = 1.3
# "At least quadratically": time growing no slower than the lower edge of quadratic's band. A
# 95% lower end at or above it rules out linear, n log n and anything nearer them than to n².
TIME_FLOOR = 2 - SLOPE_TOLERANCE
# The crossover is measured once per timed round; an interval needs at least 3 (t with 2 degrees
# of freedom, 4.30): fewer decide nothing.
MIN_CROSSOVERS = 3
FADED = "fewer than the fit's minimum of n where fixed costs have faded"


def slope_entry(results, variant, mode):
  if "slopes" not in results:
    raise ResultMissing("the results hold no slopes (not an attention sweep)")
  for entry in results["slopes"]:
    if entry["variant"] == variant and entry["mode"] == mode:
      return entry
  raise ResultMissing(f"the sweep did not run {variant} {mode}")


def get_fit(results, variant, mode, what, why=FADED):
  """One fit dict; ResultMissing when the sweep did not record or could not fit it."""
  entry = slope_entry(results, variant, mode)
  if what not in entry:
    raise ResultMissing(f"no {what} for {variant} {mode}: results from before it was recorded")
  if entry[what] is None:
    note = entry.get("count_note") if what.endswith("_count") else None
    raise ResultMissing(f"no {what} slope for {variant} {mode}: {note or why}")
  return entry[what]


def fmt(fit) -> str:
  return ("n/a" if fit is None else f"{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}] "
          f"(n {fit['n_lo']}-{fit['n_hi']})")


def margin(name, fit, threshold, p=True) -> Margin:
  """A slope as a margin over `points` n; p=False (equivalence, counts) leaves out the s.d., so
  the report shows no p."""
  return Margin(name, fit["slope"], fit["lo"], fit["hi"], threshold, fit["points"],
                fit.get("sd", math.nan) if p else math.nan, unit="lengths")


def finite(fit) -> bool:
  return math.isfinite(fit["hi"] - fit["lo"])


def band(fit, target) -> str:
  """"in" (equivalence shown), "out" (non-equivalence shown) or "across" the band edge."""
  low, high = target - SLOPE_TOLERANCE, target + SLOPE_TOLERANCE
  if finite(fit) and low <= fit["lo"] and fit["hi"] <= high:
    return "in"
  if finite(fit) and (fit["hi"] < low or fit["lo"] > high):
    return "out"
  return "across"


def edge(fit, target) -> float:
  """The band edge that decides: nearest the interval (inside) or the slope (outside)."""
  low, high = target - SLOPE_TOLERANCE, target + SLOPE_TOLERANCE
  if low <= fit["slope"] <= high:
    return low if fit["lo"] - low <= high - fit["hi"] else high
  return low if fit["slope"] < low else high


def linear(fit) -> str:
  if finite(fit) and fit["hi"] <= ABOUT_LINEAR_MAX:
    return "linear"
  return "not linear" if finite(fit) and fit["lo"] > ABOUT_LINEAR_MAX else "across"


def finding(verdict, evidence, rule_text, margin, condition="") -> Finding:
  return Finding(verdict, f"{evidence}. Margin: {rule_text}", condition, margin)


def cannot_tell(names, what) -> str:
  return f"the 95% interval of {', '.join(names)} lies across {what}: this run cannot tell"


BAND_RULE = (f"'about 2' = the whole 95% interval inside 2 +- {SLOPE_TOLERANCE} "
             f"({2 - SLOPE_TOLERANCE:g}-{2 + SLOPE_TOLERANCE:g}; two one-sided tests), 'not' = "
             "wholly outside it")
LINEAR_RULE = (f"'about linear' = the 95% interval at or below {ABOUT_LINEAR_MAX}, 'not' = wholly "
               "above it")

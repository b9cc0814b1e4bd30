"""Statistics over seeds: every report and rule summarises per-seed numbers with `summary` and
tests a difference with `compare` (Student-t intervals, so 3 seeds need |mean| > 4.30 s.e. at
95%).

A `summary` is {"mean", "sd", "se", "seeds"}: "seeds" holds the per-seed values, the list the
claim rules test.
"""

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats


def summary(values: Sequence[float]) -> dict:
  """{"mean", "sd" (ddof 1), "se", "seeds": the per-seed values}; sd = se = 0 for one seed."""
  x = np.asarray(values, np.float64).reshape(-1)
  if x.size == 0:
    raise ValueError("summary of no seeds")
  sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
  return {"mean": float(x.mean()), "sd": sd, "se": sd / math.sqrt(x.size),
          "seeds": x.tolist()}


def spread(value, digits: int = 3) -> str:
  """A `summary` as 'mean ± sd', a plain number as itself, None (absent) as a dash: the one way
  every table writes a per-seed number."""
  if value is None:
    return "—"
  if isinstance(value, dict):
    return f"{value['mean']:.{digits}f} ± {value['sd']:.{digits}f}"
  return f"{value:.{digits}f}"  # a string is a bug upstream: it raises here


def t_critical(dof: float, confidence: float = 0.95) -> float:
  """Two-sided Student-t quantile: 4.30 for 2 degrees of freedom at 95%."""
  return float(scipy_stats.t.ppf(0.5 + confidence / 2, dof))


def compare(a: Sequence[float], b: Sequence[float], *, paired: bool,
            confidence: float = 0.95) -> dict:
  """Mean of a - b with its Student-t interval; "clear" when the interval excludes 0.

  paired: seed i of `a` and of `b` share what a seed fixes (data order, init), so the test is on
  the per-seed differences (n - 1 degrees of freedom). Unpaired: Welch's interval. With one seed
  per side there is no spread to test against: the interval is infinite and "clear" is False.
  "n" is the seeds per side (of `a`) and "sd" the per-seed s.d. behind the interval (se * sqrt(n):
  for paired seeds the s.d. of the differences), nan without a spread.
  """
  a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
  if paired:
    if a.size != b.size:
      raise ValueError(f"paired comparison of {a.size} and {b.size} seeds")
    d = a - b
    diff = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.inf
    dof = float(d.size - 1)
  else:
    diff = float(a.mean() - b.mean())
    va = a.var(ddof=1) / a.size if a.size > 1 else math.inf
    vb = b.var(ddof=1) / b.size if b.size > 1 else math.inf
    se = float(math.sqrt(va + vb))
    if math.isfinite(se) and se > 0:  # Welch-Satterthwaite
      dof = float((va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1)))
    else:
      dof = float(a.size + b.size - 2)
  n = int(a.size)
  sd = se * math.sqrt(n) if math.isfinite(se) else math.nan
  # Per-seed differences (paired), for counting the seeds on each side of a threshold.
  values = (a - b).tolist() if paired else None
  if dof < 1 or not math.isfinite(se):
    return {"diff": diff, "se": math.inf, "dof": dof, "t_critical": math.inf,
            "low": -math.inf, "high": math.inf, "clear": False, "n": n, "sd": math.nan,
            "values": values}
  t = t_critical(dof, confidence)
  low, high = diff - t * se, diff + t * se
  # se == 0 (identical differences on every seed): the t interval is the point itself; `describe`
  # then reports the seeds that agree with their exact binomial interval instead.
  return {"diff": diff, "se": se, "dof": dof, "t_critical": t, "low": low, "high": high,
          "clear": bool(low > 0 or high < 0), "n": n, "sd": sd, "values": values}


def share_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
  """Exact (Clopper-Pearson) interval of a share from k successes in n trials: the share of
  seeds that agree, when every seed gives the same number and a t interval has zero width."""
  alpha = 1 - confidence
  low = 0.0 if k == 0 else float(scipy_stats.beta.ppf(alpha / 2, k, n - k + 1))
  high = 1.0 if k == n else float(scipy_stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
  return low, high


def describe(value: float, low: float, high: float, seeds: int, sd: float, *,
             digits: int = 2, signed: bool = False, bounds: tuple[float, float] | None = None,
             agreeing: int | None = None, unit: str = "seeds") -> str:
  """The one way the report states a number with its interval:
  `+0.12 [+0.05, +0.19] (95% t, 3 seeds)`; with no spread over the seeds, `+7.0 on every seed
  (3 of 3; share of seeds 0.29-1.00, exact 95%)` instead of a zero-width interval; with one
  seed, `0.50 (1 seed: no interval)`. `bounds` clips the interval to the metric's range (a
  precision lies in [0, 1]): the clipped interval still holds the mean with at least the stated
  confidence, since the mean cannot lie outside the range."""
  fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
  number = fmt.format(value)
  if not (math.isfinite(low) and math.isfinite(high)):
    return f"{number} ({seeds} {unit[:-1] if seeds == 1 else unit}: no interval)"
  if sd == 0 and unit == "seeds":
    k = seeds if agreeing is None else agreeing
    share_low, share_high = share_interval(k, seeds)
    return (f"{number} on every seed ({k} of {seeds}; share of seeds {share_low:.2f}-"
            f"{share_high:.2f}, exact 95%)")
  if bounds is not None:
    low, high = max(low, bounds[0]), min(high, bounds[1])
  return f"{number} [{fmt.format(low)}, {fmt.format(high)}] (95% t, {seeds} {unit})"


def sign_test_p(n: int) -> float:
  """Two-sided exact p of n paired seeds that all fall on one side of a threshold (a sign test,
  which is also the exact permutation test of n identical per-seed differences): under "no
  difference" each seed's side is a fair coin, so the chance that all n agree, either way, is
  2 x 0.5^n. It is the only p seeds with no spread can give, and the smallest any n seeds can."""
  if n < 1:
    raise ValueError(f"a sign test needs at least one seed, got {n}")
  return min(1.0, 2 * 0.5 ** n)


def exact_min_seeds(confidence: float = 0.95) -> int:
  """The fewest seeds whose sign test can reach `confidence` (two-sided): the smallest n with
  2 x 0.5^n <= 1 - confidence. At 95% that is 6 (2 x 0.5^5 = 0.0625 > 0.05 >= 2 x 0.5^6)."""
  n = 1
  while sign_test_p(n) > 1 - confidence:
    n += 1
  return n


def holm(p_values: Sequence[float | None], alpha: float = 0.05) -> list[bool | None]:
  """Holm's step-down decisions ("still clear after adjusting for the number of tests") for a
  family of p-values; None stays None (a test without a p-value is not in the family)."""
  tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
  decisions: list[bool | None] = [None] * len(p_values)
  m, rejecting = len(tested), True
  for rank, (p, i) in enumerate(tested):
    rejecting = rejecting and p <= alpha / (m - rank)
    decisions[i] = rejecting
  return decisions


def agreeing(values: Sequence[float] | None, value: float, threshold: float) -> int | None:
  """How many per-seed values lie on the same side of `threshold` as `value` (None: no values)."""
  if values is None:
    return None
  side = math.copysign(1, value - threshold)
  return sum(1 for v in values if math.copysign(1, v - threshold) == side)


def describe_compare(c: dict, threshold: float = 0.0, digits: int = 2,
                     bounds: tuple[float, float] | None = None) -> str:
  """`describe` of a `compare` result (a signed difference)."""
  return describe(c["diff"], c["low"], c["high"], c["n"], c["sd"], digits=digits, signed=True,
                  bounds=bounds, agreeing=agreeing(c.get("values"), c["diff"], threshold))

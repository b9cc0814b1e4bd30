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
  if dof < 1 or not math.isfinite(se):
    return {"diff": diff, "se": math.inf, "dof": dof, "t_critical": math.inf,
            "low": -math.inf, "high": math.inf, "clear": False, "n": n, "sd": math.nan}
  t = t_critical(dof, confidence)
  low, high = diff - t * se, diff + t * se
  # se == 0 (identical differences on every seed): the interval is the point itself.
  return {"diff": diff, "se": se, "dof": dof, "t_critical": t, "low": low, "high": high,
          "clear": bool(low > 0 or high < 0), "n": n, "sd": sd}

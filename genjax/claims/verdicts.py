"""What a rule returns: the five verdicts, the margin that decides one, and the one way a rule
may say its inputs are missing.

The verdicts mean one thing each:
- *supported*: the deciding interval lies on the claim's side of its threshold;
- *contradicted*: it lies clearly on the other side (the data show the opposite);
- *conditional*: the claim holds under a condition the data show and the finding names (a β
  range, a method, one of two runs), and fails outside it;
- *inconclusive*: the deciding interval straddles its threshold, there are fewer than
  MIN_SEEDS seeds, or the number is equal on every seed over fewer than MIN_IDENTICAL_SEEDS
  (its exact test cannot reach 95%; `one_test`): this run cannot tell;
- *not measured*: the models did not finish (a guard, with the numbers), or the results lack an
  input the rule reads, which it signals by raising `ResultMissing`.

Any other exception inside a rule is a bug and propagates: the report fails loudly instead of
printing a verdict.
"""

import dataclasses
import math
from collections.abc import Callable

from genjax import stats

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
CONDITIONAL = "conditional"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"
VERDICTS = (SUPPORTED, CONTRADICTED, CONDITIONAL, INCONCLUSIVE, NOT_MEASURED)
DECIDED = (SUPPORTED, CONTRADICTED, CONDITIONAL)  # verdicts that rest on a clear interval

CONFIDENCE = 0.95  # of every interval a rule reads (two-sided)
# Every rule needs this many seeds before its interval may decide: with 2 seeds a t interval has
# 1 degree of freedom (t = 12.7 at 95%), so it decides only by an accident of two close values;
# with 3 (t = 4.30) an effect must be about 4 s.e. from its threshold. Fewer gives INCONCLUSIVE.
MIN_SEEDS = 3
# A number equal on every seed has no spread for a t test: its one test is the exact sign test
# (stats.sign_test_p), whose p with n seeds is 2 x 0.5^n, so it can decide at CONFIDENCE only from
# this many seeds on (6 at 95%: 2 x 0.5^5 = 0.0625 > 0.05). With fewer it is INCONCLUSIVE, however
# far the number sits from its threshold: seeds that all agree by chance would explain it.
MIN_IDENTICAL_SEEDS = stats.exact_min_seeds(CONFIDENCE)


class ResultMissing(Exception):
  """A rule's input is absent from the results (e.g. no remedy run); the only exception the
  report turns into *not measured*."""


@dataclasses.dataclass(frozen=True)
class Margin:
  """The deciding number of a verdict: a mean over seeds with its interval and the threshold
  that would flip it. REPORT.json stores it; the report reads `p_value` for its Holm column."""

  name: str  # what the number is, e.g. "vanilla GAN occupied cells"
  value: float  # mean over seeds (or the point estimate)
  low: float  # lower end of its interval (nan where there is none)
  high: float  # upper end
  threshold: float  # the nearest threshold the interval is read against
  seeds: int  # how many seeds (or independent points) the interval rests on
  sd: float = float("nan")  # per-seed s.d. behind the interval (nan: not a seed mean)
  confidence: float = CONFIDENCE  # of the interval
  # What `seeds` counts: "seeds" (a mean over seeds, t with seeds - 1 degrees of freedom),
  # "lengths" (a log-log slope over that many sequence lengths, t with lengths - 2) or
  # "measurements" (a point estimate with no interval, e.g. a crossover read off medians).
  # MIN_SEEDS applies to "seeds" only.
  unit: str = "seeds"
  # Seeds whose own value lies on the same side of `threshold` as `value` (None: not counted).
  # Where every seed gives the same number a t interval has zero width; the report then gives
  # this count with its exact binomial interval instead (stats.describe).
  agreeing: int | None = None
  # The range a bounded metric lives in (cells 0..K, precision 0..1): its interval is stated
  # clipped to it (stats.describe). None: unbounded.
  bounds: tuple[float, float] | None = None

  @classmethod
  def from_compare(cls, name: str, c: dict, threshold: float,
                   confidence: float = CONFIDENCE):
    """The margin of a `stats.compare` result (its difference, interval, seeds and s.d.)."""
    return cls(name, c["diff"], c["low"], c["high"], threshold, c["n"], c["sd"], confidence,
               agreeing=stats.agreeing(c.get("values"), c["diff"], threshold))

  @classmethod
  def of_values(cls, name: str, values, threshold: float, confidence: float = CONFIDENCE,
                bounds: tuple[float, float] | None = None):
    """The mean of per-seed values with its t interval, read against `threshold`."""
    values = [float(v) for v in values]
    c = stats.compare(values, [threshold] * len(values), paired=True, confidence=confidence)
    sd = stats.summary(values)["sd"] if len(values) > 1 else float("nan")
    return cls(name, threshold + c["diff"], threshold + c["low"], threshold + c["high"],
               threshold, len(values), sd, confidence,
               agreeing=stats.agreeing(values, threshold + c["diff"], threshold), bounds=bounds)

  def between(self, low: float, high: float) -> bool:
    """The whole interval lies strictly between two thresholds."""
    return (math.isfinite(self.low) and math.isfinite(self.high) and low < self.low
            and self.high < high)

  def describe(self, digits: int = 2, signed: bool = False) -> str:
    """The number with its interval, in the report's one dialect (`stats.describe`)."""
    return stats.describe(self.value, self.low, self.high, self.seeds, self.sd, digits=digits,
                          signed=signed, bounds=self.bounds, agreeing=self.agreeing,
                          unit=self.unit)

  def straddles(self) -> bool:
    """The interval contains the threshold (or there is none): the seeds have not decided."""
    if not (math.isfinite(self.low) and math.isfinite(self.high)):
      return True
    return self.low <= self.threshold <= self.high

  @property
  def identical(self) -> bool:
    """Every seed gives the same number: the t interval has zero width and the margin's one
    test is the exact sign test (MIN_IDENTICAL_SEEDS)."""
    return self.unit == "seeds" and self.sd == 0

  def p_value(self) -> float | None:
    """Two-sided p of "value = threshold" from the test the verdict reads: Student t on the
    margin's own s.d. and dof (the test its t interval inverts), or, for a number equal on every
    seed, the exact sign test. None where the margin has no spread to test against (one point,
    no s.d., or a deterministic fit over lengths)."""
    from scipy import stats as scipy_stats

    fitted = 2 if self.unit == "lengths" else 1
    dof = self.seeds - fitted
    if dof < 1 or not math.isfinite(self.sd):
      return None
    if self.identical:
      return 1.0 if self.value == self.threshold else stats.sign_test_p(self.seeds)
    if self.sd == 0:  # an exact fit over lengths (a count): nothing to test it against
      return None
    t = abs(self.value - self.threshold) / (self.sd / math.sqrt(self.seeds))
    return float(2 * scipy_stats.t.sf(t, dof))

  def decides(self) -> bool | None:
    """Whether the margin's one test (`p_value`) rejects "value = threshold" at its confidence;
    None where it has no p."""
    p = self.p_value()
    return None if p is None else p <= 1 - self.confidence


@dataclasses.dataclass(frozen=True)
class Finding:
  verdict: str  # one of VERDICTS
  evidence: str  # the measured numbers the verdict rests on
  condition: str = ""  # CONDITIONAL: the named condition; INCONCLUSIVE: what would decide it
  margin: Margin | None = None  # the deciding number (None where no single number decides)

  def __post_init__(self):
    if self.verdict not in VERDICTS:
      raise ValueError(f"unknown verdict {self.verdict!r}")
    if self.verdict == CONDITIONAL and not self.condition:
      raise ValueError("a conditional finding must name its condition")


def by_interval(margin: Margin, claim_side: str) -> str:
  """SUPPORTED when `margin`'s interval lies beyond its threshold on `claim_side` ("above" or
  "below"), CONTRADICTED when it lies beyond on the other side, INCONCLUSIVE when it straddles."""
  if claim_side not in ("above", "below"):
    raise ValueError(f"claim_side must be 'above' or 'below', got {claim_side!r}")
  if margin.straddles():
    return INCONCLUSIVE
  above = margin.low > margin.threshold
  return SUPPORTED if above == (claim_side == "above") else CONTRADICTED


def against(margin: Margin | None) -> str:
  """The verdict of a test the claim failed: CONTRADICTED when the deciding interval is clear of
  its threshold (on the wrong side), INCONCLUSIVE when it straddles it or there is none."""
  return INCONCLUSIVE if margin is None or margin.straddles() else CONTRADICTED


def require_seeds(finding: Finding) -> Finding:
  """A finding over fewer than MIN_SEEDS seeds is INCONCLUSIVE (every rule), and says so: a rule
  that already found it inconclusive names the interval, which so few seeds cannot give."""
  margin = finding.margin
  if (finding.verdict in (*DECIDED, INCONCLUSIVE) and margin is not None
      and margin.unit == "seeds" and margin.seeds < MIN_SEEDS):
    return Finding(INCONCLUSIVE, finding.evidence, f"{margin.seeds} seed(s): every rule needs "
                   f"{MIN_SEEDS} before its interval decides", margin)
  return finding


def one_test(finding: Finding) -> Finding:
  """A decided finding stands only where its margin's own test (the p the Holm column reads)
  rejects at its confidence, so the verdict and the p-value are one test: a number equal on every
  seed over fewer than MIN_IDENTICAL_SEEDS seeds, or any margin whose p is above 1 - confidence,
  is INCONCLUSIVE and says why. A decision on seeds whose margin gives no p is a bug (a margin
  built without its s.d.): ValueError, never a verdict. Margins over lengths or measurements
  without a p (deterministic counts, equivalence bands) keep their verdict and show no p."""
  margin = finding.margin
  if finding.verdict not in DECIDED or margin is None:
    return finding
  p = margin.p_value()
  if p is None:
    if margin.unit == "seeds":
      raise ValueError(f"a {finding.verdict} finding on {margin.seeds} seeds whose margin "
                       f"{margin.name!r} gives no p (s.d. {margin.sd}): its test is missing")
    return finding
  alpha = 1 - margin.confidence
  if margin.identical and margin.seeds < MIN_IDENTICAL_SEEDS:
    why = (f"equal on every seed, so its test is the exact sign test: p = {p:.2g} with "
           f"{margin.seeds} seeds; {margin.confidence:.0%} needs {MIN_IDENTICAL_SEEDS} seeds")
  elif p > alpha:
    why = f"its test gives p = {p:.2g} > {alpha:.2g}"
  else:
    return finding
  return Finding(INCONCLUSIVE, finding.evidence, f"{finding.verdict} by its interval, but {why}",
                 margin)


def _always(results: dict) -> bool:
  return True


@dataclasses.dataclass(frozen=True)
class Claim:
  question: str  # "Q1".."Q4"
  statement: str  # the seed texts' claim, in our own words; claims judged on several runs
  # share it, and the report combines their findings (see genjax/report/judge.py)
  experiment: str  # which experiment (and flagfile) tests it
  anchor: str  # the published figure to hold it against
  rule: Callable[[dict], Finding]  # experiment results -> finding
  figure: str = ""  # the run's figure that shows the claim at a glance (a file in its workdir)
  # Whether a run's results can speak to this claim at all (e.g. hopping between modes needs
  # a 2D mixture); the report skips runs for which it is False.
  applies: Callable[[dict], bool] = _always
  # Where the claim comes from: the seed files (in shared/seeds/) that make it, or "ours" for a
  # row we added (a control or a finer reading of a seed claim).
  sources: tuple[str, ...] = ()
  disputed: str = ""  # where seeds contradict each other on this claim: who says what
  # "can" claims: one run where it happens supports it, whatever other runs say (combine.py).
  existential: bool = False

"""What a rule returns, the three verdicts it may give (or that it could not judge), and the
one way a rule may say its inputs are missing.

A rule is `results -> Finding`. It says *not measured* in two cases only: its models did not
finish (a guard, with the numbers), or the results lack an input it needs, which it signals by
raising `ResultMissing`. Any other exception inside a rule is a bug and propagates: the report
fails loudly instead of printing a verdict.
"""

import dataclasses
from collections.abc import Callable

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
DEPENDS = "depends"
NOT_MEASURED = "not measured"  # the models did not finish, or the results lack an input
VERDICTS = (SUPPORTED, NOT_SUPPORTED, DEPENDS, NOT_MEASURED)


class ResultMissing(Exception):
  """A rule's input is absent from the results (e.g. no remedy run); the only exception the
  report turns into *not measured*."""


@dataclasses.dataclass(frozen=True)
class Margin:
  """The deciding number of a verdict: a mean over seeds with its interval and the threshold
  that would flip the verdict. REPORT.json stores it; the report computes from `sd` how many
  seeds would move an interval that straddles `threshold` clear of it."""

  name: str  # what the number is, e.g. "vanilla GAN occupied cells"
  value: float  # mean over seeds (or the point estimate)
  low: float  # lower end of its interval (nan where there is none)
  high: float  # upper end
  threshold: float  # the nearest threshold the interval is read against
  seeds: int  # how many seeds (or independent points) the interval rests on
  sd: float = float("nan")  # per-seed s.d. behind the interval (nan: not a seed mean)
  confidence: float = 0.95  # of the interval
  # What `seeds` counts: "seeds" (a mean over seeds, t with seeds - 1 degrees of freedom) or
  # "lengths" (a log-log slope over that many sequence lengths, t with lengths - 2).
  unit: str = "seeds"

  @classmethod
  def from_compare(cls, name: str, c: dict, threshold: float, confidence: float = 0.95):
    """The margin of a `stats.compare` result (its difference, interval, seeds and s.d.)."""
    return cls(name, c["diff"], c["low"], c["high"], threshold, c["n"], c["sd"], confidence)


@dataclasses.dataclass(frozen=True)
class Finding:
  verdict: str  # SUPPORTED, NOT_SUPPORTED, DEPENDS (or NOT_MEASURED)
  evidence: str  # the measured numbers the verdict rests on
  condition: str = ""  # for DEPENDS: on what
  margin: Margin | None = None  # the deciding number (None where no single number decides)

  def __post_init__(self):
    if self.verdict not in VERDICTS:
      raise ValueError(f"unknown verdict {self.verdict!r}")


def _always(results: dict) -> bool:
  return True


@dataclasses.dataclass(frozen=True)
class Claim:
  question: str  # "Q1".."Q4"
  statement: str  # the seed texts' claim, in our own words; claims judged on several runs
  # share it, and the report combines their findings (see claims/report.py)
  experiment: str  # which experiment (and flagfile) tests it
  anchor: str  # the published figure to hold it against
  rule: Callable[[dict], Finding]  # experiment results -> finding
  figure: str = ""  # the run's figure that shows the claim at a glance (a file in its workdir)
  # Whether a run's results can speak to this claim at all (e.g. hopping between modes needs
  # a 2D mixture); the report skips runs for which it is False.
  applies: Callable[[dict], bool] = _always

"""What a rule returns, and the three verdicts it may give (or that it could not judge)."""

import dataclasses
from collections.abc import Callable

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
DEPENDS = "depends"
NOT_MEASURED = "not measured"  # the results lack what the rule needs


@dataclasses.dataclass(frozen=True)
class Finding:
  verdict: str  # SUPPORTED, NOT_SUPPORTED, DEPENDS (or NOT_MEASURED)
  evidence: str  # the measured numbers the verdict rests on
  condition: str = ""  # for DEPENDS: on what


@dataclasses.dataclass(frozen=True)
class Claim:
  question: str  # "Q1".."Q4"
  statement: str  # the seed texts' claim, in our own words
  experiment: str  # which experiment (and flagfile) tests it
  anchor: str  # the published figure to hold it against
  rule: Callable[[dict], Finding]  # experiment results -> finding
  figure: str = ""  # the run's figure that shows the claim at a glance (a file in its workdir)

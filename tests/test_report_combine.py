"""One claim on several runs: every way their findings combine, and the seeds that would decide."""

import math
import types

from genjax import stats
from genjax.claims import combine
from genjax.claims.verdicts import (
    DEPENDS,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Margin,
)


def _on(name, verdict, evidence="numbers", condition="", margin=None):
  return types.SimpleNamespace(name=name), Finding(verdict, evidence, condition, margin)


def test_no_run_is_not_measured():
  assert combine.combine([]).verdict == NOT_MEASURED


def test_one_run_keeps_its_finding():
  margin = Margin("m", 1.0, 0.5, 1.5, 0.0, 3)
  run, finding = _on("a", DEPENDS, "x = 1", "on seeds", margin)
  assert combine.combine([(run, finding)]) is finding


def test_runs_that_agree_give_their_verdict():
  combined = combine.combine([_on("ring", SUPPORTED), _on("digits", SUPPORTED)])
  assert combined.verdict == SUPPORTED and combined.margin is None
  assert combined.evidence == "2 runs agree (`ring`, `digits`)"


def test_runs_that_agree_on_depends_keep_each_condition():
  combined = combine.combine([_on("a", DEPENDS, condition="on width"),
                              _on("b", DEPENDS, condition="on depth")])
  assert combined.verdict == DEPENDS
  assert combined.condition == "`a`: on width; `b`: on depth"


def test_runs_that_disagree_depend_and_say_which_says_what():
  combined = combine.combine([_on("ring", SUPPORTED), _on("digits", NOT_SUPPORTED),
                              _on("grid", SUPPORTED)])
  assert combined.verdict == DEPENDS
  assert combined.condition == ("the runs disagree: supported on `ring`, `grid`; "
                                "not supported on `digits`")


def test_every_run_unmeasured_is_not_measured_with_each_reason():
  combined = combine.combine([_on("a", NOT_MEASURED, "still training"),
                              _on("b", NOT_MEASURED, "no witness")])
  assert combined.verdict == NOT_MEASURED
  assert combined.evidence == "`a`: still training; `b`: no witness"


def test_unmeasured_runs_do_not_veto_but_are_listed():
  combined = combine.combine([_on("a", SUPPORTED), _on("b", NOT_MEASURED, "no witness"),
                              _on("c", SUPPORTED)])
  assert combined.verdict == SUPPORTED
  assert combined.evidence == "2 runs agree (`a`, `c`); not measured on `b` (no witness)"
  mixed = combine.combine([_on("a", SUPPORTED), _on("b", NOT_MEASURED, "no witness"),
                           _on("c", NOT_SUPPORTED)])
  assert mixed.verdict == DEPENDS and "not measured on `b` (no witness)" in mixed.evidence


def test_a_lone_measured_run_keeps_its_margin_and_names_the_others():
  margin = Margin("m", 1.0, 0.5, 1.5, 0.0, 3)
  combined = combine.combine([_on("a", NOT_MEASURED, "still training"),
                              _on("b", NOT_SUPPORTED, "x = 1", margin=margin)])
  assert combined.verdict == NOT_SUPPORTED and combined.margin is margin
  assert combined.evidence == "on `b` only: x = 1; not measured on `a` (still training)"


def test_seeds_to_decide_is_the_smallest_t_interval_that_clears():
  margin = Margin("gap", 0.3, -0.5, 1.1, 0.0, seeds=3, sd=0.8, confidence=0.9)
  n = combine.seeds_to_decide(margin)
  half_width = lambda k: stats.t_critical(k - 1, 0.9) * 0.8 / math.sqrt(k)
  assert half_width(n) < 0.3 <= half_width(n - 1)
  on_threshold = Margin("gap", 0.0, -1.0, 1.0, 0.0, seeds=3, sd=1.0)
  assert combine.seeds_to_decide(on_threshold) is None  # no number of seeds separates them


def test_a_slope_is_decided_by_sequence_lengths_not_seeds():
  """A slope's interval rests on its n (t with n - 2 degrees of freedom): the report counts
  lengths, never seeds, for it."""
  slope = Margin("slope", 1.4, 1.2, 1.6, 1.3, seeds=9, sd=0.3, unit="lengths")
  n = combine.seeds_to_decide(slope)
  half_width = lambda k: stats.t_critical(k - 2, 0.95) * 0.3 / math.sqrt(k)
  assert half_width(n) < 0.1 <= half_width(n - 1)
  cost = combine.decide_cost(Finding(DEPENDS, "", "", slope), seconds=90.0)
  assert cost["unit"] == "lengths" and cost["minutes"] == 90.0 * n / 9 / 60
  text = combine.describe_cost(cost)
  assert text.startswith(f"{n} sequence lengths in the fitted range would decide it")
  assert "seeds" not in text


def test_the_cost_applies_only_to_a_straddling_depends_with_a_spread():
  straddling = Margin("gap", 1.0, -1.5, 3.5, 0.0, seeds=3, sd=1.0)
  cost = combine.decide_cost(Finding(DEPENDS, "", "", straddling), seconds=180.0)
  assert cost == {"seeds": 7, "unit": "seeds", "max_seeds": combine.MAX_SEEDS,
                  "minutes": 180.0 * 7 / 3 / 60}
  assert combine.decide_cost(Finding(DEPENDS, "", "", straddling), None)["minutes"] is None
  assert combine.decide_cost(Finding(SUPPORTED, "", "", straddling), 180.0) is None
  clear = Margin("gap", 1.0, 0.5, 1.5, 0.0, seeds=3, sd=1.0)
  assert combine.decide_cost(Finding(DEPENDS, "", "", clear), 180.0) is None
  no_spread = Margin("slope", 1.0, -1.5, 3.5, 0.0, seeds=4)  # sd nan: not a seed mean
  assert combine.decide_cost(Finding(DEPENDS, "", "", no_spread), 180.0) is None
  never = Margin("gap", 0.0, -1.0, 1.0, 0.0, seeds=3, sd=1.0)
  assert combine.describe_cost(combine.decide_cost(Finding(DEPENDS, "", "", never), 9.0)) == (
      f"More than {combine.MAX_SEEDS} seeds would be needed to decide it.")

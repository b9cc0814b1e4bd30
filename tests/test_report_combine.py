"""One claim on several runs: every way their findings combine."""

import types

import pytest

from genjax.claims import combine
from genjax.claims.verdicts import (
    CONDITIONAL,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURED,
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
  run, finding = _on("a", CONDITIONAL, "x = 1", "on seeds", margin)
  assert combine.combine([(run, finding)]) is finding


def test_runs_that_agree_give_their_verdict():
  combined = combine.combine([_on("ring", SUPPORTED), _on("digits", SUPPORTED)])
  assert combined.verdict == SUPPORTED and combined.margin is None
  assert combined.evidence == "2 runs agree (`ring`, `digits`)"


def test_runs_that_agree_on_a_condition_keep_each_condition():
  combined = combine.combine([_on("a", CONDITIONAL, condition="on width"),
                              _on("b", CONDITIONAL, condition="on depth")])
  assert combined.verdict == CONDITIONAL
  assert combined.condition == "`a`: on width; `b`: on depth"


def test_runs_that_disagree_are_conditional_on_the_run_and_say_which_says_what():
  combined = combine.combine([_on("ring", SUPPORTED), _on("digits", CONTRADICTED),
                              _on("grid", SUPPORTED)])
  assert combined.verdict == CONDITIONAL
  assert combined.condition == ("supported on `ring`; contradicted on `digits`; "
                                "supported on `grid`")
  # A run's own condition (its regime) travels with it.
  combined = combine.combine([_on("digits", SUPPORTED, condition="1,797 images"),
                              _on("mnist", CONTRADICTED)])
  assert combined.condition == "supported on `digits` (1,797 images); contradicted on `mnist`"


def test_an_existential_claim_is_supported_by_one_run_where_it_happens():
  """'Collapse *can* leave samples realistic': one sound run showing it is enough."""
  findings = [_on("ring", CONTRADICTED, "off the data"), _on("digits", SUPPORTED)]
  combined = combine.combine(findings, existential=True)
  assert combined.verdict == SUPPORTED
  assert "supported on `digits`" in combined.evidence
  assert "contradicted on `ring`" in combined.evidence
  assert combine.combine(findings).verdict == CONDITIONAL  # a general claim: it depends on the run


def test_an_existential_claim_without_a_witness_is_not_shown_never_contradicted():
  """A run that fails to show what can happen does not show that it cannot."""
  none_support = [_on("ring", CONTRADICTED), _on("digits", INCONCLUSIVE, condition="straddles"),
                  _on("grid", CONDITIONAL, condition="partial")]
  combined = combine.combine(none_support, existential=True)
  assert combined.verdict == INCONCLUSIVE and combined.margin is None
  assert combined.condition.startswith(combine.NOT_SHOWN + ": no run")
  assert combined.evidence == ("the claim says this can happen: no run shows it; contradicted on "
                               "`ring`; inconclusive on `digits` (straddles); conditional on "
                               "`grid` (partial)")
  beside_unmeasured = [_on("ring", NOT_MEASURED, "off the data", "premise absent"),
                       _on("digits", INCONCLUSIVE, condition="not shown: below the bar")]
  combined = combine.combine(beside_unmeasured, existential=True)
  assert combined.verdict == INCONCLUSIVE and combined.condition.startswith("not shown")
  assert "not measured on `ring` (premise absent)" in combined.evidence


def test_an_existential_claim_on_one_run_is_shown_or_not_shown():
  margin = Margin("m", 1.0, 0.5, 1.5, 2.0, 3)
  for verdict, condition in ((CONTRADICTED, ""), (CONDITIONAL, "partial")):
    run, finding = _on("ring", verdict, "x = 1", condition, margin)
    combined = combine.combine([(run, finding)], existential=True)
    assert combined.verdict == INCONCLUSIVE and combined.margin is margin
    assert combined.condition.startswith("not shown: this run does not show it")
    assert combined.evidence == "x = 1"
  for verdict in (SUPPORTED, INCONCLUSIVE, NOT_MEASURED):
    run, finding = _on("ring", verdict, "x = 1", margin=margin)
    assert combine.combine([(run, finding)], existential=True) is finding


def test_an_existential_claim_no_run_can_judge_is_not_measured_with_the_shared_reason():
  absent = [_on("ring", NOT_MEASURED, "ring: off the data", "premise absent"),
            _on("mnist", NOT_MEASURED, "mnist: no collapse", "premise absent")]
  combined = combine.combine(absent, existential=True)
  assert (combined.verdict, combined.condition) == (NOT_MEASURED, "premise absent")
  assert combined.evidence == "`ring`: ring: off the data; `mnist`: mnist: no collapse"
  mixed = combine.combine([absent[0], _on("digits", NOT_MEASURED, "still training")],
                          existential=True)
  assert (mixed.verdict, mixed.condition) == (NOT_MEASURED, "")
  # The same for a general claim: the shared condition is kept.
  assert combine.combine(absent).condition == "premise absent"
  witness = combine.combine([*absent, _on("digits", SUPPORTED)], existential=True)
  assert witness.verdict == SUPPORTED
  assert witness.evidence == ("the claim says this can happen: supported on `digits`; not "
                              "measured on `ring` (premise absent); not measured on `mnist` "
                              "(premise absent)")


def test_every_run_unmeasured_is_not_measured_with_each_reason():
  combined = combine.combine([_on("a", NOT_MEASURED, "still training"),
                              _on("b", NOT_MEASURED, "no witness")])
  assert combined.verdict == NOT_MEASURED
  assert combined.evidence == "`a`: still training; `b`: no witness"


def test_no_decided_run_is_inconclusive():
  combined = combine.combine([_on("a", INCONCLUSIVE, condition="straddles 0"),
                              _on("b", NOT_MEASURED, "no witness")])
  assert combined.verdict == INCONCLUSIVE
  assert "inconclusive on `a` (straddles 0)" in combined.evidence
  assert "not measured on `b` (no witness)" in combined.evidence


def test_unmeasured_and_inconclusive_runs_do_not_veto_but_are_listed():
  combined = combine.combine([_on("a", SUPPORTED), _on("b", NOT_MEASURED, "no witness"),
                              _on("c", SUPPORTED)])
  assert combined.verdict == SUPPORTED
  assert combined.evidence == "2 runs agree (`a`, `c`); not measured on `b` (no witness)"
  mixed = combine.combine([_on("a", SUPPORTED), _on("b", NOT_MEASURED, "no witness"),
                           _on("c", CONTRADICTED)])
  assert mixed.verdict == CONDITIONAL and "not measured on `b` (no witness)" in mixed.evidence


def test_a_lone_decided_run_keeps_its_margin_and_names_the_others():
  margin = Margin("m", 1.0, 0.5, 1.5, 0.0, 3)
  combined = combine.combine([_on("a", NOT_MEASURED, "still training"),
                              _on("b", CONTRADICTED, "x = 1", margin=margin),
                              _on("c", INCONCLUSIVE, "y", "straddles")])
  assert combined.verdict == CONTRADICTED and combined.margin is margin
  assert combined.evidence == ("on `b` only: x = 1; not measured on `a` (still training); "
                               "inconclusive on `c` (straddles)")


def test_a_conditional_finding_must_name_its_condition():
  with pytest.raises(ValueError, match="condition"):
    Finding(CONDITIONAL, "numbers")
  with pytest.raises(ValueError, match="unknown verdict"):
    Finding("depends", "numbers")


def test_a_witness_that_does_not_survive_holm_leaves_a_can_claim_not_shown():
  # judge.after_holm reads a decision Holm drops as inconclusive and combines again.
  dropped = _on("ring", INCONCLUSIVE, condition="not clear after Holm")
  combined = combine.combine([dropped, _on("digits", INCONCLUSIVE)], existential=True)
  assert combined.verdict == INCONCLUSIVE and combined.condition.startswith(combine.NOT_SHOWN)
  kept = combine.combine([_on("ring", SUPPORTED), _on("digits", INCONCLUSIVE)], existential=True)
  assert kept.verdict == SUPPORTED

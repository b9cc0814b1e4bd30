"""Real text, a settled comparison at a matched budget (issue 64, genjax/claims/text_settled.py):
each gate driven to its outcome on made-up results (matched or unmatched budget, below the floor,
not settled, closing, settled and not closing either way), a missing field as ResultMissing, the
per-evaluation margins in REPORT.json, and the floor computed on the windows a model reads."""

import json
import math

import numpy as np
import pytest
import test_text_experiment as made_up

from genjax.claims import text_checks, text_settled
from genjax.claims.verdicts import (
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  ResultMissing,
)
from genjax.data import byte_references
from genjax.data import text as text_pack
from genjax.report import json_file
from genjax.text import data, fit

s, judge, STEPS = made_up.s, made_up.judge, made_up.STEPS
MIX, SPEC = "mix-bible", "spec-shakespeare-bible"


def diversity(margins=None, steps=STEPS, **kw) -> dict:
  """The diversity study with the mix minus the specialist on the Bible at each evaluation
  (offsets, or (offset, spread)); the last one is the final test."""
  r = made_up.diversity_results({"bible": -0.2}, **kw)
  margins = margins or [-0.2] * len(steps)
  for name in (MIX, SPEC):
    row = r["models"][name]
    row["test_curve"] = {t: dict(row["test"]) for t in steps}
  mix = r["models"][MIX]
  for t, m in zip(steps, margins, strict=True):
    mix["test_curve"][t]["bible"] = s(*m) if isinstance(m, tuple) else s(m)
  mix["test"] = mix["test_curve"][steps[-1]]
  return r


def trend(at_600: float, per_doubling: float) -> list[float]:
  """Margins a + b ln(step) over STEPS: `at_600` at the last step, moving `per_doubling` each time
  the steps double."""
  return [at_600 + per_doubling * math.log2(int(t) / 600) for t in STEPS]


# ---------------------------------------------------------------- gate 1: matched budget

def test_a_matched_budget_states_each_arms_bytes_parameters_and_bytes_per_parameter():
  found = judge(0, "diversity", diversity())
  assert found.verdict == SUPPORTED
  assert found.evidence.startswith("Judged at equal bytes before convergence (")
  assert "intervals over seeds only" in found.evidence
  assert f"{MIX} 936,000 bytes seen, 100,000 parameters, 9.4 bytes/parameter" in found.evidence


def test_unequal_bytes_or_schedules_are_not_measured():
  r = diversity()
  r["models"][SPEC]["budget"]["bytes_seen"] *= 2
  found = judge(0, "diversity", r)
  assert found.verdict == NOT_MEASURED and "budgets not matched" in found.evidence
  assert "unequal bytes seen" in found.evidence and "1,872,000 bytes seen" in found.evidence
  r = diversity()
  r["models"][SPEC]["budget"]["schedule"] = {**made_up.SCHEDULE, "shape": "constant"}
  found = judge(0, "diversity", r)
  assert found.verdict == NOT_MEASURED and "different schedules" in found.evidence


# ---------------------------------------------------------------- gate 2: competence floor

def test_one_seed_within_the_floor_margin_is_below_the_competence_floor():
  r = diversity()
  floor = r["models"][MIX]["floor"]["seeds"]
  r["models"][MIX]["own_test"]["seeds"] = [floor[0] - 0.3, floor[1] - 0.005, floor[2] - 0.3]
  found = judge(0, "diversity", r)
  assert found.verdict == NOT_MEASURED and "below the competence floor" in found.evidence
  assert "seed 1" in found.evidence and "seed 0" not in found.evidence
  assert text_checks.FLOOR_MARGIN_BITS == text_checks.MIN_EFFECT_BITS
  r["models"][MIX]["own_test"]["seeds"][1] = floor[1] - 2 * text_checks.FLOOR_MARGIN_BITS
  assert judge(0, "diversity", r).verdict == SUPPORTED


def test_the_pretrained_base_of_a_finetuning_study_must_pass_its_floor():
  below = judge(0, "finetune", made_up.finetune_results(0.1, own=0.05))
  assert below.verdict == NOT_MEASURED and "below the competence floor" in below.evidence
  passed = judge(0, "finetune", made_up.finetune_results(0.1))
  assert passed.verdict == SUPPORTED and "beats its competence floor" in passed.evidence
  assert "last-quarter fall" in passed.evidence


# ---------------------------------------------------------------- gate 3: settled

def test_a_verdict_that_changes_in_the_second_half_is_not_settled():
  margins = [-0.2] * 8
  margins[4] = (0.0, made_up.NOISE)  # step 375: the interval straddles the band
  found = judge(0, "diversity", diversity(margins))
  assert found.verdict == INCONCLUSIVE and found.condition.startswith("not settled")
  assert "step 375 +0.000" in found.condition and "inconclusive" in found.condition
  assert "step 600 -0.200" in found.condition


def test_a_first_half_flip_does_not_unsettle_it():
  margins = [-0.2] * 8
  margins[1] = 0.2  # step 150, before the middle
  assert judge(0, "diversity", diversity(margins)).verdict == SUPPORTED


def test_fewer_than_eight_or_unevenly_spaced_evaluations_are_not_settled():
  four = judge(0, "diversity", diversity(steps=["150", "300", "450", "600"]))
  assert four.verdict == INCONCLUSIVE and "not settled: 4 evaluations" in four.condition
  uneven = ["50", "150", "225", "300", "375", "450", "525", "600"]
  found = judge(0, "diversity", diversity(steps=uneven))
  assert found.verdict == INCONCLUSIVE and "evenly spaced" in found.condition
  assert text_settled.MIN_EVALUATIONS == 8


# ---------------------------------------------------------------- gate 4: not closing

def test_a_margin_whose_trend_enters_the_band_by_twice_the_budget_is_closing():
  closing = trend(-0.05, 0.08)  # -0.05 at step 600, +0.03 by step 1,200: supported at each step
  found = judge(0, "diversity", diversity(closing))
  assert found.verdict == INCONCLUSIVE and found.condition.startswith("closing")
  assert "reaches +0.030 at step 1,200" in found.condition


def test_a_settled_comparison_that_is_not_closing_keeps_its_verdict():
  found = judge(0, "diversity", diversity(trend(-0.2, 0.02)))
  assert found.verdict == SUPPORTED and "not closing" in found.evidence
  assert "reaches -0.180 at step 1,200" in found.evidence
  against = judge(0, "diversity", diversity([0.2] * 8))
  assert against.verdict == CONTRADICTED and "Settled: contradicted" in against.evidence


def test_an_effect_ruled_out_stays_decided_unless_its_trend_leaves_the_band():
  # A margin inside ±0.01 (no effect) is "not closing" while its line stays inside the band.
  flat = judge(0, "diversity", diversity([0.0] * 8))
  assert flat.verdict != INCONCLUSIVE and "not closing" in flat.evidence, flat
  leaving = judge(0, "diversity", diversity(trend(-0.009, -0.008)))  # -0.017 by step 1,200
  assert leaving.verdict == INCONCLUSIVE and leaving.condition.startswith("closing"), leaving


def test_the_architecture_rule_reads_the_same_gates():
  r = made_up.architecture_results(-0.5, -0.1)
  r["models"]["1"]["test_curve"] = {t: {"bible": s(v)} for t, v in zip(
      STEPS, trend(-0.05, 0.05), strict=True)}
  r["models"]["1"]["test"] = r["models"]["1"]["test_curve"]["600"]
  found = judge(0, "architecture", r)
  assert found.verdict == INCONCLUSIVE and found.condition.startswith("closing")


# ---------------------------------------------------------------- missing fields

@pytest.mark.parametrize("missing", ["test_curve", "budget", "floor", "own_test"])
def test_a_missing_field_is_result_missing_never_a_verdict(missing):
  r = diversity()
  del r["models"][SPEC][missing]
  with pytest.raises(ResultMissing, match=missing):
    judge(0, "diversity", r)


def test_a_model_missing_an_evaluation_is_result_missing():
  r = diversity()
  del r["models"][SPEC]["test_curve"]["375"]
  with pytest.raises(ResultMissing, match="no evaluation at step 375"):
    judge(0, "diversity", r)


# ---------------------------------------------------------------- REPORT.json

def test_report_json_keeps_every_evaluations_margin():
  margins = [-0.2] * 8
  margins[4] = (0.0, made_up.NOISE)
  found = judge(0, "diversity", diversity(margins))
  written = json_file.margin_json(found.margin)
  json.dumps(written, allow_nan=False)
  evaluations = written["evaluations"]
  assert [e["step"] for e in evaluations] == [int(t) for t in STEPS]
  assert evaluations[4]["verdict"] == INCONCLUSIVE and evaluations[4]["low"] < 0
  assert evaluations[-1] == {"step": 600, "verdict": SUPPORTED, "name": written["name"],
                             "value": pytest.approx(-0.2), "low": pytest.approx(-0.2),
                             "high": pytest.approx(-0.2), "threshold": -0.01, "seeds": 3}
  # Every other field is the plain margin's, as before.
  assert {k: v for k, v in written.items() if k != "evaluations"} == json_file.margin_json(
      text_settled.Margin(**{k: getattr(found.margin, k) for k in written
                             if k != "evaluations"}))


# ---------------------------------------------------------------- the floor on the windows

def test_the_floor_is_the_ngram_on_each_seeds_own_windows_equal_parts_of_the_domains(
    monkeypatch):
  packs = {d: {split: {f"{d}-{j}": made_up.MADE_UP[j * 7 + i:] for j in range(3)}
               for i, split in enumerate(text_pack.SPLITS)} for d in made_up.DOMAINS}
  monkeypatch.setattr(data.text, "splits", lambda domain, pin=None: packs[domain])
  config = made_up.tiny_config()
  domains = ("shakespeare", "news")
  floor = data.floor_bits(config, domains, 3)
  docs = {f"{d}/{n}": doc for d in domains for n, doc in packs[d]["train"].items()}
  by_hand = np.mean([[byte_references.window_bits(docs, 3, w).mean() for w in
                      data.eval_windows(config, d, "test")] for d in domains], axis=0)
  assert floor.shape == (3,) and np.allclose(floor, by_hand)


def test_the_budget_counts_one_seeds_parameters_and_the_bytes_seen():
  config = made_up.tiny_config()  # 3 seeds, 8 steps of 6 windows of 16 + 1 bytes
  params_S = {"a": np.zeros((3, 4, 5)), "b": {"c": np.zeros((3, 7))}}
  budget = fit.budget(config, params_S)
  assert budget["params"] == 27 and budget["bytes_seen"] == 8 * 6 * 17
  assert budget["schedule"]["peak_lr"] == config.learning_rate

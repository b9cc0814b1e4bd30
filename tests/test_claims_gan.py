"""Every Q2 rule and the Q2 guard driven to every outcome they can give, from made-up results."""

import copy
import types

import pytest

from genjax import stats
from genjax.claims import combine, gan, gan_guard, gan_realism
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  ResultMissing,
)
from genjax.gan import data as gan_data

SEEDS = 5
STEPS = [0, 2500, 5000, 7500, 10000, 12500, 15000]


def _per_seed(value):
  return list(value) if isinstance(value, (list, tuple)) else [value] * SEEDS


def _stat(values):
  return stats.summary(_per_seed(values))


def _history(cells, top_cells=None, top_share=0.9, trend=0.0):
  """Evaluation records; `top_cells[t]` per seed at evaluation t (after step 0); `trend` adds a
  drift to the cell count over the last evaluations."""
  records = []
  for t, step in enumerate(STEPS):
    top = (top_cells[t - 1] if top_cells and t > 0 else [0] * SEEDS)
    drift = trend * max(0, t - (len(STEPS) - 4))
    records.append({"step": step, "cells": [c + drift for c in _per_seed(cells)],
                    "top_share": _per_seed(top_share), "reverse_kl": _per_seed(1.5),
                    "top_cell": _per_seed(top)})
  return records


def _method(name, cells, precision=0.95, median=1.0, samples=100, pack=1, unroll=0,
            recall=0.05, history=None):
  method = {"name": name, "pack": pack, "unroll": unroll, "first_order": False,
            "mbstd": False, "wgan_gp": False, "r1": False}
  if name.startswith("gan_batch"):
    method["batch_scale"] = samples // 100
  summary = {"modes": _stat(cells), "cells": _stat(cells), "top_share": _stat(0.9),
             "reverse_kl": _stat(0.01), "precision": _stat(precision), "recall": _stat(recall),
             "median_distance_std": _stat(median), "hq": _stat(0.5)}
  summary["seeds_all_modes"] = sum(m == 8 for m in summary["modes"]["seeds"])
  return {"method": method, "samples_per_step": samples, "summary": summary,
          "history": history if history is not None else _history(cells)}


def _results(gan_cells=1, gan_precision=0.95, gan_median=1.0, remedy_cells=8,
             remedy_median=1.0, control_cells=1, control=True, gan_history=None, gan_recall=0.05):
  methods = {"gan": _method("gan", gan_cells, gan_precision, gan_median, recall=gan_recall,
                            history=gan_history),
             "pacgan2": _method("pacgan2", remedy_cells, median=remedy_median, samples=200,
                                pack=2, recall=0.9)}
  if control:
    methods["gan_batch2x"] = _method("gan_batch2x", control_cells, samples=200)
  return {"dataset": "ring", "num_modes": 8, "num_seeds": SEEDS,
          "floors": {"reverse_kl": 0.0014},
          "real_data": {"precision": 0.97, "recall": 0.9, "hq": 0.99,
                        "median_distance_std": 1.18},
          "uniform_blur": {"modes": 8.0, "precision": 0.008}, "methods": methods}


def _verdicts(results):
  return [c.rule(results).verdict for c in gan.CLAIMS]


def test_a_sharp_collapsed_gan_that_stays_put_and_a_packing_fix_support_every_claim():
  assert _verdicts(_results()) == [SUPPORTED, SUPPORTED, SUPPORTED, SUPPORTED]


def test_a_blurred_generator_with_a_sharp_witness_passes_the_guard_but_not_the_premise():
  """The appendix picture: vanilla is a blob far from every center, pacgan2 at the same samples
  per step is sharp, so the budget sufficed; but the blob's samples are not on the data, so no
  claim about a collapsed generator's samples is judged on it."""
  results = _results(gan_median=24.0, gan_precision=0.1)
  results["methods"]["pacgan2"]["samples_per_step"] = 100  # batch_unit=samples: same budget
  assert gan_guard.check(results, ["gan"])[0]
  for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
    finding = rule(results)
    assert finding.verdict == NOT_MEASURED and finding.condition == gan_guard.PREMISE_ABSENT
    assert "budget witness pacgan2" in finding.evidence
    assert "gan precision 0.100 on every seed" in finding.evidence
    assert "not shown on the data (premise: the interval stays >= 0.485" in finding.evidence
  # The same blur on the data (precision above half of real data's) is judged: cells count it.
  on_data = _results(gan_median=24.0, gan_precision=0.6)
  on_data["methods"]["pacgan2"]["samples_per_step"] = 100
  assert gan.collapse(on_data).verdict == SUPPORTED


def test_no_witness_is_not_measured_with_the_numbers():
  """Every method at the judged one's samples per step is blurred: the budget may be short."""
  blurred = _results(gan_median=40.0)  # gan_batch2x and pacgan2 have 200 samples per step
  for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
    finding = rule(blurred)
    assert finding.verdict == NOT_MEASURED
    assert "no budget witness for gan" in finding.evidence and "40.0 std" in finding.evidence
  blurred_budget = _results(remedy_median=12.0)
  blurred_budget["methods"]["gan_batch2x"]["summary"]["median_distance_std"] = _stat(30.0)
  finding = gan.remedies_restore_coverage(blurred_budget)
  assert finding.verdict == NOT_MEASURED and "no budget witness for pacgan2" in finding.evidence
  # A sharp control at the same samples per step witnesses the remedy's budget.
  assert gan.remedies_restore_coverage(_results(remedy_median=12.0)).verdict == SUPPORTED


def test_a_generator_still_trending_is_not_measured():
  results = _results(gan_history=_history([1, 2, 1, 2, 1], trend=1.0))
  finding = gan.collapse(results)
  assert finding.verdict == NOT_MEASURED and "gan still trending: cells" in finding.evidence
  # Seed noise larger than the drift: steady.
  noisy = _results(gan_history=_history([1, 3, 1, 3, 1], trend=0.2))
  d = gan_guard.drift(noisy, "gan", "cells")
  assert not d["trend"] and d["spread"] > abs(d["drift"])
  assert gan.collapse(noisy).verdict != NOT_MEASURED


def test_a_drift_on_one_seed_only_is_no_trend():
  history = _history(1)
  for t, record in enumerate(history[-3:]):
    record["cells"] = [1 + t, 1, 1, 1, 1]
  d = gan_guard.drift(_results(gan_history=history), "gan", "cells")
  assert d["low"] < 0 < d["high"] and not d["trend"]


def test_too_few_evaluations_are_not_measured():
  results = _results(gan_history=_history(1)[:2])
  finding = gan.collapse(results)
  assert finding.verdict == NOT_MEASURED and "fewer than 3 evaluations" in finding.evidence


def test_the_window_is_the_last_third_of_training_not_of_the_evaluations():
  """Evaluated at 0, 1k, 2k, 3k: only 2k and 3k lie in the last third, too few to judge; a
  window of the last 3 evaluations would reach back to step 1k, where a generator still moves."""
  history = [{"step": s, "cells": [20 - 5 * t] * SEEDS, "top_share": [0.5] * SEEDS,
              "reverse_kl": [1.0] * SEEDS, "top_cell": [0] * SEEDS}
             for t, s in enumerate([0, 1000, 2000, 3000])]
  assert gan_guard.drift(_results(gan_history=history), "gan", "cells") is None
  finding = gan.collapse(_results(gan_history=history))
  assert finding.verdict == NOT_MEASURED and "in the last third of training" in finding.evidence
  history.insert(3, {**history[2], "step": 2500})  # 2k, 2.5k, 3k: enough
  assert gan_guard.drift(_results(gan_history=history), "gan", "cells")["from"] == 2000


def test_without_distances_sharpness_is_precision():
  no_distance = _results(gan_precision=0.3)
  for r in no_distance["methods"].values():
    del r["summary"]["median_distance_std"]
  del no_distance["real_data"]["median_distance_std"]
  ok, text = gan_guard.check(no_distance, ["gan"])
  assert not ok and "gan precision 0.300" in text
  no_distance["methods"]["gan"]["summary"]["precision"] = _stat(0.6)
  assert gan_guard.check(no_distance, ["gan"])[0]


def test_one_diverged_seed_does_not_make_a_trained_method_look_untrained():
  assert gan.collapse(_results(gan_median=[1.0, 1.0, 1.0, 1.0, 500.0])).verdict == SUPPORTED


def test_no_vanilla_run_is_a_missing_result():
  results = _results()
  del results["methods"]["gan"]
  for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
    with pytest.raises(ResultMissing, match="no gan run"):
      rule(results)


def test_collapse_every_outcome():
  """"Can collapse" is existential: a run without a collapse is not shown, never contradicted."""
  assert gan.collapse(_results(gan_cells=1)).verdict == SUPPORTED
  every_cell = gan.collapse(_results(gan_cells=8))
  assert every_cell.verdict == INCONCLUSIVE and every_cell.condition.startswith("not shown: no "
                                                                                "collapse")
  partial = gan.collapse(_results(gan_cells=[6, 5, 6, 6, 7]))
  assert partial.verdict == INCONCLUSIVE and "not shown: a partial collapse" in partial.condition
  # Partial or none: only a collapse decides, so every margin is read against the collapse bar.
  either = gan.collapse(_results(gan_cells=[6, 8, 7, 8, 8]))
  assert either.verdict == INCONCLUSIVE and "straddles 7.5: no collapse or a partial one" in (
      either.condition)
  assert {f.margin.threshold for f in (every_cell, partial, either)} == {4}
  off_data = gan.collapse(_results(gan_cells=1, gan_precision=[0.0, 0.01, 0.003, 0.0, 0.02]))
  assert off_data.verdict == NOT_MEASURED and off_data.condition == "premise absent"
  # The same mean with seeds that disagree: the interval straddles k/2, so no verdict of collapse.
  spread = gan.collapse(_results(gan_cells=[0, 0, 1, 8, 8]))
  assert spread.verdict == INCONCLUSIVE
  assert "(95% t, 5 seeds)" in spread.evidence and "<= 4 cells" in spread.evidence
  # A count interval stays inside 0..8 cells: the t interval of [0, 0, 1, 8, 8] reaches below 0.
  assert "[0.0, " in spread.evidence and spread.margin.low < 0
  assert spread.margin.threshold == 4 and spread.margin.seeds == SEEDS


def _tops(per_interval):
  """top cells per evaluation after step 0, each seed following `per_interval` (a list of
  cells) shifted by its index so seeds differ."""
  return [[(c + s) % 8 for s in range(SEEDS)] for c in per_interval]


def test_persistence_every_outcome():
  same = _results(gan_history=_history(1, _tops([3, 3, 3, 3, 3, 3])))
  finding = gan.persists_on_same_modes(same)
  assert finding.verdict == SUPPORTED and "0/5" in finding.evidence
  hopping = _results(gan_history=_history(1, _tops([1, 2, 3, 4, 5, 6])))
  finding = gan.persists_on_same_modes(hopping)
  assert finding.verdict == CONTRADICTED and "hops from cell to cell" in finding.evidence
  assert finding.margin.value == 1.0 and finding.margin.threshold == gan.HOPS_MIN
  some = _results(gan_history=_history(1, _tops([1, 1, 2, 2, 3, 3])))  # 2 hops in 5
  assert gan.persists_on_same_modes(some).verdict == CONDITIONAL
  spread = _results(gan_history=_history(1, _tops([1, 2, 3, 4, 5, 6]), top_share=0.3))
  finding = gan.persists_on_same_modes(spread)
  assert finding.verdict == NOT_MEASURED and "no collapse" in finding.evidence


def test_persistence_counts_hops_only_between_sitting_evaluations():
  history = _history(1, _tops([1, 1, 2, 2, 2, 2]))
  for record in history[3:4]:  # the generator spreads out at one evaluation: no pair there
    record["top_share"] = [0.2] * SEEDS
  fractions, texts = gan._hop_fractions(_results(gan_history=history), "gan")
  assert texts[0] == "0/3" and fractions == [0.0] * SEEDS  # 1 -> 2 across the gap: no hop


def test_realistic_but_not_diverse_every_outcome():
  assert gan.realistic_but_not_diverse(_results(gan_precision=0.95)).verdict == SUPPORTED
  # On the data (0.6 >= 0.485) but below the realism bar (0.776): not shown, never contradicted.
  short = gan.realistic_but_not_diverse(_results(gan_precision=0.6))
  assert short.verdict == INCONCLUSIVE and short.condition.startswith("not shown: this collapsed")
  off_data = gan.realistic_but_not_diverse(_results(gan_precision=0.2))
  assert off_data.verdict == NOT_MEASURED and off_data.condition == "premise absent"
  diverse = gan.realistic_but_not_diverse(_results(gan_recall=0.8))
  assert diverse.verdict == NOT_MEASURED and "diversity is not lost" in diverse.evidence
  assert diverse.condition == "premise absent"
  recall_unclear = gan.realistic_but_not_diverse(_results(gan_recall=[0.1, 0.8, 0.1, 0.8, 0.4]))
  assert recall_unclear.verdict == INCONCLUSIVE and "recall" in recall_unclear.condition
  straddles = gan.realistic_but_not_diverse(_results(gan_precision=[0.6, 0.95, 0.6, 0.95, 0.9]))
  assert straddles.verdict == INCONCLUSIVE and "straddles" in straddles.condition
  # Precision is bounded: its interval is stated inside [0, 1] (the t interval reaches past 1).
  near_one = gan.realistic_but_not_diverse(_results(gan_precision=[0.99, 1.0, 0.8, 1.0, 1.0]))
  assert near_one.margin.high > 1 and ", 1.000] (95% t" in near_one.evidence
  # The evidence names the space precision was measured in (results.json's prdc_space).
  in_features = gan.realistic_but_not_diverse({**_results(gan_precision=0.95),
                                               "prdc_space": "features"})
  assert "(sample quality, in classifier features)" in in_features.evidence
  assert "(sample quality) " in gan.realistic_but_not_diverse(_results()).evidence


def test_remedies_every_outcome():
  supported = gan.remedies_restore_coverage(_results())
  assert supported.verdict == SUPPORTED
  assert "matched control gan_batch2x" in supported.evidence and "Welch" in supported.evidence
  # A larger batch alone restores coverage as well: packing adds nothing.
  batch_does_it = gan.remedies_restore_coverage(_results(control_cells=8))
  # Equal on every seed: no gain, and no collapse left to remedy; the gain sits on its threshold.
  assert batch_does_it.verdict == INCONCLUSIVE and batch_does_it.margin.threshold == 0
  worse = gan.remedies_restore_coverage(_results(remedy_cells=[2, 3, 2, 3, 2], control_cells=[
      6, 7, 6, 7, 6]))
  assert worse.verdict == CONTRADICTED
  partial = gan.remedies_restore_coverage(_results(remedy_cells=[5, 6, 5, 6, 5]))
  assert partial.verdict == CONDITIONAL and "not to all cells" in partial.condition
  with pytest.raises(ResultMissing, match="no matched control.*gan_batch2x"):
    gan.remedies_restore_coverage(_results(control=False))
  only_vanilla = _results()
  del only_vanilla["methods"]["pacgan2"]
  with pytest.raises(ResultMissing, match="no remedy"):
    gan.remedies_restore_coverage(only_vanilla)


def test_remedies_compare_each_remedy_with_its_own_control():
  results = _results(control=False)
  results["methods"]["unrolled5"] = _method("unrolled5", [5, 6, 5, 6, 5], unroll=5)
  finding = gan.remedies_restore_coverage(results)
  # pacgan2 has no control; unrolled5 is judged against gan (same samples per step).
  assert finding.verdict == CONDITIONAL
  assert "unrolled5" in finding.evidence and "matched control gan " in finding.evidence
  assert "no matched control for pacgan2" in finding.evidence


def test_one_seed_gives_no_interval():
  results = _results()
  for r in results["methods"].values():
    for stat in r["summary"].values():
      if isinstance(stat, dict):
        stat["seeds"] = stat["seeds"][:1]
    for record in r["history"]:
      for key, value in record.items():
        if isinstance(value, list):
          record[key] = value[:1]
  results["num_seeds"] = 1
  finding = gan.collapse(results)  # one seed cannot show the samples on the data
  assert finding.verdict == NOT_MEASURED and finding.condition == "premise absent"
  assert "(1 seed: no interval)" in finding.evidence
  assert gan.remedies_restore_coverage(results).verdict == INCONCLUSIVE  # no spread: not clear


def test_cell_claims_apply_to_mixtures_and_single_digits_not_to_stacked_digits():
  results = _results()
  stacked = copy.deepcopy(results)
  del stacked["uniform_blur"]
  stacked["dataset"] = "stacked_mnist_full"
  single = _single_digits()
  applies = {c.rule.__name__: (c.applies(results), c.applies(stacked), c.applies(single))
             for c in gan.CLAIMS}
  assert applies == {"collapse": (True, False, True),
                     "persists_on_same_modes": (True, False, True),
                     "realistic_but_not_diverse": (True, True, True),
                     "remedies_restore_coverage": (True, False, True)}
  # Every dataset of one digit a channel is one the rules count classes on.
  assert set(gan.SINGLE_DIGIT_DATASETS) == set(gan_data.SINGLE_SOURCES)


def _single_digits(gan_cells=2, remedy_cells=10, control_cells=2, **kwargs):
  """A real-MNIST run: 10 classes read by the judge, no distances, no blur, features space."""
  results = _results(gan_cells=gan_cells, remedy_cells=remedy_cells,
                     control_cells=control_cells, **kwargs)
  del results["uniform_blur"], results["real_data"]["median_distance_std"]
  for r in results["methods"].values():
    del r["summary"]["median_distance_std"]
    r["summary"]["seeds_all_modes"] = sum(m == 10 for m in r["summary"]["modes"]["seeds"])
  return {**results, "dataset": "mnist_full", "num_modes": 10, "prdc_space": "features"}


def test_on_single_digits_the_classes_decide_every_cell_claim():
  """Collapse and remedies on the judge's 10 classes, with their KL in the evidence."""
  collapsed = _single_digits()
  assert _verdicts(collapsed) == [SUPPORTED, SUPPORTED, SUPPORTED, SUPPORTED]
  evidence = gan.collapse(collapsed).evidence
  assert "of 10 digit classes, the judge's labels (>= 5.00% of its samples each" in evidence
  assert "reverse KL to uniform over them 0.010 nats, floor 0.001" in evidence
  every_class = gan.collapse(_single_digits(gan_cells=10))
  assert every_class.verdict == INCONCLUSIVE and every_class.condition.startswith("not shown")
  assert "<= 5 cells" in every_class.evidence  # half of 10 classes
  partial = gan.collapse(_single_digits(gan_cells=[7, 8, 7, 8, 7]))
  assert partial.verdict == INCONCLUSIVE and "a partial collapse" in partial.condition
  blurred = _single_digits(gan_precision=0.01)
  unwitnessed = gan.collapse(blurred)  # nothing at its samples per step shows the budget suffices
  assert unwitnessed.verdict == NOT_MEASURED and "no budget witness" in unwitnessed.evidence
  blurred["methods"]["pacgan2"]["samples_per_step"] = 100  # a sharp witness at the same budget
  off_data = gan.collapse(blurred)
  assert off_data.verdict == NOT_MEASURED and off_data.condition == "premise absent"
  worse = gan.remedies_restore_coverage(_single_digits(remedy_cells=[2, 3, 2, 3, 2],
                                                      control_cells=[6, 7, 6, 7, 6]))
  assert worse.verdict == CONTRADICTED
  short = gan.remedies_restore_coverage(_single_digits(remedy_cells=[6, 7, 6, 7, 6]))
  assert short.verdict == CONDITIONAL and "not to all cells" in short.condition


def test_a_malformed_result_is_a_bug_not_a_verdict():
  results = _results()
  del results["methods"]["gan"]["summary"]["cells"]
  with pytest.raises(KeyError):
    gan.collapse(results)


@pytest.mark.parametrize("rule", [c.rule for c in gan.CLAIMS])
def test_rules_do_not_modify_results(rule):
  results = _results()
  before = copy.deepcopy(results)
  rule(results)
  assert results == before


def test_every_seed_equal_says_so_instead_of_a_zero_width_interval():
  finding = gan.collapse(_results(gan_cells=1))
  assert "on every seed (5 of 5; share of seeds 0.48-1.00, exact 95%)" in finding.evidence
  assert "[1.0, 1.0]" not in finding.evidence


def test_a_realistic_spread_over_seeds_still_supports_every_claim():
  """Seeds that differ as real runs do (not the same number five times)."""
  results = _results(gan_cells=[1, 2, 1, 1, 2], gan_precision=[0.93, 0.97, 0.9, 0.95, 0.99],
                     gan_recall=[0.05, 0.1, 0.02, 0.08, 0.04], remedy_cells=[8, 8, 7, 8, 8],
                     control_cells=[1, 2, 2, 1, 1])
  assert _verdicts(results)[0] == SUPPORTED and _verdicts(results)[2] == SUPPORTED
  remedy = gan.remedies_restore_coverage(results)
  assert remedy.verdict in (SUPPORTED, INCONCLUSIVE)  # 7.8 [7.2, 8.0]: straddles 7.5
  assert remedy.verdict == INCONCLUSIVE and "reaches all cells" in remedy.condition


def _digits(gan_precision=0.95, gan_recall=0.05, trend=0.0):
  """A stacked-digits run: no distances, no uniform blur (label cells), features space."""
  results = _results(gan_precision=gan_precision, gan_recall=gan_recall,
                     gan_history=_history(1, trend=trend))
  del results["uniform_blur"], results["real_data"]["median_distance_std"]
  for r in results["methods"].values():
    del r["summary"]["median_distance_std"]
  return {**results, "dataset": "stacked_digits", "prdc_space": "features"}


def _off_data(**kwargs):
  """The appendix picture: vanilla a blob 25 std from every center, pacgan2 sharp at the same
  samples per step (the budget witness)."""
  results = _results(gan_median=25.0, **{"gan_precision": 0.01, **kwargs})
  results["methods"]["pacgan2"]["samples_per_step"] = 100
  return results


def test_the_premise_is_the_precision_interval_against_half_of_real_data():
  """Shown on the data when the interval's lower end reaches 0.5 x real data's precision."""
  assert gan_guard.ON_DATA_PRECISION_RATIO == 0.5 < gan.REALISTIC_PRECISION_RATIO
  at_bar = _results(gan_precision=0.485)  # 0.5 x 0.97 on every seed
  assert gan_guard.on_data(at_bar, "gan")[0] and gan.collapse(at_bar).verdict == SUPPORTED
  straddles = _results(gan_precision=[0.3, 0.7, 0.3, 0.7, 0.5])  # mean 0.5, interval wide
  shown, text = gan_guard.on_data(straddles, "gan")
  assert not shown and "not shown on the data" in text
  for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
    assert (rule(straddles).verdict, rule(straddles).condition) == (NOT_MEASURED,
                                                                    "premise absent")
  # The space precision was measured in is named (results.json's prdc_space).
  assert "gan precision in classifier features 0.950" in gan_guard.on_data(_digits(), "gan")[1]


@pytest.mark.parametrize("where", ["real_data", "gan"])
def test_a_missing_premise_field_is_a_missing_result_not_a_verdict(where):
  for results in (_results(), _digits()):
    if where == "real_data":
      del results["real_data"]["precision"]
    else:
      del results["methods"]["gan"]["summary"]["precision"]
    for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
      with pytest.raises(ResultMissing, match="precision"):
        rule(results)


@pytest.mark.parametrize("cells", [1, 8, [1, 8, 1, 8, 1]])
@pytest.mark.parametrize("tops", [[3] * 6, [1, 2, 3, 4, 5, 6]])
def test_an_off_data_generator_never_contradicts_a_claim_about_its_samples(cells, tops):
  """A blob between the modes, collapsed onto one cell or spread over all, sitting or hopping:
  every claim about a collapsed generator's samples reads not measured (premise absent)."""
  results = _off_data(gan_cells=cells, gan_precision=[0.003, 0.0, 0.01, 0.0, 0.02],
                     gan_history=_history(cells, _tops(tops)))
  assert gan_guard.check(results, ["gan"])[0]
  for rule in (gan.collapse, gan.persists_on_same_modes, gan.realistic_but_not_diverse):
    finding = rule(results)
    assert (finding.verdict, finding.condition) == (NOT_MEASURED, "premise absent")


def test_a_label_cell_drift_does_not_drop_the_realism_claim():
  """Stacked digits: label cells still climbing measure nothing about realism, so they do not
  drop the run for it (they still would for a cell claim); a drift in precision or recall,
  where the history records them, does."""
  drifting = _digits(trend=20.0)
  assert not gan_guard.check(drifting, ["gan"])[0]
  assert gan_realism.steady_stats(drifting) == ()
  finding = gan.realistic_but_not_diverse(drifting)
  assert finding.verdict == SUPPORTED and "steadiness not checked" in finding.evidence
  for t, record in enumerate(drifting["methods"]["gan"]["history"]):
    record["precision"], record["recall"] = [0.95] * SEEDS, [0.05 + 0.1 * t] * SEEDS
  assert gan_realism.steady_stats(drifting) == ("precision", "recall")
  finding = gan.realistic_but_not_diverse(drifting)
  assert finding.verdict == NOT_MEASURED and "gan still trending: recall" in finding.evidence
  assert "still trending: cells" not in finding.evidence


def test_on_a_mixture_the_cells_measure_the_collapse_under_realism():
  """On the ring's own components a cell drift is the collapse still moving: not measured."""
  results = _results(gan_history=_history([1, 2, 1, 2, 1], trend=1.0))
  assert gan_realism.steady_stats(results) == gan_guard.STEADY_STATS
  finding = gan.realistic_but_not_diverse(results)
  assert finding.verdict == NOT_MEASURED and "gan still trending: cells" in finding.evidence


def _combined(**runs):
  """The realism claim combined over named runs, as the report combines it."""
  claim = next(c for c in gan.CLAIMS if c.rule is gan.realistic_but_not_diverse)
  assert claim.existential
  findings = [(types.SimpleNamespace(name=name), claim.rule(results))
              for name, results in runs.items()]
  return findings, combine.combine(findings, claim.existential)


def test_realism_over_several_runs_every_outcome():
  off_ring = _off_data()
  # A witness on stacked digits supports it; the off-data ring neither supports nor contradicts.
  findings, combined = _combined(ring=off_ring, digits=_digits())
  assert [f.verdict for _, f in findings] == [NOT_MEASURED, SUPPORTED]
  assert combined.verdict == SUPPORTED and "supported on `digits`" in combined.evidence
  assert "not measured on `ring` (premise absent)" in combined.evidence
  # No witness among the runs that meet the premise: inconclusive (not shown).
  findings, combined = _combined(ring=off_ring, digits=_digits(gan_precision=0.6))
  assert [f.verdict for _, f in findings] == [NOT_MEASURED, INCONCLUSIVE]
  assert combined.verdict == INCONCLUSIVE and combined.condition.startswith("not shown")
  # No run meets the premise: not measured (premise absent), with each run's numbers.
  off_digits = _digits(gan_precision=0.2)
  off_digits["methods"]["pacgan2"]["samples_per_step"] = 100  # pacgan2 is its budget witness
  findings, combined = _combined(ring=off_ring, digits=off_digits)
  assert (combined.verdict, combined.condition) == (NOT_MEASURED, "premise absent")
  assert "`ring`: ring: the premise is absent" in combined.evidence
  # One run alone: its own finding, which is never contradicted.
  _, combined = _combined(ring=off_ring)
  assert (combined.verdict, combined.condition) == (NOT_MEASURED, "premise absent")
  _, combined = _combined(digits=_digits(gan_precision=0.6))
  assert combined.verdict == INCONCLUSIVE and combined.condition.startswith("not shown")


def test_collapse_over_several_runs_is_never_contradicted():
  claim = next(c for c in gan.CLAIMS if c.rule is gan.collapse)
  runs = {"off": _off_data(), "spread": _results(gan_cells=8),
          "partial": _results(gan_cells=[6, 5, 6, 6, 7])}
  findings = [(types.SimpleNamespace(name=n), claim.rule(r)) for n, r in runs.items()]
  combined = combine.combine(findings, claim.existential)
  assert combined.verdict == INCONCLUSIVE and combined.condition.startswith("not shown")
  witness = (types.SimpleNamespace(name="collapsed"), claim.rule(_results(gan_cells=1)))
  assert combine.combine([*findings, witness], claim.existential).verdict == SUPPORTED

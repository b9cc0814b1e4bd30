"""Statistics over seeds: summaries and Student-t comparisons, checked against scipy."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from genjax import stats


def test_summary_matches_numpy():
  s = stats.summary([1.0, 2.0, 4.0])
  assert s["mean"] == pytest.approx(7 / 3)
  assert s["sd"] == pytest.approx(np.std([1, 2, 4], ddof=1))
  assert s["se"] == pytest.approx(s["sd"] / math.sqrt(3))
  assert s["seeds"] == [1.0, 2.0, 4.0]
  assert stats.summary([3.0]) == {"mean": 3.0, "sd": 0.0, "se": 0.0, "seeds": [3.0]}


def test_t_quantile_for_three_seeds():
  assert stats.t_critical(2) == pytest.approx(4.3027, abs=1e-4)


def test_paired_compare_matches_scipy_and_uses_the_t_quantile():
  a, b = [1.0, 1.4, 1.1], [0.2, 0.9, 0.3]
  result = stats.compare(a, b, paired=True)
  test = scipy_stats.ttest_rel(a, b)
  d = np.subtract(a, b)
  assert result["diff"] == pytest.approx(d.mean())
  assert result["diff"] / result["se"] == pytest.approx(test.statistic)
  # 95%: clear exactly when scipy's two-sided p < 0.05.
  assert result["clear"] == (test.pvalue < 0.05)
  # Differences 1, 2, 3: mean 3.46 s.e., clear at the normal's 1.96 but not at t(2) = 4.30.
  weak = stats.compare([2.0, 3.0, 4.0], [1.0, 1.0, 1.0], paired=True)
  assert weak["diff"] / weak["se"] == pytest.approx(2 / (1 / math.sqrt(3)))
  assert not weak["clear"]


def test_compare_can_say_clear_and_not_clear():
  assert stats.compare([5.0, 5.1, 4.9], [1.0, 1.1, 0.9], paired=True)["clear"]
  assert not stats.compare([5.0, 1.0, 3.0], [3.0, 3.1, 2.9], paired=True)["clear"]
  welch = stats.compare([5.0, 5.1, 4.9, 5.2], [1.0, 1.3, 0.9], paired=False)
  scipy_welch = scipy_stats.ttest_ind([5.0, 5.1, 4.9, 5.2], [1.0, 1.3, 0.9], equal_var=False)
  assert welch["diff"] / welch["se"] == pytest.approx(scipy_welch.statistic)
  assert welch["clear"]


def test_one_seed_is_never_clear():
  result = stats.compare([5.0], [1.0], paired=True)
  assert not result["clear"] and math.isinf(result["se"])
  with pytest.raises(ValueError, match="paired"):
    stats.compare([1.0, 2.0], [1.0], paired=True)


def test_share_interval_is_clopper_pearson():
  low, high = stats.share_interval(3, 3)
  assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 3))  # 0.292
  low, high = stats.share_interval(0, 5)
  assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 5))
  low, high = stats.share_interval(5, 10)
  assert low == pytest.approx(0.187, abs=1e-3) and high == pytest.approx(0.813, abs=1e-3)


def test_describe_never_prints_a_zero_width_interval():
  same = stats.compare([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], paired=True)
  assert same["low"] == same["high"]  # the t interval itself is degenerate
  text = stats.describe_compare(same, digits=1)
  assert text == "+1.0 on every seed (3 of 3; share of seeds 0.29-1.00, exact 95%)"
  spread = stats.compare([2.0, 2.5, 1.8], [1.0, 1.0, 1.0], paired=True)
  assert stats.describe_compare(spread).endswith("(95% t, 3 seeds)")
  assert stats.describe(0.5, float("-inf"), float("inf"), 1, float("nan")) == (
      "0.50 (1 seed: no interval)")


def test_describe_keeps_a_bounded_metric_in_its_range():
  assert stats.describe(0.013, -0.032, 0.058, 3, 0.018, digits=3, bounds=(0, 1)) == (
      "0.013 [0.000, 0.058] (95% t, 3 seeds)")


def test_holm_is_step_down_and_skips_missing_p_values():
  # 4 tests, sorted: 0.001 <= 0.05/4; 0.01 <= 0.05/3; 0.03 > 0.05/2 stops, so 0.045 fails too
  # although it is below 0.05 on its own.
  assert stats.holm([0.01, 0.045, None, 0.03, 0.001]) == [True, False, None, False, True]
  assert stats.holm([0.03, 0.03]) == [False, False]  # 0.03 > 0.025 at the first step
  assert stats.holm([]) == []


def test_the_sign_test_of_identical_seeds_and_the_seeds_it_needs():
  # All n seeds on one side, either way, under a fair coin: 2 x 0.5^n.
  assert [stats.sign_test_p(n) for n in (1, 3, 5, 6)] == [1.0, 0.25, 0.0625, 0.03125]
  assert stats.sign_test_p(3) == pytest.approx(scipy_stats.binomtest(3, 3).pvalue)
  assert stats.exact_min_seeds(0.95) == 6  # 5 seeds give 0.0625 > 0.05
  assert stats.exact_min_seeds(0.99) == 8  # 7 give 0.0156 > 0.01
  with pytest.raises(ValueError, match="at least one seed"):
    stats.sign_test_p(0)


def test_holm_steps_down_and_leaves_untested_out():
  # m = 3: 0.001 <= 0.05/3, then 0.03 > 0.05/2 stops the rest (0.04 too, though <= 0.05).
  assert stats.holm([0.03, None, 0.001, 0.04]) == [False, None, True, False]
  assert stats.holm([0.01, 0.02]) == [True, True]  # 0.01 <= 0.025, 0.02 <= 0.05

"""Q4's rules: made-up sweep results drive each rule to every verdict it can return."""

import pytest

from genjax.claims import attention
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Margin,
  ResultMissing,
)

NAN = float("nan")


def _fit(slope, half=0.1, points=9):
  return {"slope": slope, "lo": slope - half, "hi": slope + half, "n_lo": 1024, "n_hi": 8192,
          "points": points, "sd": 0.3}


def _results(naive_time=2.0, naive_memory=2.0, chunked_memory=1.0, efficient_time=1.0,
             naive_backward=None, crossover_ratios=(1.05, 0.9)):
  """Sweep results with the given slopes (fits or numbers) and measured/4d crossover ratios."""
  def as_fit(x):
    return x if isinstance(x, dict) else _fit(x)

  slopes = []
  for variant in ("naive", "chunked", *attention.EFFICIENT):
    for mode in ("forward", "forward_backward"):
      time = efficient_time
      if variant == "naive":
        time = naive_backward if mode == "forward_backward" and naive_backward else naive_time
      memory = {"naive": naive_memory, "chunked": chunked_memory}.get(variant, 1.0)
      slopes.append({"variant": variant, "mode": mode, "time": as_fit(time),
                     "time_corrected": as_fit(time), "memory": as_fit(memory)})
  crossovers = [{"d": d, "ns": [d, 2 * d, 4 * d, 8 * d], "attention_over_mlp": [0.3, 0.6, 1, 2],
                 "measured_mlp": None if r is None else r * 4 * d}
                for d, r in zip((256, 512), crossover_ratios, strict=True)]
  return {"slopes": slopes, "crossovers": crossovers, "largest": {}}


def test_quadratic_time_every_outcome():
  rule = attention.quadratic_time
  assert rule(_results(2.0)).verdict == SUPPORTED
  memory_bound = rule(_results(2.5, naive_backward=2.0))  # super-quadratic: not "not supported"
  assert memory_bound.verdict == CONDITIONAL and "memory hierarchy" in memory_bound.condition
  short_range = rule(_results(1.5, naive_backward=2.0))
  assert short_range.verdict == CONDITIONAL and "range of n" in short_range.condition
  assert rule(_results(1.0)).verdict == CONTRADICTED


def test_xla_counts_show_beside_the_times_and_never_decide():
  results = _results(2.0)
  plain = attention.quadratic_time(results)
  assert "XLA counts" not in plain.evidence  # results from before the counts were recorded
  for entry in results["slopes"]:
    entry["xla_flops"], entry["xla_bytes"] = 2.0, 1.9
  counted = attention.quadratic_time(results)
  assert "forward 2.00 [1.90, 2.10] (n 1024-8192) (XLA counts: FLOPs 2.00, bytes 1.90)" in (
      counted.evidence)
  assert counted.verdict == plain.verdict and counted.margin == plain.margin
  for entry in results["slopes"]:
    entry["xla_flops"] = 1.0  # a count that disagrees with the time still does not decide
  assert attention.quadratic_time(results).verdict == SUPPORTED
  assert "performer time" in attention.efficient_variants_scale_better(results).evidence


def test_near_two_edges_tolerance_and_interval_width():
  rule = attention.quadratic_time
  tol = attention.SLOPE_TOLERANCE
  assert rule(_results(_fit(2 - tol, 0.0))).verdict == SUPPORTED
  assert rule(_results(_fit(2 - tol - 0.01, 0.0))).verdict == CONTRADICTED
  # An interval that contains 2 and excludes 1 (and 3) counts; one that reaches 1 does not.
  assert rule(_results(_fit(1.6, 0.55))).verdict == SUPPORTED  # [1.05, 2.15]
  # Reaching 1 but containing 2: the run cannot tell, so no verdict rather than "contradicted".
  too_wide = rule(_results(_fit(1.6, 0.6)))  # [1.0, 2.2]
  assert too_wide.verdict == INCONCLUSIVE and "naive forward time" in too_wide.condition
  assert "line" not in too_wide.condition  # ABOUT_LINEAR_MAX plays no part in this claim
  # A wide interval that excludes 2 is still evidence against it.
  assert rule(_results(_fit(1.2, 0.75))).verdict == CONTRADICTED
  # Two points leave no interval (nan): only the point estimate decides.
  assert rule(_results(_fit(1.6, NAN))).verdict == CONTRADICTED


def test_no_slope_is_about_one_and_about_two_at_once():
  """[1.0, 2.0] contains both hypotheses: the old +-0.5 width rule called it near both."""
  both = _fit(1.5, 0.5)
  assert not attention._near(both, 1) and not attention._near(both, 2)
  assert attention._near(_fit(1.6, 0.5), 2) and not attention._near(_fit(1.6, 0.5), 1)
  wide_but_close = _fit(1.8, 0.9)  # the point is within the tolerance of 2, the interval is not
  assert attention._near(wide_but_close, 2) and not attention._near(wide_but_close, 1)


def test_quadratic_memory_every_outcome():
  rule = attention.quadratic_memory
  assert rule(_results(naive_memory=2.0, chunked_memory=2.0)).verdict == SUPPORTED
  chunked_linear = rule(_results(naive_memory=2.0, chunked_memory=1.0))
  assert chunked_linear.verdict == CONDITIONAL and "implementation" in chunked_linear.condition
  assert rule(_results(naive_memory=1.0)).verdict == CONTRADICTED
  assert rule(_results(naive_memory=_fit(1.6, 0.6))).verdict == INCONCLUSIVE


def test_dominates_every_outcome_and_the_factor_two_edges():
  rule = attention.attention_dominates_long_sequences
  factor = attention.CROSSOVER_FACTOR
  # Attention overtakes the MLP only beyond n ≈ 4d: the claim holds on that condition.
  within = rule(_results(crossover_ratios=(1.05, 0.9)))
  assert within.verdict == CONDITIONAL and "4d" in within.condition
  assert rule(_results(crossover_ratios=(factor, 1 / factor))).verdict == CONDITIONAL
  assert rule(_results(crossover_ratios=(factor * 1.01, 1.0))).verdict == CONDITIONAL
  early = rule(_results(crossover_ratios=(1.0, 0.99 / factor)))
  assert early.verdict == CONDITIONAL and "FLOP rates" in early.condition
  assert rule(_results(crossover_ratios=(1.0, None))).verdict == CONTRADICTED
  empty = _results()
  empty["crossovers"] = []
  with pytest.raises(ResultMissing, match="crossover"):
    rule(empty)


def test_dominates_marks_an_upper_bound():
  results = _results(crossover_ratios=(0.25, 1.0))
  results["crossovers"][0]["attention_over_mlp"] = [1.2, 2, 3, 4]  # above at the smallest n
  finding = attention.attention_dominates_long_sequences(results)
  assert finding.verdict == CONDITIONAL and "upper bound" in finding.evidence


def test_efficient_variants_every_outcome():
  rule = attention.efficient_variants_scale_better
  assert rule(_results(efficient_time=1.0)).verdict == SUPPORTED
  results = _results(efficient_time=1.0)
  lsh = next(s for s in results["slopes"] if s["variant"] == "lsh" and s["mode"] == "forward")
  lsh["time_corrected"] = _fit(1.6)
  partly = rule(results)
  assert partly.verdict == CONDITIONAL and "lsh do not" in partly.condition
  assert rule(_results(efficient_time=1.6)).verdict == CONTRADICTED
  # Nothing to reduce when naive attention is itself about linear; an uncertain naive slope is
  # only the baseline and does not block the verdict.
  assert rule(_results(naive_time=1.0, efficient_time=1.0)).verdict == CONTRADICTED
  assert rule(_results(naive_time=_fit(1.9, 1.0), efficient_time=1.0)).verdict == SUPPORTED
  # One variant's interval contains 1 but is too wide to count: no verdict.
  lsh["time_corrected"] = _fit(1.6, 0.7)
  unclear = rule(results)
  assert unclear.verdict == INCONCLUSIVE and "lsh time" in unclear.condition


def test_about_linear_is_absolute_not_relative_to_naive():
  """1.45 against naive's 1.48 is not 'about linear' (the loosened rule accepted it)."""
  rule = attention.efficient_variants_scale_better
  assert rule(_results(naive_time=1.48, efficient_time=1.45)).verdict == CONTRADICTED
  edge = attention.ABOUT_LINEAR_MAX
  assert rule(_results(efficient_time=_fit(edge - 0.1, 0.1))).verdict == SUPPORTED
  assert rule(_results(efficient_time=_fit(edge + 0.11, 0.1))).verdict == CONTRADICTED
  # Without an interval the point estimate is all there is.
  assert rule(_results(efficient_time=_fit(edge, NAN))).verdict == SUPPORTED
  assert rule(_results(efficient_time=_fit(edge + 0.01, NAN))).verdict == CONTRADICTED
  # An informative interval that contains 1 counts even above the edge.
  assert rule(_results(efficient_time=_fit(1.4, 0.45))).verdict == SUPPORTED


@pytest.mark.parametrize("rule", [claim.rule for claim in attention.CLAIMS])
def test_every_finding_states_its_margin(rule):
  for results in (_results(), _results(_fit(1.6, 0.7), _fit(1.6, 0.7), _fit(1.6, 0.7),
                                       _fit(1.6, 0.7))):
    finding = rule(results)
    assert "Margin:" in finding.evidence
    assert isinstance(finding.margin, Margin) and finding.margin.seeds >= 1


def test_slope_margins_carry_the_deciding_slope_its_interval_points_and_flip_threshold():
  tol = attention.SLOPE_TOLERANCE
  # Supported on two slopes near 2: the one nearer its tolerance edge decides.
  finding = attention.quadratic_time(_results(_fit(2.1, 0.05, points=11), naive_backward=_fit(
      1.95, 0.2, points=7)))
  assert finding.verdict == SUPPORTED
  m = finding.margin
  assert (m.value, m.low, m.high, m.seeds, m.sd) == pytest.approx((2.1, 2.05, 2.15, 11, 0.3))
  assert m.threshold == pytest.approx(2 + tol) and "forward time" in m.name
  # A slope that is not ~2 decides against support, and its flip point is the lower edge.
  short = attention.quadratic_time(_results(_fit(1.5, 0.1, points=5), naive_backward=2.0))
  assert short.verdict == CONDITIONAL and short.margin.value == 1.5
  assert short.margin.threshold == pytest.approx(2 - tol) and short.margin.seeds == 5
  # Memory: naive ~2 hands the decision to chunked, read against ABOUT_LINEAR_MAX.
  memory = attention.quadratic_memory(_results(naive_memory=2.0, chunked_memory=0.3))
  assert memory.verdict == CONDITIONAL and memory.margin.value == 0.3
  assert memory.margin.threshold == attention.ABOUT_LINEAR_MAX
  assert attention.quadratic_memory(_results(naive_memory=1.2)).margin.name.startswith("naive")
  # Efficient variants: the largest efficient slope is the last to become linear.
  results = _results(efficient_time=1.0)
  lsh = next(s for s in results["slopes"] if s["variant"] == "lsh" and s["mode"] == "forward")
  lsh["time_corrected"] = _fit(1.2)
  finding = attention.efficient_variants_scale_better(results)
  assert finding.verdict == SUPPORTED and finding.margin.value == 1.2
  assert "lsh" in finding.margin.name and finding.margin.threshold == attention.ABOUT_LINEAR_MAX
  # Crossovers: one number per width, no interval; the one furthest from 1 decides.
  cross = attention.attention_dominates_long_sequences(_results(crossover_ratios=(1.05, 0.6)))
  assert cross.margin.value == pytest.approx(0.6) and cross.margin.threshold == 0.5
  assert cross.margin.seeds == 1 and cross.margin.low != cross.margin.low  # nan: no interval
  never = attention.attention_dominates_long_sequences(_results(crossover_ratios=(1.0, None)))
  assert never.verdict == CONTRADICTED and never.margin.value == 2  # attention/MLP at max n
  assert never.margin.threshold == 1.0


@pytest.mark.parametrize("rule", [claim.rule for claim in attention.CLAIMS])
def test_absent_inputs_raise_result_missing(rule):
  with pytest.raises(ResultMissing):
    rule({"crossovers": [], "largest": {}})  # not an attention sweep at all
  results = _results()
  results["slopes"] = [s for s in results["slopes"] if s["variant"] != "naive"]
  if rule is not attention.attention_dominates_long_sequences:
    with pytest.raises(ResultMissing, match="did not run naive"):
      rule(results)


def test_a_slope_without_a_power_law_window_is_missing_not_a_verdict():
  results = _results()
  naive = next(s for s in results["slopes"] if s["variant"] == "naive" and s["mode"] == "forward")
  naive["time_corrected"] = None  # fewer than slopes.MIN_FIT_POINTS n past the overhead
  with pytest.raises(ResultMissing, match="fixed costs"):
    attention.quadratic_time(results)


@pytest.mark.parametrize("rule", [claim.rule for claim in attention.CLAIMS])
def test_a_malformed_result_is_a_bug_that_raises_not_a_verdict(rule):
  """Only ResultMissing means *not measured*; a KeyError from a rule must reach the report."""
  results = _results()
  for entry in results["slopes"]:
    for what in ("time", "time_corrected", "memory"):
      del entry[what]["slope"]
  for c in results["crossovers"]:
    del c["measured_mlp"]
  with pytest.raises(KeyError):
    rule(results)


def test_an_interval_across_the_linear_line_places_the_variant_on_neither_side():
  """performer 1.35 [1.13, 1.58] (a quick report's) is neither shown above 1.3 nor below it."""
  rule = attention.efficient_variants_scale_better
  edge = attention.ABOUT_LINEAR_MAX
  # The quick sweeps' performer: 1.35 [1.13, 1.58], 1.24 [1.05, 1.43], 1.30 [1.08, 1.52]. The
  # point estimate 1.24 within 0.25 of 1 no longer counts: only the interval does.
  for straddling in (_fit(edge, 0.1), _fit(edge + 0.05, 0.23), _fit(edge - 0.03, 0.1),
                     _fit(1.24, 0.19), _fit(1.30, 0.22)):
    finding = rule(_results(efficient_time=straddling))
    assert finding.verdict == INCONCLUSIVE and "performer time" in finding.condition
    assert f"the {edge} line" in finding.condition
  # One straddling variant among linear ones: the list cannot be named, so no CONDITIONAL.
  results = _results(efficient_time=1.0)
  performer = next(s for s in results["slopes"]
                   if s["variant"] == "performer" and s["mode"] == "forward")
  performer["time_corrected"] = _fit(1.35, 0.23)
  finding = rule(results)
  assert finding.verdict == INCONCLUSIVE and "performer time" in finding.condition
  assert "lsh" not in finding.condition
  performer["time_corrected"] = _fit(1.45, 0.1)  # shown above the line: a named exception
  finding = rule(results)
  assert finding.verdict == CONDITIONAL and "performer" in finding.condition
  # The same reading in memory: chunked attention across the line leaves Q4's memory claim open.
  memory = attention.quadratic_memory(_results(chunked_memory=_fit(edge, 0.1)))
  assert memory.verdict == INCONCLUSIVE and "chunked memory" in memory.condition

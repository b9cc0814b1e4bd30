"""Q4's rules: made-up sweep results drive each rule to every verdict it can return."""

import math

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
LLC = {"level": 3, "bytes": 32 * 2 ** 20, "source": "/sys/devices/system/cpu/cpu0/cache/index3"}


def _fit(slope, half=0.1, points=9):
  return {"slope": slope, "lo": slope - half, "hi": slope + half, "n_lo": 1024, "n_hi": 8192,
          "points": points, "sd": 0.3}


def _as_fit(x):
  return x if isinstance(x, dict) or x is None else _fit(x)


def _results(naive_memory=2.0, chunked_memory=1.0, naive_flops=2.0, naive_bytes=2.0,
             efficient_counts=1.0, long_time=2.0, in_cache_time=2.0, rounds=None):
  """Sweep results with the given slopes (fits or numbers); `rounds`: per-round crossovers of
  the two widths (default: every round crosses inside the measured n)."""
  slopes = []
  for variant in ("naive", "chunked", *attention.EFFICIENT):
    for mode in attention.MODES:
      naive = variant == "naive"
      slopes.append({
          "variant": variant, "mode": mode, "time": _fit(1.0), "time_corrected": _fit(1.0),
          "memory": _as_fit({"naive": naive_memory, "chunked": chunked_memory}.get(variant, 1.0)),
          "flops_count": _as_fit(naive_flops if naive else efficient_counts),
          "bytes_count": _as_fit(naive_bytes if naive else efficient_counts), "count_note": "",
          "time_long": _as_fit(long_time if naive else 1.0),
          "time_in_cache": _as_fit(in_cache_time if naive else 1.0)})
  rounds = rounds or {d: [1.9 * d, 2.0 * d, 2.1 * d] for d in (256, 512)}
  crossovers = [{"d": d, "ns": [d, 2 * d, 4 * d, 8 * d], "attention_over_mlp": [0.3, 0.6, 1, 2],
                 "mlp_rounds": r, "mlp_rounds_from_start": [x is not None and x <= d for x in r]}
                for d, r in rounds.items()]
  return {"slopes": slopes, "crossovers": crossovers, "largest": {},
          "time_window": {"n_from": 3200, "cache": LLC, "reason": "", "rule": "..."},
          "memory_reuse": {"glibc_tunables": "...", "in_force": True}}


def _entry(results, variant, mode="forward"):
  return next(s for s in results["slopes"] if s["variant"] == variant and s["mode"] == mode)


def test_compute_is_decided_by_xla_counts_every_outcome():
  rule = attention.quadratic_compute
  supported = rule(_results(naive_flops=_fit(2.0, 0.0), naive_bytes=_fit(1.95, 0.05)))
  assert supported.verdict == SUPPORTED and "XLA" in supported.evidence
  assert supported.margin.p_value() is None  # a count is not a sample: no p
  assert supported.margin.threshold == pytest.approx(2 - attention.SLOPE_TOLERANCE)
  assert rule(_results(naive_flops=1.0)).verdict == CONTRADICTED
  across = rule(_results(naive_flops=_fit(1.8, 0.1)))  # [1.7, 1.9] across 1.75
  assert across.verdict == INCONCLUSIVE and "naive forward XLA FLOP" in across.condition
  bytes_off = rule(_results(naive_bytes=_fit(1.5, 0.05)))
  assert bytes_off.verdict == CONDITIONAL and "cost measure" in bytes_off.condition
  assert "byte" in bytes_off.margin.name


def test_a_count_xla_cannot_make_reads_not_measured_and_says_why():
  results = _results()
  naive = _entry(results, "naive")
  naive["flops_count"], naive["count_note"] = None, "XLA cannot count it: a fused kernel"
  with pytest.raises(ResultMissing, match="fused kernel"):
    attention.quadratic_compute(results)
  del naive["flops_count"]  # results from before the counts were fitted
  with pytest.raises(ResultMissing, match="before it was recorded"):
    attention.quadratic_compute(results)


def test_run_time_at_long_n_every_outcome():
  rule = attention.run_time_at_long_n
  supported = rule(_results(long_time=_fit(2.1, 0.1)))
  assert supported.verdict == SUPPORTED and "3,200" in supported.evidence
  assert supported.margin.threshold == attention.TIME_FLOOR
  assert supported.margin.p_value() < 0.05  # one-sided: the same test as the interval
  cliff = rule(_results(long_time=2.1, in_cache_time=_fit(1.3, 0.2)))
  assert cliff.verdict == CONDITIONAL and "cache cliff" in cliff.condition
  assert "32 MiB L3" in cliff.condition
  assert rule(_results(long_time=_fit(1.2, 0.2))).verdict == CONTRADICTED
  across = rule(_results(long_time=_fit(1.8, 0.2)))  # [1.6, 2.0] across 1.75
  assert across.verdict == INCONCLUSIVE and "time past the cache cliff" in across.condition
  assert across.margin.p_value() > 0.05
  # An in-cache slope that is merely uncertain does not make it conditional.
  assert rule(_results(in_cache_time=_fit(1.6, 0.5))).verdict == SUPPORTED
  assert rule(_results(in_cache_time=None)).verdict == SUPPORTED


def test_run_time_is_not_measured_without_a_window_or_memory_reuse():
  rule = attention.run_time_at_long_n
  results = _results()
  results["time_window"].update(n_from=None, reason="no readable /sys/.../index*/(level, size)")
  with pytest.raises(ResultMissing, match="could not be fixed: no readable"):
    rule(results)
  results = _results()
  results["memory_reuse"]["in_force"] = False
  with pytest.raises(ResultMissing, match="without memory reuse"):
    rule(results)
  results = _results(long_time=None)  # fewer than 4 n past the cliff
  with pytest.raises(ResultMissing, match="past the cache cliff"):
    rule(results)
  del results["time_window"]
  with pytest.raises(ResultMissing, match="wall-time window"):
    rule(results)


def test_quadratic_memory_every_outcome_reads_only_the_interval():
  rule = attention.quadratic_memory
  assert rule(_results(naive_memory=2.0, chunked_memory=2.0)).verdict == SUPPORTED
  chunked_linear = rule(_results(naive_memory=2.0, chunked_memory=1.0))
  assert chunked_linear.verdict == CONDITIONAL and "implementation" in chunked_linear.condition
  assert chunked_linear.margin.p_value() is not None  # one-sided: keeps its p
  contradicted = rule(_results(naive_memory=1.0))
  assert contradicted.verdict == CONTRADICTED and contradicted.margin.p_value() is None
  # The point estimate no longer counts: 2.2 [2.1, 2.3] reaches past 2.25.
  assert rule(_results(naive_memory=_fit(2.2, 0.1))).verdict == INCONCLUSIVE
  # A wider interval never passes more easily: [1.05, 2.15] contains 2 and is not "about 2".
  assert rule(_results(naive_memory=_fit(1.6, 0.55))).verdict == INCONCLUSIVE
  across = rule(_results(chunked_memory=_fit(attention.ABOUT_LINEAR_MAX, 0.1)))
  assert across.verdict == INCONCLUSIVE and "chunked memory" in across.condition


@pytest.mark.parametrize("centre", [1.0, 1.8, 2.0, 2.2, 2.6])
def test_widening_an_interval_never_turns_a_reading_into_a_decision(centre):
  readings = [attention.rd.band(_fit(centre, h), 2) for h in (0.0, 0.05, 0.2, 0.5, 1.0, NAN)]
  undecided = [r == "across" for r in readings]
  assert undecided == sorted(undecided)  # once across, wider stays across
  assert readings[-1] == "across"  # no interval: no equivalence and no difference shown


def test_crossover_every_outcome_labels_the_cost_as_the_data_read_it():
  rule = attention.attention_dominates_long_sequences
  inside = rule(_results())
  assert inside.verdict == CONDITIONAL and "O(n²·d + n·d²)" in inside.condition
  assert "d=256: attention = MLP at n ≈ 512" in inside.condition
  m = inside.margin
  assert m.seeds == 3 and m.low < m.value < m.high and m.p_value() is None
  from_start = {d: [d, d, d] for d in (256, 512)}
  assert rule(_results(rounds=from_start)).verdict == SUPPORTED
  never = rule(_results(rounds={256: [None] * 3, 512: [1024.0] * 3}))
  assert never.verdict == CONTRADICTED and never.margin.value == 2  # attention/MLP at max n
  for rounds, why in (([512.0, 520.0], "fewer than the 3"), ([512.0, None, 520.0], "never cross"),
                      ([256.0, 512.0, 520.0], "1 of 3 rounds have attention above the MLP "
                       "already at n = 256"), ([300.0, 1900.0, 600.0], "interval reaches past")):
    finding = rule(_results(rounds={256: rounds, 512: [1024.0] * 3}))
    assert finding.verdict == INCONCLUSIVE and why in finding.condition, why
  with pytest.raises(ResultMissing, match="crossover"):
    rule({"crossovers": []})
  old = _results()
  del old["crossovers"][0]["mlp_rounds"]
  with pytest.raises(ResultMissing, match="per-round"):
    rule(old)


def test_efficient_variants_every_outcome_on_xla_counts():
  rule = attention.efficient_variants_scale_better
  supported = rule(_results())
  assert supported.verdict == SUPPORTED and supported.margin.p_value() is None
  results = _results()
  _entry(results, "lsh")["bytes_count"] = _fit(1.6)
  partly = rule(results)
  assert partly.verdict == CONDITIONAL and "lsh do not" in partly.condition
  assert rule(_results(efficient_counts=1.6)).verdict == CONTRADICTED
  assert rule(_results(naive_flops=1.0)).verdict == CONTRADICTED  # nothing to reduce
  _entry(results, "lsh")["bytes_count"] = _fit(1.3, 0.1)  # across the line
  across = rule(results)
  assert across.verdict == INCONCLUSIVE and "lsh" in across.condition
  results = _results()
  _entry(results, "performer").update(flops_count=None, count_note="XLA cannot count it: x")
  uncounted = rule(results)
  assert uncounted.verdict == INCONCLUSIVE and "XLA cannot count performer" in uncounted.condition
  assert "performer: XLA cannot count it: x" in uncounted.evidence
  for name in attention.EFFICIENT:
    _entry(results, name)["flops_count"] = None
  with pytest.raises(ResultMissing, match="could not count any efficient variant"):
    rule(results)


@pytest.mark.parametrize("rule", [claim.rule for claim in attention.CLAIMS])
def test_every_finding_states_its_margin(rule):
  for results in (_results(), _results(_fit(1.6, 0.7), _fit(1.6, 0.7), _fit(1.6, 0.7),
                                       _fit(1.6, 0.7), _fit(1.6, 0.7), _fit(1.6, 0.7))):
    finding = rule(results)
    assert "Margin:" in finding.evidence
    assert isinstance(finding.margin, Margin) and finding.margin.seeds >= 1


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
  _entry(results, "naive")["memory"] = None  # fewer than slopes.MIN_FIT_POINTS n
  with pytest.raises(ResultMissing, match="fixed costs"):
    attention.quadratic_memory(results)


@pytest.mark.parametrize("rule", [claim.rule for claim in attention.CLAIMS])
def test_a_malformed_result_is_a_bug_that_raises_not_a_verdict(rule):
  """Only ResultMissing means *not measured*; a KeyError from a rule must reach the report."""
  results = _results()
  for entry in results["slopes"]:
    for what in ("memory", "flops_count", "bytes_count", "time_long"):
      del entry[what]["slope"]
  for c in results["crossovers"]:
    del c["ns"]
  with pytest.raises(KeyError):
    rule(results)


def test_every_claim_row_is_distinct_and_the_time_row_is_ours():
  statements = [claim.statement for claim in attention.CLAIMS]
  assert len(set(statements)) == len(statements) == 5
  time_row = next(c for c in attention.CLAIMS if c.rule is attention.run_time_at_long_n)
  assert time_row.sources == ("ours",) and "at least quadratically" in time_row.statement
  assert not math.isnan(attention.TIME_FLOOR)

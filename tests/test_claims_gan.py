"""Every Q2 rule driven to every verdict it can give, from made-up results."""

import copy

import pytest

from genjax.claims import gan
from genjax.claims.verdicts import DEPENDS, NOT_MEASURED, NOT_SUPPORTED, SUPPORTED

SEEDS = 5


def _stat(values):
  values = list(values) if isinstance(values, (list, tuple)) else [values] * SEEDS
  return {"mean": sum(values) / len(values), "sd": 0.0, "se": 0.0, "values": values}


def _method(name, modes, precision=0.95, median=1.0, samples=100, pack=1, unroll=0):
  method = {"name": name, "pack": pack, "unroll": unroll, "first_order": False,
            "mbstd": False, "wgan_gp": False, "r1": False}
  if name.startswith("gan_batch"):
    method["batch_scale"] = samples // 100
  summary = {"modes": _stat(modes), "reverse_kl": _stat(0.01), "precision": _stat(precision),
             "recall": _stat(0.5), "median_distance_std": _stat(median)}
  summary["seeds_all_modes"] = sum(m == 8 for m in summary["modes"]["values"])
  return {"method": method, "samples_per_step": samples, "summary": summary}


def _results(gan_modes=1, gan_precision=0.95, gan_median=1.0, remedy_modes=8,
             remedy_median=1.0, control_modes=1, control=True):
  methods = {"gan": _method("gan", gan_modes, gan_precision, gan_median),
             "pacgan2": _method("pacgan2", remedy_modes, median=remedy_median, samples=200,
                                pack=2)}
  if control:
    methods["gan_batch2x"] = _method("gan_batch2x", control_modes, samples=200)
  return {"dataset": "ring", "num_modes": 8, "num_seeds": SEEDS,
          "floors": {"reverse_kl": 0.0014},
          "real_data": {"precision": 0.97, "median_distance_std": 1.18},
          "uniform_blur": {"modes": 8.0, "precision": 0.008}, "methods": methods}


def _verdicts(results):
  return [c.rule(results).verdict for c in gan.CLAIMS]


def test_a_collapsed_gan_and_a_packing_fix_support_every_claim():
  assert _verdicts(_results()) == [SUPPORTED, SUPPORTED, SUPPORTED]


def test_untrained_generators_are_not_measured_with_the_numbers():
  blurred = _results(gan_median=40.0)
  for claim in gan.CLAIMS[:2]:
    finding = claim.rule(blurred)
    assert finding.verdict == NOT_MEASURED
    assert "not converged" in finding.evidence and "40.0 std" in finding.evidence
  finding = gan.remedies_restore_coverage(_results(remedy_median=12.0))
  assert finding.verdict == NOT_MEASURED and "pacgan2 median" in finding.evidence
  assert "uniform blur covers 8" in finding.evidence
  # Without distances (stacked digits, older results): precision against real data's.
  no_distance = _results(gan_precision=0.3)
  for r in no_distance["methods"].values():
    del r["summary"]["median_distance_std"]
  del no_distance["real_data"]["median_distance_std"]
  finding = gan.collapse(no_distance)
  assert finding.verdict == NOT_MEASURED and "precision 0.300" in finding.evidence
  # One diverged seed does not make a trained method look untrained (the typical seed counts).
  assert gan.collapse(_results(gan_median=[1.0, 1.0, 1.0, 1.0, 500.0])).verdict == SUPPORTED


def test_no_vanilla_run_is_not_measured():
  results = _results()
  del results["methods"]["gan"]
  assert gan.collapse(results).verdict == NOT_MEASURED
  assert gan.realistic_but_not_diverse(results).verdict == NOT_MEASURED


def test_collapse_every_outcome():
  assert gan.collapse(_results(gan_modes=1)).verdict == SUPPORTED
  assert gan.collapse(_results(gan_modes=8)).verdict == NOT_SUPPORTED
  partial = gan.collapse(_results(gan_modes=6))
  assert partial.verdict == DEPENDS and "partial collapse" in partial.condition
  # The same mean with seeds that disagree: the interval straddles k/2, so no verdict of collapse.
  spread = gan.collapse(_results(gan_modes=[0, 0, 1, 8, 8]))
  assert spread.verdict == DEPENDS
  assert "95% t interval" in spread.evidence and "<= 4 modes" in spread.evidence


def test_realistic_but_not_diverse_every_outcome():
  assert gan.realistic_but_not_diverse(_results(gan_precision=0.95)).verdict == SUPPORTED
  off_data = gan.realistic_but_not_diverse(_results(gan_precision=0.6))
  assert off_data.verdict == NOT_SUPPORTED and "off the data" in off_data.evidence
  healthy = gan.realistic_but_not_diverse(_results(gan_modes=8))
  assert healthy.verdict == DEPENDS and "no collapse" in healthy.condition
  straddles = gan.realistic_but_not_diverse(_results(gan_precision=[0.6, 0.95, 0.6, 0.95, 0.9]))
  assert straddles.verdict == DEPENDS and "straddles" in straddles.condition


def test_remedies_every_outcome():
  supported = gan.remedies_restore_coverage(_results())
  assert supported.verdict == SUPPORTED
  assert "matched control gan_batch2x" in supported.evidence and "Welch" in supported.evidence
  # A larger batch alone restores coverage as well: packing adds nothing.
  batch_does_it = gan.remedies_restore_coverage(_results(control_modes=8))
  assert batch_does_it.verdict == NOT_SUPPORTED
  partial = gan.remedies_restore_coverage(_results(remedy_modes=[5, 6, 5, 6, 5]))
  assert partial.verdict == DEPENDS and "not to all modes" in partial.condition
  no_control = gan.remedies_restore_coverage(_results(control=False))
  assert no_control.verdict == NOT_MEASURED and "no matched control" in no_control.evidence
  assert "gan_batch2x" in no_control.evidence
  only_vanilla = _results()
  del only_vanilla["methods"]["pacgan2"]
  assert gan.remedies_restore_coverage(only_vanilla).verdict == NOT_MEASURED


def test_remedies_compare_each_remedy_with_its_own_control():
  results = _results(control=False)
  results["methods"]["unrolled5"] = _method("unrolled5", [5, 6, 5, 6, 5], unroll=5)
  finding = gan.remedies_restore_coverage(results)
  # pacgan2 has no control; unrolled5 is judged against gan (same samples per step).
  assert finding.verdict == DEPENDS
  assert "unrolled5" in finding.evidence and "matched control gan " in finding.evidence
  assert "no matched control for pacgan2" in finding.evidence


def test_one_seed_gives_no_interval():
  results = _results()
  for r in results["methods"].values():
    for stat in r["summary"].values():
      if isinstance(stat, dict):
        stat["values"] = stat["values"][:1]
  results["num_seeds"] = 1
  finding = gan.collapse(results)
  assert finding.verdict == DEPENDS and "no interval" in finding.evidence
  assert gan.remedies_restore_coverage(results).verdict == NOT_SUPPORTED  # no spread: not clear


@pytest.mark.parametrize("rule", [c.rule for c in gan.CLAIMS])
def test_rules_do_not_modify_results(rule):
  results = _results()
  before = copy.deepcopy(results)
  rule(results)
  assert results == before

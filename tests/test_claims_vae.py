"""Q3 rules (genjax/claims/vae.py): made-up per-seed results drive each rule to each verdict."""

import copy
import math

import pytest

from genjax import stats
from genjax.claims import vae, vae_guard
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Margin,
  ResultMissing,
)

# Seed offsets. Two metrics with the same pattern differ by the same amount on every seed (a
# clear paired difference); NOISY against STEADY gives a difference that varies over seeds.
STEADY = (-0.1, 0.0, 0.1)
NOISY = (-3.0, 0.0, 3.0)
MEDIUM = (-1.0, 0.0, 1.0)
FLIPPED = (3.0, 0.0, -3.0)


def _s(mean, offsets=STEADY):
  return stats.summary([mean + o for o in offsets])


def _curve(steps, held_out_means):
  return {"step": list(steps), "validation_reconstruction_nll": [_s(m) for m in held_out_means],
          "train_reconstruction_nll": [_s(m) for m in held_out_means]}


def _model(beta, stochastic, recon, train_recon, fd, path_ratio, rate=None, active=8,
           fitted_fd=None):
  model = {"beta": beta, "stochastic": stochastic, "reconstruction_nll": _s(recon),
           "train_reconstruction_nll": _s(train_recon),
           "prior_samples": {"frechet": _s(fd), "label_entropy": _s(2.2)},
           "interpolation": {"path_length_ratio": _s(path_ratio, (-0.01, 0.0, 0.01))},
           "active_units": _s(active, (0, 0, 0)), "latents": 8,
           # trained: held-out recon fell 0.5% over the last third (the guard allows 1%)
           "curve": _curve((2000, 3000), (recon * 1.005, recon))}
  if rate is not None:
    model["rate"] = _s(rate)
  if fitted_fd is not None:
    model["fitted_gaussian_samples"] = {"frechet": _s(fitted_fd), "label_entropy": _s(2.1)}
  return model


# Made-up numbers in the range a digits run gives (not copied from any run).
VAE_RESULTS = {
    "references": {"real_train_vs_test": {"frechet": 2.5}, "independent_pixels": {"frechet": 30}},
    "models": {
        "ae": _model(0.0, False, 9.7, 4.0, 67.0, 1.7, fitted_fd=6.6),
        "vae_beta0.25": _model(0.25, True, 7.7, 6.0, 6.7, 1.4, rate=14.0),
        "vae_beta1": _model(1.0, True, 8.6, 7.5, 4.3, 1.2, rate=6.7),
        "vae_beta4": _model(4.0, True, 23.1, 22.0, 25.0, 1.0, rate=0.2, active=3),
    },
}


def _with(path, value):
  results = copy.deepcopy(VAE_RESULTS)
  target = results
  for key in path[:-1]:
    target = target[key]
  target[path[-1]] = value
  return results


def _without(*path):
  results = copy.deepcopy(VAE_RESULTS)
  target = results
  for key in path[:-1]:
    target = target[key]
  del target[path[-1]]
  return results


def _ae(**fields):
  results = copy.deepcopy(VAE_RESULTS)
  results["models"]["ae"].update(fields)
  return results


AE_FD = ["models", "ae", "prior_samples", "frechet"]
VAE_FD = ["models", "vae_beta1", "prior_samples", "frechet"]
FITTED_FD = ["models", "ae", "fitted_gaussian_samples", "frechet"]


@pytest.mark.parametrize("results,verdict", [
    (VAE_RESULTS, SUPPORTED),  # AE 67 vs 2 x 4.3, VAE well under independent pixels (30)
    (_with(VAE_FD, _s(35.0)), CONTRADICTED),  # VAE samples worse than independent pixels
    (_with(AE_FD, _s(4.3, NOISY)), INCONCLUSIVE),  # AE not clearly worse than the VAE
    (_with(AE_FD, _s(3.0)), CONTRADICTED),  # AE better than the VAE
    (_with(AE_FD, _s(6.0)), CONTRADICTED),  # AE clearly worse, but clearly under 2x
    (_with(AE_FD, _s(9.6, MEDIUM)), INCONCLUSIVE),  # AE clearly worse; 2x within the spread
])
def test_prior_sampling(results, verdict):
  finding = vae.prior_sampling(results)
  assert finding.verdict == verdict, finding
  assert "AE - 2 x VAE" in finding.evidence and "flips below 0" in finding.evidence
  _check_margin(finding)


def _check_margin(finding):
  """A measured verdict carries its deciding number: the mean inside its interval, read against
  the threshold 0, with the seeds and per-seed s.d. it rests on; the interval's side of 0 agrees
  with the verdict (clear of 0 for SUPPORTED)."""
  m = finding.margin
  assert isinstance(m, Margin), finding
  assert m.low <= m.value <= m.high and m.threshold == 0.0 and m.seeds == 3
  assert m.sd >= 0 and m.confidence == vae.CONFIDENCE and m.name
  if finding.verdict == SUPPORTED:
    assert m.low > 0 or m.high < 0, m


def test_prior_sampling_margin_is_the_ratio_difference():
  m = vae.prior_sampling(VAE_RESULTS).margin  # AE 67 - 2 x 4.3 on every seed (offsets cancel)
  assert m.value == pytest.approx(67.0 - 2 * 4.3, abs=0.2) and m.low > 0
  assert m.sd == pytest.approx(0.1, abs=1e-9)  # per-seed AE - 2 VAE: -0.1 + 0.2 ... = +-0.1


@pytest.mark.parametrize("results,verdict", [
    # The numbers: fitted 6.6 < 2 x VAE 4.3, AE from N(0, I) 67: supported as worded.
    (VAE_RESULTS, SUPPORTED),
    (_with(FITTED_FD, _s(67.0, NOISY)), INCONCLUSIVE),  # whether fitting helps: seed spread
    (_with(FITTED_FD, _s(80.0)), CONTRADICTED),  # fitting makes it worse
    (_with(FITTED_FD, _s(20.0)), CONTRADICTED),  # helps, but clearly more than 2x the VAE
    (_with(FITTED_FD, _s(8.6, NOISY)), INCONCLUSIVE),  # helps; 2x within the seed spread
])
def test_ae_generates_from_fitted_codes(results, verdict):
  finding = vae.ae_generates_from_fitted_codes(results)
  assert finding.verdict == verdict, finding
  _check_margin(finding)


def test_fitted_codes_rule_is_no_longer_inverted():
  """Fitted samples worse than 2x the VAE's FD must not read as support."""
  assert vae.ae_generates_from_fitted_codes(_with(FITTED_FD, _s(20.0))).verdict != SUPPORTED


@pytest.mark.parametrize("results,verdict", [
    (VAE_RESULTS, CONDITIONAL),  # train yes (4.0 vs 7.5), test clearly no (9.7 vs 8.6)
    (_with(["models", "ae", "reconstruction_nll"], _s(5.0)), SUPPORTED),
    (_with(["models", "ae", "train_reconstruction_nll"], _s(9.0)), CONTRADICTED),
    (_with(["models", "ae", "train_reconstruction_nll"], _s(7.5, NOISY)), CONTRADICTED),
    (_ae(reconstruction_nll=_s(5.0), train_reconstruction_nll=_s(9.0)), CONDITIONAL),  # test
    (_ae(reconstruction_nll=_s(8.6, NOISY)), INCONCLUSIVE),  # train yes; test within spread
])
def test_ae_reconstructs_better(results, verdict):
  finding = vae.ae_reconstructs_better(results)
  assert finding.verdict == verdict, finding
  _check_margin(finding)
  if verdict in (CONDITIONAL, INCONCLUSIVE):  # the comparison short of SUPPORTED decides
    assert finding.margin.high > 0


def test_ae_reconstructs_better_margin_is_the_weaker_side():
  """Supported on both splits: the side nearer to flipping (train, 7.0 vs 7.5) decides."""
  finding = vae.ae_reconstructs_better(_ae(reconstruction_nll=_s(5.0),
                                           train_reconstruction_nll=_s(7.0)))
  assert finding.verdict == SUPPORTED
  assert "train" in finding.margin.name and finding.margin.value == pytest.approx(-0.5)


@pytest.mark.parametrize("ratio,verdict", [
    (_s(1.2, (-0.01, 0.0, 0.01)), SUPPORTED),  # 1.2 vs AE 1.7
    (_s(2.0, (-0.01, 0.0, 0.01)), CONTRADICTED),  # clearly rougher
    (_s(1.7, (-0.5, 0.0, 0.5)), INCONCLUSIVE),  # within the spread
])
def test_smooth_latent_space(ratio, verdict):
  results = _with(["models", "vae_beta1", "interpolation", "path_length_ratio"], ratio)
  finding = vae.smooth_latent_space(results)
  assert finding.verdict == verdict, finding
  _check_margin(finding)


def test_beta_tradeoff():
  supported = vae.beta_tradeoff(VAE_RESULTS)
  assert supported.verdict == SUPPORTED
  _check_margin(supported)
  # The nearest of the four clear intervals decides: recon 0.25 -> 1 (+0.9 nats, every seed).
  assert supported.margin.name == "test recon NLL change β 0.25 -> 1"
  assert supported.margin.value == pytest.approx(0.9)
  flat = _with(["models", "vae_beta4", "reconstruction_nll"], _s(8.0))
  finding = vae.beta_tradeoff(flat)
  assert finding.verdict == CONDITIONAL and finding.margin.name == "test recon NLL change β 1 -> 4"
  assert "holds over β 0.25 -> 1" in finding.condition
  _check_margin(finding)
  unclear = _with(["models", "vae_beta4", "reconstruction_nll"], _s(8.6, FLIPPED))
  assert vae.beta_tradeoff(unclear).verdict == INCONCLUSIVE
  reversed_rates = _with(["models", "vae_beta4", "rate"], _s(50.0))
  reversed_rates["models"]["vae_beta4"]["reconstruction_nll"] = _s(1.0)
  finding = vae.beta_tradeoff(reversed_rates)
  assert finding.verdict == CONDITIONAL and finding.margin.name == "rate change β 1 -> 4"
  everywhere = copy.deepcopy(reversed_rates)  # and the first step reversed too
  everywhere["models"]["vae_beta1"].update(rate=_s(20.0), reconstruction_nll=_s(5.0))
  finding = vae.beta_tradeoff(everywhere)
  assert finding.verdict == CONTRADICTED and finding.margin.name == "rate change β 0.25 -> 1"
  _check_margin(finding)


def test_one_seed_supports_nothing():
  """Without a spread no difference is clear: a single-seed run cannot be SUPPORTED."""
  single = copy.deepcopy(VAE_RESULTS)

  def first_seed(tree):
    for key, value in tree.items():
      if isinstance(value, dict) and "seeds" in value:
        tree[key] = stats.summary(value["seeds"][:1])
      elif isinstance(value, dict):
        first_seed(value)

  first_seed(single["models"])
  for rule in (vae.prior_sampling, vae.ae_generates_from_fitted_codes,
               vae.ae_reconstructs_better, vae.smooth_latent_space, vae.beta_tradeoff):
    assert rule(single).verdict != SUPPORTED, rule.__name__


RULES = (vae.prior_sampling, vae.ae_generates_from_fitted_codes, vae.vae_generates_better,
         vae.ae_reconstructs_better, vae.smooth_latent_space)


ALL_RULES = (*RULES, vae.beta_tradeoff)


@pytest.mark.parametrize("model", ["ae", "vae_beta1"])
def test_every_comparison_needs_both_models_trained(model):
  still_falling = _with(["models", model, "curve"], _curve((1000, 2000, 3000), (12.0, 9.0, 8.6)))
  for rule in RULES:
    finding = rule(still_falling)
    assert finding.verdict == NOT_MEASURED, (rule.__name__, finding)
    assert f"{model}: held-out recon NLL still falling: 9.00 at step 2000" in finding.evidence
    assert finding.margin is None


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.__name__)
@pytest.mark.parametrize("path", [
    ("models", "vae_beta1"),  # the model was not trained in this run
    ("models", "vae_beta1", "curve"),  # no learning curve
    ("models", "vae_beta1", "curve", "validation_reconstruction_nll"),  # a curve of another kind
    ("models", "vae_beta1", "reconstruction_nll"),
    ("models", "vae_beta1", "prior_samples"),
    ("models", "vae_beta1", "interpolation"),
    ("models", "vae_beta1", "rate"),
    ("models", "ae", "fitted_gaussian_samples"),
    ("references",),
])
def test_a_missing_input_raises_result_missing_for_rules_that_read_it(rule, path):
  """Absent inputs raise ResultMissing naming them; a rule that does not read one still judges."""
  results = _without(*path)
  try:
    finding = rule(results)
  except ResultMissing as e:
    assert path[-1] in str(e) or "curve" in str(e), e
    return
  if rule is vae.beta_tradeoff and path == ("models", "vae_beta1"):
    # The trade-off is judged over the βs the run has: here 0.25 and 4.
    assert finding.verdict == SUPPORTED and "β=1:" not in finding.evidence
    return
  # Not raised: the rule must not need this input, so the full results give the same finding.
  assert finding == rule(VAE_RESULTS), (rule.__name__, path)


def test_missing_inputs_each_rule_reads_are_reported():
  """The table above is not vacuous: each of these inputs is read by the rule named."""
  for rule, path in ((vae.prior_sampling, ("references",)),
                     (vae.ae_generates_from_fitted_codes, ("models", "ae",
                                                           "fitted_gaussian_samples")),
                     (vae.ae_reconstructs_better, ("models", "vae_beta1", "reconstruction_nll")),
                     (vae.smooth_latent_space, ("models", "vae_beta1", "interpolation")),
                     (vae.beta_tradeoff, ("models", "vae_beta1", "rate"))):
    with pytest.raises(ResultMissing):
      rule(_without(*path))
  for rule in ALL_RULES:
    with pytest.raises(ResultMissing, match="curve"):
      rule(_without("models", "vae_beta1", "curve"))


def test_a_bug_in_the_inputs_is_not_turned_into_not_measured():
  """A malformed value (not an absent one) is a bug: its exception propagates as itself."""
  broken = _with(["models", "vae_beta1", "prior_samples", "frechet"], "4.3")
  with pytest.raises(Exception) as raised:
    vae.prior_sampling(broken)
  assert not isinstance(raised.value, ResultMissing), raised.value


def test_beta_tradeoff_applies_only_to_runs_with_two_betas():
  one_beta = _without("models", "vae_beta4")
  del one_beta["models"]["vae_beta0.25"]
  claim = next(c for c in vae.CLAIMS if c.rule is vae.beta_tradeoff)
  assert claim.applies(VAE_RESULTS) and not claim.applies(one_beta)
  with pytest.raises(ValueError, match="two"):  # called anyway: a bug, not a verdict
    vae.beta_tradeoff(one_beta)


def test_training_guard_thresholds():
  model = VAE_RESULTS["models"]["vae_beta1"]
  assert vae_guard.training_unfinished(model) is None  # 0.5% drop
  just_over = dict(model, curve=_curve((2000, 3000), (8.6 * 1.011, 8.6)))
  assert "still falling" in vae_guard.training_unfinished(just_over)
  overfitting = dict(model, curve=_curve((2000, 3000), (8.0, 8.6)))  # rising: past its best
  assert vae_guard.training_unfinished(overfitting) is None
  # Only evaluations at or before 75% of training count as "before": 2500 of 3000 does not.
  late_only = dict(model, curve=_curve((2500, 3000), (9.0, 8.6)))
  with pytest.raises(ResultMissing, match="at or before 75%"):
    vae_guard.training_unfinished(late_only)
  with pytest.raises(ResultMissing, match="needs two"):
    vae_guard.training_unfinished(dict(model, curve=_curve((3000,), (8.6,))))
  drop, start, end, _, _ = vae_guard.plateau_drop(just_over)
  assert (start, end) == (2000, 3000) and drop == pytest.approx(0.011)


def test_guard_numbers_are_in_the_evidence():
  finding = vae.prior_sampling(VAE_RESULTS)
  assert "ae +0.50%" in finding.evidence and "vae_beta1 +0.50%" in finding.evidence
  assert math.isfinite(finding.margin.value)


def test_beta_tradeoff_needs_every_vae_trained():
  unfinished = _with(["models", "vae_beta4", "curve"], _curve((2000, 3000), (30.0, 23.1)))
  finding = vae.beta_tradeoff(unfinished)
  assert finding.verdict == NOT_MEASURED and "vae_beta4" in finding.evidence
  # The AE plays no part in the β trade-off.
  ae_unfinished = _with(["models", "ae", "curve"], _curve((2000, 3000), (12.0, 9.7)))
  assert vae.beta_tradeoff(ae_unfinished).verdict == SUPPORTED


@pytest.mark.parametrize("fitted,verdict", [
    (_s(6.6), SUPPORTED),  # VAE 4.3 below the AE's fitted-code samples
    (_s(3.0), CONTRADICTED),  # the AE with fitted codes generates better
    (_s(4.3, NOISY), INCONCLUSIVE),
])
def test_vae_generates_better(fitted, verdict):
  finding = vae.vae_generates_better(_with(FITTED_FD, fitted))
  assert finding.verdict == verdict, finding
  assert "label entropy" in finding.evidence
  _check_margin(finding)


def test_the_checkpoint_each_model_is_judged_at_is_in_the_evidence():
  results = copy.deepcopy(VAE_RESULTS)
  for name in ("ae", "vae_beta1"):
    model = results["models"][name]
    model["selected_step"] = _s(500.0, (0.0, 0.0, 500.0))
    model["final"] = {"reconstruction_nll": _s(34.5)}
  results["num_steps"] = 12000
  evidence = vae.ae_reconstructs_better(results).evidence
  assert "lowest validation recon NLL per seed of 12000 steps" in evidence
  assert "ae step 500/500/1000 (test recon NLL 9.70; final 34.50)" in evidence
  assert "Judged at the final checkpoint" in vae.ae_reconstructs_better(VAE_RESULTS).evidence

"""Q3 rules (genjax/claims/vae.py): made-up per-seed results drive each rule to each verdict."""

import copy
import math

import pytest

from genjax import stats
from genjax.claims import vae, vae_guard
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONFIDENCE,
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
           fitted_fd=None, means_fd=None, fitted_means_fd=None):
  model = {"beta": beta, "stochastic": stochastic, "reconstruction_nll": _s(recon),
           "train_reconstruction_nll": _s(train_recon),
           "prior_samples": {"frechet": _s(fd), "label_entropy": _s(2.2)},
           "prior_means": {"frechet": _s(means_fd), "label_entropy": _s(2.2)},
           "interpolation": {"path_length_ratio": _s(path_ratio, (-0.01, 0.0, 0.01))},
           "active_units": _s(active, (0, 0, 0)), "latents": 8,
           # trained: held-out recon fell 0.5% over the last third (the guard allows 1%)
           "curve": _curve((2000, 3000), (recon * 1.005, recon)),
           "final": {"reconstruction_nll": _s(recon + 1), "train_reconstruction_nll":
                     _s(train_recon)}}
  if rate is not None:  # a VAE: test rate at its selected step, training numbers at the last
    model["rate"] = _s(rate)
    model["final"].update(train_rate=_s(rate), train_distortion=_s(train_recon + 0.5),
                          train_active_units=_s(active, (0, 0, 0)))
  if fitted_fd is not None:
    model["fitted_gaussian_samples"] = {"frechet": _s(fitted_fd), "label_entropy": _s(2.1)}
    model["fitted_gaussian_means"] = {"frechet": _s(fitted_means_fd), "label_entropy": _s(2.1)}
  return model


# Made-up numbers in the range a digits run gives (not copied from any run).
VAE_RESULTS = {
    "num_steps": 3000, "train_examples": 1294, "validation_examples": 144,
    "references": {"real_train_vs_test": {"frechet": 2.5}, "independent_pixels": {"frechet": 30}},
    "models": {
        "ae": _model(0.0, False, 9.7, 4.0, 67.0, 1.7, fitted_fd=6.6, means_fd=60.0,
                     fitted_means_fd=5.0),
        "vae_beta0.25": _model(0.25, True, 7.7, 6.0, 6.7, 1.4, rate=14.0, means_fd=5.0),
        "vae_beta1": _model(1.0, True, 8.6, 7.5, 4.3, 1.2, rate=6.7, means_fd=3.0),
        "vae_beta4": _model(4.0, True, 23.1, 22.0, 25.0, 1.0, rate=0.2, active=3, means_fd=20.0),
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
  assert m.sd >= 0 and m.confidence == CONFIDENCE and m.name
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


RATE = ["final", "train_rate"]
DISTORTION = ["final", "train_distortion"]


def _beta(name, **fields):
  """VAE_RESULTS with the training numbers at the last step of VAE `name` replaced."""
  results = copy.deepcopy(VAE_RESULTS)
  results["models"][name]["final"].update(fields)
  return results


def test_beta_tradeoff():
  supported = vae.beta_tradeoff(VAE_RESULTS)
  assert supported.verdict == SUPPORTED
  _check_margin(supported)
  # The nearest of the four clear intervals decides: distortion 0.25 -> 1 (+1.5 nats, every seed).
  assert supported.margin.name == "training distortion change β 0.25 -> 1"
  assert supported.margin.value == pytest.approx(1.5)
  assert "training images at step 3000 (the last, the same for every β)" in supported.evidence
  flat = _beta("vae_beta4", train_distortion=_s(7.0))
  finding = vae.beta_tradeoff(flat)
  assert finding.verdict == CONDITIONAL
  assert finding.margin.name == "training distortion change β 1 -> 4"
  assert "holds over β 0.25 -> 1" in finding.condition
  _check_margin(finding)
  unclear = _beta("vae_beta4", train_distortion=_s(8.0, FLIPPED))
  assert vae.beta_tradeoff(unclear).verdict == INCONCLUSIVE
  reversed_rates = _beta("vae_beta4", train_rate=_s(50.0), train_distortion=_s(1.0))
  finding = vae.beta_tradeoff(reversed_rates)
  assert finding.verdict == CONDITIONAL and finding.margin.name == "training rate change β 1 -> 4"
  everywhere = copy.deepcopy(reversed_rates)  # and the first step reversed too
  everywhere["models"]["vae_beta1"]["final"].update(train_rate=_s(20.0),
                                                     train_distortion=_s(5.0))
  finding = vae.beta_tradeoff(everywhere)
  assert finding.verdict == CONTRADICTED
  assert finding.margin.name == "training rate change β 0.25 -> 1"
  _check_margin(finding)


def test_beta_tradeoff_reads_one_step_for_every_beta():
  """The test split's numbers at each β's selected checkpoint (steps apart) decide nothing: a
  trade-off reversed there leaves the finding as it was."""
  reversed_on_test = copy.deepcopy(VAE_RESULTS)
  reversed_on_test["models"]["vae_beta4"].update(rate=_s(50.0), reconstruction_nll=_s(1.0),
                                                 selected_step=_s(500.0, (0.0, 0.0, 0.0)))
  assert vae.beta_tradeoff(reversed_on_test) == vae.beta_tradeoff(VAE_RESULTS)
  for field in ("train_rate", "train_distortion", "train_active_units"):
    results = copy.deepcopy(VAE_RESULTS)
    del results["models"]["vae_beta1"]["final"][field]
    with pytest.raises(ResultMissing, match=field):
      vae.beta_tradeoff(results)


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
         vae.vae_generates_better_than_fitted, vae.ae_reconstructs_better,
         vae.smooth_latent_space)


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
    ("models", "vae_beta1", "prior_means"),
    ("models", "vae_beta1", "final"),
    ("models", "vae_beta1", "final", "train_rate"),
    ("models", "vae_beta1", "final", "train_distortion"),
    ("models", "ae", "prior_means"),
    ("models", "ae", "fitted_gaussian_samples"),
    ("models", "ae", "fitted_gaussian_means"),
    ("references",),
    ("train_examples",),
    ("num_steps",),
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
                     (vae.vae_generates_better, ("models", "ae", "prior_means")),
                     (vae.vae_generates_better_than_fitted, ("models", "ae",
                                                             "fitted_gaussian_means")),
                     (vae.ae_reconstructs_better, ("train_examples",)),
                     (vae.beta_tradeoff, ("models", "vae_beta1", "final", "train_rate"))):
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


AE_MEANS = ["models", "ae", "prior_means", "frechet"]
FITTED_MEANS = ["models", "ae", "fitted_gaussian_means", "frechet"]


def _set(results, path, value):
  target = results
  for key in path[:-1]:
    target = target[key]
  target[path[-1]] = value
  return results


# VAE β=1: FD 4.3 on draws, 3.0 on decoder means. (AE draws, AE means) -> verdict, and the
# reading that decides (the one nearer to flipping, or the one short of supporting).
GENERATION_CASES = [
    ((_s(6.6), _s(5.0)), SUPPORTED, "decoder means"),  # VAE better both ways; means nearer 0
    ((_s(3.0), _s(2.0)), CONTRADICTED, "decoder means"),  # the AE better both ways
    ((_s(6.6), _s(2.0)), CONDITIONAL, "decoder means"),  # better on draws, worse on means
    ((_s(3.0), _s(5.0)), CONDITIONAL, "Bernoulli draws"),  # better on means, worse on draws
    ((_s(6.6), _s(3.0, NOISY)), INCONCLUSIVE, "decoder means"),  # draws yes; means: the spread
    ((_s(4.3, NOISY), _s(3.0, NOISY)), INCONCLUSIVE, None),  # neither clear
    ((_s(4.3, NOISY), _s(2.0)), CONTRADICTED, "decoder means"),  # means worse; draws unclear
]


@pytest.mark.parametrize("rule,draws_path,means_path", [
    (vae.vae_generates_better, AE_FD, AE_MEANS),
    (vae.vae_generates_better_than_fitted, FITTED_FD, FITTED_MEANS),
], ids=["plain_ae", "fitted_gaussian"])
@pytest.mark.parametrize("fds,verdict,deciding", GENERATION_CASES)
def test_vae_generates_better_on_draws_and_on_means(rule, draws_path, means_path, fds, verdict,
                                                    deciding):
  results = _set(_with(draws_path, fds[0]), means_path, fds[1])
  finding = rule(results)
  assert finding.verdict == verdict, finding
  assert "on Bernoulli draws" in finding.evidence and "on decoder means" in finding.evidence
  assert "label entropy" in finding.evidence and "real-data floor 2.50" in finding.evidence
  _check_margin(finding)
  if deciding:
    assert finding.margin.name.endswith(f"FD on {deciding}"), finding.margin
  if verdict == CONDITIONAL:
    assert finding.condition.startswith("on the images scored: better on "), finding.condition
    assert f"worse on {deciding}" in finding.condition


def test_the_seed_row_compares_with_the_plain_ae_and_ours_with_the_fitted_gaussian():
  """The seeds' row reads the AE decoding N(0, I) codes; a fitted-Gaussian AE that beats the VAE
  moves only the row marked ours."""
  better_fitted = _set(_with(FITTED_FD, _s(3.0)), FITTED_MEANS, _s(2.0))
  assert vae.vae_generates_better(better_fitted) == vae.vae_generates_better(VAE_RESULTS)
  assert vae.vae_generates_better(VAE_RESULTS).verdict == SUPPORTED
  assert vae.vae_generates_better_than_fitted(better_fitted).verdict == CONTRADICTED
  sources = {c.rule: c.sources for c in vae.CLAIMS}
  assert sources[vae.vae_generates_better] == ("001", "002")
  assert sources[vae.vae_generates_better_than_fitted] == ("ours",)
  assert "fitted" not in next(c for c in vae.CLAIMS if c.rule is vae.vae_generates_better).statement


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


def test_ae_reconstruction_names_the_runs_regime_as_its_condition():
  """A decided finding names what the run trains on and where its AE is judged (a small set
  stops the AE early), never only that runs differ; an inconclusive one says what would decide."""
  results = copy.deepcopy(VAE_RESULTS)
  results["models"]["ae"]["selected_step"] = _s(500.0, (0.0, 0.0, 0.0))
  finding = vae.ae_reconstructs_better(results)  # train better, test clearly worse
  assert finding.verdict == CONDITIONAL
  assert finding.condition == (
      "on the split: better on training images, worse on held-out images; 1,294 training "
      "images (144 held out for validation); the AE's validation recon NLL lowest at step "
      "500/500/500 of 3000 (test recon NLL 9.70 there, 10.70 at the last step)")
  results["models"]["ae"]["train_reconstruction_nll"] = _s(9.0)
  contradicted = vae.ae_reconstructs_better(results)
  assert contradicted.verdict == CONTRADICTED
  assert contradicted.condition.startswith("1,294 training images")
  supported = vae.ae_reconstructs_better(_ae(reconstruction_nll=_s(5.0)))
  assert supported.verdict == SUPPORTED
  assert supported.condition.endswith("the AE judged at its last step 3000")
  unclear = vae.ae_reconstructs_better(_ae(reconstruction_nll=_s(8.6, NOISY)))
  assert unclear.verdict == INCONCLUSIVE and "training images (" not in unclear.condition

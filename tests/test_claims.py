"""Verdicts come from numbers: made-up results must flip them."""

import copy

from genjax.claims import attention, gan, report, vae
from genjax.claims.verdicts import DEPENDS, NOT_SUPPORTED, SUPPORTED


def _model(beta, stochastic, recon, train_recon, fd, path_ratio, rate=None, active=8,
           fitted_fd=None):
  model = {"beta": beta, "stochastic": stochastic, "reconstruction_nll": recon,
           "train_reconstruction_nll": train_recon, "prior_samples": {"frechet": fd},
           "interpolation": {"path_length_ratio": path_ratio}, "active_units": active,
           "latents": 8}
  if rate is not None:
    model["rate"] = rate
  if fitted_fd is not None:
    model["fitted_gaussian_samples"] = {"frechet": fitted_fd}
  return model


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


def test_prior_sampling_flips():
  assert vae.prior_sampling(VAE_RESULTS).verdict == SUPPORTED
  assert vae.prior_sampling(_with(["models", "ae", "prior_samples", "frechet"], 3.0)).verdict \
      == NOT_SUPPORTED
  assert vae.prior_sampling(_with(["models", "ae", "prior_samples", "frechet"], 6.0)).verdict \
      == DEPENDS


def test_reconstruction_claim_flips():
  assert vae.ae_reconstructs_better(VAE_RESULTS).verdict == DEPENDS  # train yes, test no
  better = _with(["models", "ae", "reconstruction_nll"], 5.0)
  assert vae.ae_reconstructs_better(better).verdict == SUPPORTED
  worse = _with(["models", "ae", "train_reconstruction_nll"], 9.0)
  assert vae.ae_reconstructs_better(worse).verdict == NOT_SUPPORTED


def test_smoothness_and_beta_tradeoff_flip():
  assert vae.smooth_latent_space(VAE_RESULTS).verdict == SUPPORTED
  rough = _with(["models", "vae_beta1", "interpolation", "path_length_ratio"], 2.0)
  assert vae.smooth_latent_space(rough).verdict == NOT_SUPPORTED
  assert vae.beta_tradeoff(VAE_RESULTS).verdict == SUPPORTED
  flat = _with(["models", "vae_beta4", "reconstruction_nll"], 8.0)
  assert vae.beta_tradeoff(flat).verdict == DEPENDS
  reversed_rates = _with(["models", "vae_beta4", "rate"], 50.0)
  reversed_rates["models"]["vae_beta4"]["reconstruction_nll"] = 1.0
  assert vae.beta_tradeoff(reversed_rates).verdict == NOT_SUPPORTED


def test_report_lists_every_claim_and_marks_missing_numbers(tmp_path):
  runs = [report.Run("vae", ["python", "experiments/vae.py"], str(tmp_path), vae.CLAIMS,
                     results=VAE_RESULTS)]
  broken = copy.deepcopy(VAE_RESULTS)
  del broken["models"]["ae"]["interpolation"]
  runs.append(report.Run("vae_broken", ["python"], str(tmp_path), vae.CLAIMS, results=broken))
  text = report.write(str(tmp_path / "REPORT.md"), runs, report.judge(runs))
  assert text.count("| Q3") == 0 and "## Q3." in text
  assert text.count("**supported**") >= 3
  assert "**not measured**" in text
  assert "`python experiments/vae.py`" in text


def _gan_results(vanilla_modes, vanilla_precision, remedy_modes):
  def method(modes, precision):
    stat = lambda m: {"mean": m, "sd": 0.3, "se": 0.1}  # noqa: E731
    return {"summary": {"modes": stat(modes), "reverse_kl": stat(0.01),
                        "precision": stat(precision), "recall": stat(0.5),
                        "seeds_all_modes": 10 if modes == 8 else 0}}
  return {"dataset": "ring", "num_modes": 8, "num_seeds": 10, "floors": {"reverse_kl": 0.0014},
          "real_data": {"precision": 0.97},
          "methods": {"gan": method(vanilla_modes, vanilla_precision),
                      "pacgan2": method(remedy_modes, 0.9)}}


def test_gan_rules_flip():
  collapsed = _gan_results(1.0, 0.95, 8.0)
  assert [c.rule(collapsed).verdict for c in gan.CLAIMS] == [SUPPORTED, SUPPORTED, SUPPORTED]
  off_data = _gan_results(1.0, 0.1, 8.0)
  assert gan.realistic_but_not_diverse(off_data).verdict == NOT_SUPPORTED
  healthy = _gan_results(8.0, 0.95, 8.0)
  assert gan.collapse(healthy).verdict == NOT_SUPPORTED
  assert gan.remedies_restore_coverage(healthy).verdict == NOT_SUPPORTED
  assert gan.remedies_restore_coverage(_gan_results(1.0, 0.9, 5.0)).verdict == DEPENDS
  blurry = _gan_results(1.0, 0.95, 8.0)
  blurry["methods"]["pacgan2"]["summary"]["precision"]["mean"] = 0.08
  blurry["uniform_blur"] = {"modes": 8.0, "precision": 0.008}
  finding = gan.remedies_restore_coverage(blurry)
  assert finding.verdict == DEPENDS and "uniform blur" in finding.evidence


def _fit(slope, half=0.1):
  return {"slope": slope, "lo": slope - half, "hi": slope + half, "n_lo": 1024, "n_hi": 4096}


def _attention_results(naive_time, naive_memory, chunked_memory, efficient_time):
  slopes = []
  for variant in ("naive", "chunked", *attention.EFFICIENT):
    time = naive_time if variant == "naive" else efficient_time
    memory = {"naive": naive_memory, "chunked": chunked_memory}.get(variant, 1.0)
    for mode in ("forward", "forward_backward"):
      slopes.append({"variant": variant, "mode": mode, "time": _fit(time),
                     "time_corrected": _fit(time), "memory": _fit(memory)})
  crossovers = [{"d": d, "measured_mlp": 4.2 * d} for d in (256, 512)]
  return {"slopes": slopes, "crossovers": crossovers, "largest": {}}


def test_attention_rules_flip():
  quadratic = _attention_results(2.0, 2.0, 2.0, 1.0)
  assert attention.quadratic_time(quadratic).verdict == SUPPORTED
  assert attention.quadratic_memory(quadratic).verdict == SUPPORTED
  assert attention.efficient_variants_scale_better(quadratic).verdict == SUPPORTED
  assert attention.attention_dominates_long_sequences(quadratic).verdict == DEPENDS
  memory_bound = _attention_results(2.5, 2.0, 2.0, 1.0)  # super-quadratic: not "not supported"
  assert attention.quadratic_time(memory_bound).verdict == DEPENDS
  linear = _attention_results(1.0, 1.0, 1.0, 1.0)
  assert attention.quadratic_time(linear).verdict == NOT_SUPPORTED
  assert attention.quadratic_memory(linear).verdict == NOT_SUPPORTED
  assert attention.efficient_variants_scale_better(linear).verdict == NOT_SUPPORTED
  never = _attention_results(2.0, 2.0, 2.0, 1.0)
  never["crossovers"][0]["measured_mlp"] = None
  assert attention.attention_dominates_long_sequences(never).verdict == NOT_SUPPORTED
  chunked_linear = _attention_results(2.0, 2.0, 1.0, 1.0)
  assert attention.quadratic_memory(chunked_linear).verdict == DEPENDS


def _seeds(mean):
  seeds = [mean - 0.01, mean, mean + 0.01]
  return {"mean": mean, "sd": 0.01, "seeds": seeds}


def _fewshot_results(in_context, shots64, dapt_before, dapt_after, none_after):
  refs = {k: _seeds(1.0) for k in ("target/bayes_new_domain", "target/bayes_genre",
                                   "target/oracle")}

  def entry(target):
    return {"target": _seeds(target), "heldout": _seeds(2.0)}
  return {
      "references": refs,
      "fewshot": {"0": entry(in_context), "64": entry(shots64)},
      "dapt": {"dapt_target_genre": {"before": entry(dapt_before), "after": entry(dapt_after)},
               "unrelated_genre": {"before": entry(2.0), "after": entry(none_after)},
               "none": {"before": entry(in_context), "after": entry(none_after)}},
  }


def test_fewshot_rule_names_which_methods_help():
  from genjax.domain import report as domain_report

  both = domain_report.fewshot_section(_fewshot_results(1.4, 1.0, 1.1, 1.2, 1.3))[1]
  assert both.verdict == SUPPORTED
  # DAPT helps on its own but finetuning after it overfits: the condition says so.
  overfit = domain_report.fewshot_section(_fewshot_results(1.4, 1.0, 1.1, 1.5, 1.3))[1]
  assert overfit.verdict == DEPENDS
  assert "DAPT alone" in overfit.condition.split("do not")[0]
  assert "DAPT then finetuning" in overfit.condition.split("do not")[1]
  neither = domain_report.fewshot_section(_fewshot_results(1.4, 1.6, 1.5, 1.5, 1.3))[1]
  assert neither.verdict == NOT_SUPPORTED

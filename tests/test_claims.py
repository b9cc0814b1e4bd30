"""Verdicts come from numbers: made-up results must flip them."""

import copy

from genjax.claims import report, vae
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

"""Q3: VAEs vs standard autoencoders. Rules read the results dict of genjax.vae.train."""

from genjax.claims.verdicts import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Finding

EXPERIMENT = "VAE vs AE (experiments/vae.py)"


def _vae(results, beta=1.0):
  return results["models"][f"vae_beta{beta:g}"]


def prior_sampling(results) -> Finding:
  ae, vae = results["models"]["ae"], _vae(results)
  ae_fd, vae_fd = ae["prior_samples"]["frechet"], vae["prior_samples"]["frechet"]
  floor = results["references"]["real_train_vs_test"]["frechet"]
  noise = results["references"]["independent_pixels"]["frechet"]
  evidence = (f"FD of prior samples: VAE β=1 {vae_fd:.2f}, AE {ae_fd:.2f} (real-data floor "
              f"{floor:.2f}, independent pixels {noise:.2f})")
  if vae_fd < noise and ae_fd > 2 * vae_fd:
    return Finding(SUPPORTED, evidence)
  if vae_fd >= ae_fd:
    return Finding(NOT_SUPPORTED, evidence)
  return Finding(DEPENDS, evidence, "the margin between AE and VAE samples is under 2x")


def ae_generates_from_fitted_codes(results) -> Finding:
  ae, vae = results["models"]["ae"], _vae(results)
  fitted, prior = ae["fitted_gaussian_samples"]["frechet"], ae["prior_samples"]["frechet"]
  vae_fd = vae["prior_samples"]["frechet"]
  evidence = (f"AE samples FD: from N(0, I) {prior:.2f}, from a Gaussian fitted to its codes "
              f"{fitted:.2f}; VAE β=1 prior {vae_fd:.2f}")
  if fitted > 2 * vae_fd:
    return Finding(SUPPORTED, evidence)
  return Finding(DEPENDS, evidence, "on how z is sampled: the AE generates well from a Gaussian "
                 "fitted to its codes, badly from N(0, I)")


def ae_reconstructs_better(results) -> Finding:
  ae, vae = results["models"]["ae"], _vae(results)
  test_ae, test_vae = ae["reconstruction_nll"], vae["reconstruction_nll"]
  train_ae, train_vae = ae["train_reconstruction_nll"], vae["train_reconstruction_nll"]
  evidence = (f"reconstruction NLL (nats) test: AE {test_ae:.2f}, VAE β=1 {test_vae:.2f}; "
              f"train: AE {train_ae:.2f}, VAE β=1 {train_vae:.2f}")
  if test_ae < test_vae and train_ae < train_vae:
    return Finding(SUPPORTED, evidence)
  if train_ae < train_vae:
    return Finding(DEPENDS, evidence, "on the data: better on training images, worse on held-out "
                   "images (the AE overfits; the KL term regularizes)")
  return Finding(NOT_SUPPORTED, evidence)


def smooth_latent_space(results) -> Finding:
  ae, vae = results["models"]["ae"], _vae(results)
  ae_ratio = ae["interpolation"]["path_length_ratio"]
  vae_ratio = vae["interpolation"]["path_length_ratio"]
  evidence = (f"decoded path length / endpoint distance over 16 steps: VAE β=1 {vae_ratio:.3f}, "
              f"AE {ae_ratio:.3f} (1 = straight)")
  if vae_ratio < ae_ratio:
    return Finding(SUPPORTED, evidence)
  return Finding(NOT_SUPPORTED, evidence)


def beta_tradeoff(results) -> Finding:
  vaes = sorted((m for m in results["models"].values() if m["stochastic"]),
                key=lambda m: m["beta"])
  if len(vaes) < 2:
    return Finding(DEPENDS, "fewer than two β values were run", "a β sweep")
  rates = [m["rate"] for m in vaes]
  distortions = [m["reconstruction_nll"] for m in vaes]
  evidence = "; ".join(f"β={m['beta']:g}: rate {m['rate']:.2f}, recon "
                       f"{m['reconstruction_nll']:.2f}, active units "
                       f"{m['active_units']}/{m['latents']}" for m in vaes)
  falling = all(a > b for a, b in zip(rates, rates[1:], strict=False))
  rising = all(a < b for a, b in zip(distortions, distortions[1:], strict=False))
  if falling and rising:
    return Finding(SUPPORTED, evidence)
  if falling or rising:
    return Finding(DEPENDS, evidence, "on the β range: the trade-off is not monotone throughout")
  return Finding(NOT_SUPPORTED, evidence)


CLAIMS = [
    Claim("Q3", "A VAE can produce new data by decoding samples of its prior; a standard "
          "autoencoder, whose codes are unregularized points, cannot.", EXPERIMENT,
          "VAE samples near the real-data floor; no published number for AE prior samples",
          prior_sampling),
    Claim("Q3", "The autoencoder's limitation is its latent space, not its decoder: with a "
          "distribution fitted to its codes it generates too.", EXPERIMENT,
          "—", ae_generates_from_fitted_codes),
    Claim("Q3", "A standard autoencoder, trained only to reconstruct, reconstructs better than a "
          "VAE.", EXPERIMENT, "—", ae_reconstructs_better),
    Claim("Q3", "The VAE's regularized latent space gives smooth transitions between codes.",
          EXPERIMENT, "—", smooth_latent_space),
    Claim("Q3", "β trades reconstruction for a regular latent space (rate falls, distortion "
          "rises, units collapse).", EXPERIMENT,
          "Burda et al. 2016: active units as the variance of E_q[z|x] above 0.01", beta_tradeoff),
]

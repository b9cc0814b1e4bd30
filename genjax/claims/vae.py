"""Q3: VAEs vs standard autoencoders. Rules read the results dict of genjax.vae.train.

Every metric is a `stats.summary`; seed s of every model shares its initial params and batch
order, so model differences are paired by seed and count only when their Student-t interval over
seeds (`stats.compare`, 95%) excludes zero (3 seeds: |mean difference| > 4.30 s.e.). Each finding
carries the deciding difference, its interval and the threshold that would flip it (`Margin`). A
result the run did not produce raises `ResultMissing` (*not measured*); any other exception is a
bug. References (real-data floor, independent pixels) are plain numbers. Sample FD is read on
binary draws and on decoder means of the same codes; a claim of "better" needs both (`_both`).
"""

from genjax.claims.vae_guard import (
  _compare,
  _get,
  _higher,
  _interval,
  _lower,
  _margin,
  _mean,
  _models,
  _spread,
  _untrained,
  _values,
  guard_margins,
)
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Claim,
  Finding,
  against,
  by_interval,
)

EXPERIMENT = "VAE vs AE (experiments/vae.py)"
# prior_sampling: "the AE cannot generate from its prior" is read as AE prior samples being more
# than twice as far (FD) from the test images as the VAE's. FD is a squared distance, so 2x
# is about 1.4x in distance: a gap no seed noise makes, not a mere difference.
PRIOR_FD_RATIO = 2.0
# ae_generates_from_fitted_codes: "it generates too" is read as samples from a Gaussian fitted
# to the AE's codes within the same factor of the VAE's prior-sample FD.
FITTED_FD_RATIO = 2.0


def _both(evidence: str, readings, split: str, condition: str = "") -> Finding:
  """A claim that the first model is better (lower) read two ways, e.g. on held-out and on
  training images. `readings`: two (where, compare, margin). Supported when both intervals lie
  below 0 (the one nearer to 0 decides); *conditional* on `split` when one lies below and the
  other above, naming which; inconclusive when one lies below and the other straddles 0; else
  the reading nearer to supporting decides (`against`). `condition` (the run's regime) is added
  to every decided finding's condition."""
  def named(text: str) -> str:
    return "; ".join(part for part in (text, condition) if part)

  margins = [margin for _, _, margin in readings]
  if all(_lower(c) for _, c, _ in readings):
    return Finding(SUPPORTED, evidence, named(""), max(margins, key=lambda m: m.high))
  for (where, better, _), (elsewhere, _, other) in (readings, readings[::-1]):
    if _lower(better):
      if other.straddles():
        return Finding(INCONCLUSIVE, evidence, f"better on {where}; on {elsewhere} the "
                       "difference is within the seed spread", margin=other)
      return Finding(CONDITIONAL, evidence, named(f"on {split}: better on {where}, worse on "
                                                  f"{elsewhere}"), margin=other)
  margin = min(margins, key=lambda m: m.high)  # not supported until one interval clears 0
  verdict = against(margin)
  return Finding(verdict, evidence, named("") if verdict == CONTRADICTED else "", margin)


def prior_sampling(results) -> Finding:
  unmeasured, (ae, vae) = _models(results, "ae", "vae_beta1")
  if unmeasured:
    return unmeasured
  ae_fd, vae_fd = _get(ae, "prior_samples", "frechet"), _get(vae, "prior_samples", "frechet")
  floor = _get(results, "references", "real_train_vs_test", "frechet")
  noise = _get(results, "references", "independent_pixels", "frechet")
  vae_vs_noise = _compare(vae_fd, noise)
  ae_vs_vae = _compare(ae_fd, vae_fd)
  ae_vs_ratio = _compare(ae_fd, vae_fd, PRIOR_FD_RATIO)
  evidence = (f"FD of prior samples ({len(_values(vae_fd))} seeds): VAE β=1 {_spread(vae_fd)}, "
              f"AE {_spread(ae_fd)} (real-data floor {floor:.2f}, independent pixels {noise:.2f}); "
              f"AE - {PRIOR_FD_RATIO:g} x VAE = {_interval(ae_vs_ratio)}, flips below 0; "
              f"VAE - independent pixels = {_interval(vae_vs_noise)}; "
              + guard_margins(results, ("ae", "vae_beta1")))
  if not _lower(vae_vs_noise):
    margin = _margin("VAE β=1 - independent pixels, prior-sample FD", vae_vs_noise)
    return Finding(against(margin), evidence + ": the VAE's samples are not clearly better than "
                   "independent pixels", margin=margin)
  if not _higher(ae_vs_vae):
    margin = _margin("AE - VAE β=1, prior-sample FD", ae_vs_vae)
    return Finding(against(margin), evidence + f"; AE - VAE = {_interval(ae_vs_vae)}: the AE's "
                   "samples are not clearly worse", margin=margin)
  margin = _margin(f"AE - {PRIOR_FD_RATIO:g} x VAE β=1, prior-sample FD", ae_vs_ratio)
  verdict = by_interval(margin, "above")
  return Finding(verdict, evidence, "" if verdict != INCONCLUSIVE else f"the AE's prior samples "
                 f"are clearly worse than the VAE's; whether by the {PRIOR_FD_RATIO:g}x the rule "
                 "asks is within the seed spread", margin=margin)


def ae_generates_from_fitted_codes(results) -> Finding:
  unmeasured, (ae, vae) = _models(results, "ae", "vae_beta1")
  if unmeasured:
    return unmeasured
  fitted = _get(ae, "fitted_gaussian_samples", "frechet")
  prior, vae_fd = _get(ae, "prior_samples", "frechet"), _get(vae, "prior_samples", "frechet")
  fitted_vs_prior = _compare(fitted, prior)
  fitted_vs_ratio = _compare(fitted, vae_fd, FITTED_FD_RATIO)
  evidence = (f"AE samples FD ({len(_values(fitted))} seeds): from N(0, I) {_spread(prior)}, "
              f"from a Gaussian fitted to its codes {_spread(fitted)}; VAE β=1 prior "
              f"{_spread(vae_fd)}; fitted - N(0, I) = {_interval(fitted_vs_prior)}; fitted - "
              f"{FITTED_FD_RATIO:g} x VAE = {_interval(fitted_vs_ratio)}, flips above 0; "
              + guard_margins(results, ("ae", "vae_beta1")))
  if not _lower(fitted_vs_prior):
    margin = _margin("AE fitted-Gaussian - N(0, I) samples, FD", fitted_vs_prior)
    return Finding(against(margin), evidence + ": fitting the code distribution does not "
                   "clearly help, so the latent space was not the limitation", margin=margin)
  margin = _margin(f"AE fitted-Gaussian samples - {FITTED_FD_RATIO:g} x VAE β=1 prior samples, "
                   "FD", fitted_vs_ratio)
  verdict = by_interval(margin, "below")
  if verdict == CONTRADICTED:
    return Finding(verdict, evidence + f": fitting the codes helps, but the samples stay more "
                   f"than {FITTED_FD_RATIO:g}x the VAE's FD, so the decoder is part of the "
                   "limitation", margin=margin)
  return Finding(verdict, evidence, "" if verdict != INCONCLUSIVE else f"fitting the codes "
                 f"helps; whether the samples come within {FITTED_FD_RATIO:g}x the VAE's FD is "
                 "within the seed spread", margin=margin)


def _generation(results, sampler: str, means: str, label: str) -> Finding:
  """VAE β=1 prior samples against the AE's `sampler` (same N(0, I) codes, or a fitted Gaussian),
  FD to the test images on binary draws and on the decoder's means (`means`) of the same codes."""
  unmeasured, (ae, vae) = _models(results, "ae", "vae_beta1")
  if unmeasured:
    return unmeasured
  readings, parts = [], []
  for where, vae_key, ae_key in (("Bernoulli draws", "prior_samples", sampler),
                                 ("decoder means", "prior_means", means)):
    vae_fd, ae_fd = _get(vae, vae_key, "frechet"), _get(ae, ae_key, "frechet")
    c = _compare(vae_fd, ae_fd)
    readings.append((where, c, _margin(f"VAE β=1 prior - {label}, FD on {where}", c)))
    parts.append(f"on {where}: VAE β=1 {_spread(vae_fd)}, {label} {_spread(ae_fd)}, VAE - AE "
                 f"{_interval(c)}")
  evidence = (f"sample FD to the test images ({len(_values(vae['prior_samples']['frechet']))} "
              f"seeds; better = below 0) " + "; ".join(parts) + " (real-data floor "
              f"{_get(results, 'references', 'real_train_vs_test', 'frechet'):.2f}, binary "
              f"images); label entropy of the draws (variety over classes, max ln 10 = 2.30): "
              f"VAE {_mean(_get(vae, 'prior_samples', 'label_entropy')):.2f}, AE "
              f"{_mean(_get(ae, sampler, 'label_entropy')):.2f}; "
              + guard_margins(results, ("ae", "vae_beta1")))
  return _both(evidence, readings, "the images scored")


def vae_generates_better(results) -> Finding:
  """The seeds' "VAEs generate more diverse and realistic samples" than standard autoencoders:
  both decode the same N(0, I) codes (the one way a plain AE generates)."""
  return _generation(results, "prior_samples", "prior_means", "AE from N(0, I)")


def vae_generates_better_than_fitted(results) -> Finding:
  """Ours: the same comparison against an AE that samples a Gaussian fitted to its codes."""
  return _generation(results, "fitted_gaussian_samples", "fitted_gaussian_means",
                     "AE from a Gaussian fitted to its codes")


def _regime(results) -> str:
  """What the run trains on and where its AE is judged (a small set stops the AE early)."""
  ae = _get(results, "models", "ae")
  where = (f"{_get(results, 'train_examples'):,} training images "
           f"({_get(results, 'validation_examples'):,} held out for validation)")
  if "selected_step" not in ae:  # results of a run made before model selection
    return f"{where}; the AE judged at its last step {_get(results, 'num_steps')}"
  steps = "/".join(f"{s:g}" for s in _values(ae["selected_step"]))
  return (f"{where}; the AE's validation recon NLL lowest at step {steps} of "
          f"{_get(results, 'num_steps')} (test recon NLL {_mean(ae['reconstruction_nll']):.2f} "
          f"there, {_mean(_get(ae, 'final', 'reconstruction_nll')):.2f} at the last step)")


def ae_reconstructs_better(results) -> Finding:
  unmeasured, (ae, vae) = _models(results, "ae", "vae_beta1")
  if unmeasured:
    return unmeasured
  ae_test, vae_test = _get(ae, "reconstruction_nll"), _get(vae, "reconstruction_nll")
  ae_train = _get(ae, "train_reconstruction_nll")
  vae_train = _get(vae, "train_reconstruction_nll")
  test, train = _compare(ae_test, vae_test), _compare(ae_train, vae_train)
  evidence = (f"reconstruction NLL (nats, {len(_values(ae_test))} seeds) test: AE "
              f"{_spread(ae_test)}, VAE β=1 {_spread(vae_test)}; train: AE {_spread(ae_train)}, "
              f"VAE β=1 {_spread(vae_train)}; AE - VAE test {_interval(test)}, train "
              f"{_interval(train)} (better = clearly below 0); "
              + guard_margins(results, ("ae", "vae_beta1")))
  readings = [("training images", train, _margin("AE - VAE β=1, train reconstruction NLL", train)),
              ("held-out images", test, _margin("AE - VAE β=1, test reconstruction NLL", test))]
  return _both(evidence, readings, "the split", _regime(results))


def smooth_latent_space(results) -> Finding:
  unmeasured, (ae, vae) = _models(results, "ae", "vae_beta1")
  if unmeasured:
    return unmeasured
  ae_ratio = _get(ae, "interpolation", "path_length_ratio")
  vae_ratio = _get(vae, "interpolation", "path_length_ratio")
  c = _compare(vae_ratio, ae_ratio)
  evidence = (f"decoded path length / endpoint distance ({len(_values(vae_ratio))} seeds; 1 = "
              f"straight): VAE β=1 {_spread(vae_ratio, 3)}, AE {_spread(ae_ratio, 3)}; VAE - AE "
              f"{_interval(c, 3)} (smoother = clearly below 0); "
              + guard_margins(results, ("ae", "vae_beta1")))
  margin = _margin("VAE β=1 - AE, interpolation path-length ratio", c)
  return Finding(by_interval(margin, "below"), evidence, margin=margin)


def _vae_names(results) -> list[str]:
  return [n for n, m in _get(results, "models").items() if _get(m, "stochastic")]


def has_two_betas(results) -> bool:  # a run speaks to the β trade-off only with VAEs at two β
  return len(_vae_names(results)) >= 2


def beta_tradeoff(results) -> Finding:
  """Rate and distortion of every β on the training images at the last step (one step for every
  β, so no β is read at another point of its training): rate must clearly fall and distortion
  clearly rise from each β to the next."""
  names = _vae_names(results)
  vaes = sorted((_get(results, "models", n) for n in names), key=lambda m: _get(m, "beta"))
  if len(vaes) < 2:  # has_two_betas keeps such runs away: reaching here is a bug
    raise ValueError(f"{len(vaes)} β value(s) in the results; the trade-off needs two")
  if untrained := _untrained(results, names):
    return untrained
  finals = [_get(m, "final") for m in vaes]
  pairs = list(zip(vaes, finals, strict=True))
  steps, held, failed = [], [], []
  for (a, fa), (b, fb) in zip(pairs, pairs[1:], strict=False):
    rate = _compare(_get(fb, "train_rate"), _get(fa, "train_rate"))
    distortion = _compare(_get(fb, "train_distortion"), _get(fa, "train_distortion"))
    step = f"β {a['beta']:g} -> {b['beta']:g}"
    # Rate must clearly fall (interval below 0), distortion clearly rise (interval above 0).
    for c, name, ok in ((rate, f"training rate change {step}", _lower(rate)),
                        (distortion, f"training distortion change {step}", _higher(distortion))):
      (held if ok else failed).append((name, c))
    steps.append(f"{step}: rate {_interval(rate)}, distortion {_interval(distortion)}")
  evidence = (f"training images at step {_get(results, 'num_steps')} (the last, the same for "
              "every β): " + "; ".join(
                  f"β={m['beta']:g}: rate {_spread(_get(f, 'train_rate'))}, distortion "
                  f"{_spread(_get(f, 'train_distortion'))}, active units "
                  f"{_mean(_get(f, 'train_active_units')):.1f}/{_get(m, 'latents')}"
                  for m, f in pairs)
              + ". Changes (each must be clear: rate down, distortion up): " + "; ".join(steps)
              + "; " + guard_margins(results, names, selected=False))
  if not failed:
    # Supported until one interval reaches 0: the nearest decides (|bound nearest 0|).
    name, c = min(held, key=lambda item: min(abs(item[1]["low"]), abs(item[1]["high"])))
    return Finding(SUPPORTED, evidence, margin=_margin(name, c))
  margins = [_margin(name, c) for name, c in failed]
  reversed_ = [m for m in margins if not m.straddles()]  # clearly the wrong way
  if not reversed_:
    return Finding(INCONCLUSIVE, evidence, "every change not clear in its direction is within "
                   "the seed spread", margin=margins[0])
  # A β step holds when both its rate and its distortion change are clear in their direction.
  step_of = lambda name: name.split("change ")[1]  # "β 0.25 -> 1"
  bad_steps = {step_of(m.name) for m in margins}
  whole = [step.split(":")[0] for step in steps if step.split(":")[0] not in bad_steps]
  if whole:
    return Finding(CONDITIONAL, evidence, f"on the β range: the trade-off holds over "
                   f"{', '.join(whole)}; over {', '.join(step_of(m.name) for m in reversed_)} "
                   "a change runs the other way", margin=reversed_[0])
  return Finding(CONTRADICTED, evidence, margin=reversed_[0])


CLAIMS = [
    Claim("Q3", "A VAE can produce new data by decoding samples of its prior; a standard "
          "autoencoder, whose codes are unregularized points, cannot.", EXPERIMENT,
          "Kingma & Welling 2014 (Fig. 5): MNIST digits decoded from prior samples, shown as "
          "images with no sample score; no published number for AE prior samples",
          prior_sampling, figure="samples.png", sources=("000", "001", "002")),
    Claim("Q3", "The autoencoder's limitation is its latent space, not its decoder: with a "
          "distribution fitted to its codes it generates too.", EXPERIMENT,
          "—", ae_generates_from_fitted_codes, figure="samples.png", sources=("ours",)),
    Claim("Q3", "VAEs generate better samples (more realistic and varied) than standard "
          "autoencoders.", EXPERIMENT, "—", vae_generates_better, figure="samples.png",
          sources=("001", "002")),
    Claim("Q3", "VAEs generate better samples than an autoencoder that samples a Gaussian fitted "
          "to its codes.", EXPERIMENT,
          "Ghosh et al. 2020 (RAE): regularized deterministic autoencoders sampled from a density "
          "fitted to their codes after training give samples comparable to or better than VAEs' "
          "(FID; MNIST, CIFAR-10, CelebA)", vae_generates_better_than_fitted,
          figure="samples.png", sources=("ours",)),
    Claim("Q3", "A standard autoencoder, trained only to reconstruct, reconstructs better than a "
          "VAE.", EXPERIMENT, "—", ae_reconstructs_better, figure="learning_curves.png",
          sources=("001", "002")),
    Claim("Q3", "The VAE's regularized latent space gives smooth transitions between codes.",
          EXPERIMENT, "—", smooth_latent_space, figure="interpolations.png", sources=("002",)),
    Claim("Q3", "β trades reconstruction for a regular latent space: as β grows, the rate falls "
          "and the distortion rises.", EXPERIMENT,
          "Alemi et al. 2018: the β-ELBO's optimum moves along a rate-distortion curve",
          beta_tradeoff, figure="rate_distortion.png", applies=has_two_betas,
          sources=("002",)),
]

"""Q3: VAEs vs standard autoencoders. Rules read the results dict of genjax.vae.train.

Every metric is a `stats.summary`; seed s of every model shares its initial params and batch
order, so model differences are paired by seed and count only when their Student-t interval over
seeds (`stats.compare`, 95%) excludes zero (3 seeds: |mean difference| > 4.30 s.e.). Each finding
carries the deciding difference, its interval and the threshold that would flip it (`Margin`). A
result the run did not produce raises `ResultMissing` (*not measured*); any other exception is a
bug. References (real-data floor, independent pixels) are plain numbers.
"""

from genjax import stats
from genjax.claims.verdicts import (
  DEPENDS,
  NOT_MEASURED,
  NOT_SUPPORTED,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
  ResultMissing,
)

EXPERIMENT = "VAE vs AE (experiments/vae.py)"
CONFIDENCE = 0.95  # two-sided Student-t intervals over seeds
# prior_sampling: "the AE cannot generate from its prior" is read as AE prior samples being more
# than twice as far (FD) from the test images as the VAE's. FD is a squared distance, so 2x
# is about 1.4x in distance: well beyond seed noise, well below the 15x of the first run.
PRIOR_FD_RATIO = 2.0
# ae_generates_from_fitted_codes: "it generates too" is read as samples from a Gaussian fitted
# to the AE's codes within the same factor of the VAE's prior-sample FD.
FITTED_FD_RATIO = 2.0

# Convergence guard of every rule: a model counts as trained when its held-out (validation
# split) reconstruction NLL (z = mean), evaluated while training, fell by less than this fraction
# of its final value between the last evaluation at or before GUARD_FROM of training and the end
# (a rise means it is past its best, overfitting: also finished). 1%: the reconstruction
# differences these rules judge between AE and VAE are a few percent, so a model still
# improving by more could reorder them.
PLATEAU_FRACTION = 0.01
GUARD_FROM = 0.75
HELD_OUT = "validation_reconstruction_nll"  # the curve the guard reads (never the test split)


def _get(tree, *path):
  """tree[path[0]][path[1]]...; ResultMissing naming the path when the run lacks it."""
  for depth, key in enumerate(path):
    if not isinstance(tree, dict) or key not in tree:
      raise ResultMissing("no " + "/".join(map(str, path[:depth + 1])) + " in the results")
    tree = tree[key]
  return tree


def plateau_drop(model) -> tuple[float, int, int, float, float]:
  """(fractional fall of the held-out recon NLL over the guard window, its steps, its values)."""
  steps, held_out = _get(model, "curve", "step"), _get(model, "curve", HELD_OUT)
  if len(steps) < 2 or len(held_out) != len(steps):
    raise ResultMissing(f"a learning curve of {len(steps)} evaluation(s); the guard needs two")
  earlier = [i for i, step in enumerate(steps) if step <= GUARD_FROM * steps[-1]]
  if not earlier:
    raise ResultMissing(f"no evaluation at or before {GUARD_FROM:.0%} of the {steps[-1]} steps "
                        "(lower config.eval_every)")
  before, after = _mean(held_out[earlier[-1]]), _mean(held_out[-1])
  return (before - after) / after, steps[earlier[-1]], steps[-1], before, after


def training_unfinished(model) -> str | None:
  """Why the model cannot be judged as trained (its numbers), or None if it has plateaued."""
  drop, start, end, before, after = plateau_drop(model)
  if drop > PLATEAU_FRACTION:
    return (f"held-out recon NLL still falling: {before:.2f} at step {start} -> {after:.2f} at "
            f"step {end} ({drop:.1%} > {PLATEAU_FRACTION:.0%})")
  return None


def guard_margins(results, names) -> str:
  """The guard's number for each model, for the evidence: how far each is from the threshold."""
  drops = [f"{n} {plateau_drop(_get(results, 'models', n))[0]:+.2%}" for n in names]
  return (f"held-out recon NLL fall over the last quarter (finished below "
          f"{PLATEAU_FRACTION:.0%}): " + ", ".join(drops))


def _untrained(results, names) -> Finding | None:
  """NOT_MEASURED naming each model that has not finished training, else None."""
  reasons = [(n, training_unfinished(_get(results, "models", n))) for n in names]
  reasons = [f"{n}: {why}" for n, why in reasons if why]
  why = "models not trained to a plateau; " + "; ".join(reasons)
  return Finding(NOT_MEASURED, why) if reasons else None


def _values(metric) -> list[float]:  # a stats.summary's per-seed values; a number is one seed
  return metric["seeds"] if isinstance(metric, dict) else [float(metric)]


def _mean(metric) -> float:
  return metric["mean"] if isinstance(metric, dict) else float(metric)


def _spread(metric, digits=2) -> str:
  if isinstance(metric, dict):
    return f"{metric['mean']:.{digits}f} ± {metric['sd']:.{digits}f}"
  return f"{metric:.{digits}f}"


def _compare(a, b, scale_b: float = 1.0) -> dict:
  """a - scale_b * b over seeds, paired (a constant b is subtracted from every seed of a)."""
  a_values, b_values = _values(a), [scale_b * v for v in _values(b)]
  if len(b_values) == 1:
    b_values *= len(a_values)
  return stats.compare(a_values, b_values, paired=True, confidence=CONFIDENCE)


def _margin(name: str, c: dict) -> Margin:
  """The Margin of a paired difference `c` read against 0 (every rule's threshold here)."""
  return Margin.from_compare(name, c, 0.0, CONFIDENCE)


def _interval(c: dict, digits=2) -> str:
  return (f"{c['diff']:+.{digits}f} [{c['low']:+.{digits}f}, {c['high']:+.{digits}f}] "
          f"({CONFIDENCE:.0%} over seeds)")


def _lower(c: dict) -> bool:  # the interval of a - b lies below zero: a is clearly lower
  return c["clear"] and c["high"] < 0


def _higher(c: dict) -> bool:
  return c["clear"] and c["low"] > 0


def _models(results, *names):
  """(NOT_MEASURED if a model is untrained, else None; the models); ResultMissing if absent."""
  return _untrained(results, names), [_get(results, "models", n) for n in names]


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
    return Finding(NOT_SUPPORTED, evidence + ": the VAE's samples are not clearly better than "
                   "independent pixels",
                   margin=_margin("VAE β=1 - independent pixels, prior-sample FD", vae_vs_noise))
  if not _higher(ae_vs_vae):
    return Finding(NOT_SUPPORTED, evidence + f"; AE - VAE = {_interval(ae_vs_vae)}: the AE's "
                   "samples are not clearly worse",
                   margin=_margin("AE - VAE β=1, prior-sample FD", ae_vs_vae))
  margin = _margin(f"AE - {PRIOR_FD_RATIO:g} x VAE β=1, prior-sample FD", ae_vs_ratio)
  if _higher(ae_vs_ratio):
    return Finding(SUPPORTED, evidence, margin=margin)
  return Finding(DEPENDS, evidence, f"the AE's prior samples are clearly worse than the VAE's, "
                 f"but not clearly by the {PRIOR_FD_RATIO:g}x the rule asks", margin=margin)


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
    return Finding(NOT_SUPPORTED, evidence + ": fitting the code distribution does not clearly "
                   "help, so the latent space was not the limitation",
                   margin=_margin("AE fitted-Gaussian - N(0, I) samples, FD", fitted_vs_prior))
  margin = _margin(f"AE fitted-Gaussian samples - {FITTED_FD_RATIO:g} x VAE β=1 prior samples, "
                   "FD", fitted_vs_ratio)
  if _lower(fitted_vs_ratio):
    return Finding(SUPPORTED, evidence, margin=margin)
  if _higher(fitted_vs_ratio):
    return Finding(DEPENDS, evidence, f"fitting the codes helps, but the samples stay more than "
                   f"{FITTED_FD_RATIO:g}x the VAE's FD: the decoder is part of the limitation",
                   margin=margin)
  return Finding(DEPENDS, evidence, f"fitting the codes helps; whether the samples come within "
                 f"{FITTED_FD_RATIO:g}x the VAE's FD is within the seed spread", margin=margin)


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
  test_margin = _margin("AE - VAE β=1, test reconstruction NLL", test)
  train_margin = _margin("AE - VAE β=1, train reconstruction NLL", train)
  if _lower(test) and _lower(train):
    # Supported until either interval reaches 0: the one nearer to it decides.
    return Finding(SUPPORTED, evidence,
                   margin=max(test_margin, train_margin, key=lambda m: m.high))
  if _lower(train):
    return Finding(DEPENDS, evidence, "on the data: better on training images, not on held-out "
                   "images (the AE overfits; the KL term regularizes)", margin=test_margin)
  if _lower(test):
    return Finding(DEPENDS, evidence, "on the data: better on held-out images, not on training "
                   "images", margin=train_margin)
  # Not supported until one interval clears 0 from above: the one nearer to it decides.
  return Finding(NOT_SUPPORTED, evidence,
                 margin=min(test_margin, train_margin, key=lambda m: m.high))


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
  if _lower(c):
    return Finding(SUPPORTED, evidence, margin=margin)
  why = ("the VAE's paths are clearly less straight" if _higher(c)
         else "no difference beyond the seed spread")
  return Finding(NOT_SUPPORTED, f"{evidence}: {why}", margin=margin)


def _vae_names(results) -> list[str]:
  return [n for n, m in _get(results, "models").items() if _get(m, "stochastic")]


def has_two_betas(results) -> bool:  # a run speaks to the β trade-off only with VAEs at two β
  return len(_vae_names(results)) >= 2


def beta_tradeoff(results) -> Finding:
  names = _vae_names(results)
  vaes = sorted((_get(results, "models", n) for n in names), key=lambda m: _get(m, "beta"))
  if len(vaes) < 2:  # has_two_betas keeps such runs away: reaching here is a bug
    raise ValueError(f"{len(vaes)} β value(s) in the results; the trade-off needs two")
  if untrained := _untrained(results, names):
    return untrained
  steps, held, failed = [], [], []
  for a, b in zip(vaes, vaes[1:], strict=False):
    rate = _compare(_get(b, "rate"), _get(a, "rate"))
    distortion = _compare(_get(b, "reconstruction_nll"), _get(a, "reconstruction_nll"))
    step = f"β {a['beta']:g} -> {b['beta']:g}"
    # Rate must clearly fall (interval below 0), distortion clearly rise (interval above 0).
    for c, name, ok in ((rate, f"rate change {step}", _lower(rate)),
                        (distortion, f"test recon NLL change {step}", _higher(distortion))):
      (held if ok else failed).append((name, c))
    steps.append(f"{step}: rate {_interval(rate)}, recon {_interval(distortion)}")
  evidence = ("; ".join(f"β={m['beta']:g}: rate {_spread(_get(m, 'rate'))}, recon "
                        f"{_spread(_get(m, 'reconstruction_nll'))}, active units "
                        f"{_mean(_get(m, 'active_units')):.1f}/{_get(m, 'latents')}" for m in vaes)
              + ". Changes (each must be clear: rate down, recon up): " + "; ".join(steps) + "; "
              + guard_margins(results, names))
  if not failed:
    # Supported until one interval reaches 0: the nearest decides (|bound nearest 0|).
    name, c = min(held, key=lambda item: min(abs(item[1]["low"]), abs(item[1]["high"])))
    return Finding(SUPPORTED, evidence, margin=_margin(name, c))
  margin = _margin(*failed[0])  # the first change that is not clear in its direction
  if len({n.split(" change")[0] for n, _ in failed}) == 1:  # rate or recon is clear throughout
    return Finding(DEPENDS, evidence, "on the β range: the trade-off is not clearly monotone "
                   "throughout", margin=margin)
  return Finding(NOT_SUPPORTED, evidence, margin=margin)


CLAIMS = [
    Claim("Q3", "A VAE can produce new data by decoding samples of its prior; a standard "
          "autoencoder, whose codes are unregularized points, cannot.", EXPERIMENT,
          "VAE samples near the real-data floor; no published number for AE prior samples",
          prior_sampling, figure="samples.png"),
    Claim("Q3", "The autoencoder's limitation is its latent space, not its decoder: with a "
          "distribution fitted to its codes it generates too.", EXPERIMENT,
          "—", ae_generates_from_fitted_codes, figure="samples.png"),
    Claim("Q3", "A standard autoencoder, trained only to reconstruct, reconstructs better than a "
          "VAE.", EXPERIMENT, "—", ae_reconstructs_better, figure="learning_curves.png"),
    Claim("Q3", "The VAE's regularized latent space gives smooth transitions between codes.",
          EXPERIMENT, "—", smooth_latent_space, figure="interpolations.png"),
    Claim("Q3", "β trades reconstruction for a regular latent space (rate falls, distortion "
          "rises, units collapse).", EXPERIMENT,
          "Burda et al. 2016: active units as the variance of E_q[z|x] above 0.01", beta_tradeoff,
          figure="rate_distortion.png", applies=has_two_betas),
]

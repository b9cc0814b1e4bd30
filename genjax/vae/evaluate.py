"""Test-split metrics for a trained AE or VAE; every definition is spelled out in BUILD_NOTES.md."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genjax import stats
from genjax.metrics.frechet import frechet_distance
from genjax.models.classifier import Classifier
from genjax.vae import objectives

ACTIVE_UNIT_THRESHOLD = 0.01  # variance over x of E_q[z|x] (Burda et al. 2016)


def _map_batches(fn, *arrays, batch: int = 512):
  """Applies a jitted per-batch fn over the leading axis and concatenates the results."""
  outputs = [fn(*(a[i:i + batch] for a in arrays)) for i in range(0, len(arrays[0]), batch)]
  return jax.tree.map(lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *outputs)


# The per-batch functions below are jitted once per model (static, hashed by its fields) and
# batch shape, with the params as arguments: every seed and model of a run reuses the programs.
@functools.partial(jax.jit, static_argnums=0)
def _encode(model, params, x_BxP):
  return model.apply(params, x_BxP, method=model.encode)


@functools.partial(jax.jit, static_argnums=0)
def _decode_probabilities(model, params, z_BxZ):
  return jax.nn.sigmoid(model.apply(params, z_BxZ, method=model.decode))


@functools.partial(jax.jit, static_argnums=0)
def _reconstruction_nll(model, params, x_BxP, z_BxZ):
  return -objectives.bernoulli_log_likelihood(model.apply(params, z_BxZ, method=model.decode),
                                              x_BxP)


@functools.partial(jax.jit, static_argnums=0)
def _neg_elbo(model, params, x_BxP, keys_B):
  return jax.vmap(lambda x, k: objectives.example_loss(
      model, params, x, k, beta=1.0, stochastic=True)[0])(x_BxP, keys_B)


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _importance_weighted_ll(model, params, x_BxP, keys_B, num_samples: int, chunk: int):
  return jax.vmap(lambda x, k: objectives.importance_weighted_log_likelihood(
      model, params, x, k, num_samples=num_samples, chunk=chunk))(x_BxP, keys_B)


def encode(model, params, x_NxP):
  return _map_batches(functools.partial(_encode, model, params), x_NxP)


def decode_probabilities(model, params, z_NxZ):
  return _map_batches(functools.partial(_decode_probabilities, model, params), z_NxZ)


def draw(probabilities_NxP, key):
  """Binary images x ~ Bernoulli(probabilities): the model's actual samples."""
  return np.asarray(jax.random.bernoulli(key, probabilities_NxP), np.float32)


def decode_samples(model, params, z_NxZ, key):
  """Binary images x ~ p(x|z), the model's actual samples."""
  return draw(decode_probabilities(model, params, z_NxZ), key)


def reconstruction_nll(model, params, x_NxP) -> float:
  """Mean over images of -log p(x | z = encoder mean), nats per image."""
  mean_NxZ, _ = encode(model, params, x_NxP)
  recon_fn = functools.partial(_reconstruction_nll, model, params)
  return float(_map_batches(recon_fn, x_NxP, mean_NxZ).mean())


def make_reconstruction_nll_seeds(model):
  """Jitted `(params_S, x_NxP) -> [S]`: `reconstruction_nll` of every seed of a stacked state.

  Compiled once per model and data shape, so a learning curve costs one compile, not one per
  evaluation (the per-seed function above closes over its params and recompiles each call).
  """

  def one_seed(params, x_NxP):
    mean_NxZ, _ = model.apply(params, x_NxP, method=model.encode)
    logits_NxP = model.apply(params, mean_NxZ, method=model.decode)
    return -objectives.bernoulli_log_likelihood(logits_NxP, x_NxP).mean()

  return jax.jit(jax.vmap(one_seed, in_axes=(0, None)))


def likelihood_metrics(model, params, x_NxP, key, *, stochastic: bool, iwae_samples: int,
                       iwae_chunk: int) -> dict:
  """Reconstruction NLL at z = mean, -ELBO, IWAE NLL, KL per dimension, rate, active units, MI."""
  mean_NxZ, logvar_NxZ = encode(model, params, x_NxP)
  metrics = {"reconstruction_nll": reconstruction_nll(model, params, x_NxP)}
  code_variance = mean_NxZ.var(0)
  metrics["active_units"] = int((code_variance > ACTIVE_UNIT_THRESHOLD).sum())
  metrics["latents"] = int(mean_NxZ.shape[1])
  if not stochastic:
    # The AE has no posterior: ELBO, IWAE, KL and MI are undefined for it.
    return metrics
  keys = jax.random.split(jax.random.fold_in(key, 0), len(x_NxP))
  elbo_fn = functools.partial(_neg_elbo, model, params)
  metrics["neg_elbo"] = float(_map_batches(elbo_fn, x_NxP, keys).mean())
  kl_NxZ = np.asarray(objectives.gaussian_kl_per_dim(mean_NxZ, logvar_NxZ))
  metrics["kl_per_dim"] = kl_NxZ.mean(0).round(4).tolist()
  metrics["rate"] = float(kl_NxZ.sum(1).mean())
  iwae_keys = jax.random.split(jax.random.fold_in(key, 1), len(x_NxP))
  iwae_fn = functools.partial(_importance_weighted_ll, model, params, num_samples=iwae_samples,
                              chunk=iwae_chunk)
  metrics["iwae_nll"] = float(-_map_batches(iwae_fn, x_NxP, iwae_keys, batch=64).mean())
  metrics["iwae_samples"] = iwae_samples
  metrics["mutual_information"] = mutual_information(mean_NxZ, logvar_NxZ,
                                                     jax.random.fold_in(key, 2))
  return metrics


def mutual_information(mean_NxZ, logvar_NxZ, key) -> float:
  """I(x; z) under q(x, z) = p_data(x) q(z|x), with q(z) the mixture over the N test codes.

  E_x E_q(z|x) [log q(z|x) - log (1/N) sum_j q(z|x_j)]; bounded above by log N.
  """
  mean_NxZ, logvar_NxZ = jnp.asarray(mean_NxZ), jnp.asarray(logvar_NxZ)
  z_NxZ = mean_NxZ + jnp.exp(0.5 * logvar_NxZ) * jax.random.normal(key, mean_NxZ.shape)
  log_q_own = objectives.gaussian_log_density(z_NxZ, mean_NxZ, logvar_NxZ)

  # The codes stay constants of this program (one compile per call): as arguments, XLA sums in
  # another order and the estimate moves in its 7th digit.
  @jax.jit
  def log_aggregate(z_BxZ):
    log_q_BxN = jax.vmap(lambda z: objectives.gaussian_log_density(z, mean_NxZ, logvar_NxZ))(z_BxZ)
    return jax.nn.logsumexp(log_q_BxN, axis=1) - jnp.log(mean_NxZ.shape[0])

  log_q_marginal = _map_batches(log_aggregate, np.asarray(z_NxZ), batch=256)
  return float(np.mean(np.asarray(log_q_own) - log_q_marginal))


def sample_quality(classifier: Classifier, samples_NxP, test_features_MxF) -> dict:
  """Fréchet distance to the test images' classifier features (`classifier.features` of the test
  split, computed once per run), confidence, label entropy."""
  features_NxF, logits_NxC = classifier.features_and_logits(samples_NxP)
  probabilities = jax.nn.softmax(logits_NxC)
  label_histogram = np.asarray(probabilities.mean(0))
  return {
      "frechet": frechet_distance(features_NxF, test_features_MxF),
      "confidence": float(np.asarray(probabilities.max(-1)).mean()),
      "label_entropy": float(-(label_histogram * np.log(label_histogram + 1e-12)).sum()),
  }


def reference_quality(classifier: Classifier, train_x_NxP, test_features_MxF, key) -> dict:
  """What the sample metrics read for real images (the floor) and for independent pixels."""
  marginals = train_x_NxP.mean(0)
  independent = np.asarray(jax.random.bernoulli(key, marginals, train_x_NxP.shape), np.float32)
  return {"real_train_vs_test": sample_quality(classifier, train_x_NxP, test_features_MxF),
          "independent_pixels": sample_quality(classifier, independent, test_features_MxF)}


def fitted_gaussian_codes(codes_NxZ, num: int, key) -> np.ndarray:
  """Samples from a full-covariance Gaussian fitted to the AE's training codes."""
  mean = codes_NxZ.mean(0)
  covariance = np.cov(codes_NxZ, rowvar=False) + 1e-6 * np.eye(codes_NxZ.shape[1])
  return np.asarray(jax.random.multivariate_normal(key, mean, covariance, (num,)), np.float32)


def interpolation_smoothness(model, params, classifier: Classifier, codes_a_NxZ, codes_b_NxZ,
                             *, steps: int) -> dict:
  """Decoded path length over `steps` linear steps in z, divided by the endpoint distance.

  1.0 means the decoded images move in a straight line in pixel space; larger is a more
  winding (less smooth) path. Also the classifier's mean confidence along the path.
  """
  t_T = np.linspace(0.0, 1.0, steps, dtype=np.float32)
  path_NxTxZ = codes_a_NxZ[:, None] + t_T[None, :, None] * (codes_b_NxZ - codes_a_NxZ)[:, None]
  n, _, z_dim = path_NxTxZ.shape
  images_NxTxP = decode_probabilities(model, params, path_NxTxZ.reshape(-1, z_dim)).reshape(
      n, steps, -1)
  step_lengths = np.linalg.norm(np.diff(images_NxTxP, axis=1), axis=-1).sum(1)
  endpoint = np.linalg.norm(images_NxTxP[:, -1] - images_NxTxP[:, 0], axis=-1)
  confidence = jax.nn.softmax(classifier.logits(images_NxTxP.reshape(n * steps, -1))).max(-1)
  return {"path_length_ratio": float(np.mean(step_lengths / np.maximum(endpoint, 1e-6))),
          "path_confidence": float(np.asarray(confidence).mean()),
          "paths": images_NxTxP}


@functools.partial(jax.jit, static_argnums=0)
def _distortion_and_rate(model, params, x_BxP, keys_B):
  """Per image: -log p(x|z) at one z ~ q(z|x), and KL(q(z|x) || N(0, I)): the two terms the
  β-ELBO weighs (1 and β), as a training step computes them."""
  return jax.vmap(lambda x, k: objectives.example_loss(
      model, params, x, k, beta=1.0, stochastic=True)[1])(x_BxP, keys_B)


def training_rate_distortion(model, params, train_x_NxP, key) -> dict:
  """The β trade-off's two numbers on the training images (the ones it trades over), one
  reparameterized draw per image; and the active units of the same codes (Burda et al.)."""
  keys = jax.random.split(key, len(train_x_NxP))
  parts = _map_batches(functools.partial(_distortion_and_rate, model, params), train_x_NxP, keys)
  mean_NxZ, _ = encode(model, params, train_x_NxP)
  return {"train_distortion": float(parts["reconstruction"].mean()),
          "train_rate": float(parts["kl"].mean()),
          "train_active_units": int((mean_NxZ.var(0) > ACTIVE_UNIT_THRESHOLD).sum())}


def final_reconstruction(config, model, params, data, key=None, stochastic=False) -> dict:
  """The last checkpoint's reconstruction NLL on test and train images, shown beside the
  selected checkpoint's (the overfitting the selection avoids); for a VAE (`stochastic`, `key`
  given) also its training distortion, rate and active units there: the β rule reads them at
  this step, the last, the same for every β."""
  test_x = data["test"]["binary"]
  test_x = test_x[:config.eval_examples] if config.eval_examples else test_x
  final = {"reconstruction_nll": reconstruction_nll(model, params, test_x),
           "train_reconstruction_nll": reconstruction_nll(model, params, data["train"]["binary"])}
  if stochastic:
    final.update(training_rate_distortion(model, params, data["train"]["binary"], key))
  return final


# Per-model numbers that do not vary over seeds: kept as plain values.
_CONSTANT = ("latents", "iwae_samples")


def evaluate_model(config, model, params, stochastic, data, classifier, test_features,
                   key) -> tuple[dict, dict]:
  """All test metrics of one seed of one model, and the arrays the figures need
  (`test_features`: the classifier's features of the test split, as every FD compares with)."""
  test_x, train_x = data["test"]["binary"], data["train"]["binary"]
  eval_x = test_x[:config.eval_examples] if config.eval_examples else test_x
  metrics = likelihood_metrics(
      model, params, eval_x, jax.random.fold_in(key, 0), stochastic=stochastic,
      iwae_samples=config.iwae_samples, iwae_chunk=config.iwae_chunk)
  metrics["train_reconstruction_nll"] = reconstruction_nll(model, params, train_x)
  num_generated = config.num_generated or len(train_x)
  prior_z = np.asarray(jax.random.normal(jax.random.fold_in(key, 1),
                                         (num_generated, config.latents)))
  # Every sample FD is taken twice on the same codes: on binary draws x ~ p(x|z) (the model's
  # samples; "_samples") and on the decoder's Bernoulli means (grey levels, no pixel noise;
  # "_means"), so a blurry decoder is not judged by its pixel noise alone.
  prior_means = decode_probabilities(model, params, prior_z)
  metrics["prior_samples"] = sample_quality(
      classifier, draw(prior_means, jax.random.fold_in(key, 2)), test_features)
  metrics["prior_means"] = sample_quality(classifier, prior_means, test_features)
  # Figures show Bernoulli means (grey levels).
  arrays = {"prior_samples": decode_probabilities(model, params, prior_z[:64])}
  train_codes, _ = encode(model, params, train_x)
  if not stochastic:
    fitted_z = fitted_gaussian_codes(train_codes, num_generated, jax.random.fold_in(key, 3))
    fitted_means = decode_probabilities(model, params, fitted_z)
    metrics["fitted_gaussian_samples"] = sample_quality(
        classifier, draw(fitted_means, jax.random.fold_in(key, 4)), test_features)
    metrics["fitted_gaussian_means"] = sample_quality(classifier, fitted_means, test_features)
    arrays["fitted_samples"] = decode_probabilities(model, params, fitted_z[:64])
  test_codes, _ = encode(model, params, test_x)
  pairs = 2 * config.interpolation_pairs
  order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 5), len(test_x)))[:pairs]
  smooth = interpolation_smoothness(
      model, params, classifier, test_codes[order[0::2]], test_codes[order[1::2]],
      steps=config.interpolation_steps)
  arrays["paths"] = smooth.pop("paths")
  metrics["interpolation"] = smooth
  arrays["reconstructions"] = decode_probabilities(model, params, test_codes[:10])
  arrays["test_codes"] = test_codes
  return metrics, arrays


def summarize_seeds(per_seed: list[dict]) -> dict:
  """Per-seed metric dicts -> one dict of the same keys, each scalar a stats.summary."""
  first = per_seed[0]
  out = {}
  for name, value in first.items():
    values = [m[name] for m in per_seed]
    if isinstance(value, dict):
      out[name] = summarize_seeds(values)
    elif name in _CONSTANT:
      out[name] = value
    elif isinstance(value, list):  # kl_per_dim: the mean over seeds of each dimension
      out[name] = np.mean(np.asarray(values, np.float64), 0).round(4).tolist()
    else:
      out[name] = stats.summary(values)
  return out

"""Per-example objectives and likelihood bounds for the AE and the VAE.

The AE and the VAE share `EncoderDecoder`. The AE decodes the encoder mean and has no KL term;
the VAE decodes z ~ q(z|x) = N(mean, exp(logvar)) and pays beta * KL(q(z|x) || N(0, I)).
All log-likelihoods are in nats, summed over pixels.
"""

import math

import jax
import jax.numpy as jnp
import optax

LOG_2PI = math.log(2 * math.pi)


def bernoulli_log_likelihood(logits_P, x_P):
  """log p(x | logits), summed over the last axis."""
  return -optax.sigmoid_binary_cross_entropy(logits_P, x_P).sum(-1)


def gaussian_kl_per_dim(mean_Z, logvar_Z):
  """KL(N(mean, exp(logvar)) || N(0, 1)) per latent dimension (closed form, >= 0)."""
  return 0.5 * (jnp.exp(logvar_Z) + mean_Z**2 - 1.0 - logvar_Z)


def gaussian_log_density(z_Z, mean_Z, logvar_Z):
  return -0.5 * jnp.sum(LOG_2PI + logvar_Z + (z_Z - mean_Z) ** 2 * jnp.exp(-logvar_Z), axis=-1)


def example_loss(model, params, x_P, key, *, beta: float, stochastic: bool):
  """The training loss for one example: reconstruction NLL + beta * KL."""
  mean_Z, logvar_Z = model.apply(params, x_P, method=model.encode)
  if stochastic:
    z_Z = mean_Z + jnp.exp(0.5 * logvar_Z) * jax.random.normal(key, mean_Z.shape)
  else:
    z_Z = mean_Z
  reconstruction = -bernoulli_log_likelihood(model.apply(params, z_Z, method=model.decode), x_P)
  kl = gaussian_kl_per_dim(mean_Z, logvar_Z).sum()
  loss = reconstruction + beta * kl
  return loss, {"reconstruction": reconstruction, "kl": kl}


def importance_weighted_log_likelihood(model, params, x_P, key, *, num_samples: int,
                                       chunk: int):
  """log p(x) >= log (1/k) sum_k p(x, z_k) / q(z_k | x), z_k ~ q(z|x) (Burda et al. 2016).

  The k noise vectors are drawn at once (k x Z floats); they are decoded `chunk` at a time and
  combined with a running logsumexp, so decoder memory stays O(chunk) for k = 5000 and the
  estimate does not depend on the chunk size.
  """
  if num_samples % chunk:
    raise ValueError(f"num_samples {num_samples} must be a multiple of chunk {chunk}")
  mean_Z, logvar_Z = model.apply(params, x_P, method=model.encode)

  eps_NxCxZ = jax.random.normal(key, (num_samples // chunk, chunk, mean_Z.shape[-1]))

  def chunk_log_weights(eps_CxZ):
    z_CxZ = mean_Z + jnp.exp(0.5 * logvar_Z) * eps_CxZ
    logits_CxP = model.apply(params, z_CxZ, method=model.decode)
    log_prior = -0.5 * jnp.sum(LOG_2PI + z_CxZ**2, axis=-1)
    log_q = gaussian_log_density(z_CxZ, mean_Z, logvar_Z)
    return bernoulli_log_likelihood(logits_CxP, x_P) + log_prior - log_q

  def accumulate(running, eps_CxZ):
    return jnp.logaddexp(running, jax.nn.logsumexp(chunk_log_weights(eps_CxZ))), None

  total, _ = jax.lax.scan(accumulate, -jnp.inf, eps_NxCxZ)
  return total - jnp.log(num_samples)

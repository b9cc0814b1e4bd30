"""GAN objectives and regularizers, each a small pure function.

D maps packed inputs to logits; `pack` turns [B, D] samples into [B/m, m*D] packs (PacGAN).
"""

import jax
import jax.numpy as jnp
import optax
from jax import lax


def pack(x_BxD, m: int):
  """Consecutive groups of m samples concatenated into one discriminator input."""
  return x_BxD.reshape(x_BxD.shape[0] // m, m * x_BxD.shape[1])


def ns_d_loss(real_logits, fake_logits):
  """Cross-entropy of D: -log D(x) - log(1 - D(G(z)))."""
  return jax.nn.softplus(-real_logits).mean() + jax.nn.softplus(fake_logits).mean()


def ns_g_loss(fake_logits):
  """Non-saturating generator loss -log D(G(z))."""
  return jax.nn.softplus(-fake_logits).mean()


def saturating_g_loss(fake_logits):
  """Minimax generator loss log(1 - D(G(z))): flat where D confidently rejects the fakes."""
  return -jax.nn.softplus(fake_logits).mean()


def wgan_d_loss(real_scores, fake_scores):
  return fake_scores.mean() - real_scores.mean()


def wgan_g_loss(fake_scores):
  return -fake_scores.mean()


def gradient_penalty(d_fn, real_PxI, fake_PxI, key):
  """WGAN-GP: E (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake packs."""
  eps = jax.random.uniform(key, (real_PxI.shape[0], 1))
  x_hat = eps * real_PxI + (1 - eps) * fake_PxI
  grads = jax.grad(lambda x: d_fn(x).sum())(x_hat)
  norms = jnp.sqrt((grads ** 2).sum(-1) + 1e-12)
  return ((norms - 1) ** 2).mean()


def r1_penalty(d_fn, real_PxI):
  """R1: E ||grad_x D(x)||^2 on real packs (multiply by gamma / 2)."""
  grads = jax.grad(lambda x: d_fn(x).sum())(real_PxI)
  return (grads ** 2).sum(-1).mean()


def unroll(d_loss_fn, d_params, d_opt_state, tx: optax.GradientTransformation, keys_K,
           first_order: bool = False):
  """D params after K pure optax steps on `d_loss_fn(params, key)`, one key per step.

  Differentiable: the generator's gradient flows through every inner update (Metz et al. 2017),
  unless `first_order`, which treats the unrolled params as constants (stop_gradient).
  """

  def step(carry, key):
    params, opt_state = carry
    grads = jax.grad(d_loss_fn)(params, key)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  (params, _), _ = lax.scan(step, (d_params, d_opt_state), keys_K)
  return lax.stop_gradient(params) if first_order else params

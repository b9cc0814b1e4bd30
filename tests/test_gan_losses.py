"""GAN losses, penalties and the unrolled discriminator, on hand-made cases."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax.gan import losses


def test_non_saturating_losses_at_zero_logits():
  zero = jnp.zeros(4)
  np.testing.assert_allclose(losses.ns_d_loss(zero, zero), 2 * math.log(2), rtol=1e-6)
  np.testing.assert_allclose(losses.ns_g_loss(zero), math.log(2), rtol=1e-6)
  # A confident D (real +10, fake -10) has near-zero loss; G then has a large loss.
  assert losses.ns_d_loss(jnp.full(4, 10.0), jnp.full(4, -10.0)) < 1e-3
  assert losses.ns_g_loss(jnp.full(4, -10.0)) > 9.9


def test_penalties_on_a_linear_critic():
  w = jnp.array([0.6, 0.8, 0.0])  # unit norm

  def d_fn(x):
    return x @ w

  x = jax.random.normal(jax.random.key(0), (7, 3))
  y = jax.random.normal(jax.random.key(1), (7, 3))
  np.testing.assert_allclose(losses.gradient_penalty(d_fn, x, y, jax.random.key(2)), 0,
                             atol=1e-8)
  np.testing.assert_allclose(losses.r1_penalty(lambda x: 3 * d_fn(x), x), 9.0, rtol=1e-6)


def _toy():
  """A one-parameter 'generator' theta and a linear D with params (w, b)."""
  real = jnp.array([1.0, 2.0, 3.0])

  def fake(theta):
    return theta * jnp.array([0.5, 1.0, 1.5])

  def d_apply(d, x):
    return d["w"] * x + d["b"]

  def d_loss(d, theta, key):
    del key
    return losses.ns_d_loss(d_apply(d, real), d_apply(d, fake(theta)))

  def g_loss(d, theta):
    return losses.ns_g_loss(d_apply(d, fake(theta)))

  d0 = {"w": jnp.array(0.3), "b": jnp.array(-0.1)}
  return d0, d_loss, g_loss


def _unrolled_g_grad(k, first_order, tx=None):
  tx = tx or optax.adam(0.1, eps_root=1e-12)
  d0, d_loss, g_loss = _toy()
  keys = jax.random.split(jax.random.key(0), k)

  def loss(theta):
    d = losses.unroll(lambda p, key: d_loss(p, theta, key), d0, tx.init(d0), tx, keys,
                      first_order)
    return g_loss(d, theta)

  return jax.grad(loss)(jnp.array(0.7))


def test_unrolled_with_zero_steps_equals_vanilla():
  d0, _, g_loss = _toy()
  vanilla = jax.grad(lambda t: g_loss(d0, t))(jnp.array(0.7))
  np.testing.assert_array_equal(_unrolled_g_grad(0, False), vanilla)
  np.testing.assert_array_equal(_unrolled_g_grad(0, True), vanilla)


def test_first_order_unroll_equals_the_gradient_against_updated_d():
  d0, d_loss, g_loss = _toy()
  tx = optax.sgd(0.5)
  theta = jnp.array(0.7)
  d1 = optax.apply_updates(d0, tx.update(jax.grad(d_loss)(d0, theta, None), tx.init(d0))[0])
  expected = jax.grad(lambda t: g_loss(d1, t))(theta)
  np.testing.assert_allclose(_unrolled_g_grad(1, True, tx), expected, rtol=1e-6)


def test_second_order_unroll_differentiates_through_the_d_update():
  d0, d_loss, g_loss = _toy()
  tx = optax.sgd(0.5)

  def by_hand(theta):  # one explicit SGD step of D, differentiated through
    grads = jax.grad(d_loss)(d0, theta, None)
    d1 = jax.tree.map(lambda p, g: p - 0.5 * g, d0, grads)
    return g_loss(d1, theta)

  expected = jax.grad(by_hand)(jnp.array(0.7))
  np.testing.assert_allclose(_unrolled_g_grad(1, False, tx), expected, rtol=1e-6)
  assert abs(_unrolled_g_grad(1, False, tx) - _unrolled_g_grad(1, True, tx)) > 1e-4
  # Through Adam with eps_root the unrolled gradient stays finite for K = 5.
  assert np.isfinite(_unrolled_g_grad(5, False))

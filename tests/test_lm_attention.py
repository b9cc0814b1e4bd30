"""The language model's attention (FlashAttention's backward) and flat optimizer (genjax/lm)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from genjax.lm import attention, step


def _qkv(t=16, seed=0):
  keys = jax.random.split(jax.random.key(seed), 3)
  return tuple(jax.random.normal(k, (2, t, 3, 8)) for k in keys)


def _jax_attention(q, k, v):
  return jax.nn.dot_product_attention(q, k, v, is_causal=True)


def test_forward_is_jax_dot_product_attention_bit_for_bit():
  q, k, v = _qkv()
  np.testing.assert_array_equal(jax.jit(attention.causal_attention)(q, k, v),
                                jax.jit(_jax_attention)(q, k, v))


@pytest.mark.parametrize("t", [1, 7, 16])
def test_gradients_match_autodiff(t):
  q, k, v = _qkv(t)
  dout = jax.random.normal(jax.random.key(9), q.shape)
  ours = jax.vjp(attention.causal_attention, q, k, v)[1](dout)
  autodiff = jax.vjp(_jax_attention, q, k, v)[1](dout)
  for name, a, b in zip("qkv", ours, autodiff, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"d{name}")


def test_a_key_gets_gradient_only_from_the_queries_that_see_it():
  q, k, v = _qkv()
  dout = jnp.zeros_like(q).at[:, 5].set(1.0)  # only query 5's output matters
  dq, dk, dv = jax.vjp(attention.causal_attention, q, k, v)[1](dout)
  for name, grad in (("dk", dk), ("dv", dv)):
    norms = np.asarray(jnp.abs(grad).sum((0, 2, 3)))
    assert np.all(norms[6:] == 0) and np.all(norms[:6] > 0), f"{name}: {norms}"
  assert np.all(np.asarray(jnp.abs(dq).sum((0, 2, 3)))[np.arange(16) != 5] == 0)


@pytest.mark.parametrize("kwargs", [{"causal": False}, {"causal": True, "mask": jnp.ones((2, 16))}])
def test_attend_refuses_what_it_does_not_compute(kwargs):
  q, k, v = _qkv()
  with pytest.raises(ValueError, match="causal self-attention"):
    attention.attend(q, k, v, **kwargs)


def _tree(seed):
  keys = jax.random.split(jax.random.key(seed), 3)
  return {"w": jax.random.normal(keys[0], (4, 3)), "b": jax.random.normal(keys[1], (3,)),
          "deep": {"x": jax.random.normal(keys[2], (2, 2, 2))}}


@pytest.mark.parametrize("schedule", [(2, 10), None])
def test_flat_adam_is_per_array_adam_up_to_rounding(schedule):
  """The same clipped Adam as over the parameter tree, the tree's structure kept, the rate
  schedule (or the state's constant rate) the same; gradients large enough to clip."""
  flat = step.make_tx(0.5, 1e-2, schedule)
  if schedule:
    rate = optax.warmup_cosine_decay_schedule(0.0, 1e-2, 2, 10, 1e-3)
    per_array = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(rate))
  else:
    per_array = optax.chain(optax.clip_by_global_norm(0.5),
                            optax.inject_hyperparams(optax.adam)(learning_rate=1e-2))
  params = {"flat": _tree(0), "per_array": _tree(0)}
  states = {"flat": flat.init(params["flat"]), "per_array": per_array.init(params["per_array"])}
  for i in range(5):
    grads = jax.tree.map(lambda x: 3 * x, _tree(i + 1))
    for name, tx in (("flat", flat), ("per_array", per_array)):
      updates, states[name] = tx.update(grads, states[name], params[name])
      params[name] = optax.apply_updates(params[name], updates)
  assert jax.tree.structure(params["flat"]) == jax.tree.structure(params["per_array"])
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), params["flat"], _tree(0))
  assert min(jax.tree.leaves(moved)) > 1e-3  # the steps did move every array
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               params["flat"], params["per_array"])

"""Transformer causality, the bag-of-tokens baseline, LoRA (genjax/lm, issue 4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import attention
from genjax.attention import encoder
from genjax.lm import lora
from genjax.lm.model import BagOfTokensMLP, Transformer, next_token_nll


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_causal_mask_through_gradients(positions):
  model = Transformer(vocab=8, num_layers=2, width=16, num_heads=2, max_len=10,
                      positions=positions)
  tokens = jax.random.randint(jax.random.key(0), (1, 10), 0, 8)
  params = model.init(jax.random.key(1), tokens)
  perturb = jnp.zeros((1, 10, 16))
  for t in (0, 4, 9):
    grad = jax.grad(lambda p, t=t: model.apply(params, tokens, p)[0, t].sum())(perturb)
    norms = np.asarray(jnp.abs(grad[0]).sum(-1))
    assert np.all(norms[t + 1:] == 0), f"position {t} depends on later tokens: {norms}"
    assert np.all(norms[:t + 1] > 0)


def test_bag_of_tokens_is_causal():
  model = BagOfTokensMLP(vocab=8, width=8)
  tokens = jax.random.randint(jax.random.key(0), (1, 12), 0, 8)
  params = model.init(jax.random.key(1), tokens)
  changed = tokens.at[0, 7:].set((tokens[0, 7:] + 1) % 8)
  np.testing.assert_array_equal(model.apply(params, tokens)[0, :7],
                                model.apply(params, changed)[0, :7])


def _model_and_params():
  model = Transformer(vocab=8, num_layers=2, width=16, num_heads=2, max_len=8)
  params = model.init(jax.random.key(0), jnp.zeros((1, 7), jnp.int32))
  return model, params


def test_lora_zero_init_leaves_model_unchanged():
  model, params = _model_and_params()
  adapters = lora.init(jax.random.key(1), params, rank=2)
  assert len(adapters) == 8  # qkv, out, mlp_in, mlp_out of 2 blocks
  merged = lora.merge(params, adapters)
  tokens = jax.random.randint(jax.random.key(2), (3, 8), 0, 8)
  np.testing.assert_array_equal(next_token_nll(model, params, tokens),
                                next_token_nll(model, merged, tokens))


@pytest.mark.parametrize("rank", [1, 2])
def test_lora_update_has_rank_r_and_touches_only_targets(rank):
  model, params = _model_and_params()
  adapters = lora.init(jax.random.key(1), params, rank=rank)
  adapters = jax.tree.map(lambda x: x + jax.random.normal(jax.random.key(3), x.shape), adapters)
  merged = lora.merge(params, adapters)
  flat_p = dict(jax.tree_util.tree_flatten_with_path(params)[0])
  flat_m = dict(jax.tree_util.tree_flatten_with_path(merged)[0])
  changed = 0
  for path, w in flat_p.items():
    diff = np.asarray(flat_m[path] - w)
    name = jax.tree_util.keystr(path)
    if any(f"'{t}'" in name for t in lora.TARGETS) and name.endswith("['kernel']"):
      assert np.linalg.matrix_rank(diff, tol=1e-4) == rank, name
      changed += 1
    else:
      assert not diff.any(), f"{name} changed but is not a LoRA target"
  assert changed == 8


def test_transformer_blocks_are_the_shared_encoder_layer():
  model = Transformer(vocab=8, num_layers=1, width=16, num_heads=2, max_len=8)
  tokens = jax.random.randint(jax.random.key(0), (2, 8), 0, 8)
  params = model.init(jax.random.key(1), tokens)
  _, state = model.apply(params, tokens, capture_intermediates=True)
  block_out = state["intermediates"]["block_0"]["__call__"][0]
  p = params["params"]
  x = p["embed"]["embedding"][tokens] + p["pos_embed"][None]
  layer = encoder.EncoderLayer(2, attention.get("dot_product"), causal=True)
  np.testing.assert_allclose(layer.apply({"params": p["block_0"]}, x), block_out, rtol=1e-6,
                             atol=1e-6)

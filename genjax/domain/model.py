"""Decoder-only transformer (pre-LN, causal, learned or rotary positions) and a bag-of-tokens MLP.

Both map tokens_BxT to next-token logits_BxTxV where position t sees only tokens 0..t.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax import attention

# genjax.attention's exact default (jax.nn.dot_product_attention); "naive" is the written-out
# reference with the same signature. The one place to switch attention implementations.
_ATTEND = attention.get("dot_product")


def causal_attention(q_BxTxHxD, k_BxTxHxD, v_BxTxHxD):
  """Causal softmax attention: query t sees keys 0..t."""
  return _ATTEND(q_BxTxHxD, k_BxTxHxD, v_BxTxHxD, causal=True)


def rotary(x_BxTxHxD):
  """Rotary position embedding (Su et al. 2021) on the last axis, pairs (i, i + D/2)."""
  t, d = x_BxTxHxD.shape[1], x_BxTxHxD.shape[-1]
  freq_F = 1.0 / (10000.0 ** (jnp.arange(0, d // 2) / (d // 2)))
  angle_TxF = jnp.arange(t)[:, None] * freq_F[None, :]
  cos, sin = jnp.cos(angle_TxF)[None, :, None, :], jnp.sin(angle_TxF)[None, :, None, :]
  x1, x2 = x_BxTxHxD[..., :d // 2], x_BxTxHxD[..., d // 2:]
  return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


class CausalSelfAttention(nn.Module):
  num_heads: int
  positions: str  # "learned" (added at the input) or "rotary" (applied to q and k here)

  @nn.compact
  def __call__(self, x_BxTxD):
    b, t, d = x_BxTxD.shape
    head_dim = d // self.num_heads
    qkv_BxTx3D = nn.Dense(3 * d, name="qkv")(x_BxTxD)
    q, k, v = jnp.split(qkv_BxTx3D.reshape(b, t, 3 * self.num_heads, head_dim), 3, axis=2)
    if self.positions == "rotary":
      q, k = rotary(q), rotary(k)
    out_BxTxHxD = causal_attention(q, k, v)
    return nn.Dense(d, name="out")(out_BxTxHxD.reshape(b, t, d))


class Block(nn.Module):
  num_heads: int
  positions: str
  mlp_ratio: int = 4

  @nn.compact
  def __call__(self, x_BxTxD):
    d = x_BxTxD.shape[-1]
    x_BxTxD = x_BxTxD + CausalSelfAttention(self.num_heads, self.positions, name="attn")(
        nn.LayerNorm(name="ln_attn")(x_BxTxD))
    h = nn.LayerNorm(name="ln_mlp")(x_BxTxD)
    h = nn.Dense(self.mlp_ratio * d, name="mlp_in")(h)
    h = nn.Dense(d, name="mlp_out")(nn.gelu(h))
    return x_BxTxD + h


class Transformer(nn.Module):
  """Pre-LN decoder-only transformer."""

  vocab: int
  num_layers: int = 2
  width: int = 64
  num_heads: int = 2
  max_len: int = 64
  positions: str = "learned"

  @nn.compact
  def __call__(self, tokens_BxT, perturb_BxTxD=None):
    """perturb_BxTxD is added to the token embeddings (tests differentiate through it)."""
    x_BxTxD = nn.Embed(self.vocab, self.width, name="embed")(tokens_BxT)
    if perturb_BxTxD is not None:
      x_BxTxD = x_BxTxD + perturb_BxTxD
    if self.positions == "learned":
      pos_TxD = self.param("pos_embed", nn.initializers.normal(0.02),
                           (self.max_len, self.width))[:tokens_BxT.shape[1]]
      x_BxTxD = x_BxTxD + pos_TxD[None]
    for i in range(self.num_layers):
      x_BxTxD = Block(self.num_heads, self.positions, name=f"block_{i}")(x_BxTxD)
    return nn.Dense(self.vocab, name="head")(nn.LayerNorm(name="ln_final")(x_BxTxD))


class BagOfTokensMLP(nn.Module):
  """Sees the current token and the frequencies of tokens 0..t, but not their order."""

  vocab: int
  width: int = 64
  num_layers: int = 2

  @nn.compact
  def __call__(self, tokens_BxT):
    onehot_BxTxV = jax.nn.one_hot(tokens_BxT, self.vocab)
    counts_BxTxV = jnp.cumsum(onehot_BxTxV, axis=1)
    freq_BxTxV = counts_BxTxV / jnp.arange(1, tokens_BxT.shape[1] + 1)[None, :, None]
    t_BxTx1 = jnp.broadcast_to(jnp.log1p(jnp.arange(tokens_BxT.shape[1]))[None, :, None] / 4,
                               (*tokens_BxT.shape, 1))
    h = jnp.concatenate([onehot_BxTxV, freq_BxTxV, t_BxTx1], axis=-1)
    for i in range(self.num_layers):
      h = nn.gelu(nn.Dense(4 * self.width, name=f"dense_{i}")(h))
    return nn.Dense(self.vocab, name="head")(h)


def make_model(arch: str, *, vocab: int, width: int, num_heads: int, max_len: int,
               positions: str, num_layers: int):
  """arch: "transformer" (num_layers), "transformer_1layer" or "bag_mlp"."""
  if arch == "transformer":
    return Transformer(vocab, num_layers, width, num_heads, max_len, positions)
  if arch == "transformer_1layer":
    return Transformer(vocab, 1, width, num_heads, max_len, positions)
  if arch == "bag_mlp":
    return BagOfTokensMLP(vocab, width)
  raise ValueError(f"unknown architecture {arch!r}")


def next_token_nll(model, params, tokens_BxL):
  """-log p(x_t | x_<t) for t = 1..L-1 (B x L-1): the model reads x_0..x_{L-2}."""
  logits_BxTxV = model.apply(params, tokens_BxL[:, :-1])
  logp_BxTxV = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32))
  return -jnp.take_along_axis(logp_BxTxV, tokens_BxL[:, 1:, None], axis=-1)[..., 0]

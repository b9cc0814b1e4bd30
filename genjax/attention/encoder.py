"""A pre-LN transformer layer (attention + 4d MLP) that takes any attention variant."""

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp

from genjax.attention import variants

Attend = Callable[..., jnp.ndarray]  # attend(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask, causal)


class MultiHeadAttention(nn.Module):
  """Q, K, V projections, one attention variant, output projection."""

  num_heads: int
  attend: Attend = variants.naive

  @nn.compact
  def __call__(self, x_BxTxD, *, mask=None, causal=False):
    d = x_BxTxD.shape[-1]
    if d % self.num_heads:
      raise ValueError(f"model width {d} is not divisible by num_heads={self.num_heads}")
    qkv_BxTx3xHxK = nn.DenseGeneral((3, self.num_heads, d // self.num_heads), name="qkv")(x_BxTxD)
    q, k, v = (qkv_BxTx3xHxK[:, :, i] for i in range(3))
    out_BxTxHxK = self.attend(q, k, v, mask=mask, causal=causal)
    return nn.DenseGeneral(d, axis=(-2, -1), name="out")(out_BxTxHxK)


class Mlp(nn.Module):
  """d -> ratio * d -> d with GELU."""

  ratio: int = 4

  @nn.compact
  def __call__(self, x_BxTxD):
    d = x_BxTxD.shape[-1]
    return nn.Dense(d, name="down")(nn.gelu(nn.Dense(self.ratio * d, name="up")(x_BxTxD)))


class EncoderLayer(nn.Module):
  """x + attn(LN(x)), then x + MLP(LN(x)). `causal=True` makes it a decoder-only LM block."""

  num_heads: int
  attend: Attend = variants.naive
  mlp_ratio: int = 4
  causal: bool = False

  @nn.compact
  def __call__(self, x_BxTxD, mask_BxT=None):
    attn = MultiHeadAttention(self.num_heads, self.attend, name="attention")
    x_BxTxD = x_BxTxD + attn(nn.LayerNorm(name="ln_attention")(x_BxTxD), mask=mask_BxT,
                             causal=self.causal)
    return x_BxTxD + Mlp(self.mlp_ratio, name="mlp")(nn.LayerNorm(name="ln_mlp")(x_BxTxD))


def layer_flops(n, d, mlp_ratio=4):
  """Forward FLOPs of one layer by part (one sequence): the FLOP model of the seed claim."""
  return {"projections": 8 * n * d * d, "mlp": 4 * mlp_ratio * n * d * d,
          "attention": 4 * n * n * d}

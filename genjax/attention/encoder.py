"""The one pre-LN transformer layer (attention + 4d MLP) of genjax; it takes any attention variant.

Bidirectional it is the encoder layer of the attention sweeps; with `causal=True` it is the block
of the domain study's decoder-only LM (`genjax.lm.model.Transformer`), optionally with rotary
positions on q and k.
"""

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp

from genjax.attention import variants
from genjax.errors import UserError

Attend = Callable[..., jnp.ndarray]  # attend(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask, causal)


def rotary(x_BxTxHxD):
  """Rotary position embedding (Su et al. 2021) on the last axis, pairs (i, i + D/2)."""
  t, d = x_BxTxHxD.shape[1], x_BxTxHxD.shape[-1]
  freq_F = 1.0 / (10000.0 ** (jnp.arange(0, d // 2) / (d // 2)))
  angle_TxF = jnp.arange(t)[:, None] * freq_F[None, :]
  cos, sin = jnp.cos(angle_TxF)[None, :, None, :], jnp.sin(angle_TxF)[None, :, None, :]
  x1, x2 = x_BxTxHxD[..., :d // 2], x_BxTxHxD[..., d // 2:]
  return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


class MultiHeadAttention(nn.Module):
  """Q, K, V projections (one d x 3d kernel: LoRA sees a matrix), attention, out projection."""

  num_heads: int
  attend: Attend = variants.naive
  rotary: bool = False  # rotate q and k by their position (else positions come from the input)

  @nn.compact
  def __call__(self, x_BxTxD, *, mask=None, causal=False):
    b, t, d = x_BxTxD.shape
    if d % self.num_heads:
      raise UserError(f"model width {d} is not divisible by num_heads={self.num_heads}")
    head_dim = d // self.num_heads
    qkv_BxTx3D = nn.Dense(3 * d, name="qkv")(x_BxTxD)
    q, k, v = jnp.split(qkv_BxTx3D.reshape(b, t, 3 * self.num_heads, head_dim), 3, axis=2)
    if self.rotary:
      q, k = rotary(q), rotary(k)
    out_BxTxHxK = self.attend(q, k, v, mask=mask, causal=causal)
    return nn.Dense(d, name="out")(out_BxTxHxK.reshape(b, t, d))


class EncoderLayer(nn.Module):
  """x + attn(LN(x)), then x + MLP(LN(x)). `causal=True` makes it a decoder-only LM block."""

  num_heads: int
  attend: Attend = variants.naive
  mlp_ratio: int = 4
  causal: bool = False
  rotary: bool = False

  @nn.compact
  def __call__(self, x_BxTxD, mask_BxT=None):
    d = x_BxTxD.shape[-1]
    attn = MultiHeadAttention(self.num_heads, self.attend, self.rotary, name="attn")
    x_BxTxD = x_BxTxD + attn(nn.LayerNorm(name="ln_attn")(x_BxTxD), mask=mask_BxT,
                             causal=self.causal)
    h_BxTxF = nn.Dense(self.mlp_ratio * d, name="mlp_in")(nn.LayerNorm(name="ln_mlp")(x_BxTxD))
    return x_BxTxD + nn.Dense(d, name="mlp_out")(nn.gelu(h_BxTxF))


def layer_flops(n, d, mlp_ratio=4):
  """Forward FLOPs of one layer by part (one sequence): the FLOP model of the seed claim."""
  return {"projections": 8 * n * d * d, "mlp": 4 * mlp_ratio * n * d * d,
          "attention": 4 * n * n * d}

"""Decoder-only transformer (pre-LN, causal, learned or rotary positions) and a bag-of-tokens MLP.

The transformer stacks genjax's one pre-LN block, `attention.encoder.EncoderLayer(causal=True)`.

Both map tokens_BxT to next-token logits_BxTxV where position t sees only tokens 0..t.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from genjax.attention import encoder
from genjax.errors import UserError
from genjax.lm import attention

ARCHS = ("transformer", "transformer_1layer", "bag_mlp")  # the names `make_model` knows

# jax.nn.dot_product_attention's forward with FlashAttention's backward (genjax/lm/attention.py);
# any genjax.attention variant has the same signature. The one place to switch implementations.
_ATTEND = attention.attend


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
      x_BxTxD = encoder.EncoderLayer(self.num_heads, _ATTEND, causal=True,
                                     rotary=self.positions == "rotary", name=f"block_{i}")(x_BxTxD)
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
  raise UserError(f"unknown architecture {arch!r}")


def check_archs(config) -> None:
  """A one-line UserError unless config.model and every config.architecture_models is in ARCHS."""
  for field, arch in [("model", config.model),
                      *(("architecture_models", a) for a in config.architecture_models)]:
    if arch not in ARCHS:
      raise UserError(f"config.{field} has unknown architecture {arch!r}; use {', '.join(ARCHS)}")


def next_token_nll(model, params, tokens_BxL):
  """-log p(x_t | x_<t) for t = 1..L-1 (B x L-1): the model reads x_0..x_{L-2}."""
  logits_BxTxV = model.apply(params, tokens_BxL[:, :-1])
  logp_BxTxV = jax.nn.log_softmax(logits_BxTxV.astype(jnp.float32))
  return -jnp.take_along_axis(logp_BxTxV, tokens_BxL[:, 1:, None], axis=-1)[..., 0]

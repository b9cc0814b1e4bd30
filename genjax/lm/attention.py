"""The language model's causal attention: jax.nn.dot_product_attention's forward with
FlashAttention's backward (Dao et al. 2022, Algorithm 4).

Autodiff of the softmax reduces dP * P over the keys (a T x T reduction per head); the
FlashAttention form reads rowsum(dO * O) over the head dim instead and reuses the forward's
probabilities. The gradients agree with autodiff's to float32 rounding, not bit for bit
(tests/test_lm_attention.py); on XLA:CPU the step runs faster (bench/bench_lm_step.py).
"""

import jax
import jax.numpy as jnp
import numpy as np


def _forward(q_BxTxHxK, k_BxSxHxK, v_BxSxHxK):
  """jax.nn.dot_product_attention(..., is_causal=True)'s XLA path, op for op (same bits)."""
  scale = np.float32(1.0 / np.sqrt(q_BxTxHxK.shape[-1]))
  logits_BxHxTxS = jnp.einsum("BTNH,BSNH->BNTS", q_BxTxHxK, k_BxSxHxK,
                              preferred_element_type=jnp.float32) * scale
  t, s = logits_BxHxTxS.shape[-2:]
  causal_TxS = jnp.tril(jnp.ones((t, s), bool))
  # jax's large negative number: finite, so a fully masked row cannot make NaNs
  probs_BxHxTxS = jax.nn.softmax(
      jnp.where(causal_TxS, logits_BxHxTxS, -0.7 * jnp.finfo(jnp.float32).max), axis=-1)
  out_BxTxHxK = jnp.einsum("BNTS,BSNH->BTNH", probs_BxHxTxS, v_BxSxHxK)
  return out_BxTxHxK, (q_BxTxHxK, k_BxSxHxK, v_BxSxHxK, probs_BxHxTxS, out_BxTxHxK)


@jax.custom_vjp
def causal_attention(q_BxTxHxK, k_BxSxHxK, v_BxSxHxK):
  """softmax(QK^T / sqrt(K) + causal mask) V, float32."""
  return _forward(q_BxTxHxK, k_BxSxHxK, v_BxSxHxK)[0]


def _backward(residuals, dout_BxTxHxK):
  q_BxTxHxK, k_BxSxHxK, v_BxSxHxK, probs_BxHxTxS, out_BxTxHxK = residuals
  scale = np.float32(1.0 / np.sqrt(q_BxTxHxK.shape[-1]))
  dv_BxSxHxK = jnp.einsum("BNTS,BTNH->BSNH", probs_BxHxTxS, dout_BxTxHxK)
  dprobs_BxHxTxS = jnp.einsum("BTNH,BSNH->BNTS", dout_BxTxHxK, v_BxSxHxK)
  # rowsum(dO * O) = sum_s P_ts dP_ts: the softmax's correction, over the head dim
  delta_BxHxTx1 = jnp.sum(dout_BxTxHxK * out_BxTxHxK, -1).transpose(0, 2, 1)[..., None]
  # masked entries have P = 0 exactly, so their logits get no gradient
  dlogits_BxHxTxS = probs_BxHxTxS * (dprobs_BxHxTxS - delta_BxHxTx1) * scale
  dq_BxTxHxK = jnp.einsum("BNTS,BSNH->BTNH", dlogits_BxHxTxS, k_BxSxHxK)
  dk_BxSxHxK = jnp.einsum("BNTS,BTNH->BSNH", dlogits_BxHxTxS, q_BxTxHxK)
  return dq_BxTxHxK, dk_BxSxHxK, dv_BxSxHxK


causal_attention.defvjp(_forward, _backward)


def attend(q_BxTxHxK, k_BxSxHxK, v_BxSxHxK, *, mask=None, causal=False):
  """genjax.attention's signature (encoder.Attend), causal and unmasked only: the LM's case."""
  if mask is not None or not causal:
    raise ValueError("genjax.lm.attention.attend is causal self-attention without a padding mask")
  return causal_attention(q_BxTxHxK, k_BxSxHxK, v_BxSxHxK)

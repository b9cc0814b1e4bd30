"""Attention variants, all with one signature.

  out_BxTxHxD = variant(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, **params)

`mask` is a boolean key-padding mask of shape [B, S] (True: the key may be attended to); naive
and dot_product also take a full mask broadcastable to [B, H, T, S]. `causal` lets query t see
keys s <= t (top-left aligned, as in jax.nn.dot_product_attention). A query that sees no key at
all returns zeros in every variant of this module except dot_product (XLA's reference then
averages all values). Linformer cannot be causal (its projection mixes future keys) and raises.

Exact: naive, dot_product, chunked (and `blocked`, chunked with whole key rows), pallas_flash
(a fused GPU kernel; no key-padding mask),
sliding_window with window >= n, block_sparse when its blocks cover every key.
Approximate: sliding_window, block_sparse (sparsity), linformer (rank), performer (features), lsh.
"""

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

# Masked logits use a finite value so that fully masked rows give no NaN in values or gradients.
_NEG = -1e30


def _scale(q):
  return q * (1.0 / math.sqrt(q.shape[-1]))


def _to_g(x_BxTxHxD):
  """[B, T, H, D] -> [B*H, T, D]: one leading axis of independent (batch, head) problems."""
  b, t, h, d = x_BxTxHxD.shape
  return x_BxTxHxD.transpose(0, 2, 1, 3).reshape(b * h, t, d)


def _from_g(x_GxTxD, b, h):
  g, t, d = x_GxTxD.shape
  return x_GxTxD.reshape(b, h, t, d).transpose(0, 2, 1, 3)


def _key_mask_g(mask_BxS, b, h, s):
  """Key-padding mask [B, S] -> [B*H, S]; all True when there is none."""
  if mask_BxS is None:
    return jnp.ones((b * h, s), bool)
  if mask_BxS.shape != (b, s):
    raise ValueError(f"mask must have shape [B, S] = {(b, s)} here, got {mask_BxS.shape}")
  return jnp.repeat(mask_BxS.astype(bool), h, axis=0)


def _pad_axis(x, axis, new_size, value=0):
  pad = [(0, 0)] * x.ndim
  pad[axis] = (0, new_size - x.shape[axis])
  return jnp.pad(x, pad, constant_values=value)


def _check_self(q, k, name):
  if q.shape[1] != k.shape[1]:
    raise ValueError(f"{name} needs self-attention (T == S), got T={q.shape[1]} S={k.shape[1]}")


# ----------------------------------------------------------------------------- exact, O(n^2)


def attention_weights(q_BxTxHxD, k_BxSxHxD, *, mask=None, causal=False):
  """softmax(QK^T / sqrt(d)) as [B, H, T, S], with masked entries exactly 0."""
  t, s = q_BxTxHxD.shape[1], k_BxSxHxD.shape[1]
  logits_BxHxTxS = jnp.einsum("bthd,bshd->bhts", _scale(q_BxTxHxD), k_BxSxHxD)
  keep = None
  if mask is not None:
    keep = mask[:, None, None, :] if mask.ndim == 2 else mask
  if causal:
    tri_TxS = jnp.arange(s)[None, :] <= jnp.arange(t)[:, None]
    keep = tri_TxS if keep is None else keep & tri_TxS
  if keep is None:
    return jax.nn.softmax(logits_BxHxTxS, axis=-1)
  weights = jax.nn.softmax(jnp.where(keep, logits_BxHxTxS, _NEG), axis=-1)
  return jnp.where(keep, weights, 0.0)


def naive(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False):
  """softmax(QK^T / sqrt(d)) V written out: O(n^2) time and memory."""
  weights_BxHxTxS = attention_weights(q_BxTxHxD, k_BxSxHxD, mask=mask, causal=causal)
  return jnp.einsum("bhts,bshd->bthd", weights_BxHxTxS, v_BxSxHxD)


def dot_product(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False,
                implementation=None):
  """jax.nn.dot_product_attention; implementation='cudnn' on GPU, None lets JAX choose."""
  if mask is not None and mask.ndim == 2:
    mask = mask[:, None, None, :]
  if implementation == "cudnn" and jax.default_backend() != "gpu":
    raise ValueError(f"implementation='cudnn' needs a GPU, the backend is {jax.default_backend()}")
  return jax.nn.dot_product_attention(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, mask=mask,
                                      is_causal=causal, implementation=implementation)


def chunked(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, query_chunk=256,
            key_chunk=512):
  """Exact memory-efficient attention (Rabe & Staats 2021; the FlashAttention recurrence).

  Queries go in blocks of `query_chunk` (lax.map, each block under jax.checkpoint so the
  backward pass recomputes it); inside a block, an online softmax runs over key blocks of
  `key_chunk` (lax.scan), carrying the running max, normaliser and output. The last blocks are
  padded and the padded keys masked, so any n is exact. `key_chunk=None` takes whole key rows
  in one step (the `blocked` variant: no rescaling, the fastest exact variant on CPU). With
  `causal`, key blocks entirely in a query block's future are skipped (lax.cond), halving work.
  Memory beyond inputs and outputs: O(query_chunk * key_chunk) forward, O(n) with gradients.
  """
  b, t, h, d = q_BxTxHxD.shape
  s = k_BxSxHxD.shape[1]
  bq = min(query_chunk, t)
  bk = s if key_chunk is None else min(key_chunk, s)
  nq, nk = -(-t // bq), -(-s // bk)
  q_GxTxD = _pad_axis(_to_g(_scale(q_BxTxHxD)), 1, nq * bq)
  k_GxSxD = _pad_axis(_to_g(k_BxSxHxD), 1, nk * bk)
  v_GxSxD = _pad_axis(_to_g(v_BxSxHxD), 1, nk * bk)
  g = b * h
  masked = mask is not None or causal or nk * bk != s
  keep_GxS = _pad_axis(_key_mask_g(mask, b, h, s), 1, nk * bk, False)
  k_GxNxKxD = k_GxSxD.reshape(g, nk, bk, d)
  v_GxNxKxD = v_GxSxD.reshape(g, nk, bk, d)
  keep_GxNxK = keep_GxS.reshape(g, nk, bk)

  def key_block(carry, qi_QxD, gi, q0, j):
    max_Q, norm_Q, out_QxD = carry
    kj_KxD, vj_KxD = k_GxNxKxD[gi, j], v_GxNxKxD[gi, j]
    logits_QxK = qi_QxD @ kj_KxD.T
    if masked:
      keep_QxK = jnp.broadcast_to(keep_GxNxK[gi, j][None, :], logits_QxK.shape)
      if causal:
        keep_QxK = keep_QxK & ((j * bk + jnp.arange(bk))[None, :] <= (q0 + jnp.arange(bq))[:, None])
      logits_QxK = jnp.where(keep_QxK, logits_QxK, _NEG)
    new_max_Q = jnp.maximum(max_Q, logits_QxK.max(-1))
    p_QxK = jnp.exp(logits_QxK - new_max_Q[:, None])
    if masked:
      p_QxK = jnp.where(keep_QxK, p_QxK, 0.0)
    rescale_Q = jnp.exp(max_Q - new_max_Q)
    return (new_max_Q, norm_Q * rescale_Q + p_QxK.sum(-1),
            out_QxD * rescale_Q[:, None] + p_QxK @ vj_KxD)

  @jax.checkpoint
  def query_block(args):
    qi_QxD, gi, qb = args
    q0 = qb * bq
    init = (jnp.full((bq,), _NEG, q_GxTxD.dtype), jnp.zeros((bq,), q_GxTxD.dtype),
            jnp.zeros((bq, d), q_GxTxD.dtype))
    if nk == 1:
      _, norm_Q, out_QxD = key_block(init, qi_QxD, gi, q0, 0)
    else:
      def step(carry, j):
        if not causal:
          return key_block(carry, qi_QxD, gi, q0, j), None
        future = j * bk > q0 + bq - 1  # the whole key block lies after the last query
        return lax.cond(future, lambda c: c, lambda c: key_block(c, qi_QxD, gi, q0, j),
                        carry), None
      (_, norm_Q, out_QxD), _ = lax.scan(step, init, jnp.arange(nk))
    return out_QxD / jnp.where(norm_Q > 0, norm_Q, 1.0)[:, None]

  q_FxQxD = q_GxTxD.reshape(g * nq, bq, d)
  flat = jnp.arange(g * nq)
  out_FxQxD = lax.map(query_block, (q_FxQxD, flat // nq, flat % nq))
  out_GxTxD = out_FxQxD.reshape(g, nq * bq, d)[:, :t]
  return _from_g(out_GxTxD, b, h).astype(v_BxSxHxD.dtype)


blocked = functools.partial(chunked, key_chunk=None)


def pallas_flash(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, interpret=False):
  """FlashAttention as one fused GPU kernel: JAX's own Pallas (Triton) kernel, forward and
  backward (jax.experimental.pallas.ops.gpu.attention.mha), beside cuDNN's.

  GPU only; `interpret=True` runs the same kernel in Pallas's interpreter anywhere (slowly: the
  tests check it against naive on a CPU). JAX's default tiles: T and S multiples of 128 (or
  shorter), of 32 for the backward pass; no key-padding mask (the kernel masks by segment ids).
  """
  if mask is not None:
    raise ValueError("pallas_flash takes no key-padding mask")
  if not interpret and jax.default_backend() != "gpu":
    raise ValueError("pallas_flash needs a GPU (interpret=True runs it anywhere, slowly); the "
                     f"backend is {jax.default_backend()}")
  # Imported here: the Triton lowering is loaded only by a run that asks for this variant.
  from jax.experimental.pallas.ops.gpu import attention as pallas_attention
  return pallas_attention.mha(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, None,
                              sm_scale=1.0 / math.sqrt(q_BxTxHxD.shape[-1]), causal=causal,
                              interpret=interpret)


# ----------------------------------------------------------------------------- sparse, O(n)


def sliding_window(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, window=128,
                   block=None):
  """Longformer-style local attention: query t sees keys |t - s| <= window (s <= t if causal).

  Computed banded, not by masking an n x n matrix: queries in blocks of `block` (default
  `window`) attend to their own block and ceil(window / block) neighbour blocks on each side,
  so time and memory are O(n * window). Exact when window >= n.
  """
  _check_self(q_BxTxHxD, k_BxSxHxD, "sliding_window")
  b, n, h, d = q_BxTxHxD.shape
  blk = min(block or window, n)
  nb = -(-n // blk)
  r = min(-(-window // blk), nb - 1)  # neighbour blocks on each side
  left = r
  right = 0 if causal else r
  q_GxNxBxD = _pad_axis(_to_g(_scale(q_BxTxHxD)), 1, nb * blk).reshape(b * h, nb, blk, d)

  def slabs(x_GxSxD, fill):
    x = _pad_axis(x_GxSxD, 1, nb * blk, fill).reshape(b * h, nb, blk, *x_GxSxD.shape[2:])
    x = jnp.pad(x, [(0, 0), (left, right), (0, 0)] + [(0, 0)] * (x.ndim - 3),
                constant_values=fill)
    return jnp.concatenate([x[:, i:i + nb] for i in range(left + right + 1)], axis=2)

  k_GxNxWxD = slabs(_to_g(k_BxSxHxD), 0)
  v_GxNxWxD = slabs(_to_g(v_BxSxHxD), 0)
  keep_GxNxW = slabs(_key_mask_g(mask, b, h, n), False)
  qpos_NxB = jnp.arange(nb * blk).reshape(nb, blk)
  kpos_NxW = (jnp.arange(nb)[:, None] - left) * blk + jnp.arange((left + right + 1) * blk)
  dist_NxBxW = qpos_NxB[:, :, None] - kpos_NxW[:, None, :]
  band_NxBxW = (jnp.abs(dist_NxBxW) <= window) & (kpos_NxW[:, None, :] >= 0)
  if causal:
    band_NxBxW &= dist_NxBxW >= 0
  keep_GxNxBxW = band_NxBxW[None] & keep_GxNxW[:, :, None, :]
  out_GxNxBxD = _masked_softmax_attend(q_GxNxBxD, k_GxNxWxD, v_GxNxWxD, keep_GxNxBxW)
  return _from_g(out_GxNxBxD.reshape(b * h, nb * blk, d)[:, :n], b, h)


def _masked_softmax_attend(q_XxQxD, k_XxKxD, v_XxKxD, keep_XxQxK, bias_XxQxK=None):
  """Softmax attention over the last-but-one axis of small blocks; rows with no key give 0."""
  logits = jnp.einsum("...qd,...kd->...qk", q_XxQxD, k_XxKxD)
  if bias_XxQxK is not None:
    logits = logits + bias_XxQxK
  logits = jnp.where(keep_XxQxK, logits, _NEG)
  p = jnp.where(keep_XxQxK, jnp.exp(logits - logits.max(-1, keepdims=True)), 0.0)
  norm = p.sum(-1, keepdims=True)
  return jnp.einsum("...qk,...kd->...qd", p, v_XxKxD) / jnp.where(norm > 0, norm, 1.0)


def block_sparse(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, block=64,
                 window_blocks=1, global_blocks=1, random_blocks=0, key=None):
  """BigBird-style block-sparse attention.

  Each query block sees `window_blocks` blocks on each side of its own, the first
  `global_blocks` blocks (global tokens) and `random_blocks` random blocks (drawn from `key`);
  the queries of the global blocks see every key. Cost O(n * block * (2w + 1 + g + r)). Exact
  when the blocks cover every key (window_blocks >= number of blocks - 1).
  """
  _check_self(q_BxTxHxD, k_BxSxHxD, "block_sparse")
  b, n, h, d = q_BxTxHxD.shape
  blk = min(block, n)
  nb = -(-n // blk)
  g = b * h
  cols = [jnp.arange(nb) + o for o in range(-window_blocks, window_blocks + 1)]
  cols += [jnp.full((nb,), i) for i in range(min(global_blocks, nb))]
  idx_NxL = jnp.stack(cols, axis=1)
  if random_blocks:
    if key is None:
      raise ValueError("block_sparse with random_blocks > 0 needs a jax.random key")
    rand_NxR = jax.random.randint(key, (nb, random_blocks), 0, nb)
    idx_NxL = jnp.concatenate([idx_NxL, rand_NxR], axis=1)
  num = idx_NxL.shape[1]
  in_range = (idx_NxL >= 0) & (idx_NxL < nb)
  earlier_dup = jnp.tril(idx_NxL[:, :, None] == idx_NxL[:, None, :], -1).any(-1)
  valid_NxL = in_range & ~earlier_dup
  idx_NxL = jnp.clip(idx_NxL, 0, nb - 1)

  def blocks(x_GxSxD, fill):
    return _pad_axis(x_GxSxD, 1, nb * blk, fill).reshape(g, nb, blk, *x_GxSxD.shape[2:])

  q_GxNxBxD = blocks(_to_g(_scale(q_BxTxHxD)), 0)
  k_GxNxLBxD = blocks(_to_g(k_BxSxHxD), 0)[:, idx_NxL].reshape(g, nb, num * blk, d)
  v_GxNxLBxD = blocks(_to_g(v_BxSxHxD), 0)[:, idx_NxL].reshape(g, nb, num * blk, d)
  keep_GxS = _key_mask_g(mask, b, h, n)
  keep_GxNxLB = blocks(keep_GxS, False)[:, idx_NxL].reshape(g, nb, num * blk)
  keep_GxNxLB &= jnp.repeat(valid_NxL, blk, axis=1)[None]
  keep_GxNxBxLB = jnp.broadcast_to(keep_GxNxLB[:, :, None, :], (g, nb, blk, num * blk))
  if causal:
    kpos_NxLB = (idx_NxL[:, :, None] * blk + jnp.arange(blk)).reshape(nb, num * blk)
    qpos_NxB = jnp.arange(nb * blk).reshape(nb, blk)
    keep_GxNxBxLB &= (kpos_NxLB[:, None, :] <= qpos_NxB[:, :, None])[None]
  out_GxNxBxD = _masked_softmax_attend(q_GxNxBxD, k_GxNxLBxD, v_GxNxLBxD, keep_GxNxBxLB)
  out_GxTxD = out_GxNxBxD.reshape(g, nb * blk, d)[:, :n]
  out = _from_g(out_GxTxD, b, h)
  ng = min(global_blocks * blk, n)
  if ng:
    dense = naive(q_BxTxHxD[:, :ng], k_BxSxHxD, v_BxSxHxD, mask=mask, causal=causal)
    out = out.at[:, :ng].set(dense)
  return out


# ----------------------------------------------------------------------------- low rank, kernel


def linformer(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, rank=64,
              projection="pool", key=None, proj_RxS=None):
  """Linformer: keys and values projected along the sequence to `rank` rows, O(n * rank).

  projection='gaussian': E = F ~ N(0, 1/rank) drawn from `key` (the paper's fixed random
  projection; it is meant to be learned and does not converge to softmax attention as rank
  grows). 'pool': contiguous segment means of keys and values with a log(segment size) logit
  bias, exact when rank >= S (a fixed, deterministic projection). `proj_RxS` uses a given
  (e.g. learned) projection matrix. Causal masking is impossible: every projected row mixes
  future keys.
  """
  if causal:
    raise ValueError("linformer cannot be causal: its projection mixes future keys")
  b, t, h, d = q_BxTxHxD.shape
  s = k_BxSxHxD.shape[1]
  keep_BxS = jnp.ones((b, s), bool) if mask is None else mask.astype(bool)
  k_BxSxHxD = jnp.where(keep_BxS[:, :, None, None], k_BxSxHxD, 0.0)
  v_BxSxHxD = jnp.where(keep_BxS[:, :, None, None], v_BxSxHxD, 0.0)
  if proj_RxS is None and projection == "pool":
    seg = -(-s // min(rank, s))
    nseg = -(-s // seg)

    def seg_sum(x_BxS___):
      return _pad_axis(x_BxS___, 1, nseg * seg).reshape(b, nseg, seg, *x_BxS___.shape[2:]).sum(2)

    count_BxR = seg_sum(keep_BxS.astype(q_BxTxHxD.dtype))
    denom = jnp.maximum(count_BxR, 1.0)[:, :, None, None]
    kr_BxRxHxD = seg_sum(k_BxSxHxD) / denom
    vr_BxRxHxD = seg_sum(v_BxSxHxD) / denom
    bias_BxR = jnp.where(count_BxR > 0, jnp.log(jnp.maximum(count_BxR, 1.0)), _NEG)
    logits = jnp.einsum("bthd,brhd->bhtr", _scale(q_BxTxHxD), kr_BxRxHxD)
    weights = jax.nn.softmax(logits + bias_BxR[:, None, None, :], axis=-1)
    weights = jnp.where((count_BxR > 0)[:, None, None, :], weights, 0.0)
    return jnp.einsum("bhtr,brhd->bthd", weights, vr_BxRxHxD)
  if proj_RxS is None:
    if projection != "gaussian":
      raise ValueError(f"linformer projection must be pool or gaussian, got {projection!r}")
    if key is None:
      raise ValueError("linformer with projection='gaussian' needs a jax.random key")
    proj_RxS = jax.random.normal(key, (rank, s), q_BxTxHxD.dtype) / math.sqrt(rank)
  kr_BxRxHxD = jnp.einsum("rs,bshd->brhd", proj_RxS, k_BxSxHxD)
  vr_BxRxHxD = jnp.einsum("rs,bshd->brhd", proj_RxS, v_BxSxHxD)
  return naive(q_BxTxHxD, kr_BxRxHxD, vr_BxRxHxD)


def orthogonal_features(key, num_features, d, dtype=jnp.float32):
  """FAVOR+ projection [M, D]: blocks of orthogonal rows with chi-distributed norms."""
  num_blocks = -(-num_features // d)
  kq, kn = jax.random.split(key)
  # Drawn and factored in float32 whatever `dtype` is: QR has no bfloat16 kernel, and a
  # bfloat16 run then uses the float32 run's features, rounded.
  qmat, rmat = jnp.linalg.qr(jax.random.normal(kq, (num_blocks, d, d), jnp.float32))  # batched
  # The sign fix makes each Q Haar-distributed; without it the estimator is biased.
  qmat = qmat * jnp.sign(jnp.diagonal(rmat, axis1=-2, axis2=-1))[:, None, :]
  w_MxD = qmat.transpose(0, 2, 1).reshape(num_blocks * d, d)[:num_features]
  norms_M = jnp.linalg.norm(jax.random.normal(kn, (num_features, d), jnp.float32), axis=1)
  return (w_MxD * norms_M[:, None]).astype(dtype)


def performer(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, num_features=256,
              key=None, chunk=128, features_MxD=None):
  """Performer FAVOR+: positive orthogonal random features of the softmax kernel, O(n * M * d).

  Unbiased for exp(q.k / sqrt(d)); the error falls like 1/sqrt(num_features). Causal attention
  runs as a scan over chunks of `chunk` keys carrying the prefix sums (memory O(n * d + M * d)).
  """
  b, t, h, d = q_BxTxHxD.shape
  if features_MxD is None:
    if key is None:
      raise ValueError("performer needs a jax.random key (or features_MxD)")
    features_MxD = orthogonal_features(key, num_features, d, q_BxTxHxD.dtype)
  m = features_MxD.shape[0]
  c = d ** -0.25

  def phi(x, axes):
    proj = jnp.einsum("bthd,md->bthm", x * c, features_MxD)
    sq = 0.5 * jnp.sum((x * c) ** 2, -1, keepdims=True)
    stab = lax.stop_gradient(jnp.max(proj - sq, axis=axes, keepdims=True))
    return jnp.exp(proj - sq - stab) / math.sqrt(m)

  phi_q = phi(q_BxTxHxD, (-1,))  # a per-query constant cancels between numerator and denominator
  phi_k = phi(k_BxSxHxD, (1, 3))  # a per-(batch, head) constant cancels too
  if mask is not None:
    phi_k = phi_k * mask.astype(phi_k.dtype)[:, :, None, None]
  eps = 1e-30
  if not causal:
    kv_BxHxMxD = jnp.einsum("bshm,bshd->bhmd", phi_k, v_BxSxHxD)
    z_BxHxM = phi_k.sum(1)
    num = jnp.einsum("bthm,bhmd->bthd", phi_q, kv_BxHxMxD)
    den = jnp.einsum("bthm,bhm->bth", phi_q, z_BxHxM)
    return num / (den[..., None] + eps)
  _check_self(q_BxTxHxD, k_BxSxHxD, "causal performer")
  cs = min(chunk, t)
  nc = -(-t // cs)

  def chunks(x):
    return _pad_axis(x, 1, nc * cs).reshape(b, nc, cs, *x.shape[2:]).swapaxes(0, 1)

  tri = jnp.tril(jnp.ones((cs, cs), bool))

  def step(carry, xs):
    kv_BxHxMxD, z_BxHxM = carry
    pq, pk, vc = xs
    a_BxHxCxC = jnp.where(tri, jnp.einsum("bthm,bshm->bhts", pq, pk), 0.0)
    num = jnp.einsum("bhts,bshd->bthd", a_BxHxCxC, vc) + jnp.einsum("bthm,bhmd->bthd", pq,
                                                                     kv_BxHxMxD)
    den = a_BxHxCxC.sum(-1).transpose(0, 2, 1) + jnp.einsum("bthm,bhm->bth", pq, z_BxHxM)
    carry = (kv_BxHxMxD + jnp.einsum("bshm,bshd->bhmd", pk, vc), z_BxHxM + pk.sum(1))
    return carry, num / (den[..., None] + eps)

  init = (jnp.zeros((b, h, m, d), q_BxTxHxD.dtype), jnp.zeros((b, h, m), q_BxTxHxD.dtype))
  _, out_NxBxCxHxD = lax.scan(step, init, (chunks(phi_q), chunks(phi_k), chunks(v_BxSxHxD)))
  return out_NxBxCxHxD.swapaxes(0, 1).reshape(b, nc * cs, h, d)[:, :t]


# ----------------------------------------------------------------------------- hashing, O(n log n)


def lsh(q_BxTxHxD, k_BxSxHxD, v_BxSxHxD, *, mask=None, causal=False, num_buckets=8, num_hashes=2,
        chunk=64, key=None):
  """Reformer-style LSH attention, O(n log n) for the sort plus O(n * chunk) for attention.

  Queries and keys are hashed with the same random rotations (angular LSH on unit vectors; the
  Reformer shares Q and K, this variant hashes them separately), each sorted by (bucket,
  position) and cut into chunks of `chunk`; query chunk i attends to key chunks i-1, i, i+1.
  Over `num_hashes` rounds the results are merged by their log-sum-exp, with each logit
  lowered by log(number of rounds that paired the same query and key), so every key counts
  once: the result is softmax attention restricted to the union of the rounds' windows, exact
  when one chunk covers the sequence, and closer to exact as num_hashes grows.
  """
  _check_self(q_BxTxHxD, k_BxSxHxD, "lsh")
  if key is None:
    raise ValueError("lsh needs a jax.random key")
  if num_buckets < 2 or num_buckets % 2:
    raise ValueError(f"lsh num_buckets must be even and >= 2, got {num_buckets}")
  b, n, h, d = q_BxTxHxD.shape
  g, rr = b * h, num_hashes
  cs = min(chunk, n)
  nc = -(-n // cs)
  npad = nc * cs
  q_GxTxD = _pad_axis(_to_g(_scale(q_BxTxHxD)), 1, npad)
  k_GxTxD = _pad_axis(_to_g(k_BxSxHxD), 1, npad)
  v_GxTxD = _pad_axis(_to_g(v_BxSxHxD), 1, npad)
  keep_GxT = _pad_axis(_key_mask_g(mask, b, h, n), 1, npad, False)
  real_T = jnp.arange(npad) < n

  rot_RxDxK = jax.random.normal(key, (rr, d, num_buckets // 2), q_GxTxD.dtype)

  def buckets(x_GxTxD):
    unit = x_GxTxD / (jnp.linalg.norm(x_GxTxD, axis=-1, keepdims=True) + 1e-9)
    proj = jnp.einsum("gtd,rdk->grtk", lax.stop_gradient(unit), rot_RxDxK)
    bkt_GxRxT = jnp.argmax(jnp.concatenate([proj, -proj], -1), -1)
    return jnp.where(real_T, bkt_GxRxT, num_buckets)  # padding sorts last

  pos_T = jnp.arange(npad)

  def sort_order(bkt_GxRxT):
    perm_GxRxT = jnp.argsort(bkt_GxRxT * npad + pos_T, axis=-1)
    chunk_of_GxRxT = jnp.argsort(perm_GxRxT, axis=-1) // cs  # chunk of each position, per round
    return perm_GxRxT, chunk_of_GxRxT

  qperm, qchunk_GxRxT = sort_order(buckets(q_GxTxD))
  kperm, kchunk_GxRxT = sort_order(buckets(k_GxTxD))

  def gather(x_GxTx___, perm_GxRxT):
    return jax.vmap(lambda x, p: x[p])(x_GxTx___, perm_GxRxT)  # [G, R, T, ...]

  qs = gather(q_GxTxD, qperm).reshape(g, rr, nc, cs, d)
  qpos = qperm.reshape(g, rr, nc, cs)

  def window(x_GxRxTx___):
    """Key chunks i-1, i, i+1 next to query chunk i: [G, R, C, 3 * cs, ...] (ends padded)."""
    x = x_GxRxTx___.reshape(g, rr, nc, cs, *x_GxRxTx___.shape[3:])
    x = jnp.pad(x, [(0, 0), (0, 0), (1, 1)] + [(0, 0)] * (x.ndim - 3))
    return jnp.concatenate([x[:, :, :-2], x[:, :, 1:-1], x[:, :, 2:]], axis=3)

  kpos = window(kperm)
  ks = window(gather(k_GxTxD, kperm))
  vs = window(gather(v_GxTxD, kperm))
  offset_W = jnp.repeat(jnp.arange(-1, 2), cs)
  real_nb_CxW = ((jnp.arange(nc)[:, None] + offset_W) >= 0) & (
      (jnp.arange(nc)[:, None] + offset_W) < nc)
  keep = jax.vmap(lambda kp, p: kp[p])(keep_GxT, kpos.reshape(g, -1)).reshape(kpos.shape)
  keep = keep[:, :, :, None, :] & real_nb_CxW[None, None, :, None, :]
  if causal:
    keep &= kpos[:, :, :, None, :] <= qpos[..., None]
  keep &= real_T[qpos][..., None]
  # How many rounds put (query, key) in one window: |chunk of q - chunk of k| <= 1 in that round.
  qc = jax.vmap(lambda c, p: c[:, p])(qchunk_GxRxT, qpos.reshape(g, -1)).reshape(g, rr, rr, nc,
                                                                                    cs)
  kc = jax.vmap(lambda c, p: c[:, p])(kchunk_GxRxT, kpos.reshape(g, -1)).reshape(
      g, rr, rr, nc, 3 * cs)
  diff = qc[..., :, None] - kc[..., None, :]
  paired = jnp.abs(diff) <= 1
  count = paired.sum(1).astype(q_GxTxD.dtype)  # [G, R, C, cs, 3cs], >= 1 where in this window
  logits = jnp.einsum("grcqd,grckd->grcqk", qs, ks) - jnp.log(jnp.maximum(count, 1.0))
  logits = jnp.where(keep, logits, _NEG)
  top = logits.max(-1, keepdims=True)
  p = jnp.where(keep, jnp.exp(logits - top), 0.0)
  norm = p.sum(-1)
  out = jnp.einsum("grcqk,grckd->grcqd", p, vs) / jnp.where(norm > 0, norm, 1.0)[..., None]
  lse = jnp.where(norm > 0, top[..., 0] + jnp.log(jnp.where(norm > 0, norm, 1.0)), _NEG)
  # Back to positions, then merge the rounds by their share of the total softmax mass.
  inv = jnp.argsort(qperm, axis=-1)
  out_GxRxTxD = jnp.take_along_axis(out.reshape(g, rr, npad, d), inv[..., None], axis=2)
  lse_GxRxT = jnp.take_along_axis(lse.reshape(g, rr, npad), inv, axis=2)
  share = jax.nn.softmax(lse_GxRxT, axis=1)
  out_GxTxD = jnp.einsum("grt,grtd->gtd", share, out_GxRxTxD)
  seen = (lse_GxRxT > _NEG / 2).any(1)
  out_GxTxD = jnp.where(seen[..., None], out_GxTxD, 0.0)
  return _from_g(out_GxTxD[:, :n], b, h)


VARIANTS = {
    "naive": naive,
    "dot_product": dot_product,
    "chunked": chunked,
    "blocked": blocked,
    "pallas_flash": pallas_flash,
    "sliding_window": sliding_window,
    "block_sparse": block_sparse,
    "linformer": linformer,
    "performer": performer,
    "lsh": lsh,
}
EXACT = ("naive", "dot_product", "chunked", "blocked")
NEEDS_KEY = ("linformer", "performer", "lsh", "block_sparse")


def get(name, **params):
  """The variant `name` with its parameters bound: attend(q, k, v, *, mask=None, causal=False)."""
  if name not in VARIANTS:
    raise ValueError(f"unknown attention variant {name!r}; choose from {', '.join(VARIANTS)}")
  return functools.partial(VARIANTS[name], **params)

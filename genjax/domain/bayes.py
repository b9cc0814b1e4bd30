"""Exact reference predictors: per-position negative log-likelihoods (nats) of token sequences.

Every function maps tokens_NxL to nll_NxL: entry t is -log p(x_t | x_<t). Position 0 is the
uniform first token (log V) for every predictor; the tables average positions 1..L-1 (the
predictions a model makes), see `mean_loss`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


def _first_token(nll_NxT, vocab: int):
  first = jnp.full((nll_NxT.shape[0], 1), jnp.log(vocab), nll_NxT.dtype)
  return jnp.concatenate([first, nll_NxT], axis=1)


@functools.partial(jax.jit, static_argnames=("vocab",))
def uniform(tokens_NxL, vocab: int):
  return jnp.full(tokens_NxL.shape, jnp.log(vocab), jnp.float32)


@functools.partial(jax.jit, static_argnames=("vocab", "prior"))
def unigram(tokens_NxL, vocab: int, prior: float):
  """In-context unigram: p(x_t = j) = (c_j + prior) / (t + V prior), c_j counts in x_<t."""
  onehot_NxLxV = jax.nn.one_hot(tokens_NxL, vocab)
  before_NxLxV = jnp.cumsum(onehot_NxLxV, axis=1) - onehot_NxLxV
  t_L = jnp.arange(tokens_NxL.shape[1], dtype=jnp.float32)
  p_NxL = ((jnp.sum(before_NxLxV * onehot_NxLxV, -1) + prior) / (t_L + vocab * prior))
  return -jnp.log(p_NxL)


def _pair_counts_before(tokens_NxL, vocab: int):
  """For t = 1..L-1: how often the pair (x_{t-1}, x_t) and the row x_{t-1} occurred before t."""
  prev_NxT, nxt_NxT = tokens_NxL[:, :-1], tokens_NxL[:, 1:]
  pair_NxT = prev_NxT * vocab + nxt_NxT
  onehot_NxTxP = jax.nn.one_hot(pair_NxT, vocab * vocab)
  before_NxTxP = jnp.cumsum(onehot_NxTxP, axis=1) - onehot_NxTxP
  pair_count_NxT = jnp.take_along_axis(before_NxTxP, pair_NxT[..., None], axis=-1)[..., 0]
  rows_NxTxV = before_NxTxP.reshape(*pair_NxT.shape, vocab, vocab).sum(-1)
  row_count_NxT = jnp.take_along_axis(rows_NxTxV, prev_NxT[..., None], axis=-1)[..., 0]
  return prev_NxT, nxt_NxT, pair_count_NxT, row_count_NxT


@jax.jit
def bigram_bayes(tokens_NxL, prior_VxV):
  """Posterior-predictive bigram under independent Dirichlet(prior[i]) rows.

  p(x_t = j | x_<t, x_{t-1} = i) = (c_ij + prior_ij) / (c_i + sum_j prior_ij). With prior_ij = alpha
  this is the Bayes-optimal predictor for a new domain; with prior = c * B_g for a genre.
  """
  vocab = prior_VxV.shape[0]
  prev_NxT, nxt_NxT, pair_count_NxT, row_count_NxT = _pair_counts_before(tokens_NxL, vocab)
  p_NxT = ((pair_count_NxT + prior_VxV[prev_NxT, nxt_NxT])
           / (row_count_NxT + prior_VxV.sum(-1)[prev_NxT]))
  return _first_token(-jnp.log(p_NxT), vocab)


@functools.partial(jax.jit, static_argnames=("vocab", "alpha"))
def new_domain_bayes(tokens_NxL, vocab: int, alpha: float):
  """Bayes-optimal for a fresh chain with Dirichlet(alpha) rows."""
  return bigram_bayes(tokens_NxL, jnp.full((vocab, vocab), alpha))


@jax.jit
def oracle(tokens_NxL, chains_NxVxV):
  """Knows each sequence's true chain: -log T[x_{t-1}, x_t]."""
  vocab = chains_NxVxV.shape[-1]
  prev_NxT, nxt_NxT = tokens_NxL[:, :-1], tokens_NxL[:, 1:]
  p_NxT = jax.vmap(lambda T, a, b: T[a, b])(chains_NxVxV, prev_NxT, nxt_NxT)
  return _first_token(-jnp.log(p_NxT), vocab)


def _pool_bayes_one(tokens_L, log_pool_MxVxV):
  step_logp_MxT = log_pool_MxVxV[:, tokens_L[:-1], tokens_L[1:]]
  # Uniform prior over the M chains; the first token's probability is the same for all of them.
  log_w_MxT = jnp.cumsum(step_logp_MxT, axis=1) - step_logp_MxT
  log_pred_T = (jax.nn.logsumexp(log_w_MxT + step_logp_MxT, axis=0)
                - jax.nn.logsumexp(log_w_MxT, axis=0))
  return -log_pred_T


@jax.jit
def _pool_bayes_chunk(tokens_NxL, log_pool_MxVxV):
  return jax.vmap(_pool_bayes_one, in_axes=(0, None))(tokens_NxL, log_pool_MxVxV)


def pool_bayes(tokens_NxL, pool_MxVxV, chunk: int = 256):
  """Bayes-optimal for the finite pool: posterior over which of the M chains made the sequence."""
  vocab = pool_MxVxV.shape[-1]
  log_pool = jnp.log(jnp.maximum(pool_MxVxV, 1e-30))
  parts = [_pool_bayes_chunk(tokens_NxL[i:i + chunk], log_pool)
           for i in range(0, tokens_NxL.shape[0], chunk)]
  return _first_token(jnp.concatenate(parts), vocab)


@functools.partial(jax.jit, static_argnames=("concentration",))
def genre_bayes(tokens_NxL, base_VxV, concentration: float):
  """Bayes-optimal for a fresh chain of a known genre: rows ~ Dirichlet(concentration * B)."""
  return bigram_bayes(tokens_NxL, jnp.maximum(concentration * base_VxV, 1e-3))


def mean_loss(nll_NxL) -> float:
  """Mean over sequences and predicted positions 1..L-1 (position 0 is uniform for all)."""
  return float(np.mean(np.asarray(nll_NxL)[:, 1:]))


def per_position(nll_NxL) -> np.ndarray:
  """Mean over sequences at each position 0..L-1."""
  return np.asarray(nll_NxL).mean(axis=0)

"""Markov-chain domains: chains, pools, genres, sequences, and mixed batches.

A domain is a first-order Markov chain over `vocab` tokens whose transition rows are drawn from
Dirichlet(alpha). The first token of a sequence is uniform (`first="uniform"`, our default) or
drawn from the chain's stationary distribution (`first="stationary"`, the convention under which
the issue's independent references were computed). Every function takes a jax.random key, so a
batch is a pure function of (key, step).
"""

import jax
import jax.numpy as jnp
from flax import struct

INFINITE = 0  # a pool size of 0 means a fresh chain for every sequence (M = infinity)
FIRST_TOKENS = ("uniform", "stationary")
# Squarings of the lazy chain (T + I) / 2 in `stationary`: its 2^40-step power has forgotten its
# start unless the chain mixes slower than ~1e11 steps (a Dirichlet(0.3) draw mixes in tens).
_SQUARINGS = 40


def sample_chains(key, num: int, vocab: int, alpha: float):
  """Transition matrices T_NxVxV with rows ~ Dirichlet(alpha, ..., alpha)."""
  return jax.random.dirichlet(key, jnp.full((vocab,), alpha), (num, vocab))


def sample_genre_bases(key, num_genres: int, vocab: int, alpha: float):
  """Genre base matrices B_GxVxV (rows ~ Dirichlet(alpha)), the centres of each genre's chains."""
  return sample_chains(key, num_genres, vocab, alpha)


def sample_genre_chains(key, base_VxV, concentration: float, num: int):
  """Chains around one genre: row i ~ Dirichlet(concentration * B[i])."""
  # Tiny base entries would give Dirichlet parameters that underflow the gamma sampler.
  prior_VxV = jnp.maximum(concentration * base_VxV, 1e-3)
  return jax.random.dirichlet(key, prior_VxV, (num, base_VxV.shape[0]))


def stationary(chains_NxVxV):
  """Each chain's stationary distribution pi_NxV (pi T = pi), by repeated squaring."""
  vocab = chains_NxVxV.shape[-1]
  lazy_NxVxV = 0.5 * (chains_NxVxV + jnp.eye(vocab))  # same pi, and aperiodic

  def square(p, _):
    p = p @ p
    return p / p.sum(-1, keepdims=True), None

  power_NxVxV, _ = jax.lax.scan(square, lazy_NxVxV, None, length=_SQUARINGS)
  return power_NxVxV.mean(axis=1)


def sample_sequences(key, chains_NxVxV, length: int, first: str = "uniform"):
  """One sequence of `length` tokens per chain (int32, N x L); first token uniform or from the
  chain's stationary distribution."""
  num, vocab = chains_NxVxV.shape[0], chains_NxVxV.shape[1]
  first_key, step_key = jax.random.split(key)
  logits_NxVxV = jnp.log(jnp.maximum(chains_NxVxV, 1e-30))
  if first == "uniform":
    first_N = jax.random.randint(first_key, (num,), 0, vocab)
  elif first == "stationary":
    first_N = jax.random.categorical(
        first_key, jnp.log(jnp.maximum(stationary(chains_NxVxV), 1e-30)))
  else:
    raise ValueError(f"first token {first!r} is not one of {FIRST_TOKENS}")

  def step(prev_N, k):
    rows_NxV = jnp.take_along_axis(logits_NxVxV, prev_N[:, None, None], axis=1)[:, 0]
    nxt_N = jax.random.categorical(k, rows_NxV).astype(jnp.int32)
    return nxt_N, nxt_N

  _, rest_LxN = jax.lax.scan(step, first_N.astype(jnp.int32),
                             jax.random.split(step_key, length - 1))
  return jnp.concatenate([first_N[:, None].astype(jnp.int32), rest_LxN.T], axis=1)


def sample_from_pool(key, pool_MxVxV, num: int, length: int, first: str = "uniform"):
  """Sequences from chains drawn uniformly from a finite pool; returns (tokens_NxL, index_N)."""
  index_key, seq_key = jax.random.split(key)
  index_N = jax.random.randint(index_key, (num,), 0, pool_MxVxV.shape[0])
  return sample_sequences(seq_key, pool_MxVxV[index_N], length, first), index_N


def sample_fresh(key, num: int, length: int, vocab: int, alpha: float, first: str = "uniform"):
  """Sequences each from its own fresh chain (the M = infinity source); returns (tokens, chains)."""
  chain_key, seq_key = jax.random.split(key)
  chains_NxVxV = sample_chains(chain_key, num, vocab, alpha)
  return sample_sequences(seq_key, chains_NxVxV, length, first), chains_NxVxV


@struct.dataclass
class Source:
  """Where training or evaluation sequences come from; arrays may carry a leading seed axis.

  kind: "pool" (arrays["chains"] M x V x V, drawn uniformly), "fresh" (a new Dirichlet(alpha)
  chain per sequence), "genre" (a new chain around arrays["base"] V x V, concentration alpha),
  "chain" (the one chain arrays["chain"] V x V) or "tokens" (rows of arrays["tokens"] N x L).
  """

  kind: str = struct.field(pytree_node=False)
  arrays: dict
  vocab: int = struct.field(pytree_node=False, default=8)
  alpha: float = struct.field(pytree_node=False, default=0.3)
  first: str = struct.field(pytree_node=False, default="uniform")  # first token, FIRST_TOKENS


def sample_source(key, source: Source, num: int, length: int):
  """num sequences (N x L) from one source (no seed axis; vmap over seeds outside)."""
  chain_key, seq_key = jax.random.split(key)
  if source.kind == "pool":
    return sample_from_pool(key, source.arrays["chains"], num, length, source.first)[0]
  if source.kind == "fresh":
    return sample_fresh(key, num, length, source.vocab, source.alpha, source.first)[0]
  if source.kind == "genre":
    chains = sample_genre_chains(chain_key, source.arrays["base"], source.alpha, num)
    return sample_sequences(seq_key, chains, length, source.first)
  if source.kind == "chain":
    chains = jnp.broadcast_to(source.arrays["chain"], (num, *source.arrays["chain"].shape))
    return sample_sequences(seq_key, chains, length, source.first)
  if source.kind == "tokens":
    rows = jax.random.randint(key, (num,), 0, source.arrays["tokens"].shape[0])
    return source.arrays["tokens"][rows][:, :length]
  raise ValueError(f"unknown source kind {source.kind!r}")


def mixture_counts(batch_size: int, fractions) -> list[int]:
  """Rows per source for a batch: exact largest-remainder rounding of `fractions` (sum 1)."""
  total = sum(fractions)
  raw = [batch_size * f / total for f in fractions]
  counts = [int(r) for r in raw]
  order = sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])
  for i in order[:batch_size - sum(counts)]:
    counts[i] += 1
  return counts


def sample_mixture(key, sources, fractions, batch_size: int, length: int):
  """A batch whose rows come from `sources` in exact proportions `fractions` (replay mixing).

  Returns (tokens_BxL, source_B) where source_B names the source of each row; rows are not
  shuffled (the loss is a mean over rows, so their order does not matter).
  """
  counts = mixture_counts(batch_size, fractions)
  tokens, origin = [], []
  for i, (source, count) in enumerate(zip(sources, counts, strict=True)):
    if count:
      tokens.append(sample_source(jax.random.fold_in(key, i), source, count, length))
      origin.append(jnp.full((count,), i, jnp.int32))
  return jnp.concatenate(tokens), jnp.concatenate(origin)

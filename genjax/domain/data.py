"""Random streams, training samplers and evaluation sets of the domain studies, per seed.

Every array here has a leading seed axis S: seed s draws its chains, data and init from
`fold_in(fold_in(key(config.seed), tag), s)`, so the spread over seeds includes the draw of the
domains. Batches are a pure function of (seed, step).
"""

import functools

import jax
import numpy as np

from genjax import seeds
from genjax.domain import markov

# Random streams. A stream's tag is `stream + NUM_STREAMS * index`: the stream is the remainder,
# so two different (stream, index) pairs never share a key. The indexes name the instance (a pool
# size, a genre, a stage); the first seven keep the values of the earlier tag scheme.
NUM_STREAMS = 100
POOL = 1  # the M chains of a finite pool; index M
TARGET = 2  # target domain A
GENRES = 3  # genre base matrices
PRETRAIN_DATA = 4  # pretraining batches; index M + 1 (M = 0 is the fresh-chain source)
HELDOUT = 5  # held-out domains (fresh chains), the set every study reports
INIT = 6  # model initialization
LORA = 7  # LoRA factors A
INDIST = 8  # in-distribution evaluation sequences; index M + 1
INDIST_CHAINS = 9  # which pool chain each in-distribution sequence comes from; index M + 1
TARGET_TEST = 10  # target-domain evaluation sequences
TARGET_VALID = 11  # target-domain validation sequences (training-domain model selection)
SHOTS = 12  # the few-shot target sequences
GENRE_TEST = 13  # a genre's evaluation sequences; index genre
FINETUNE_DATA = 14  # finetuning batches (target, with replay)
FEWSHOT_DATA = 15  # few-shot finetuning batches; index number of shots
DAPT_DATA = 16  # domain-adaptive pretraining batches; index genre
DAPT_FINETUNE_DATA = 17  # finetuning batches after (no) DAPT
CONTINUAL_DATA = 18  # continual-learning batches; index stage


def stream_keys(config, stream: int, index: int = 0) -> jax.Array:
  """One key per seed for `stream` (a constant above) and instance `index` (>= 0)."""
  if not 0 < stream < NUM_STREAMS or index < 0:
    raise ValueError(f"bad random stream ({stream}, {index})")
  return seeds.seed_keys(config.seed, config.num_seeds, stream + NUM_STREAMS * index)


@functools.partial(jax.jit, static_argnames=("fractions", "batch_size", "length"))
def sample_mixture_S(keys_S, sources, step, *, fractions, batch_size: int, length: int):
  """Each seed's batch (S x B x L) of `sources` mixed in exact `fractions`; compiled once per
  source structure, shared by every training of a study."""

  def one(key, srcs):
    return markov.sample_mixture(jax.random.fold_in(key, step), srcs, fractions, batch_size,
                                 length)[0]

  return jax.vmap(one)(keys_S, sources)


def make_sampler(keys_S, sources, fractions, batch_size: int, length: int):
  """step -> {"tokens": S x B x L}: each seed's batch mixes `sources` in exact `fractions`."""
  fractions = tuple(float(f) for f in fractions)
  return lambda step: {"tokens": np.asarray(sample_mixture_S(
      keys_S, list(sources), step, fractions=fractions, batch_size=batch_size, length=length))}


def infinite_source(config) -> markov.Source:
  return markov.Source("fresh", {}, config.vocab, config.alpha, config.first_token)


def chain_source(chain_SxVxV, config) -> markov.Source:
  return markov.Source("chain", {"chain": chain_SxVxV}, config.vocab, config.alpha,
                       config.first_token)


def genre_source(base_SxVxV, config) -> markov.Source:
  return markov.Source("genre", {"base": base_SxVxV}, config.vocab, config.genre_concentration,
                       config.first_token)


def eval_set(keys_S, source: markov.Source, config, num=None):
  """Tokens S x N x L from a source with per-seed arrays; the same keys give the same set."""
  num = num or config.eval_sequences
  return sample_mixture_S(keys_S, [source], 0, fractions=(1.0,), batch_size=num,
                          length=config.seq_len)


@functools.partial(jax.jit, static_argnames=("num", "length", "vocab", "alpha", "first"))
def _fresh_S(keys_S, *, num, length, vocab, alpha, first):
  return jax.vmap(lambda k: markov.sample_fresh(k, num, length, vocab, alpha, first))(keys_S)


def fresh_set(keys_S, config, num=None):
  """Held-out domains: tokens S x N x L and their chains S x N x V x V."""
  return _fresh_S(keys_S, num=num or config.eval_sequences, length=config.seq_len,
                  vocab=config.vocab, alpha=config.alpha, first=config.first_token)


@functools.partial(jax.jit, static_argnames=("num", "length", "concentration", "first"))
def _genre_S(keys_S, base_SxVxV, *, num, length, concentration, first):
  def one(key, base):
    chain_key, seq_key = jax.random.split(key)
    chains = markov.sample_genre_chains(chain_key, base, concentration, num)
    return markov.sample_sequences(seq_key, chains, length, first), chains

  return jax.vmap(one)(keys_S, base_SxVxV)


def genre_set(keys_S, base_SxVxV, config, num=None):
  """Fresh chains of one genre per seed: tokens S x N x L and chains S x N x V x V."""
  return _genre_S(keys_S, base_SxVxV, num=num or config.eval_sequences, length=config.seq_len,
                  concentration=config.genre_concentration, first=config.first_token)


def pools(config, pool_size: int) -> jax.Array:
  """Each seed's pool of `pool_size` chains [S, M, V, V]."""
  return jax.vmap(lambda k: markov.sample_chains(k, pool_size, config.vocab, config.alpha))(
      stream_keys(config, POOL, pool_size))


def pool_set(config, pools_SxMxVxV, pool_size: int):
  """In-distribution sequences of each seed's pool: tokens S x N x L and chains S x N x V x V."""
  index_SxN = jax.vmap(lambda k: jax.random.randint(k, (config.eval_sequences,), 0, pool_size))(
      stream_keys(config, INDIST_CHAINS, pool_size + 1))
  chains = jax.vmap(lambda p, i: p[i])(pools_SxMxVxV, index_SxN)
  tokens = jax.vmap(lambda k, ch: markov.sample_sequences(k, ch, config.seq_len,
                                                          config.first_token))(
      stream_keys(config, INDIST, pool_size + 1), chains)
  return tokens, chains


def genre_bases(config) -> jax.Array:
  """Each seed's genre base matrices [S, G, V, V] (the same for every study)."""
  return jax.vmap(lambda k: markov.sample_genre_bases(k, config.num_genres, config.vocab,
                                                      config.genre_alpha))(
      stream_keys(config, GENRES))

"""The exact references of the Markov study scored like a model: per seed, per position.

Each function returns the per-position mean NLL S x (L-1) (nats, positions 1..L-1) of a
predictor of genjax/domain/bayes.py on each seed's own sequences, the shape
`genjax.lm.evaluate.model_loss` gives a model on the same sets.
"""

import jax.numpy as jnp
import numpy as np

from genjax.domain import bayes


def per_seed(fn, *arrays_S):
  """Per-position mean NLL S x (L-1) of a reference applied seed by seed."""
  return np.stack([bayes.per_position(fn(*(a[s] for a in arrays_S)))[1:]
                   for s in range(arrays_S[0].shape[0])])


def bayes_new_domain(tokens_SxNxL, config):
  return per_seed(lambda t: bayes.new_domain_bayes(t, config.vocab, config.alpha), tokens_SxNxL)


def oracle(tokens_SxNxL, chains_SxNxVxV):
  return per_seed(bayes.oracle, tokens_SxNxL, chains_SxNxVxV)


def oracle_of_one_chain(tokens_SxNxL, chain_SxVxV):
  """Every sequence scored with one chain per seed (the target oracle, the collapse limit)."""
  return per_seed(lambda t, a: bayes.oracle(t, jnp.broadcast_to(a, (t.shape[0], *a.shape))),
                  tokens_SxNxL, chain_SxVxV)


def genre_bayes(tokens_SxNxL, base_SxVxV, config):
  return per_seed(lambda t, b: bayes.genre_bayes(t, b, config.genre_concentration),
                  tokens_SxNxL, base_SxVxV)


def standard_references(tokens_SxNxL, config) -> dict:
  return {
      "uniform": per_seed(lambda t: bayes.uniform(t, config.vocab), tokens_SxNxL),
      "unigram": per_seed(lambda t: bayes.unigram(t, config.vocab, config.unigram_prior),
                          tokens_SxNxL),
      "bayes_new_domain": bayes_new_domain(tokens_SxNxL, config),
  }

"""Scoring: models and exact references on the same sequences, per seed and per position.

Losses are nats per predicted token, S x (L-1) arrays (seed x position 1..L-1); tables average
the positions (`mean_over_positions`) and summarise the seeds (`stats.summary`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genjax import stats
from genjax.domain import bayes
from genjax.domain.model import next_token_nll


def mean_over_positions(per_position_SxT) -> np.ndarray:
  return np.asarray(per_position_SxT).mean(axis=-1)


def loss_summary(per_position_SxT) -> dict:
  """{"mean", "sd", "se", "seeds"} of the per-seed mean losses."""
  return stats.summary(mean_over_positions(per_position_SxT))


@functools.lru_cache(maxsize=16)
def _nll_sum(model):
  @jax.jit
  def nll_sum(params_S, tokens_SxCxL):
    return jax.vmap(lambda p, t: next_token_nll(model, p, t).sum(0))(params_S, tokens_SxCxL)

  return nll_sum


def model_loss(model, params_S, tokens_SxNxL, chunk: int) -> np.ndarray:
  """Per-position mean NLL of each seed's model on its own sequences: S x (L-1)."""
  nll_sum = _nll_sum(model)
  n = tokens_SxNxL.shape[1]
  chunk = min(chunk, n)
  total = sum(np.asarray(nll_sum(params_S, tokens_SxNxL[:, i:i + chunk]))
              for i in range(0, n, chunk))
  return total / n


def model_losses(model, params_S, eval_sets: dict, chunk: int) -> dict:
  return {name: model_loss(model, params_S, tokens, chunk) for name, tokens in eval_sets.items()}


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


def checkpoint_selection(evals: dict, valid: str, test: str) -> dict:
  """DomainBed's rules over the evaluated checkpoints: training-domain validation picks the
  checkpoint with the lowest mean `valid` loss; the test-domain oracle (labelled as such) the
  lowest `test` loss; both report the `test` loss there."""
  steps = sorted(evals)
  valid_mean = [float(evals[t][valid].mean()) for t in steps]
  test_mean = [float(evals[t][test].mean()) for t in steps]
  by_valid, by_oracle = steps[int(np.argmin(valid_mean))], steps[int(np.argmin(test_mean))]
  return {"training_domain_validation": {"step": by_valid,
                                         test: loss_summary(evals[by_valid][test])},
          "test_domain_oracle": {"step": by_oracle, test: loss_summary(evals[by_oracle][test])}}

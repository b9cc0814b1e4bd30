"""Scoring a model on evaluation sets, per seed and per position, and picking its checkpoint.

Losses are nats per predicted token, S x (L-1) arrays (seed x position 1..L-1); tables average
the positions (`mean_over_positions`) and summarise the seeds (`stats.summary`). A study's
references are scored beside the models on the same sets, by the study (the Markov study's exact
Bayes predictors: genjax/domain/references.py).
"""

import functools

import jax
import numpy as np

from genjax import stats
from genjax.lm.model import next_token_nll


def mean_over_positions(per_position_SxT) -> np.ndarray:
  return np.asarray(per_position_SxT).mean(axis=-1)


def loss_summary(per_position_SxT) -> dict:
  """{"mean", "sd", "se", "seeds"} of the per-seed mean losses."""
  return stats.summary(mean_over_positions(per_position_SxT))


@functools.lru_cache(maxsize=16)
def _nll_sum(model):
  """One seed's summed NLL over its sequences, per position."""
  return jax.jit(lambda params, tokens_CxL: next_token_nll(model, params, tokens_CxL).sum(0))


@functools.lru_cache(maxsize=16)
def _nll_sum_S(model):
  return jax.jit(jax.vmap(lambda p, t: next_token_nll(model, p, t).sum(0)))


def model_loss(model, params_S, tokens_SxNxL, chunk: int, seed_map: str = "vmap") -> np.ndarray:
  """Per-position mean NLL of each seed's model on its own sequences: S x (L-1). seed_map
  "sequential" scores one seed at a time, as the training step ran (genjax.seeds)."""
  n = tokens_SxNxL.shape[1]
  chunk = min(chunk, n)
  if seed_map == "sequential":
    nll_sum = _nll_sum(model)
    return np.stack([
        sum(np.asarray(nll_sum(jax.tree.map(lambda x, s=s: x[s], params_S),
                               tokens_SxNxL[s, i:i + chunk])) for i in range(0, n, chunk)) / n
        for s in range(tokens_SxNxL.shape[0])])
  nll_sum_S = _nll_sum_S(model)
  total = sum(np.asarray(nll_sum_S(params_S, tokens_SxNxL[:, i:i + chunk]))
              for i in range(0, n, chunk))
  return total / n


def model_losses(model, params_S, eval_sets: dict, chunk: int, seed_map: str = "vmap") -> dict:
  return {name: model_loss(model, params_S, tokens, chunk, seed_map)
          for name, tokens in eval_sets.items()}


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

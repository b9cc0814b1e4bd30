"""Batches as a pure function of (seed, step): resumed runs see exactly the same data."""

import functools

import jax
import numpy as np


@functools.lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
  key = jax.random.fold_in(jax.random.key(seed), epoch)
  return np.asarray(jax.random.permutation(key, size))


def batch_at_step(arrays: dict, step: int, batch_size: int, seed: int) -> dict:
  """The `step`-th batch of a shuffled pass over `arrays`, reshuffled each epoch."""
  size = len(next(iter(arrays.values())))
  steps_per_epoch = size // batch_size
  if steps_per_epoch == 0:
    raise ValueError(f"batch size {batch_size} is larger than the dataset ({size} examples)")
  epoch, index = divmod(step, steps_per_epoch)
  rows = _epoch_order(seed, epoch, size)[index * batch_size:(index + 1) * batch_size]
  return {name: value[rows] for name, value in arrays.items()}

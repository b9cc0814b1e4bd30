"""Batches as a pure function of (seed, step): resumed runs see exactly the same data."""

import functools
from collections.abc import Sequence

import jax
import numpy as np


@functools.lru_cache(maxsize=16)
def _epoch_order(seed: int, stream: int | None, epoch: int, size: int) -> np.ndarray:
  key = jax.random.key(seed)
  if stream is not None:
    key = jax.random.fold_in(key, stream)
  return np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), size))


def batch_at_step(arrays: dict, step: int, batch_size: int, seed: int,
                  stream: int | None = None) -> dict:
  """The `step`-th batch of a shuffled pass over `arrays`, reshuffled each epoch.

  stream: an independent shuffle of the same seed (e.g. one per vmapped seed of a model).
  """
  size = len(next(iter(arrays.values())))
  steps_per_epoch = size // batch_size
  if steps_per_epoch == 0:
    raise ValueError(f"batch size {batch_size} is larger than the dataset ({size} examples)")
  epoch, index = divmod(step, steps_per_epoch)
  rows = _epoch_order(seed, stream, epoch, size)[index * batch_size:(index + 1) * batch_size]
  return {name: value[rows] for name, value in arrays.items()}


def seeds_batch_at_step(arrays: dict, step: int, batch_size: int, seed: int,
                        streams: Sequence[int]) -> dict:
  """One batch per stream, stacked on axis 1: [batch, streams, ...].

  The batch axis stays first so that data parallelism shards it over devices unchanged; a step
  vmapped over seeds reads its stream with `in_axes=1`.
  """
  per_stream = [batch_at_step(arrays, step, batch_size, seed, s) for s in streams]
  return {name: np.stack([b[name] for b in per_stream], axis=1) for name in arrays}

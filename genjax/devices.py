"""The one device protocol the training loop runs on, and what its two implementations share.

Which one to use:

* `parallel.DataParallel` (`parallel.data_parallel(config.parallel, config.num_devices)`): ONE
  model on a large batch. The batch is split over the devices and the gradients are averaged
  across them (jit, pmap or jit(shard_map)); the state is replicated. The VAE.
* `seeds.SeedParallel` (`seeds.seed_parallel(config.num_seeds, config.parallel,
  config.num_devices)`): MANY small models, the seeds of one experiment. The per-seed step is
  vmapped over a leading seed axis of the state and the key, and that axis is split over the
  devices; each seed sees its whole batch and seeds never communicate. The GAN and the domain
  studies.

Both read `config.parallel`: "auto", "none" (one device) and "shard_map" mean the same to both.
"pmap" exists for data parallelism only: pmap over seeds would need the state reshaped to
[devices, seeds per device] and back at every checkpoint and evaluation, for the placement
shard_map already gives the [S] layout; a seeds experiment rejects it with a one-line error.

The loop (`genjax.loop.Trainer`) uses only the `Devices` methods below, so it runs either.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from genjax.errors import UserError


def usable_cores() -> int:
  """The cores a process started from this thread may use: its affinity (fewer than the
  machine's under taskset or a cpuset, and what XLA sizes its thread pool from), else the
  machine's count (no affinity call: macOS)."""
  if hasattr(os, "sched_getaffinity"):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


@runtime_checkable
class Devices(Protocol):
  """Where a compiled step runs; the host side of `DataParallel` and `SeedParallel`."""

  mode: str  # "none" (one device) or how the step is mapped over `devices`
  devices: tuple

  @property
  def num_devices(self) -> int: ...

  def compile(self, step: Callable) -> "CompiledStep":
    """`step(state, batch, key) -> (state, metrics)` compiled for these devices."""

  def put_state(self, state) -> Any:
    """Host state -> the compiled step's layout; a copy, since the step donates its state."""

  def put_batch(self, batch) -> Any:
    """A host batch (numpy) -> the compiled step's layout."""

  def get_state(self, device_state) -> Any:
    """Inverse of put_state: the state as checkpoints and evaluations see it."""

  def first(self, metrics) -> Any:
    """A compiled step's metrics as the host logs them."""


class CompiledStep:
  """A compiled `(state, batch, key) -> (state, metrics)` that counts how often JAX traced it.

  Each trace is one compilation: tests assert `num_traces() == 1` after many steps (a lost
  `jax.jit` or a shape that changes every step shows up as a count above 1).
  """

  def __init__(self, step: Callable, compile_fn: Callable[[Callable], Callable]):
    self._traces = 0

    def counted(state, batch, key):
      self._traces += 1  # runs only while JAX traces, not on a compiled call
      return step(state, batch, key)

    self._compiled = compile_fn(counted)

  def __call__(self, state, batch, key):
    return self._compiled(state, batch, key)

  def num_traces(self) -> int:
    return self._traces


def visible(num_devices: int | None) -> list:
  """The first `num_devices` devices (0 or None: all of them)."""
  devices = jax.devices()
  if num_devices is not None and num_devices > 0:
    if num_devices > len(devices):
      raise UserError(f"config.num_devices={num_devices} but only {len(devices)} "
                      f"{devices[0].platform} devices are visible")
    devices = devices[:num_devices]
  return devices


def check_mode(mode: str, modes: Sequence[str], experiment: str = "") -> None:
  if mode not in modes:
    raise UserError(f"config.parallel must be one of {', '.join(modes)}{experiment}; "
                    f"got {mode!r}")


def steps_in_one_call(train_step: Callable, steps: int) -> Callable:
  """`steps` applications of `train_step` as one compiled call (a lax.scan), for steps that
  sample their own data from the key: one dispatch and sync per call (bench/bench_gan.py
  measures the gain); each step equals a lone step's up to the last ulps (XLA may fuse the body
  differently). Metrics are the last step's; "loss" is NaN if any step's was not finite."""
  if steps == 1:
    return train_step

  def call(state, batch, key):
    state, metrics_K = jax.lax.scan(lambda s, _: train_step(s, batch, key), state, None,
                                    length=steps)
    metrics = jax.tree.map(lambda m: m[-1], metrics_K)
    metrics["loss"] = jnp.where(jnp.all(jnp.isfinite(metrics_K["loss"])), metrics["loss"],
                                jnp.nan)
    return state, metrics

  return call

"""Many seeds of one experiment in one program, spread over devices: seed keys and `SeedParallel`.

A per-seed step `(state, batch, key) -> (state, metrics)` is written for one seed.
`seed_parallel(S)` returns a `SeedParallel` whose `compile` vmaps it over a leading seed axis of
the state and of the key and shards that axis over a `seeds` device mesh, so 8 TPU cores train 8
or 16 seeds at once and one CPU trains them all in one program. Seeds never communicate: a seed's
numbers do not depend on how many devices share the work (up to float reassociation in batched
matmuls).

`SeedParallel` implements `genjax.devices.Devices`, so `genjax.loop.Trainer` runs it as it runs
`parallel.DataParallel` (one model, its batch split over devices; `genjax.devices` says when to
use which). Each seed's state holds a scalar "step"; the stacked state's "step" has shape [S].
Statistics over the seeds' results are in `genjax.stats`.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from genjax import devices
from genjax.devices import CompiledStep
from genjax.errors import UserError

AXIS = "seeds"
MODES = ("auto", "none", "shard_map")


def seed_keys(seed: int, num_seeds: int, tag: int | None = None) -> jax.Array:
  """One key per seed: fold_in(key(seed)[, tag], s) for s in 0..S-1."""
  base = jax.random.key(seed)
  if tag is not None:
    base = jax.random.fold_in(base, tag)
  return jax.vmap(lambda s: jax.random.fold_in(base, s))(jnp.arange(num_seeds))


@dataclasses.dataclass(frozen=True)
class SeedParallel:
  """Runs a per-seed step on S stacked seeds, the seed axis sharded over `devices`."""

  mode: str  # "none" (one device) or "shard_map"
  devices: tuple
  num_seeds: int

  @property
  def num_devices(self) -> int:
    return 1 if self.mode == "none" else len(self.devices)

  @functools.cached_property
  def mesh(self) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(self.devices), (AXIS,))

  def _sharding(self, spec):
    return NamedSharding(self.mesh, spec)

  def compile(self, per_seed_step, batch_axis: int | None = None,
              donate: bool = True) -> CompiledStep:
    """`(state_S, batch, keys_S) -> (state_S, metrics_S)`; it counts its traces.

    batch_axis: None when every seed sees the same batch, 0 when the batch has a leading seed
    axis (each seed its own data).
    """
    donate_argnums = (0,) if donate else ()

    def mapped(step):
      if self.mode == "none":
        return jax.jit(step, donate_argnums=donate_argnums)
      batch_spec = P() if batch_axis is None else P(AXIS)
      jitted = jax.jit(jax.shard_map(step, mesh=self.mesh,
                                     in_specs=(P(AXIS), batch_spec, P(AXIS)),
                                     out_specs=(P(AXIS), P(AXIS))), donate_argnums=donate_argnums)
      # Keys made on the host are committed to one device; place them like the state.
      return lambda state, batch, keys: jitted(state, batch, self.put_keys(keys))

    return CompiledStep(jax.vmap(per_seed_step, in_axes=(0, batch_axis, 0)), mapped)

  def put_keys(self, keys):
    if self.mode == "none":
      return keys
    return jax.device_put(keys, self._sharding(P(AXIS)))

  def put_state(self, state):
    """Stacked host state -> device state (a copy: the compiled step donates its input)."""
    copied = jax.tree.map(lambda x: jnp.array(x, copy=True), state)
    if self.mode == "none":
      return jax.device_put(copied, self.devices[0])
    return jax.device_put(copied, self._sharding(P(AXIS)))

  def put_batch(self, batch, batch_axis: int | None = None):
    """A host batch -> devices: replicated, or split along its seed axis `batch_axis` (0)."""
    if self.mode == "none":
      return jax.device_put(batch, self.devices[0])
    return jax.device_put(batch, self._sharding(P() if batch_axis is None else P(AXIS)))

  def get_state(self, device_state):
    """The device state is already the stacked [S] state checkpoints and evaluations read."""
    return device_state

  def first(self, metrics):
    """Metrics are already one [S] array each (pmap's per-device copies do not arise here)."""
    return metrics


def seed_parallel(num_seeds: int, mode: str = "auto",
                  num_devices: int | None = None) -> SeedParallel:
  """Uses the most devices (up to num_devices; 0 or None: all) that divide num_seeds evenly."""
  devices.check_mode(mode, MODES, " for a seeds experiment")
  if num_seeds < 1:
    raise UserError(f"config.num_seeds must be >= 1, got {num_seeds}")
  visible = devices.visible(num_devices)
  used = max(n for n in range(1, len(visible) + 1) if num_seeds % n == 0)
  if mode == "none" or (mode == "auto" and used == 1):
    return SeedParallel("none", tuple(visible[:1]), num_seeds)
  return SeedParallel("shard_map", tuple(visible[:used]), num_seeds)

"""Many seeds of one experiment in one program, spread over devices: seed keys and `SeedParallel`.

A per-seed step `(state, batch, key) -> (state, metrics)` is written for one seed.
`seed_parallel(S)` returns a `SeedParallel` whose `compile` maps it over a leading seed axis of
the state and of the key (vmap, or a loop: `SEED_MAPS`) and shards that axis over a `seeds` device
mesh, so 8 TPU cores train 8 or 16 seeds at once and one CPU trains them all in one program.
Seeds never communicate: a seed's numbers do not depend on how many devices share the work (up to
float reassociation in batched matmuls).

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
from genjax.devices import CompiledStep, usable_cores
from genjax.errors import UserError

AXIS = "seeds"
BATCH_AXIS = "batch"  # a seed's batch split over the devices it owns (devices_per_seed)
MODES = ("auto", "none", "shard_map")
# How one device runs its seeds: "vmap" batches them into each op (a seed axis on every array:
# wide matmuls for small nets); "loop" writes the per-seed program out once per seed in the one
# compiled program (unrolled, since a lax.map is much slower there: bench/bench_gan.py), for ops
# whose batched form is slow. A convolution with per-seed weights vmaps into a grouped
# convolution, which XLA:CPU runs slower per seed than S plain ones. "sequential" compiles the
# one-seed step alone and calls it for each seed, each seed's state its own arrays: XLA:CPU runs
# the byte-level transformer's S-seed program, vmapped or looped, slower than S calls of the
# one-seed program (bench/bench_lm_step.py). Its seeds go round robin over the devices it is
# given: on a host shown as several devices (startup.split_host_into_devices) their calls run at
# once, and each seed's numbers are the same on any of them. With at least twice as many devices
# and cores as seeds, each seed owns several and its batch is split over them (data parallel):
# one seed on one device left the host's cores less busy (bench/bench_lm_step.py).
SEED_MAPS = ("vmap", "loop", "sequential")


def map_seeds(fn, how: str = "vmap", in_axes=0):
  """fn mapped over a leading seed axis of the arguments whose `in_axes` entry is 0 (None: shared
  by every seed), by vmap or by a loop over the seeds written out at trace time. The same
  numbers either way up to float reassociation inside the batched ops."""
  if how == "vmap":
    return jax.vmap(fn, in_axes=in_axes)
  if how not in ("loop", "sequential"):  # inside one program, "sequential" can only loop
    raise UserError(f"unknown seed map {how!r}; choose from {SEED_MAPS}")

  def looped(*args):
    axes = in_axes if isinstance(in_axes, tuple | list) else (in_axes,) * len(args)
    num_seeds = next(len(jax.tree.leaves(a)[0]) for a, axis in zip(args, axes, strict=True)
                     if axis == 0)
    outs = [fn(*(jax.tree.map(lambda x, s=s: x[s], a) if axis == 0 else a
                 for a, axis in zip(args, axes, strict=True)))
            for s in range(num_seeds)]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

  return looped


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
  seed_map: str = "vmap"  # how a device runs its seeds: one of SEED_MAPS
  batch_size: int | None = None  # a seed's batch (its first axis), where "sequential" may split it

  @property
  def num_devices(self) -> int:
    return 1 if self.mode == "none" else len(self.devices)

  @functools.cached_property
  def devices_per_seed(self) -> int:
    """Under "sequential", the devices each seed owns: with at least twice as many devices and
    cores as seeds, the most that divide `batch_size` (its batch is split over them and XLA's
    partitioner sums the gradient across them: a seed's numbers then differ from one device's in
    rounding); else 1 (round robin)."""
    if self.seed_map != "sequential" or not self.batch_size:
      return 1
    # Host devices share the host's cores: more devices than cores only adds contention.
    usable = len(self.devices)
    if self.devices[0].platform == "cpu":
      usable = min(usable, usable_cores())
    most = usable // self.num_seeds
    return max([1] + [k for k in range(2, most + 1) if self.batch_size % k == 0])

  def seed_sharding(self, s: int, batch: bool = False):
    """Where seed s's arrays live under "sequential": its device (round robin), or the devices it
    owns, its state on each of them and its batch (`batch=True`) split along the first axis."""
    return self._seed_shardings[s][batch]

  @functools.cached_property
  def _seed_shardings(self) -> tuple:
    """(state, batch) sharding of each seed, made once: the step asks for them every call."""
    k = self.devices_per_seed
    if k == 1:
      return tuple((one, one) for one in (jax.sharding.SingleDeviceSharding(
          self.devices[s % len(self.devices)]) for s in range(self.num_seeds)))
    meshes = (jax.sharding.Mesh(np.array(self.devices[s * k:(s + 1) * k]), (BATCH_AXIS,))
              for s in range(self.num_seeds))
    return tuple((NamedSharding(mesh, P()), NamedSharding(mesh, P(BATCH_AXIS)))
                 for mesh in meshes)

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
    if self.seed_map == "sequential":
      return CompiledStep(per_seed_step, functools.partial(
          _one_seed_at_a_time, sp=self, batch_axis=batch_axis, donate_argnums=donate_argnums))

    def mapped(step):
      if self.mode == "none":
        return jax.jit(step, donate_argnums=donate_argnums)
      batch_spec = P() if batch_axis is None else P(AXIS)
      jitted = jax.jit(jax.shard_map(step, mesh=self.mesh,
                                     in_specs=(P(AXIS), batch_spec, P(AXIS)),
                                     out_specs=(P(AXIS), P(AXIS))), donate_argnums=donate_argnums)
      # Keys made on the host are committed to one device; place them like the state.
      return lambda state, batch, keys: jitted(state, batch, self.put_keys(keys))

    return CompiledStep(map_seeds(per_seed_step, self.seed_map, (0, batch_axis, 0)), mapped)

  def put_keys(self, keys):
    if self.mode == "none":
      return keys
    return jax.device_put(keys, self._sharding(P(AXIS)))

  def put_state(self, state):
    """Stacked host state -> device state (a copy: the compiled step donates its input); under
    "sequential", a tuple of the seeds' own states."""
    if self.seed_map == "sequential":
      return tuple(jax.device_put(jax.tree.map(lambda x, s=s: np.array(x[s]), state),
                                  self.seed_sharding(s)) for s in range(self.num_seeds))
    copied = jax.tree.map(lambda x: jnp.array(x, copy=True), state)
    if self.mode == "none":
      return jax.device_put(copied, self.devices[0])
    return jax.device_put(copied, self._sharding(P(AXIS)))

  def put_batch(self, batch, batch_axis: int | None = None):
    """A host batch -> devices: replicated, or split along its seed axis `batch_axis` (0); under
    "sequential" left on the host, where each seed's call takes it to that seed's device."""
    if self.seed_map == "sequential":
      return batch
    if self.mode == "none":
      return jax.device_put(batch, self.devices[0])
    return jax.device_put(batch, self._sharding(P() if batch_axis is None else P(AXIS)))

  def get_state(self, device_state):
    """The stacked [S] state checkpoints and evaluations read: the device state itself, or
    under "sequential" the seeds' states stacked on the host."""
    if self.seed_map == "sequential":
      return _stack_on_host(device_state)
    return device_state

  def first(self, metrics):
    """Metrics as one [S] array each (pmap's per-device copies do not arise here)."""
    if self.seed_map == "sequential":
      return _stack_on_host(metrics)
    return metrics


def _stack_on_host(per_seed: tuple):
  return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *per_seed)


def _one_seed_at_a_time(step, sp: SeedParallel, batch_axis: int | None, donate_argnums: tuple):
  """`(states, batch, keys_S) -> (states, metrics)` over a tuple of per-seed states: the one-seed
  step traced once (the seed's index is an argument, not a constant) and called per seed on its
  own batch, placed where the seed runs (`sp.seed_sharding`)."""

  split = sp.devices_per_seed > 1  # then each call gets the seed's own batch, split already

  def one_seed(state, batch, keys_S, s):
    if batch_axis == 0 and not split:
      batch = jax.tree.map(lambda x: x[s], batch)
    return step(state, batch, keys_S[s])

  jitted = jax.jit(one_seed, donate_argnums=donate_argnums)

  def call(s, state, batch, keys_S):
    if split:
      batch = jax.device_put(jax.tree.map(lambda x: x[s], batch) if batch_axis == 0 else batch,
                             sp.seed_sharding(s, batch=True))
    return jitted(state, batch, keys_S, np.int32(s))

  def run(states, batch, keys_S):
    outs = [call(s, state, batch, keys_S) for s, state in enumerate(states)]
    return tuple(state for state, _ in outs), tuple(metrics for _, metrics in outs)

  return run


def seed_parallel(num_seeds: int, mode: str = "auto", num_devices: int | None = None,
                  seed_map: str = "vmap", batch_size: int | None = None) -> SeedParallel:
  """Uses the most devices (up to num_devices; 0 or None: all) that divide num_seeds evenly;
  each runs its seeds by `seed_map` (SEED_MAPS). batch_size: a seed's batch, which "sequential"
  splits over the devices a seed owns where there are at least twice as many as seeds."""
  devices.check_mode(mode, MODES, " for a seeds experiment")
  if seed_map not in SEED_MAPS:
    raise UserError(f"unknown seed map {seed_map!r}; choose from {', '.join(SEED_MAPS)}")
  if num_seeds < 1:
    raise UserError(f"config.num_seeds must be >= 1, got {num_seeds}")
  if seed_map == "sequential":
    if mode == "shard_map":
      raise UserError("the seed map 'sequential' calls the one-seed step per seed; it cannot "
                      "shard a program over devices (config.parallel=shard_map)")
    # Each seed on a device of its own, round robin (parallel=none: all on the first).
    visible = devices.visible(num_devices)
    return SeedParallel("none", tuple(visible if mode == "auto" else visible[:1]), num_seeds,
                        seed_map, batch_size)
  visible = devices.visible(num_devices)
  used = max(n for n in range(1, len(visible) + 1) if num_seeds % n == 0)
  if mode == "none" or (mode == "auto" and used == 1):
    return SeedParallel("none", tuple(visible[:1]), num_seeds, seed_map)
  return SeedParallel("shard_map", tuple(visible[:used]), num_seeds, seed_map)

"""Data parallelism: one per-device train step, run plainly, under pmap, or under jit(shard_map).

One model on a large batch split over the devices; for many small models (seeds) see
`genjax.seeds.SeedParallel`, and `genjax.devices` for when to use which.

A per-device step is written once, against a `DataParallel` object `dp`:

  def train_step(state, batch, key):           # batch: this device's share
    key = jax.random.fold_in(key, state["step"])
    (loss, aux), grads = dp.value_and_grad(loss_fn)(state["params"])   # global means
    ...

and `dp.compile(train_step)` returns `(state, global_batch, key) -> (state, metrics)` for the
chosen mode. Randomness that depends on the example (VAE noise, binarization) comes from
`dp.example_keys`, keyed by the global example index, so 1, 2 or 4 devices draw the same numbers
for the same global batch and train to the same params.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from genjax import devices
from genjax.devices import CompiledStep
from genjax.errors import UserError

AXIS = "data"
MODES = ("auto", "none", "pmap", "shard_map")


@dataclasses.dataclass(frozen=True)
class DataParallel:
  """How a per-device step is mapped over devices; see the module docstring.

  Implements `genjax.devices.Devices`, the host interface the training loop uses.
  """

  mode: str  # "none", "pmap" or "shard_map"
  devices: tuple

  @property
  def num_devices(self) -> int:
    return 1 if self.mode == "none" else len(self.devices)

  @functools.cached_property
  def mesh(self) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(self.devices), (AXIS,), axis_types=(AxisType.Auto,))

  # ---- used inside the per-device step ----

  def device_index(self):
    return 0 if self.mode == "none" else lax.axis_index(AXIS)

  def mean(self, tree):
    """Mean over devices (identity without parallelism)."""
    return tree if self.mode == "none" else lax.pmean(tree, AXIS)

  def example_keys(self, key, local_batch_size: int):
    """One key per example, from its index in the global batch (device-count invariant)."""
    first = self.device_index() * local_batch_size
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(first + jnp.arange(local_batch_size))

  def value_and_grad(self, loss_fn):
    """Like `jax.value_and_grad(loss_fn, has_aux=True)`, returning means over the global batch.

    loss_fn(params) -> (loss, aux) computes the mean over this device's examples.
    """
    if self.mode == "shard_map":
      # Params enter shard_map replicated (device-invariant), so autodiff already sums their
      # gradient over devices; pmean(grads) on top, the pmap habit, would scale it by the device
      # count. Differentiating the device-mean of the loss gives the global-mean gradient.
      def global_loss(params):
        loss, aux = loss_fn(params)
        return lax.pmean(loss, AXIS), lax.pmean(aux, AXIS)

      return jax.value_and_grad(global_loss, has_aux=True)

    def local_then_mean(params):
      # Under pmap each device holds its own copy of the params: average the local gradients.
      (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
      return (self.mean(loss), self.mean(aux)), self.mean(grads)

    return local_then_mean

  # ---- used on the host ----

  def compile(self, per_device_step, donate: bool = True) -> CompiledStep:
    """Compiles `per_device_step(state, batch, key)` for this mode; it counts its traces."""
    donate_argnums = (0,) if donate else ()

    def mapped(step):
      if self.mode == "none":
        return jax.jit(step, donate_argnums=donate_argnums)
      if self.mode == "pmap":
        return jax.pmap(step, axis_name=AXIS, in_axes=(0, 0, None), devices=self.devices,
                        donate_argnums=donate_argnums)
      return jax.jit(jax.shard_map(step, mesh=self.mesh, in_specs=(P(), P(AXIS), P()),
                                   out_specs=(P(), P())), donate_argnums=donate_argnums)

    return CompiledStep(per_device_step, mapped)

  def put_state(self, state):
    """State -> the layout the compiled step expects (replicated on every device).

    Always a copy: the compiled step donates its state, and a caller's arrays that device_put
    would pass through unchanged (already on the device) must survive it.
    """
    if self.mode == "none":
      return jax.tree.map(lambda x: jnp.array(x, copy=True, device=self.devices[0]), state)
    if self.mode == "pmap":
      # Placed exactly as pmap returns its outputs, so the second call does not retrace.
      local = [d for d in self.devices if d.process_index == jax.process_index()]

      sharding = NamedSharding(jax.sharding.Mesh(np.array(local), (AXIS,)), P(AXIS))
      return jax.tree.map(lambda x: jax.device_put(np.stack([np.asarray(x)] * len(local)),
                                                   sharding), state)
    copied = jax.tree.map(lambda x: jnp.array(x, copy=True), state)
    return jax.device_put(copied, NamedSharding(self.mesh, P()))

  def get_state(self, state):
    """Inverse of put_state: one copy of the state (pmap keeps one per device)."""
    if self.mode == "pmap":
      return jax.tree.map(lambda x: x[0], state)
    return state

  def first(self, metrics):
    """Metrics as the host sees them (pmap returns one identical copy per device)."""
    return self.get_state(metrics)

  def put_batch(self, global_batch):
    """The same global batch (numpy) on every process -> this process's devices' shares."""
    n = self.num_devices
    size = len(jax.tree.leaves(global_batch)[0])
    if size % n:
      raise UserError(f"the batch size {size} is not divisible by the {n} devices; "
                      f"set config.batch_size to a multiple of {n}")
    if self.mode == "none":
      return jax.device_put(global_batch, self.devices[0])
    per_process = size // jax.process_count()
    start = jax.process_index() * per_process

    def local(x):
      return x[start:start + per_process]

    if self.mode == "pmap":
      n_local = len([d for d in self.devices if d.process_index == jax.process_index()])
      return jax.tree.map(lambda x: local(x).reshape(n_local, -1, *x.shape[1:]), global_batch)
    sharding = NamedSharding(self.mesh, P(AXIS))
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, local(x), x.shape),
        global_batch)


def data_parallel(mode: str = "auto", num_devices: int | None = None) -> DataParallel:
  """Picks devices and a mode; "auto" is shard_map on several devices, else none."""
  devices.check_mode(mode, MODES)
  visible = devices.visible(num_devices)
  if mode == "auto":
    mode = "shard_map" if len(visible) > 1 else "none"
  return DataParallel(mode=mode, devices=tuple(visible))

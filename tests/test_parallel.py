"""One per-device step, three ways to run it: same params on 1, 2 and 4 (fake CPU) devices."""

import functools

import jax
import numpy as np
import optax
import pytest
from jax.sharding import AxisType

from genjax import parallel
from genjax.data import batching, images
from genjax.errors import UserError
from genjax.models.autoencoder import EncoderDecoder
from genjax.vae import train as vae_train


def _setup(dp, *, stochastic=True, dynamic=True):
  data = images.load("digits", "train")
  x = data["image"].reshape(len(data["image"]), -1)
  model = EncoderDecoder((16,), 3, x.shape[1])
  # SGD, not Adam: Adam's update is invariant to the gradient's scale, so a gradient summed
  # instead of averaged over devices (4x on 4 devices) would train to the same params.
  tx = optax.sgd(0.05)
  state = vae_train.create_state(model, tx, jax.random.key(0), x.shape[1])
  step = dp.compile(vae_train.make_train_step(model, tx, dp, beta=1.0, stochastic=stochastic,
                                              dynamic_binarization=dynamic))
  return x, state, step


@functools.cache
def _train(mode, num_devices, steps=4, batch_size=16):
  dp = parallel.data_parallel(mode, num_devices)
  x, state, step = _setup(dp)
  device_state = dp.put_state(state)
  losses = []
  for s in range(steps):
    batch = batching.batch_at_step({"image": x}, s, batch_size, seed=0)
    device_state, metrics = step(device_state, dp.put_batch(batch), jax.random.key(1))
    losses.append(float(np.asarray(dp.first(metrics)["loss"])))
  return jax.device_get(dp.get_state(device_state)), losses, step


def test_fake_devices_are_set_up():
  assert jax.device_count() == 4


@pytest.mark.parametrize("mode,num_devices", [("pmap", 1), ("pmap", 2), ("pmap", 4),
                                              ("shard_map", 2), ("shard_map", 4)])
def test_same_params_as_one_device(mode, num_devices):
  reference, reference_losses, _ = _train("none", 1)
  state, losses, _ = _train(mode, num_devices)
  np.testing.assert_allclose(losses, reference_losses, rtol=1e-5)
  for got, want in zip(jax.tree.leaves(state["params"]), jax.tree.leaves(reference["params"]),
                       strict=True):
    # Tolerance: float32 sums taken in another order, over 4 SGD steps.
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)


def test_the_equivalence_test_sees_a_scaled_gradient():
  """The optimizer above must not hide a gradient scaled by the device count."""
  reference, _, _ = _train("none", 1)
  dp = parallel.data_parallel("none")
  x, state, _ = _setup(dp)
  tx = optax.sgd(0.05 * 4)  # what a 4x gradient does to an SGD step
  model = EncoderDecoder((16,), 3, x.shape[1])
  step = dp.compile(vae_train.make_train_step(model, tx, dp, beta=1.0, stochastic=True,
                                              dynamic_binarization=True))
  device_state = dp.put_state(state)
  for s in range(4):
    batch = batching.batch_at_step({"image": x}, s, 16, seed=0)
    device_state, _ = step(device_state, dp.put_batch(batch), jax.random.key(1))
  scaled = jax.device_get(device_state)
  gaps = [np.max(np.abs(a - b)) for a, b in zip(jax.tree.leaves(scaled["params"]),
                                                 jax.tree.leaves(reference["params"]),
                                                 strict=True)]
  assert max(gaps) > 100 * 2e-4


def test_shard_map_pmap_habit_would_be_caught():
  """pmean of the gradient inside shard_map scales it by the device count: the test above must
  see that. Here the mistake is made on purpose and the gradient compared with the right one."""
  dp = parallel.data_parallel("shard_map", 4)
  params = {"w": np.ones(3, np.float32)}
  x = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)

  def loss_fn(p, xb):
    return ((xb @ p["w"]) ** 2).mean(), {}

  def right(p, xb):
    return dp.value_and_grad(lambda q: loss_fn(q, xb))(p)[1]

  def pmap_habit(p, xb):
    return dp.mean(jax.grad(lambda q: loss_fn(q, xb)[0])(p))

  expected = jax.grad(lambda p: loss_fn(p, x)[0])(params)
  run = lambda f: jax.jit(jax.shard_map(  # noqa: E731
      f, mesh=dp.mesh, in_specs=(parallel.P(), parallel.P(parallel.AXIS)),
      out_specs=parallel.P()))(params, x)
  np.testing.assert_allclose(run(right)["w"], expected["w"], rtol=1e-6)
  np.testing.assert_allclose(run(pmap_habit)["w"], 4 * expected["w"], rtol=1e-6)


def test_mesh_uses_auto_axes():
  assert parallel.data_parallel("shard_map", 2).mesh.axis_types == (AxisType.Auto,)


@pytest.mark.parametrize("mode,num_devices", [("none", 1), ("pmap", 2), ("shard_map", 4)])
def test_step_compiles_once(mode, num_devices):
  _, _, step = _train(mode, num_devices)  # 4 steps
  assert step.num_traces() == 1


def test_example_keys_do_not_depend_on_device_count():
  """Per-example noise is keyed by global example index (device-count invariant)."""
  key = jax.random.key(3)
  dp1, dp4 = parallel.data_parallel("none"), parallel.data_parallel("shard_map", 4)
  single = jax.random.key_data(dp1.example_keys(key, 8))
  sharded = jax.jit(jax.shard_map(
      lambda k: jax.random.key_data(dp4.example_keys(k, 2)), mesh=dp4.mesh,
      in_specs=parallel.P(), out_specs=parallel.P(parallel.AXIS)))(key)
  np.testing.assert_array_equal(single, sharded)


def test_batch_must_divide_over_devices():
  dp = parallel.data_parallel("shard_map", 4)
  with pytest.raises(UserError, match="not divisible by the 4 devices"):
    dp.put_batch({"image": np.zeros((6, 2), np.float32)})


def test_bad_mode_and_device_count_are_user_errors():
  with pytest.raises(UserError, match="config.parallel"):
    parallel.data_parallel("dataparallel")
  with pytest.raises(UserError, match="config.num_devices=16"):
    parallel.data_parallel("pmap", 16)


@pytest.mark.parametrize("mode,num_devices", [("none", 1), ("pmap", 2), ("shard_map", 2)])
def test_put_state_copies_so_donation_spares_the_callers_arrays(mode, num_devices):
  dp = parallel.data_parallel(mode, num_devices)
  x, state, step = _setup(dp)
  state = jax.device_put(state)  # arrays already on a device: device_put alone would alias them
  batch = dp.put_batch(batching.batch_at_step({"image": x}, 0, 16, seed=0))
  step(dp.put_state(state), batch, jax.random.key(1))
  assert all(not leaf.is_deleted() for leaf in jax.tree.leaves(state))

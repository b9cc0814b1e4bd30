"""Seeds: one program for S seeds on 1 or 4 devices, and their keys."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import seeds
from genjax.errors import UserError


def _toy_step(state, batch, key):
  """One SGD step of linear regression on data drawn from the seed's key (and a shared batch)."""
  key = jax.random.fold_in(key, state["step"])
  x = jax.random.normal(key, (16, 3)) + batch["shift"]
  y = x @ jnp.array([1.0, -2.0, 0.5])

  def loss_fn(w):
    return jnp.mean((x @ w - y) ** 2)

  loss, grad = jax.value_and_grad(loss_fn)(state["w"])
  return {"step": state["step"] + 1, "w": state["w"] - 0.1 * grad}, {"loss": loss}


def _train(num_devices: int, num_steps: int = 5):
  sp = seeds.seed_parallel(4, "auto", num_devices)
  keys_S = seeds.seed_keys(0, 4)
  state = {"step": jnp.zeros((4,), jnp.int32),
           "w": jax.vmap(lambda k: jax.random.normal(k, (3,)))(keys_S)}
  step = sp.compile(_toy_step)
  device_state = sp.put_state(state)
  for _ in range(num_steps):
    device_state, metrics = step(device_state, sp.put_batch({"shift": np.float32(0.5)}), keys_S)
  return sp, step, jax.device_get(device_state), jax.device_get(metrics)


def test_four_devices_train_the_same_seeds_as_one():
  sp1, step1, state1, metrics1 = _train(1)
  sp4, step4, state4, metrics4 = _train(4)
  assert (sp1.mode, sp1.num_devices) == ("none", 1)
  assert (sp4.mode, sp4.num_devices) == ("shard_map", 4)
  np.testing.assert_allclose(state4["w"], state1["w"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics4["loss"], metrics1["loss"], rtol=1e-5, atol=1e-6)
  assert state4["step"].tolist() == [5, 5, 5, 5]
  assert step1.num_traces() == 1 and step4.num_traces() == 1
  # Seeds differ from each other: the seed axis is not a copy of one run.
  assert len({round(float(w), 5) for w in state1["w"][:, 0]}) == 4


def test_sharded_state_lives_on_all_devices():
  sp = seeds.seed_parallel(4, "shard_map", 4)
  placed = sp.put_state({"w": np.zeros((4, 3), np.float32)})
  assert len(placed["w"].sharding.device_set) == 4


def test_device_count_divides_the_seeds():
  assert seeds.seed_parallel(6, "auto", 4).num_devices == 3
  assert seeds.seed_parallel(5, "auto", 4).mode == "none"
  assert seeds.seed_parallel(8, "none", 4).num_devices == 1
  with pytest.raises(UserError, match="config.parallel"):
    seeds.seed_parallel(4, "pmap")
  with pytest.raises(UserError, match="num_devices=9"):
    seeds.seed_parallel(4, "auto", 9)


def test_seed_keys_are_distinct_and_reproducible():
  keys = seeds.seed_keys(3, 4)
  data = jax.random.key_data(keys)
  assert len({tuple(np.asarray(k).tolist()) for k in data}) == 4
  np.testing.assert_array_equal(data, jax.random.key_data(seeds.seed_keys(3, 4)))
  assert not np.array_equal(data, jax.random.key_data(seeds.seed_keys(3, 4, tag=1)))


def test_sgd_learns_under_the_seed_step():
  # The step does what it says: the loss falls on every seed (guards a wrong vmap axis).
  _, _, _, first = _train(1, num_steps=1)
  _, _, _, later = _train(1, num_steps=30)
  assert np.all(later["loss"] < 0.1 * first["loss"])

"""Seeds: one program for S seeds on 1 or 4 devices, and the statistics every rule uses."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

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
  sp = seeds.make(4, "auto", num_devices)
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
  sp = seeds.make(4, "shard_map", 4)
  placed = sp.put_state({"w": np.zeros((4, 3), np.float32)})
  assert len(placed["w"].sharding.device_set) == 4


def test_device_count_divides_the_seeds():
  assert seeds.make(6, "auto", 4).num_devices == 3
  assert seeds.make(5, "auto", 4).mode == "none"
  assert seeds.make(8, "none", 4).num_devices == 1
  with pytest.raises(UserError, match="config.parallel"):
    seeds.make(4, "pmap")
  with pytest.raises(UserError, match="num_devices=9"):
    seeds.make(4, "auto", 9)


def test_summary_matches_numpy():
  s = seeds.summary([1.0, 2.0, 4.0])
  assert s["mean"] == pytest.approx(7 / 3)
  assert s["sd"] == pytest.approx(np.std([1, 2, 4], ddof=1))
  assert s["se"] == pytest.approx(s["sd"] / math.sqrt(3))
  assert s["seeds"] == [1.0, 2.0, 4.0]
  assert seeds.summary([3.0]) == {"mean": 3.0, "sd": 0.0, "se": 0.0, "seeds": [3.0]}


def test_t_quantile_for_three_seeds():
  assert seeds.t_critical(2) == pytest.approx(4.3027, abs=1e-4)


def test_paired_compare_matches_scipy_and_uses_the_t_quantile():
  a, b = [1.0, 1.4, 1.1], [0.2, 0.9, 0.3]
  result = seeds.compare(a, b, paired=True)
  test = stats.ttest_rel(a, b)
  d = np.subtract(a, b)
  assert result["diff"] == pytest.approx(d.mean())
  assert result["diff"] / result["se"] == pytest.approx(test.statistic)
  # 95%: clear exactly when scipy's two-sided p < 0.05.
  assert result["clear"] == (test.pvalue < 0.05)
  # Differences 1, 2, 3: mean 3.46 s.e., clear at the normal's 1.96 but not at t(2) = 4.30.
  weak = seeds.compare([2.0, 3.0, 4.0], [1.0, 1.0, 1.0], paired=True)
  assert weak["diff"] / weak["se"] == pytest.approx(2 / (1 / math.sqrt(3)))
  assert not weak["clear"]


def test_compare_can_say_clear_and_not_clear():
  assert seeds.compare([5.0, 5.1, 4.9], [1.0, 1.1, 0.9], paired=True)["clear"]
  assert not seeds.compare([5.0, 1.0, 3.0], [3.0, 3.1, 2.9], paired=True)["clear"]
  welch = seeds.compare([5.0, 5.1, 4.9, 5.2], [1.0, 1.3, 0.9], paired=False)
  scipy_welch = stats.ttest_ind([5.0, 5.1, 4.9, 5.2], [1.0, 1.3, 0.9], equal_var=False)
  assert welch["diff"] / welch["se"] == pytest.approx(scipy_welch.statistic)
  assert welch["clear"]


def test_one_seed_is_never_clear():
  result = seeds.compare([5.0], [1.0], paired=True)
  assert not result["clear"] and math.isinf(result["se"])
  with pytest.raises(ValueError, match="paired"):
    seeds.compare([1.0, 2.0], [1.0], paired=True)


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

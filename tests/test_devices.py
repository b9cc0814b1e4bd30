"""One device protocol: DataParallel and SeedParallel both implement it and share its pieces."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import devices, parallel, seeds
from genjax.errors import UserError


@pytest.mark.parametrize("make", [lambda: parallel.data_parallel("none"),
                                  lambda: parallel.data_parallel("pmap", 2),
                                  lambda: parallel.data_parallel("shard_map", 4),
                                  lambda: seeds.seed_parallel(4, "none"),
                                  lambda: seeds.seed_parallel(4, "auto"),
                                  lambda: seeds.seed_parallel(4, "auto", seed_map="sequential")])
def test_both_device_classes_implement_the_protocol(make):
  assert isinstance(make(), devices.Devices)


def test_the_protocol_check_is_not_vacuous():
  @dataclasses.dataclass
  class NoHostSide:  # compiles, but the loop could not place states or read metrics
    mode: str = "none"
    devices: tuple = ()
    num_devices: int = 1

    def compile(self, step):
      return step

  assert not isinstance(NoHostSide(), devices.Devices)


@pytest.mark.parametrize("dp", [parallel.data_parallel("none"), seeds.seed_parallel(2, "none"),
                                seeds.seed_parallel(2, "none", seed_map="sequential")])
def test_compiled_steps_count_their_traces_the_same_way(dp):
  def step(state, batch, key):
    return {"w": state["w"] + 1.0}, {"loss": state["w"]}

  compiled = dp.compile(step)
  assert isinstance(compiled, devices.CompiledStep) and compiled.num_traces() == 0
  state = dp.put_state({"w": jnp.zeros((2,) if isinstance(dp, seeds.SeedParallel) else ())})
  keys = seeds.seed_keys(0, 2) if isinstance(dp, seeds.SeedParallel) else seeds.seed_keys(0, 1)[0]
  for _ in range(3):
    state, metrics = compiled(state, {}, keys)
  assert compiled.num_traces() == 1
  np.testing.assert_array_equal(dp.get_state(state)["w"], 3.0)
  np.testing.assert_array_equal(dp.first(metrics)["loss"], 2.0)
  compiled(dp.put_state({"w": jnp.zeros((3,))}), {}, seeds.seed_keys(0, 3) if isinstance(
      dp, seeds.SeedParallel) else keys)  # a new shape traces again
  assert compiled.num_traces() == 2


def test_both_share_the_device_checks():
  assert len(devices.visible(None)) == len(devices.visible(0)) == 4  # tests/conftest.py
  assert len(devices.visible(2)) == 2
  for make in (lambda: parallel.data_parallel("none", 9),
               lambda: seeds.seed_parallel(4, "none", 9)):
    with pytest.raises(UserError, match="config.num_devices=9 but only 4 cpu devices"):
      make()
  with pytest.raises(UserError, match="config.parallel must be one of auto, none, pmap, shard_map"):
    parallel.data_parallel("seeds")
  with pytest.raises(UserError, match="none, shard_map for a seeds experiment; got 'pmap'"):
    seeds.seed_parallel(4, "pmap")


def test_a_loop_over_seeds_gives_what_vmap_gives():
  """seed_map="loop" writes the per-seed program out once per seed, "sequential" calls the
  one-seed program per seed; the numbers are vmap's either way."""
  def step(state, batch, key):
    w = state["w"] + batch["x"] @ state["m"] + jax.random.normal(key, (3,))
    return {"w": w, "m": state["m"] * 0.5}, {"loss": (w ** 2).sum()}

  state = {"w": jnp.arange(6.0).reshape(2, 3), "m": jnp.ones((2, 4, 3))}
  keys = seeds.seed_keys(0, 2)
  for batch_axis, batch in ((None, {"x": jnp.ones((4,))}),
                            (0, {"x": jnp.arange(8.0).reshape(2, 4)})):
    outs = {}
    for how in seeds.SEED_MAPS:
      sp = seeds.seed_parallel(2, "none", seed_map=how)
      compiled = sp.compile(step, batch_axis=batch_axis, donate=False)
      new_state, metrics = compiled(sp.put_state(state), batch, keys)
      outs[how] = sp.get_state(new_state), sp.first(metrics)
      assert compiled.num_traces() == 1
    for how in ("loop", "sequential"):
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), outs["vmap"],
                   outs[how])
    assert outs["sequential"][0]["m"].shape == (2, 4, 3)  # stacked again for checkpoints
  shared = seeds.map_seeds(lambda a, b: a * b, "loop", in_axes=(0, None))
  np.testing.assert_array_equal(shared(jnp.arange(3.0), 2.0), [0.0, 2.0, 4.0])
  with pytest.raises(UserError, match="unknown seed map 'scan'"):
    seeds.seed_parallel(2, "none", seed_map="scan")
  assert seeds.seed_parallel(4, "auto", seed_map="sequential").num_devices == 1
  assert len(seeds.seed_parallel(4, "none", seed_map="sequential").devices) == 1
  with pytest.raises(UserError, match="'sequential' calls the one-seed step per seed"):
    seeds.seed_parallel(4, "shard_map", seed_map="sequential")


def test_sequential_seeds_on_devices_of_their_own_give_one_devices_bits():
  """Under "sequential" the seeds go round robin over the devices (parallel=auto) and their
  calls run at once; each seed's numbers are bitwise those of every seed on the first device."""
  def step(state, batch, key):
    w = jnp.tanh(state["w"] + batch["x"] @ state["m"] + jax.random.normal(key, (3,)))
    return {"w": w, "m": state["m"] * 0.5 + w.sum()}, {"loss": (w ** 2).sum()}

  num_seeds = 6  # more seeds than the 4 fake devices: some share one
  state = {"w": jnp.arange(18.0).reshape(6, 3) / 7, "m": jnp.ones((6, 4, 3))}
  batch = {"x": jnp.arange(24.0).reshape(6, 4) / 5}
  keys = seeds.seed_keys(0, num_seeds)
  outs = {}
  for mode in ("none", "auto"):
    sp = seeds.seed_parallel(num_seeds, mode, seed_map="sequential")
    compiled = sp.compile(step, batch_axis=0)
    device_state = sp.put_state(state)
    for _ in range(3):
      device_state, metrics = compiled(device_state, sp.put_batch(batch, 0), keys)
    if mode == "auto":
      assert [x["w"].devices() for x in device_state] == [
          {sp.devices[s % len(jax.devices())]} for s in range(num_seeds)]
    outs[mode] = sp.get_state(device_state), sp.first(metrics)
    assert compiled.num_traces() == 1
  jax.tree.map(np.testing.assert_array_equal, outs["none"], outs["auto"])


@pytest.mark.parametrize("num_seeds,batch_size,cores,owned", [
    (1, 4, 8, 4), (1, 6, 8, 3), (2, 4, 8, 2), (2, 3, 8, 1), (3, 6, 8, 1), (1, None, 8, 1),
    (1, 4, 2, 2), (1, 4, 3, 2), (2, 4, 2, 1)])
def test_a_seed_owns_devices_that_divide_its_batch_when_there_are_enough(
    num_seeds, batch_size, cores, owned, monkeypatch):
  """4 fake devices (tests/conftest.py) on a host with `cores` cores: a seed owns at most its
  share of the fewer of the two."""
  monkeypatch.setattr(seeds, "usable_cores", lambda: cores)
  sp = seeds.seed_parallel(num_seeds, "auto", seed_map="sequential", batch_size=batch_size)
  assert sp.devices_per_seed == owned
  assert seeds.seed_parallel(num_seeds, "none", seed_map="sequential",
                             batch_size=batch_size).devices_per_seed == 1
  assert seeds.seed_parallel(num_seeds, "auto", batch_size=batch_size).devices_per_seed == 1


def test_a_seed_split_over_its_devices_computes_what_one_device_does(monkeypatch):
  """One seed on 4 devices: its batch split over them, its state on each; the numbers are one
  device's up to rounding (the batch mean summed across devices)."""
  monkeypatch.setattr(seeds, "usable_cores", lambda: 4)
  def step(state, batch, key):
    grad = jnp.mean(jnp.tanh(batch["x"] @ state["m"]), axis=0) + jax.random.normal(key, (3,))
    return {"m": state["m"] - 0.1 * grad}, {"loss": jnp.mean(batch["x"] ** 2)}

  state = {"m": jnp.linspace(-1.0, 1.0, 15).reshape(1, 5, 3)}
  batch = {"x": np.arange(40.0, dtype=np.float32).reshape(1, 8, 5) / 40}
  outs = {}
  for mode in ("none", "auto"):
    sp = seeds.seed_parallel(1, mode, seed_map="sequential", batch_size=8)
    compiled = sp.compile(step, batch_axis=0)
    device_state = sp.put_state(state)
    for _ in range(3):
      device_state, metrics = compiled(device_state, sp.put_batch(batch, 0), seeds.seed_keys(0, 1))
    if mode == "auto":
      assert device_state[0]["m"].sharding.device_set == set(jax.devices())
      assert device_state[0]["m"].sharding.is_fully_replicated
    outs[mode] = sp.get_state(device_state), sp.first(metrics)
    assert compiled.num_traces() == 1
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), outs["none"],
               outs["auto"])

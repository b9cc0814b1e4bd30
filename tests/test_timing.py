"""The timing harness: what it calls, in which order, and what it counts (fake clocks only)."""

import jax.numpy as jnp
import numpy as np
import pytest

from genjax import timing


class FakeClock:
  """Advances by one second per reading, so a timed call lasts exactly 1 s plus any sleeps."""

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    self.now += 1.0
    return self.now

  def sleep(self, seconds):
    self.now += seconds


class Blockable:
  """A result that counts how often the harness waits on it."""

  blocked = 0

  def block_until_ready(self):
    Blockable.blocked += 1
    return self


def test_warmup_then_interleaved_rounds_in_dict_order():
  clock, calls = FakeClock(), []

  def make(name, seconds):
    def fn():
      calls.append((name, clock.now))
      clock.sleep(seconds)
      return Blockable()
    return fn

  Blockable.blocked = 0
  times = timing.time_interleaved({"a": make("a", 2.0), "b": make("b", 5.0)}, rounds=3,
                                  warmup=2, clock=clock)
  names = [name for name, _ in calls]
  # Warm-up: each function `warmup` times before the first timed call; then a b a b a b.
  assert names == ["a", "a", "b", "b"] + ["a", "b"] * 3
  # A timed call spans one clock reading (1 s) plus what it slept; warm-ups are not returned.
  assert times == {"a": [3.0, 3.0, 3.0], "b": [6.0, 6.0, 6.0]}
  assert Blockable.blocked == 4 + 6  # every call's result is waited on, warm-ups included
  # Warm-ups read no clock (the clock moves only by their sleeps: 2, 2, 5, 5); the first timed
  # call starts after the clock's first reading.
  assert [now for _, now in calls[:5]] == [0.0, 2.0, 4.0, 9.0, 15.0]


def test_no_warmup_and_one_round():
  count = []
  times = timing.time_interleaved({"x": lambda: count.append(1)}, rounds=1, warmup=0,
                                  clock=FakeClock())
  assert times == {"x": [1.0]} and len(count) == 1


def test_stateful_callables_keep_their_state_across_rounds():
  state = {"steps": 0}

  def ten_steps():
    state["steps"] += 10

  timing.time_interleaved({"s": ten_steps}, rounds=4, warmup=1, clock=FakeClock())
  assert state["steps"] == 50


@pytest.mark.parametrize("kwargs,match", [(dict(fns={}, rounds=1), "at least one"),
                                          (dict(fns={"a": int}, rounds=0), "rounds >= 1"),
                                          (dict(fns={"a": int}, rounds=1, warmup=-1),
                                           "warmup >= 0")])
def test_bad_arguments_are_refused(kwargs, match):
  with pytest.raises(ValueError, match=match):
    timing.time_interleaved(**kwargs)


def test_time_call_blocks_on_jax_arrays_and_uses_the_clock():
  seconds = timing.time_call(lambda: jnp.ones(3) * 2, clock=FakeClock())
  assert seconds == 1.0


def test_matmul_entry_computes_a_matmul_and_counts_its_flops():
  fn, flops = timing.matmul(8, seed=3)
  out = np.asarray(fn())
  assert out.shape == (8, 8) and flops == 2 * 8 ** 3
  np.testing.assert_allclose(out, np.asarray(fn()))  # the same inputs every call


def test_summaries():
  assert timing.median([3.0, 1.0, 2.0]) == 2.0
  assert timing.best([3.0, 1.0, 2.0]) == 1.0
  assert timing.per_round_ratio([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
  with pytest.raises(ValueError):
    timing.per_round_ratio([1.0], [1.0, 2.0])


def test_environment_records_the_xla_flags(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-dot")
  env = timing.environment()
  assert env["xla_flags"] == "--xla_cpu_experimental_ynn_fusion_type=-dot"
  assert env["jax"] and env["jaxlib"] and env["backend"] == "cpu"
  assert "ynn_fusion_type=-dot" in timing.describe(env)
  monkeypatch.delenv("XLA_FLAGS")
  assert "XLA_FLAGS=(unset" in timing.describe(timing.environment())


def test_environment_records_the_malloc_tunables(monkeypatch):
  monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")
  env = timing.environment()
  assert env["glibc_tunables"] == "glibc.malloc.hugetlb=1"
  assert "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" in timing.describe(env)
  monkeypatch.delenv("GLIBC_TUNABLES")
  assert "GLIBC_TUNABLES=(unset" in timing.describe(timing.environment())

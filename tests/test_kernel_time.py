"""bench/kernel_time.py: a traced step's kernel time split into dots and the rest."""

import os
import sys

import jax
import jax.numpy as jnp
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import kernel_time  # noqa: E402


def test_the_ceiling_is_the_total_over_the_dots():
  split = kernel_time.Split(dots=0.004, rest={"fusion.1": 0.003, "fusion.2": 0.001},
                            op_names={"fusion.1": "jit(step)/block_0/ln/mul"})
  assert split.total == pytest.approx(0.008) and split.ceiling == pytest.approx(2.0)
  line = split.describe(flops_per_step=4e8, peak_flops=2e11)
  # 4e8 FLOP in 4 ms is 1e11 FLOP/s: half the peak.
  assert "dots and convolutions 4.00 ms (50%; alone they run at 50% of peak)" in line
  assert "2.00x as fast" in line
  assert line.endswith("fusion.1 (ln/mul) 3.00 ms, fusion.2 (?) 1.00 ms")


def test_a_traced_step_splits_into_its_dot_and_the_rest(tmp_path):
  def step(carry, w):
    return jnp.tanh(carry @ w) * 0.5 + jnp.sin(carry), None

  carry, w = jnp.ones((64, 64)), jnp.eye(64) * 0.1
  compiled = jax.jit(step).lower(carry, w).compile()
  split = kernel_time.trace(compiled, carry, (w,), calls=3, trace_dir=str(tmp_path))
  assert split is not None and split.dots > 0 and sum(split.rest.values()) > 0
  assert split.ceiling > 1
  assert any(os.scandir(tmp_path))  # the trace stays there to be read

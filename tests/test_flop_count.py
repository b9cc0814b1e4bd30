"""genjax.flop_count: matmul FLOPs as written (jaxpr) and as compiled (optimized HLO)."""

import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from genjax import flop_count

NHWC = ("NHWC", "HWIO", "NHWC")


def both_counts(fn, *args):
  return (flop_count.jaxpr_matmul_flops(jax.make_jaxpr(fn)(*args).jaxpr),
          flop_count.compiled_matmul_flops(fn, *args))


def test_a_matmul_is_two_m_k_n_both_ways():
  x, w = jnp.ones((6, 5)), jnp.ones((5, 3))
  assert both_counts(lambda x, w: jnp.tanh(x @ w), x, w) == (2 * 6 * 5 * 3,) * 2


def test_a_batched_dot_counts_every_batch():
  x, w = jnp.ones((4, 6, 5)), jnp.ones((4, 5, 3))
  assert both_counts(lambda x, w: jnp.einsum("sbi,sio->sbo", x, w), x, w) == (
      (2 * 4 * 6 * 5 * 3,) * 2)


def test_the_compiled_count_runs_an_equal_subcomputation_once():
  # What happens in the GAN step: the D loss and a simultaneous G loss both run G on one z.
  x, w = jnp.arange(30.0).reshape(6, 5), jnp.ones((5, 3))
  written, compiled = both_counts(lambda x, w: jnp.sin(x @ w) + jnp.cos(x @ w), x, w)
  assert written == 2 * compiled == 2 * (2 * 6 * 5 * 3)


def test_a_gradient_counts_forward_and_backward_dots():
  x, w = jnp.ones((6, 5)), jnp.ones((5, 3))
  loss = jax.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w)))  # forward and the weight gradient
  assert both_counts(loss, w, x) == (2 * (2 * 6 * 5 * 3),) * 2


def test_a_convolution_is_two_x_outputs_x_taps_x_input_features():
  x, k = jnp.ones((2, 8, 8, 3)), jnp.ones((3, 3, 3, 4))
  conv = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",  # noqa: E731
                                                   dimension_numbers=NHWC)
  assert both_counts(conv, x, k) == (2 * (2 * 8 * 8 * 4) * 9 * 3,) * 2


def test_a_transposed_convolution_leaves_out_the_inserted_zeros():
  # Stride 2: every input pixel meets each of the 4x4 taps once; the dilated input's zeros
  # (3 taps of 4) are not work. Its gradient runs the same products twice more.
  x, k = jnp.ones((2, 7, 7, 8)), jnp.ones((4, 4, 8, 5))
  up = lambda x, k: jax.lax.conv_transpose(x, k, (2, 2), "SAME",  # noqa: E731
                                           dimension_numbers=NHWC)
  useful = 2 * (2 * 7 * 7) * 16 * 8 * 5
  assert both_counts(up, x, k) == (useful,) * 2
  grads = jax.grad(lambda x, k: jnp.sum(up(x, k) ** 2), argnums=(0, 1))
  assert both_counts(grads, x, k) == (3 * useful,) * 2


def test_a_loop_counts_its_body_per_iteration():
  x, w = jnp.ones((6, 5)), jnp.ones((5, 5))

  def repeated(x, w):
    return jax.lax.fori_loop(0, 7, lambda i, h: jnp.tanh(h @ w), x)

  assert both_counts(repeated, x, w) == (7 * 2 * 6 * 5 * 5,) * 2


def test_matmul_instructions_are_the_kernels_that_run_a_dot():
  x, w = jnp.ones((64, 32)), jnp.ones((32, 16))
  hlo = jax.jit(lambda x, w: jnp.tanh(x @ w) + jnp.exp(x).sum()).lower(x, w).compile().as_text()
  kernels = flop_count.matmul_instructions(hlo)
  assert len(kernels) == 1  # the dot (alone or fused with tanh); the exp-sum is another kernel
  (line,) = [line for line in hlo.splitlines() if f"%{next(iter(kernels))} = " in line]
  assert " dot(" in line or " fusion(" in line
  elementwise = jax.jit(lambda x: jnp.tanh(x) * 2).lower(x).compile().as_text()
  assert flop_count.matmul_instructions(elementwise) == set()


def test_hlo_without_an_entry_is_refused():
  with pytest.raises(ValueError, match="ENTRY"):
    flop_count.hlo_matmul_flops("HloModule empty\n")


@pytest.mark.slow
def test_bench_gan_reports_the_share_by_the_compiled_count_and_a_profile(tmp_path):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run(
      [sys.executable, os.path.join(root, "bench", "bench_gan.py"), "--config.arch=small",
       "--config.small_hidden=64,64", "--config.latent_dim=64", "--config.batch_size=128",
       "--config.methods=gan", "--config.simultaneous_update=True", "--seeds=1,2", "--steps=2",
       "--rounds=1", f"--profile_dir={tmp_path / 'profile'}"], capture_output=True, text=True,
      cwd=root, timeout=300,
      env={**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "",
           "GENJAX_BENCH_RESULTS": str(tmp_path / "results")})
  assert result.returncode == 0, result.stderr[-2000:]
  counts = re.search(r"([\d.]+) MFLOP/seed-step as compiled \(([\d.]+) as written", result.stdout)
  assert counts, result.stdout
  compiled, written = float(counts.group(1)), float(counts.group(2))
  # Simultaneous updates run G forward once for D's and G's losses; the jaxpr writes it twice.
  assert written > compiled > 0
  assert len(re.findall(r"S=\d.*seed-steps/s, \d+% of peak", result.stdout)) == 5
  assert re.search(r"S=2, normals precomputed \(drawing free\): [\d,]+ seed-steps/s",
                   result.stdout), result.stdout
  split = re.search(r"profile of S=2 .*: [\d.]+ ms of XLA kernels a step: dots and "
                    r"convolutions ([\d.]+) ms \(\d+%; alone they run at (\d+)% of peak\), the "
                    r"rest ([\d.]+) ms", result.stdout)
  assert split, result.stdout
  dots, dots_share, rest = (float(v) for v in split.groups())
  assert dots > 0 and rest > 0  # the dots' kernels found in the trace, and the rest apart
  assert 0 < dots_share < 1000  # a rate from the compiled count, the traced time and the peak
  (written,) = (tmp_path / "results").glob("*.json")  # the figures, in the test's folder
  rows = json.loads(written.read_text())["bench_gan"]["rows"]
  assert [row["row"] for row in rows][-1] == "profile" and len(rows) == 6, rows

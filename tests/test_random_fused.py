"""With random_fused installed, jax.random draws exactly what it draws without; importing genjax
installs nothing."""

import os
import re
import subprocess
import sys
import textwrap

import jax
import numpy as np

from genjax import random_fused

random_fused.install()  # as the entry points do (genjax.startup.use_fused_threefry); same bits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The draws compared: every kind the experiments make, vmapped over seed keys as training does.
DRAWS = textwrap.dedent("""
    import jax, numpy as np
    keys = jax.random.split(jax.random.key(7), 3)
    def draws():
      p = jax.random.uniform(jax.random.key(1), (16, 64))
      return {
        "normal": jax.vmap(lambda k: jax.random.normal(k, (512, 256)))(keys),
        "normal_scalar": jax.random.normal(keys[0], ()),
        "uniform": jax.jit(lambda k: jax.random.uniform(k, (3, 5, 2), minval=-2.5, maxval=4.0))(
            keys[1]),
        "bernoulli": jax.random.bernoulli(keys[2], p),
        "randint": jax.vmap(lambda k: jax.random.randint(k, (24,), 0, 12345))(keys),
        "categorical": jax.random.categorical(keys[0], jax.random.normal(keys[1], (64, 8))),
        "dirichlet": jax.random.dirichlet(keys[2], np.full((8,), 0.3), (4, 8)),
      }
    """)


def draws_here() -> dict:
  scope = {}
  exec(DRAWS, scope)  # noqa: S102 - the same text the clean process runs
  return {name: np.asarray(x) for name, x in scope["draws"]().items()}


def draws_without_genjax(tmp_path) -> dict:
  """The same draws in a fresh process that never imports genjax: JAX's own CPU lowering."""
  out = tmp_path / "draws.npz"
  code = DRAWS + f"\nnp.savez({str(out)!r}, **{{k: np.asarray(v) for k, v in draws().items()}})\n"
  subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
  return dict(np.load(out))


def test_every_draw_is_bit_for_bit_what_jax_draws_without_it(tmp_path):
  ours, theirs = draws_here(), draws_without_genjax(tmp_path)
  assert ours.keys() == theirs.keys()
  for name in ours:
    assert ours[name].dtype == theirs[name].dtype and ours[name].shape == theirs[name].shape, name
    assert ours[name].tobytes() == theirs[name].tobytes(), name


def test_the_installed_lowering_is_unrolled_and_unfused_restores_the_loop():
  def compiled_text():
    return jax.jit(lambda k: jax.random.normal(k, (8,))).lower(jax.random.key(0)).as_text()

  assert "while" not in compiled_text()  # 20 rounds of integer ops XLA can fuse
  with random_fused.unfused():
    assert "while" in compiled_text()  # a loop over the 5 blocks, as JAX lowers it on CPU
    before = np.asarray(jax.jit(lambda k: jax.random.normal(k, (64,)))(jax.random.key(3)))
  after = np.asarray(jax.jit(lambda k: jax.random.normal(k, (64,)))(jax.random.key(3)))
  assert before.tobytes() == after.tobytes()


# What a bare import must leave alone, in a fresh process: jax.random's lowering, the
# environment, the path, the working directory.
BARE_IMPORT = textwrap.dedent("""
    import os, sys, jax
    def lowered():
      return jax.jit(lambda k: jax.random.normal(k, (8,))).lower(jax.random.key(0)).as_text()
    def process():
      return dict(os.environ), list(sys.path), os.getcwd(), os.getpid()
    before, state = lowered(), process()
    import genjax, genjax.cli, genjax.registry, genjax.startup
    import genjax.vae.train, genjax.gan.train, genjax.attention.experiment
    for name in genjax.registry.EXPERIMENTS.values():
      __import__(name.train)
    assert lowered() == before, "importing genjax changed jax.random's lowering"
    assert process() == state, "importing genjax changed the environment, path or directory"
    genjax.startup.use_fused_threefry()  # asked for by name, it does change it
    assert lowered() != before and "while" not in lowered()
    print("unchanged")
    """)


def test_a_bare_import_of_genjax_leaves_jax_and_the_process_as_they_were(tmp_path):
  result = subprocess.run([sys.executable, "-c", BARE_IMPORT], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT, "JAX_PLATFORMS": "cpu"})
  assert result.returncode == 0 and result.stdout.split() == ["unchanged"], result.stderr[-3000:]


def test_the_unrolled_hash_is_the_threefry_test_vector():
  # Salmon et al. 2011's known-answer test for Threefry-2x32 with 20 rounds (also in JAX's tests).
  ones = np.uint32(0xFFFFFFFF)
  out = random_fused.threefry2x32(ones, ones, np.array([ones]), np.array([ones]))
  assert [int(out[0][0]), int(out[1][0])] == [0x1CB996FC, 0xBB002BE7]


def test_benchmark_reports_the_same_numbers_for_every_case(tmp_path):
  result = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_random.py"),
                           "--rounds=1", "--calls=1"], capture_output=True, text=True, check=True,
                          env={**os.environ, "GENJAX_BENCH_RESULTS": str(tmp_path)})
  rows = [line for line in result.stdout.splitlines() if "per draw" in line]
  assert len(rows) == 4 and all(row.endswith("same numbers: yes") for row in rows), result.stdout
  others = [line for line in result.stdout.splitlines() if "other key implementations" in line]
  assert len(others) == 1 and re.search(r"rbg \d+\.\d+x, unsafe_rbg \d+\.\d+x", others[0])
  # Each other transform of the bits draws N(0, 1): a wrong quadrant or constant would fail
  # Kolmogorov-Smirnov on 3 x 512 x 256 draws by far.
  transforms = [line for line in result.stdout.splitlines() if "other exact transforms" in line]
  assert len(transforms) == 1, result.stdout
  p_values = re.findall(r"\d+\.\d+x \(p (\d\.\d+)\)", transforms[0])
  assert len(p_values) == 3 and all(float(p) > 0.001 for p in p_values), transforms[0]

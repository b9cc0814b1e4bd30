"""bench/bench_lm_step.py: genjax's LM step and the bare-JAX GPT (and the PyTorch one, where torch
is installed) compare like with like; the rows, the FLOP count and the flags hold."""

import ast
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # bench/ is the checkout's, not an installed package

from bench import bench_lm_step as bench  # noqa: E402
from genjax import flop_count  # noqa: E402

TINY = bench.Shape("tiny", num_layers=1, width=16, num_heads=2, context=8, batch_size=2,
                   num_seeds=2)
# The text config's optimizer without warmup, so that the first step moves the weights (the
# warmup's first rate is 0). Every test here uses it: one compilation of each step per worker.
OPT = bench.text_optimizer()._replace(warmup_steps=0)
FIELDS = {"shape", "implementation", "params", "steps_per_s", "tokens_per_s", "flops_per_step",
          "gflops", "share_of_peak", "genjax_over_this", "genjax_over_this_per_round"}


def _genjax_params(shape):
  tokens = jnp.zeros((1, shape.context), jnp.int32)
  return jax.eval_shape(bench.genjax_model(shape, OPT).init, jax.random.key(0), tokens)


def _script(*args, tmp_path):
  return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_lm_step.py"), *args],
                        capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                        env={**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "",
                             "GENJAX_BENCH_RESULTS": str(tmp_path / "results")})


def test_the_text_config_shape_is_read_from_the_config():
  config = bench.quick_config()
  shape = bench.shapes()["text_config"]
  assert (shape.num_layers, shape.width, shape.num_heads, shape.context, shape.batch_size,
          shape.num_seeds) == (config.num_layers, config.width, config.num_heads,
                               config.context, config.batch_size, config.num_seeds)
  assert bench.text_optimizer() == (config.grad_clip, config.learning_rate,
                                    config.warmup_steps, config.num_steps)


@pytest.mark.parametrize("shape", [TINY, bench.shapes()["nanogpt_cpu"]], ids=lambda s: s.name)
def test_the_bare_model_has_genjax_models_parameters(shape):
  """Like for like: the same count, and the same tree of the same shapes (flax's names)."""
  genjax = _genjax_params(shape)
  bare = jax.tree.map(lambda x: x[0], bench.init_params(shape, seed=0))  # one seed's
  assert bench.param_count(bare) == bench.param_count(genjax) > 0
  assert jax.tree.structure(bare) == jax.tree.structure(genjax)
  assert jax.tree.map(np.shape, bare) == jax.tree.map(np.shape, genjax)


def test_the_flop_count_is_the_dots_of_both_steps_as_written():
  params_S, tokens = bench.init_params(TINY, seed=0), bench.random_windows(TINY, 0)
  # vmapped: one program to trace (the sequential seed map's loop runs on the host)
  bare, bare_state = bench.bare_setup(TINY, OPT, params_S)
  genjax, genjax_state = bench.genjax_setup(TINY, OPT, 0, params_S, "vmap")
  counts = [flop_count.jaxpr_matmul_flops(jax.make_jaxpr(bare)(bare_state, tokens).jaxpr),
            flop_count.jaxpr_matmul_flops(jax.make_jaxpr(genjax)(genjax_state).jaxpr)]
  assert counts == [bench.train_flops(TINY)] * 2


def test_both_jax_steps_compute_the_same_loss_lower_it_and_give_rows(capsys):
  """One test, so that one worker compiles the two steps (seconds each on a CPU) and `measure`
  finds them compiled (genjax.lm.step.compiled_step and bench.bare_step are cached)."""
  params_S, tokens = bench.init_params(TINY, seed=0), bench.random_windows(TINY, 0)
  bare, state = bench.bare_setup(TINY, OPT, params_S)
  state, before_S = bare(state, tokens)  # a step's loss is of the weights before its update
  _, after_S = bare(state, tokens)
  bare_seq, seq_state = bench.bare_setup(TINY, OPT, params_S, "sequential")
  np.testing.assert_allclose(np.asarray(bare_seq(seq_state, tokens)[1]), before_S, rtol=1e-5)
  genjax, genjax_state = bench.genjax_setup(TINY, OPT, 0, params_S)
  _, metrics = genjax(genjax_state)
  before_S, after_S = np.asarray(before_S), np.asarray(after_S)
  # The same function of the same weights, not just the same parameter count: genjax's step
  # reports its model's loss (genjax.lm.model.next_token_nll).
  np.testing.assert_allclose(np.asarray(metrics["loss"]), before_S, rtol=1e-5)
  # One bare step lowers the loss on the batch it trained on, for every seed.
  assert before_S.shape == (TINY.num_seeds,) and np.all(np.isfinite(before_S))
  assert np.all(after_S < before_S - 1e-3), (before_S, after_S)

  torch = bench.import_torch()
  rows = bench.measure(TINY, OPT, rounds=1, steps_per_round=2, seed=0, torch=torch, peak_size=64)
  names = ["peak", "genjax", "genjax vmap", "bare JAX"] + (["PyTorch"] if torch else [])
  assert [row["implementation"] for row in rows] == names
  for row in rows:
    assert FIELDS <= set(row), row
    assert row["steps_per_s"] > 0 and row["gflops"] > 0 and row["share_of_peak"] > 0, row
    if row["implementation"] != "peak":
      assert row["tokens_per_s"] > 0 and row["genjax_over_this"] > 0, row
      assert row["flops_per_step"] == bench.train_flops(TINY)
      assert row["params"] == bench.param_count(_genjax_params(TINY))
  assert rows[1]["genjax_over_this"] == 1.0 and rows[1]["genjax_over_this_per_round"] == [1.0]
  assert rows[0]["genjax_over_this_per_round"] is None
  assert "tiny: genjax/genjax vmap " in capsys.readouterr().out


def test_a_ratio_is_described_with_its_rounds():
  row = {"genjax_over_this": 0.95, "genjax_over_this_per_round": [0.9, 1.02, 0.95]}
  assert bench.describe_ratio(row) == "0.950x (rounds 0.900-1.020, genjax faster in 1 of 3)"


def test_the_pytorch_model_has_genjax_models_parameters():
  torch = bench.import_torch()
  if torch is None:
    pytest.skip(f"torch is not installed ({bench.TORCH_HINT})")
  model = bench.torch_gpt(torch, TINY)
  assert sum(p.numel() for p in model.parameters()) == bench.param_count(_genjax_params(TINY))
  assert torch.isfinite(model(torch.zeros((2, TINY.context), dtype=torch.long))).all()


def test_the_pytorch_schedule_is_optaxs():
  opt = bench.text_optimizer()
  schedule = optax.warmup_cosine_decay_schedule(0.0, opt.learning_rate, opt.warmup_steps,
                                                opt.num_steps, 0.1 * opt.learning_rate)
  factor = bench.torch_lr_factor(opt)
  for count in (0, 1, opt.warmup_steps, opt.warmup_steps + 7, opt.num_steps - 1, opt.num_steps,
                opt.num_steps + 10):
    assert factor(count) * opt.learning_rate == pytest.approx(float(schedule(count)), rel=1e-5,
                                                              abs=1e-9)


@pytest.mark.parametrize("flag", ["--shapes=text_quick,no_such_shape", "--rounds=0"])
def test_a_bad_flag_is_one_error_line(flag, tmp_path):
  result = _script(flag, tmp_path=tmp_path)
  assert result.returncode == 2, result.stderr[-2000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
  assert result.stderr.strip().splitlines()[-1] == errors[0]
  assert not (tmp_path / "results").exists()


def test_help_exits_0(tmp_path):
  result = _script("--help", tmp_path=tmp_path)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "--steps_per_round" in result.stdout and "--torch_compile" in result.stdout


def test_the_script_starts_as_the_text_experiment_before_jax_loads():
  # The genjax row is the step as experiments/text.py trains it, so the bench restarts with the
  # same malloc tunables (genjax.startup), only when run: importing it here restarts nothing.
  tree = ast.parse(open(os.path.join(ROOT, "bench", "bench_lm_step.py")).read())
  order = []
  for node in tree.body:
    if isinstance(node, ast.Import | ast.ImportFrom):
      order.append(node.names[0].name if isinstance(node, ast.Import) else node.module)
    elif isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'":
      order += [ast.unparse(inner) for inner in node.body]
  text_entry = open(os.path.join(ROOT, "experiments", "text.py")).read()
  for setup in ("startup.restart_with_huge_pages()",
                "startup.split_host_into_devices(get_config().num_seeds)"):
    assert setup in order and order.index(setup) < order.index("jax"), order
    assert setup in text_entry

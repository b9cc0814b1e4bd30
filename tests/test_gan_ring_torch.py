"""bench/gan_ring_torch.py: the PyTorch retraining of a finished run's vanilla GAN follows genjax's
protocol (optimizer, init, nets), trains in both update orders, refuses what it does not
implement with one line, and puts both implementations' figures side by side."""

import json
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

from bench import gan_ring_torch as bench  # noqa: E402
from genjax import logs  # noqa: E402
from genjax.configs import gan as gan_config  # noqa: E402
from genjax.gan import data, step  # noqa: E402

SCRIPT = os.path.join(ROOT, "bench", "gan_ring_torch.py")


def _config(**overrides):
  """A tiny ring protocol with the Unrolled GAN demo's switches (orthogonal init, saturating G,
  simultaneous updates)."""
  config = gan_config.get_config("quick")
  config.update(dict(methods="gan", num_steps=20, eval_every=10, batch_size=32, latent_dim=8,
                     small_hidden=(16, 16), small_d_hidden=(12,), eval_samples=100,
                     small_init="orthogonal", small_init_gain=0.8, d_input_scale=0.25,
                     g_loss="saturating", simultaneous_update=True, adam_eps_root=1e-12,
                     b1=0.5))
  config.update(overrides)
  return config


def _workdir(tmp_path, config, evals=True):
  """A folder that reads as a finished run: config.json (and one eval record of `gan`)."""
  workdir = tmp_path / "run"
  os.makedirs(workdir / "evals", exist_ok=True)
  with open(workdir / "config.json", "w") as f:
    json.dump(logs.config_to_dict(config), f)
  if evals:
    record = {"step": 0, "train_seconds": 0.0, "modes": [1, 2], "cells": [3, 4], "hq": [0.1, 0.2],
              "median_distance_std": [5.0, 7.0]}
    with open(logs.evals_path(str(workdir), "gan"), "w") as f:
      f.write(json.dumps(record) + "\n")
  return str(workdir)


def _script(*args, tmp_path, torch_module=None):
  """Runs the script; torch_module: the source of a stand-in `torch` package put first on the
  path (to check what happens where torch is absent, or that it is not imported)."""
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "GENJAX_BENCH_RESULTS": str(tmp_path / "results")}
  if torch_module is not None:
    fake = tmp_path / "fake_torch" / "torch"
    os.makedirs(fake, exist_ok=True)
    (fake / "__init__.py").write_text(torch_module)
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), env.get("PYTHONPATH", "")])
  return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                        timeout=300, cwd=str(tmp_path), env=env)


def _one_error_line(result):
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2, result.stderr
  assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
  return lines[0]


NEVER_IMPORTED = "raise RuntimeError('torch was imported')\n"
ABSENT = "raise ImportError('No module named torch')\n"


def test_adam_equals_genjax_optimizers_with_eps_root_and_decay():
  """The same updates as genjax's make_optimizers (optax.adam with eps_root, the decay schedule,
  D's count divided by its steps per G step) on random gradients."""
  torch = pytest.importorskip("torch")
  config = _config(num_steps=8, decay_fraction=0.5, d_steps=2, adam_eps_root=1e-3)
  g_tx, d_tx = step.make_optimizers(config, config.d_steps)
  rng = np.random.default_rng(0)
  for tx, peak, per_g_step in ((g_tx, config.g_learning_rate, 1),
                               (d_tx, config.d_learning_rate, config.d_steps)):
    params = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(5,)).astype(np.float32)]
    theirs, state = [jnp.asarray(p) for p in params], None
    state = tx.init(theirs)
    ours = [torch.tensor(p) for p in params]
    adam = bench.Adam(torch, ours, bench.learning_rate(config, peak, per_g_step), config.b1,
                      config.b2, config.adam_eps_root)
    for _ in range(config.num_steps * per_g_step):
      grads = [rng.normal(size=p.shape).astype(np.float32) * 10 for p in params]
      updates, state = tx.update([jnp.asarray(g) for g in grads], state, theirs)
      theirs = optax.apply_updates(theirs, updates)
      adam.step([torch.tensor(g) for g in grads])
    for a, b in zip(ours, theirs, strict=True):
      np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-7)
    assert not np.allclose(ours[0].numpy(), params[0])  # it moved


@pytest.mark.parametrize("fan_in,fan_out", [(256, 128), (2, 12)])
def test_orthogonal_init_has_the_gain_on_the_shorter_side_and_zero_biases(fan_in, fan_out):
  torch = pytest.importorskip("torch")
  config, gain = _config(), 0.8
  kernel_IxO, bias = bench.init_dense(torch, fan_in, fan_out, config, torch.Generator())
  w = kernel_IxO.double().numpy()
  gram = w.T @ w if fan_in >= fan_out else w @ w.T
  np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(fan_in, fan_out)), atol=1e-5)
  assert kernel_IxO.shape == (fan_in, fan_out) and not bias.any()
  # flax's orthogonal (genjax's small arch), on the same axis
  flax_w = np.asarray(jax.nn.initializers.orthogonal(gain)(jax.random.key(0),
                                                           (fan_in, fan_out)), np.float64)
  flax_gram = flax_w.T @ flax_w if fan_in >= fan_out else flax_w @ flax_w.T
  np.testing.assert_allclose(flax_gram, gram, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_nets_compute_genjax_small_arch_given_its_weights(activation):
  """genjax's flax G and D with their own init, copied into the stacked torch layout: the same
  outputs (D with its input scale), and the same widths."""
  torch = pytest.importorskip("torch")
  config = _config(small_activation=activation)
  dataset = data.make_dataset(config)
  setup = step.make_setup(config, dataset, step.parse_method("gan"))
  state = step.init_state(setup, jax.random.key(0))
  gan = bench.RingGAN(torch, config, num_seeds=1)
  for ours, theirs in ((gan.g, state["g_params"]), (gan.d, state["d_params"])):
    layers = theirs["params"]
    flat = [v for i in range(len(layers)) for v in (layers[f"Dense_{i}"]["kernel"],
                                                    layers[f"Dense_{i}"]["bias"])]
    assert [tuple(p.shape[1:]) for p in ours] == [tuple(p.shape) for p in flat]
    with torch.no_grad():
      for p, v in zip(ours, flat, strict=True):
        p.copy_(torch.tensor(np.asarray(v))[None])
  z = np.random.default_rng(0).normal(size=(50, config.latent_dim)).astype(np.float32)
  x = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
  with torch.no_grad():
    g_out = gan.generate(torch.tensor(z)[None])[0].numpy()
    d_out = gan.logits(gan.d, torch.tensor(x)[None])[0].numpy()
  np.testing.assert_allclose(g_out, setup.g.apply(state["g_params"], z), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(d_out, setup.d.apply(state["d_params"], x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("simultaneous,d_steps", [(True, 1), (False, 1), (False, 2)])
def test_a_short_run_in_either_update_order_gives_finite_metrics(simultaneous, d_steps):
  torch = pytest.importorskip("torch")
  config = _config(simultaneous_update=simultaneous, d_steps=d_steps,
                   g_loss="non_saturating" if d_steps > 1 else "saturating")
  evals, seconds = bench.train_torch(torch, config, num_seeds=2, num_steps=20)
  assert sorted(evals) == [0, 10, 20] and seconds > 0
  for metrics in evals.values():
    assert set(metrics) == set(bench.METRICS)
    for values in metrics.values():
      assert len(values) == 2 and np.all(np.isfinite(values))
  assert evals[20] != evals[0]  # it trained


def test_a_missing_or_empty_workdir_is_one_error_line_before_torch(tmp_path):
  """Where torch is absent too: a stand-in torch that fails loudly proves it is never imported."""
  line = _one_error_line(_script("--workdir=nowhere", tmp_path=tmp_path,
                                 torch_module=NEVER_IMPORTED))
  assert "nowhere is not a folder" in line
  os.makedirs(tmp_path / "empty")
  line = _one_error_line(_script(f"--workdir={tmp_path / 'empty'}", tmp_path=tmp_path,
                                 torch_module=NEVER_IMPORTED))
  assert "has no config.json" in line


@pytest.mark.parametrize("overrides,says", [
    ({"dataset": "grid"}, "dataset='grid'"),
    ({"methods": "pacgan2,unrolled5"}, "has no 'gan'"),
    ({"arch": "pacgan", "g_ema_decay": 0.99}, "arch='pacgan' (only small); g_ema_decay=0.99"),
])
def test_unsupported_settings_are_one_error_line(tmp_path, overrides, says):
  workdir = _workdir(tmp_path, _config(**overrides))
  line = _one_error_line(_script(f"--workdir={workdir}", tmp_path=tmp_path,
                                 torch_module=NEVER_IMPORTED))
  assert says in line, line


def test_without_torch_one_line_says_how_to_install_it(tmp_path):
  workdir = _workdir(tmp_path, _config())
  line = _one_error_line(_script(f"--workdir={workdir}", tmp_path=tmp_path, torch_module=ABSENT))
  assert bench.TORCH_HINT in line


def test_the_table_puts_both_seed_means_side_by_side():
  genjax = {0: {"modes": [1, 2], "cells": [3, 4], "hq": [0.1, 0.2]}}  # no distance logged
  torch_evals = {0: {"modes": [0.0], "cells": [8.0], "hq": [0.0], "median_distance_std": [9.0]},
                 10: {"modes": [1.0], "cells": [7.0], "hq": [0.5], "median_distance_std": [1.0]}}
  rows = bench.side_by_side(genjax, torch_evals)
  assert [r["step"] for r in rows] == [0, 10]
  assert rows[0]["genjax"]["seeds"] == 2 and rows[0]["genjax"]["cells"] == 3.5
  assert rows[0]["genjax"]["median_distance_std"] is None and rows[1]["genjax"]["seeds"] == 0
  assert rows[1]["pytorch"]["hq"] == 0.5
  lines = bench.table(rows)
  assert len(lines) == 3 and "15.0 | 0.0" in lines[1] and "- | 1.00" in lines[2]


def test_the_results_file_gets_the_runs_key(tmp_path):
  pytest.importorskip("torch")
  workdir = _workdir(tmp_path, _config())
  result = _script(f"--workdir={workdir}", "--seeds=2", tmp_path=tmp_path)
  assert result.returncode == 0, result.stderr
  assert "median dist/std g|t" in result.stdout
  (path,) = (tmp_path / "results").glob("*.json")
  entry = json.loads(path.read_text())["gan_ring_torch/run"]
  assert [r["step"] for r in entry["rows"]] == [0, 10, 20]
  assert entry["rows"][0]["genjax"]["seeds"] == 2 and entry["rows"][2]["pytorch"]["seeds"] == 2
  assert entry["config"]["latent_dim"] == 8 and entry["command"][0] == "bench/gan_ring_torch.py"


@pytest.mark.slow
def test_end_to_end_against_a_tiny_genjax_run(tmp_path):
  pytest.importorskip("torch")
  workdir = str(tmp_path / "tiny_ring")
  train = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "gan.py"),
       "--flagfile=experiments/flags/gan_ring_metz_appendix_quick.flags", f"--workdir={workdir}",
       "--config.methods=gan", "--config.num_seeds=2", "--config.num_steps=40",
       "--config.eval_every=20", "--config.log_every=20", "--config.checkpoint_every=40",
       "--config.eval_samples=200", "--config.prdc_samples=200", "--config.snapshot_samples=20",
       "--config.batch_size=64", "--config.latent_dim=16", "--config.make_plots=False",
       "--config.tensorboard=False"],
      capture_output=True, text=True, timeout=300, cwd=ROOT,
      env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert train.returncode == 0, train.stderr[-2000:]
  result = _script(f"--workdir={workdir}", "--seeds=2", tmp_path=tmp_path)
  assert result.returncode == 0, result.stderr
  (path,) = (tmp_path / "results").glob("*.json")
  rows = json.loads(path.read_text())["gan_ring_torch/tiny_ring"]["rows"]
  assert [r["step"] for r in rows] == [0, 20, 40]
  for row in rows:
    for name in ("genjax", "pytorch"):
      assert row[name]["seeds"] == 2
      assert all(np.isfinite(row[name][m]) for m in bench.METRICS), row

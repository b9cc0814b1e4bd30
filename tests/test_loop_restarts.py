"""Restarts: a checkpoint that does not match the model is a clear error; a real training process
killed (SIGKILL) or stopped (SIGTERM, Ctrl-C) mid-run resumes and ends bitwise-identical to an
uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from genjax import logs
from genjax.checkpoint import Checkpointer
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(5, {"w": np.zeros((3,), np.float32)})
  with pytest.raises(UserError, match=r"w has shape \(3,\) in the checkpoint, \(4,\)"):
    checkpointer.restore(5, {"w": np.zeros((4,), np.float32)})
  with pytest.raises(UserError, match="does not match this model"):
    checkpointer.restore(5, {"v": np.zeros((3,), np.float32)})


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(5, {"w": np.zeros((3,), np.float32)})
  checkpointer.close()
  for root, _, files in os.walk(tmp_path / "5"):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"garbage")
  with pytest.raises(UserError, match="checkpoint .*5 (is unreadable|cannot be restored)"):
    Checkpointer(str(tmp_path)).restore(5, {"w": np.zeros((3,), np.float32)})


TINY = ["--config.betas=1", "--config.train_autoencoder=False", "--config.hidden=16",
        "--config.latents=2", "--config.num_steps=600", "--config.checkpoint_every=50",
        "--config.log_every=50", "--config.iwae_samples=20", "--config.iwae_chunk=10",
        "--config.classifier_steps=50", "--config.make_plots=False",
        "--config.interpolation_pairs=2", "--config.num_generated=50", "--config.parallel=none"]


def _vae_command(workdir):
  return [sys.executable, os.path.join(ROOT, "experiments", "vae.py"), f"--workdir={workdir}",
          *TINY]


def _env():
  return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1"}


def _wait_for_checkpoint(workdir, at_least, process, timeout=120):
  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  deadline = time.time() + timeout
  while time.time() < deadline:
    steps = [int(d) for d in os.listdir(folder) if d.isdigit()] if os.path.isdir(folder) else []
    if steps and max(steps) >= at_least:
      return
    assert process.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.05)
  raise AssertionError("no checkpoint appeared")


def _final(workdir):
  params = Checkpointer(os.path.join(workdir, "checkpoints", "vae_beta1")).restore(
      600, _template(workdir))
  with open(os.path.join(workdir, "results.json")) as f:
    results = json.load(f)
  rows = [{k: v for k, v in r.items() if "steps_per_sec" not in k}
          for r in logs.read_metrics(workdir)]
  return params, results, rows


def _template(workdir):
  import orbax.checkpoint as ocp

  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  metadata = ocp.CheckpointManager(
      folder, item_handlers=ocp.StandardCheckpointHandler()).item_metadata(600)
  return jax.tree.map(lambda m: np.zeros(m.shape, m.dtype), metadata)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  return _final(workdir)


def _assert_same(final, reference):
  for got, want in zip(jax.tree.leaves(final[0]), jax.tree.leaves(reference[0]), strict=True):
    np.testing.assert_array_equal(got, want)  # bitwise on CPU
  assert final[1] == reference[1]
  assert final[2] == reference[2]


@pytest.mark.slow
def test_sigkill_then_restart_ends_bitwise_identical(tmp_path, uninterrupted):
  workdir = str(tmp_path)
  process = subprocess.Popen(_vae_command(workdir), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  _wait_for_checkpoint(workdir, 150, process)
  process.send_signal(signal.SIGKILL)
  process.wait()
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  _assert_same(_final(workdir), uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])  # preemption, Ctrl-C
def test_sigterm_and_sigint_save_a_checkpoint_then_resume(tmp_path, uninterrupted, signum):
  workdir = str(tmp_path)
  process = subprocess.Popen(_vae_command(workdir), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  _wait_for_checkpoint(workdir, 50, process)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=60)
  assert process.returncode == 128 + signum, stderr[-2000:]  # 143 and 130, as a shell reports
  assert f"{signal.Signals(signum).name} at step" in stderr
  assert "Traceback" not in stderr
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  _assert_same(_final(workdir), uninterrupted)

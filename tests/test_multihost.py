"""Two processes on localhost, 2 fake CPU devices each, train the VAE as one 4-device job."""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--config.betas=1", "--config.train_autoencoder=False", "--config.hidden=16",
        "--config.latents=2", "--config.num_steps=20", "--config.checkpoint_every=10",
        "--config.log_every=10", "--config.batch_size=32", "--config.iwae_samples=10",
        "--config.iwae_chunk=10", "--config.classifier_steps=20", "--config.make_plots=False",
        "--config.interpolation_pairs=2", "--config.num_generated=40",
        "--config.binarize=dynamic", "--config.parallel=shard_map"]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env(devices: int) -> dict:
  return {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(devices),
          "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo"}


def _params(workdir):
  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  manager = ocp.CheckpointManager(folder, item_handlers=ocp.StandardCheckpointHandler())
  template = jax.tree.map(lambda m: np.zeros(m.shape, m.dtype), manager.item_metadata(20))
  return manager.restore(20, args=ocp.args.StandardRestore(template))["params"]


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
  script = os.path.join(ROOT, "experiments", "vae.py")
  multi, single = str(tmp_path / "multi"), str(tmp_path / "single")
  port = _free_port()
  workers = [subprocess.Popen(
      [sys.executable, script, f"--workdir={multi}", *ARGS,
       f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}"],
      env=_env(2), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in (0, 1)]
  outputs = [w.communicate(timeout=300)[0] for w in workers]
  for worker, output in zip(workers, outputs, strict=True):
    assert worker.returncode == 0, output[-3000:]
  assert "process 1 of 2, 2 local / 4 global" in outputs[1]
  subprocess.run([sys.executable, script, f"--workdir={single}", *ARGS], env=_env(4),
                 check=True, capture_output=True, timeout=300)
  # Only process 0 writes logs and results.
  assert os.path.exists(os.path.join(multi, "results.md"))
  with open(os.path.join(multi, "metrics.jsonl")) as f:
    assert len(f.readlines()) == 2
  for got, want in zip(jax.tree.leaves(_params(multi)), jax.tree.leaves(_params(single)),
                       strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

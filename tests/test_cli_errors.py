"""Bad input to an experiment script fails in one clear line, never a traceback."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [
    (["--nope=1"], "Unknown command line flag 'nope'"),
    (["--config.latent=3"], "--config has no field 'latent'. Did you mean \"latents\""),
    (["--config.latents=-3"], "config.latents must be > 0, got -3"),
    (["--config.num_steps=many"], "--config.num_steps=many"),
    (["--flagfile=no/such.flags"], "Unable to open flagfile"),
    (["--config.dataset=mnits"], "config.dataset must be one of digits"),
    (["--config.parallel=dp"], "config.parallel must be one of"),
    (["--config.iwae_samples=100", "--config.iwae_chunk=30"], "multiple of config.iwae_chunk"),
    (["stray"], "unexpected arguments: stray"),
    (["--config.num_steps=2.5"], "--config.num_steps=2.5"),
]


@pytest.mark.parametrize("args,message", CASES)
def test_one_line_error(args, message, tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "vae.py"), f"--workdir={tmp_path}", *args],
      capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"}, timeout=120)
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last, result.stderr[-3000:]


@pytest.mark.slow
def test_checkpoint_from_another_config_is_one_line(tmp_path):
  script = os.path.join(ROOT, "experiments", "vae.py")
  tiny = ["--config.betas=1", "--config.train_autoencoder=False", "--config.num_steps=2",
          "--config.iwae_samples=10", "--config.iwae_chunk=10", "--config.classifier_steps=2",
          "--config.num_generated=20", "--config.interpolation_pairs=2",
          "--config.make_plots=False", f"--workdir={tmp_path}"]
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  subprocess.run([sys.executable, script, *tiny, "--config.hidden=16"], check=True, env=env,
                 capture_output=True, timeout=300)
  result = subprocess.run([sys.executable, script, *tiny, "--config.num_steps=4",
                           "--config.hidden=32"], env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  # The workdir's recorded config differs (hidden), so the run stops before reading a checkpoint.
  assert "holds a run of another config (hidden=[16] there, [32] now" in result.stderr

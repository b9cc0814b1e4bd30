"""The memorization check (bench/): nearest training images, near-copy shares, a GAN workdir
end to end."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genjax.configs import gan as gan_config
from genjax.data import images
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # bench/ is the checkout's, not an installed package

from bench import memorization  # noqa: E402
from bench import memorization_check as gan_memorization  # noqa: E402


def _points(seed, n, d=6):
  return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_nearest_matches_brute_force_across_chunks():
  query, reference = _points(0, 37), _points(1, 53)
  distance, index = memorization.nearest(query, reference, chunk=8)
  brute_NxM = np.linalg.norm(query[:, None].astype(np.float64) - reference[None], axis=-1)
  np.testing.assert_array_equal(index, brute_NxM.argmin(1))
  np.testing.assert_allclose(distance, brute_NxM.min(1), rtol=1e-4)


def test_copies_fresh_draws_and_far_samples_read_apart():
  train = _points(0, 400)
  test_d = memorization.test_distances(_points(1, 400), train)
  copies = memorization.memorization(train[:100], train, test_d)
  fresh = memorization.memorization(_points(2, 400), train, test_d)
  far = memorization.memorization(_points(3, 400) * 3.0 + 5.0, train, test_d)
  assert copies["near_copy_share"] == 1.0 and copies["median_ratio"] < 0.01
  np.testing.assert_array_equal(copies["nearest_index"], np.arange(100))
  # Fresh draws from the data's own distribution are near copies about as often as test points.
  assert fresh["near_copy_share"] < 0.05 and 0.8 < fresh["median_ratio"] < 1.25
  assert far["near_copy_share"] == 0.0 and far["median_ratio"] > 2.0
  assert copies["test_near_copy_share"] <= memorization.NEAR_COPY_QUANTILE


def _made_up_run(workdir, samples_by_method, dataset="digits"):
  config = gan_config.get_config()
  config.dataset, config.classifier_steps = dataset, 20
  workdir.mkdir(exist_ok=True)
  (workdir / "config.json").write_text(config.to_json_best_effort())
  arrays = {f"samples/{name}": np.round(s * 255).astype(np.uint8)
            for name, s in samples_by_method.items()}
  np.savez_compressed(workdir / "samples.npz", **arrays)


def test_a_run_that_copies_its_training_digits_is_caught(tmp_path):
  train = images.load("digits", "train")["image"]
  train_NxP = train.reshape(len(train), -1).astype(np.float32)
  noise = np.random.default_rng(0).uniform(size=(2, 40, train_NxP.shape[1]))
  _made_up_run(tmp_path, {"copier": np.stack([train_NxP[:40], train_NxP[100:140]]),
                          "noise": noise})
  results = gan_memorization.check_run(str(tmp_path), samples_per_seed=30)
  copier, noisy = results["methods"]["copier"], results["methods"]["noise"]
  for space in ("pixels", "features"):
    assert copier[space]["near_copy_share"] == [1.0, 1.0]
    assert noisy[space]["near_copy_share"] == [0.0, 0.0]
  assert min(noisy["pixels"]["median_ratio"]) > 1.5
  assert json.loads((tmp_path / "memorization.json").read_text())["samples_per_seed"] == 30
  assert (tmp_path / "nearest_train.png").stat().st_size > 0
  table = "\n".join(gan_memorization.table(results))
  assert "| copier | pixels | 1.0000 |" in table and "| noise | features | 0.0000 |" in table


def test_runs_the_check_cannot_read_are_refused(tmp_path):
  with pytest.raises(UserError, match="no config.json"):
    gan_memorization.check_run(str(tmp_path / "none"))
  _made_up_run(tmp_path / "ring", {}, dataset="ring")
  with pytest.raises(UserError, match="trained on 'ring'"):
    gan_memorization.check_run(str(tmp_path / "ring"))
  _made_up_run(tmp_path / "unfinished", {})
  os.remove(tmp_path / "unfinished" / "samples.npz")
  with pytest.raises(UserError, match="has no samples.npz"):
    gan_memorization.check_run(str(tmp_path / "unfinished"))


def test_script_faults_are_one_error_line(tmp_path):
  script = os.path.join(ROOT, "bench", "gan_memorization.py")
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  for args, message in (([], "--workdir must have a value"),
                        ([f"--workdir={tmp_path}"], "no config.json"),
                        ([f"--workdir={tmp_path}", "--samples_per_seed=0"], "at least 1")):
    result = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, last

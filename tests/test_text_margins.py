"""bench/text_margins.py: a real-text comparison at every evaluation, from the evals files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "bench", "text_margins.py")
# Per-seed nats per position (3 seeds x 2 positions) of two trainings at two steps: at step 10, A
# is below B by log 2 nats = 1 bit on every seed; at step 20 by 0, 1 and 2 bits.
LN2 = float(np.log(2.0))
EVALS = {"a": {10: [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], 20: [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]},
         "b": {10: [[1 + LN2] * 2, [2 + LN2] * 2, [3 + LN2] * 2],
               20: [[1.0, 1.0], [1 + LN2] * 2, [1 + 2 * LN2] * 2]}}


def run(*args):
  env = {**os.environ, "JAX_PLATFORMS": "cpu"}
  return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                        env=env, timeout=120)


@pytest.fixture
def workdir(tmp_path):
  os.makedirs(tmp_path / "evals")
  for name, by_step in EVALS.items():
    with open(tmp_path / "evals" / f"{name}.jsonl", "w") as f:
      for step, nats in by_step.items():
        f.write(json.dumps({"step": step, "train_seconds": 1.0, "test/x": nats}) + "\n")
  return str(tmp_path)


def test_prints_the_paired_difference_at_every_step(workdir):
  result = run(f"--workdir={workdir}", "--minus=a,b", "--set=test/x")
  assert result.returncode == 0, result.stderr[-2000:]
  rows = [line for line in result.stdout.splitlines() if line.startswith("| 1") or
          line.startswith("| 2")]
  assert len(rows) == 2
  # Step 10: -1 bit on every seed (no spread). Step 20: -1 bit on average, s.d. 1 over 3 seeds,
  # so the interval is -1 +- 4.303 / sqrt(3) = [-3.484, +1.484].
  assert rows[0].startswith("| 10 | 2.885 ± 1.443 | 3.885 ± 1.443 | -1.000")
  assert rows[1].startswith("| 20 | 1.443 ± 0.000 | 2.443 ± 1.000 | -1.000 [-3.484, +1.484]")


@pytest.mark.parametrize("args, message", [
    (["--minus=a,c", "--set=test/x"], "no evaluations of 'c'"),
    (["--minus=a,b", "--set=test/y"], "was not scored on 'test/y'"),
    (["--minus=a", "--set=test/x"], "two training names"),
])
def test_bad_input_is_one_error_line(workdir, args, message):
  result = run(f"--workdir={workdir}", *args)
  assert result.returncode == 2, result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last, last

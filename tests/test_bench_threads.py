"""bench/bench_threads.py: one core against several, bitwise, on a shrunken GAN; and two
processes at once, sharing the cores or on a share each."""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_GAN = ("--config.arch=small", "--config.small_hidden=64,64", "--config.latent_dim=16",
             "--config.batch_size=256", "--config.num_seeds=2", "--config.methods=gan")


def _bench(tmp_path, *args, lines=SMALL_GAN):
  flagfile = tmp_path / "small_gan.flags"
  flagfile.write_text("\n".join(lines) + "\n")
  return subprocess.run(
      [sys.executable, os.path.join(ROOT, "bench", "bench_threads.py"),
       f"--flagfiles={flagfile}", *args], capture_output=True, text=True, cwd=ROOT, timeout=600,
      env={**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "",
           "GENJAX_BENCH_RESULTS": str(tmp_path / "results")})


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="compares one core with several: needs Linux and 2+ cores")
def test_without_ynnpack_reductions_one_core_and_all_give_the_same_bits(tmp_path):
  result = _bench(tmp_path, "--steps=3", "--pair_steps=4")
  assert result.returncode == 0, result.stderr[-2000:]
  rows = dict(re.findall(r"small_gan\.flags, XLA (.+?): (\d+ of \d+) state arrays bitwise equal",
                         result.stdout))
  assert set(rows) == {"defaults", "ynn -reduce"}, result.stdout
  equal, total = (int(v) for v in rows["ynn -reduce"].split(" of "))
  assert total > 0 and equal == total, result.stdout  # what BUILD_NOTES says of the flag
  assert len(re.findall(r"[\d.]+ against [\d.]+ ms a step", result.stdout)) == 2
  # the pair row, once per flagfile: two processes sharing every core, then on a share each
  pair = re.findall(r"small_gan\.flags, two processes at once, 4 steps each: [\d.]+ / [\d.]+ ms "
                    r"a step sharing \d+ cores, [\d.]+ / [\d.]+ on \d+ core\(s\) each: "
                    r"[\d.]+x the steps a second", result.stdout)
  assert len(pair) == 1, result.stdout
  (written,) = (tmp_path / "results").glob("*.json")  # this CPU's file, in the test's folder
  rows = json.loads(written.read_text())["bench_threads"]["rows"]
  assert [row.get("xla") for row in rows] == ["defaults", "ynn -reduce", None], rows


def test_a_child_that_fails_is_one_error_line(tmp_path):
  result = _bench(tmp_path, "--steps=2", lines=(*SMALL_GAN, "--config.arch=no_such_arch"))
  assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
  assert result.stderr.strip().splitlines()[-1].startswith("error:"), result.stderr[-500:]

"""Entry points restart once with glibc's huge-page malloc tunable (genjax.startup)."""

import json
import os
import platform
import subprocess
import sys

import pytest

from genjax import startup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = ("glibc", "2.36")


def test_importing_startup_restarts_nothing():
  # Only the call restarts: importing the module (here, in this very process) must not.
  pid = os.getpid()
  from genjax import startup  # noqa: F401

  assert os.getpid() == pid


def test_the_tunable_is_added_to_what_is_set_and_never_overrides_a_choice():
  add = startup.tunables_with_huge_pages
  assert add("", GLIBC) == "glibc.malloc.hugetlb=1"
  assert add("glibc.malloc.arena_max=2", GLIBC) == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
  # Set already (the user's 0, or the restarted process): go on as started, no second restart.
  assert add("glibc.malloc.hugetlb=0", GLIBC) is None
  assert add("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1", GLIBC) is None
  # Where the tunable does not exist: no restart.
  assert add("", ("glibc", "2.34")) is None
  assert add("", ("glibc", "2.40")) == "glibc.malloc.hugetlb=1"
  assert add("", ("", "")) is None  # macOS, musl
  assert add("", ("glibc", "unknown")) is None


def _run(script, env, *args):
  """(pid, stdout lines) of `python -O script args`."""
  process = subprocess.Popen([sys.executable, "-O", str(script), *args], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  out, err = process.communicate(timeout=60)
  assert process.returncode == 0, err
  return process.pid, out.splitlines()


@pytest.mark.skipif(startup.tunables_with_huge_pages("", platform.libc_ver()) is None,
                    reason="glibc older than 2.35, or not glibc: nothing restarts")
def test_a_script_restarts_once_in_its_process_with_the_tunable_and_its_arguments(tmp_path):
  script = tmp_path / "entry.py"
  script.write_text("import os, sys\n"
                    "print('started', flush=True)\n"
                    "from genjax import startup\n"
                    "startup.restart_with_huge_pages()\n"
                    "print(os.getpid(), os.environ['GLIBC_TUNABLES'], sys.argv[1:], "
                    "sys.flags.optimize)\n")
  env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
  env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
  pid, lines = _run(script, env, "--flag=1", "two words")
  # Started twice (the restart runs the script from the top), went on once, in the same process
  # (exec), with the interpreter's options (-O) and every argument as given.
  assert lines == ["started", "started",
                   f"{pid} glibc.malloc.hugetlb=1 ['--flag=1', 'two words'] 1"], lines
  # The user's own setting stays as it is, and nothing restarts.
  env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=0"
  pid, lines = _run(script, env)
  assert lines == ["started", f"{pid} glibc.malloc.hugetlb=0 [] 1"], lines


BENCH = os.path.join(ROOT, "bench", "bench_huge_pages.py")
TINY_VAE = ("experiments/vae.py --config.betas=1 --config.train_autoencoder=False "
            "--config.num_steps=2 --config.iwae_samples=10 --config.iwae_chunk=10 "
            "--config.classifier_steps=2 --config.num_generated=20 "
            "--config.interpolation_pairs=2 --config.make_plots=False --config.hidden=16")


def _bench(tmp_path, *args):
  """bench/bench_huge_pages.py, its figures written under tmp_path/results."""
  return subprocess.run([sys.executable, BENCH, *args], capture_output=True, text=True,
                        timeout=600, cwd=ROOT, env={**os.environ, "JAX_PLATFORMS": "cpu",
                                                    "GENJAX_BENCH_RESULTS": str(tmp_path)})


@pytest.mark.slow
def test_the_benchmark_times_both_settings_and_compares_their_numbers(tmp_path):
  result = _bench(tmp_path, f"--run={TINY_VAE}", "--rounds=1")
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
  assert [row.split(" | ")[0] for row in rows[1:]] == ["| 4 KB pages (glibc.malloc.hugetlb=0)",
                                                      "| huge pages (glibc.malloc.hugetlb=1)"]
  assert rows[1].endswith("| 1.00 |")  # the ratio's base
  assert "numbers (results.json without times) the same in every run" in result.stdout
  (written,) = tmp_path.glob("*.json")  # this CPU's figures, in the test's folder
  figures = json.loads(written.read_text())["bench_huge_pages"]
  assert [row["tunables"] for row in figures["rows"]] == ["glibc.malloc.hugetlb=0",
                                                          "glibc.malloc.hugetlb=1"]
  assert figures["numbers_same"] and figures["rows"][0]["wall_ratio"] == 1.0


@pytest.mark.parametrize("run,message", [
    ("experiments/vae.py --workdir=/tmp/x", "--run must be a script and its flags"),
    ("", "--run must be a script and its flags"),
    (TINY_VAE + " --config.hidden=-1", "--run failed (glibc.malloc.hugetlb="),
])
def test_bad_runs_are_one_error_line(tmp_path, run, message):
  result = _bench(tmp_path, f"--run={run}", "--rounds=1")
  assert result.returncode == 2, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and message in last, result.stderr[-3000:]


REUSE = ":".join(startup.MEMORY_REUSE)


def test_memory_reuse_tunables_are_added_once_and_never_override_a_choice():
  add = startup.tunables_with_memory_reuse
  assert add("", GLIBC) == REUSE and startup.memory_reuse_in_force(REUSE)
  both = add("glibc.malloc.hugetlb=1", GLIBC)
  assert both == f"glibc.malloc.hugetlb=1:{REUSE}" and startup.memory_reuse_in_force(both)
  assert add(both, GLIBC) is None  # the restarted process goes on
  assert add("glibc.malloc.mmap_max=4", GLIBC) is None  # the user's own choice stays
  assert not startup.memory_reuse_in_force("glibc.malloc.mmap_max=4")
  assert not startup.memory_reuse_in_force("")
  assert add("", ("glibc", "2.25")) is None and add("", ("", "")) is None
  assert add("", ("glibc", "unknown")) is None


@pytest.mark.skipif(startup.tunables_with_memory_reuse("", platform.libc_ver()) is None,
                    reason="not glibc, or older than 2.26: nothing restarts")
def test_a_script_restarts_once_with_the_memory_reuse_tunables(tmp_path):
  script = tmp_path / "entry.py"
  script.write_text("import os, sys\n"
                    "print('started', flush=True)\n"
                    "from genjax import startup\n"
                    "startup.restart_with_memory_reuse()\n"
                    "print(os.getpid(), os.environ['GLIBC_TUNABLES'], sys.argv[1:])\n")
  env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
  env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
  pid, lines = _run(script, env, "--flag=1")
  assert lines == ["started", "started", f"{pid} {REUSE} ['--flag=1']"], lines


def test_the_host_is_split_into_devices_unless_a_count_is_set():
  flag = startup.DEVICE_COUNT_FLAG
  assert startup.xla_flags_with_devices("", 3) == f"{flag}=3"
  assert startup.xla_flags_with_devices("--xla_cpu_foo=1", 3) == f"--xla_cpu_foo=1 {flag}=3"
  assert startup.xla_flags_with_devices(f"{flag}=4", 3) is None  # the user's, or the tests'
  with pytest.raises(RuntimeError, match="before JAX"):  # this test process has JAX loaded
    startup.split_host_into_devices(3)


def test_a_script_that_splits_the_host_sees_that_many_devices(tmp_path):
  script = tmp_path / "entry.py"
  script.write_text("from genjax import startup\n"
                    "startup.split_host_into_devices(3)\n"
                    "import jax\n"
                    "print(len(jax.devices('cpu')))\n")
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
  env["JAX_PLATFORMS"] = "cpu"
  out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       env=env, timeout=120)
  assert out.returncode == 0 and out.stdout.split() == ["3"], out.stderr

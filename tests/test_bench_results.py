"""bench/: genjax never imports it, every script starts from the checkout's root, and the figures
go to bench/results/<cpu>.json (here: a temporary folder, never the checkout's)."""

import ast
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # bench/ is the checkout's, not an installed package

from bench import attention_speed, results  # noqa: E402

SCRIPTS = ("bench_attention", "bench_gan", "bench_huge_pages", "bench_metrics", "bench_random",
           "bench_threads", "bench_vae", "gan_memorization", "text_margins")
# Made-up /proc/cpuinfo blocks: two processors of an x86 machine, one of an Arm one.
X86 = ("processor\t: 0\nvendor_id\t: SomeVendor\ncpu family\t: 6\nmodel\t\t: 85\n"
       "model name\t: Vendor(R) Chip(TM) 9000 @ 3.00GHz\nflags\t\t: fpu sse4_2 avx avx2 avx512f\n"
       "\nprocessor\t: 1\ncpu family\t: 99\nmodel name\t: other\nflags\t\t: fpu\n")
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n"


def _imported_modules(path: str) -> set[str]:
  tree = ast.parse(open(path).read(), path)
  names = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
      names.add(node.module)
  return names


def test_genjax_imports_nothing_from_bench():
  files = glob.glob(os.path.join(ROOT, "genjax", "**", "*.py"), recursive=True)
  assert len(files) > 20
  found = {os.path.relpath(path, ROOT): sorted(name for name in _imported_modules(path)
                                               if name == "bench" or name.startswith("bench."))
           for path in files}
  assert not {path: names for path, names in found.items() if names}


def test_the_cpu_is_read_from_the_first_processor():
  cpu = results.read_cpu(X86)
  assert cpu == {"model_name": "Vendor(R) Chip(TM) 9000 @ 3.00GHz", "family": "6", "model": "85",
                 "vector": "AVX-512"}
  assert results.describe_cpu(cpu) == f"{cpu['model_name']} (family 6 model 85, AVX-512)"
  slug = "vendor-chip-9000-3-00ghz-f6-m85-avx-512"
  assert results.cpu_slug(cpu) == slug
  assert results.cpu_slug(cpu, "Some GPU 80GB") == f"{slug}-some-gpu-80gb"
  arm = results.read_cpu(ARM)
  assert arm["vector"] == "NEON" and arm["family"] == "" and arm["model_name"]
  assert results.cpu_slug(arm).endswith("-neon")
  assert results.read_cpu("")["vector"] == "" and results.cpu_slug(results.read_cpu(""))


def test_record_merges_each_bench_key_into_this_cpus_file(tmp_path, monkeypatch):
  monkeypatch.setenv(results.FOLDER_VARIABLE, str(tmp_path / "out"))
  monkeypatch.setattr(sys, "argv", [os.path.join(ROOT, "bench", "bench_x.py"), "--rounds=1"])
  path = results.record("bench_x", [{"s": np.float32(1.5), "n": np.int64(3)}], peak={"g": 2.0})
  results.record("bench_y", [{"s": 1.0}])
  results.record("bench_x", [{"s": np.float64(2.5)}])  # a rerun replaces its own key only
  assert os.path.dirname(path) == str(tmp_path / "out")
  assert os.path.basename(path) == f"{results.cpu_slug(results.read_cpu())}.json"
  assert os.listdir(tmp_path / "out") == [os.path.basename(path)]  # no temp file left behind
  figures = json.loads(open(path).read())
  assert set(figures) == {"bench_x", "bench_y"}
  assert figures["bench_x"]["rows"] == [{"s": 2.5}] and "peak" not in figures["bench_x"]
  assert figures["bench_y"]["command"] == ["bench/bench_x.py", "--rounds=1"]
  env = figures["bench_y"]["environment"]
  assert {"jax", "jaxlib", "numpy", "cpu", "cores", "date"} <= set(env) and env["numpy"]


def test_record_refuses_a_file_that_is_not_json(tmp_path, monkeypatch):
  from genjax.errors import UserError

  monkeypatch.setenv(results.FOLDER_VARIABLE, str(tmp_path))
  (tmp_path / f"{results.cpu_slug(results.read_cpu())}.json").write_text("{half")
  with pytest.raises(UserError, match="is not JSON"):
    results.record("bench_x", [])


def test_the_attention_table_races_every_block_size():
  names = list(attention_speed.candidates((64, 128)))
  assert names == ["naive", "dot_product", "blocked q64", "blocked q128", "chunked q64 k64",
                   "chunked q64 k128", "chunked q128 k128"]
  rows = [dict(name=name, best_s=t, median_s=t, gflops=1.0, pct_peak_best=10.0,
               pct_peak_rounds=10.0, temp_mib=0.5)
          for name, t in (("blocked q64", 1.0), ("chunked q64 k64", 2.0))]
  table = attention_speed.format_table(rows, {"gflops_best": 9.0, "gflops_median": 8.0}, 64, 8, 1)
  assert table.splitlines()[-1].startswith("best exact: blocked q64 at 10% of peak")
  assert "best chunked: chunked q64 k64 at 2.00x the best time" in table


def _script(name: str, *args, results_dir: str = "", cwd: str = ROOT):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
  if results_dir:
    env[results.FOLDER_VARIABLE] = results_dir
  return subprocess.run([sys.executable, os.path.join(ROOT, "bench", f"{name}.py"), *args],
                        capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_answers_help_from_any_folder(name, tmp_path):
  result = _script(name, "--help", cwd=str(tmp_path))  # finds genjax and bench by its own path
  assert result.returncode == 0, result.stderr[-2000:]
  assert "flags" in result.stdout.lower() and not os.listdir(tmp_path)


def test_a_bench_writes_well_formed_figures(tmp_path):
  result = _script("bench_attention", "--n=256", "--d=16", "--heads=1", "--repeats=1",
                   "--block_sizes=64,128", results_dir=str(tmp_path))
  assert result.returncode == 0, result.stderr[-2000:]
  assert "best exact: " in result.stdout  # the side-by-side table is still printed
  (written,) = tmp_path.glob("*.json")
  assert written.name == f"{results.cpu_slug(results.read_cpu())}.json"
  entry = json.loads(written.read_text())["bench_attention"]
  assert entry["command"] == ["bench/bench_attention.py", "--n=256", "--d=16", "--heads=1",
                              "--repeats=1", "--block_sizes=64,128"]
  assert entry["environment"]["cpu"] and entry["environment"]["cores"] >= 1
  assert len(entry["rows"]) == 7 and all(row["best_s"] > 0 for row in entry["rows"])
  assert entry["peak"]["gflops_best"] > 0

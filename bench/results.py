"""Where every bench's figures go: bench/results/<cpu-slug>.json, one key per bench.

A bench prints its side-by-side table, then calls `record(name, rows)`: the entry holds the
command that made the figures (sys.argv, its script relative to the checkout), the environment
they depend on (jax, jaxlib and numpy versions, the CPU model, its cores, the date) and the rows.
The file is named after the CPU (`cpu_slug`; with a GPU or TPU backend, its device kind after
it), so machines never overwrite each other's figures; a bench replaces only its own key (the
last run of a bench is the one kept), and the file is replaced whole (a temp file, then
os.replace), so a reader never sees half of it. GENJAX_BENCH_RESULTS=<folder> writes there
instead of bench/results/ (the tests do).
"""

import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import sys
import tempfile

from genjax.errors import UserError
from genjax.report.machine import describe_cpu, read_cpu

FOLDER_VARIABLE = "GENJAX_BENCH_RESULTS"
HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
DEFAULT_FOLDER = os.path.join(HERE, "results")
VERSIONS = ("jax", "jaxlib", "numpy")


def _slug(text: str) -> str:
  return re.sub(r"[^a-z0-9]+", "-", re.sub(r"\((r|tm)\)", "", text.lower())).strip("-")


def cpu_slug(cpu: dict, accelerator: str = "") -> str:
  """A file name for the CPU: its model name in lower-case words, then f<family>-m<model> and
  the vector extension, e.g. vendor-name-f6-m85-avx512; with `accelerator` (the device kind of
  a GPU or TPU backend) that after it, so device figures never pass for the CPU's."""
  parts = [cpu["model_name"]] + ([f"f{cpu['family']}-m{cpu['model']}"] if cpu["family"] else [])
  slug = _slug(" ".join(parts + [cpu["vector"]]))[:100] or "unknown-cpu"
  return f"{slug}-{_slug(accelerator)[:60]}" if _slug(accelerator) else slug


def accelerator() -> str:
  """The device kind where the bench ran on a GPU or TPU backend (JAX imported and started),
  else ""."""
  jax = sys.modules.get("jax")
  if jax is None:
    return ""
  try:
    return "" if jax.default_backend() == "cpu" else jax.devices()[0].device_kind
  except RuntimeError:  # no backend could start
    return ""


def environment(cpu: dict | None = None) -> dict:
  """What the figures depend on besides the code."""
  cpu = read_cpu() if cpu is None else cpu
  versions = {}
  for name in VERSIONS:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  return {**versions, "python": platform.python_version(), "cpu": describe_cpu(cpu),
          "cpu_fields": cpu, "cores": os.cpu_count(), "usable_cores": usable,
          "machine": platform.machine(), "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def folder() -> str:
  return os.environ.get(FOLDER_VARIABLE) or DEFAULT_FOLDER


def command(argv: list[str] | None = None) -> list[str]:
  """sys.argv with the script relative to the checkout, so the command reruns from its root."""
  argv = list(sys.argv if argv is None else argv)
  if argv and os.path.isabs(argv[0]) and argv[0].startswith(CHECKOUT + os.sep):
    argv[0] = os.path.relpath(argv[0], CHECKOUT)
  return argv


def _plain(value):
  """json.dump's fallback: numpy scalars and arrays as Python numbers and lists."""
  if hasattr(value, "tolist"):
    return value.tolist()
  if isinstance(value, set | frozenset):
    return sorted(value)
  raise TypeError(f"not JSON: {type(value).__name__}")


@contextlib.contextmanager
def _locked(path: str):
  """Holds an exclusive lock on the folder, so two benches ending together keep both keys."""
  try:
    import fcntl
  except ImportError:  # not POSIX: no lock, the replace is still whole
    yield
    return
  fd = os.open(path, os.O_RDONLY)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield
  finally:
    os.close(fd)  # releases the lock


def record(bench: str, rows: list, **extra) -> str:
  """Puts {"command", "environment", "rows", **extra} under `bench` in this CPU's file, keeping
  every other key; returns the file's path (also printed)."""
  cpu, device = read_cpu(), accelerator()
  entry = {"command": command(), "environment": {**environment(cpu), "accelerator": device},
           "rows": rows, **extra}
  out = folder()
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, f"{cpu_slug(cpu, device)}.json")
  with _locked(out):
    figures = {}
    if os.path.exists(path):
      with open(path) as f:
        try:
          figures = json.load(f)
        except json.JSONDecodeError as e:
          raise UserError(f"{path} is not JSON ({e}); fix or remove it, then rerun") from e
    figures[bench] = entry
    fd, temp = tempfile.mkstemp(dir=out, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
      with os.fdopen(fd, "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True, default=_plain)
        f.write("\n")
      os.chmod(temp, 0o644)
      os.replace(temp, path)
    except BaseException:
      with contextlib.suppress(OSError):
        os.remove(temp)
      raise
  print(f"figures of {bench} written to {path}", flush=True)
  return path

"""The machine the report runs on: its CPU, the cores a process may use, its speed, and the
versions and devices that trained numbers may depend on (REPORT.md's and REPORT.json's
environment)."""

import importlib
import os
import platform

import jax

from genjax.devices import usable_cores

# The widest vector extensions, widest first: XLA:CPU compiles for the host's, so two CPUs that
# share a model name (virtual machines often show only the product line) can still round
# differently.
VECTOR_EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"),
                     ("sve2", "SVE2"), ("sve", "SVE"), ("asimd", "NEON"))

# The machine's speed, recorded beside a report's wall time so that times from two machines can
# be read against each other: the median of MATMUL_ROUNDS float32 MATMUL_SIZE^3 matmuls, the
# yardstick every benchmark times beside its work (genjax/timing.py).
MATMUL_SIZE = 2048
MATMUL_ROUNDS = 5


def matmul_gflops(size: int = MATMUL_SIZE) -> float:
  """GFLOP/s of a float32 size^3 matmul on the default device, now."""
  from genjax import timing

  fn, flops = timing.matmul(size)
  return flops / timing.median(timing.time_interleaved({"mm": fn}, MATMUL_ROUNDS)["mm"]) / 1e9


def read_cpu(cpuinfo: str | None = None) -> dict:
  """{"model_name", "family", "model", "vector"} of the first processor in Linux /proc/cpuinfo
  (or in the text `cpuinfo`); without one, the model name is what `platform` says."""
  if cpuinfo is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    except OSError:
      cpuinfo = ""
  fields = {}
  for line in cpuinfo.splitlines():  # the first processor's block is enough: they are alike
    key, sep, value = line.partition(":")
    if not sep:
      if fields:
        break
      continue
    fields.setdefault(key.strip(), value.strip())
  flags = set((fields.get("flags") or fields.get("Features") or "").split())
  return {"model_name": fields.get("model name") or platform.processor() or "unknown",
          "family": fields.get("cpu family", ""), "model": fields.get("model", ""),
          "vector": next((label for flag, label in VECTOR_EXTENSIONS if flag in flags), "")}


def describe_cpu(cpu: dict) -> str:
  """One line: the model name with its family, model number and widest vector extension."""
  known = cpu["family"] and cpu["model"]
  details = [f"family {cpu['family']} model {cpu['model']}"] if known else []
  details += [cpu["vector"]] if cpu["vector"] else []
  return f"{cpu['model_name']} ({', '.join(details)})" if details else cpu["model_name"]


def cpu_model(cpuinfo: str | None = None) -> str:
  """The CPU in one line (`describe_cpu`): GAN numbers move with the CPU and core count (XLA
  sums in another order), so a report records both. Virtual machines may give two CPU
  generations one model name; family, model and vector extension tell them apart."""
  return describe_cpu(read_cpu(cpuinfo))


def machine_line() -> str:
  """Where runs run now, in one line: backend and device, JAX, CPU model and the cores a process
  started from this thread may use ("1 of 2" under taskset or a cpuset: XLA sizes its thread
  pool, and so a GAN's rounding, from them, bench/bench_threads.py)."""
  usable, cores = usable_cores(), os.cpu_count()
  if usable != cores:
    cores = f"{usable} of {cores}"
  return (f"{jax.default_backend()} ({jax.devices()[0].device_kind}), JAX {jax.__version__}, "
          f"{cpu_model()}, {cores} cores")


def environment(runs: list, schedule: dict | None = None) -> dict:
  """Versions, devices and the machine; with `schedule` ({"jobs", "wall_seconds"}) how the runs
  were run. Everything the trained numbers may depend on: `requirements-lock.txt` pins the
  versions behind the committed reports."""
  import numpy

  devices = jax.devices()
  env = {"jax": jax.__version__, "jaxlib": jax.lib.__version__, "numpy": numpy.__version__,
         "backend": jax.default_backend(), "devices": len(devices),
         "device_kind": devices[0].device_kind, "python": platform.python_version(),
         "machine": platform.machine(), "cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
         "xla_flags": os.environ.get("XLA_FLAGS", ""), **(schedule or {})}
  nodes = sorted({run.node for run in runs if getattr(run, "node", None)})
  if nodes:  # where the runs ran: under SLURM, compute nodes, not this one
    env["nodes"] = nodes
  for name in ("flax", "optax", "orbax.checkpoint"):  # optional: judging needs none of them
    try:
      env[name.split(".")[0]] = importlib.import_module(name).__version__
    except (ImportError, AttributeError):
      pass
  return env

"""One timing harness for every benchmark: warm-up, block_until_ready, interleaved rounds.

On a shared machine, load from other processes comes and goes; timing A then B lets it hit
one and not the other. Every benchmark here therefore times its candidates in interleaved
rounds (A B C, A B C, ...), with a float32 matmul as one of the candidates, so each round's
machine speed is measured beside the work it is compared with.

API (everything returns seconds; no argument is a jax-specific type):

  time_interleaved(fns, rounds, warmup=1) -> {name: [seconds per round]}
      fns: {name: zero-argument callable}. Each is called `warmup` times untimed (compiles,
      fills caches), then once per round in dict order. A call's result is passed to
      jax.block_until_ready before the clock stops, so asynchronous dispatch is timed in full.
      A callable may keep state across calls (e.g. a train state in a closure) and may do
      several steps per call: divide by the steps yourself.
  time_call(fn) -> seconds of one blocked call (for one-off points, or a warm-up you inspect).
  matmul(size=2048, dtype=float32) -> (fn, flops): a compiled size^3 matmul as a zero-argument
      callable, to add to `fns` as the machine's peak, and its FLOP count 2 * size^3.
  median(xs), best(xs): the summaries benchmarks report.
  per_round_ratio(a, b): [a_i / b_i] per round, e.g. a variant's time over the matmul's.
  environment() -> {jax, jaxlib, backend, device_kind, cpu_count, xla_flags}: what the timings
      depend on besides the code (XLA CPU flags, e.g. YNNPACK fusion, change results between
      jaxlib versions). Store it next to every timing.

Example (a rate relative to the peak measured in the same rounds):

  mm, mm_flops = timing.matmul(2048)
  times = timing.time_interleaved({"step": lambda: step(x), "peak": mm}, rounds=5)
  share = timing.median(timing.per_round_ratio(times["peak"], times["step"])) \
      * step_flops / mm_flops
"""

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Clock = Callable[[], float]


def time_call(fn: Callable[[], Any], clock: Clock = time.perf_counter) -> float:
  """Seconds of one call of fn, its result blocked until ready."""
  start = clock()
  jax.block_until_ready(fn())
  return clock() - start


def time_interleaved(fns: dict[str, Callable[[], Any]], rounds: int, warmup: int = 1,
                     clock: Clock = time.perf_counter) -> dict[str, list[float]]:
  """Warms each fn up `warmup` times, then times one call of each per round, in dict order."""
  if not fns:
    raise ValueError("time_interleaved needs at least one function")
  if rounds < 1 or warmup < 0:
    raise ValueError(f"need rounds >= 1 and warmup >= 0, got rounds={rounds}, warmup={warmup}")
  for fn in fns.values():
    for _ in range(warmup):
      jax.block_until_ready(fn())
  times = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      times[name].append(time_call(fn, clock))
  return times


def matmul(size: int = 2048, dtype=jnp.float32, seed: int = 1) -> tuple[Callable[[], Any], int]:
  """A compiled size x size matmul as a zero-argument callable, and its FLOPs (2 size^3)."""
  rng = np.random.default_rng(seed)  # numpy: no eager jax op to compile for a new shape
  a, b = (jnp.asarray(rng.standard_normal((size, size), np.float32), dtype) for _ in range(2))
  compiled = jax.jit(jnp.matmul).lower(a, b).compile()
  return (lambda: compiled(a, b)), 2 * size ** 3


def median(xs: Sequence[float]) -> float:
  return float(statistics.median(xs))


def best(xs: Sequence[float]) -> float:
  return float(min(xs))


def per_round_ratio(a: Sequence[float], b: Sequence[float]) -> list[float]:
  """a_i / b_i for each round i (both lists from the same time_interleaved call)."""
  return [x / y for x, y in zip(a, b, strict=True)]


def environment() -> dict[str, Any]:
  """Versions, device, the XLA flags and the malloc tunables in force (entry points restart
  with some, genjax/startup.py; they move step times): store them with every timing."""
  import jaxlib

  return {"jax": jax.__version__, "jaxlib": jaxlib.__version__,
          "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind,
          "cpu_count": os.cpu_count(), "machine": platform.machine(),
          "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "glibc_tunables": os.environ.get("GLIBC_TUNABLES", "")}


def describe(env: dict[str, Any]) -> str:
  """environment() as one line for logs and report headers."""
  return (f"JAX {env['jax']} / jaxlib {env['jaxlib']} on {env['backend']} "
          f"({env['device_kind']}, {env['cpu_count']} CPUs); "
          f"XLA_FLAGS={env['xla_flags'] or '(unset: XLA defaults)'}; "
          f"GLIBC_TUNABLES={env['glibc_tunables'] or '(unset: glibc defaults)'}")

"""Runs the report's experiments, several at a time where that is faster and changes no number.

One training process leaves part of a CPU idle (a 5-seed GAN step keeps about 1.2 of 2 cores
busy), so two at once finish the same work in less wall time: measured on 2 AMD EPYC cores, two
`bench_gan.py` processes side by side made 439 seed-steps/s against 296 for one alone (1.5x).
Three rules keep every number what a lone run would give:
  - runs that share a workdir (the domain studies share one pretrained model) run one after
    another, in the order given, in one lane;
  - a timed run (its results are wall-clock times: `registry.Experiment.timed`) runs alone,
    before the others, so no neighbour slows what it measures;
  - training itself is deterministic given its config, so a neighbour changes its time, never
    its results.
Runs are not pinned to a core each: XLA sizes its thread pool from the cores a process may use,
so a GAN's numbers change with it, and it is not faster. Two ring GANs at once on a core each
make 1.27x the steps of two sharing both cores, two stacked-digit GANs 1.03x (`python
experiments/bench_threads.py`, its pair rows), but the quick report with each run on one core
(`python experiments/report.py` at 503c537, fresh clone, 2 AMD EPYC cores) took 1,446 s against
1,420-1,462 s unpinned, with the same verdicts: the ring GAN ran in 433 s instead of 504, the
real-MNIST VAE in 506 instead of 494 and the domain studies in 425 instead of 384.
On a GPU or TPU, one run at a time: two processes would contend for one device's memory.
"""

import collections
import concurrent.futures
import os
import threading
from collections.abc import Callable

import jax

# Runs at a time on a CPU: 2 gave 1.5x the throughput of 1 on 2 cores (module docstring); more
# processes than cores only share the same cores: the quick report with --jobs=3 took 1,482 s on
# 2 AMD EPYC cores against 1,420 s and 1,462 s with 2, with the same numbers.
MAX_CPU_JOBS = 2


def usable_cores() -> int:
  """The cores a process started from this thread may use: its affinity (fewer than the
  machine's under taskset or a cpuset, and what XLA sizes its thread pool from), else the
  machine's count (no affinity call: macOS)."""
  if hasattr(os, "sched_getaffinity"):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def default_jobs() -> int:
  """Runs at a time when --jobs is 0: up to MAX_CPU_JOBS on a CPU, else 1."""
  if jax.default_backend() != "cpu":
    return 1
  return max(1, min(MAX_CPU_JOBS, usable_cores()))


def lanes(runs: list, timed: Callable) -> tuple[list, list[list]]:
  """(timed runs, lanes): each lane is the untimed runs of one workdir, in the given order; lanes
  in the order their first run appears (list the longest first: a lane starts when a worker
  frees up)."""
  by_workdir = collections.defaultdict(list)
  for run in runs:
    if not timed(run):
      by_workdir[os.path.abspath(run.workdir)].append(run)
  return [run for run in runs if timed(run)], list(by_workdir.values())


def execute_all(runs: list, execute: Callable, timed: Callable, jobs: int,
                announce: Callable = print) -> None:
  """Calls execute(run) for every run: timed runs one by one first, then the lanes on `jobs`
  workers. The first failure cancels the lanes not yet started and is raised once the running
  ones end (their work is kept: a rerun of the report reuses it). execute returns what it did
  ("ran in 40 s", "reused"), announced after the run's name."""
  alone, parallel = lanes(runs, timed)
  for run in alone:
    announce(f"starting {run.name} (timed: alone) ...")
    announce(f"{run.name}: {execute(run)}")

  failed = threading.Event()  # set by the first failure: no lane starts another run after it

  def run_lane(lane):
    for run in lane:
      if failed.is_set():
        return
      announce(f"starting {run.name} ...")
      try:
        outcome = execute(run)
      except BaseException:
        failed.set()
        raise
      announce(f"{run.name}: {outcome}")

  with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
    futures = [pool.submit(run_lane, lane) for lane in parallel]
  failures = [f.exception() for f in futures if f.exception() is not None]
  if failures:
    raise failures[0]

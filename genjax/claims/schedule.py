"""Runs the report's experiments, several at a time, each on cores of its own.

One training process leaves part of a CPU idle (a 5-seed GAN step keeps about 1.2 of 2 cores
busy), so two at once finish the same work in less wall time: measured on 2 AMD EPYC cores, two
`bench_gan.py` processes side by side made 439 seed-steps/s against 296 for one alone (1.5x).
Each run at a time gets its own share of the cores (`core_sets`: on 2 cores, one each), which
the process inherits from the worker thread that starts it; XLA sizes its thread pool from them.
Two processes on one core each did the same work in less time than two sharing both cores
(`python experiments/bench_threads.py`, its pair rows), and a run's numbers no longer depend on
how many cores the machine has, only on how many each run gets (XLA's reductions split over its
threads: bench_threads.py), which the report records. Three rules keep every number what that
run alone on its cores would give:
  - runs that share a workdir (the domain studies share one pretrained model) run one after
    another, in the order given, in one lane;
  - a timed run (its results are wall-clock times: `registry.Experiment.timed`) runs alone, on
    every core, before the others, so no neighbour slows what it measures;
  - training itself is deterministic given its config and cores, so a neighbour changes its
    time, never its results.
On a GPU or TPU, one run at a time: two processes would contend for one device's memory.
"""

import collections
import concurrent.futures
import os
import queue
import threading
from collections.abc import Callable

import jax

# Runs at a time on a CPU: 2 gave 1.5x the throughput of 1 on 2 cores (module docstring); more
# processes than cores only share the same cores: the quick report with --jobs=3 took 1,482 s on
# 2 AMD EPYC cores against 1,420 s and 1,462 s with 2, with the same numbers.
MAX_CPU_JOBS = 2


def usable_cores() -> list[int]:
  """The cores this process may run on (its affinity where the OS has one), in order."""
  if hasattr(os, "sched_getaffinity"):
    return sorted(os.sched_getaffinity(0))
  return list(range(os.cpu_count() or 1))


def default_jobs() -> int:
  """Runs at a time when --jobs is 0: up to MAX_CPU_JOBS on a CPU, else 1."""
  if jax.default_backend() != "cpu":
    return 1
  return max(1, min(MAX_CPU_JOBS, len(usable_cores())))


def core_sets(jobs: int, cores: list[int] | None = None) -> list[set[int]] | None:
  """Disjoint cores for `jobs` runs at a time, len(cores) // jobs each (the rest unused), or
  None where runs are not pinned: one job, more jobs than cores, or no affinity call (macOS)."""
  if cores is None:
    if not hasattr(os, "sched_setaffinity"):
      return None
    cores = usable_cores()
  per_run = len(cores) // max(1, jobs)
  if jobs <= 1 or per_run == 0:
    return None
  return [set(cores[i * per_run:(i + 1) * per_run]) for i in range(jobs)]


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
                announce: Callable = print, cores: list[set[int]] | None = None) -> None:
  """Calls execute(run) for every run: timed runs one by one first, on every core, then the
  lanes on `jobs` workers, a lane on one of `cores` (core_sets; None: unpinned). The first
  failure cancels the lanes not yet started and is raised once the running ones end (their work
  is kept: a rerun of the report reuses it). execute returns what it did ("ran in 40 s",
  "reused"), announced after the run's name."""
  alone, parallel = lanes(runs, timed)
  for run in alone:
    announce(f"starting {run.name} (timed: alone) ...")
    announce(f"{run.name}: {execute(run)}")

  failed = threading.Event()  # set by the first failure: no lane starts another run after it
  free_cores = queue.SimpleQueue()  # at most `jobs` lanes run at once: never empty when asked
  for core_set in cores or ():
    free_cores.put(core_set)

  def run_lane(lane):
    mine = free_cores.get() if cores else None
    try:
      if mine is not None:
        # Linux: a process started from this thread inherits its cores.
        os.sched_setaffinity(0, mine)
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
    finally:
      if mine is not None:
        free_cores.put(mine)

  with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
    futures = [pool.submit(run_lane, lane) for lane in parallel]
  failures = [f.exception() for f in futures if f.exception() is not None]
  if failures:
    raise failures[0]

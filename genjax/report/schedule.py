"""Runs the report's experiments, several at a time where that is faster and changes no number.

One training process leaves part of a CPU idle, so two at once finish the same work in less wall
time (`python bench/bench_gan.py` side by side measures it on a given machine).
Three rules keep every number what a lone run would give:
  - runs that share a workdir (the domain or text studies share what was trained there) run
    one after another, in the order given, in one lane;
  - a timed run (its results are wall-clock times: `registry.Experiment.timed`) runs alone,
    before the others, so no neighbour slows what it measures;
  - training itself is deterministic given its config, so a neighbour changes its time, never
    its results.
Runs are not pinned to a core each: XLA sizes its thread pool from the cores a process may use,
so a GAN's numbers would change with the pinning (`python bench/bench_threads.py`), and
the report as a whole is no faster for it.
On a GPU or TPU, one run at a time unless --jobs asks for more (report_gpu.flags: small runs
leave one device mostly idle); report.py then lets each process take only the memory it uses.
"""

import collections
import concurrent.futures
import os
import threading
from collections.abc import Callable

import jax

from genjax.report.machine import usable_cores

# Runs at a time on a CPU: two keep the cores busy that one leaves idle; more processes than
# cores only share the same cores, so no report finishes sooner for them.
MAX_CPU_JOBS = 2


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

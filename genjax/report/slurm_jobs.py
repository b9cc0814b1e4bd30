"""The report's runs as SLURM jobs (genjax/launch.py), one per run, with the records a local run
keeps beside its results: how long it took, and its results loaded as `runs.execute` loads them.
"""

import os

from genjax import launch, registry
from genjax.report import runs as report_runs


def execute_all(slurm: launch.Slurm, runs: list[report_runs.Run], rerun: bool) -> int:
  """Runs (or reuses) every run as a SLURM job, then loads their results; returns the most
  jobs that could run at once (every lane and timed run)."""
  tasks = [launch.Task(run.name, run.command, run.workdir,
                       registry.EXPERIMENTS[run.experiment].timed) for run in runs]
  by_name = {run.name: run for run in runs}
  seconds = slurm.run_all(tasks, reuse=lambda task: not rerun
                          and report_runs.finished(by_name[task.name]))
  for run in runs:
    if not report_runs.finished(run):  # the job ended well, yet its workdir holds no such results
      why = report_runs.not_reused_because(run)
      raise report_runs.RunFailed(f"run {run.name}: its job ended, but "
                                  + (why or f"{run.workdir} holds no finished run of its config"))
    if seconds.get(run.name) is not None:
      report_runs.record_seconds(run, seconds[run.name])
    report_runs.execute(run, rerun=False)  # loads its results (and its recorded time)
    run.wall_seconds = seconds.get(run.name)
  return len({task.name if task.timed else os.path.abspath(task.lane) for task in tasks})

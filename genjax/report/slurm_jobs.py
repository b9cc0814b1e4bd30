"""The report's runs as SLURM jobs (genjax/launch.py), one per run, each recording on its node
how long it took and where it ran (`runs.record_where_it_ran`), as a local run does; with
`detach`, a last job that judges the runs and writes the report once they all succeeded.
"""

import functools
import os

from genjax import launch, registry
from genjax.report import runs as report_runs

JUDGE = "judge_report"  # the judging job's name in SLURM and in launch.json


def _tasks(runs: list[report_runs.Run], resumed: dict[str, bool]) -> list[launch.Task]:
  """One task per run; its job records its time on its node, unknown (None) when the job
  resumes an earlier attempt (`resumed`, asked before submitting) or was requeued."""
  return [launch.Task(run.name, run.command, run.workdir,
                      registry.EXPERIMENTS[run.experiment].timed,
                      on_success=functools.partial(report_runs.record_attempt, run.workdir,
                                                   run.name, resumed[run.name]))
          for run in runs]


def _resumed(runs: list[report_runs.Run], rerun: bool) -> dict[str, bool]:
  return {run.name: not report_runs.finished(run) and report_runs.resumes(run, rerun)
          for run in runs}


def _reuse(runs: list[report_runs.Run], rerun: bool):
  by_name = {run.name: run for run in runs}
  return lambda task: not rerun and report_runs.finished(by_name[task.name])


def execute_all(slurm: launch.Slurm, runs: list[report_runs.Run], rerun: bool) -> int:
  """Runs (or reuses) every run as a SLURM job, then loads their results; returns the most
  jobs that could run at once (every lane and timed run)."""
  tasks = _tasks(runs, _resumed(runs, rerun))
  seconds = slurm.run_all(tasks, reuse=_reuse(runs, rerun))
  for run in runs:
    if not report_runs.finished(run):  # the job ended well, yet its workdir holds no such results
      why = report_runs.not_reused_because(run)
      raise report_runs.RunFailed(f"run {run.name}: its job ended, but "
                                  + (why or f"{run.workdir} holds no finished run of its config"))
    report_runs.execute(run, rerun=False)  # loads its results and its records
    # A job that ran and recorded no time of its own resumed an attempt (record_attempt).
    run.resumed = seconds.get(run.name) is not None and run.recorded_seconds is None
    run.wall_seconds = seconds.get(run.name)
  return len({task.name if task.timed else os.path.abspath(task.lane) for task in tasks})


def submit_detached(slurm: launch.Slurm, runs: list[report_runs.Run], rerun: bool,
                    judge_command: list[str], workdir: str):
  """Submits every run not reused and, after them all, a job running `judge_command` (the
  report with every run finished: it reuses them and writes REPORT.md); returns that job. Nothing
  waits: the jobs go on without the process that submitted them."""
  _, submitted = slurm.submit_all(_tasks(runs, _resumed(runs, rerun)), reuse=_reuse(runs, rerun))
  return slurm.submit_after(launch.Task(JUDGE, judge_command, workdir), submitted)

"""What the report will do, said before it starts: each run, whether it is reused, and how long
it should take; then the elapsed and remaining time as runs end, and the wall time against the
estimate at the end.

A run's expected seconds come from the best measurement at hand, named beside the number:
  1. "this machine": the time the report recorded in the run's own workdir when it last ran
     this config (runs.TIMES_FILE), i.e. measured here;
  2. "reports/quick" or "reports/full": the time of the run of that name in a committed
     REPORT.json, measured where that report ran (its Environment section names the machine);
  3. none: the plan says "no estimate", and the total counts it as 0 (and says so).
The expected wall time replays the schedule (genjax/report/schedule.py): timed runs one after
another first, then each lane's runs in turn, a lane starting on the first free worker. With more
runs at a time than the CPU has cores, the replay keeps one worker per core: the runs are
CPU-bound and only share the cores (schedule.py's MAX_CPU_JOBS).
"""

import heapq
import json
import os

from genjax.report import runs as report_runs
from genjax.report import schedule
from genjax.report.machine import usable_cores

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED = ("reports/quick", "reports/full")  # REPORT.jsons whose run times serve as estimates


def committed_seconds() -> dict[str, tuple[float, str]]:
  """Run name -> (wall seconds, which committed report), from the committed REPORT.jsons."""
  found = {}
  for folder in COMMITTED:
    path = os.path.join(ROOT, folder, "REPORT.json")
    try:
      with open(path) as f:
        listed = json.load(f).get("runs", [])
      for run in listed:
        if run.get("wall_seconds") and run["name"] not in found:
          found[run["name"]] = (float(run["wall_seconds"]), folder)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
      continue  # absent or of another shape: its times are estimates only, so none are taken
  return found


def expected_seconds(run: report_runs.Run, committed: dict) -> tuple[float | None, str]:
  """(seconds, where the number comes from) for one run that has to run."""
  recorded = report_runs.recorded_seconds(run)
  if recorded is not None:
    return recorded, "this machine"
  if run.name in committed:
    return committed[run.name]
  return None, ""


def expected_wall(runs: list, seconds: dict[str, float], timed, jobs: int) -> float:
  """The schedule replayed with `seconds` per run (0 for reused or unknown ones)."""
  alone, lanes = schedule.lanes(runs, timed)
  wall = sum(seconds.get(run.name, 0.0) for run in alone)
  workers = [wall] * max(1, jobs)
  heapq.heapify(workers)
  for lane in lanes:  # in order: the next lane starts on the first free worker
    start = heapq.heappop(workers)
    heapq.heappush(workers, start + sum(seconds.get(run.name, 0.0) for run in lane))
  return max(workers)


def describe(runs: list, reused: dict[str, bool], timed, jobs: int, slurm: bool = False,
             cores: int | None = None, notes: dict[str, str] | None = None,
             ) -> tuple[list[str], float, dict[str, float]]:
  """The plan's lines, the expected wall seconds (on SLURM: the runs' own times, summed per
  lane, since the cluster decides how many run at once) and each estimated run's seconds.
  `cores`: the CPU's (default: those this process may use), which bound the workers the replay
  uses. `notes`: why a run that finished with its config runs again (its results.json is cut
  short, say), by run name."""
  committed = committed_seconds()
  seconds, lines, unknown = {}, [], 0
  for run in runs:
    if reused[run.name]:
      lines.append(f"  {run.name}: reused (finished with this config in {run.workdir})")
      continue
    value, source = expected_seconds(run, committed)
    note = f" (again: {notes[run.name]})" if notes and run.name in notes else ""
    if value is None:
      unknown += 1
      lines.append(f"  {run.name}: runs{note}; no estimate")
    else:
      seconds[run.name] = value
      lines.append(f"  {run.name}: runs{note}, about {_minutes(value)} (measured on {source})")
  workers = min(jobs, cores or usable_cores())
  wall = expected_wall(runs, seconds, timed, len(runs) if slurm else workers)
  how = ("one SLURM job each (timed runs on a node of their own)" if slurm
         else f"{jobs} at a time (timed runs alone, first)")
  if not slurm and workers < jobs:
    how += f", on {workers} cores: estimated as {workers} at a time"
  head = (f"plan: {len(runs)} runs, {sum(reused.values())} reused, {how}; expected wall time "
          f"about {_minutes(wall)}")
  if unknown:
    head += f", not counting {unknown} run(s) with no estimate"
  return [head, *lines], wall, seconds


def pace(measured_expected: list[tuple[float, float]]) -> float | None:
  """How long the finished runs took against their estimates, summed (None before one with an
  estimate has finished): the estimates come from other machines and loads, and this says how
  far to trust them here."""
  expected = sum(e for _, e in measured_expected)
  return sum(m for m, _ in measured_expected) / expected if expected > 0 else None


def progress(line: str, elapsed: float, expected: float, pace: float | None = None) -> str:
  """A run's start or end line with the elapsed time and the time left: the expected wall time,
  scaled by the pace of the finished runs once there is one, less the time elapsed."""
  scaled = expected * (1.0 if pace is None else pace)
  if expected <= 0:
    left = ""
  elif scaled > elapsed:
    left = f", about {_minutes(scaled - elapsed)} left"
  else:
    left = ", past the estimate"
  if pace is not None:
    left += f" (finished runs took {pace:.2f}x their estimates)"
  return f"{line} [{_minutes(elapsed)} elapsed{left}]"


def _minutes(seconds: float) -> str:
  seconds = max(0.0, seconds)
  return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"

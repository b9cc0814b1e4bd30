"""The report's runs: what each is (its command, workdir and claims), running one as a process
on this machine or reusing it where its workdir finished with the same config, and the records
the report keeps beside a run's results (how long it took, on which machine).
"""

import dataclasses
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from typing import Any

from genjax import identity, registry
from genjax.claims.verdicts import Claim, ResultMissing
from genjax.errors import UserError
from genjax.report.machine import machine_line

# What `python experiments/report.py` runs with no flags (experiments/flags/report_quick.flags
# repeats it; a test keeps them equal): every claim, each protocol run from scratch. In the full
# report only: real MNIST GANs (three seeds, the fewest that decide, do not fit in 20 minutes) and
# the ring GAN, which no quick budget lets decide: its remedy's cell count is equal on every seed,
# which the sign test decides from 6 seeds (`verdicts.one_test`), and its budget witness reaches
# the data only late in the full protocol's steps (reports/full, Q2).
QUICK_WORKDIR = "workdirs/report_quick"
# Longest lane first: a lane starts when a worker frees up (genjax/report/schedule.py); the text
# studies share one workdir and the models trained there, so they run one after the other.
QUICK_RUNS = [
    *(f"text:experiments/flags/text_{study}_quick.flags"
      for study in ("architecture", "diversity")),
    "vae:experiments/flags/vae_mnist_quick.flags",
    *(f"domain:experiments/flags/domain_{study}_quick.flags"
      for study in ("diversity", "architecture", "finetune", "fewshot", "continual")),
    "vae:experiments/flags/vae_digits_long.flags",
    "gan:experiments/flags/gan_stacked_digits_quick.flags",
    "attention:experiments/flags/attention_cpu_quick.flags",
]
# The report's own record, in each workdir it ran, of how long each run took, so a reused run
# can still show its time and price more seeds.
TIMES_FILE = "report_wall_seconds.json"  # {run name: seconds}
# {run name: machine_line() where the report ran it}: a reused run's numbers belong to that machine
# (GAN numbers move with the CPU model; a GPU box runs its own JAX), not to the one reporting.
MACHINES_FILE = "report_machines.json"
# {run name: the host name of the node it ran on}: under SLURM not the node that writes the report.
NODES_FILE = "report_nodes.json"


class RunFailed(UserError):
  """An experiment's process exited non-zero; the message holds its command and stderr tail."""

  exit_code = 1


@dataclasses.dataclass
class Run:
  """One experiment run the report needs: its command and the workdir of its results.json."""

  name: str
  command: list[str]
  workdir: str
  claims: list[Claim]
  wall_seconds: float | None = None  # None: reused from an earlier run
  results: dict | None = None
  flagfile: str = ""  # the flagfile it runs
  config: Any = None  # the config that flagfile gives; a finished run is reused only if equal
  recorded_seconds: float | None = None  # a reused run's time, where known
  machine: str | None = None  # machine_line() of where it ran, where known
  node: str | None = None  # the host name it ran on, where known
  experiment: str = ""  # its registry.EXPERIMENTS name
  # This report resumed a partial run of its config (an earlier attempt stopped): wall_seconds is
  # this attempt's, and the run's own time is unknown.
  resumed: bool = False


def finished(run: Run) -> bool:
  """Its results.json holds the results of this run's config (for a domain study: its entry),
  in a shape its claims can read."""
  return (identity.finished(run.workdir, run.config, registry.EXPERIMENTS[run.experiment])
          and unreadable(run) is None)


def not_reused_because(run: Run) -> str | None:
  """Why a run of this config, finished in its workdir, is run again all the same: its
  results.json cannot be judged (None: it can, or no such run finished there)."""
  path = os.path.join(run.workdir, identity.RESULTS_FILE)
  made_here = identity.matches(run.workdir, run.config, registry.EXPERIMENTS[run.experiment])
  return unreadable(run) if made_here and os.path.exists(path) else None


def _read_results(path: str) -> tuple[dict | None, str]:
  """(results.json as an object, "") or (None, why it is not one)."""
  try:
    with open(path) as f:
      results = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    return None, f"{path} is unreadable ({e})"
  if not isinstance(results, dict):
    return None, f"{path} holds a JSON {type(results).__name__}, not an object of results"
  return results, ""


def load_results(run: Run) -> dict:
  """The run's results.json; RunFailed, one line, when it is cut short or not a JSON object."""
  results, problem = _read_results(os.path.join(run.workdir, identity.RESULTS_FILE))
  if results is None:
    raise RunFailed(f"run {run.name} ended, but {problem}; remove {run.workdir} and run the "
                    "report again")
  return results


def unreadable(run: Run) -> str | None:
  """Why the run's results.json cannot be judged (None: it can): cut short, not an object, or
  lacking what a claim's rule or the report reads. A rule may say its input is missing
  (ResultMissing: *not measured*); any other exception here means results of another shape (a
  file from an older version, edited by hand), which are not reused: the run runs again."""
  path = os.path.join(run.workdir, identity.RESULTS_FILE)
  results, problem = _read_results(path)
  if results is None:
    return problem
  try:
    for claim in run.claims:
      if claim.applies(results):
        try:
          claim.rule(results)
        except ResultMissing:
          pass
    if run.experiment:
      registry.EXPERIMENTS[run.experiment].details_lines(results, run.config)
  except Exception as e:  # noqa: BLE001  (any: a shape no rule expects)
    return f"{path} lacks what the claims read ({type(e).__name__}: {e})"
  return None


def first_finished(alternatives: list[Run]) -> Run:
  """The first run finished by its own config (longest protocols listed first); else the last,
  which is the one to run."""
  for run in alternatives:
    if finished(run):
      return run
  return alternatives[-1]


def execute(run: Run, rerun: bool) -> Run:
  """Runs the experiment unless it finished with this config (and rerun is off); loads results."""
  machines_path = os.path.join(run.workdir, MACHINES_FILE)
  run.wall_seconds = run.recorded_seconds = None
  run.resumed = False
  if rerun or not finished(run):
    run.resumed = resumes(run, rerun)
    start = time.perf_counter()
    completed = subprocess.run(run.command, capture_output=True, text=True)
    if completed.returncode:
      tail = "\n".join(completed.stderr.splitlines()[-20:])
      raise RunFailed(f"run {run.name} failed (exit {completed.returncode}): "
                      f"{shlex.join(run.command)}\n{tail}")
    run.wall_seconds = time.perf_counter() - start
    record_attempt(run.workdir, run.name, run.resumed, run.wall_seconds)
  run.results = load_results(run)
  machine = (read_json(machines_path) or {}).get(run.name)
  run.machine = machine if isinstance(machine, str) else None
  node = (read_json(os.path.join(run.workdir, NODES_FILE)) or {}).get(run.name)
  run.node = node if isinstance(node, str) else None
  if run.wall_seconds is None:
    # Only a report times a run (a run made by hand, or resumed, has no one time): unknown else.
    run.recorded_seconds = recorded_seconds(run)
  return run


def resumes(run: Run, rerun: bool) -> bool:
  """Whether running it now resumes an earlier attempt: its workdir holds this config, not
  finished (an attempt stopped). Then this attempt's time is not the run's own. The local and the
  SLURM paths both ask here, before the run starts."""
  return not rerun and identity.matches(run.workdir, run.config,
                                        registry.EXPERIMENTS[run.experiment])


def record_attempt(workdir: str, name: str, resumed: bool, wall_seconds: float | None) -> None:
  """Records where an attempt that finished the run ran, and its time when the attempt was the
  whole run (a resumed one's time is unknown: None)."""
  record_where_it_ran(workdir, name, None if resumed else wall_seconds)


def recorded_seconds(run: Run) -> float | None:
  """The time TIMES_FILE records for the run; None where there is none (or not a number)."""
  value = (read_json(os.path.join(run.workdir, TIMES_FILE)) or {}).get(run.name)
  ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
  return float(value) if ok else None


def record_where_it_ran(workdir: str, name: str, wall_seconds: float | None) -> None:
  """Records in the run's workdir (by run name: the domain studies share a workdir) how long
  the run took (TIMES_FILE; None: unknown, a resumed run), on what (MACHINES_FILE) and on which
  node (NODES_FILE), for this report and a later one that reuses it. Called where the run ran:
  under SLURM on its node, by the job itself, so the records exist even when no report process
  waits for the job."""
  for file, value in ((TIMES_FILE, wall_seconds), (MACHINES_FILE, machine_line()),
                      (NODES_FILE, socket.gethostname())):
    path = os.path.join(workdir, file)
    identity.write_json(path, (read_json(path) or {}) | {name: value})


def seconds(run: Run) -> float | None:
  """How long the run took on this machine: timed now, else recorded, else unknown (resumed)."""
  if run.resumed:
    return None
  return run.wall_seconds if run.wall_seconds is not None else run.recorded_seconds


def read_json(path: str) -> dict | None:
  """One of the report's own records (TIMES_FILE, MACHINES_FILE); None where there is none, or
  one cut short or of another shape: they only say how long a run took and where, so such a file
  is ignored, and rewritten whole when the run next runs."""
  try:
    with open(path) as f:
      value = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError):
    return None
  return value if isinstance(value, dict) else None


def relative(command: list[str]) -> list[str]:
  """The command as a user types it from the repository root (no machine-specific paths)."""
  return ["python" if part == sys.executable else os.path.relpath(part)
          if os.path.isabs(part) and os.path.exists(part) else part for part in command]

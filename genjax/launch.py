"""Where the report's and the grid's runs run: on this machine (`--launcher=local`, the default)
or as SLURM jobs through submitit (`--launcher=slurm`), one job per run.

Local runs stay what they were (genjax/report/schedule.py for the report, grid.run_all for the
grid): plain subprocesses, the same side-by-side rules, numbers and output lines. A SLURM job
runs the very command line the local path runs (genjax/slurm_job.py's `Command`, pickled by
submitit), and the report's rules carry over:
  - every run is submitted at once; runs of one workdir run in order through SLURM dependencies
    (afterok on the previous one; a failed one cancels those after it), so the runs go on when
    the process that submitted them stops, and `--slurm_detach` lets it stop on purpose;
  - a timed run gets its node alone (`--exclusive`), so no neighbour slows what it measures;
  - a run is reused only by fingerprint (the caller's `reuse`: genjax.report.runs.finished or
    grid.finished);
  - the first failure is one `error:` line with the job id and its log; SLURM cancels the jobs
    after it in its lane, the other lanes run on, and a rerun attaches to them;
  - every submitted job id is recorded in `WORKDIR/launch.json`, so a report or grid started
    again attaches to its jobs still queued or running instead of submitting them twice;
  - a requeued job (preemption, `scontrol requeue`, a time limit reached) reruns the same
    command, which resumes from the checkpoint our runs save on SIGTERM.
Job states come from `squeue` (then `sacct`); a job's end from submitit's result file.
"""

import collections
import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from collections.abc import Callable

from absl import flags

from genjax.errors import UserError
from genjax.slurm_job import ENDED, Command, states
from genjax.workdir_lock import node_local_locks

RECORD = "launch.json"  # in the report's / grid's workdir: {run: {job_id, folder, command}}
POLL = "GENJAX_SLURM_POLL"  # seconds between two squeue calls (5 unset), read by from_flags
GRACE_SECONDS = 20  # a job that ended without a result file yet: wait this long (NFS lag)


def define_flags() -> None:
  """The launcher's flags, shared by experiments/report.py and experiments/grid.py."""
  flags.DEFINE_enum("launcher", "local", ["local", "slurm"],
                    "local: subprocesses on this machine; slurm: one SLURM job per run "
                    "(submitit; genjax/launch.py).")
  flags.DEFINE_string("slurm_partition", None, "--launcher=slurm: the partition (default: the "
                      "cluster's).")
  flags.DEFINE_integer("slurm_time", 180, "--launcher=slurm: time limit per job, in minutes "
                       "(a job reaching it saves a checkpoint and is requeued, up to 3 times).")
  flags.DEFINE_integer("slurm_gpus_per_node", 0, "--launcher=slurm: GPUs per job (0: none).")
  flags.DEFINE_integer("slurm_cpus_per_task", 0, "--launcher=slurm: CPUs per job (0: the "
                       "cluster's default).")
  flags.DEFINE_multi_string("slurm_additional", [], "--launcher=slurm: an extra sbatch line, "
                            "key=value (e.g. account=abc, qos=high; a bare key is a switch).")
  flags.DEFINE_string("slurm_folder", None, "--launcher=slurm: where submitit writes each job's "
                      "script, logs and result (default: WORKDIR/slurm).")


class LaunchFailed(UserError):
  """A job failed, was cancelled or vanished: one line with its id and log, exit 1."""

  exit_code = 1


@dataclasses.dataclass
class Task:
  """One run to launch: `lane` is its workdir (runs of one lane run in turn)."""

  name: str
  command: list[str]
  lane: str
  timed: bool = False
  log: str | None = None  # where its output goes (None: the job's own log files)
  # Called on the compute node with the run's wall seconds once it succeeded, None where the job
  # was requeued and so resumed an earlier attempt (picklable: a module-level function or a
  # functools.partial of one), so what the run's records say is written where it ran even when
  # no process waits for the job.
  on_success: Callable[[float | None], None] | None = None


class Slurm:
  """Submits, attaches to and waits for one SLURM job per run (see the module docstring)."""

  def __init__(self, workdir: str, folder: str, parameters: dict, announce=print, poll=5.0):
    self.record_path = os.path.join(workdir, RECORD)
    self.folder, self.parameters, self.announce, self.poll = folder, parameters, announce, poll

  def _record(self) -> dict:
    """{run: its job}; {} where there is none yet, or one cut short or of another shape."""
    try:
      with open(self.record_path) as f:
        record = json.load(f)
      return {k: v for k, v in record.items() if isinstance(v, dict) and "job_id" in v}
    except (OSError, ValueError, AttributeError):  # nothing to attach to
      return {}

  def _write_record(self, task: Task, job_id: str) -> None:
    from genjax import identity

    entry = {"job_id": job_id, "folder": self.folder, "command": task.command}
    os.makedirs(os.path.dirname(self.record_path) or ".", exist_ok=True)
    identity.write_json(self.record_path, self._record() | {task.name: entry})

  def _attach(self, task: Task):
    """The recorded job of this very command, if it is still queued or running."""
    import submitit

    entry = self._record().get(task.name)
    if not entry or entry.get("command") != task.command:
      return None
    state = states([entry["job_id"]]).get(entry["job_id"])
    if state is None or state in ENDED:
      return None  # ended: its workdir says whether it finished (reuse), else it runs again
    self.announce(f"{task.name}: attached to SLURM job {entry['job_id']} ({state})")
    return submitit.SlurmJob(entry.get("folder", self.folder), entry["job_id"])

  def _submit(self, task: Task, after: list[str] = ()):
    """Submits the task as a job that starts once every job of `after` succeeded (and is
    cancelled if one of them fails)."""
    import submitit

    executor = submitit.SlurmExecutor(folder=self.folder, max_num_timeout=3)
    extra = {"requeue": True, **self.parameters.get("additional_parameters", {})}
    if after:
      extra |= {"dependency": "afterok:" + ":".join(after), "kill-on-invalid-dep": "yes"}
    executor.update_parameters(**{**self.parameters, "additional_parameters": extra},
                               job_name=task.name, exclusive=True if task.timed else None)
    if task.log:  # like the local grid: a fresh log per run (a requeued job appends to it)
      os.makedirs(os.path.dirname(task.log) or ".", exist_ok=True)
      open(task.log, "w").close()
    try:
      job = executor.submit(Command(task.command, os.getcwd(), task.log, task.on_success))
    except Exception as e:  # sbatch refused it: a bad partition, time, extra line ...
      lines = [line for line in str(e).splitlines() if line.strip()]
      raise UserError(f"sbatch refused run {task.name}: {lines[-1] if lines else e}") from None
    self._write_record(task, job.job_id)
    after_text = f"after job {', '.join(after)}, " if after else ""
    self.announce(f"{task.name}: submitted as SLURM job {job.job_id} ({after_text}"
                  f"{'alone on its node, ' if task.timed else ''}log {self.log_of(task, job)})")
    return job

  @staticmethod
  def log_of(task: Task, job) -> str:  # a run's output: its own log, else the job's stderr
    return task.log or str(job.paths.stderr)

  def run_all(self, tasks: list[Task], reuse) -> dict[str, float | None]:
    """Runs every task not reused (reuse(task) True); returns name -> wall seconds (None:
    reused). Raises LaunchFailed at the first failed job."""
    outcome, submitted = self.submit_all(tasks, reuse)
    return outcome | self.wait(submitted)

  def submit_all(self, tasks: list[Task], reuse) -> tuple[dict[str, None], dict[str, tuple]]:
    """Submits (or attaches to) a job for every task not reused, each after the previous job
    of its lane. Returns ({reused task: None}, {submitted task: (task, job)})."""
    lanes = collections.defaultdict(list)
    for task in tasks:  # a timed run is a lane of its own (its node is its own anyway)
      lanes[task.name if task.timed else os.path.abspath(task.lane)].append(task)
    reused, submitted = {}, {}
    for lane_tasks in lanes.values():
      previous = None
      for task in lane_tasks:
        if reuse(task):
          reused[task.name] = None
          self.announce(f"{task.name}: reused (finished with this config in its workdir)")
          continue
        job = self._attach(task) or self._submit(task, [previous.job_id] if previous else [])
        submitted[task.name], previous = (task, job), job
    return reused, submitted

  def submit_after(self, task: Task, submitted: dict[str, tuple]):
    """Submits (or attaches to) `task` as a job that starts once every submitted job
    succeeded; returns the job."""
    return self._attach(task) or self._submit(task, [job.job_id for _, job in
                                                     submitted.values()])

  def wait(self, submitted: dict[str, tuple]) -> dict[str, float]:
    """Waits for every submitted job; returns name -> wall seconds. Raises LaunchFailed at the
    first job that ended without success."""
    outcome: dict[str, float] = {}
    running = {name: [task, job, None, "PENDING"] for name, (task, job) in submitted.items()}
    last_poll = float("-inf")
    while running:
      time.sleep(1)
      found = None  # squeue every `poll` seconds; result files every second
      if time.monotonic() - last_poll >= self.poll:
        found, last_poll = states([e[1].job_id for e in running.values()]), time.monotonic()
      for name, entry in list(running.items()):
        if found is not None:
          entry[3] = found.get(entry[1].job_id, "UNKNOWN")
          ended = entry[3] in ENDED or entry[3] == "UNKNOWN"
          entry[2] = (entry[2] or time.monotonic()) if ended else None
        seconds = self._result(*entry, others=len(running) - 1)
        if seconds is not None:
          task, job = entry[:2]
          outcome[task.name] = seconds
          del running[name]
          self.announce(f"{task.name}: ran in {seconds:.0f} s (SLURM job {job.job_id})")
    return outcome

  def _result(self, task: Task, job, ended_at: float | None, state: str,
              others: int) -> float | None:
    """The job's wall seconds once it succeeded; None while it runs (or its result file may
    still be on its way); LaunchFailed once it ended without success."""
    from submitit.core import utils

    left = f"; {others} other job(s) left running, a rerun attaches to them" if others else ""
    where = f"SLURM job {job.job_id}"
    if job.paths.result_pickle.exists():
      kind, value = utils.pickle_load(job.paths.result_pickle)
      if kind == "success":
        return float(value)
      last = [line for line in str(value).splitlines() if line.strip()][-1:]
      raise LaunchFailed(f"run {task.name} failed ({where}: {' '.join(last)}); its log: "
                         f"{self.log_of(task, job)}{left}")
    if ended_at is None:
      return None
    # COMPLETED or vanished: its result file may lag behind (NFS); any other end is final.
    if state in ("COMPLETED", "UNKNOWN") and time.monotonic() - ended_at < GRACE_SECONDS:
      return None
    how = "is gone from the queue" if state == "UNKNOWN" else f"ended {state}"
    raise LaunchFailed(f"run {task.name} failed ({where} {how} without a result); its log: "
                       f"{self.log_of(task, job)}{left}")


def from_flags(workdir: str) -> Slurm | None:
  """The SLURM launcher the flags ask for; None for local runs. UserError for bad input."""
  FLAGS = flags.FLAGS
  if FLAGS.launcher == "local":
    return None
  for name, least in (("slurm_time", 1), ("slurm_gpus_per_node", 0), ("slurm_cpus_per_task", 0)):
    if FLAGS[name].value < least:
      raise UserError(f"--{name}={FLAGS[name].value} must be at least {least}")
  extra = {}
  for line in FLAGS.slurm_additional:
    key, sep, value = line.partition("=")
    if not key.strip() or key.startswith("-") or (sep and not value):
      raise UserError(f"--slurm_additional={line!r} must be key=value (an sbatch option "
                      "without its --), or a bare key")
    extra[key.strip()] = value if sep else True
  text, poll = os.environ.get(POLL, "").strip() or "5", math.nan  # read here, not at import
  with contextlib.suppress(ValueError):
    poll = float(text)
  if not 0 < poll < math.inf:
    raise UserError(f"{POLL}={text!r} must be a number of seconds above 0 (how often squeue "
                    "is asked about the jobs); unset it for 5")
  if shutil.which("sbatch") is None:
    raise UserError("--launcher=slurm: no sbatch on PATH (run on a SLURM login node, or use "
                    "--launcher=local)")
  if why := node_local_locks(workdir):
    raise UserError(f"--launcher=slurm: workdir {workdir}: {why}, so jobs on two nodes could "
                    "write one run's workdir at once; use a workdir on a filesystem with "
                    "cluster-wide locks (NFSv4, Lustre with -o flock)")
  optional = {"partition": FLAGS.slurm_partition, "gpus_per_node": FLAGS.slurm_gpus_per_node,
              "cpus_per_task": FLAGS.slurm_cpus_per_task}
  parameters = {"time": FLAGS.slurm_time, "additional_parameters": extra,
                **{name: value for name, value in optional.items() if value}}
  folder = FLAGS.slurm_folder or os.path.join(workdir, "slurm")
  return Slurm(workdir, os.path.abspath(folder), parameters,
               announce=lambda line: print(line, flush=True), poll=poll)

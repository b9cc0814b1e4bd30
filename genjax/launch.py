"""Where the report's and the grid's runs run: on this machine (`--launcher=local`, the default)
or as SLURM jobs through submitit (`--launcher=slurm`), one job per run.

Local runs stay what they were (genjax/report/schedule.py for the report, grid.run_all for the
grid): plain subprocesses, the same side-by-side rules, numbers and output lines. A SLURM job
runs the very command line the local path runs (`Command`, pickled by submitit), and the report's
rules carry over:
  - runs of one workdir run in order: the next one is submitted when the previous one finished;
  - a timed run gets its node alone (`--exclusive`), so no neighbour slows what it measures;
  - a run is reused only by fingerprint (the caller's `reuse`: genjax.report.runs.finished or
    grid.finished);
  - the first failure stops new submissions and is one `error:` line with the job id and its
    log; jobs already submitted run on, and a rerun attaches to them;
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
import signal
import subprocess
import sys
import time

from absl import flags

from genjax.errors import UserError

RECORD = "launch.json"  # in the report's / grid's workdir: {run: {job_id, folder, command}}
POLL = "GENJAX_SLURM_POLL"  # seconds between two squeue calls (5 unset), read by from_flags
GRACE_SECONDS = 20  # a job that ended without a result file yet: wait this long (NFS lag)
SIGTERM_GRACE = 60  # of submitit's 90 s warning before a time limit: the run saves a checkpoint
ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
         "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


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


def _ignore_usr2() -> None:  # in the run's process: USR2 is submitit's, the run's is SIGTERM
  signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class Command:
  """What a SLURM job runs: the local command line, in the directory it was planned in; returns
  its wall seconds. SIGTERM (requeue, preemption, scancel) makes the run save a checkpoint and
  exit 143: then no result is written, so a requeued job simply runs the command again."""

  def __init__(self, argv: list[str], cwd: str, log: str | None = None):
    self.argv, self.cwd, self.log, self._proc = list(argv), cwd, log, None

  def __getstate__(self):  # the running process stays behind
    return {"argv": self.argv, "cwd": self.cwd, "log": self.log, "_proc": None}

  def __call__(self) -> float:
    start = time.perf_counter()
    out = open(self.log, "a") if self.log else None
    try:
      self._proc = subprocess.Popen(self.argv, cwd=self.cwd, stdout=out,
                                    stderr=subprocess.STDOUT if out else None,
                                    preexec_fn=_ignore_usr2)
      code = self._proc.wait()
    finally:
      if out:
        out.close()
    if code in (-signal.SIGTERM, 128 + signal.SIGTERM):
      sys.exit(code % 256)  # SystemExit passes submitit by: no result, the job is not "done"
    if code:
      raise RuntimeError(f"exit {code}: {' '.join(self.argv)}")
    return time.perf_counter() - start

  def checkpoint(self, *args, **kwargs):
    """submitit calls this on its time-limit signal (USR2) before requeueing the job: the run
    gets SIGTERM, saves its checkpoint, and the requeued job runs the same command again."""
    import submitit

    if (proc := self._proc) is not None and proc.returncode is None:
      proc.send_signal(signal.SIGTERM)
      deadline = time.monotonic() + SIGTERM_GRACE
      with contextlib.suppress(ChildProcessError):  # reap it here: the main thread is in wait()
        while time.monotonic() < deadline and not os.waitpid(proc.pid, os.WNOHANG)[0]:
          time.sleep(0.5)
    return submitit.helpers.DelayedSubmission(Command(self.argv, self.cwd, self.log))


def states(job_ids: list[str]) -> dict[str, str]:
  """Job id -> SLURM state (RUNNING, COMPLETED, ...) from squeue, then sacct for older jobs."""
  found: dict[str, str] = {}
  ids = ",".join(job_ids)
  for command in (["squeue", "--states=all", "--noheader", "--format=%i|%T", f"--jobs={ids}"],
                  ["sacct", "--noheader", "--parsable2", "--allocations",
                   "--format=JobID,State", f"--jobs={ids}"]):
    if set(job_ids) <= set(found):
      break
    try:
      text = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
      continue
    for line in text.splitlines():
      job_id, _, state = line.strip().partition("|")
      if job_id in job_ids and job_id not in found and state.strip():
        found[job_id] = state.split()[0]  # "CANCELLED by 0" -> CANCELLED
  return found


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

  def _submit(self, task: Task):
    import submitit

    executor = submitit.SlurmExecutor(folder=self.folder, max_num_timeout=3)
    extra = {"requeue": True, **self.parameters.get("additional_parameters", {})}
    executor.update_parameters(**{**self.parameters, "additional_parameters": extra},
                               job_name=task.name, exclusive=True if task.timed else None)
    if task.log:  # like the local grid: a fresh log per run (a requeued job appends to it)
      os.makedirs(os.path.dirname(task.log) or ".", exist_ok=True)
      open(task.log, "w").close()
    try:
      job = executor.submit(Command(task.command, os.getcwd(), task.log))
    except Exception as e:  # sbatch refused it: a bad partition, time, extra line ...
      lines = [line for line in str(e).splitlines() if line.strip()]
      raise UserError(f"sbatch refused run {task.name}: {lines[-1] if lines else e}") from None
    self._write_record(task, job.job_id)
    self.announce(f"{task.name}: submitted as SLURM job {job.job_id} "
                  f"({'alone on its node, ' if task.timed else ''}log {self.log_of(task, job)})")
    return job

  @staticmethod
  def log_of(task: Task, job) -> str:  # a run's output: its own log, else the job's stderr
    return task.log or str(job.paths.stderr)

  def run_all(self, tasks: list[Task], reuse) -> dict[str, float | None]:
    """Runs every task not reused (reuse(task) True); returns name -> wall seconds (None:
    reused). Raises LaunchFailed at the first failed job, submitting nothing after it."""
    lanes = collections.defaultdict(collections.deque)
    for task in tasks:  # a timed run is a lane of its own (its node is its own anyway)
      lanes[task.name if task.timed else os.path.abspath(task.lane)].append(task)
    outcome: dict[str, float | None] = {}
    running: dict[str, list] = {}  # lane -> [task, job, when it was first seen ended, state]
    last_poll = float("-inf")
    while lanes or running:
      for lane in [lane for lane in lanes if lane not in running]:
        while lanes[lane] and lane not in running:
          task = lanes[lane].popleft()
          if reuse(task):
            outcome[task.name] = None
            self.announce(f"{task.name}: reused (finished with this config in its workdir)")
          else:
            running[lane] = [task, self._attach(task) or self._submit(task), None, "PENDING"]
        if not lanes[lane]:
          del lanes[lane]
      if not running:
        break
      time.sleep(1)
      found = None  # squeue every `poll` seconds; result files every second
      if time.monotonic() - last_poll >= self.poll:
        found, last_poll = states([e[1].job_id for e in running.values()]), time.monotonic()
      for lane, entry in list(running.items()):
        if found is not None:
          entry[3] = found.get(entry[1].job_id, "UNKNOWN")
          ended = entry[3] in ENDED or entry[3] == "UNKNOWN"
          entry[2] = (entry[2] or time.monotonic()) if ended else None
        seconds = self._result(*entry, others=len(running) - 1)
        if seconds is not None:
          task, job = entry[:2]
          outcome[task.name] = seconds
          del running[lane]
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
  optional = {"partition": FLAGS.slurm_partition, "gpus_per_node": FLAGS.slurm_gpus_per_node,
              "cpus_per_task": FLAGS.slurm_cpus_per_task}
  parameters = {"time": FLAGS.slurm_time, "additional_parameters": extra,
                **{name: value for name, value in optional.items() if value}}
  folder = FLAGS.slurm_folder or os.path.join(workdir, "slurm")
  return Slurm(workdir, os.path.abspath(folder), parameters,
               announce=lambda line: print(line, flush=True), poll=poll)

"""What runs inside a SLURM job of genjax/launch.py, and how a job's state is read.

`Command` is what submitit pickles into the job: the run's own command line as a subprocess,
SIGTERM handling for requeues and time limits (the run saves a checkpoint; the requeued job runs
the same command, which resumes), and the run's records written on its node once it succeeded.
`states` asks squeue, then sacct, where the jobs are.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

SIGTERM_GRACE = 60  # of submitit's 90 s warning before a time limit: the run saves a checkpoint
ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
         "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


def _ignore_usr2() -> None:  # in the run's process: USR2 is submitit's, the run's is SIGTERM
  signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class Command:
  """What a SLURM job runs: the local command line, in the directory it was planned in; returns
  its wall seconds. SIGTERM (requeue, preemption, scancel) makes the run save a checkpoint and
  exit 143: then no result is written, so a requeued job simply runs the command again."""

  def __init__(self, argv: list[str], cwd: str, log: str | None = None,
               on_success: Callable[[float | None], None] | None = None,
               requeued: bool = False):
    self.argv, self.cwd, self.log, self.on_success = list(argv), cwd, log, on_success
    # A requeued job resumes the run an earlier attempt started: its own time is not the run's,
    # so on_success gets None (unknown) instead.
    self.requeued = requeued
    self._proc = None

  def __getstate__(self):  # the running process stays behind
    return {**self.__dict__, "_proc": None}

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
    seconds = time.perf_counter() - start
    if self.on_success is not None:
      self.on_success(None if self.requeued else seconds)
    return seconds

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
    return submitit.helpers.DelayedSubmission(Command(self.argv, self.cwd, self.log,
                                                      self.on_success, requeued=True))


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

"""A real one-node SLURM for the tests (tests/test_slurm_launch.py), not a mock.

`start()` writes a minimal slurm.conf for this host into a fresh temporary folder (one node with
this machine's CPUs and memory, proctrack/linuxproc, task/none, select/cons_tres, no cgroups,
ReturnToService=2, its own ports, spool and state folders), creates a munge key, starts
`munged`, `slurmctld` and `slurmd` as root and waits until `sinfo` shows the node idle;
`Cluster.stop()` cancels what is left in its queue and stops the three daemons it started. Where
it cannot start (no SLURM binaries, not root, a daemon that fails), `Unavailable` says why in
one line and the tests skip with it. Debian: `apt-get install slurm-wlm munge` (.ci/run does).

The scheduler is tuned for tests: it schedules every second, and a requeued job waits 5 s before
it starts again (cred_expire; 120 s by default).
"""

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")


class Unavailable(Exception):
  """Why this machine cannot run the test cluster (one line)."""


@dataclasses.dataclass
class Cluster:
  root: str  # the temporary folder of its config, state, logs and munge socket
  conf: str  # its slurm.conf

  @property
  def env(self) -> dict:
    """The environment of a process that talks to this cluster (sbatch, squeue, scontrol)."""
    return {**os.environ, "SLURM_CONF": self.conf}

  def run(self, *command: str, check: bool = True) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=60)
    if check and done.returncode:
      raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout

  def jobs(self) -> list[tuple[str, str, str]]:
    """(id, name, state) of every job the controller knows, finished ones included."""
    lines = self.run("squeue", "--states=all", "--noheader", "--format=%i|%j|%T").splitlines()
    return [tuple(line.strip().split("|")) for line in lines if line.strip()]

  def log_tail(self, name: str, lines: int = 5) -> str:
    try:
      with open(os.path.join(self.root, name)) as f:
        return " / ".join(line.strip() for line in f.readlines()[-lines:])
    except OSError:
      return "(no log)"

  def stop(self) -> None:
    """Cancels its jobs, then stops slurmd, slurmctld and munged (by their pid files)."""
    try:
      ids = [job_id for job_id, _, state in self.jobs()
             if state not in ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")]
      if ids:
        self.run("scancel", *ids, check=False)
        _wait(lambda: not any(s in ("RUNNING", "COMPLETING") for _, _, s in self.jobs()), 30)
    except (RuntimeError, subprocess.TimeoutExpired):
      pass
    for daemon in ("slurmd", "slurmctld", "munge/munged"):
      _stop_pid_file(os.path.join(self.root, f"{daemon}.pid"))
    shutil.rmtree(self.root, ignore_errors=True)


def _wait(condition, seconds: float) -> bool:
  deadline = time.monotonic() + seconds
  while time.monotonic() < deadline:
    if condition():
      return True
    time.sleep(0.5)
  return False


def _stop_pid_file(path: str) -> None:
  try:
    with open(path) as f:
      pid = int(f.read().split()[0])
    os.kill(pid, signal.SIGTERM)
  except (OSError, ValueError, IndexError):
    return
  if not _wait(lambda: not os.path.exists(f"/proc/{pid}"), 15):
    os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _node_line() -> str:
  """This host as slurmd sees it (NodeName, CPUs, sockets, cores, RealMemory)."""
  done = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30)
  first = done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else ""
  if first.startswith("NodeName="):
    return first
  return f"NodeName={socket.gethostname().split('.')[0]} CPUs={os.cpu_count() or 1}"


def _conf(root: str) -> str:
  munge = os.path.join(root, "munge", "munge.socket")
  return f"""\
ClusterName=genjaxtest
SlurmctldHost={socket.gethostname().split('.')[0]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge},cred_expire=5
CredType=cred/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
KillWait=15
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1,sched_min_interval=0
{_node_line()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def start() -> Cluster:
  """Starts munged, slurmctld and slurmd; Unavailable (after cleaning up) if it cannot."""
  missing = [b for b in BINARIES if shutil.which(b) is None]
  if missing:
    raise Unavailable(f"no {', '.join(missing)} on PATH (apt-get install slurm-wlm munge)")
  if os.geteuid() != 0:
    raise Unavailable("the test cluster's daemons run as root, and this is not root")
  root = tempfile.mkdtemp(prefix="genjax-slurm-")  # short: the munge socket path has a limit
  os.chmod(root, 0o700)
  for sub in ("munge", "state", "spool"):
    os.makedirs(os.path.join(root, sub), mode=0o700)
  cluster = Cluster(root, os.path.join(root, "slurm.conf"))
  key = os.path.join(root, "munge", "munge.key")
  with open(key, "wb") as f:
    f.write(os.urandom(1024))
  os.chmod(key, 0o400)
  with open(cluster.conf, "w") as f:
    f.write(_conf(root))
  m = os.path.join(root, "munge")
  daemons = [["munged", "--force", f"--key-file={key}", f"--socket={m}/munge.socket",
              f"--log-file={m}/munged.log", f"--pid-file={m}/munged.pid",
              f"--seed-file={m}/munged.seed"],
             ["slurmctld", "-f", cluster.conf], ["slurmd", "-f", cluster.conf]]
  try:
    for command in daemons:
      done = subprocess.run(command, capture_output=True, text=True, env=cluster.env, timeout=60)
      if done.returncode:
        raise Unavailable(f"{command[0]} exited {done.returncode}: "
                          f"{(done.stderr or done.stdout).strip()[-300:]}")
    idle = _wait(lambda: cluster.run("sinfo", "--noheader", "--format=%T",
                                     check=False).strip() == "idle", 60)
    if not idle:
      raise Unavailable("the node did not become idle within 60 s: slurmctld.log: "
                        f"{cluster.log_tail('slurmctld.log')}; slurmd.log: "
                        f"{cluster.log_tail('slurmd.log')}")
  except (Unavailable, OSError, subprocess.TimeoutExpired, RuntimeError) as e:
    cluster.stop()
    raise e if isinstance(e, Unavailable) else Unavailable(f"{type(e).__name__}: {e}") from None
  return cluster

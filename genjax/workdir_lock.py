"""One writer per workdir: an OS lock (`fcntl.flock`) on `workdir/genjax.lock`, which holds the
writer's host and pid for the message.

The kernel releases the lock when its holder dies, however it dies (SIGKILL, a node lost, a
preempted cluster job), so a rerun or a requeued job on another host takes the workdir over with
a warning naming the old holder, while a live holder anywhere keeps it: a second process stops
with one line naming that holder's host and pid. On NFS (v4 and later) Linux maps flock onto the
server's byte-range locks, so this holds across the hosts of a cluster. Some cluster mounts keep
flock on each node (NFS with local_lock=flock or all, or nolock; Lustre with localflock; BeeGFS
without global file locks; FUSE mounts): there two nodes could each hold "the" lock, so the
SLURM launcher refuses such a workdir (`node_local_locks`), and a filesystem without flock at all
is one error line. The lock file itself is never deleted: a process that opened it just before a
delete would lock a file nobody else sees.
"""

import atexit
import fcntl
import json
import os
import re
import socket

from absl import logging

from genjax.errors import UserError

LOCK_FILE = "genjax.lock"
_HELD: dict[str, int] = {}  # lock path -> open descriptor, for every lock this process holds


def _me() -> dict:
  return {"pid": os.getpid(), "host": socket.gethostname()}


def _read_holder(fd: int) -> dict:
  os.lseek(fd, 0, os.SEEK_SET)
  try:
    holder = json.loads(os.read(fd, 4096) or b"{}")
  except (OSError, json.JSONDecodeError):  # cut short by a kill mid-write
    return {}
  return holder if isinstance(holder, dict) else {}


def held_by_this_process(path: str) -> bool:
  return os.path.realpath(path) in _HELD


def acquire_lock(workdir: str) -> str:
  """Takes `workdir/genjax.lock` for this process (re-entrant); returns its path."""
  path = os.path.join(str(workdir), LOCK_FILE)
  key = os.path.realpath(path)
  if key in _HELD:
    return path
  fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _read_holder(fd)
    os.close(fd)
    raise UserError(f"workdir {workdir} is in use by process {holder.get('pid', '?')} on "
                    f"{holder.get('host', '?')} ({path}); wait for it or use another "
                    "--workdir") from None
  except OSError as e:  # ENOSYS, ENOLCK: e.g. Lustre mounted without flock
    os.close(fd)
    raise UserError(f"workdir {workdir}: its filesystem cannot lock files ({e.strerror}); put "
                    "the workdir on a local disk or a mount with file locks") from None
  previous = _read_holder(fd)
  if previous:  # a holder that died without releasing: the kernel let go for it
    logging.warning("taking over %s from process %s on %s, which is no longer running", path,
                    previous.get("pid", "?"), previous.get("host", "?"))
  os.ftruncate(fd, 0)
  os.pwrite(fd, json.dumps(_me()).encode(), 0)
  _HELD[key] = fd
  atexit.register(release_lock, path)
  return path


def release_lock(path: str) -> None:
  """Lets go of the lock if this process holds it (the file stays, emptied)."""
  fd = _HELD.pop(os.path.realpath(path), None)
  if fd is None:
    return
  try:
    os.ftruncate(fd, 0)  # the next holder finds no one to warn about
  finally:
    os.close(fd)  # closing the descriptor releases the flock


def _unescape(field: str) -> str:  # /proc/mounts writes a space in a path as \040, etc.
  return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def node_local_locks(path: str, mounts: str | None = None) -> str | None:
  """Why flock on the filesystem holding `path` is local to each node (so processes on two
  nodes could both hold a workdir's lock), from its mount in /proc/mounts (or the text
  `mounts`); None where it is cluster-wide, local to one machine anyway, or unknown."""
  if mounts is None:
    try:
      with open("/proc/mounts") as f:
        mounts = f.read()
    except OSError:
      return None
  target, best = os.path.realpath(path), None
  for line in mounts.splitlines():
    fields = line.split()
    if len(fields) < 4:
      continue
    point = _unescape(fields[1])
    inside = target == point or target.startswith(point.rstrip("/") + "/")
    if inside and (best is None or len(point) > len(best[0])):
      best = (point, fields[2], fields[3].split(","))
  if best is None:
    return None
  point, fstype, options = best
  where = f"{point} is {fstype}"
  if fstype.startswith("nfs"):
    local = [o for o in options if o in ("local_lock=flock", "local_lock=all", "nolock")]
    return f"{where} mounted with {local[0]}: flock is local to each node" if local else None
  if fstype == "lustre" and "localflock" in options:
    return f"{where} mounted with localflock: flock is local to each node"
  if fstype == "beegfs":
    return (f"{where}: flock is local to each node unless every client sets "
            "tuneUseGlobalFileLocks")
  if fstype.startswith("fuse."):
    return f"{where} (FUSE): its locks are local to each node"
  return None

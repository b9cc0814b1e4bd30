"""One writer per workdir: an OS lock (`fcntl.flock`) on `workdir/genjax.lock`, which holds the
writer's host and pid for the message.

The kernel releases the lock when its holder dies, however it dies (SIGKILL, a node lost, a
preempted cluster job), so a rerun or a requeued job on another host takes the workdir over with
a warning naming the old holder, while a live holder anywhere keeps it: a second process stops
with one line naming that holder's host and pid. On NFS (v4 and later) Linux maps flock onto the
server's byte-range locks, so this holds across the hosts of a cluster. The lock file itself is
never deleted: a process that opened it just before a delete would lock a file nobody else sees.
"""

import atexit
import fcntl
import json
import os
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

"""One writer per workdir: `workdir/genjax.lock` holds the writer's pid and host.

A second process stops with one line; a lock left by a dead process on this host is taken over
with a warning; a lock held on another host is left alone (its holder cannot be checked from
here).
"""

import atexit
import json
import os
import socket

from absl import logging

from genjax.errors import UserError

LOCK_FILE = "genjax.lock"


def _lock_holder(path: str) -> dict | None:
  try:
    with open(path) as f:
      holder = json.load(f)
    return holder if isinstance(holder, dict) else {}
  except FileNotFoundError:
    return None
  except (OSError, json.JSONDecodeError):  # cut short by a kill mid-write
    return {}


def held_by_this_process(path: str) -> bool:
  holder = _lock_holder(path) or {}
  return holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # someone else's live process
    return True
  return True


def acquire_lock(workdir: str) -> str:
  """Takes `workdir/genjax.lock` for this process (re-entrant); returns its path."""
  path = os.path.join(str(workdir), LOCK_FILE)
  me = {"pid": os.getpid(), "host": socket.gethostname()}
  for _ in range(3):
    try:
      fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      fd = None
    if fd is not None:
      with os.fdopen(fd, "w") as f:
        json.dump(me, f)
      atexit.register(release_lock, path)
      return path
    holder = _lock_holder(path)
    if holder is None:  # released meanwhile
      continue
    if holder == me:
      return path
    same_host = holder.get("host") == me["host"]
    if same_host and isinstance(holder.get("pid"), int) and _alive(holder["pid"]):
      raise UserError(f"workdir {workdir} is in use by process {holder['pid']} on "
                      f"{holder['host']} ({path}); wait for it or use another --workdir")
    if holder and not same_host:
      raise UserError(f"workdir {workdir} is in use by process {holder.get('pid')} on host "
                      f"{holder.get('host')} ({path}); if no run is going on there, delete "
                      "that file")
    logging.warning("taking over %s left by process %s, which is no longer running", path,
                    holder.get("pid", "?"))
    os.remove(path)
  raise UserError(f"could not take the lock {path}; another process keeps taking it")


def release_lock(path: str) -> None:
  """Removes the lock if this process holds it."""
  if held_by_this_process(path):
    try:
      os.remove(path)
    except FileNotFoundError:
      pass

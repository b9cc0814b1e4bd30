"""Moving a run, or some of its files, aside: renamed to `<path>.old-N`, never deleted.

`genjax.identity.check_workdir` does this on --restart (a run, an entry or a results.json of
another config) and when num_steps grows (the old length's results).
"""

import os

from genjax.workdir_lock import LOCK_FILE, held_by_this_process


def _aside_name(path: str) -> str:
  """The first free `<path>.old-N`, N from 1."""
  n = 1
  while os.path.exists(f"{path}.old-{n}"):
    n += 1
  return f"{path}.old-{n}"


def move_run_aside(workdir: str) -> str:
  """Renames the workdir to <workdir>.old-N and makes a fresh one; our lock comes back along."""
  aside = _aside_name(workdir)
  ours = held_by_this_process(os.path.join(workdir, LOCK_FILE))
  os.rename(workdir, aside)
  os.makedirs(workdir)
  if ours:  # the open descriptor holds the lock: the file comes back, still locked
    os.rename(os.path.join(aside, LOCK_FILE), os.path.join(workdir, LOCK_FILE))
  return aside


def move_files_aside(workdir: str, names: list[str]) -> list[str]:
  """Renames each of the workdir's files `names` that exists to its `.old-N`; the new paths."""
  moved = []
  for name in names:
    path = os.path.join(workdir, name)
    if os.path.exists(path):
      target = _aside_name(path)
      os.rename(path, target)
      moved.append(target)
  return moved

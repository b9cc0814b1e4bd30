"""Atomic checkpoints with orbax's CheckpointManager, restored with clear errors, and healed.

A checkpoint that cannot be read (truncated, corrupted, partly deleted) is moved aside to
`<directory>.corrupt/` (outside orbax's folder, so neither its step listing nor its `max_to_keep`
clean-up ever sees it) and the newest readable one is restored instead. A checkpoint written by a
different config is the user's mistake, not corruption: it stops the run and stays where it is.
"""

import errno
import os
import re
import zlib

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

from genjax.errors import DiskFull, UserError

# Keys of orbax's per-step custom metadata (written inside the step folder, so atomic with it).
_CHECKSUM = "genjax_crc32"
_USER = "genjax_metadata"


class UnreadableCheckpoint(UserError):
  """A checkpoint's files are damaged; an older checkpoint may still be good."""

  def __init__(self, where: str, reason: str):
    super().__init__(f"checkpoint {where} {reason}; delete it or use a new --workdir")
    self.summary = f"checkpoint {where} {reason}"


class Checkpointer:
  """Keeps the last `max_to_keep` checkpoints of a state pytree under `directory`.

  orbax writes each step to a temporary folder and renames it when complete, so a run killed
  mid-save leaves the previous checkpoint intact; the temporary folder is cleaned up on restart.
  A CRC32 of the arrays is saved with each step: a flipped byte in an array file restores
  without any error from orbax or tensorstore (seen with orbax 0.12.8), the checksum catches it.
  """

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True,
        enable_async_checkpointing=False)
    # A handler named up front lets a fresh manager read a checkpoint's metadata before restoring.
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_handlers=ocp.StandardCheckpointHandler())
    # orbax deletes leftover temporary folders in a background thread and awaits it only before
    # its own first save. A Checkpointer that only reads would leave that thread running, and
    # one made beside a live writer (a test reading the latest step between saves) had it delete
    # the writer's next save mid-write (tensorstore NOT_FOUND, once in CI). Finish it here.
    self._manager._maybe_await_cleanup_tmp_directory()

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state, metadata: dict | None = None) -> None:
    """Saves `state` at `step`, with `metadata` (JSON-able) written atomically beside it."""
    custom = {_USER: dict(metadata or {})}
    checksum = _checksum(state)
    if checksum is not None:
      custom[_CHECKSUM] = checksum
    try:
      self._manager.save(step, args=ocp.args.StandardSave(state), force=True,
                         custom_metadata=custom)
      self._manager.wait_until_finished()
    except Exception as e:  # noqa: BLE001 - orbax and tensorstore wrap OSError in many types
      where = os.path.join(self.directory, str(step))
      if _is_disk_full(e):
        raise DiskFull(f"could not write checkpoint {where} ({_first_line(e)}); free space and "
                       f"rerun: it resumes from the last complete checkpoint (step "
                       f"{self.latest_step()})" if self.latest_step() is not None else
                       f"could not write checkpoint {where} ({_first_line(e)}); free space and "
                       "rerun (no complete checkpoint yet)") from None
      if _is_not_writable(e):
        raise UserError(f"cannot write checkpoint {where} ({_first_line(e)}); use a --workdir "
                        "you can write to") from None
      raise

  def metadata(self, step: int) -> dict | None:
    """The `metadata` saved with `step`; None if it has none or it cannot be read."""
    return self._custom_metadata(step).get(_USER)

  def restore(self, step: int, template):
    """Restores `step` into the structure, shapes and dtypes of `template`.

    Raises UnreadableCheckpoint for damaged files, UserError for a checkpoint of another model.
    """
    where = os.path.join(self.directory, str(step))
    try:
      saved = self._manager.item_metadata(step)
    except Exception as e:  # noqa: BLE001 - any failure here means an unreadable checkpoint
      raise UnreadableCheckpoint(where, f"is unreadable ({_first_line(e)})") from None
    if saved is None or not jax.tree.leaves(saved):  # its item folder or _METADATA is gone
      raise UnreadableCheckpoint(where, "is unreadable (no array metadata)")
    _check_matches(saved, template, where)
    try:
      restored = self._manager.restore(step, args=ocp.args.StandardRestore(template))
    except Exception as e:  # noqa: BLE001
      raise UnreadableCheckpoint(where, f"cannot be restored ({_first_line(e)})") from None
    expected = self._custom_metadata(step).get(_CHECKSUM)
    # A restore cast to other dtypes (a config change orbax allows) has other bytes: not checked.
    saved_paths = _leaves_by_path(saved)
    same_dtypes = all(getattr(saved_paths[path], "dtype", None) == getattr(leaf, "dtype", None)
                      for path, leaf in _leaves_by_path(restored).items())
    if expected is not None and same_dtypes and _checksum(restored) not in (None, expected):
      raise UnreadableCheckpoint(where, "is corrupted (its arrays do not match the checksum "
                                 "saved with them)")
    return restored

  def restore_latest(self, template) -> tuple[int, object] | None:
    """(step, state) of the newest readable checkpoint, or None when there is none.

    Newer unreadable checkpoints are moved aside, each with a one-line warning. When none is
    readable nothing is moved (a rerun must not quietly start from scratch): the newest one's
    error is raised.
    """
    failures = []
    for step in reversed(self.all_steps()):
      try:
        state = self.restore(step, template)
      except UnreadableCheckpoint as e:
        failures.append((step, e))
        continue
      for bad_step, error in failures:
        moved_to = self._move_aside(bad_step)
        logging.warning("%s; moved it to %s, resuming from step %d", error.summary, moved_to,
                        step)
      if failures:
        self._manager.reload()
      return step, state
    if not failures:
      return None
    step, error = failures[0]
    if len(failures) > 1:
      raise UserError(f"{error} (no older checkpoint in {self.directory} is readable either)")
    raise error

  def close(self) -> None:
    self._manager.close()

  def _custom_metadata(self, step: int) -> dict:
    try:
      custom = self._manager.metadata(step).custom_metadata
    except Exception:  # noqa: BLE001 - damaged step metadata: the arrays may still be fine
      return {}
    return custom if isinstance(custom, dict) else {}

  def _move_aside(self, step: int) -> str:
    """Renames a damaged step folder into `<directory>.corrupt/`; never deletes it."""
    aside = self.directory + ".corrupt"
    target = os.path.join(aside, str(step))
    n = 0
    while os.path.exists(target):
      n += 1
      target = os.path.join(aside, f"{step}-{n}")
    if jax.process_index() == 0:
      os.makedirs(aside, exist_ok=True)
      os.rename(os.path.join(self.directory, str(step)), target)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices(f"genjax_checkpoint_move_aside_{step}")
    return target


def _first_line(error: Exception) -> str:
  """The error's first line without reprs of bound methods (pybind11 puts them in messages)."""
  text = str(error).splitlines()[0] if str(error) else ""
  text = re.sub(r"<(bound|built-in) method [^>]*>", "", text)
  text = " ".join(text.replace(";", ",").split())  # ';' separates our own message's parts
  return f"{type(error).__name__}: {text[:300]}"


def _errnos(error: BaseException) -> set:
  """errno values of the error and of the errors it was raised from."""
  found, seen = set(), set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno is not None:
      found.add(error.errno)
    error = error.__cause__ or error.__context__
  return found


def _is_disk_full(error: Exception) -> bool:
  return bool(_errnos(error) & {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}) or any(
      text in str(error) for text in ("No space left", "Disk quota", "File too large"))


def _is_not_writable(error: Exception) -> bool:
  return bool(_errnos(error) & {errno.EROFS, errno.EACCES, errno.EPERM}) or any(
      text in str(error) for text in ("Read-only file system", "Permission denied"))


def _checksum(state) -> int | None:
  """CRC32 of every leaf's bytes in path order; None if a leaf is not on this process alone."""
  crc = 0
  for path, leaf in sorted(_leaves_by_path(state).items()):
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
      return None
    data = np.ascontiguousarray(np.asarray(leaf))
    crc = zlib.crc32(path.encode(), crc)
    crc = zlib.crc32(data.reshape(-1).view(np.uint8), crc)
  return crc


def _leaves_by_path(tree) -> dict:
  """Leaves keyed by a path string that reads the same for a NamedTuple field and a dict key
  (checkpoint metadata stores optax's NamedTuple states as dicts)."""

  def name(entry):
    for attribute in ("name", "key", "idx"):
      if hasattr(entry, attribute):
        return str(getattr(entry, attribute))
    return str(entry)

  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {"/".join(name(e) for e in path): leaf for path, leaf in leaves}


def _check_matches(saved, template, where: str) -> None:
  saved_paths, template_paths = _leaves_by_path(saved), _leaves_by_path(template)
  missing = sorted(set(template_paths) - set(saved_paths))
  extra = sorted(set(saved_paths) - set(template_paths))
  if missing or extra:
    detail = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
    raise UserError(f"checkpoint {where} does not match this model ({detail}); it was written "
                    "by a different config: use a new --workdir")
  for path, leaf in template_paths.items():
    saved_shape = tuple(getattr(saved_paths[path], "shape", ()) or ())
    if saved_shape != tuple(np.shape(leaf)):
      raise UserError(f"checkpoint {where} does not match this model: {path} has shape "
                      f"{saved_shape} in the checkpoint, {tuple(np.shape(leaf))} in the model; "
                      "use a new --workdir")

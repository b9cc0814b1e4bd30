"""Atomic checkpoints with orbax's CheckpointManager, and restoring them with clear errors."""

import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from genjax.errors import UserError


class Checkpointer:
  """Keeps the last `max_to_keep` checkpoints of a state pytree under `directory`.

  orbax writes each step to a temporary folder and renames it when complete, so a run killed
  mid-save leaves the previous checkpoint intact; the temporary folder is cleaned up on restart.
  """

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True,
        enable_async_checkpointing=False)
    # A handler named up front lets a fresh manager read a checkpoint's metadata before restoring.
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_handlers=ocp.StandardCheckpointHandler())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state) -> None:
    self._manager.save(step, args=ocp.args.StandardSave(state), force=True)
    self._manager.wait_until_finished()

  def restore(self, step: int, template):
    """Restores `step` into the structure, shapes and dtypes of `template`."""
    where = os.path.join(self.directory, str(step))
    try:
      saved = self._manager.item_metadata(step)
    except Exception as e:  # noqa: BLE001 - any failure here means an unreadable checkpoint
      raise UserError(f"checkpoint {where} is unreadable ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}); delete it or use a new "
                      "--workdir") from None
    _check_matches(saved, template, where)
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(template))
    except Exception as e:  # noqa: BLE001
      raise UserError(f"checkpoint {where} cannot be restored ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}); delete it or use a new "
                      "--workdir") from None

  def close(self) -> None:
    self._manager.close()


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

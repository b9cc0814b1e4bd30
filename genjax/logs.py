"""Run logs, written by process 0 only: workdir/config.json, workdir/metrics.jsonl, the
evaluation records workdir/evals/<name>.jsonl and, optionally, TensorBoard event files under
workdir/tensorboard (through tensorboardX, which needs no TensorFlow).

TensorBoard gets one folder per model (`tensorboard/<model>/`, from the metric's name
`<model>/<key>`) with plain tags (`loss`, `eval/modes`), as the flax examples write one run per
folder: AE and VAE, or GAN and PacGAN, are runs of one chart that TensorBoard overlays. Each
folder also holds the run's config as hyperparameters.
"""

import collections
import contextlib
import errno
import json
import os
from collections.abc import Mapping

import jax
import numpy as np
from ml_collections import ConfigDict

from genjax.errors import DiskFull, UserError


def is_main_process() -> bool:
  return jax.process_index() == 0


def _jsonable(value):
  if isinstance(value, (jax.Array, np.ndarray, np.generic)):
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()
  if isinstance(value, Mapping):
    return {k: _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  return value


def _scalar(value) -> float | None:
  """A number for TensorBoard: scalars as they are, per-seed arrays as their mean; else None."""
  if isinstance(value, bool):
    return float(value)
  try:
    array = np.asarray(value)
  except (TypeError, ValueError):  # ragged lists, e.g. occupied modes per seed
    return None
  if array.size == 0 or array.dtype.kind not in "biuf":
    return None
  return float(array.mean())


def config_to_dict(config: ConfigDict) -> dict:
  return json.loads(config.to_json_best_effort())


def _hparams(config: ConfigDict) -> dict:
  """The config as TensorBoard hyperparameters: numbers, bools and strings as they are, the
  rest (tuples, None) as text."""
  return {k: v if isinstance(v, (bool, int, float, str)) else json.dumps(v)
          for k, v in sorted(config_to_dict(config).items())}


class MetricsWriter:
  """Appends one JSON object per logged step; a no-op on processes other than 0.

  With `tensorboard`, every numeric metric of `write` and `write_eval` also goes to TensorBoard
  under workdir/tensorboard; an array metric (one value per seed) is written as its mean, the
  per-seed values stay in metrics.jsonl and evals/<name>.jsonl. A run opens it through
  `genjax.workdir.Workdir.open`, which first locks the workdir and checks its identity.
  """

  def __init__(self, workdir: str, tensorboard: bool = False, config: ConfigDict | None = None):
    self.workdir = str(workdir)
    self.tensorboard = tensorboard
    self.enabled = is_main_process()
    self._file = None
    self._summaries = {}  # model -> its TensorBoard FileWriter
    self._hparams = _hparams(config) if config is not None else {}

  def _open(self) -> None:
    """Opens metrics.jsonl on first use."""
    if self._file is not None or not self.enabled:
      return
    with writing(os.path.join(self.workdir, "metrics.jsonl")):
      make_folder(self.workdir)
      self._file = open(os.path.join(self.workdir, "metrics.jsonl"), "a")

  def _summary(self, model: str):
    """The model's TensorBoard writer, made (with the config as hyperparameters) on first use."""
    if model not in self._summaries:
      # Imported here so that runs without TensorBoard never load it.
      from tensorboardX import FileWriter
      from tensorboardX.summary import hparams

      # FileWriter, not SummaryWriter.add_scalar: one event per logged step instead of one per
      # scalar, 20x fewer hand-offs to the writer thread. flush_secs: a killed run loses at most
      # this many seconds of curves (metrics.jsonl, flushed every write, keeps them all).
      writer = FileWriter(os.path.join(self.workdir, "tensorboard", model), flush_secs=30)
      if self._hparams:
        for summary in hparams(self._hparams, {}):
          writer.add_summary(summary)
      self._summaries[model] = writer
    return self._summaries[model]

  def write(self, step: int, metrics: Mapping) -> None:
    if self.enabled:
      self._open()
      record = {"step": int(step), **{k: _jsonable(v) for k, v in metrics.items()}}
      with writing(self._file.name):
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
      self._write_scalars(step, metrics)

  def write_eval(self, name: str, step: int, record: Mapping) -> None:
    """Puts one evaluation record (see `append_eval`) on TensorBoard: `eval/<key>` in the
    folder of model `name`."""
    if self.enabled:
      self._open()
      self._write_scalars(step, {f"{name}/eval/{k}": v for k, v in record.items()
                                 if k != "step"})

  def _write_scalars(self, step: int, metrics: Mapping) -> None:
    """`<model>/<tag>` goes to the model's folder as `<tag>` (a name without a model: "run")."""
    if not self.tensorboard:
      return
    from tensorboardX import summary

    values = collections.defaultdict(list)
    for name, value in metrics.items():
      number = _scalar(value)
      if number is not None:
        model, _, tag = name.partition("/") if "/" in name else ("run", "", name)
        values[model].extend(summary.scalar(tag, number).value)
    for model, model_values in values.items():
      self._summary(model).add_summary(summary.Summary(value=model_values),
                                       global_step=int(step))

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
      self._file = None
    for writer in self._summaries.values():
      writer.close()
    self._summaries = {}


# errno values that mean "this file cannot be written here", not a bug: one line, no traceback.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextlib.contextmanager
def writing(path: str):
  """Turns a full disk or a read-only place into one line naming `path`."""
  try:
    yield
  except OSError as e:
    where = e.filename or path
    if e.errno in DISK_FULL:
      raise DiskFull(f"could not write {where}: {e.strerror} (disk full?); free space and rerun, "
                     "the run resumes from its last complete checkpoint") from None
    if e.errno in NOT_WRITABLE:
      raise UserError(f"cannot write {where}: {e.strerror}; use a --workdir you can write "
                      "to") from None
    raise


# errno values of os.makedirs that mean "no folder can be made at this path": a file where the
# path needs a folder (ENOTDIR, EEXIST), or a place that takes no new folders (ENOENT: /proc).
NO_FOLDER_HERE = (errno.ENOTDIR, errno.EEXIST, errno.ENOENT)


def make_folder(path: str) -> None:
  """os.makedirs(path, exist_ok=True) for a folder the user named (a --workdir): a path where no
  folder can be made, a read-only place or a full disk is one line naming it, not a traceback."""
  with writing(path):
    try:
      os.makedirs(path, exist_ok=True)
    except OSError as e:
      if e.errno not in NO_FOLDER_HERE:
        raise
      why = ("a file stands where it needs a folder" if e.errno != errno.ENOENT
             else "no folder can be made there")
      raise UserError(f"cannot make the folder {path}: {e.strerror} ({why}); use another "
                      "--workdir") from None


def read_metrics(workdir: str) -> list[dict]:
  """Reads metrics.jsonl back, one dict per step; a record replayed after a resume overwrites."""
  by_step = {}
  path = os.path.join(workdir, "metrics.jsonl")
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        if line.strip():
          record = json.loads(line)
          by_step.setdefault(record["step"], {}).update(record)
  return [by_step[s] for s in sorted(by_step)]


def evals_path(workdir: str, name: str) -> str:
  return os.path.join(str(workdir), "evals", f"{name}.jsonl")


def append_eval(workdir: str, name: str, record: Mapping) -> None:
  """Appends one evaluation record (it has a "step") to workdir/evals/<name>.jsonl (process 0)."""
  if not is_main_process():
    return
  path = evals_path(workdir, name)
  try:
    line = json.dumps(_jsonable(dict(record)), allow_nan=True)
  except (TypeError, ValueError) as e:
    raise UserError(f"the evaluation of {name!r} at step {record.get('step')} is not JSON-able "
                    f"({e}); return numbers or lists of numbers") from None
  with writing(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
      f.write(line + "\n")


def read_evals(workdir: str, name: str) -> list[dict]:
  """workdir/evals/<name>.jsonl sorted by step, one record per step (the last one written wins).

  A line cut short by a kill mid-write is skipped: that evaluation is simply redone.
  """
  by_step = {}
  path = evals_path(workdir, name)
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:
          continue
        if isinstance(record, dict) and "step" in record:
          by_step[int(record["step"])] = record
  return [by_step[s] for s in sorted(by_step)]

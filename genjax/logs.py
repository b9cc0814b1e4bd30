"""Run logs: workdir/config.json and workdir/metrics.jsonl, written by process 0 only."""

import json
import os
from collections.abc import Mapping

import jax
import numpy as np
from ml_collections import ConfigDict


def is_main_process() -> bool:
  return jax.process_index() == 0


def _jsonable(value):
  if isinstance(value, (jax.Array, np.ndarray, np.generic)):
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else value.tolist()
  return value


def config_to_dict(config: ConfigDict) -> dict:
  return json.loads(config.to_json_best_effort())


class MetricsWriter:
  """Appends one JSON object per logged step; a no-op on processes other than 0."""

  def __init__(self, workdir: str, tensorboard: bool = False):
    self.workdir = workdir
    self.tensorboard = tensorboard  # also write TensorBoard event files under workdir/tensorboard
    self.enabled = is_main_process()
    self._file = None
    if self.enabled:
      os.makedirs(workdir, exist_ok=True)
      self._file = open(os.path.join(workdir, "metrics.jsonl"), "a")

  def write_config(self, config: ConfigDict) -> None:
    if self.enabled:
      with open(os.path.join(self.workdir, "config.json"), "w") as f:
        json.dump(config_to_dict(config), f, indent=2, sort_keys=True)

  def write(self, step: int, metrics: Mapping) -> None:
    if self.enabled:
      record = {"step": int(step), **{k: _jsonable(v) for k, v in metrics.items()}}
      self._file.write(json.dumps(record) + "\n")
      self._file.flush()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
      self._file = None


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

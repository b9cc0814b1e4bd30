"""Run logs: evaluation records, and TensorBoard event files written without TensorFlow."""

import glob
import os
import struct
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from genjax import logs, parallel
from genjax.errors import UserError
from genjax.loop import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _events(path):
  from tensorboardX.proto import event_pb2

  with open(path, "rb") as f:
    data = f.read()
  offset = 0
  while offset < len(data):
    (length,) = struct.unpack("<Q", data[offset:offset + 8])
    yield event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
    offset += 12 + length + 4  # length, its crc, the record, its crc


def _read_scalars(workdir) -> dict:
  """{"<model folder>/<tag>": [(step, value)]} from the event files of
  workdir/tensorboard/<model>/ (hyperparameter summaries, which have no scalar, left out)."""
  scalars = {}
  for path in sorted(glob.glob(os.path.join(str(workdir), "tensorboard", "*", "events.out.*"))):
    model = os.path.basename(os.path.dirname(path))
    for event in _events(path):
      for value in event.summary.value:
        if not value.tag.startswith("_hparams_"):
          scalars.setdefault(f"{model}/{value.tag}", []).append((event.step, value.simple_value))
  return scalars


def test_read_evals_sorts_by_step_and_the_last_record_of_a_step_wins(tmp_path):
  for record in ({"step": 20, "modes": [8, 7]}, {"step": 0, "modes": [1, 1]},
                 {"step": 20, "modes": [8, 8]}):
    logs.append_eval(tmp_path, "gan", record)
  with open(logs.evals_path(tmp_path, "gan"), "a") as f:
    f.write('{"step": 40, "mo')  # a line cut short by a kill
  assert logs.read_evals(tmp_path, "gan") == [{"step": 0, "modes": [1, 1]},
                                              {"step": 20, "modes": [8, 8]}]
  assert logs.read_evals(tmp_path, "other") == []


def test_append_eval_rejects_what_json_cannot_hold(tmp_path):
  with pytest.raises(UserError, match=r"evaluation of 'gan' at step 5 is not JSON-able"):
    logs.append_eval(tmp_path, "gan", {"step": 5, "samples": object()})
  assert logs.read_evals(tmp_path, "gan") == []


def test_tensorboard_gets_every_numeric_scalar_and_per_seed_means(tmp_path):
  writer = logs.MetricsWriter(tmp_path, tensorboard=True)
  writer.write(10, {"train/loss": np.float32(0.5), "train/loss_S": np.array([1.0, 2.0, 4.0]),
                    "train/steps_per_sec": 12.5, "train/name": "text is skipped"})
  writer.write(20, {"train/loss": jnp.asarray(0.25)})
  writer.write_eval("gan", 20, {"step": 20, "train_seconds": 3.0, "modes": [8, 6],
                                "occupied_modes": [[0, 1], [2]]})
  writer.close()
  scalars = _read_scalars(tmp_path)
  assert scalars["train/loss"] == [(10, 0.5), (20, 0.25)]
  assert scalars["train/loss_S"] == [(10, pytest.approx(7 / 3))]
  assert scalars["train/steps_per_sec"] == [(10, 12.5)]
  assert scalars["gan/eval/modes"] == [(20, 7.0)]
  assert scalars["gan/eval/train_seconds"] == [(20, 3.0)]
  assert "train/name" not in scalars and "gan/eval/occupied_modes" not in scalars
  assert logs.read_metrics(tmp_path)[0]["train/loss_S"] == [1.0, 2.0, 4.0]  # JSONL unchanged


def test_the_trainer_puts_its_evaluations_on_tensorboard(tmp_path):
  dp = parallel.data_parallel("none")

  def step(state, batch, key):
    return {"w": state["w"] + 1.0}, {"loss": state["w"]}

  writer = logs.MetricsWriter(tmp_path, tensorboard=True,
                              config=ConfigDict({"lr": 0.1, "widths": (2, 3), "name": "x"}))
  with Trainer("toy", {"w": jnp.zeros(())}, dp.compile(step), devices=dp, key=jax.random.key(0),
               workdir=str(tmp_path), config=ConfigDict({"log_every": 3, "checkpoint_every": 6}),
               num_steps=6, eval_steps=(0, 3, 6), writer=writer) as trainer:
    for stop in trainer.eval_steps:
      trainer.train_to(stop)
      trainer.record_eval(stop, {"w": trainer.device_state["w"]})
  writer.close()
  scalars = _read_scalars(tmp_path)
  assert scalars["toy/eval/w"] == [(0, 0.0), (3, 3.0), (6, 6.0)]
  assert scalars["toy/loss"] == [(3, 2.0), (6, 5.0)]
  # One folder per model with plain tags, and the config as its hyperparameters.
  assert os.listdir(tmp_path / "tensorboard") == ["toy"]
  [events] = glob.glob(str(tmp_path / "tensorboard" / "toy" / "events.out.*"))
  tags = {v.tag for event in _events(events) for v in event.summary.value}
  assert {"loss", "eval/w", "_hparams_/experiment", "_hparams_/session_start_info"} <= tags
  start = next(v for event in _events(events) for v in event.summary.value
               if v.tag == "_hparams_/session_start_info")
  content = start.metadata.plugin_data.content
  assert b"widths" in content and b"[2, 3]" in content


def test_each_model_gets_its_own_tensorboard_folder_so_the_charts_overlay(tmp_path):
  writer = logs.MetricsWriter(tmp_path, tensorboard=True)
  writer.write(1, {"ae/loss": 2.0, "vae_beta1/loss": 3.0, "steps_per_sec": 9.0})
  writer.write_eval("vae_beta1", 1, {"step": 1, "nll": 4.0})
  writer.close()
  assert sorted(os.listdir(tmp_path / "tensorboard")) == ["ae", "run", "vae_beta1"]
  assert _read_scalars(tmp_path) == {"ae/loss": [(1, 2.0)], "vae_beta1/loss": [(1, 3.0)],
                                     "run/steps_per_sec": [(1, 9.0)],
                                     "vae_beta1/eval/nll": [(1, 4.0)]}


def test_off_writes_no_events_and_other_processes_write_nothing(tmp_path, monkeypatch):
  writer = logs.MetricsWriter(tmp_path / "off")
  writer.write(1, {"loss": 1.0})
  writer.close()
  assert os.listdir(tmp_path / "off") == ["metrics.jsonl"]
  monkeypatch.setattr(logs, "is_main_process", lambda: False)
  writer = logs.MetricsWriter(tmp_path / "worker", tensorboard=True)
  writer.write(1, {"loss": 1.0})
  writer.write_eval("gan", 1, {"step": 1, "modes": 3})
  writer.close()
  logs.append_eval(tmp_path / "worker", "gan", {"step": 1})
  assert not os.path.exists(tmp_path / "worker")


def test_tensorboard_loads_neither_tensorflow_nor_itself_when_off(tmp_path):
  script = textwrap.dedent(f'''
      import sys
      from genjax import logs
      off = logs.MetricsWriter({str(tmp_path / "off")!r})
      off.write(1, {{"loss": 1.0}})
      assert "tensorboardX" not in sys.modules
      on = logs.MetricsWriter({str(tmp_path / "on")!r}, tensorboard=True)
      on.write(1, {{"loss": 1.0}})
      on.close()
      assert "tensorboardX" in sys.modules
      loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tensorboard"))
      assert not loaded, loaded
  ''')
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
  result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
  assert glob.glob(str(tmp_path / "on" / "tensorboard" / "run" / "events.out.*"))

"""The training core: segments, resume, checkpoints, evaluations and their clock, non-finite stop,
a signal between segments (real processes killed: tests/test_loop_restarts.py)."""

import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from genjax import logs, parallel, seeds
from genjax.checkpoint import Checkpointer
from genjax.loop import Trainer, TrainingDiverged


def _toy_step(dp, blow_up_at=None, diagnostics=False):
  def step(state, batch, key):
    noise = jax.random.normal(jax.random.fold_in(key, state["step"]))
    w = state["w"] - 0.1 * (state["w"] - batch["x"].mean()) + 0.01 * noise
    if blow_up_at is not None:
      w = jnp.where(state["step"] + 1 >= blow_up_at, jnp.nan, w)
    metrics = {"loss": jnp.abs(w)}
    if diagnostics:
      metrics["noise"] = noise
    return {"step": state["step"] + 1, "w": w}, metrics

  return dp.compile(step)


def _get_batch(s):
  return {"x": np.full((4,), s, np.float32)}


def _trainer(workdir, num_steps, train_step=None, *, dp=None, eval_steps=(), get_batch=_get_batch,
             log_step=None, writer=None, **config):
  dp = dp or parallel.data_parallel("none")
  return Trainer("train", {"step": jnp.zeros((), jnp.int32), "w": jnp.zeros(())},
                 train_step or _toy_step(dp), devices=dp, key=jax.random.key(0),
                 workdir=str(workdir), num_steps=num_steps,
                 config=ConfigDict({"log_every": 5, "checkpoint_every": 10, **config}),
                 eval_steps=eval_steps, get_batch=get_batch, log_step=log_step, writer=writer)


def _run(workdir, num_steps, blow_up_at=None):
  """Trains to num_steps in one go; returns the final host state."""
  dp = parallel.data_parallel("none")
  writer = logs.MetricsWriter(str(workdir))
  with _trainer(workdir, num_steps, _toy_step(dp, blow_up_at), dp=dp, writer=writer) as trainer:
    trainer.train_to(num_steps)
    final = trainer.host_state()
  writer.close()
  return final


def test_resume_in_process_equals_uninterrupted(tmp_path):
  straight = _run(tmp_path / "a", 30)
  _run(tmp_path / "b", 20)
  resumed = _run(tmp_path / "b", 30)
  assert int(resumed["step"]) == 30
  assert float(resumed["w"]) == float(straight["w"])
  strip = lambda rows: [{k: v for k, v in r.items() if "steps_per_sec" not in k} for r in rows]  # noqa: E731
  assert strip(logs.read_metrics(tmp_path / "b")) == strip(logs.read_metrics(tmp_path / "a"))


def test_training_in_segments_equals_one_go_and_compiles_once(tmp_path):
  straight = _run(tmp_path / "a", 30)
  dp = parallel.data_parallel("none")
  compiled, reached = _toy_step(dp), []
  with _trainer(tmp_path / "b", 30, compiled, dp=dp) as trainer:
    for stop in (0, 7, 7, 20, 30):
      trainer.train_to(stop)
      reached.append(int(trainer.device_state["step"]))
    final = trainer.host_state()
  assert reached == [0, 7, 7, 20, 30] and int(final["step"]) == trainer.step == 30
  assert float(final["w"]) == float(straight["w"])
  assert compiled.num_traces() == 1


def test_rerunning_a_finished_training_compiles_nothing(tmp_path):
  first = _run(tmp_path, 10)
  dp = parallel.data_parallel("none")
  compiled, compiles = _toy_step(dp), []

  def listener(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(event)

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    with _trainer(tmp_path, 10, compiled, dp=dp) as trainer:
      trainer.train_to(10)
      final = trainer.host_state()
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert compiles == [] and compiled.num_traces() == 0
  assert float(final["w"]) == float(first["w"]) and int(final["step"]) == 10


def test_a_checkpoint_follows_every_checkpoint_interval_and_the_last_step(tmp_path):
  latest = []
  with _trainer(tmp_path, 25) as trainer:
    for stop in (5, 10, 15, 20, 25):
      trainer.train_to(stop)  # returns right after the checkpoint of its last step, if any
      latest.append(Checkpointer(str(tmp_path / "checkpoints" / "train")).latest_step())
  assert latest == [None, 10, 10, 20, 25]


def test_log_step_runs_on_logging_steps_only(tmp_path):
  dp = parallel.data_parallel("none")
  plain, with_diagnostics = _toy_step(dp), _toy_step(dp, diagnostics=True)
  writer = logs.MetricsWriter(str(tmp_path))
  with _trainer(tmp_path, 12, plain, dp=dp, log_step=with_diagnostics, writer=writer) as trainer:
    trainer.train_to(12)
    final = trainer.host_state()
  writer.close()
  rows = logs.read_metrics(tmp_path)
  assert [r["step"] for r in rows] == [5, 10, 12]  # the last step logs too
  assert all("train/noise" in r for r in rows)
  assert plain.num_traces() == 1 and with_diagnostics.num_traces() == 1
  assert float(final["w"]) == float(_run(tmp_path / "without", 12)["w"])


def test_non_finite_loss_names_step_and_last_checkpoint(tmp_path):
  with pytest.raises(TrainingDiverged, match=r"at step 17; the last good checkpoint is step 10"):
    _run(tmp_path, 30, blow_up_at=17)


def test_non_finite_loss_before_any_checkpoint_says_there_is_none(tmp_path):
  with pytest.raises(TrainingDiverged, match=r"at step 3; no checkpoint was saved before it"):
    _run(tmp_path, 30, blow_up_at=3)


def test_a_signal_during_an_evaluation_saves_where_training_stands(tmp_path):
  handler = signal.getsignal(signal.SIGTERM)
  with pytest.raises(SystemExit) as exit_info, _trainer(tmp_path, 30) as trainer:
    trainer.train_to(5)  # no checkpoint yet: the first is at 10
    os.kill(os.getpid(), signal.SIGTERM)  # arrives while the caller evaluates
    trainer.train_to(10)
  assert exit_info.value.code == 128 + signal.SIGTERM
  assert Checkpointer(str(tmp_path / "checkpoints" / "train")).all_steps() == [5]
  assert signal.getsignal(signal.SIGTERM) is handler  # put back once the training ends
  resumed = _run(tmp_path, 30)
  assert float(resumed["w"]) == float(_run(tmp_path / "straight", 30)["w"])


# ---- evaluations ----


class _Crash(Exception):
  """Stands for a process killed between two checkpoints."""


def _eval_run(workdir, num_steps=30, eval_at=(0, 5, 15, 30), crash_at=None, sleep_below=None,
              eval_sleep=0.0, checkpoint_every=10, writer=None):
  """Runs the toy loop with evaluations; returns (final state, [(step, state step) evaluated])."""
  evaluated = []

  def get_batch(s):
    if s == crash_at:
      raise _Crash
    if sleep_below is not None and s < sleep_below:
      time.sleep(0.2)  # training time the clock must count
    return _get_batch(s)

  def evaluate(step, state):
    evaluated.append((step, int(state["step"])))
    time.sleep(eval_sleep)  # evaluation time the clock must not count
    return {"w": state["w"], "w_twice": [float(state["w"])] * 2}

  with _trainer(workdir, num_steps, get_batch=get_batch, eval_steps=eval_at, writer=writer,
                checkpoint_every=checkpoint_every) as trainer:
    for stop in trainer.eval_steps:
      trainer.train_to(stop)
      if trainer.should_evaluate(stop):
        trainer.record_eval(stop, evaluate(stop, trainer.device_state))
    trainer.train_to(num_steps)
    final = trainer.host_state()
  return final, evaluated


def test_evaluations_at_the_given_steps_see_that_steps_state(tmp_path):
  final, evaluated = _eval_run(tmp_path)
  assert evaluated == [(0, 0), (5, 5), (15, 15), (30, 30)]
  records = logs.read_evals(tmp_path, "train")
  assert [r["step"] for r in records] == [0, 5, 15, 30]
  assert records[-1]["w"] == float(final["w"]) and records[-1]["w_twice"] == [records[-1]["w"]] * 2
  assert all(r["train_seconds"] >= 0 for r in records)
  # Evaluating between segments changes nothing: the run ends as one without evaluations.
  assert float(final["w"]) == float(_run(tmp_path / "plain", 30)["w"])
def test_resume_skips_recorded_evaluations_and_ends_the_same(tmp_path):
  straight, _ = _eval_run(tmp_path / "a")
  with pytest.raises(_Crash):
    _eval_run(tmp_path / "b", crash_at=17)  # after the eval at 15, before the checkpoint at 20
  final, evaluated = _eval_run(tmp_path / "b")  # resumes at 10, replays 15 without evaluating
  assert evaluated == [(30, 30)]
  assert float(final["w"]) == float(straight["w"])
  drop_time = lambda rows: [{k: v for k, v in r.items() if k != "train_seconds"} for r in rows]  # noqa: E731
  assert drop_time(logs.read_evals(tmp_path / "b", "train")) == drop_time(
      logs.read_evals(tmp_path / "a", "train"))
  with open(logs.evals_path(tmp_path / "b", "train")) as f:
    assert len(f.readlines()) == 4  # nothing recomputed, nothing written twice


def test_the_clock_carries_the_training_before_a_restart(tmp_path):
  with pytest.raises(_Crash):
    _eval_run(tmp_path, eval_at=(0, 30), crash_at=17, sleep_below=10)  # 2 s before step 10
  carried = Checkpointer(str(tmp_path / "checkpoints" / "train")).metadata(10)
  assert carried["seconds_since_eval"] >= 2.0
  began = time.perf_counter()
  _eval_run(tmp_path, eval_at=(0, 30))
  second_process = time.perf_counter() - began
  seconds = {r["step"]: r["train_seconds"] for r in logs.read_evals(tmp_path, "train")}
  # Without the carried clock the eval at 30 would count only (part of) the second run.
  assert seconds[30] > second_process, (seconds, second_process)
  assert seconds[30] >= carried["seconds_since_eval"]


def test_evaluation_time_is_not_training_time(tmp_path):
  _, evaluated = _eval_run(tmp_path, num_steps=2, eval_at=(0, 1, 2), eval_sleep=1.5,
                           checkpoint_every=100)
  assert [s for s, _ in evaluated] == [0, 1, 2]
  seconds = [r["train_seconds"] for r in logs.read_evals(tmp_path, "train")]
  assert max(seconds) < 1.5, seconds  # one toy step each (the first compiles)


def test_a_checkpoint_without_a_clock_warns_once_and_counts_zero(tmp_path, caplog):
  Checkpointer(str(tmp_path / "checkpoints" / "train")).save(
      10, {"step": np.asarray(10, np.int32), "w": np.asarray(0.5, np.float32)})  # no metadata
  with caplog.at_level("WARNING"):
    _, evaluated = _eval_run(tmp_path, eval_at=(20, 30))
  clock_warnings = [r for r in caplog.records if "no training clock" in r.getMessage()]
  assert len(clock_warnings) == 1 and "step 10" in clock_warnings[0].getMessage()
  assert evaluated == [(20, 20), (30, 30)]


def test_an_eval_step_lost_before_the_checkpoint_is_named(tmp_path, caplog):
  _eval_run(tmp_path, num_steps=20, eval_at=(0, 5, 20))
  os.remove(logs.evals_path(tmp_path, "train"))
  with caplog.at_level("WARNING"):
    _, evaluated = _eval_run(tmp_path, num_steps=20, eval_at=(0, 5, 20))
  assert evaluated == [(20, 20)]  # the final state, restored from its checkpoint
  assert any("no evaluation recorded at steps [0, 5]" in r.getMessage() for r in caplog.records)


def test_vmapped_seeds_are_evaluated_with_their_seed_axis(tmp_path):
  sp = seeds.seed_parallel(3, "none")

  def step(state, batch, key):
    return {"w": state["w"] + jax.random.normal(jax.random.fold_in(key, 0))}, {"loss": state["w"]}

  compiled, shapes = sp.compile(step), []
  with Trainer("train", {"w": jnp.zeros((3,))}, compiled, devices=sp,
               key=jax.random.split(jax.random.key(0), 3), workdir=str(tmp_path),
               config=ConfigDict({"log_every": 2, "checkpoint_every": 2}), num_steps=4,
               eval_steps=(0, 4)) as trainer:
    for stop in (0, 4):
      trainer.train_to(stop)
      state_S = trainer.device_state
      shapes.append(state_S["w"].shape)
      trainer.record_eval(stop, {"w": np.asarray(state_S["w"])})
  assert shapes == [(3,), (3,)]
  assert len(logs.read_evals(tmp_path, "train")[1]["w"]) == 3
  assert compiled.num_traces() == 1


def test_each_batch_is_made_once_in_step_order_across_evaluations(tmp_path):
  """The next step's batch is made while the step computes (prefetch), never twice or ahead of
  its turn: across segments and evaluations each step's batch is asked for once, in order."""
  asked = []

  def get_batch(s):
    asked.append(s)
    return _get_batch(s)

  with _trainer(tmp_path, 30, get_batch=get_batch, eval_steps=(0, 5, 15, 30)) as trainer:
    for stop in trainer.eval_steps:
      trainer.train_to(stop)
    final = trainer.host_state()
  assert asked == list(range(30))
  assert float(final["w"]) == float(_run(tmp_path / "plain", 30)["w"])


def test_a_batch_that_fails_stops_before_its_step_and_a_retry_ends_the_same(tmp_path):
  """A failing batch (say, a data read) is raised with the trainer at the step before it, though
  the loop asks for it during that step: a caller who catches it and trains on ends the same."""
  broken = {7}  # step 7's batch fails until the caller mends it

  def get_batch(s):
    if s in broken:
      raise OSError("read failed")
    return _get_batch(s)

  with _trainer(tmp_path, 30, get_batch=get_batch) as trainer:
    with pytest.raises(OSError):
      trainer.train_to(30)
    assert trainer.step == 7
    broken.clear()
    trainer.train_to(30)
    final = trainer.host_state()
  assert float(final["w"]) == float(_run(tmp_path / "plain", 30)["w"])

"""The training loop: resume, evaluations and their clock, non-finite stop, checkpoint mismatch,
SIGKILL and SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import logs, parallel, seeds
from genjax.checkpoint import Checkpointer
from genjax.errors import UserError
from genjax.loop import TrainingDiverged, train_loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _run(workdir, num_steps, blow_up_at=None, on_save=None):
  dp = parallel.make("none")
  state = {"step": jnp.zeros((), jnp.int32), "w": jnp.zeros(())}
  writer = logs.MetricsWriter(str(workdir))
  final = train_loop(
      state=state, train_step=_toy_step(dp, blow_up_at),
      get_batch=lambda s: {"x": np.full((4,), s, np.float32)}, num_steps=num_steps,
      workdir=str(workdir), key=jax.random.key(0), dp=dp, log_every=5, checkpoint_every=10,
      writer=writer, on_save=on_save)
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


def test_on_save_follows_every_checkpoint(tmp_path):
  saved = []

  def on_save(step):
    assert Checkpointer(str(tmp_path / "checkpoints" / "train")).latest_step() == step
    saved.append(step)

  _run(tmp_path, 25, on_save=on_save)
  assert saved == [10, 20, 25]


def test_log_step_runs_on_logging_steps_only(tmp_path):
  dp = parallel.make("none")
  state = {"step": jnp.zeros((), jnp.int32), "w": jnp.zeros(())}
  plain, with_diagnostics = _toy_step(dp), _toy_step(dp, diagnostics=True)
  writer = logs.MetricsWriter(str(tmp_path))
  final = train_loop(
      state=state, train_step=plain, log_step=with_diagnostics,
      get_batch=lambda s: {"x": np.full((4,), s, np.float32)}, num_steps=12,
      workdir=str(tmp_path), key=jax.random.key(0), dp=dp, log_every=5, checkpoint_every=10,
      writer=writer)
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


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(5, {"w": np.zeros((3,), np.float32)})
  with pytest.raises(UserError, match=r"w has shape \(3,\) in the checkpoint, \(4,\)"):
    checkpointer.restore(5, {"w": np.zeros((4,), np.float32)})
  with pytest.raises(UserError, match="does not match this model"):
    checkpointer.restore(5, {"v": np.zeros((3,), np.float32)})


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(5, {"w": np.zeros((3,), np.float32)})
  checkpointer.close()
  for root, _, files in os.walk(tmp_path / "5"):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"garbage")
  with pytest.raises(UserError, match="checkpoint .*5 (is unreadable|cannot be restored)"):
    Checkpointer(str(tmp_path)).restore(5, {"w": np.zeros((3,), np.float32)})


# ---- evaluations ----


class _Crash(Exception):
  """Stands for a process killed between two checkpoints."""


def _eval_run(workdir, num_steps=30, eval_at=(0, 5, 15, 30), crash_at=None, sleep_below=None,
              eval_sleep=0.0, checkpoint_every=10, writer=None):
  """Runs the toy loop with evaluations; returns (final state, [(step, state step) evaluated])."""
  dp = parallel.make("none")
  evaluated = []

  def get_batch(s):
    if s == crash_at:
      raise _Crash
    if sleep_below is not None and s < sleep_below:
      time.sleep(0.2)  # training time the clock must count
    return {"x": np.full((4,), s, np.float32)}

  def on_eval(step, state):
    evaluated.append((step, int(state["step"])))
    time.sleep(eval_sleep)  # evaluation time the clock must not count
    return {"w": state["w"], "w_twice": [float(state["w"])] * 2}

  final = train_loop(
      state={"step": jnp.zeros((), jnp.int32), "w": jnp.zeros(())}, train_step=_toy_step(dp),
      get_batch=get_batch, num_steps=num_steps, workdir=str(workdir), key=jax.random.key(0),
      dp=dp, log_every=5, checkpoint_every=checkpoint_every, writer=writer, eval_at=eval_at,
      on_eval=on_eval)
  return final, evaluated


def test_evaluations_at_the_given_steps_see_that_steps_state(tmp_path):
  final, evaluated = _eval_run(tmp_path)
  assert evaluated == [(0, 0), (5, 5), (15, 15), (30, 30)]
  records = logs.read_evals(tmp_path, "train")
  assert [r["step"] for r in records] == [0, 5, 15, 30]
  assert records[-1]["w"] == float(final["w"]) and records[-1]["w_twice"] == [records[-1]["w"]] * 2
  assert all(r["train_seconds"] >= 0 for r in records)


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
  sp = seeds.make(3, "none")

  def step(state, batch, key):
    return {"w": state["w"] + jax.random.normal(jax.random.fold_in(key, 0))}, {"loss": state["w"]}

  shapes = []

  def on_eval(s, state_S):
    shapes.append(state_S["w"].shape)
    return {"w": np.asarray(state_S["w"])}

  train_loop(state={"w": jnp.zeros((3,))}, train_step=sp.compile(step), get_batch=None,
             num_steps=4, workdir=str(tmp_path), key=jax.random.split(jax.random.key(0), 3),
             dp=sp, log_every=2, checkpoint_every=2, eval_at=(0, 4), on_eval=on_eval)
  assert shapes == [(3,), (3,)]
  assert len(logs.read_evals(tmp_path, "train")[1]["w"]) == 3


@pytest.mark.parametrize("eval_at, on_eval, message", [
    ((0, 31), lambda s, st: {}, r"eval_at step 31 is outside \[0, num_steps=30\]"),
    ((-1,), lambda s, st: {}, r"eval_at step -1 is outside"),
    ((2.5,), lambda s, st: {}, r"eval_at must hold step numbers, got 2.5"),
    ((0,), None, r"eval_at=\[0\] needs an on_eval callback"),
    ((0,), lambda s, st: 3.0, r"on_eval at step 0 must return a dict"),
    ((0,), lambda s, st: {"step": 1}, r"without the keys 'step' and 'train_seconds'"),
    ((0,), lambda s, st: {"x": object()}, r"evaluation of 'train' at step 0 is not JSON-able"),
])
def test_bad_evaluation_arguments_are_one_line_errors(tmp_path, eval_at, on_eval, message):
  dp = parallel.make("none")
  with pytest.raises(UserError, match=message):
    train_loop(state={"step": jnp.zeros((), jnp.int32), "w": jnp.zeros(())},
               train_step=_toy_step(dp), get_batch=lambda s: {"x": np.zeros((4,), np.float32)},
               num_steps=30, workdir=str(tmp_path), key=jax.random.key(0), dp=dp, log_every=5,
               checkpoint_every=10, eval_at=eval_at, on_eval=on_eval)


# ---- a real process, killed ----

TINY = ["--config.betas=1", "--config.train_autoencoder=False", "--config.hidden=16",
        "--config.latents=2", "--config.num_steps=600", "--config.checkpoint_every=50",
        "--config.log_every=50", "--config.iwae_samples=20", "--config.iwae_chunk=10",
        "--config.classifier_steps=50", "--config.make_plots=False",
        "--config.interpolation_pairs=2", "--config.num_generated=50", "--config.parallel=none"]


def _vae_command(workdir):
  return [sys.executable, os.path.join(ROOT, "experiments", "vae.py"), f"--workdir={workdir}",
          *TINY]


def _env():
  return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1"}


def _wait_for_checkpoint(workdir, at_least, process, timeout=120):
  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  deadline = time.time() + timeout
  while time.time() < deadline:
    steps = [int(d) for d in os.listdir(folder) if d.isdigit()] if os.path.isdir(folder) else []
    if steps and max(steps) >= at_least:
      return
    assert process.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.05)
  raise AssertionError("no checkpoint appeared")


def _final(workdir):
  params = Checkpointer(os.path.join(workdir, "checkpoints", "vae_beta1")).restore(
      600, _template(workdir))
  with open(os.path.join(workdir, "results.json")) as f:
    results = json.load(f)
  rows = [{k: v for k, v in r.items() if "steps_per_sec" not in k}
          for r in logs.read_metrics(workdir)]
  return params, results, rows


def _template(workdir):
  import orbax.checkpoint as ocp

  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  metadata = ocp.CheckpointManager(
      folder, item_handlers=ocp.StandardCheckpointHandler()).item_metadata(600)
  return jax.tree.map(lambda m: np.zeros(m.shape, m.dtype), metadata)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  return _final(workdir)


def _assert_same(final, reference):
  for got, want in zip(jax.tree.leaves(final[0]), jax.tree.leaves(reference[0]), strict=True):
    np.testing.assert_array_equal(got, want)  # bitwise on CPU
  assert final[1] == reference[1]
  assert final[2] == reference[2]


@pytest.mark.slow
def test_sigkill_then_restart_ends_bitwise_identical(tmp_path, uninterrupted):
  workdir = str(tmp_path)
  process = subprocess.Popen(_vae_command(workdir), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  _wait_for_checkpoint(workdir, 150, process)
  process.send_signal(signal.SIGKILL)
  process.wait()
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  _assert_same(_final(workdir), uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])  # preemption, Ctrl-C
def test_sigterm_and_sigint_save_a_checkpoint_then_resume(tmp_path, uninterrupted, signum):
  workdir = str(tmp_path)
  process = subprocess.Popen(_vae_command(workdir), env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  _wait_for_checkpoint(workdir, 50, process)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=60)
  assert process.returncode == 128 + signum, stderr[-2000:]  # 143 and 130, as a shell reports
  assert f"{signal.Signals(signum).name} at step" in stderr
  assert "Traceback" not in stderr
  subprocess.run(_vae_command(workdir), check=True, env=_env(), capture_output=True)
  _assert_same(_final(workdir), uninterrupted)

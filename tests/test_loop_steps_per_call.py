"""Several train steps per compiled call: the numbers of one step per call; the loop's one-line
errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from genjax import devices, logs, seeds
from genjax.errors import UserError
from genjax.loop import Trainer, TrainingDiverged

NUM_SEEDS = 2


def _self_feeding_step(nan_loss_at=None):
  """A per-seed step that samples its data from the key; its loss is NaN at step `nan_loss_at`
  only (the state stays finite), so only a check of every step's loss can see it."""

  def step(state, batch, key):
    del batch
    x = jax.random.normal(jax.random.fold_in(key, state["step"]), (4,))
    w = state["w"] - 0.1 * (state["w"] - x.mean())
    loss = jnp.abs(w)
    if nan_loss_at is not None:
      loss = jnp.where(state["step"] + 1 == nan_loss_at, jnp.nan, loss)
    return {"step": state["step"] + 1, "w": w}, {"loss": loss, "x_mean": x.mean()}

  return step


def _run(workdir, num_steps, steps_per_call, *, log_every=10, checkpoint_every=10,
         eval_at=(0, 10, 20), nan_loss_at=None, get_batch=None):
  seed_parallel = seeds.seed_parallel(NUM_SEEDS, "none")
  compiled = seed_parallel.compile(
      devices.steps_in_one_call(_self_feeding_step(nan_loss_at), steps_per_call))
  state = {"step": jnp.zeros((NUM_SEEDS,), jnp.int32), "w": jnp.zeros((NUM_SEEDS,))}
  config = ConfigDict({"log_every": log_every, "checkpoint_every": checkpoint_every,
                       "steps_per_call": steps_per_call})
  writer = logs.MetricsWriter(str(workdir))
  with Trainer("train", state, compiled, devices=seed_parallel, get_batch=get_batch,
               key=seeds.seed_keys(0, NUM_SEEDS), workdir=str(workdir), config=config,
               num_steps=num_steps, eval_steps=[p for p in eval_at if p <= num_steps],
               writer=writer) as trainer:
    for stop in [*trainer.eval_steps, num_steps]:
      trainer.train_to(stop)
      if trainer.should_evaluate(stop):
        trainer.record_eval(stop, {"w": np.asarray(trainer.device_state["w"]).tolist()})
    final = trainer.host_state()
  writer.close()
  return final, compiled


def _strip(rows):
  return [{k: v for k, v in r.items() if "steps_per_sec" not in k} for r in rows]


def test_steps_per_call_gives_the_numbers_of_one_step_per_call(tmp_path):
  one, one_compiled = _run(tmp_path / "one", 20, 1)
  five, five_compiled = _run(tmp_path / "five", 20, 5)
  assert one_compiled.num_traces() == five_compiled.num_traces() == 1
  np.testing.assert_array_equal(five["w"], one["w"])
  np.testing.assert_array_equal(five["step"], [20, 20])
  # Logs, evaluations and checkpoints fall on the same steps and hold the same numbers.
  assert _strip(logs.read_metrics(tmp_path / "five")) == _strip(logs.read_metrics(tmp_path / "one"))
  strip_clock = lambda rows: [{k: v for k, v in r.items() if k != "train_seconds"} for r in rows]  # noqa: E731
  assert (strip_clock(logs.read_evals(tmp_path / "five", "train"))
          == strip_clock(logs.read_evals(tmp_path / "one", "train")))
  assert [r["step"] for r in logs.read_evals(tmp_path / "five", "train")] == [0, 10, 20]


def test_resume_with_steps_per_call_ends_where_an_uninterrupted_run_ends(tmp_path):
  straight, _ = _run(tmp_path / "a", 20, 5)
  _run(tmp_path / "b", 10, 5)
  resumed, _ = _run(tmp_path / "b", 20, 5)
  np.testing.assert_array_equal(resumed["w"], straight["w"])


def test_a_non_finite_loss_inside_a_call_stops_the_loop(tmp_path):
  # Nothing was saved before step 5 (the first checkpoint is at 10): the error says so.
  with pytest.raises(TrainingDiverged, match=r"steps 1-5; no checkpoint was saved before it"):
    _run(tmp_path, 20, 5, nan_loss_at=3)


@pytest.mark.parametrize("overrides, message", [
    ({"log_every": 7}, "log_every=7 must be a multiple of steps_per_call=5"),
    ({"checkpoint_every": 12}, "checkpoint_every=12 must be a multiple of steps_per_call=5"),
    ({"eval_at": (0, 8)}, r"eval_steps=\[0, 8\] must be a multiple of steps_per_call=5"),
    ({"get_batch": lambda step: {}}, "needs steps that sample their own data"),
])
def test_misaligned_steps_per_call_is_a_one_line_error(tmp_path, overrides, message):
  with pytest.raises(UserError, match=message):
    _run(tmp_path, 20, 5, **overrides)


def test_resuming_from_a_step_that_is_not_a_multiple_is_a_one_line_error(tmp_path):
  _run(tmp_path, 6, 1, log_every=2, checkpoint_every=3, eval_at=())
  with pytest.raises(UserError, match="checkpoint at step 6 .* not a multiple of steps_per_call=4"):
    _run(tmp_path, 20, 4, log_every=4, checkpoint_every=4, eval_at=())
  with pytest.raises(UserError, match="steps_per_call must be a positive integer"):
    _run(tmp_path, 20, 0)


def _trainer(workdir, eval_steps, num_steps=30):
  sp = seeds.seed_parallel(NUM_SEEDS, "none")
  state = {"step": jnp.zeros((NUM_SEEDS,), jnp.int32), "w": jnp.zeros((NUM_SEEDS,))}
  return Trainer("train", state, sp.compile(_self_feeding_step()), devices=sp,
                 key=seeds.seed_keys(0, NUM_SEEDS), workdir=str(workdir), num_steps=num_steps,
                 config=ConfigDict({"log_every": 5, "checkpoint_every": 10}), eval_steps=eval_steps)


@pytest.mark.parametrize("eval_steps, message", [
    ((0, 31), r"eval step 31 is not a step in \[0, num_steps=30\]"),
    ((-1,), r"eval step -1 is not a step in"),
    ((2.5,), r"eval step 2.5 is not a step in"),
    ((True,), r"eval step True is not a step in"),
])
def test_bad_evaluation_steps_are_one_line_errors(tmp_path, eval_steps, message):
  with pytest.raises(UserError, match=message):
    _trainer(tmp_path, eval_steps)


@pytest.mark.parametrize("result, message", [
    (3.0, r"the evaluation at step 0 must be a dict"),
    ({"step": 1}, r"without the keys 'step' and 'train_seconds'"),
    ({"x": object()}, r"evaluation of 'train' at step 0 is not JSON-able"),
])
def test_bad_evaluation_results_are_one_line_errors(tmp_path, result, message):
  with pytest.raises(UserError, match=message), _trainer(tmp_path, (0,)) as trainer:
    trainer.train_to(0)
    trainer.record_eval(0, result)


def test_evaluations_out_of_place_are_one_line_errors(tmp_path):
  with _trainer(tmp_path, (0, 10)) as trainer:
    with pytest.raises(UserError, match=r"record_eval\(10\) needs train_to\(10\) first"):
      trainer.record_eval(10, {})
    trainer.train_to(5)
    assert not trainer.should_evaluate(10) and not trainer.should_evaluate(5)
    with pytest.raises(UserError, match=r"record_eval\(5\)"):
      trainer.record_eval(5, {})  # not an eval step
    trainer.train_to(10)
    trainer.record_eval(10, {})
    assert not trainer.should_evaluate(10)
    with pytest.raises(UserError, match=r"record_eval\(10\)"):
      trainer.record_eval(10, {})  # once
    with pytest.raises(UserError, match=r"train_to\(31\) must stop .* up to num_steps=30"):
      trainer.train_to(31)

"""The training loop shared by every experiment: resume, step, log, evaluate, checkpoint, stop
cleanly.

Resume order: the workdir's newest readable checkpoint (newer damaged ones are moved aside, see
checkpoint.py), else the state passed in (step 0). Batches and keys are functions of the step
number, so a resumed run replays exactly what an uninterrupted run would have seen, and ends
bitwise-identical on CPU.
"""

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from genjax import logs
from genjax.checkpoint import Checkpointer
from genjax.errors import UserError
from genjax.parallel import DataParallel


class TrainingDiverged(UserError):
  """The loss became NaN or infinite."""


class _StopSignals:
  """Turns SIGTERM (preemption on TPU VMs and Colab) and SIGINT (Ctrl-C) into a flag the loop
  checks after each step: it saves a checkpoint and exits with 128 + the signal's number. A
  second Ctrl-C interrupts at once (KeyboardInterrupt), for a step that never ends."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.received = None  # the signal's number once one arrived
    self._previous = {}

  def __enter__(self):
    for signum in self.SIGNALS:
      try:
        self._previous[signum] = signal.signal(signum, self._handle)
      except ValueError:  # not the main thread (e.g. inside a notebook worker): no handler
        pass
    return self

  def _handle(self, signum, frame):
    if signum == signal.SIGINT and self.received == signal.SIGINT:
      raise KeyboardInterrupt
    self.received = signum

  def __exit__(self, *exc):
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)


class _TrainClock:
  """Training seconds since the last evaluation point, evaluation time excluded.

  Saved with every checkpoint, so that a run stopped and resumed counts the updates it made
  before the stop; updates made after the last checkpoint are lost with it and counted once,
  when replayed.
  """

  def __init__(self, carried: float = 0.0):
    self.carried, self.mark = carried, time.perf_counter()

  def seconds(self) -> float:
    return self.carried + time.perf_counter() - self.mark

  def reset(self) -> None:
    self.carried, self.mark = 0.0, time.perf_counter()


def steps_in_one_call(train_step: Callable, steps: int) -> Callable:
  """`steps` applications of `train_step` as one function (a lax.scan), for one compiled call.

  For steps that sample their own data from the key (the batch is passed to every step as it
  is). Each call then dispatches and syncs once instead of `steps` times, and XLA schedules the
  loop body as a whole (experiments/bench_gan.py measures the gain). Each step equals a lone
  step's up to the last ulps: XLA may fuse the loop body's reductions differently. The result is
  the last step's metrics, except that "loss" is NaN when any step's loss was not finite, so the
  loop still stops at a diverged call.
  """
  if steps == 1:
    return train_step

  def call(state, batch, key):
    state, metrics_K = jax.lax.scan(lambda s, _: train_step(s, batch, key), state, None,
                                    length=steps)
    metrics = jax.tree.map(lambda m: m[-1], metrics_K)
    metrics["loss"] = jnp.where(jnp.all(jnp.isfinite(metrics_K["loss"])), metrics["loss"],
                                jnp.nan)
    return state, metrics

  return call


def _check_steps_per_call(steps_per_call: int, get_batch, name: str, **every: Any) -> None:
  if not isinstance(steps_per_call, (int, np.integer)) or steps_per_call < 1:
    raise UserError(f"{name}: steps_per_call must be a positive integer, got {steps_per_call!r}")
  if steps_per_call == 1:
    return
  if get_batch is not None:
    raise UserError(f"{name}: steps_per_call={steps_per_call} needs steps that sample their own "
                    "data (get_batch=None): one call gets one batch")
  for what, value in every.items():
    off = [v for v in np.atleast_1d(value) if v % steps_per_call]
    if off:
      raise UserError(f"{name}: {what}={value} must be a multiple of steps_per_call="
                      f"{steps_per_call} (logs, checkpoints and evaluations happen between "
                      f"calls); set config.steps_per_call to a divisor")


def _check_eval_at(eval_at, on_eval, num_steps: int, name: str) -> set[int]:
  points = set()
  for point in eval_at:
    if isinstance(point, bool) or not isinstance(point, (int, np.integer)):
      raise UserError(f"{name}: eval_at must hold step numbers, got {point!r}")
    if not 0 <= point <= num_steps:
      raise UserError(f"{name}: eval_at step {point} is outside [0, num_steps={num_steps}]")
    points.add(int(point))
  if points and on_eval is None:
    raise UserError(f"{name}: eval_at={sorted(points)} needs an on_eval callback")
  return points


def train_loop(*, state, train_step: Callable, get_batch: Callable[[int], dict] | None,
               num_steps: int, log_step: Callable | None = None,
               workdir: str, key: jax.Array, dp: DataParallel, log_every: int,
               checkpoint_every: int, keep_checkpoints: int = 3,
               writer: logs.MetricsWriter | None = None, name: str = "train",
               on_save: Callable[[int], None] | None = None,
               eval_at: Iterable[int] = (),
               on_eval: Callable[[int, Any], dict] | None = None,
               steps_per_call: int = 1):
  """Runs `train_step` from the last checkpoint in `workdir` up to `num_steps`.

  Args:
    state: host state pytree at step 0 (also the template checkpoints are restored into).
    train_step: `dp.compile`d `(state, batch, key) -> (state, metrics)`; metrics has "loss".
    log_step: the same step with extra diagnostics in its metrics (e.g. gradient norms), run
      on logging steps only so that the other steps skip its cost; None: `train_step`.
    get_batch: step -> global batch (numpy); must depend on the step alone. None for steps
      that sample their own data from the key (they receive an empty batch).
    key: the run's base key; the step folds in the step number itself.
    writer: where logged metrics (and evaluations, on TensorBoard) go; None for no log file.
    name: prefix of the checkpoint folder and of workdir/evals/<name>.jsonl, so several
      trainings can share one workdir.
    on_save: called with the step right after each checkpoint is written (SIGTERM and SIGINT
      included),
      for host-side bookkeeping that must resume together with the checkpoint.
    eval_at: steps after which to call `on_eval`; 0 is the initial state.
    on_eval: `(step, device_state) -> dict` of numbers or lists of numbers; device_state is the
      compiled step's own (a leading seed axis for vmapped seeds) and must not be donated. The
      loop appends `{"step", "train_seconds", **result}` to workdir/evals/<name>.jsonl, where
      train_seconds counts training since the previous eval point across restarts; a step
      already in that file is not evaluated again. Read them with `logs.read_evals`.
    steps_per_call: train steps one call of `train_step` (and `log_step`) advances, e.g. a
      `steps_in_one_call` step; needs get_batch=None, and every log, checkpoint and eval step,
      num_steps and the step resumed from must be multiples of it.

  Returns:
    The final host state.
  """
  points = _check_eval_at(eval_at, on_eval, num_steps, name)
  _check_steps_per_call(steps_per_call, get_batch, name, num_steps=num_steps,
                        log_every=log_every, checkpoint_every=checkpoint_every,
                        eval_at=sorted(points))
  # Closed however the loop ends (error, SIGTERM exit, a callback's exception).
  with contextlib.closing(Checkpointer(os.path.join(workdir, "checkpoints", name),
                                      keep_checkpoints)) as checkpointer:
    restored = checkpointer.restore_latest(state)
    start = 0
    if restored is not None:
      start, state = restored
      logging.info("%s: resumed from step %d of %d (%s)", name, start, num_steps,
                   checkpointer.directory)
      if start % steps_per_call:
        raise UserError(f"{name}: the checkpoint at step {start} ({checkpointer.directory}) is "
                        f"not a multiple of steps_per_call={steps_per_call}; resume with a "
                        f"steps_per_call that divides {start} (1 always does)")
    recorded = {r["step"] for r in logs.read_evals(workdir, name)} if points else set()
    lost = sorted(p for p in points if p < start and p not in recorded)
    if lost:
      logging.warning("%s: no evaluation recorded at steps %s, before the step %d this run resumes "
                      "from (%s)", name, lost, start, logs.evals_path(workdir, name))
    clock = _TrainClock()
    if start and start not in points and any(p > start for p in points):
      saved = (checkpointer.metadata(start) or {}).get("seconds_since_eval")
      if saved is None:
        logging.warning("%s: no training clock saved with checkpoint step %d; the train_seconds of "
                        "the next evaluation do not count the updates before this restart", name,
                        start)
      clock = _TrainClock(float(saved or 0.0))

    def evaluate(step: int, device_state) -> None:
      seconds = clock.seconds()
      if step not in recorded:
        result = on_eval(step, device_state)
        if not isinstance(result, Mapping) or {"step", "train_seconds"} & set(result):
          raise UserError(f"{name}: on_eval at step {step} must return a dict without the keys "
                          f"'step' and 'train_seconds', got {type(result).__name__}")
        record = {"step": step, "train_seconds": seconds, **result}
        logs.append_eval(workdir, name, record)
        if writer is not None:
          writer.write_eval(name, step, record)
        recorded.add(step)
      # Also past a step evaluated before a restart: its train_seconds started there.
      clock.reset()

    if start >= num_steps:
      if start in points and start not in recorded:
        evaluate(start, dp.put_state(state))
      return state
    device_state = dp.put_state(state)
    if start in points:
      evaluate(start, device_state)
    last_saved = start if restored is not None else None
    interactive = sys.stderr.isatty() and logs.is_main_process()
    progress = None
    if interactive:
      from tqdm import tqdm
      progress = tqdm(total=num_steps, initial=start, desc=name, dynamic_ncols=True)
    window_start, window_steps = time.perf_counter(), 0
    with _StopSignals() as stop:
      for step in range(start, num_steps, steps_per_call):
        batch = dp.put_batch(get_batch(step)) if get_batch is not None else {}
        done = step + steps_per_call
        logs_now = done % log_every == 0 or done == num_steps
        step_fn = log_step if logs_now and log_step is not None else train_step
        device_state, metrics = step_fn(device_state, batch, key)
        # Fetching the loss every step syncs host and device: it lets us stop at the first
        # non-finite step, and avoids a hang of XLA's CPU all-reduce when many sharded steps
        # are queued without waiting (seen with jax 0.10 on fake CPU devices).
        loss = np.asarray(dp.first(metrics)["loss"])
        if not np.all(np.isfinite(loss)):
          steps = f"step {done}" if steps_per_call == 1 else f"steps {step + 1}-{done}"
          saved = (f"the last good checkpoint is step {last_saved} in {checkpointer.directory}"
                   if last_saved is not None else "no checkpoint was saved before it")
          raise TrainingDiverged(f"{name}: loss is {loss.tolist()} at {steps}; {saved}")
        window_steps += steps_per_call
        if progress is not None:
          progress.update(steps_per_call)
        if logs_now:
          elapsed = time.perf_counter() - window_start
          record = {k: np.asarray(v) for k, v in dp.first(metrics).items()}
          record["steps_per_sec"] = window_steps / max(elapsed, 1e-9)
          if writer is not None:
            writer.write(done, {f"{name}/{k}": v for k, v in record.items()})
          if progress is not None:
            progress.set_postfix(loss=float(np.mean(loss)))
          else:
            logging.info("%s step %d/%d: loss %.4f, %.1f steps/s", name, done, num_steps,
                         float(np.mean(loss)), record["steps_per_sec"])
          window_start, window_steps = time.perf_counter(), 0
        if done in points:
          # Before the checkpoint: a checkpoint at an eval point implies its record exists.
          began = time.perf_counter()
          evaluate(done, device_state)
          window_start += time.perf_counter() - began  # steps_per_sec counts training only
        if done % checkpoint_every == 0 or done == num_steps or stop.received:
          checkpointer.save(done, dp.get_state(device_state),
                            metadata={"seconds_since_eval": clock.seconds()})
          last_saved = done
          if on_save is not None:
            on_save(done)
        if stop.received:
          logging.warning("%s: %s at step %d; checkpoint saved, exiting", name,
                          signal.Signals(stop.received).name, done)
          if progress is not None:
            progress.close()
          raise SystemExit(128 + stop.received)
    if progress is not None:
      progress.close()
    return jax.device_get(dp.get_state(device_state))

"""The training loop shared by every experiment: resume, step, log, checkpoint, stop cleanly.

Resume order: the workdir's latest checkpoint, else the state passed in (step 0). Batches and
keys are functions of the step number, so a resumed run replays exactly what an uninterrupted
run would have seen, and ends bitwise-identical on CPU.
"""

import os
import signal
import sys
import time
from collections.abc import Callable

import jax
import numpy as np
from absl import logging

from genjax import logs
from genjax.checkpoint import Checkpointer
from genjax.errors import UserError
from genjax.parallel import DataParallel


class TrainingDiverged(UserError):
  """The loss became NaN or infinite."""


class _SigtermFlag:
  """Turns SIGTERM (preemption on TPU VMs and Colab) into a flag the loop checks each step."""

  def __init__(self):
    self.received = False
    self._previous = None

  def __enter__(self):
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    except ValueError:  # not the main thread (e.g. inside a notebook worker): no handler
      self._previous = None
    return self

  def _handle(self, signum, frame):
    self.received = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def train_loop(*, state, train_step: Callable, get_batch: Callable[[int], dict] | None,
               num_steps: int, log_step: Callable | None = None,
               workdir: str, key: jax.Array, dp: DataParallel, log_every: int,
               checkpoint_every: int, keep_checkpoints: int = 3,
               writer: logs.MetricsWriter | None = None, name: str = "train",
               on_save: Callable[[int], None] | None = None):
  """Runs `train_step` from the last checkpoint in `workdir` up to `num_steps`.

  Args:
    state: host state pytree at step 0 (also the template checkpoints are restored into).
    train_step: `dp.compile`d `(state, batch, key) -> (state, metrics)`; metrics has "loss".
    log_step: the same step with extra diagnostics in its metrics (e.g. gradient norms), run
      on logging steps only so that the other steps skip its cost; None: `train_step`.
    get_batch: step -> global batch (numpy); must depend on the step alone. None for steps
      that sample their own data from the key (they receive an empty batch).
    key: the run's base key; the step folds in the step number itself.
    writer: where logged metrics go (metrics.jsonl); None for no log file.
    name: prefix of the checkpoint folder, so several trainings can share one workdir.
    on_save: called with the step right after each checkpoint is written (SIGTERM included),
      for host-side bookkeeping that must resume together with the checkpoint.

  Returns:
    The final host state.
  """
  checkpointer = Checkpointer(os.path.join(workdir, "checkpoints", name), keep_checkpoints)
  start = checkpointer.latest_step() or 0
  if start:
    state = checkpointer.restore(start, state)
    logging.info("%s: resumed from step %d of %d (%s)", name, start, num_steps,
                 checkpointer.directory)
  if start >= num_steps:
    checkpointer.close()
    return state
  device_state = dp.put_state(state)
  last_saved = start
  interactive = sys.stderr.isatty() and logs.is_main_process()
  progress = None
  if interactive:
    from tqdm import tqdm
    progress = tqdm(total=num_steps, initial=start, desc=name, dynamic_ncols=True)
  window_start, window_steps = time.perf_counter(), 0
  with _SigtermFlag() as sigterm:
    for step in range(start, num_steps):
      batch = dp.put_batch(get_batch(step)) if get_batch is not None else {}
      done = step + 1
      logs_now = done % log_every == 0 or done == num_steps
      step_fn = log_step if logs_now and log_step is not None else train_step
      device_state, metrics = step_fn(device_state, batch, key)
      # Fetching the loss every step syncs host and device: it lets us stop at the first
      # non-finite step, and avoids a hang of XLA's CPU all-reduce when many sharded steps
      # are queued without waiting (seen with jax 0.10 on fake CPU devices).
      loss = np.asarray(dp.first(metrics)["loss"])
      if not np.all(np.isfinite(loss)):
        checkpointer.close()
        raise TrainingDiverged(
            f"{name}: loss is {loss.tolist()} at step {done}; the last good checkpoint is step "
            f"{last_saved} in {checkpointer.directory}")
      window_steps += 1
      if progress is not None:
        progress.update(1)
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
      if done % checkpoint_every == 0 or done == num_steps or sigterm.received:
        checkpointer.save(done, dp.get_state(device_state))
        last_saved = done
        if on_save is not None:
          on_save(done)
      if sigterm.received:
        checkpointer.close()
        logging.warning("%s: SIGTERM at step %d; checkpoint saved, exiting", name, done)
        raise SystemExit(128 + signal.SIGTERM)
  if progress is not None:
    progress.close()
  checkpointer.close()
  return jax.device_get(dp.get_state(device_state))

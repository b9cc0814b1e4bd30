"""The training core shared by every experiment: resume, step, log, checkpoint, stop cleanly.
Each experiment's own `train_and_evaluate` says where it evaluates:

  with loop.Trainer(name, state, train_step, devices=dp, key=key, workdir=workdir, config=config,
                    num_steps=config.num_steps, eval_steps=eval_steps, writer=writer) as trainer:
    for stop in eval_steps:
      trainer.train_to(stop)
      if trainer.should_evaluate(stop):  # False for a step evaluated before a restart
        trainer.record_eval(stop, evaluate(trainer.device_state))
    state = trainer.host_state()

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

import jax
import numpy as np
from absl import logging
from ml_collections import ConfigDict
from tqdm import tqdm

from genjax import logs
from genjax.checkpoint import Checkpointer
from genjax.devices import Devices
from genjax.errors import UserError


class TrainingDiverged(UserError):
  """The loss became NaN or infinite."""


class _StopSignals:
  """SIGTERM (preemption on TPU VMs, Colab) and SIGINT (Ctrl-C) become a flag checked after each
  step: save a checkpoint, exit with 128 + the signal. A second Ctrl-C interrupts at once."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.received, self._previous = None, {}  # received: the signal's number once one arrived

  def __enter__(self):
    for signum in self.SIGNALS:
      with contextlib.suppress(ValueError):  # not the main thread (a notebook worker): no handler
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def _handle(self, signum, frame):
    if signum == signal.SIGINT and self.received == signal.SIGINT:
      raise KeyboardInterrupt
    self.received = signum

  def __exit__(self, *exc):
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)


def _check_steps(name: str, num_steps: int, eval_steps: Iterable[int], steps_per_call,
                 get_batch, **every: int) -> list[int]:
  """The sorted eval steps; one-line errors for steps outside the run or between two calls."""
  points = set()
  for point in eval_steps:
    if (isinstance(point, bool) or not isinstance(point, (int, np.integer))
        or not 0 <= point <= num_steps):
      raise UserError(f"{name}: eval step {point!r} is not a step in [0, num_steps={num_steps}]")
    points.add(int(point))
  if not isinstance(steps_per_call, (int, np.integer)) or steps_per_call < 1:
    raise UserError(f"{name}: steps_per_call must be a positive integer, got {steps_per_call!r}")
  if steps_per_call > 1 and get_batch is not None:
    raise UserError(f"{name}: steps_per_call={steps_per_call} needs steps that sample their own "
                    "data (get_batch=None): one call gets one batch")
  every = {"num_steps": num_steps, **every, "eval_steps": sorted(points)}
  for what, value in every.items():
    if [v for v in np.atleast_1d(value) if v % steps_per_call]:
      raise UserError(f"{name}: {what}={value} must be a multiple of steps_per_call="
                      f"{steps_per_call} (logs, checkpoints and evaluations happen between "
                      f"calls); set config.steps_per_call to a divisor")
  return sorted(points)


class Trainer:
  """Trains one state (all its seeds) from its newest checkpoint, up to the steps asked for.

  Args:
    name: names the checkpoint folder and workdir/evals/<name>.jsonl (trainings share workdirs).
    state: host state pytree at step 0 (also the template checkpoints are restored into).
    train_step: `devices.compile`d `(state, batch, key) -> (state, metrics)`; metrics has "loss".
    devices: a `genjax.devices.Devices` (`parallel.DataParallel` or `seeds.SeedParallel`).
    key: the run's base key; the step folds in the step number itself.
    config: its log_every, checkpoint_every, keep_checkpoints (3) and steps_per_call (1: steps
      one call of `train_step` advances, e.g. a `devices.steps_in_one_call` step; needs
      get_batch=None, and every log, checkpoint and eval step, num_steps and a resumed step
      divide by it).
    num_steps: the last step; it is always logged and checkpointed.
    eval_steps: the steps the caller evaluates (0: the initial state); their `train_seconds`
      count training since the previous one across restarts, evaluation time excluded.
    get_batch: step -> global batch (numpy), a function of the step alone, called for the next
      step while the device computes this one; None: the step samples its own data from the key
      (it receives an empty batch).
    log_step: the step with extra diagnostics (e.g. gradient norms), run on logging steps only.
    writer: where logged metrics and evaluations go; None for no log file.
  """

  def __init__(self, name: str, state, train_step: Callable, *, devices: Devices,
               key: jax.Array, workdir: str, config: ConfigDict, num_steps: int,
               eval_steps: Iterable[int] = (), get_batch: Callable[[int], dict] | None = None,
               log_step: Callable | None = None, writer: logs.MetricsWriter | None = None):
    self.name, self.devices, self.workdir, self.writer = name, devices, workdir, writer
    self.num_steps, self._state, self._key, self._get_batch = num_steps, state, key, get_batch
    self._train_step, self._log_step = train_step, log_step or train_step
    self._log_every, self._checkpoint_every = config.log_every, config.checkpoint_every
    self._keep, self._per_call = config.get("keep_checkpoints", 3), config.get("steps_per_call", 1)
    self.eval_steps = _check_steps(name, num_steps, eval_steps, self._per_call, get_batch,
                                   log_every=self._log_every,
                                   checkpoint_every=self._checkpoint_every)

  def __enter__(self) -> "Trainer":
    with contextlib.ExitStack() as stack:  # undone at once if resuming fails
      self._checkpointer = stack.enter_context(contextlib.closing(Checkpointer(
          os.path.join(self.workdir, "checkpoints", self.name), self._keep)))
      self._resume()
      self._signals = stack.enter_context(_StopSignals())
      self._progress = None
      if sys.stderr.isatty() and logs.is_main_process():
        self._progress = tqdm(total=self.num_steps, initial=self.step, desc=self.name,
                              dynamic_ncols=True)
        stack.callback(self._progress.close)
      self._exits = stack.pop_all()
    return self

  def __exit__(self, exc_type, *exc) -> None:
    with self._exits:  # closed however the training ends
      if exc_type is None:
        self._exit_if_signalled()  # a signal that came during the last evaluation

  def train_to(self, stop: int) -> None:
    """Trains up to step `stop`; nothing when the run was resumed at or past it."""
    if stop > self.num_steps or stop % self._per_call:
      raise UserError(f"{self.name}: train_to({stop}) must stop at a multiple of steps_per_call="
                      f"{self._per_call} up to num_steps={self.num_steps}")
    self._mark = time.perf_counter()
    try:
      self._exit_if_signalled()  # a signal that came during an evaluation
      while self.step < stop:
        self._call()
    finally:
      self._trained, self._mark = self._training_seconds(), None

  @property
  def device_state(self):
    """The state as the compiled step holds it (a leading seed axis for seeds), to read, not to
    donate; placed on the devices when first asked for (a finished run's rerun compiles nothing)."""
    if self._device_state is None:
      self._device_state = self.devices.put_state(self._state)
    return self._device_state

  def should_evaluate(self, step: int) -> bool:
    """True when the run stands at eval step `step` and has no record of it yet."""
    return step == self.step and step in self.eval_steps and step not in self._recorded

  def record_eval(self, step: int, result: Mapping) -> None:
    """Appends `{"step", "train_seconds", **result}` (numbers, lists) to evals/<name>.jsonl."""
    if not self.should_evaluate(step):
      raise UserError(f"{self.name}: record_eval({step}) needs train_to({step}) first and an eval "
                      f"step not yet recorded (eval_steps={self.eval_steps})")
    if not isinstance(result, Mapping) or {"step", "train_seconds"} & set(result):
      raise UserError(f"{self.name}: the evaluation at step {step} must be a dict without the "
                      f"keys 'step' and 'train_seconds', got {type(result).__name__}")
    record = {"step": step, "train_seconds": self._seconds_since_eval(), **result}
    logs.append_eval(self.workdir, self.name, record)
    if self.writer is not None:
      self.writer.write_eval(self.name, step, record)
    self._recorded.add(step)

  def host_state(self):
    """The state where training stands, on the host (with its seed axis, if any)."""
    if self._device_state is None:  # nothing trained: the state restored or passed in
      return self._state
    return jax.device_get(self.devices.get_state(self._device_state))

  def _resume(self) -> None:
    name, points = self.name, self.eval_steps
    restored = self._checkpointer.restore_latest(self._state)
    self.step, self._last_saved, self._device_state = 0, None, None  # see device_state
    if restored is not None:
      self.step, self._state = restored
      self._last_saved = self.step
      logging.info("%s: resumed from step %d of %d (%s)", name, self.step, self.num_steps,
                   self._checkpointer.directory)
      if self.step % self._per_call:
        raise UserError(f"{name}: the checkpoint at step {self.step} "
                        f"({self._checkpointer.directory}) is not a multiple of steps_per_call="
                        f"{self._per_call}; resume with a steps_per_call that divides "
                        f"{self.step} (1 always does)")
    self._recorded = {r["step"] for r in logs.read_evals(self.workdir, name)} if points else set()
    lost = sorted(p for p in points if p < self.step and p not in self._recorded)
    if lost:
      logging.warning("%s: no evaluation recorded at steps %s, before the step %d this run resumes "
                      "from (%s)", name, lost, self.step, logs.evals_path(self.workdir, name))
    # Training seconds: this process's (inside train_to only) and those from before a restart.
    self._trained, self._mark, self._eval_mark, self._carried = 0.0, None, 0.0, 0.0
    if self.step and self.step not in points and any(p > self.step for p in points):
      saved = (self._checkpointer.metadata(self.step) or {}).get("seconds_since_eval")
      if saved is None:
        logging.warning("%s: no training clock saved with checkpoint step %d; the next eval's "
                        "train_seconds miss the updates before this restart", name, self.step)
      self._carried = float(saved or 0.0)
    self._window = (0.0, self.step)  # training seconds and step at the last log
    self._prefetched = None  # (step, its batch on the devices), made during the step before

  def _training_seconds(self) -> float:
    return self._trained + (time.perf_counter() - self._mark if self._mark is not None else 0.0)

  def _seconds_since_eval(self) -> float:
    return self._carried + self._training_seconds() - self._eval_mark

  def _call(self) -> None:
    """One call of the compiled step, then its log, checkpoint and signal check."""
    step, done = self.step, self.step + self._per_call
    if step in self.eval_steps:  # the clock of the next evaluation starts here
      self._carried, self._eval_mark = 0.0, self._training_seconds()
    batch = self._batch(step)
    logs_now = done % self._log_every == 0 or done == self.num_steps
    step_fn = self._log_step if logs_now else self._train_step
    self._device_state, metrics = step_fn(self.device_state, batch, self._key)
    if self._get_batch and done < self.num_steps:  # made on the host while the step computes
      try:
        self._prefetched = (done, self._batch(done))
      except Exception:  # raised again when step `done` asks for it, the trainer then standing
        self._prefetched = None  # at the step its state holds (a caller may catch and go on)
    # Fetching the loss syncs host and device every call: it stops at the first non-finite loss,
    # and avoids a hang of XLA's CPU all-reduce under many queued sharded steps (jax 0.10).
    loss = np.asarray(self.devices.first(metrics)["loss"])
    if not np.all(np.isfinite(loss)):
      steps = f"step {done}" if self._per_call == 1 else f"steps {step + 1}-{done}"
      saved = (f"the last good checkpoint is step {self._last_saved} in "
               f"{self._checkpointer.directory}" if self._last_saved is not None
               else "no checkpoint was saved before it")
      raise TrainingDiverged(f"{self.name}: loss is {loss.tolist()} at {steps}; {saved}")
    self.step = done
    if self._progress is not None:
      self._progress.update(self._per_call)
    if logs_now:
      self._log(metrics, loss)
    if done % self._checkpoint_every == 0 or done == self.num_steps:
      self._save()
    self._exit_if_signalled()

  def _batch(self, step: int):
    """The global batch of `step` on the devices (the one prefetched, if it is that step's)."""
    if self._prefetched is not None and self._prefetched[0] == step:
      return self._prefetched[1]
    return self.devices.put_batch(self._get_batch(step)) if self._get_batch else {}

  def _log(self, metrics, loss) -> None:
    seconds, steps = self._training_seconds(), self.step - self._window[1]
    record = {k: np.asarray(v) for k, v in self.devices.first(metrics).items()}
    record["steps_per_sec"] = steps / max(seconds - self._window[0], 1e-9)
    if self.writer is not None:
      self.writer.write(self.step, {f"{self.name}/{k}": v for k, v in record.items()})
    if self._progress is not None:
      self._progress.set_postfix(loss=float(np.mean(loss)))
    else:
      logging.info("%s step %d/%d: loss %.4f, %.1f steps/s", self.name, self.step,
                   self.num_steps, float(np.mean(loss)), record["steps_per_sec"])
    self._window = (seconds, self.step)

  def _save(self) -> None:
    self._checkpointer.save(self.step, self.devices.get_state(self.device_state),
                            metadata={"seconds_since_eval": self._seconds_since_eval()})
    self._last_saved = self.step

  def _exit_if_signalled(self) -> None:
    """After SIGTERM or Ctrl-C: checkpoint where training stands, exit with 128 + signal."""
    signum = self._signals.received
    if signum is None:
      return
    if self._last_saved != self.step:
      self._save()
    logging.warning("%s: %s at step %d; checkpoint saved, exiting", self.name,
                    signal.Signals(signum).name, self.step)
    raise SystemExit(128 + signum)

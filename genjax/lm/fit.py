"""A study's trainings, each evaluated along the way: `Trainings.fit` runs a `genjax.loop.Trainer`
over the seeds; `pretrain` and `finetune` build the state it trains, from scratch or from trained
params. A study subclasses `Trainings` to feed it its own data (genjax/domain/fit.py: Markov
sources, genjax/text/fit.py: byte windows) and names each training so that a rerun resumes it
from its checkpoints and reads its evaluations back from workdir/evals/<name>.jsonl instead of
recomputing them.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from ml_collections import ConfigDict

from genjax import logs, seeds
from genjax.lm import evaluate, lora, step
from genjax.loop import Trainer


@dataclasses.dataclass(frozen=True)
class Trainings:
  """Where a study's trainings run: each is a `loop.Trainer` over the seeds (`devices`) in the
  shared workdir, logged through `writer`. The config gives the optimizer (learning_rate,
  warmup_steps, grad_clip), the seeds (seed, num_seeds) and the evaluation batch (eval_chunk)."""

  config: ConfigDict
  workdir: str
  devices: seeds.SeedParallel
  writer: logs.MetricsWriter

  def fit(self, name: str, model, state, to_params, schedule, sampler, grid,
          eval_sets: dict):
    """Trains `state` to max(grid) steps, evaluating `eval_sets` after each step of `grid`.

    Returns (final host state, {step: {set name: S x (L-1) losses}}).
    """
    config = self.config
    train_step = step.compiled_step(self.devices, model, to_params, config.grad_clip, schedule)

    def losses_at(t, device_state) -> dict:
      state = jax.device_get(self.devices.get_state(device_state))
      params_S = jax.vmap(to_params)(state["trainable"], state["frozen"])
      losses = evaluate.model_losses(model, params_S, eval_sets, config.eval_chunk,
                                     self.devices.seed_map)
      logging.info("%s T=%d: %s", name, t, {s: f"{v.mean():.4f}" for s, v in losses.items()})
      return {s: v.tolist() for s, v in losses.items()}

    grid = sorted(grid)
    with Trainer(name, state, train_step, devices=self.devices, get_batch=sampler,
                 workdir=self.workdir, key=seeds.seed_keys(config.seed, config.num_seeds),
                 config=config, num_steps=grid[-1], eval_steps=grid,
                 writer=self.writer) as trainer:
      for t in grid:
        trainer.train_to(t)
        if trainer.should_evaluate(t):  # not already evaluated before a restart
          trainer.record_eval(t, losses_at(t, trainer.device_state))
      state = trainer.host_state()
    evals = {r["step"]: {s: np.asarray(r[s], np.float32) for s in eval_sets}
             for r in logs.read_evals(self.workdir, name) if r["step"] in grid}
    return state, evals

  def pretrain(self, name: str, net, init_keys_S, input_len: int, num_steps: int, sampler,
               grid, eval_sets: dict) -> tuple:
    """Trains `net` from scratch (seed s initialized from init_keys_S[s] on `input_len` tokens)
    for `num_steps` steps of config.learning_rate with linear warmup and cosine decay.

    Returns (trained params S x ..., {step: {set name: S x (L-1) losses}}).
    """
    config = self.config
    params_S = jax.vmap(lambda k: net.init(k, jnp.zeros((1, input_len), jnp.int32)))(
        init_keys_S)
    schedule = (config.learning_rate, config.warmup_steps, num_steps)
    tx = step.make_tx(config.grad_clip, config.learning_rate, schedule[1:])
    state, evals = self.fit(name, net, step.new_state(params_S, {}, tx), step.full_params,
                            schedule, sampler, grid, eval_sets)
    return state["trainable"], evals

  def finetune(self, name: str, net, params_S, learning_rate: float, lora_rank: int,
               lora_keys_S, sampler, grid, eval_sets: dict) -> tuple:
    """Full finetuning (or LoRA of rank `lora_rank`, adapters initialized from lora_keys_S) of
    `params_S` at a constant rate on the batches of `sampler`, evaluated at every step of `grid`.

    Returns (what was trained S x ..., {step: {set name: S x (L-1) losses}}): the finetuned
    params, or LoRA's adapters (`lora.merge(params_S, adapters)` per seed gives its params). The
    host state as the trainer left it, with nothing computed on it: a resumed run compiles
    nothing here.
    """
    state, to_params = finetune_state(self.config.grad_clip, learning_rate, params_S, lora_rank,
                                      lora_keys_S)
    state, evals = self.fit(name, net, state, to_params, None, sampler, grid, eval_sets)
    return state["trainable"], evals


def finetune_state(grad_clip: float, learning_rate: float, params_S, lora_rank: int, lora_keys_S):
  """(state, to_params) of a finetuning at a constant rate from `params_S`: every weight
  trained, or rank-`lora_rank` adapters (initialized from `lora_keys_S`) on frozen weights."""
  tx = step.make_tx(grad_clip, learning_rate)
  if lora_rank:
    adapters_S = jax.vmap(lambda k, p: lora.init(k, p, lora_rank))(lora_keys_S, params_S)
    return step.new_state(adapters_S, params_S, tx), step.lora_params
  return step.new_state(params_S, {}, tx), step.full_params

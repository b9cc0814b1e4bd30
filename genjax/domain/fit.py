"""A study's trainings, each evaluated along the way: `Trainings.fit` runs a
`genjax.loop.Trainer`; `pretrain` and `finetune` build what it trains.

Trainings are named by the study piece plus a hash of the config fields that define them
(`training_name`), so studies in one workdir share a pretraining, and a rerun resumes from the
checkpoints and reads the evaluations back from workdir/evals/<name>.jsonl instead of
recomputing them.
"""

import dataclasses
import hashlib
import json

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from ml_collections import ConfigDict

from genjax import identity, logs, registry, seeds
from genjax.domain import data, evaluate, lora, markov, step
from genjax.domain.model import make_model
from genjax.loop import Trainer


def training_name(piece: str, config, pretraining: bool = False) -> str:
  """`piece` plus a short hash of the config fields that define the training, taken from the
  config itself (genjax/identity.py), never from a hand-kept list: a pretraining serves every
  study of its workdir, so it hashes the fields the studies share (the registry entry's
  `shared.fields`); every later training hashes every field that changes the numbers, so a
  change in any of them is a new training, never a resumed stale one."""
  experiment = registry.EXPERIMENTS["domain"]
  fields = identity.fingerprint(config, experiment)
  if pretraining:
    fields = {k: fields[k] for k in experiment.shared.fields}
  digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
  return f"{piece}_{digest[:8]}"


@dataclasses.dataclass(frozen=True)
class Trainings:
  """Where a study's trainings run: each is a `loop.Trainer` over the seeds (`devices`) in the
  shared workdir, logged through `writer`, named by `training_name` so that a rerun resumes it
  and reads its evaluations back from workdir/evals/<name>.jsonl."""

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
      state = jax.device_get(device_state)
      params_S = jax.vmap(to_params)(state["trainable"], state["frozen"])
      losses = evaluate.model_losses(model, params_S, eval_sets, config.eval_chunk)
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

  def pretrain(self, arch: str, source: markov.Source, pool_size: int, eval_sets: dict):
    """Trains `arch` from scratch on `source`; returns (model, params_S, evals at checkpoints)."""
    config = self.config
    net = model(config, arch)
    params_S = jax.vmap(lambda k: net.init(k, jnp.zeros((1, config.seq_len - 1), jnp.int32)))(
        data.stream_keys(config, data.INIT))
    schedule = (config.learning_rate, config.warmup_steps, config.pretrain_steps)
    tx = step.make_tx(config.grad_clip, config.learning_rate, schedule[1:])
    name = training_name(f"pretrain_{arch}_M{pool_size}", config, pretraining=True)
    sampler = data.make_sampler(data.stream_keys(config, data.PRETRAIN_DATA, pool_size + 1),
                                [source], [1.0], config.batch_size, config.seq_len)
    grid = np.linspace(0, config.pretrain_steps, config.pretrain_evals + 1).astype(int)[1:]
    state, evals = self.fit(name, net, step.new_state(params_S, {}, tx), step.full_params,
                            schedule, sampler, grid.tolist(), eval_sets)
    return net, state["trainable"], evals

  def finetune(self, net, params_S, name: str, learning_rate: float, sources, fractions, grid,
               eval_sets: dict, data_keys, lora_rank: int = 0):
    """Full finetuning (or LoRA of rank `lora_rank`) at a constant rate on mixed `sources`."""
    config = self.config
    state, to_params = finetune_state(config.grad_clip, learning_rate, params_S, lora_rank,
                                      data.stream_keys(config, data.LORA))
    sampler = data.make_sampler(data_keys, sources, fractions, config.batch_size,
                                config.seq_len)
    return self.fit(name, net, state, to_params, None, sampler, grid, eval_sets)


def finetune_state(grad_clip: float, learning_rate: float, params_S, lora_rank: int, lora_keys_S):
  """(state, to_params) of a finetuning at a constant rate from `params_S`: every weight
  trained, or rank-`lora_rank` adapters (initialized from `lora_keys_S`) on frozen weights."""
  tx = step.make_tx(grad_clip, learning_rate)
  if lora_rank:
    adapters_S = jax.vmap(lambda k, p: lora.init(k, p, lora_rank))(lora_keys_S, params_S)
    return step.new_state(adapters_S, params_S, tx), step.lora_params
  return step.new_state(params_S, {}, tx), step.full_params


def model(config, arch: str):
  return make_model(arch, vocab=config.vocab, width=config.width, num_heads=config.num_heads,
                    max_len=config.seq_len, positions=config.positions,
                    num_layers=config.num_layers)

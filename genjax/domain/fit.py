"""One training of a study, evaluated along the way: `fit` runs a `genjax.loop.Trainer`.

Trainings are named by the study piece plus a hash of the config fields that define them, so
studies in one workdir share a pretraining, and a rerun resumes from the checkpoints and reads
the evaluations back from workdir/evals/<name>.jsonl instead of recomputing them.
"""

import hashlib
import json

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from genjax import logs, seeds
from genjax.configs.domain import PRETRAIN_FIELDS
from genjax.domain import data, evaluate, lora, markov, step
from genjax.domain.model import make_model
from genjax.loop import Trainer

# Bumped when the same config fields would give different data (the random streams changed in
# version 2), so that a workdir of an older version never resumes a training it did not run.
NAMES_VERSION = 2


def fingerprint(config, fields, **extra) -> str:
  """Short hash naming a training by the fields that define it (shared across studies)."""
  values = {f: config[f] for f in fields} | extra | {"names_version": NAMES_VERSION}
  return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8]


def fit(name: str, model, state, to_params, schedule, sampler, grid, eval_sets: dict, *,
        config, workdir: str, sp: seeds.SeedParallel, writer: logs.MetricsWriter):
  """Trains `state` to max(grid) steps, evaluating `eval_sets` after each step of `grid`.

  Returns (final host state, {step: {set name: S x (L-1) losses}}).
  """
  train_step = step.compiled_step(sp, model, to_params, config.grad_clip, schedule)

  def losses_at(t, device_state) -> dict:
    state = jax.device_get(device_state)
    params_S = jax.vmap(to_params)(state["trainable"], state["frozen"])
    losses = evaluate.model_losses(model, params_S, eval_sets, config.eval_chunk)
    logging.info("%s T=%d: %s", name, t, {s: f"{v.mean():.4f}" for s, v in losses.items()})
    return {s: v.tolist() for s, v in losses.items()}

  grid = sorted(grid)
  with Trainer(name, state, train_step, devices=sp, get_batch=sampler, workdir=workdir,
               key=seeds.seed_keys(config.seed, config.num_seeds), config=config,
               num_steps=grid[-1], eval_steps=grid, writer=writer) as trainer:
    for t in grid:
      trainer.train_to(t)
      if trainer.should_evaluate(t):  # not already evaluated before a restart
        trainer.record_eval(t, losses_at(t, trainer.device_state))
    state = trainer.host_state()
  evals = {r["step"]: {s: np.asarray(r[s], np.float32) for s in eval_sets}
           for r in logs.read_evals(workdir, name) if r["step"] in grid}
  return state, evals


def model(config, arch: str):
  return make_model(arch, vocab=config.vocab, width=config.width, num_heads=config.num_heads,
                    max_len=config.seq_len, positions=config.positions,
                    num_layers=config.num_layers)


def pretrain(fit_fn, config, arch: str, source: markov.Source, pool_size: int, eval_sets: dict):
  """Trains `arch` from scratch on `source`; returns (model, params_S, evals at checkpoints)."""
  net = model(config, arch)
  params_S = jax.vmap(lambda k: net.init(k, jnp.zeros((1, config.seq_len - 1), jnp.int32)))(
      data.stream_keys(config, data.INIT))
  schedule = (config.learning_rate, config.warmup_steps, config.pretrain_steps)
  tx = step.make_tx(config.grad_clip, config.learning_rate, schedule[1:])
  name = f"pretrain_{arch}_M{pool_size}_{fingerprint(config, PRETRAIN_FIELDS)}"
  sampler = data.make_sampler(data.stream_keys(config, data.PRETRAIN_DATA, pool_size + 1),
                              [source], [1.0], config.batch_size, config.seq_len)
  grid = np.linspace(0, config.pretrain_steps, config.pretrain_evals + 1).astype(int)[1:]
  state, evals = fit_fn(name, net, step.new_state(params_S, {}, tx), step.full_params,
                        schedule, sampler, grid.tolist(), eval_sets)
  return net, state["trainable"], evals


def finetune(fit_fn, config, net, params_S, name: str, learning_rate: float, sources,
             fractions, grid, eval_sets: dict, data_keys, lora_rank: int = 0):
  """Full finetuning (or LoRA of rank `lora_rank`) at a constant rate on mixed `sources`."""
  tx = step.make_tx(config.grad_clip, learning_rate)
  if lora_rank:
    adapters = jax.vmap(lambda k, p: lora.init(k, p, lora_rank))(
        data.stream_keys(config, data.LORA), params_S)
    state, to_params = step.new_state(adapters, params_S, tx), step.lora_params
  else:
    state, to_params = step.new_state(params_S, {}, tx), step.full_params
  sampler = data.make_sampler(data_keys, sources, fractions, config.batch_size, config.seq_len)
  return fit_fn(name, net, state, to_params, None, sampler, grid, eval_sets)

"""The pure per-seed train step of every language-model training, and its optimizer and state.

`seeds.SeedParallel.compile` vmaps the step over the seed axis and shards that axis over devices.
"""

import functools

import jax
import numpy as np
import optax

from genjax import seeds
from genjax.lm import lora
from genjax.lm.model import next_token_nll


def make_tx(grad_clip: float, learning_rate: float, schedule: tuple | None = None):
  """Clipped Adam over all parameters as one flat vector (`optax.flatten`): a few kernels a step
  instead of several per parameter array, which on a CPU cost more than the update's arithmetic.

  schedule: (warmup_steps, total_steps) for linear warmup then cosine decay to 10%, a rate that
  is part of the program; None for a constant rate that lives in the optimizer state
  (`optax.inject_hyperparams`), so finetuning runs at different rates share one compiled step.
  """
  if schedule:
    warmup, total = schedule
    lr = optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, max(total, warmup + 1),
                                            0.1 * learning_rate)
    return optax.flatten(optax.chain(optax.clip_by_global_norm(grad_clip), optax.adam(lr)))
  return optax.flatten(optax.chain(
      optax.clip_by_global_norm(grad_clip),
      optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)))


def full_params(trainable, frozen):
  del frozen
  return trainable


def lora_params(trainable, frozen):
  return lora.merge(frozen, trainable)


def new_state(trainable_S, frozen_S, tx):
  """A fresh stacked training state; each seed's slice holds its own scalar "step"."""
  num_seeds = jax.tree.leaves(trainable_S)[0].shape[0]
  return {"step": np.zeros((num_seeds,), np.int32), "trainable": trainable_S,
          # from host copies: flattening the parameters (optax.flatten) then runs the same small
          # eager programs for fresh and restored parameters, none compiled again on a resume
          "frozen": frozen_S, "opt_state": jax.vmap(tx.init)(jax.tree.map(np.asarray, trainable_S))}


def make_train_step(model, tx, to_params):
  """One seed's `(state, batch, key) -> (state, metrics)`.

  state = {"step", "trainable", "frozen", "opt_state"}; the model sees
  `to_params(trainable, frozen)` (identity for full finetuning, a LoRA merge for adapters).
  """

  def train_step(state, batch, key):
    del key  # the step draws nothing: batches come from the (seeded) sampler

    def loss_fn(trainable):
      params = to_params(trainable, state["frozen"])
      return next_token_nll(model, params, batch["tokens"]).mean()

    loss, grads = jax.value_and_grad(loss_fn)(state["trainable"])
    updates, opt_state = tx.update(grads, state["opt_state"], state["trainable"])
    trainable = optax.apply_updates(state["trainable"], updates)
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads),
               "param_norm": optax.global_norm(trainable),
               "update_norm": optax.global_norm(updates)}
    return {**state, "step": state["step"] + 1, "trainable": trainable,
            "opt_state": opt_state}, metrics

  return train_step


@functools.lru_cache(maxsize=32)
def compiled_step(sp: seeds.SeedParallel, model, to_params, grad_clip: float,
                  schedule: tuple | None):
  """The step compiled once per (devices, model, full/LoRA, optimizer program).

  A schedule is (peak rate, warmup, total steps); None: constant rates, read from the state.
  """
  if schedule:
    peak, warmup, total = schedule
    tx = make_tx(grad_clip, peak, (warmup, total))
  else:
    tx = make_tx(grad_clip, 0.0)  # the rate comes from each run's optimizer state
  return sp.compile(make_train_step(model, tx, to_params), batch_axis=0)

"""The Markov study's trainings: `genjax.lm.fit.Trainings` fed sequences of Markov sources.

Trainings are named by the study piece plus a hash of the config fields that define them
(`training_name`), so studies in one workdir share a pretraining, and a rerun resumes from the
checkpoints and reads the evaluations back from workdir/evals/<name>.jsonl instead of
recomputing them.
"""

import numpy as np

from genjax import identity, registry
from genjax.domain import data, markov
from genjax.lm import fit as lm_fit
from genjax.lm.model import make_model


def training_name(piece: str, config, pretraining: bool = False) -> str:
  """`piece` plus a short hash of the config fields that define the training, taken from the
  config itself (genjax/identity.py), never from a hand-kept list: a pretraining serves every
  study of its workdir, so it hashes the fields the studies share (the registry entry's
  `shared.fields`); every later training hashes every field that changes the numbers, so a
  change in any of them is a new training, never a resumed stale one."""
  return f"{piece}_{identity.digest(config, registry.EXPERIMENTS['domain'], pretraining)}"


def model(config, arch: str):
  return make_model(arch, vocab=config.vocab, width=config.width, num_heads=config.num_heads,
                    max_len=config.seq_len, positions=config.positions,
                    num_layers=config.num_layers)


class Trainings(lm_fit.Trainings):
  """Where the Markov studies' models train (`genjax.lm.fit.Trainings`), on sequences of
  `markov.Source`s mixed in exact fractions."""

  def pretrain_markov(self, arch: str, source: markov.Source, pool_size: int, eval_sets: dict):
    """Trains `arch` from scratch on `source`; returns (model, params_S, evals at checkpoints)."""
    config = self.config
    net = model(config, arch)
    sampler = data.make_sampler(data.stream_keys(config, data.PRETRAIN_DATA, pool_size + 1),
                                [source], [1.0], config.batch_size, config.seq_len)
    grid = np.linspace(0, config.pretrain_steps, config.pretrain_evals + 1).astype(int)[1:]
    params_S, evals = self.pretrain(
        training_name(f"pretrain_{arch}_M{pool_size}", config, pretraining=True), net,
        data.stream_keys(config, data.INIT), config.seq_len - 1, config.pretrain_steps, sampler,
        grid.tolist(), eval_sets)
    return net, params_S, evals

  def finetune_markov(self, net, params_S, name: str, learning_rate: float, sources, fractions,
                      grid, eval_sets: dict, data_keys, lora_rank: int = 0):
    """Full finetuning (or LoRA of rank `lora_rank`) at a constant rate on mixed `sources`;
    returns (finetuned params, or LoRA's adapters, S x ..., evals: `lm.fit.Trainings.finetune`)."""
    config = self.config
    sampler = data.make_sampler(data_keys, sources, fractions, config.batch_size,
                                config.seq_len)
    return self.finetune(name, net, params_S, learning_rate, lora_rank,
                         data.stream_keys(config, data.LORA), sampler, grid, eval_sets)

"""The real-text study's trainings: `genjax.lm.fit.Trainings` fed byte windows (vocabulary 256).

A model is trained on one mix of domains and evaluated along the way. A training from scratch is
named by its model and domains: the studies of one size share the workdir (genjax/identity.py:
its identity is the fields that define such a training), so a study finds the models another
study trained there, and a rerun resumes a training and reads its evaluations back from
workdir/evals/<name>.jsonl instead of recomputing them. A training from a trained model is
named with a hash of its study's fields (`stored_name`).
"""

import jax
import numpy as np

from genjax import identity, registry, stats
from genjax.claims.text_checks import floor_order
from genjax.lm import fit as lm_fit
from genjax.lm.model import make_model
from genjax.text import data

VOCAB = 256  # bytes


def model(config, arch: str):
  return make_model(arch, vocab=VOCAB, width=config.width, num_heads=config.num_heads,
                    max_len=config.context, positions=config.positions,
                    num_layers=config.num_layers)


def training_name(arch: str, domains) -> str:
  return f"{arch}_on_{'-'.join(domains)}"  # TensorBoard-legal: no '+'


def stored_name(name: str, config) -> str:
  """The name a training from a trained model (finetuning, DAPT, a continual stage) is stored
  under in the shared workdir: `name` plus a short hash of every field of the study's config
  that changes numbers (genjax/identity.py), so that a study rerun with other fields of its own
  trains anew instead of resuming a stale training of the same name. A training from scratch
  needs none: the fields that define it are the workdir's identity."""
  return f"{name}_{identity.digest(config, registry.EXPERIMENTS['text'])}"


def eval_grid(config) -> list[int]:
  return np.linspace(0, config.num_steps, config.num_evals + 1).astype(int)[1:].tolist()


def bits(per_position_SxT) -> dict:
  """{"mean", "sd", "se", "seeds"} of the per-seed bits per byte (mean over positions)."""
  return stats.summary(np.asarray(per_position_SxT).mean(-1) / data.LOG2)


class Trainings(lm_fit.Trainings):
  """Where the real-text studies' models train (`genjax.lm.fit.Trainings`: a `loop.Trainer`
  over the seeds per training, evaluated on its grid, resumable), fed byte windows."""

  def fit_bytes(self, arch: str, domains: tuple[str, ...], test_domains) -> tuple:
    """Trains `arch` from scratch on equal parts of `domains`; evaluates the validation windows
    of `domains` and the test windows of `test_domains` at every step of the grid.

    Returns (model, trained params S x ..., {step: {set name: S x context nats per position}}).
    """
    config = self.config
    net = model(config, arch)
    sets = {f"validation/{d}": data.eval_windows(config, d, "validation") for d in domains}
    sets |= {f"test/{d}": data.eval_windows(config, d, "test") for d in test_domains}
    params_S, evals = self.pretrain(training_name(arch, domains), net,
                                    data.stream_keys(config, data.INIT), config.context,
                                    config.num_steps, data.make_sampler(config, domains),
                                    eval_grid(config), sets)
    return net, params_S, evals

  def finetune_bytes(self, net, params_S, name: str, learning_rate: float, lora_rank: int,
                     sampler, grid, eval_sets: dict) -> tuple:
    """Full finetuning (or LoRA of rank `lora_rank`) of `params_S` at a constant rate on the
    batches of `sampler` (`data.window_sampler`), evaluated at every step of `grid`.

    Returns (finetuned params, or LoRA's adapters, S x ..., {step: {set name: S x context nats
    per position}}).
    """
    return self.finetune(stored_name(name, self.config), net, params_S, learning_rate,
                         lora_rank, data.stream_keys(self.config, data.LORA), sampler, grid,
                         eval_sets)


def budget(config, params_S) -> dict:
  """What a model trained on (the matched-budget gate's input): its steps of batch_size windows
  of context + 1 bytes, the schedule's shape, and its parameter count (one seed's)."""
  params = sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(params_S)) // config.num_seeds
  return {"steps": config.num_steps, "batch_size": config.batch_size,
          "bytes_seen": config.num_steps * config.batch_size * (config.context + 1),
          "params": params,
          "schedule": {"shape": "linear warmup, cosine decay to 10%",
                       "peak_lr": config.learning_rate, "warmup_steps": config.warmup_steps}}


def summarise(config, arch: str, domains, evals: dict, refs: dict, params_S) -> dict:
  """A model's row of results.json: its held-out bits per domain at the last step and at every
  evaluation, the training-domain validation curve (equal parts of its domains), its own held-out
  text beside the references on the same documents, its budget, and its competence floor (the
  Kneser-Ney n-gram of `floor_order(arch)` fitted on its own training split, scored on the
  windows its own held-out text is scored on, per seed)."""
  last = max(evals)
  final = evals[last]
  tests = sorted(k.split("/", 1)[1] for k in final if k.startswith("test/"))

  def own(at, split):  # equal parts of the training domains, per seed and position
    return np.mean([at[f"{split}/{d}"] for d in domains], axis=0)

  order = floor_order(arch)
  return {
      "arch": arch, "domains": list(domains), "steps": last,
      "test": {d: bits(final[f"test/{d}"]) for d in tests},
      "own_test": bits(own(final, "test")),
      # Every reference averaged over the same domains (whole documents: descriptions).
      "own_refs": {ref: float(np.mean([refs[d][ref] for d in domains]))
                   for ref in refs[domains[0]]},
      "floor": {"name": f"kn{order}", "order": order,
                **stats.summary(data.floor_bits(config, tuple(domains), order))},
      "budget": budget(config, params_S),
      "train_curve": {str(t): bits(own(evals[t], "validation")) for t in sorted(evals)},
      # Test bits on every domain at every evaluation: the rules judge each comparison at each
      # one (settled, not closing: genjax/claims/text_settled.py).
      "test_curve": {str(t): {d: bits(evals[t][f"test/{d}"]) for d in tests}
                     for t in sorted(evals)},
      # Test bits on each domain it never trained on, at every evaluation (results.md's table).
      "unseen_curve": {str(t): {d: bits(evals[t][f"test/{d}"]) for d in tests
                                if d not in domains} for t in sorted(evals)},
  }


def position_curve(evals: dict, domain: str) -> list[list[float]]:
  """S x context bits per byte at each position of the held-out windows, at the last step."""
  return (evals[max(evals)][f"test/{domain}"] / data.LOG2).tolist()

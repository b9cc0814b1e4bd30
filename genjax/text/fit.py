"""One model trained on one mix of domains, evaluated along the way (a `loop.Trainer`).

The pure step, optimizer and models are the Markov study's (`genjax.domain.step`, `.model`):
here on bytes (vocabulary 256). A training is named by its model and domains; the workdir holds
one config (genjax/identity.py), so a rerun resumes it and reads its evaluations back from
workdir/evals/<name>.jsonl instead of recomputing them.
"""

import jax
import jax.numpy as jnp
import numpy as np

from genjax import stats
from genjax.domain import fit as domain_fit
from genjax.domain import step
from genjax.domain.model import make_model
from genjax.text import data

VOCAB = 256  # bytes


def model(config, arch: str):
  return make_model(arch, vocab=VOCAB, width=config.width, num_heads=config.num_heads,
                    max_len=config.context, positions=config.positions,
                    num_layers=config.num_layers)


def training_name(arch: str, domains) -> str:
  return f"{arch}_on_{'-'.join(domains)}"  # TensorBoard-legal: no '+'


def eval_grid(config) -> list[int]:
  return np.linspace(0, config.num_steps, config.num_evals + 1).astype(int)[1:].tolist()


def bits(per_position_SxT) -> dict:
  """{"mean", "sd", "se", "seeds"} of the per-seed bits per byte (mean over positions)."""
  return stats.summary(np.asarray(per_position_SxT).mean(-1) / data.LOG2)


class Trainings(domain_fit.Trainings):
  """Where a study's models train: the Markov study's `Trainings` (a `loop.Trainer` over the
  seeds per training, evaluated on its grid, resumable), fed byte windows."""

  def fit_bytes(self, arch: str, domains: tuple[str, ...], test_domains) -> tuple:
    """Trains `arch` from scratch on equal parts of `domains`; evaluates the validation windows
    of `domains` and the test windows of `test_domains` at every step of the grid.

    Returns (model, trained params S x ..., {step: {set name: S x context nats per position}}).
    """
    config = self.config
    net = model(config, arch)
    params_S = jax.vmap(lambda k: net.init(k, jnp.zeros((1, config.context), jnp.int32)))(
        data.stream_keys(config, data.INIT))
    schedule = (config.learning_rate, config.warmup_steps, config.num_steps)
    tx = step.make_tx(config.grad_clip, config.learning_rate, schedule[1:])
    sets = {f"validation/{d}": data.eval_windows(config, d, "validation") for d in domains}
    sets |= {f"test/{d}": data.eval_windows(config, d, "test") for d in test_domains}
    state, evals = self.fit(training_name(arch, domains), net,
                            step.new_state(params_S, {}, tx), step.full_params, schedule,
                            data.make_sampler(config, domains), eval_grid(config), sets)
    return net, state["trainable"], evals

  def finetune_bytes(self, net, params_S, name: str, learning_rate: float, lora_rank: int,
                     sampler, grid, eval_sets: dict) -> tuple:
    """Full finetuning (or LoRA of rank `lora_rank`) of `params_S` at a constant rate on the
    batches of `sampler` (`data.window_sampler`), evaluated at every step of `grid`.

    Returns (finetuned params S x ..., {step: {set name: S x context nats per position}}).
    """
    config = self.config
    state, to_params = domain_fit.finetune_state(config.grad_clip, learning_rate, params_S,
                                                 lora_rank, data.stream_keys(config, data.LORA))
    state, evals = self.fit(name, net, state, to_params, None, sampler, grid, eval_sets)
    return jax.vmap(to_params)(state["trainable"], state["frozen"]), evals


def summarise(arch: str, domains, evals: dict, refs: dict) -> dict:
  """A model's row of results.json: its held-out bits per domain at the last step, the
  training-domain validation curve (equal parts of its domains), and its own held-out text
  beside the references on the same documents (the guard's two inputs)."""
  last = max(evals)
  final = evals[last]
  tests = sorted(k.split("/", 1)[1] for k in final if k.startswith("test/"))

  def own(at, split):  # equal parts of the training domains, per seed and position
    return np.mean([at[f"{split}/{d}"] for d in domains], axis=0)

  return {
      "arch": arch, "domains": list(domains), "steps": last,
      "test": {d: bits(final[f"test/{d}"]) for d in tests},
      "own_test": bits(own(final, "test")),
      # Every reference averaged over the same domains: the guard picks its bar from these.
      "own_refs": {ref: float(np.mean([refs[d][ref] for d in domains]))
                   for ref in refs[domains[0]]},
      "train_curve": {str(t): bits(own(evals[t], "validation")) for t in sorted(evals)},
      # Test bits on each domain it never trained on, at every evaluation: whether a comparison
      # of unfinished models already had its sign earlier (experiments/text_margins.py pairs it).
      "unseen_curve": {str(t): {d: bits(evals[t][f"test/{d}"]) for d in tests
                                if d not in domains} for t in sorted(evals)},
  }


def position_curve(evals: dict, domain: str) -> list[list[float]]:
  """S x context bits per byte at each position of the held-out windows, at the last step."""
  return (evals[max(evals)][f"test/{domain}"] / data.LOG2).tolist()

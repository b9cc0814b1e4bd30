"""Q1 on real text (issue 35): `train_and_evaluate` runs one study of byte-level language models
on the four-register text pack (genjax/data/text.py).

Every training runs `config.num_seeds` seeds side by side (the state has a leading seed axis,
one compiled step vmaps over it, `genjax.seeds` shards it over devices). Seed s has its own
init, batches and evaluation windows, all derived from `config.seed`. The studies are in
`studies.py`, a training in `fit.py`, results.md and the figure in `report.py`. Everything is
reported in bits per byte beside the byte references of genjax/data/byte_references.py,
computed on the same held-out documents.
"""

from ml_collections import ConfigDict

from genjax import checks, logs, seeds
from genjax.data import text
from genjax.errors import UserError
from genjax.registry import EXPERIMENTS
from genjax.text import data, report, studies
from genjax.text.fit import Trainings
from genjax.workdir import Workdir

STUDIES = {"diversity": studies.diversity, "architecture": studies.architecture,
           "finetune": studies.finetune}
ARCHS = ("transformer", "transformer_1layer", "bag_mlp")


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "study", STUDIES)
  checks.require_choice(config, "positions", ("learned", "rotary"))
  checks.require_choice(config, "parallel", seeds.MODES)
  checks.require_positive(config, "num_seeds", "context", "num_layers", "width", "num_heads",
                          "num_steps", "batch_size", "learning_rate", "grad_clip", "num_evals",
                          "eval_windows", "eval_chunk", "log_every", "checkpoint_every",
                          "ngram_orders")
  checks.require_non_negative(config, "warmup_steps", "num_devices")
  for field in ("domains", "heldout", "specialists"):
    unknown = [d for d in config[field] if d not in text.DOMAINS]
    if unknown or len(set(config[field])) != len(config[field]):
      raise UserError(f"config.{field}={tuple(config[field])} must name distinct domains of "
                      f"{', '.join(text.DOMAINS)}")
  if len(config.domains) < 3:
    raise UserError("config.domains needs at least 3 domains: a held-out one, and a mix of two "
                    "or more against one")
  for field in ("heldout", "specialists"):
    if not set(config[field]) <= set(config.domains) or (field == "heldout"
                                                          and not config[field]):
      raise UserError(f"config.{field} must be {'a non-empty' if field == 'heldout' else 'a'} "
                      f"subset of config.domains={tuple(config.domains)}")
  if config.study == "diversity" and not any(
      d != h for h in config.heldout for d in studies.specialists(config)):
    raise UserError("config.specialists names no domain other than a held-out one")
  if config.batch_size % (len(config.domains) - 1):
    raise UserError(f"config.batch_size={config.batch_size} must split evenly over the "
                    f"{len(config.domains) - 1} domains of a mix")
  if config.num_evals % 4:
    raise UserError(f"config.num_evals={config.num_evals} must be a multiple of 4 (the "
                    "plateau guard reads the last quarter of training)")
  if config.num_steps % config.num_evals:
    raise UserError(f"config.num_steps={config.num_steps} must be a multiple of "
                    f"config.num_evals={config.num_evals}")
  if config.width % (2 * config.num_heads):
    raise UserError(f"config.width={config.width} must be a multiple of 2 * config.num_heads")
  if config.eval_windows % min(config.eval_chunk, config.eval_windows):
    raise UserError(f"config.eval_windows={config.eval_windows} must be a multiple of "
                    f"config.eval_chunk={config.eval_chunk}")
  if config.study == "architecture" and "bag_mlp" in config.architecture_models and (
      2 not in config.ngram_orders):
    raise UserError("config.ngram_orders must include 2: the bigram is the bar a bag_mlp model "
                    "has to beat (genjax/claims/text.py BAR)")
  if config.study == "finetune":
    _validate_finetune(config)
  for field, arch in [("model", config.model),
                      *(("architecture_models", a) for a in config.architecture_models)]:
    if arch not in ARCHS:
      raise UserError(f"config.{field} has unknown architecture {arch!r}; use {', '.join(ARCHS)}")


def _validate_finetune(config: ConfigDict) -> None:
  if "finetune_step_grid" not in config:
    raise UserError("the finetune study's fields are in genjax/configs/text_finetune.py: use "
                    "--config=genjax/configs/text_finetune.py")
  checks.require_positive(config, "target_bytes", "finetune_step_grid", "finetune_lrs",
                          "lora_ranks", "lora_lr")
  if len(set(config.finetune_step_grid)) < 2:
    raise UserError(f"config.finetune_step_grid={tuple(config.finetune_step_grid)} needs two or "
                    "more steps: over-finetuning is read between its first and last")
  if not config.finetune_lrs:
    raise UserError("config.finetune_lrs is empty: every rule reads a full finetuning run")
  if config.target_bytes <= config.context:
    raise UserError(f"config.target_bytes={config.target_bytes} must exceed "
                    f"config.context={config.context}: a window is context + 1 bytes")


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Runs config.study; writes results.json, results.md and its figure; returns the results."""
  validate(config)
  sp = seeds.seed_parallel(config.num_seeds, config.parallel, config.num_devices)
  # The pack is read (and its absence reported in one line) before the workdir is touched.
  refs = data.references(config, config.domains)
  with Workdir.open(workdir, config, EXPERIMENTS["text"], tensorboard=config.tensorboard) as wd:
    trainings = Trainings(config, workdir, sp, wd.writer)
    results = STUDIES[config.study](trainings, refs)
    results = {"study": config.study, "num_seeds": config.num_seeds, "context": config.context,
               "references": refs, "data_cards": {d: text.data_card(d) for d in config.domains},
               "config": logs.config_to_dict(config), **results}
    wd.write_results(results)
    if logs.is_main_process():
      report.write_markdown(results, workdir)
      if config.make_plots:
        report.write_figure(results, workdir)
  return results

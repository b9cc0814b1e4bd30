"""Q1 on real text (issue 35): `train_and_evaluate` runs one study of byte-level language models
on the four-register text pack (genjax/data/text.py).

Every training runs `config.num_seeds` seeds side by side (the state has a leading seed axis;
one compiled step vmaps over it, or on a CPU the one-seed step runs per seed: `seed_map`).
Seed s has its own init, batches and evaluation windows, all derived from `config.seed`. The
studies are in `studies.py`, a training in `fit.py`, results.md and the figure in `report.py`;
the models, the step and the scoring of a model are the language-model library's (genjax/lm).
Everything is reported in bits per byte beside the byte references of
genjax/data/byte_references.py, computed on the same held-out documents.
"""

import jax
from ml_collections import ConfigDict

from genjax import checks, logs, seeds
from genjax.data import text, text_splits
from genjax.errors import UserError
from genjax.lm.model import check_archs
from genjax.registry import EXPERIMENTS
from genjax.text import data, report, studies
from genjax.text.fit import Trainings
from genjax.workdir import Workdir

STUDIES = {"diversity": studies.diversity, "architecture": studies.architecture,
           "finetune": studies.finetune, "dapt": studies.dapt, "continual": studies.continual}


def seed_map(config: ConfigDict) -> str:
  """config.seed_map with "auto" resolved: sequential on a CPU, vmap on an accelerator."""
  if config.seed_map != "auto":
    return config.seed_map
  return "sequential" if jax.default_backend() == "cpu" else "vmap"


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "study", STUDIES)
  checks.require_choice(config, "positions", ("learned", "rotary"))
  checks.require_choice(config, "parallel", seeds.MODES)
  checks.require_choice(config, "seed_map", ("auto", "vmap", "sequential"))
  checks.require_choice(config, "split", (text_splits.SPLIT_PROTOCOL,))
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
  if config.num_steps % config.num_evals:
    raise UserError(f"config.num_steps={config.num_steps} must be a multiple of "
                    f"config.num_evals={config.num_evals}")
  if config.width % (2 * config.num_heads):
    raise UserError(f"config.width={config.width} must be a multiple of 2 * config.num_heads")
  if config.eval_windows % min(config.eval_chunk, config.eval_windows):
    raise UserError(f"config.eval_windows={config.eval_windows} must be a multiple of "
                    f"config.eval_chunk={config.eval_chunk}")
  if config.study in STUDY_FIELDS:
    _validate_study_fields(config)
  check_archs(config)


def _validate_study_fields(config: ConfigDict) -> None:
  """A study with fields of its own: its config file must be the one used, then its checks."""
  field, config_file, validate_fields = STUDY_FIELDS[config.study]
  if field not in config:
    raise UserError(f"the {config.study} study's fields are in {config_file}: use "
                    f"--config={config_file}")
  validate_fields(config)


def _validate_finetune(config: ConfigDict) -> None:
  checks.require_positive(config, "finetune_lrs", "lora_ranks", "lora_lr")
  _validate_target_set(config, "over-finetuning is read between its first and last")
  if not config.finetune_lrs:
    raise UserError("config.finetune_lrs is empty: every rule reads a full finetuning run")


def _validate_target_set(config: ConfigDict, why_two_steps: str) -> None:
  """The fields of finetuning on the target set, which the finetune and DAPT studies share."""
  checks.require_positive(config, "target_bytes", "finetune_step_grid")
  if len(set(config.finetune_step_grid)) < 2:
    raise UserError(f"config.finetune_step_grid={tuple(config.finetune_step_grid)} needs two or "
                    f"more steps: {why_two_steps}")
  if config.target_bytes <= config.context:
    raise UserError(f"config.target_bytes={config.target_bytes} must exceed "
                    f"config.context={config.context}: a window is context + 1 bytes")


def _validate_dapt(config: ConfigDict) -> None:
  checks.require_positive(config, "dapt_steps", "dapt_lr", "finetune_lr")
  _validate_target_set(config, "each start is judged at its best step, not at the grid's end")
  for field in ("dapt_unrelated", "dapt_neighbour"):
    if config[field] not in config.domains or config[field] == config.heldout[0]:
      raise UserError(f"config.{field}={config[field]!r} must be one of config.domains other "
                      f"than the target {config.heldout[0]!r}")
  if config.dapt_neighbour == config.dapt_unrelated:
    raise UserError(f"config.dapt_neighbour and config.dapt_unrelated are both "
                    f"{config.dapt_unrelated!r}: related and unrelated DAPT need two registers")


def _validate_continual(config: ConfigDict) -> None:
  checks.require_positive(config, "continual_steps", "continual_lr", "continual_replay")
  stages = tuple(config.continual_stages)
  first = [d for d in config.domains if d not in stages]
  if (len(stages) < 2 or len(set(stages)) != len(stages) or not set(stages) <= set(
      config.domains) or len(first) < 1):
    raise UserError(f"config.continual_stages={stages} must name two or more distinct domains of "
                    f"config.domains={tuple(config.domains)}, leaving one or more to pretrain on")
  replayed = studies.replayed_windows(config)
  for i in range(len(stages)):
    earlier = len(first) + i
    if not 0 < replayed < config.batch_size or replayed % earlier or config.batch_size % len(
        first):
      raise UserError(f"config.continual_replay={config.continual_replay} of "
                      f"config.batch_size={config.batch_size} is {replayed} windows: it must be "
                      f"between 0 and the batch and split evenly over the {earlier} domains "
                      f"learned before stage {i + 1} (and the batch over the {len(first)} "
                      "pretrained on)")


# Studies with fields of their own, in a config file of their own (so the other studies' configs,
# and so their workdirs' identities, stay as they were): (a field of theirs, the file, checks).
STUDY_FIELDS = {
    "finetune": ("finetune_step_grid", "genjax/configs/text_finetune.py", _validate_finetune),
    "dapt": ("dapt_unrelated", "genjax/configs/text_dapt.py", _validate_dapt),
    "continual": ("continual_stages", "genjax/configs/text_continual.py", _validate_continual),
}


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Runs config.study; writes its entry of results.json, results.md (every study of the
  workdir) and its figure; returns the entry."""
  validate(config)
  sp = seeds.seed_parallel(config.num_seeds, config.parallel, config.num_devices,
                           seed_map(config), config.batch_size)
  # The pack is read (and its absence reported in one line) before the workdir is touched.
  refs = data.references(config, config.domains)
  with Workdir.open(workdir, config, EXPERIMENTS["text"], tensorboard=config.tensorboard) as wd:
    trainings = Trainings(config, workdir, sp, wd.writer)
    results = STUDIES[config.study](trainings, refs)
    results = {"study": config.study, "num_seeds": config.num_seeds, "context": config.context,
               "references": refs, "data_cards": {d: text.data_card(d) for d in config.domains},
               "config": logs.config_to_dict(config), **results}
    wd.write_results(results)  # this study's entry, beside the other studies' run here
    if logs.is_main_process():
      report.write_markdown(workdir)
      if config.make_plots:
        report.write_figure(results, workdir)
  return results

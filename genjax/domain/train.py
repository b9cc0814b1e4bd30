"""Domain generalization on in-context Markov-chain domains (issue 4): `train_and_evaluate`.

Every training runs `config.num_seeds` seeds side by side: the state has a leading seed axis, one
compiled step vmaps over it and `genjax.seeds` shards it over the devices. Seed s has its own
chains (pool, target A, genres), data and init, all derived from `config.seed`, so the spread
over seeds includes the draw of the domains. The study (`config.study`) chooses which models are
trained and evaluated: the five studies in `studies.py`, their trainings in `fit.py`, the exact
references in `bayes.py` and `references.py`, results.md in `report.py`; the models, the step and
the scoring of a model are the language-model library's (genjax/lm).
The studies of one size share a workdir (and its pretrained models), so its results.json holds
every study run there: {"studies": {study: that study's results}}.
"""


import numpy as np
from ml_collections import ConfigDict

from genjax import checks, logs, seeds
from genjax.domain import figures, markov, report, studies
from genjax.domain.fit import Trainings
from genjax.errors import UserError
from genjax.lm.model import check_archs
from genjax.registry import EXPERIMENTS
from genjax.workdir import Workdir

# config.study -> the study that runs (genjax/domain/studies.py)
STUDIES = {"diversity": studies.diversity, "architecture": studies.architecture,
           "finetune": studies.finetune, "fewshot": studies.fewshot,
           "continual": studies.continual}


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "study", STUDIES)
  checks.require_choice(config, "positions", ("learned", "rotary"))
  checks.require_choice(config, "first_token", markov.FIRST_TOKENS)
  checks.require_choice(config, "parallel", seeds.MODES)
  checks.require_positive(config, "num_seeds", "vocab", "alpha", "seq_len", "num_layers",
                          "width", "num_heads", "pretrain_steps", "batch_size", "learning_rate",
                          "pretrain_evals", "eval_sequences", "eval_chunk", "finetune_lrs",
                          "lora_lr", "replay_lr", "num_genres", "genre_alpha",
                          "genre_concentration", "fewshot_sizes", "fewshot_steps", "fewshot_lr",
                          "dapt_lr", "dapt_shots", "continual_stages", "continual_steps",
                          "continual_lr", "log_every", "checkpoint_every", "unigram_prior")
  checks.require_non_negative(config, "pool_sizes", "finetune_step_grid", "warmup_steps",
                              "dapt_steps", "continual_replay", "replay_fractions", "lora_ranks",
                              "num_devices")
  if config.width % (2 * config.num_heads):
    raise UserError(f"config.width={config.width} must be a multiple of 2 * config.num_heads")
  if config.eval_sequences % min(config.eval_chunk, config.eval_sequences):
    raise UserError(f"config.eval_sequences={config.eval_sequences} must be a multiple of "
                    f"config.eval_chunk={config.eval_chunk}")
  if any(not 0 <= f < 1 for f in [*config.replay_fractions, config.continual_replay]):
    raise UserError("config.replay_fractions and config.continual_replay must be in [0, 1)")
  if config.num_genres < max(2, config.continual_stages):
    raise UserError(f"config.num_genres={config.num_genres} must be >= 2 and >= "
                    f"config.continual_stages={config.continual_stages}")
  check_archs(config)


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Runs config.study; writes its entry of results.json, losses_<study>.npz, results.md, PNGs;
  returns the entry."""
  validate(config)
  sp = seeds.seed_parallel(config.num_seeds, config.parallel, config.num_devices)
  with Workdir.open(workdir, config, EXPERIMENTS["domain"], tensorboard=config.tensorboard) as wd:
    # Every training of the study is a loop.Trainer in this workdir, resumable and evaluated on
    # its grid (workdir/evals/<name>.jsonl); studies of one protocol share its pretraining.
    trainings = Trainings(config, workdir, sp, wd.writer)
    results, losses = STUDIES[config.study](trainings)
    results = {"study": config.study, "num_seeds": config.num_seeds, "seq_len": config.seq_len,
               "config": logs.config_to_dict(config), **results}
    wd.write_results(results)  # this study's entry, beside the other studies' run here
    if logs.is_main_process():
      np.savez(wd.file(f"losses_{config.study}.npz"),
               **{k: np.asarray(v) for k, v in losses.items()})
      report.write_markdown(workdir)
      if config.make_plots:
        figures.write_figures(config.study, results, losses, workdir)
  return results

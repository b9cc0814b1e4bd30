"""Domain generalization on in-context Markov-chain domains (issue 4): `train_and_evaluate`.

Every training runs `config.num_seeds` seeds side by side: the state has a leading seed axis, one
compiled step vmaps over it and `genjax.seeds` shards it over the devices. Seed s has its own
chains (pool, target A, genres), data and init, all derived from `config.seed`, so the spread
over seeds includes the draw of the domains. The study (`config.study`) chooses which models are
trained and evaluated: pretraining studies in `pretraining.py`, adaptation studies in
`adaptation.py`; the pure step in `step.py`, scoring in `evaluate.py`, results.md in `report.py`.
The studies of one size share a workdir (and its pretrained models), so its results.json holds
every study run there: {"studies": {study: that study's results}}.
"""

import functools
import json
import os

import numpy as np
from ml_collections import ConfigDict

from genjax import checks, identity, logs, seeds
from genjax.domain import adaptation, figures, markov, pretraining, report
from genjax.domain.fit import fit
from genjax.errors import UserError

STUDIES = ("diversity", "architecture", "finetune", "fewshot", "continual")
ARCHS = ("transformer", "transformer_1layer", "bag_mlp")


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
  for field, arch in [("model", config.model),
                      *(("architecture_models", a) for a in config.architecture_models)]:
    if arch not in ARCHS:
      raise UserError(f"config.{field} has unknown architecture {arch!r}; use "
                      f"{', '.join(ARCHS)}")


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Runs config.study; writes its entry of results.json, losses_<study>.npz, results.md, PNGs;
  returns the entry."""
  validate(config)
  sp = seeds.seed_parallel(config.num_seeds, config.parallel, config.num_devices)
  os.makedirs(workdir, exist_ok=True)
  writer = logs.MetricsWriter(workdir, tensorboard=config.tensorboard)
  writer.write_config(config)
  # Every training of the study: resumable, evaluated on its grid (workdir/evals/<name>.jsonl).
  fit_fn = functools.partial(fit, config=config, workdir=workdir, sp=sp, writer=writer)
  if config.study == "diversity":
    results, losses = pretraining.diversity(fit_fn, config)
  elif config.study == "architecture":
    results, losses = pretraining.architecture(fit_fn, config)
  elif config.study == "finetune":
    results, losses = adaptation.finetune_study(fit_fn, config)
  elif config.study == "fewshot":
    results, losses = adaptation.fewshot_study(fit_fn, config)
  else:
    results, losses = adaptation.continual_study(fit_fn, config)
  results = {"study": config.study, "num_seeds": config.num_seeds, "seq_len": config.seq_len,
             "config": logs.config_to_dict(config), **results}
  if logs.is_main_process():
    write_study_results(workdir, config.study, results)
    np.savez(os.path.join(workdir, f"losses_{config.study}.npz"),
             **{k: np.asarray(v) for k, v in losses.items()})
    report.write_markdown(workdir)
    if config.make_plots:
      figures.write_figures(config.study, results, losses, workdir)
  writer.close()  # after results.json: the other studies' entries are read and written back
  return results


def write_study_results(workdir: str, study: str, results: dict) -> None:
  """Puts the study's results into workdir/results.json beside those of the other studies run
  there (the workdir's lock is held: no other process writes it meanwhile)."""
  path = os.path.join(workdir, identity.RESULTS_FILE)
  everything = {"studies": {}}
  if os.path.exists(path):
    with open(path) as f:
      everything = json.load(f)
  everything["studies"][study] = results
  identity.write_json(path, everything)

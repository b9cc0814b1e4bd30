"""GAN mode coverage: every method trained on S seeds in one compiled step, evaluated, reported.

`train_and_evaluate` reads top to bottom: validate, devices, data, models, the loop with its
evaluations, the report. The pure step is in `gan/step.py`, the scoring in `gan/evaluate.py`,
results.md and the figures in `gan/report.py`.
"""

import jax
from absl import logging
from ml_collections import ConfigDict

from genjax import checks, logs, seeds
from genjax.errors import UserError
from genjax.gan import data, evaluate, hopping, models, report, step
from genjax.loop import Trainer
from genjax.models import classifier
from genjax.registry import EXPERIMENTS
from genjax.workdir import Workdir


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "dataset", data.DATASETS)
  checks.require_choice(config, "arch", ("small", "pacgan", *models.CONV_ARCHS))
  checks.require_choice(config, "batch_unit", ("packs", "samples"))
  checks.require_choice(config, "parallel", seeds.MODES)
  checks.require_choice(config, "seed_map", ("auto", "vmap", "loop"))  # its sampler reads the
  # stacked device state, which "sequential" does not keep
  checks.require_choice(config, "g_loss", ("non_saturating", "saturating"))
  checks.require_choice(config, "classifier", classifier.KINDS)
  checks.require_choice(config, "prdc_space", ("pixels", "features"))
  if config.prdc_space == "features" and config.dataset not in data.DIGIT_SOURCES:
    raise UserError(f"config.prdc_space=features needs a digit dataset (a classifier to read "
                    f"features); {config.dataset!r} is compared in its own coordinates")
  checks.require_positive(config, "ring_modes", "ring_radius", "ring_std", "grid_side",
                          "grid_spacing", "grid_std", "latent_dim", "small_hidden",
                          "pacgan_g_hidden", "pacgan_d_hidden", "maxout_pieces", "wgan_gp_d_steps",
                          "d_steps", "num_steps", "batch_size", "g_learning_rate",
                          "d_learning_rate", "num_seeds", "log_every", "checkpoint_every",
                          "keep_checkpoints", "eval_every", "eval_samples", "hq_num_std",
                          "prdc_samples", "k_precision_recall", "k_density_coverage",
                          "ndb_bins", "ndb_alpha", "snapshot_samples", "classifier_steps",
                          "d_input_scale", "small_d_hidden", "steps_per_call")
  checks.require_non_negative(config, "gp_weight", "r1_gamma", "adam_eps_root", "decay_fraction",
                              "g_ema_decay", "dcgan_d_width")
  if config.decay_fraction > 1:
    raise UserError(f"config.decay_fraction must be in [0, 1], got {config.decay_fraction}")
  if config.g_ema_decay >= 1:
    raise UserError(f"config.g_ema_decay must be in [0, 1), got {config.g_ema_decay}")
  names = step.method_names(config)
  if not names:
    raise UserError("config.methods is empty; e.g. --config.methods=gan,pacgan2")
  if len(set(names)) != len(names):
    raise UserError(f"config.methods repeats a method: {config.methods!r}")
  for name in names:
    method = step.parse_method(name)
    samples = config.batch_size * method.batch_scale
    if config.batch_unit == "samples" and samples % method.pack:
      raise UserError(f"{samples} samples per step of {name!r} (config.batch_size="
                      f"{config.batch_size}) are not a multiple of its pack size {method.pack} "
                      "(config.batch_unit='samples')")
  for field in ("num_steps", "log_every", "checkpoint_every", "eval_every"):
    if config[field] % config.steps_per_call:
      raise UserError(f"config.{field}={config[field]} is not a multiple of config.steps_per_call="
                      f"{config.steps_per_call}: logs, checkpoints and evaluations happen between "
                      "compiled calls; pick a steps_per_call that divides it (1 always does)")
  if config.prdc_samples > config.eval_samples:
    raise UserError(f"config.prdc_samples={config.prdc_samples} exceeds "
                    f"config.eval_samples={config.eval_samples}")
  if config.k_density_coverage >= config.prdc_samples:
    raise UserError("config.k_density_coverage must be smaller than config.prdc_samples")


def run_method(config: ConfigDict, name: str, dataset, judge: evaluate.Judge, workdir: str,
               seed_parallel: seeds.SeedParallel, writer) -> tuple[dict, jax.Array]:
  """Trains S seeds of one method (resuming), evaluating at each eval point; returns results."""
  setup = step.make_setup(config, dataset, step.parse_method(name))
  state, train_keys_S = step.initial_seeds(setup, config)
  sample = evaluate.make_sampler(setup, config, seed_parallel.seed_map)
  train_step = step.compile_seeds_step(setup, seed_parallel, config.steps_per_call)
  eval_steps = evaluate.eval_points(config)
  with Trainer(evaluate.slug(name), state, train_step, devices=seed_parallel, key=train_keys_S,
               workdir=workdir, config=config, num_steps=config.num_steps,
               eval_steps=eval_steps, writer=writer) as trainer:
    for stop in eval_steps:
      trainer.train_to(stop)
      if trainer.should_evaluate(stop):  # not already evaluated before a restart
        record = evaluate.eval_record(judge, sample(trainer.device_state), workdir, name, stop)
        logging.info("%s step %d: modes per seed %s", name, stop,
                     [int(v) for v in record["modes"]])
        trainer.record_eval(stop, record)
    samples_S = sample(trainer.host_state())
  evals = logs.read_evals(workdir, evaluate.slug(name))
  result = evaluate.method_result(config, setup, judge, samples_S, evals, train_step.num_traces())
  return result, samples_S


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Trains every method of config.methods on S seeds, evaluates, writes results and figures."""
  validate(config)
  seed_parallel = seeds.seed_parallel(config.num_seeds, config.parallel,
                                      seed_map=step.seed_map(config))
  logging.info("%d seeds on %d %s device(s) (%s, %s)", config.num_seeds,
               seed_parallel.num_devices, jax.devices()[0].platform, seed_parallel.mode,
               seed_parallel.seed_map)
  dataset = data.make_dataset(config)
  with Workdir.open(workdir, config, EXPERIMENTS["gan"], tensorboard=config.tensorboard) as wd:
    judge = evaluate.make_judge(config, dataset)
    results = evaluate.reference_results(config, dataset, judge)
    all_samples = {}
    for name in step.method_names(config):
      results["methods"][name], all_samples[name] = run_method(config, name, dataset, judge,
                                                               workdir, seed_parallel, wd.writer)
      summary = results["methods"][name]["summary"]
      logging.info("%s: modes %.2f ± %.2f (s.d.), rKL %.3f", name, summary["modes"]["mean"],
                   summary["modes"]["sd"], summary["reverse_kl"]["mean"])
    for name, result in results["methods"].items():
      result["matched_control"] = step.matched_control(results["methods"], name)
      if isinstance(dataset, data.Mixture):
        result["mode_shares"] = hopping.mode_shares(
            workdir, name, [h["step"] for h in result["history"]], dataset)
    wd.write_results(results)
    if logs.is_main_process():
      report.write_markdown(results, config, wd.file("results.md"))
      report.write_samples(all_samples, dataset, judge.real_eval, judge, wd.file("samples.npz"))
      if config.make_plots:
        report.write_figures(results, dataset, workdir, config)
  return results

"""VAE vs AE: train each model (several seeds in one program), evaluate each seed, report.

Held-out data: a validation split carved from the train split (`config.validation_fraction`) is
evaluated while training, every `config.eval_every` steps (the learning curve the Q3 rules'
convergence guard reads, and the score that selects each seed's checkpoint: selection.py); the
test split is read only once, after training, at the selected checkpoint (and the final one's
reconstruction NLL beside it).

Seeds: every model trains `config.num_seeds` seeds side by side. The per-device step is vmapped
over a leading seed axis of the state and of the key, and over axis 1 of the batch
([batch, seed, pixels]: the batch axis stays first, so data parallelism shards it over devices
as before). Seed s has its own initial params and its own batch order, and seed s of every
model (AE and each beta) shares them, so model comparisons are paired by seed.
"""


import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from ml_collections import ConfigDict

from genjax import checks, logs, parallel, seeds, stats
from genjax.data import batching, images
from genjax.errors import UserError
from genjax.loop import Trainer
from genjax.models.autoencoder import EncoderDecoder
from genjax.models.classifier import KINDS as classifier_kinds
from genjax.models.classifier import train_classifier
from genjax.registry import EXPERIMENTS
from genjax.vae import evaluate, objectives, report
from genjax.vae.data import load_data
from genjax.vae.selection import Selection
from genjax.workdir import Workdir

# Tags of seeds.seed_keys: initial params, training noise, evaluation noise.
INIT, TRAIN, EVAL = 0, 1, 2
# Tag folded into a seed's EVAL key for the draws of the last step's training distortion
# (evaluate_model folds 0-5 into the same key).
FINAL_DRAWS = 6
SCHEDULES = ("constant", "cosine")


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "dataset", images.DATASETS)
  checks.require_choice(config, "binarize", ("static", "dynamic", "none"))
  checks.require_choice(config, "lr_schedule", SCHEDULES)
  checks.require_choice(config, "classifier", classifier_kinds)
  checks.require_positive(config, "hidden", "latents", "num_steps", "batch_size",
                          "learning_rate", "num_seeds", "log_every", "checkpoint_every",
                          "eval_every", "validation_fraction",
                          "keep_checkpoints", "iwae_samples", "iwae_chunk", "classifier_steps",
                          "interpolation_pairs", "interpolation_steps")
  checks.require_non_negative(config, "betas", "eval_examples", "num_generated", "num_devices",
                              "curve_train_examples")
  if config.iwae_samples % config.iwae_chunk:
    raise UserError(f"config.iwae_samples={config.iwae_samples} must be a multiple of "
                    f"config.iwae_chunk={config.iwae_chunk}")
  if config.validation_fraction >= 1:
    raise UserError(f"config.validation_fraction={config.validation_fraction} must be below 1: "
                    "the rest of the train split is what the models train on")
  if not config.betas and not config.train_autoencoder:
    raise UserError("nothing to train: config.betas is empty and config.train_autoencoder=False")


def model_specs(config: ConfigDict) -> list[tuple[str, float, bool]]:
  """(name, beta, stochastic) for every model the config asks for."""
  specs = [("ae", 0.0, False)] if config.train_autoencoder else []
  specs += [(f"vae_beta{beta:g}", float(beta), True) for beta in config.betas]
  return specs


def create_state(model, tx, key, num_pixels: int) -> dict:
  params = model.init(key, jnp.zeros((1, num_pixels)))
  return {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": tx.init(params)}


def make_train_step(model, tx, dp: parallel.DataParallel, *, beta: float, stochastic: bool,
                    dynamic_binarization: bool, diagnostics: bool = False):
  """The per-device step `(state, batch, key) -> (state, metrics)`; compile with `dp.compile`.

  `diagnostics=True` adds the gradient, parameter and update norms to the metrics. They are
  three extra passes over every parameter (10-17% of a step at batch 128 on CPU), so the loop runs
  this variant on logging steps only; both variants compute the same new state.
  """

  def train_step(state, batch, key):
    key = jax.random.fold_in(key, state["step"])
    x_BxP = batch["image"]
    keys_B = dp.example_keys(key, x_BxP.shape[0])
    if dynamic_binarization:
      x_BxP = jax.vmap(lambda k, x: jax.random.bernoulli(jax.random.fold_in(k, 1), x))(
          keys_B, x_BxP).astype(jnp.float32)

    def loss_fn(params):
      per_example = jax.vmap(lambda x, k: objectives.example_loss(
          model, params, x, k, beta=beta, stochastic=stochastic))
      losses_B, parts = per_example(x_BxP, keys_B)
      return losses_B.mean(), jax.tree.map(jnp.mean, parts)

    (loss, parts), grads = dp.value_and_grad(loss_fn)(state["params"])
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    metrics = {"loss": loss, **parts}
    if diagnostics:
      metrics.update(grad_norm=optax.global_norm(grads), param_norm=optax.global_norm(params),
                     update_norm=optax.global_norm(updates))
    return {"step": state["step"] + 1, "params": params, "opt_state": opt_state}, metrics

  return train_step


def make_seeds_step(model, tx, dp: parallel.DataParallel, **step_options):
  """`make_train_step` vmapped over seeds: state and key [S, ...], batch [B, S, ...]."""
  return jax.vmap(make_train_step(model, tx, dp, **step_options), in_axes=(0, 1, 0))


def make_model(config, num_pixels: int) -> EncoderDecoder:
  return EncoderDecoder(tuple(config.hidden), config.latents, num_pixels, config.activation)


def initial_state(config, model, tx, num_pixels: int) -> dict:
  """Stacked [S] states; seed s of every model starts from the same params."""
  keys_S = seeds.seed_keys(config.seed, config.num_seeds, INIT)
  return jax.vmap(lambda k: create_state(model, tx, k, num_pixels))(keys_S)


def optimizer(config) -> optax.GradientTransformation:
  """Adam at config.learning_rate, constant or cosine-decayed to 0 over num_steps."""
  if config.lr_schedule == "cosine":
    return optax.adam(optax.cosine_decay_schedule(config.learning_rate, config.num_steps))
  return optax.adam(config.learning_rate)


def eval_points(config) -> list[int]:
  """Steps after which the validation (and train) reconstruction NLL is measured."""
  return sorted({*range(config.eval_every, config.num_steps, config.eval_every),
                 config.num_steps})


def train_model(config, name, beta, stochastic, data, workdir, dp, writer):
  """Trains the seeds of one model (resuming from its checkpoints), measuring its learning curve
  every config.eval_every steps and keeping each seed's params at its best validation step
  (selection.py); returns (model, final params_S, selected params_S, selected steps, curve)."""
  num_pixels = data["train"]["image"].shape[1]
  model = make_model(config, num_pixels)
  tx = optimizer(config)

  def compiled_step(diagnostics):
    return dp.compile(make_seeds_step(model, tx, dp, beta=beta, stochastic=stochastic,
                                      dynamic_binarization=config.binarize == "dynamic",
                                      diagnostics=diagnostics))

  reconstruction_nll_S = evaluate.make_reconstruction_nll_seeds(model)

  curve_images = {"validation": data["validation"]["binary"],
                  "train": data["train"]["binary"][:config.curve_train_examples or None]}

  def evaluate_curve(step, device_state) -> dict:
    """The learning curve: recon NLL (z = mean) of every seed on validation and train images."""
    params_S = dp.get_state(device_state)["params"]
    record = {f"{split}_reconstruction_nll": np.asarray(reconstruction_nll_S(
        params_S, images)).tolist() for split, images in curve_images.items()}
    logging.info("%s step %d: validation recon NLL %.3f", name, step,
                 np.mean(record["validation_reconstruction_nll"]))
    return record

  streams = tuple(range(config.num_seeds))  # seed s reads batch stream s
  eval_steps = eval_points(config)
  initial = initial_state(config, model, tx, num_pixels)
  selected = Selection(workdir, name, initial["params"], write=logs.is_main_process())
  with Trainer(name, initial, compiled_step(False),
               log_step=compiled_step(True), devices=dp, workdir=workdir, config=config,
               key=seeds.seed_keys(config.seed, config.num_seeds, TRAIN),
               get_batch=lambda s: batching.seeds_batch_at_step(
                   data["train"], s, config.batch_size, config.seed, streams),
               num_steps=config.num_steps, eval_steps=eval_steps, writer=writer) as trainer:
    for stop in eval_steps:
      trainer.train_to(stop)
      if trainer.should_evaluate(stop):  # not already evaluated before a restart
        record = evaluate_curve(stop, trainer.device_state)
        selected.update(stop, record["validation_reconstruction_nll"],
                        trainer.host_state()["params"])
        trainer.record_eval(stop, record)
    params_S = trainer.host_state()["params"]
  return (model, params_S, selected.params_S(), selected.step_S.tolist(),
          learning_curve(logs.read_evals(workdir, name), config))


def learning_curve(evals: list[dict], config) -> dict:
  """{"step", "validation_reconstruction_nll", "train_reconstruction_nll"}, each value a
  stats.summary, at this run's eval points (records of other step grids in the workdir are
  skipped)."""
  points = set(eval_points(config))
  evals = [r for r in evals if r["step"] in points]
  curve = {"step": [r["step"] for r in evals]}
  for split in ("validation", "train"):
    key = f"{split}_reconstruction_nll"
    curve[key] = [stats.summary(r[key]) for r in evals]
  return curve


def seed_params(params_S, s: int):
  return jax.tree.map(lambda x: np.asarray(x[s]), params_S)


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Trains the AE and the beta sweep, evaluates them, writes results.md/results.json/figures."""
  validate(config)
  dp = parallel.data_parallel(config.parallel, config.num_devices or None)
  logging.info("data parallel: %s over %d device(s); %d seeds per model", dp.mode,
               dp.num_devices, config.num_seeds)
  data = load_data(config)
  with Workdir.open(workdir, config, EXPERIMENTS["vae"], tensorboard=config.tensorboard) as wd:
    key = jax.random.key(config.seed)
    classifier = train_classifier(
        data["train"]["binary"], data["train"]["label"], data["test"]["binary"],
        data["test"]["label"], seed=config.seed, hidden=tuple(config.classifier_hidden),
        kind=config.classifier, steps=config.classifier_steps)
    logging.info("judge classifier test accuracy: %.4f", classifier.test_accuracy)
    test_features = classifier.features(data["test"]["binary"])  # what every FD compares with
    num_eval = min(config.eval_examples or len(data["test"]["binary"]),
                   len(data["test"]["binary"]))
    results = {
        "dataset": config.dataset, "seed": config.seed, "num_seeds": config.num_seeds,
        "num_steps": config.num_steps, "train_examples": len(data["train"]["binary"]),
        "validation_examples": len(data["validation"]["binary"]),
        "test_examples": num_eval,
        # The MI estimate uses the eval codes' mixture as q(z): it cannot exceed log N.
        "mutual_information_ceiling": float(np.log(num_eval)),
        "classifier": config.classifier,
        "classifier_test_accuracy": classifier.test_accuracy,
        "references": evaluate.reference_quality(classifier, data["train"]["binary"],
                                                 test_features, jax.random.fold_in(key, 7)),
        "models": {},
    }
    eval_keys_S = seeds.seed_keys(config.seed, config.num_seeds, EVAL)
    figures = {}
    for name, beta, stochastic in model_specs(config):
      model, final_S, selected_S, selected_steps, curve = train_model(
          config, name, beta, stochastic, data, workdir, dp, wd.writer)
      # Evaluated once, after training: each seed at its selected checkpoint, and its last.
      per_seed, final = [], []
      for s in range(config.num_seeds):
        metrics, arrays = evaluate.evaluate_model(
            config, model, seed_params(selected_S, s), stochastic, data, classifier,
            test_features, eval_keys_S[s])
        per_seed.append(metrics)
        final.append(evaluate.final_reconstruction(
            config, model, seed_params(final_S, s), data,
            jax.random.fold_in(eval_keys_S[s], FINAL_DRAWS), stochastic))
        if s == 0:
          figures[name] = arrays  # the figures show seed 0
      results["models"][name] = {"beta": beta, "stochastic": stochastic,
                                 **evaluate.summarize_seeds(per_seed),
                                 "selected_step": stats.summary(selected_steps),
                                 "final": evaluate.summarize_seeds(final), "curve": curve}
      logging.info("%s: %s", name, {k: round(v["mean"], 3) for k, v in
                                    results["models"][name].items()
                                    if isinstance(v, dict) and "mean" in v})
    wd.write_results(results)
    if logs.is_main_process():
      report.write_markdown(results, config, wd.file("results.md"))
      if config.make_plots:
        report.write_figures(figures, data, workdir, image_shape=data["image_shape"])
        report.write_rate_distortion(results, wd.file("rate_distortion.png"))
        report.write_curves(results, wd.file("learning_curves.png"))
  return results

"""VAE vs AE: train each model, evaluate it on the test split, write results.md and figures."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from ml_collections import ConfigDict

from genjax import checks, logs, parallel
from genjax.data import batching, images
from genjax.errors import UserError
from genjax.loop import train_loop
from genjax.models.autoencoder import EncoderDecoder
from genjax.models.classifier import train_classifier
from genjax.vae import evaluate, objectives, report


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "dataset", images.DATASETS)
  checks.require_choice(config, "binarize", ("static", "dynamic", "none"))
  checks.require_positive(config, "hidden", "latents", "num_steps", "batch_size",
                          "learning_rate", "log_every", "checkpoint_every", "keep_checkpoints",
                          "iwae_samples", "iwae_chunk", "classifier_steps",
                          "interpolation_pairs", "interpolation_steps")
  checks.require_non_negative(config, "betas", "eval_examples", "num_generated", "num_devices")
  if config.iwae_samples % config.iwae_chunk:
    raise UserError(f"config.iwae_samples={config.iwae_samples} must be a multiple of "
                    f"config.iwae_chunk={config.iwae_chunk}")
  if not config.betas and not config.train_autoencoder:
    raise UserError("nothing to train: config.betas is empty and config.train_autoencoder=False")


def model_specs(config: ConfigDict) -> list[tuple[str, float, bool]]:
  """(name, beta, stochastic) for every model the config asks for."""
  specs = [("ae", 0.0, False)] if config.train_autoencoder else []
  specs += [(f"vae_beta{beta:g}", float(beta), True) for beta in config.betas]
  return specs


def load_data(config: ConfigDict) -> dict:
  """Flat train/test images (binarized as configured) and labels."""
  data = {}
  for split in ("train", "test"):
    arrays = images.load(config.dataset, split, config.data_dir)
    x = arrays["image"].reshape(len(arrays["image"]), -1)
    if config.binarize == "static":
      x = images.binarize_static(x)
    elif config.binarize == "dynamic" and split == "test":
      # A fixed draw for the test set, as in Burda et al. 2016.
      x = np.asarray(images.binarize_dynamic(jax.random.key(config.seed + 1), x))
    data[split] = {"image": x, "label": arrays["label"]}
  return data


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


def train_model(config, name, beta, stochastic, data, workdir, dp, writer):
  """Trains one model (resuming from its checkpoints) and returns (model, params)."""
  num_pixels = data["train"]["image"].shape[1]
  model = EncoderDecoder(tuple(config.hidden), config.latents, num_pixels, config.activation)
  tx = optax.adam(config.learning_rate)
  base_key = jax.random.key(config.seed)
  # AE and VAEs start from the same initial params: differences come from the objective.
  state = create_state(model, tx, jax.random.fold_in(base_key, 0), num_pixels)

  def compiled_step(diagnostics):
    return dp.compile(make_train_step(model, tx, dp, beta=beta, stochastic=stochastic,
                                      dynamic_binarization=config.binarize == "dynamic",
                                      diagnostics=diagnostics))

  state = train_loop(
      state=state, train_step=compiled_step(False), log_step=compiled_step(True),
      key=jax.random.fold_in(base_key, 1),
      get_batch=lambda s: batching.batch_at_step(data["train"], s, config.batch_size, config.seed),
      num_steps=config.num_steps, workdir=workdir, dp=dp, log_every=config.log_every,
      checkpoint_every=config.checkpoint_every, keep_checkpoints=config.keep_checkpoints,
      writer=writer, name=name)
  return model, state["params"]


def evaluate_model(config, model, params, stochastic, data, classifier, key) -> tuple[dict, dict]:
  """All test metrics of one model, and the arrays the figures need."""
  test_x, train_x = data["test"]["image"], data["train"]["image"]
  eval_x = test_x[:config.eval_examples] if config.eval_examples else test_x
  metrics = evaluate.likelihood_metrics(
      model, params, eval_x, jax.random.fold_in(key, 0), stochastic=stochastic,
      iwae_samples=config.iwae_samples, iwae_chunk=config.iwae_chunk)
  train_metrics = evaluate.likelihood_metrics(model, params, train_x, key, stochastic=False,
                                             iwae_samples=1, iwae_chunk=1)
  metrics["train_reconstruction_nll"] = train_metrics["reconstruction_nll"]
  num_generated = config.num_generated or len(train_x)
  prior_z = np.asarray(jax.random.normal(jax.random.fold_in(key, 1),
                                         (num_generated, config.latents)))
  prior_samples = evaluate.decode_samples(model, params, prior_z, jax.random.fold_in(key, 2))
  metrics["prior_samples"] = evaluate.sample_quality(classifier, prior_samples, test_x)
  arrays = {"prior_samples": prior_samples}
  train_codes, _ = evaluate.encode(model, params, train_x)
  if not stochastic:
    fitted_z = evaluate.fitted_gaussian_codes(train_codes, num_generated,
                                              jax.random.fold_in(key, 3))
    fitted_samples = evaluate.decode_samples(model, params, fitted_z, jax.random.fold_in(key, 4))
    metrics["fitted_gaussian_samples"] = evaluate.sample_quality(classifier, fitted_samples, test_x)
    arrays["fitted_samples"] = fitted_samples
  test_codes, _ = evaluate.encode(model, params, test_x)
  pairs = 2 * config.interpolation_pairs
  order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 5), len(test_x)))[:pairs]
  smooth = evaluate.interpolation_smoothness(
      model, params, classifier, test_codes[order[0::2]], test_codes[order[1::2]],
      steps=config.interpolation_steps)
  arrays["paths"] = smooth.pop("paths")
  metrics["interpolation"] = smooth
  arrays["reconstructions"] = evaluate.decode_probabilities(model, params, test_codes[:10])
  arrays["test_codes"] = test_codes
  return metrics, arrays


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Trains the AE and the beta sweep, evaluates them, writes results.md/results.json/figures."""
  validate(config)
  dp = parallel.make(config.parallel, config.num_devices or None)
  logging.info("data parallel: %s over %d device(s)", dp.mode, dp.num_devices)
  data = load_data(config)
  writer = logs.MetricsWriter(workdir)
  writer.write_config(config)
  key = jax.random.key(config.seed)
  classifier = train_classifier(
      data["train"]["image"], data["train"]["label"], data["test"]["image"],
      data["test"]["label"], seed=config.seed, hidden=tuple(config.classifier_hidden),
      steps=config.classifier_steps)
  logging.info("judge classifier test accuracy: %.4f", classifier.test_accuracy)
  results = {
      "dataset": config.dataset, "seed": config.seed,
      "classifier_test_accuracy": classifier.test_accuracy,
      "references": evaluate.reference_quality(classifier, data["train"]["image"],
                                               data["test"]["image"], jax.random.fold_in(key, 7)),
      "models": {},
  }
  figures = {}
  for name, beta, stochastic in model_specs(config):
    model, params = train_model(config, name, beta, stochastic, data, workdir, dp, writer)
    metrics, arrays = evaluate_model(config, model, params, stochastic, data, classifier,
                                     jax.random.fold_in(key, 100))
    results["models"][name] = {"beta": beta, "stochastic": stochastic, **metrics}
    figures[name] = arrays
    logging.info("%s: %s", name, {k: v for k, v in metrics.items() if not isinstance(v, dict)})
  writer.close()
  if logs.is_main_process():
    with open(os.path.join(workdir, "results.json"), "w") as f:
      json.dump(results, f, indent=2)
    report.write_markdown(results, config, os.path.join(workdir, "results.md"))
    if config.make_plots:
      report.write_figures(figures, data, workdir, image_shape=_image_shape(config))
      report.write_rate_distortion(results, os.path.join(workdir, "rate_distortion.png"))
  return results


def _image_shape(config) -> tuple[int, int]:
  return (8, 8) if config.dataset == images.EMBEDDED else (28, 28)

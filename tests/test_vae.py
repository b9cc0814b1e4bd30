"""VAE vs AE: objective properties, metric sanity, one-step golden values, end-to-end smoke."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

from genjax import parallel, seeds, stats
from genjax.checkpoint import Checkpointer
from genjax.configs import vae as vae_config
from genjax.data import batching, images
from genjax.metrics.frechet import frechet_distance
from genjax.models.autoencoder import EncoderDecoder
from genjax.models.classifier import Classifier, train_classifier
from genjax.models.classifier import make_net as classifier_net
from genjax.vae import data as vae_data
from genjax.vae import evaluate, objectives
from genjax.vae import train as vae_train


def test_kl_is_non_negative_and_zero_only_at_the_prior():
  key = jax.random.key(0)
  mean = 3 * jax.random.normal(key, (1000, 5))
  logvar = 4 * jax.random.normal(jax.random.fold_in(key, 1), (1000, 5))
  assert float(objectives.gaussian_kl_per_dim(mean, logvar).min()) >= 0.0
  np.testing.assert_allclose(objectives.gaussian_kl_per_dim(jnp.zeros(5), jnp.zeros(5)), 0.0)


def test_kl_matches_monte_carlo():
  key = jax.random.key(1)
  mean, logvar = jnp.array([0.7, -1.2]), jnp.array([-0.5, 0.8])
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, (200_000, 2))
  log_q = objectives.gaussian_log_density(z, mean, logvar)
  log_p = objectives.gaussian_log_density(z, jnp.zeros(2), jnp.zeros(2))
  np.testing.assert_allclose(float((log_q - log_p).mean()),
                             float(objectives.gaussian_kl_per_dim(mean, logvar).sum()), rtol=0.02)


def _tiny(num_pixels=64):
  model = EncoderDecoder((16,), 3, num_pixels)
  params = model.init(jax.random.key(0), jnp.zeros((1, num_pixels)))
  return model, params


def _digits_train_images():
  """The whole digits train split, statically binarized: the fixed inputs of the golden values
  (load_data holds a validation split out of it)."""
  x = images.load("digits", "train")["image"]
  return images.binarize_static(x.reshape(len(x), -1))


def _train_steps(beta, stochastic, steps=3):
  x = _digits_train_images()
  model = EncoderDecoder((16,), 3, 64)
  tx = optax.adam(1e-2)
  dp = parallel.data_parallel("none")
  state = vae_train.create_state(model, tx, jax.random.key(0), 64)
  step = dp.compile(vae_train.make_train_step(model, tx, dp, beta=beta, stochastic=stochastic,
                                              dynamic_binarization=False), donate=False)
  for s in range(steps):
    state, metrics = step(state, {"image": x[s * 32:(s + 1) * 32]}, jax.random.key(1))
  return state, metrics


def _reference_autoencoder_steps(steps=3):
  """A plain autoencoder written without genjax's objective: decode the encoder mean, BCE."""
  x = _digits_train_images()
  model = EncoderDecoder((16,), 3, 64)
  tx = optax.adam(1e-2)
  params = model.init(jax.random.key(0), jnp.zeros((1, 64)))
  opt_state = tx.init(params)

  def loss_fn(params, x_BxP):
    mean_BxZ, _ = model.apply(params, x_BxP, method=model.encode)
    logits_BxP = model.apply(params, mean_BxZ, method=model.decode)
    return optax.sigmoid_binary_cross_entropy(logits_BxP, x_BxP).sum(-1).mean()

  for s in range(steps):
    grads = jax.grad(loss_fn)(params, x[s * 32:(s + 1) * 32])
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
  return params


def test_autoencoder_equals_vae_with_beta_zero_and_no_sampling():
  ae_name, ae_beta, ae_stochastic = vae_train.model_specs(vae_config.get_config())[0]
  assert (ae_name, ae_beta, ae_stochastic) == ("ae", 0.0, False)
  genjax_ae, _ = _train_steps(ae_beta, ae_stochastic)
  reference = _reference_autoencoder_steps()
  for a, b in zip(jax.tree.leaves(genjax_ae["params"]), jax.tree.leaves(reference), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # per-example vmap vs batched sums
  # ... and the comparison can fail: sampling z, or a KL weight, changes the trajectory.
  for beta, stochastic in ((0.0, True), (1.0, False)):
    other, _ = _train_steps(beta, stochastic)
    gaps = [np.max(np.abs(a - b)) for a, b in zip(jax.tree.leaves(other["params"]),
                                                   jax.tree.leaves(reference), strict=True)]
    assert max(gaps) > 100 * 1e-5, (beta, stochastic)


def test_importance_weighted_bound_is_above_the_elbo():
  model, params = _tiny()
  x = (jax.random.uniform(jax.random.key(2), (64,)) > 0.5).astype(jnp.float32)
  keys = jax.random.split(jax.random.key(3), 2000)
  elbo = -jax.vmap(lambda k: objectives.example_loss(
      model, params, x, k, beta=1.0, stochastic=True)[0])(keys).mean()
  iwae = objectives.importance_weighted_log_likelihood(model, params, x, jax.random.key(4),
                                                       num_samples=2000, chunk=250)
  assert float(iwae) > float(elbo)
  # k = 1 is the ELBO itself: its average over draws matches.
  iwae_1 = jax.vmap(lambda k: objectives.importance_weighted_log_likelihood(
      model, params, x, k, num_samples=1, chunk=1))(keys)
  np.testing.assert_allclose(float(iwae_1.mean()), float(elbo), rtol=0.02)


def test_iwae_chunking_does_not_change_the_estimate():
  model, params = _tiny()
  x = (jax.random.uniform(jax.random.key(5), (64,)) > 0.5).astype(jnp.float32)
  a = objectives.importance_weighted_log_likelihood(model, params, x, jax.random.key(6),
                                                    num_samples=1000, chunk=1000)
  b = objectives.importance_weighted_log_likelihood(model, params, x, jax.random.key(6),
                                                    num_samples=1000, chunk=100)
  assert float(a) == pytest.approx(float(b), abs=1e-4)  # same draws, other summation order


def test_frechet_distance():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(500, 4))
  assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
  shifted = a + np.array([3.0, 0, 0, 0])
  assert frechet_distance(a, shifted) == pytest.approx(9.0, rel=1e-6)
  # Two unit-variance Gaussians vs scale 2: FD = d * (1 - 2)^2 for isotropic covariances.
  big = rng.normal(size=(200_000, 4))
  assert frechet_distance(big, 2 * rng.normal(size=(200_000, 4))) == pytest.approx(4.0, rel=0.03)


def test_mutual_information_is_zero_for_an_uninformative_posterior():
  mean, logvar = np.zeros((300, 3), np.float32), np.zeros((300, 3), np.float32)
  assert abs(evaluate.mutual_information(mean, logvar, jax.random.key(0))) < 1e-5
  spread = np.repeat(np.arange(300, dtype=np.float32)[:, None] * 10, 3, axis=1)
  informative = evaluate.mutual_information(spread, np.full_like(spread, -4.0), jax.random.key(0))
  assert informative == pytest.approx(np.log(300), rel=1e-3)  # the log N ceiling


GOLDEN_ONE_STEP = {"loss": 49.145859, "reconstruction": 48.955193, "kl": 0.190664}


def test_one_step_golden_values():
  """If a change is intended, update GOLDEN_ONE_STEP with the values printed in the failure."""
  _, metrics = _train_steps(1.0, True, steps=1)
  got = {k: float(metrics[k]) for k in GOLDEN_ONE_STEP}
  for name, want in GOLDEN_ONE_STEP.items():
    assert got[name] == pytest.approx(want, rel=1e-5), f"one-step values changed: {got}"


def test_diagnostics_variant_adds_norms_and_computes_the_same_state():
  model, params = _tiny()
  tx = optax.adam(1e-2)
  dp = parallel.data_parallel("none")
  batch = {"image": _digits_train_images()[:32]}
  results = {}
  for diagnostics in (False, True):
    step = dp.compile(vae_train.make_train_step(
        model, tx, dp, beta=1.0, stochastic=True, dynamic_binarization=False,
        diagnostics=diagnostics), donate=False)
    state = vae_train.create_state(model, tx, jax.random.key(0), 64)
    results[diagnostics] = step(state, batch, jax.random.key(1))
  (plain_state, plain), (diag_state, diag) = results[False], results[True]
  assert set(diag) - set(plain) == {"grad_norm", "param_norm", "update_norm"}
  assert float(diag["grad_norm"]) > 0
  jax.tree.map(np.testing.assert_array_equal, plain_state, diag_state)


def test_seeds_train_in_one_compiled_program_and_match_separate_runs():
  """Seeds vmapped inside the data-parallel step: compiled once, each seed its own run."""
  config = vae_config.get_config("quick")
  config.num_seeds = 3
  x = vae_train.load_data(config)["train"]["image"]
  model = EncoderDecoder((16,), 3, 64)
  tx = optax.adam(1e-2)
  dp = parallel.data_parallel("shard_map", 2)
  options = dict(beta=1.0, stochastic=True, dynamic_binarization=True)
  state_S = vae_train.initial_state(config, model, tx, 64)
  keys_S = seeds.seed_keys(config.seed, 3, vae_train.TRAIN)
  step = dp.compile(vae_train.make_seeds_step(model, tx, dp, **options), donate=False)
  device_state = dp.put_state(state_S)
  for t in range(3):
    batch = batching.seeds_batch_at_step({"image": x}, t, 32, config.seed, range(3))
    assert batch["image"].shape == (32, 3, 64)
    device_state, metrics = step(device_state, dp.put_batch(batch), keys_S)
  assert step.num_traces() == 1
  assert np.asarray(metrics["loss"]).shape == (3,)
  together = jax.device_get(device_state)
  single = dp.compile(vae_train.make_train_step(model, tx, dp, **options), donate=False)
  for s in (0, 2):
    alone = dp.put_state(jax.tree.map(lambda v, s=s: v[s], state_S))
    for t in range(3):
      batch = batching.batch_at_step({"image": x}, t, 32, config.seed, stream=s)
      alone, _ = single(alone, dp.put_batch(batch), keys_S[s])
    for a, b in zip(jax.tree.leaves(jax.device_get(alone)["params"]),
                    jax.tree.leaves(together["params"]), strict=True):
      np.testing.assert_allclose(a, b[s], rtol=1e-5, atol=1e-6)
  first, last = (jax.tree.leaves(together["params"])[0][s] for s in (0, 2))
  assert not np.allclose(first, last)  # seeds really differ


def test_summaries_over_seeds_keep_the_metric_layout():
  per_seed = [{"reconstruction_nll": v, "latents": 8, "kl_per_dim": [v, 2 * v],
               "prior_samples": {"frechet": 10 * v}} for v in (1.0, 2.0, 3.0)]
  summary = evaluate.summarize_seeds(per_seed)
  assert summary["reconstruction_nll"] == stats.summary([1.0, 2.0, 3.0])
  assert summary["prior_samples"]["frechet"]["seeds"] == [10.0, 20.0, 30.0]
  assert summary["latents"] == 8 and summary["kl_per_dim"] == [2.0, 4.0]


def test_validation_split_is_carved_from_train_and_disjoint():
  config = vae_config.get_config()
  whole = images.load("digits", "train")
  rows = {"row": np.arange(len(whole["label"])), "label": whole["label"]}
  kept, held = vae_data.carve_validation(rows, config)
  assert len(held["row"]) == round(0.1 * len(whole["label"]))
  assert not set(kept["row"]) & set(held["row"])
  assert len(kept["row"]) + len(held["row"]) == len(whole["label"])
  assert np.all(np.diff(kept["row"]) > 0) and np.all(np.diff(held["row"]) > 0)  # order kept
  data = vae_train.load_data(config)  # load_data holds out exactly those rows
  flat = images.binarize_static(whole["image"].reshape(len(whole["label"]), -1))
  np.testing.assert_array_equal(data["validation"]["binary"], flat[held["row"]])
  np.testing.assert_array_equal(data["train"]["image"], flat[kept["row"]])
  assert len(data["test"]["label"]) == len(images.load("digits", "test")["label"])  # untouched
  other = vae_config.get_config()
  other.seed = 1  # another seed holds out other images
  assert set(vae_data.carve_validation(rows, other)[1]["row"]) != set(held["row"])


def test_learning_curve_reads_this_runs_eval_points():
  config = vae_config.get_config()
  config.num_steps, config.eval_every = 1000, 400
  assert vae_train.eval_points(config) == [400, 800, 1000]
  evals = [{"step": step, "train_seconds": 1.0, "validation_reconstruction_nll": [v, v + 1],
            "train_reconstruction_nll": [v - 1, v]} for step, v in ((400, 9.0), (500, 8.5),
                                                                    (800, 8.0), (1000, 7.0))]
  curve = vae_train.learning_curve(evals, config)
  assert curve["step"] == [400, 800, 1000]  # 500 came from another grid in the same workdir
  assert curve["validation_reconstruction_nll"][2] == stats.summary([7.0, 8.0])


def test_seeds_reconstruction_nll_matches_the_per_seed_metric():
  config = vae_config.get_config("quick")
  model = EncoderDecoder((16,), 3, 64)
  params_S = vae_train.initial_state(config, model, optax.adam(1e-3), 64)["params"]
  x = _digits_train_images()[:300]
  got = np.asarray(evaluate.make_reconstruction_nll_seeds(model)(params_S, x))
  want = [evaluate.reconstruction_nll(model, vae_train.seed_params(params_S, s), x)
          for s in range(config.num_seeds)]
  np.testing.assert_allclose(got, want, rtol=1e-5)
  assert got[0] != got[1]  # seeds differ


def test_evaluations_compile_once_for_every_seed_and_classifier_call():
  """Params are arguments of the evaluation programs, not constants: a second seed's params (and
  a second classifier call) reuse the compiled programs; XLA compiles nothing for them."""
  config = vae_config.get_config("quick")
  model = EncoderDecoder((16,), 3, 64)
  params_S = vae_train.initial_state(config, model, optax.adam(1e-3), 64)["params"]
  x = _digits_train_images()[:300]
  labels = np.arange(300) % 10
  classifier = train_classifier(x, labels, x, labels, seed=0, hidden=(8, 4), steps=2)

  def one_seed(s):
    params = vae_train.seed_params(params_S, s)
    evaluate.reconstruction_nll(model, params, x)
    evaluate.decode_probabilities(model, params, np.zeros((300, 3), np.float32))
    classifier.logits(x), classifier.features(x)

  compiles = []

  def count(event, seconds, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
      compiles.append(seconds)

  one_seed(0)
  jax.monitoring.register_event_duration_secs_listener(count)
  try:
    one_seed(1)
  finally:
    jax.monitoring.unregister_event_duration_listener(count)
  assert compiles == []


def _final_params(workdir, step):
  folder = os.path.join(workdir, "checkpoints", "vae_beta1")
  template = jax.tree.map(lambda m: np.zeros(m.shape, m.dtype), ocp.CheckpointManager(
      folder, item_handlers=ocp.StandardCheckpointHandler()).item_metadata(step))
  return Checkpointer(folder).restore(step, template)


@pytest.mark.slow
def test_end_to_end_smoke_and_resume(tmp_path):
  config = vae_config.get_config("quick")
  config.num_steps = 40
  config.log_every = 20
  config.checkpoint_every = 20
  config.eval_every = 20
  config.betas = (1.0,)
  config.iwae_samples = 20
  config.iwae_chunk = 10
  config.classifier_steps = 100
  config.num_generated = 200
  config.curve_train_examples = 100
  config.parallel = "shard_map"
  config.num_devices = 2
  resumed_dir, straight_dir = str(tmp_path / "resumed"), str(tmp_path / "straight")
  results = vae_train.train_and_evaluate(config, resumed_dir)
  for name in ("results.md", "results.json", "metrics.jsonl", "config.json", "samples.png",
               "reconstructions.png", "latents.png", "interpolations.png",
               "rate_distortion.png", "learning_curves.png"):
    assert os.path.exists(os.path.join(resumed_dir, name)), name
  assert set(results["models"]) == {"ae", "vae_beta1"}
  vae = results["models"]["vae_beta1"]
  assert vae["iwae_nll"]["mean"] <= vae["neg_elbo"]["mean"] + 0.5
  assert len(vae["prior_samples"]["frechet"]["seeds"]) == config.num_seeds
  assert np.isfinite(vae["prior_samples"]["frechet"]["mean"])
  # The learning curve was measured while training, at the eval points, on validation images:
  # its last point is the final params' reconstruction NLL there.
  assert vae["curve"]["step"] == [20, 40]
  data = vae_train.load_data(config)
  final = _final_params(resumed_dir, 40)["params"]
  model = vae_train.make_model(config, 64)
  want = [evaluate.reconstruction_nll(model, vae_train.seed_params(final, s),
                                      data["validation"]["binary"])
          for s in range(config.num_seeds)]
  np.testing.assert_allclose(vae["curve"]["validation_reconstruction_nll"][-1]["seeds"], want,
                             rtol=1e-5)
  on_train = [evaluate.reconstruction_nll(model, vae_train.seed_params(final, s),
                                          data["train"]["binary"][:100])
              for s in range(config.num_seeds)]  # its train line: the first 100 images
  np.testing.assert_allclose(vae["curve"]["train_reconstruction_nll"][-1]["seeds"], on_train,
                             rtol=1e-5)
  text = open(os.path.join(resumed_dir, "results.md")).read()
  assert "± " in text and "FD prior means" in text and "Training images at the last step" in text
  for m in results["models"].values():  # the FD on decoder means beside the draws'
    assert len(m["prior_means"]["frechet"]["seeds"]) == config.num_seeds
  assert np.isfinite(results["models"]["ae"]["fitted_gaussian_means"]["frechet"]["mean"])
  assert {"train_rate", "train_distortion", "train_active_units"} <= set(vae["final"])
  config.num_steps = 60  # resume from the step-40 checkpoints and train on
  resumed = vae_train.train_and_evaluate(config, resumed_dir)
  config.keep_checkpoints = 1  # how many checkpoints stay on disk decides no result
  straight = vae_train.train_and_evaluate(config, straight_dir)
  got, want = _final_params(resumed_dir, 60), _final_params(straight_dir, 60)
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
    np.testing.assert_array_equal(a, b)  # bitwise on CPU: batches and keys depend on the step
  assert resumed["models"] == straight["models"]  # curves included: [20, 40, 60] in both
  assert resumed["models"]["vae_beta1"]["curve"]["step"] == [20, 40, 60]
  assert resumed["models"]["vae_beta1"]["reconstruction_nll"] != vae["reconstruction_nll"]


@pytest.mark.slow
def test_binarized_mnist_flagfile_runs_through_tfds_offline(tmp_path):
  """The published-protocol flagfile, its exact config, on tfds.testing.mock_data images."""
  import tensorflow_datasets as tfds

  from genjax import cli

  config, workdir = cli.config_from_flagfile(
      "vae", os.path.join(os.path.dirname(__file__), "..", "experiments", "flags",
                          "vae_binarized_mnist.flags"))
  assert (config.dataset, tuple(config.hidden), config.latents) == ("binarized_mnist", (500,), 20)
  assert workdir == "workdirs/vae_binarized_mnist"
  config.num_steps = 2
  config.iwae_samples = 10
  config.iwae_chunk = 10
  config.classifier_steps = 2
  config.num_generated = 64
  config.interpolation_pairs = 2
  config.make_plots = False
  with tfds.testing.mock_data(num_examples=256):
    results = vae_train.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(results["models"]["vae_beta1"]["iwae_nll"]["mean"])


@pytest.mark.slow
def test_a_conv_judge_scores_the_samples_and_is_named(tmp_path):
  """config.classifier=conv: the FD columns come from the conv net's features (the MLP's differ)
  and results.json and results.md say which network judged."""
  config = vae_config.get_config("quick")
  config.update(num_steps=4, log_every=2, checkpoint_every=4, eval_every=2, betas=(1.0,),
                train_autoencoder=False, num_seeds=1, iwae_samples=10, iwae_chunk=10,
                classifier_steps=20, num_generated=64, interpolation_pairs=2, make_plots=False)
  fds = {}
  for kind in ("mlp", "conv"):
    config.classifier = kind
    results = vae_train.train_and_evaluate(config, str(tmp_path / kind))
    assert results["classifier"] == kind
    fds[kind] = results["models"]["vae_beta1"]["prior_samples"]["frechet"]["mean"]
    assert np.isfinite(fds[kind])
  assert fds["mlp"] != fds["conv"]
  assert "(a conv net) trained on real training images" in open(
      tmp_path / "conv" / "results.md").read()


def test_quick_evaluation_records_fd_on_means_and_training_rate_distortion():
  """The quick config's model and evaluation (untrained params, small counts): every model
  records the sample FD on decoder means beside the draws', the draws' FD keeps its definition
  (binary draws of the same prior codes, the same keys), and a VAE's last-step record holds its
  training distortion, rate (the mean KL of the training codes) and active units."""
  config = vae_config.get_config("quick")
  config.update(num_generated=64, interpolation_pairs=2, iwae_samples=10, iwae_chunk=10,
                eval_examples=50)
  data = vae_train.load_data(config)
  model = vae_train.make_model(config, 64)
  params = vae_train.seed_params(vae_train.initial_state(
      config, model, optax.adam(1e-3), 64)["params"], 0)
  x = data["train"]["binary"]
  judge = classifier_net("mlp", 64, (8, 4))  # untrained: the test reads fields, not quality
  classifier = Classifier(judge, judge.init(jax.random.key(0), x[:1]), 0.0)
  test_features = classifier.features(data["test"]["binary"])
  key = jax.random.key(3)
  for stochastic in (False, True):
    metrics, _ = evaluate.evaluate_model(config, model, params, stochastic, data, classifier,
                                         test_features, key)
    prior_z = np.asarray(jax.random.normal(jax.random.fold_in(key, 1), (64, config.latents)))
    draws = evaluate.decode_samples(model, params, prior_z, jax.random.fold_in(key, 2))
    assert metrics["prior_samples"] == evaluate.sample_quality(classifier, draws, test_features)
    assert np.isfinite(metrics["prior_means"]["frechet"])
    assert metrics["prior_means"]["frechet"] != metrics["prior_samples"]["frechet"]
    assert ("fitted_gaussian_means" in metrics) == (not stochastic)
  final = evaluate.final_reconstruction(config, model, params, data, key, stochastic=True)
  mean_NxZ, logvar_NxZ = evaluate.encode(model, params, x)
  kl = np.asarray(objectives.gaussian_kl_per_dim(mean_NxZ, logvar_NxZ)).sum(1).mean()
  assert final["train_rate"] == pytest.approx(float(kl), rel=1e-5)
  assert final["train_distortion"] > 0 and 0 <= final["train_active_units"] <= config.latents
  assert "train_rate" not in evaluate.final_reconstruction(config, model, params, data)

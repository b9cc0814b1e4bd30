"""The GAN train step: methods as switches, seeds vmapped and sharded, compiled once; end to end."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import logs, seeds
from genjax.configs import gan as gan_config
from genjax.errors import UserError
from genjax.gan import data, evaluate, hopping, losses, step, train
from genjax.metrics import frechet, prdc


def _config(**overrides):
  config = gan_config.get_config("quick")
  config.update(overrides)
  return config


def _setup(config, name):
  return step.make_setup(config, data.make_dataset(config), step.parse_method(name))


def _run_seeds_together(setup, config, num_steps, seed_parallel):
  keys_S = step.seed_keys(config)
  state = jax.vmap(lambda k: step.init_state(setup, k))(keys_S)
  train_keys = jax.vmap(lambda k: jax.random.fold_in(k, step.TRAIN_TAG))(keys_S)
  compiled = step.compile_seeds_step(setup, seed_parallel)
  state = seed_parallel.put_state(state)
  for _ in range(num_steps):
    state, metrics = compiled(state, {}, train_keys)
  return jax.device_get(state), jax.device_get(metrics), compiled


def _run_seeds_one_by_one(setup, config, num_steps):
  one_step = jax.jit(step.make_train_step(setup))  # one compilation shared by every seed
  states = []
  for key in step.seed_keys(config):
    state = step.init_state(setup, key)
    for _ in range(num_steps):
      state, _ = one_step(state, {}, jax.random.fold_in(key, step.TRAIN_TAG))
    states.append(state)
  return states


def _assert_seed_equal(stacked, s, alone):
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a[s], b, rtol=2e-5, atol=1e-6),
               stacked, alone)


def test_parse_method_names():
  assert step.parse_method("gan") == step.Method("gan")
  assert step.parse_method("pacgan3").pack == 3
  method = step.parse_method("unrolled5fo")
  assert method.unroll == 5 and method.first_order
  combo = step.parse_method("pacgan2+r1+mbstd")
  assert combo.pack == 2 and combo.r1 and combo.mbstd and not combo.wgan_gp
  control = step.parse_method("gan_batch2x")
  assert control.batch_scale == 2 and control.pack == 1 and not control.is_remedy
  assert step.parse_method("r1+batch4x").batch_scale == 4
  with pytest.raises(UserError, match="unknown GAN method"):
    step.parse_method("pacgan")
  with pytest.raises(UserError, match=">= 1"):
    step.parse_method("gan_batch0x")


def test_validate_rejects_bad_configs():
  train.validate(_config(methods="gan,pacgan3,gan_batch3x"))
  with pytest.raises(UserError, match="not a multiple"):
    train.validate(_config(methods="pacgan3", batch_unit="samples"))
  with pytest.raises(UserError, match="parallel"):
    train.validate(_config(parallel="pmap"))
  with pytest.raises(UserError, match="repeats"):
    train.validate(_config(methods="gan,gan"))
  with pytest.raises(UserError, match="g_loss"):
    train.validate(_config(g_loss="minimax"))
  with pytest.raises(UserError, match="config.classifier must be one of mlp, conv"):
    train.validate(_config(dataset="digits", classifier="resnet"))
  with pytest.raises(UserError, match="prdc_space=features needs a digit dataset"):
    train.validate(_config(dataset="ring", prdc_space="features"))


def test_samples_per_step_and_matched_controls():
  config = _config()
  for name, samples in (("gan", 100), ("pacgan4", 400), ("gan_batch4x", 400),
                        ("pacgan2+batch2x", 400)):
    assert step.samples_per_step(config, step.parse_method(name)) == samples, name
  config.batch_unit = "samples"
  assert step.samples_per_step(config, step.parse_method("pacgan4")) == 100

  def results(*names, batch_unit="packs"):
    c = _config(batch_unit=batch_unit)
    return {n: {"method": dataclasses.asdict(step.parse_method(n)),
                "samples_per_step": step.samples_per_step(c, step.parse_method(n))}
            for n in names}

  methods = results("gan", "pacgan2", "pacgan4", "gan_batch2x", "unrolled5")
  assert step.matched_control(methods, "pacgan2") == "gan_batch2x"
  assert step.matched_control(methods, "pacgan4") is None  # no vanilla at 400 samples per step
  assert step.matched_control(methods, "unrolled5") == "gan"
  assert step.matched_control(methods, "gan") is None  # vanilla rows are controls, not remedies
  # Packing at a fixed number of samples: plain vanilla is the control.
  assert step.matched_control(results("gan", "pacgan2", batch_unit="samples"), "pacgan2") == "gan"


def test_wgan_gp_takes_critic_steps():
  config = _config(wgan_gp_d_steps=3)
  assert step.d_steps(config, step.parse_method("wgan_gp")) == 3
  assert step.d_steps(config, step.parse_method("gan")) == 1


# One step of seed 0 on the quick config (wgan_gp_d_steps=2). If a change to the step, the losses or
# the models' defaults is intended, replace these with the values the failure message prints.
GOLDEN = {
    "gan": {"d_loss": 1.5604587, "g_loss": 0.78317058, "g_param_norm": 16.243898},
    "pacgan2+r1": {"d_loss": 1.5374142, "g_loss": 0.76566863, "g_param_norm": 16.243986},
    "wgan_gp": {"d_loss": 0.31748322, "g_loss": 0.18338759, "g_param_norm": 16.243923},
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_one_step_golden_values(name):
  config = _config(methods=name, wgan_gp_d_steps=2)
  setup = _setup(config, name)
  key = step.seed_keys(config)[0]
  _, metrics = jax.jit(step.make_train_step(setup))(
      step.init_state(setup, key), {}, jax.random.fold_in(key, step.TRAIN_TAG))
  got = {k: float(metrics[k]) for k in GOLDEN[name]}
  np.testing.assert_allclose(
      [got[k] for k in GOLDEN[name]], list(GOLDEN[name].values()), rtol=1e-5,
      err_msg=f"one {name} step changed; if intended, set GOLDEN[{name!r}] = {got}")


def test_saturating_loss_and_simultaneous_update_switches():
  """Saturating G: its gradient is the non-saturating one scaled by D(G(z)) / (1 - D(G(z))) per
  sample, so it has the opposite loss sign and is smaller where D rejects the fakes.
  Simultaneous: G's update depends on D's starting params alone, not on D's step."""
  key = jax.random.key(3)
  logits = jnp.array([-4.0, 0.0, 3.0])
  np.testing.assert_allclose(losses.saturating_g_loss(logits),
                             np.mean(np.log1p(-jax.nn.sigmoid(logits))), rtol=1e-6)

  def g_after_one_step(**overrides):
    config = _config(methods="gan", **overrides)
    setup = _setup(config, "gan")
    state = step.init_state(setup, step.seed_keys(config)[0])
    new_state, metrics = jax.jit(step.make_train_step(setup))(state, {}, key)
    return state, new_state, metrics

  _, alternating, _ = g_after_one_step()
  start, simultaneous, metrics = g_after_one_step(simultaneous_update=True)
  # D steps the same way in both; G differs, because it saw D before vs after D's step.
  _assert_trees_close(alternating["d_params"], simultaneous["d_params"])
  assert not _trees_close(alternating["g_params"], simultaneous["g_params"])
  _, saturating, sat_metrics = g_after_one_step(g_loss="saturating")
  assert float(sat_metrics["g_loss"]) < 0 < float(metrics["g_loss"])
  assert not _trees_close(alternating["g_params"], saturating["g_params"])


@pytest.mark.parametrize("name", ["gan", "unrolled1"])
def test_simultaneous_update_shares_the_d_step_minibatch(name):
  """The Unrolled GAN demo's one sess.run: G's fakes are D's fakes, and the unrolled D steps
  repeat D's step on that minibatch, so with K = 1 G's target is the D the step ends with."""
  key = jax.random.key(3)

  def one_step(simultaneous):
    config = _config(methods=name, simultaneous_update=simultaneous)
    setup = _setup(config, name)
    state = step.init_state(setup, step.seed_keys(config)[0])
    new_state, metrics = jax.jit(step.make_train_step(setup))(state, {}, key)
    d_batch_key = jax.random.fold_in(jax.random.fold_in(key, 0), 0)  # step 0, its D step 0
    d_fakes = step.generate(setup, state["g_params"],
                            jax.random.fold_in(d_batch_key, step.FAKE_TAG), setup.num_samples)
    target = new_state["d_params"] if name == "unrolled1" else state["d_params"]
    return float(metrics["g_loss"]), float(losses.ns_g_loss(setup.d.apply(target, d_fakes)))

  g_loss, on_d_minibatch = one_step(simultaneous=True)
  np.testing.assert_allclose(g_loss, on_d_minibatch, rtol=1e-5)
  g_loss, on_d_minibatch = one_step(simultaneous=False)  # fresh samples: another loss
  assert abs(g_loss - on_d_minibatch) > 1e-4


def _trees_close(a, b):
  return all(np.allclose(x, y, rtol=1e-6, atol=1e-7)
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _assert_trees_close(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def _check_vmap_equals_separate_runs(name, num_seeds, num_steps, **overrides):
  config = _config(num_seeds=num_seeds, methods=name, wgan_gp_d_steps=2, **overrides)
  setup = _setup(config, name)
  together, metrics, compiled = _run_seeds_together(setup, config, num_steps,
                                                    seeds.seed_parallel(num_seeds, "none"))
  assert compiled.num_traces() == 1  # compiled once, then reused
  assert metrics["loss"].shape == (num_seeds,) and np.all(np.isfinite(metrics["loss"]))
  for s, alone in enumerate(_run_seeds_one_by_one(setup, config, num_steps)):
    _assert_seed_equal(together, s, alone)
  # Seeds differ from each other (the seed axis is not a broadcast of one run).
  g0 = jax.tree.leaves(together["g_params"])[0]
  assert not np.allclose(g0[0], g0[1])


def test_vmap_over_seeds_equals_separate_runs():
  _check_vmap_equals_separate_runs("gan", num_seeds=2, num_steps=2, g_ema_decay=0.99)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pacgan2+mbstd+r1", "unrolled1+wgan_gp"])
def test_vmap_over_seeds_equals_separate_runs_for_every_switch(name):
  _check_vmap_equals_separate_runs(name, num_seeds=3, num_steps=3)


@pytest.mark.slow
def test_seeds_sharded_over_four_devices_equal_one_device():
  assert len(jax.devices()) == 4  # tests/conftest.py
  config = _config(num_seeds=4, methods="pacgan2", g_ema_decay=0.9)
  setup = _setup(config, "pacgan2")
  sharded_parallel = seeds.seed_parallel(4, config.parallel)
  assert sharded_parallel.mode == "shard_map" and sharded_parallel.num_devices == 4
  sharded, _, compiled = _run_seeds_together(setup, config, 3, sharded_parallel)
  assert compiled.num_traces() == 1
  one_device, _, _ = _run_seeds_together(setup, config, 3, seeds.seed_parallel(4, "none"))
  for s in range(4):
    _assert_seed_equal(sharded, s, jax.tree.map(lambda x, s=s: x[s], one_device))


@pytest.mark.slow
def test_dcgan_seeds_run_in_a_loop_that_ends_where_vmap_ends():
  """config.seed_map=auto loops over the seeds of the conv nets (their vmapped convolutions are
  grouped ones, slow on a CPU); the trained weights are vmap's up to float reassociation."""
  config = _config(num_seeds=2, methods="pacgan2", dataset="stacked_digits", arch="dcgan",
                   dcgan_width=4, latent_dim=8)
  assert step.seed_map(config) == "loop"
  assert step.seed_map(_config()) == "vmap"  # the MLP nets
  setup = _setup(config, "pacgan2")
  looped, _, compiled = _run_seeds_together(setup, config, 3,
                                            seeds.seed_parallel(2, "none", seed_map="loop"))
  assert compiled.num_traces() == 1
  vmapped, _, _ = _run_seeds_together(setup, config, 3, seeds.seed_parallel(2, "none"))
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5),
               looped["g_params"], vmapped["g_params"])
  assert not np.allclose(looped["g_params"]["params"]["Dense_0"]["kernel"][0],
                         looped["g_params"]["params"]["Dense_0"]["kernel"][1])  # seeds differ


@pytest.mark.parametrize("name", ["gan", "pacgan2+mbstd", "unrolled2+r1", "wgan_gp"])
def test_steps_per_call_equals_one_step_per_call(name):
  """Training's lax.scan of 5 steps per call ends where 5 separate calls end, up to the last ulps
  (XLA may fuse a loop body's reductions differently from a lone step's)."""
  config = _config(num_seeds=2, methods=name)
  setup = _setup(config, name)
  seed_parallel = seeds.seed_parallel(2, "none")
  keys_S = step.seed_keys(config)
  init = jax.vmap(lambda k: step.init_state(setup, k))(keys_S)
  one = step.compile_seeds_step(setup, seed_parallel)
  five = step.compile_seeds_step(setup, seed_parallel, steps_per_call=5)
  stepped = seed_parallel.put_state(init)
  for _ in range(5):
    stepped, one_metrics = one(stepped, {}, keys_S)
  called, five_metrics = five(seed_parallel.put_state(init), {}, keys_S)
  assert five.num_traces() == 1
  np.testing.assert_array_equal(called["step"], [5, 5])
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), called,
               stepped)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), five_metrics,
               one_metrics)


def test_intervals_must_be_multiples_of_steps_per_call():
  train.validate(_config(steps_per_call=50, num_steps=200, eval_every=100, log_every=100,
                         checkpoint_every=100))
  for field in ("num_steps", "eval_every", "log_every", "checkpoint_every"):
    with pytest.raises(UserError, match=f"config.{field}=30 is not a multiple of "
                                        "config.steps_per_call=20"):
      train.validate(_config(steps_per_call=20, **{field: 30}))
  with pytest.raises(UserError, match="steps_per_call"):
    train.validate(_config(steps_per_call=0))


def test_generator_ema_tracks_the_raw_weights_and_is_what_gets_evaluated():
  config = _config(num_seeds=1, methods="gan", g_ema_decay=0.9)
  setup = _setup(config, "gan")
  key = step.seed_keys(config)[0]
  one_step = jax.jit(step.make_train_step(setup))
  state = step.init_state(setup, key)
  expected = state["g_params"]
  for _ in range(3):
    state, _ = one_step(state, {}, key)
    expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, expected, state["g_params"])
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
               state["g_ema"], expected)
  assert step.eval_params(setup, state) is state["g_ema"]
  # Without the average the state has no copy and the raw weights are evaluated.
  plain = _setup(_config(), "gan")
  plain_state = step.init_state(plain, key)
  assert "g_ema" not in plain_state
  assert step.eval_params(plain, plain_state) is plain_state["g_params"]
  with pytest.raises(UserError, match="g_ema_decay"):
    train.validate(_config(g_ema_decay=1.0))


@pytest.mark.slow
def test_train_and_evaluate_end_to_end(tmp_path):
  config = _config(methods="gan,pacgan2,gan_batch2x", num_steps=40, eval_every=20,
                   log_every=20, checkpoint_every=20, eval_samples=300, prdc_samples=300,
                   snapshot_samples=50)
  workdir = str(tmp_path)
  results = train.train_and_evaluate(config, workdir)
  for name in ("gan", "pacgan2", "gan_batch2x"):
    r = results["methods"][name]
    assert [h["step"] for h in r["history"]] == [0, 20, 40]
    assert len(r["history"][-1]["occupied_modes"]) == 2  # one list of modes per seed
    assert r["num_traces"] == 1
    assert len(r["summary"]["modes"]["seeds"]) == 2
    assert {"median_distance_std", "beyond_10_std", "hq"} <= set(r["summary"])
  assert results["methods"]["pacgan2"]["matched_control"] == "gan_batch2x"
  assert results["methods"]["gan_batch2x"]["samples_per_step"] == 200
  for f in ("results.md", "results.json", "samples.npz", "samples_over_training.png",
            "modes_vs_step.png", "modes_over_training.png", "metrics.jsonl", "config.json"):
    assert os.path.exists(os.path.join(workdir, f)), f
  saved = np.load(os.path.join(workdir, "samples.npz"))
  assert saved["samples/gan"].shape == (2, 300, 2) and saved["centers"].shape == (8, 2)
  assert np.load(evaluate.snapshot_path(workdir, "pacgan2", 20)).shape == (2, 50, 2)
  table = open(os.path.join(workdir, "results.md")).read()
  assert "| pacgan2 |" in table and "real data" in table and "uniform blur over [-1.38" in table
  assert "control of pacgan2" in table and "## Occupied modes over training" in table
  assert "## Where each seed's mass sits over training" in table
  assert os.path.exists(os.path.join(workdir, "mode_shares_over_training.png"))
  shares = results["methods"]["gan"]["mode_shares"]
  assert sorted(shares) == [0, 20, 40] and np.array(shares[40]).shape == (2, 8)
  np.testing.assert_allclose(np.array(shares[40]).sum(-1), 1.0, rtol=1e-6)
  assert results["uniform_blur"]["hq"] < 0.02
  with open(os.path.join(workdir, "results.json")) as f:
    assert json.load(f)["methods"]["gan"]["summary"] == results["methods"]["gan"]["summary"]
  # Run again: everything is restored from the checkpoints and eval records, nothing retrained.
  again = train.train_and_evaluate(config, workdir)
  for name in ("gan", "pacgan2"):
    assert again["methods"][name]["summary"] == results["methods"][name]["summary"]
    assert again["methods"][name]["num_traces"] == 0
  assert [r["step"] for r in logs.read_evals(workdir, "gan")] == [0, 20, 40]


@pytest.mark.slow
def test_stacked_digits_end_to_end(tmp_path):
  config = _config(dataset="stacked_digits", methods="gan", num_steps=20, eval_every=20,
                   eval_samples=600, prdc_samples=300, ndb_bins=10, classifier_steps=300,
                   latent_dim=16)
  results = train.train_and_evaluate(config, str(tmp_path))
  assert results["classifier_test_accuracy"] > 0.8
  assert results["real_data"]["modes"] > 400  # 600 draws over 1,000 modes
  saved = np.load(os.path.join(tmp_path, "samples.npz"))
  assert saved["samples/gan"].dtype == np.uint8 and saved["modes/gan"].shape == (2, 600)
  assert os.path.exists(os.path.join(tmp_path, "mode_histogram.png"))


@pytest.mark.slow
def test_single_digits_dcgan_end_to_end_draws_grey_digits(tmp_path):
  """The conv nets on one-channel digits (10 modes), seeds in a loop, through the figures."""
  config = _config(dataset="digits", arch="dcgan", dcgan_width=4, methods="gan", num_steps=20,
                   eval_every=20, eval_samples=300, prdc_samples=300, ndb_bins=10,
                   classifier_steps=300, latent_dim=8)
  results = train.train_and_evaluate(config, str(tmp_path))
  assert results["num_modes"] == 10 and results["real_data"]["modes"] == 10
  assert results["classifier_test_accuracy"] > 0.8
  saved = np.load(os.path.join(tmp_path, "samples.npz"))
  assert saved["samples/gan"].shape == (2, 300, 64) and saved["modes/gan"].max() < 10
  assert os.path.exists(os.path.join(tmp_path, "samples_over_training.png"))


@pytest.mark.slow
def test_conv_classifier_judges_stacked_digits_in_its_feature_space(tmp_path):
  """classifier=conv, prdc_space=features: modes read by the conv net, precision and recall in
  its features (3 channels x 128), FD floor from a second real draw far below an untrained G's."""
  config = _config(dataset="stacked_digits", methods="gan", num_steps=10, eval_every=10,
                   eval_samples=600, prdc_samples=300, ndb_bins=10, classifier="conv",
                   classifier_steps=400, prdc_space="features", latent_dim=8)
  results = train.train_and_evaluate(config, str(tmp_path))
  assert results["prdc_space"] == "features"
  assert results["classifier_test_accuracy"] > 0.8
  real, gan = results["real_data"], results["methods"]["gan"]["summary"]
  assert real["precision"] > 0.5 and real["recall"] > 0.5
  assert 0 <= real["frechet"] < 0.2 * gan["frechet"]["mean"]
  with open(os.path.join(tmp_path, "results.md")) as f:
    table = f.read()
  assert "FD (features)" in table and "the classifier's feature layer" in table


@pytest.mark.slow
def test_metz_stacked_mnist_protocol_trains_packs_end_to_end(tmp_path, monkeypatch):
  """arch=metz_dcgan with D at 1/4 on a made-up 28x28 pool: gan and pacgan2 train, are counted
  by the conv classifier and scored in its features."""
  rng = np.random.default_rng(0)
  pool = {"image": rng.random((200, 28, 28, 1), np.float32), "label": np.arange(200) % 10}
  monkeypatch.setattr(data.images, "load", lambda name, split, data_dir=None: pool)
  config = _config(dataset="stacked_mnist_full", arch="metz_dcgan", dcgan_d_width=2,
                   latent_dim=16, methods="gan,pacgan2", num_steps=4, eval_every=2,
                   log_every=2, checkpoint_every=2, batch_size=8, eval_samples=300,
                   prdc_samples=200, ndb_bins=5, classifier="conv", classifier_steps=5,
                   prdc_space="features", snapshot_samples=4, steps_per_call=1,
                   make_plots=False)
  results = train.train_and_evaluate(config, str(tmp_path))
  assert step.seed_map(config) == "loop"
  for name in ("gan", "pacgan2"):
    summary = results["methods"][name]["summary"]
    assert results["methods"][name]["g_updates"] == 4
    assert 1 <= summary["modes"]["mean"] <= 300 and np.isfinite(summary["frechet"]["mean"])
  assert results["methods"]["pacgan2"]["samples_per_step"] == 16  # 8 packs of 2


def test_judge_features_concatenate_the_channels_and_score_real_data_against_itself():
  config = _config(dataset="stacked_digits", classifier="conv", classifier_steps=20,
                   prdc_space="features", eval_samples=200, prdc_samples=200, ndb_bins=5)
  dataset = data.make_dataset(config)
  judge = evaluate.make_judge(config, dataset)
  assert judge.real_features.shape == (200, 3 * 128)
  one_channel = judge.classifier.features(data.split_channels(judge.real_eval[:4])[:, 1])
  np.testing.assert_array_equal(judge.features(judge.real_eval[:4])[:, 128:256], one_channel)
  itself = judge.all_metrics(judge.real_eval)
  assert itself["precision"] == itself["recall"] == itself["coverage"] == 1.0
  assert itself["frechet"] < 1e-6
  # Another set is scored in the features, not in pixels.
  other = np.asarray(dataset.sample(jax.random.key(7), 200))
  scored = judge.all_metrics(other)
  in_features = prdc.prdc(judge.real_features, judge.features(other), config.k_precision_recall,
                          config.k_density_coverage)
  assert {k: scored[k] for k in in_features} == in_features
  assert scored["frechet"] == frechet.frechet_distance(judge.real_features, judge.features(other))


def test_mode_hops_count_changes_of_the_mode_a_seed_sits_on():
  uniform = [1 / 8] * 8

  def on(mode, share=0.9):
    return [share if k == mode else (1 - share) / 7 for k in range(8)]

  assert hopping.hops([uniform, uniform, uniform]) == (0, 0)  # spread: never sits, never hops
  assert hopping.hops([on(3), on(3), on(3)]) == (3, 0)  # collapsed on one mode
  assert hopping.hops([on(3), on(5), uniform, on(1), on(1)]) == (4, 1)  # 3 -> 5; 1 after a gap
  assert hopping.hops([on(2, 0.49), on(6, 0.49)]) == (0, 0)  # below half: not sitting
  assert hopping.hops([on(2, 0.5), on(6, 0.5)]) == (2, 1)

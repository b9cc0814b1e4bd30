"""The GAN train step: methods as switches, seeds vmapped, compiled once; an end-to-end run."""

import json
import os

import jax
import numpy as np
import pytest

from genjax import parallel
from genjax.configs import gan as gan_config
from genjax.errors import UserError
from genjax.gan import data, train


def _config(**overrides):
  config = gan_config.get_config("quick")
  config.update(overrides)
  return config


def _run_seeds_together(setup, config, num_steps):
  keys_S = train.seed_keys(config)
  state = jax.vmap(lambda k: train.init_state(setup, k))(keys_S)
  train_keys = jax.vmap(lambda k: jax.random.fold_in(k, train.TRAIN_TAG))(keys_S)
  compiled = train.compile_seeds_step(setup, parallel.make("none"))
  for _ in range(num_steps):
    state, metrics = compiled(state, {}, train_keys)
  return state, metrics, compiled


def _run_seeds_one_by_one(setup, config, num_steps):
  step = jax.jit(train.make_train_step(setup))  # one compilation shared by every seed
  states = []
  for key in train.seed_keys(config):
    state = train.init_state(setup, key)
    for _ in range(num_steps):
      state, _ = step(state, {}, jax.random.fold_in(key, train.TRAIN_TAG))
    states.append(state)
  return states


def test_parse_method_names():
  assert train.parse_method("gan") == train.Method("gan")
  assert train.parse_method("pacgan3").pack == 3
  method = train.parse_method("unrolled5fo")
  assert method.unroll == 5 and method.first_order
  combo = train.parse_method("pacgan2+r1+mbstd")
  assert combo.pack == 2 and combo.r1 and combo.mbstd and not combo.wgan_gp
  with pytest.raises(UserError, match="unknown GAN method"):
    train.parse_method("pacgan")


def test_validate_rejects_a_pack_that_does_not_divide_the_batch():
  train.validate(_config(methods="gan,pacgan3"))
  with pytest.raises(UserError, match="not a multiple"):
    train.validate(_config(methods="pacgan3", pack_hold="samples"))


def _check_vmap_equals_separate_runs(name, num_seeds, num_steps, **overrides):
  config = _config(num_seeds=num_seeds, methods=name, critic_steps=2, **overrides)
  setup = train.make_setup(config, data.make(config), train.parse_method(name))
  together, metrics, compiled = _run_seeds_together(setup, config, num_steps)
  assert compiled.num_traces() == 1  # compiled once, then reused
  assert metrics["loss"].shape == (num_seeds,) and np.all(np.isfinite(metrics["loss"]))
  for s, alone in enumerate(_run_seeds_one_by_one(setup, config, num_steps)):
    jax.tree.map(lambda a, b, s=s: np.testing.assert_allclose(a[s], b, rtol=2e-5, atol=1e-6),
                 together, alone)
  # Seeds differ from each other (the seed axis is not a broadcast of one run).
  g0 = jax.tree.leaves(together["g_params"])[0]
  assert not np.allclose(g0[0], g0[1])


def test_vmap_over_seeds_equals_separate_runs():
  _check_vmap_equals_separate_runs("gan", num_seeds=2, num_steps=2, g_ema_decay=0.99)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pacgan2+mbstd+r1", "unrolled1+wgan_gp"])
def test_vmap_over_seeds_equals_separate_runs_for_every_switch(name):
  _check_vmap_equals_separate_runs(name, num_seeds=3, num_steps=3)


def test_generator_ema_tracks_the_raw_weights_and_is_what_gets_evaluated():
  config = _config(num_seeds=1, methods="gan", g_ema_decay=0.9)
  setup = train.make_setup(config, data.make(config), train.parse_method("gan"))
  key = train.seed_keys(config)[0]
  step = jax.jit(train.make_train_step(setup))
  state = train.init_state(setup, key)
  expected = state["g_params"]
  for _ in range(3):
    state, _ = step(state, {}, key)
    expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, expected, state["g_params"])
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
               state["g_ema"], expected)
  assert train.eval_params(setup, state) is state["g_ema"]
  # Without the average the state has no copy and the raw weights are evaluated.
  plain = train.make_setup(_config(), data.make(config), train.parse_method("gan"))
  plain_state = train.init_state(plain, key)
  assert "g_ema" not in plain_state
  assert train.eval_params(plain, plain_state) is plain_state["g_params"]
  with pytest.raises(UserError, match="g_ema_decay"):
    train.validate(_config(g_ema_decay=1.0))


def test_packing_changes_samples_per_step():
  config = _config()
  assert train.samples_per_step(config, train.parse_method("pacgan4")) == 4 * config.batch_size
  config.pack_hold = "samples"
  assert train.samples_per_step(config, train.parse_method("pacgan4")) == config.batch_size


def test_wgan_gp_takes_critic_steps():
  config = _config(critic_steps=3)
  assert train.d_steps(config, train.parse_method("wgan_gp")) == 3
  assert train.d_steps(config, train.parse_method("gan")) == 1


def test_training_clock_counts_the_updates_before_a_restart(tmp_path, monkeypatch):
  now = [0.0]
  monkeypatch.setattr(train.time, "perf_counter", lambda: now[0])

  def one_second_step(state, batch, key):
    now[0] += 1.0
    return {"step": state["step"] + 1}, {}

  seconds_at = {}
  clock = str(tmp_path / "gan_clock.json")
  wrap = lambda: train._EvaluatingStep(  # noqa: E731
      one_second_step, [0, 10], lambda step, _, seconds: seconds_at.update({step: seconds}), clock)
  state = {"step": np.zeros((2,), np.int32)}
  before_stop = wrap()
  for _ in range(6):
    state, _ = before_stop(state, {}, None)
  before_stop.save_clock(6)  # what train_loop's on_save does on SIGTERM
  now[0] += 100.0  # time between the stop and the restart is not training
  after_restart = wrap()
  for _ in range(4):
    state, _ = after_restart(state, {}, None)
  assert seconds_at == {10: 10.0}
  # A clock saved at another step than the restart's is not carried: only new updates count.
  with open(clock, "w") as f:
    json.dump({"step": 3, "seconds_since_eval": 3.0}, f)
  stale = wrap()
  stale({"step": np.full((2,), 6, np.int32)}, {}, None)
  assert stale.seconds() == 1.0


@pytest.mark.slow
def test_train_and_evaluate_end_to_end(tmp_path):
  config = _config(methods="gan,pacgan2", num_steps=40, eval_every=20, log_every=20,
                   checkpoint_every=20, eval_samples=300, prdc_samples=300,
                   snapshot_samples=50)
  workdir = str(tmp_path)
  results = train.train_and_evaluate(config, workdir)
  for name in ("gan", "pacgan2"):
    r = results["methods"][name]
    assert [h["step"] for h in r["history"]] == [0, 20, 40]
    assert r["num_traces"] == 1
    assert len(r["summary"]["modes"]["values"]) == 2
  for f in ("results.md", "results.json", "samples.npz", "samples_over_training.png",
            "modes_vs_step.png", "metrics.jsonl", "config.json"):
    assert os.path.exists(os.path.join(workdir, f)), f
  saved = np.load(os.path.join(workdir, "samples.npz"))
  assert saved["samples/gan"].shape == (2, 300, 2) and saved["centers"].shape == (8, 2)
  table = open(os.path.join(workdir, "results.md")).read()
  assert "| pacgan2 |" in table and "real data" in table and "uniform blur over [-1.38" in table
  assert results["uniform_blur"]["hq"] < 0.02
  with open(train._clock_path(workdir, "gan")) as f:
    assert json.load(f)["step"] == 40  # saved with the last checkpoint
  # Run again: everything is restored from the checkpoints and histories, nothing retrained.
  again = train.train_and_evaluate(config, workdir)
  for name in ("gan", "pacgan2"):
    assert again["methods"][name]["summary"] == results["methods"][name]["summary"]
    assert again["methods"][name]["num_traces"] == 0
  with open(os.path.join(workdir, "history", "gan.jsonl")) as f:
    assert [json.loads(line)["step"] for line in f] == [0, 20, 40]


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

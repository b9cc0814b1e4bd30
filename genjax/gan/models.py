"""Generators and discriminators: the PacGAN architecture and small MLPs.

Packing changes only the input width of D's first layer (m samples concatenated); nothing else.
Batch norm in the PacGAN generator always normalizes with the statistics of the current batch
(training and the 2,500-sample evaluation alike), so the state holds no running averages.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp


class BatchNorm(nn.Module):
  """Normalization over the batch axis with a learned scale and bias (no running statistics)."""

  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, x_BxF):
    scale = self.param("scale", nn.initializers.ones, (x_BxF.shape[-1],))
    bias = self.param("bias", nn.initializers.zeros, (x_BxF.shape[-1],))
    mean = x_BxF.mean(0)
    var = ((x_BxF - mean) ** 2).mean(0)
    return (x_BxF - mean) / jnp.sqrt(var + self.epsilon) * scale + bias


class Maxout(nn.Module):
  """`features` units, each the max of `pieces` affine functions."""

  features: int
  pieces: int

  @nn.compact
  def __call__(self, x):
    y = nn.Dense(self.features * self.pieces)(x)
    return y.reshape(*y.shape[:-1], self.features, self.pieces).max(-1)


def minibatch_stddev(h_BxF):
  """Appends the batch-averaged per-feature std as one extra feature (Karras et al. 2018)."""
  std = jnp.sqrt(h_BxF.var(0) + 1e-8).mean()
  return jnp.concatenate([h_BxF, jnp.broadcast_to(std, (h_BxF.shape[0], 1))], -1)


class Generator(nn.Module):
  hidden: Sequence[int]
  out_dim: int
  batch_norm: bool = False
  output: str = "linear"  # linear (2D points) | sigmoid (images in [0, 1])

  @nn.compact
  def __call__(self, z_BxZ):
    h = z_BxZ
    for width in self.hidden:
      h = nn.Dense(width)(h)
      if self.batch_norm:
        h = BatchNorm()(h)
      h = nn.relu(h)
    x = nn.Dense(self.out_dim)(h)
    return nn.sigmoid(x) if self.output == "sigmoid" else x


class Discriminator(nn.Module):
  """Maps packed inputs [B/m, m*D] to one logit each; maxout_pieces=1 means ReLU layers."""

  hidden: Sequence[int]
  maxout_pieces: int = 1
  mbstd: bool = False

  @nn.compact
  def __call__(self, x_BxI):
    h = x_BxI
    for width in self.hidden:
      h = Maxout(width, self.maxout_pieces)(h) if self.maxout_pieces > 1 else nn.relu(
          nn.Dense(width)(h))
    if self.mbstd:
      h = minibatch_stddev(h)
    return nn.Dense(1)(h)[:, 0]


def make(config, data_dim: int, output: str, mbstd: bool) -> tuple[Generator, Discriminator]:
  """The (G, D) pair of config.arch for data of width `data_dim`."""
  if config.arch == "pacgan":
    g = Generator(tuple(config.pacgan_g_hidden), data_dim, batch_norm=True, output=output)
    d = Discriminator(tuple(config.pacgan_d_hidden), config.maxout_pieces, mbstd)
  else:
    g = Generator(tuple(config.small_hidden), data_dim, output=output)
    d = Discriminator(tuple(config.small_hidden), 1, mbstd)
  return g, d

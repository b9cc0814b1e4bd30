"""Generators and discriminators: the PacGAN architecture, small MLPs, and a narrow DCGAN for
stacked 28x28 digits.

Packing changes only the input width of D's first layer (m samples concatenated); nothing else.
Batch norm in the PacGAN generator always normalizes with the statistics of the current batch
(training and the 2,500-sample evaluation alike), so the state holds no running averages.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.errors import UserError
from genjax.models import conv

ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh}
KERNEL_INITS = ("lecun_normal", "orthogonal")
CONV_ARCHS = ("dcgan", "metz_dcgan")  # convolutional nets (seeds in a loop by default)


def kernel_init(name: str, gain: float):
  """flax's default (lecun_normal) or orthogonal with `gain` (the Unrolled GAN demo: 1.4)."""
  if name == "orthogonal":
    return nn.initializers.orthogonal(scale=gain)
  return nn.linear.default_kernel_init


class BatchNorm(nn.Module):
  """Normalization over the batch axis with a learned scale and bias (no running statistics)."""

  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, x_BxF):
    """[B, F] (or [B, H, W, F]: statistics over batch and positions, per feature)."""
    scale = self.param("scale", nn.initializers.ones, (x_BxF.shape[-1],))
    bias = self.param("bias", nn.initializers.zeros, (x_BxF.shape[-1],))
    axes = tuple(range(x_BxF.ndim - 1))
    mean = x_BxF.mean(axes)
    var = ((x_BxF - mean) ** 2).mean(axes)
    return (x_BxF - mean) / jnp.sqrt(var + self.epsilon) * scale + bias


class Maxout(nn.Module):
  """`features` units, each the max of `pieces` affine functions.

  The Dense output is read as [pieces, features] (piece-major), so the max runs over whole
  contiguous rows of `features` values: on 2 CPU cores the layer's forward + backward ran 2.2x
  as fast as with [features, pieces] (a stride-5 reduction and its scatter-like gradient). The
  kernel's shape and iid init are the same, so the two layouts are the same model in law.
  """

  features: int
  pieces: int

  @nn.compact
  def __call__(self, x):
    y = nn.Dense(self.features * self.pieces)(x)
    return y.reshape(*y.shape[:-1], self.pieces, self.features).max(-2)


def minibatch_stddev(h_BxF):
  """Appends the batch-averaged per-feature std as one extra feature (Karras et al. 2018)."""
  std = jnp.sqrt(h_BxF.var(0) + 1e-8).mean()
  return jnp.concatenate([h_BxF, jnp.broadcast_to(std, (h_BxF.shape[0], 1))], -1)


class Generator(nn.Module):
  hidden: Sequence[int]
  out_dim: int
  batch_norm: bool = False
  output: str = "linear"  # linear (2D points) | sigmoid (images in [0, 1])
  activation: str = "relu"  # a key of ACTIVATIONS
  init_name: str = "lecun_normal"  # kernel init of every Dense layer, one of KERNEL_INITS
  init_gain: float = 1.0  # scale of the orthogonal init

  @nn.compact
  def __call__(self, z_BxZ):
    dense = lambda n: nn.Dense(n, kernel_init=kernel_init(self.init_name, self.init_gain))  # noqa: E731
    h = z_BxZ
    for width in self.hidden:
      h = dense(width)(h)
      if self.batch_norm:
        h = BatchNorm()(h)
      h = ACTIVATIONS[self.activation](h)
    x = dense(self.out_dim)(h)
    return nn.sigmoid(x) if self.output == "sigmoid" else x


class Discriminator(nn.Module):
  """Maps packed inputs [B/m, m*D] to one logit each; maxout_pieces=1 means ReLU layers."""

  hidden: Sequence[int]
  maxout_pieces: int = 1
  mbstd: bool = False
  activation: str = "relu"  # of the non-maxout layers, a key of ACTIVATIONS
  init_name: str = "lecun_normal"  # kernel init of Dense layers (not maxout): KERNEL_INITS
  init_gain: float = 1.0  # scale of the orthogonal init
  input_scale: float = 1.0  # inputs are multiplied by this first (Metz et al.: 1/4)

  @nn.compact
  def __call__(self, x_BxI):
    dense = lambda n: nn.Dense(n, kernel_init=kernel_init(self.init_name, self.init_gain))  # noqa: E731
    h = x_BxI * self.input_scale
    for width in self.hidden:
      if self.maxout_pieces > 1:
        h = Maxout(width, self.maxout_pieces)(h)
      else:
        h = ACTIVATIONS[self.activation](dense(width)(h))
    if self.mbstd:
      h = minibatch_stddev(h)
    return dense(1)(h)[:, 0]


class ConvGenerator(nn.Module):
  """DCGAN's generator (Radford et al. 2016), narrow for a CPU: z -> 7x7x(2w) -> 14x14x(w) ->
  28x28xC by 4x4 stride-2 transposed convolutions, batch norm and ReLU, sigmoid output; returns
  flat channel-major images [B, C*H*W] (channel c is x[:, c*H*W:(c+1)*H*W])."""

  width: int  # channels of the 14x14 layer; the 7x7 layer has twice as many
  image_shape: tuple[int, int]  # (H, W), each divisible by 4
  channels: int  # output channels (3 for stacked digits)
  lowering: str  # of the transposed convolutions (conv.LOWERINGS; the same parameters either way)

  @nn.compact
  def __call__(self, z_BxZ):
    h, w = self.image_shape[0] // 4, self.image_shape[1] // 4
    x = nn.Dense(h * w * 2 * self.width)(z_BxZ).reshape(-1, h, w, 2 * self.width)
    x = nn.relu(BatchNorm()(x))
    x = conv.conv_transpose(self.lowering, self.width, (4, 4), (2, 2))(x)
    x = nn.relu(BatchNorm()(x))
    x = conv.conv_transpose(self.lowering, self.channels, (4, 4), (2, 2))(x)
    x_BxCxHxW = nn.sigmoid(x).transpose(0, 3, 1, 2)
    return x_BxCxHxW.reshape(len(x_BxCxHxW), -1)


class ConvDiscriminator(nn.Module):
  """DCGAN's discriminator, narrow: two 4x4 stride-2 convolutions (w, then 2w channels, the
  second batch-normalized) with leaky ReLU 0.2, then one logit. A PacGAN pack of m samples
  [B/m, m*C*H*W] is read as m*C input channels, so packing changes only the first
  convolution's input width."""

  width: int
  image_shape: tuple[int, int]
  channels: int
  mbstd: bool = False

  @nn.compact
  def __call__(self, x_BxI):
    height, width = self.image_shape
    x = x_BxI.reshape(len(x_BxI), -1, height, width).transpose(0, 2, 3, 1)  # NHWC, m*C channels
    x = nn.leaky_relu(nn.Conv(self.width, (4, 4), strides=(2, 2), padding="SAME")(x), 0.2)
    x = nn.Conv(2 * self.width, (4, 4), strides=(2, 2), padding="SAME")(x)
    x = nn.leaky_relu(BatchNorm()(x), 0.2)  # DCGAN: batch norm in D but after its first layer
    h = x.reshape(len(x), -1)
    if self.mbstd:
      h = minibatch_stddev(h)
    return nn.Dense(1)(h)[:, 0]


class MetzGenerator(nn.Module):
  """The Stacked MNIST generator of Metz et al. 2017 (Table 2) as PacGAN's code builds it: z ->
  4x4x64 -> 7x7x32 -> 14x14x16 -> 28x28x8 by 3x3 stride-2 transposed convolutions, each with
  batch norm and ReLU, then a 3x3 convolution to C channels. Sigmoid output on data in [0, 1]
  (theirs: tanh on [-1, 1], the same family rescaled). Flat channel-major images [B, C*H*W]."""

  channels: int
  lowering: str  # of the transposed convolutions (conv.LOWERINGS)

  @nn.compact
  def __call__(self, z_BxZ):
    x = nn.Dense(4 * 4 * 64)(z_BxZ).reshape(-1, 4, 4, 64)
    x = nn.relu(BatchNorm()(x))
    # 4 -> 7 needs one pixel of padding each side of the dilated input; 7 -> 14 -> 28 are SAME.
    for width, padding in ((32, ((1, 1), (1, 1))), (16, "SAME"), (8, "SAME")):
      x = conv.conv_transpose(self.lowering, width, (3, 3), (2, 2), padding)(x)
      x = nn.relu(BatchNorm()(x))
    x = nn.Conv(self.channels, (3, 3), padding="SAME")(x)
    x_BxCxHxW = nn.sigmoid(x).transpose(0, 3, 1, 2)
    return x_BxCxHxW.reshape(len(x_BxCxHxW), -1)


class MetzDiscriminator(nn.Module):
  """Its discriminator: three 3x3 stride-2 convolutions of w, 2w and 4w channels, each batch-
  normalized, leaky ReLU 0.3, then one logit. PacGAN's code sets w = 2 for "D = 1/4 G" and w = 4
  for "D = 1/2 G". Packs are read as m*C input channels, as in ConvDiscriminator."""

  width: int
  image_shape: tuple[int, int]
  mbstd: bool = False

  @nn.compact
  def __call__(self, x_BxI):
    height, width = self.image_shape
    x = x_BxI.reshape(len(x_BxI), -1, height, width).transpose(0, 2, 3, 1)
    for k in range(3):
      x = nn.Conv(self.width * 2 ** k, (3, 3), strides=(2, 2), padding="SAME")(x)
      x = nn.leaky_relu(BatchNorm()(x), 0.3)
    h = x.reshape(len(x), -1)
    if self.mbstd:
      h = minibatch_stddev(h)
    return nn.Dense(1)(h)[:, 0]


def make_networks(config, data_dim: int, output: str, mbstd: bool,
                  image_shape: tuple[int, int] | None = None) -> tuple[nn.Module, nn.Module]:
  """The (G, D) pair of config.arch for data of width `data_dim` (images: of `image_shape`)."""
  lowering = config.conv_transpose_lowering
  if config.arch in CONV_ARCHS and lowering not in conv.LOWERINGS:
    raise UserError(f"config.conv_transpose_lowering must be one of {', '.join(conv.LOWERINGS)};"
                    f" got {lowering!r}")
  if config.arch == "dcgan":
    if image_shape is None or output != "sigmoid":
      raise UserError("config.arch=dcgan needs an image dataset (stacked digits)")
    if image_shape[0] % 4 or image_shape[1] % 4:
      raise UserError(f"config.arch=dcgan needs image sides divisible by 4; got {image_shape}")
    channels = data_dim // (image_shape[0] * image_shape[1])
    g = ConvGenerator(config.dcgan_width, tuple(image_shape), channels, lowering)
    d_width = config.get("dcgan_d_width", 0) or config.dcgan_width
    return g, ConvDiscriminator(d_width, tuple(image_shape), channels, mbstd)
  if config.arch == "metz_dcgan":
    if image_shape != (28, 28) or output != "sigmoid":
      raise UserError(f"config.arch=metz_dcgan draws 28x28 digits; got {image_shape}")
    if not config.get("dcgan_d_width"):
      raise UserError("config.arch=metz_dcgan needs config.dcgan_d_width: 2 (D at 1/4 of G) or "
                      "4 (1/2)")
    channels = data_dim // (28 * 28)
    return (MetzGenerator(channels, lowering),
            MetzDiscriminator(config.dcgan_d_width, (28, 28), mbstd))
  if config.arch == "pacgan":
    g = Generator(tuple(config.pacgan_g_hidden), data_dim, batch_norm=True, output=output)
    d = Discriminator(tuple(config.pacgan_d_hidden), config.maxout_pieces, mbstd,
                      input_scale=config.get("d_input_scale", 1.0))
    return g, d
  activation = config.get("small_activation", "relu")
  init = config.get("small_init", "lecun_normal")
  gain = config.get("small_init_gain", 1.4)
  if activation not in ACTIVATIONS:
    raise UserError(f"config.small_activation must be one of {', '.join(ACTIVATIONS)}; "
                    f"got {activation!r}")
  if init not in KERNEL_INITS:
    raise UserError(f"config.small_init must be one of {', '.join(KERNEL_INITS)}; got {init!r}")
  if not gain > 0:
    raise UserError(f"config.small_init_gain must be positive; got {gain}")
  kwargs = {"activation": activation, "init_name": init, "init_gain": gain}
  g = Generator(tuple(config.small_hidden), data_dim, output=output, **kwargs)
  d_hidden = tuple(config.get("small_d_hidden", ())) or tuple(config.small_hidden)
  d = Discriminator(d_hidden, 1, mbstd, input_scale=config.get("d_input_scale", 1.0), **kwargs)
  return g, d

"""Encoder and decoder shared by the autoencoder and the VAE (same networks for both)."""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from genjax.models.mlp import MLP


class EncoderDecoder(nn.Module):
  """x -> (mean, log-variance) of q(z|x); z -> Bernoulli logits of p(x|z)."""

  hidden: Sequence[int]  # encoder widths; the decoder mirrors them
  latents: int
  num_pixels: int
  activation: str = "relu"

  def setup(self):
    self.encoder = MLP([*self.hidden, 2 * self.latents], self.activation)
    self.decoder = MLP([*reversed(self.hidden), self.num_pixels], self.activation)

  def encode(self, x_BxP):
    mean_BxZ, logvar_BxZ = jnp.split(self.encoder(x_BxP), 2, axis=-1)
    return mean_BxZ, logvar_BxZ

  def decode(self, z_BxZ):
    return self.decoder(z_BxZ)

  def __call__(self, x_BxP):
    mean_BxZ, _ = self.encode(x_BxP)
    return self.decode(mean_BxZ)

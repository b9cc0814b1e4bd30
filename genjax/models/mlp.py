"""A plain multilayer perceptron."""

from collections.abc import Sequence

import flax.linen as nn


class MLP(nn.Module):
  """Dense layers with an activation between them (none after the last)."""

  features: Sequence[int]
  activation: str = "relu"

  @nn.compact
  def __call__(self, x):
    act = getattr(nn, self.activation)
    for i, width in enumerate(self.features):
      x = nn.Dense(width, name=f"dense_{i}")(x)
      if i < len(self.features) - 1:
        x = act(x)
    return x

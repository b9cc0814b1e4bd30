"""A small image classifier trained by genjax itself, used to judge generated samples."""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax.models.mlp import MLP

KINDS = ("mlp", "conv")


class ConvNet(nn.Module):
  """Strided 5x5 convolutions, one hidden dense layer (the features) and the class logits, on
  square one-channel images given flat. Strided rather than pooled: a few MFLOP a 28x28 image
  forward, so it trains in seconds on a CPU."""

  side: int  # images are side x side
  channels: tuple = (16, 32)  # per convolution, each halving the side
  hidden: int = 128  # the feature layer
  num_classes: int = 10

  def setup(self):
    self.convs = [nn.Conv(c, (5, 5), strides=2, name=f"conv_{i}")
                  for i, c in enumerate(self.channels)]
    self.hidden_layer = nn.Dense(self.hidden)
    self.head = nn.Dense(self.num_classes)

  def features(self, x_BxP):
    x_BxHxWxC = x_BxP.reshape(-1, self.side, self.side, 1)
    for conv in self.convs:
      x_BxHxWxC = nn.relu(conv(x_BxHxWxC))
    return nn.relu(self.hidden_layer(x_BxHxWxC.reshape(len(x_BxHxWxC), -1)))

  def __call__(self, x_BxP):
    return self.head(self.features(x_BxP))


def make_net(kind: str, num_pixels: int, hidden=(256, 128), num_classes: int = 10):
  """The classifier network: an MLP of `hidden` widths, or the ConvNet (its last hidden width)."""
  if kind == "mlp":
    return MLP((*hidden, num_classes))  # a tuple: the jitted functions hash the model
  if kind == "conv":
    side = int(round(num_pixels ** 0.5))
    if side * side != num_pixels:
      raise ValueError(f"the conv classifier needs square images; got {num_pixels} pixels")
    return ConvNet(side, hidden=hidden[-1], num_classes=num_classes)
  raise ValueError(f"unknown classifier kind {kind!r}; kinds: {', '.join(KINDS)}")


@dataclasses.dataclass
class Classifier:
  """Trained network: `logits(x)` and `features(x)` (the last hidden layer) on flat images."""

  model: nn.Module
  params: dict
  test_accuracy: float

  def logits(self, x_BxP):
    return _batched(functools.partial(_logits, self.model, self.params), x_BxP)

  def features(self, x_BxP):
    return _batched(functools.partial(_features, self.model, self.params), x_BxP)

  def features_and_logits(self, x_BxP) -> tuple[np.ndarray, np.ndarray]:
    """Both in one pass over the images (the logits are the head of the features): what judging
    a set of samples reads, at the cost of one of the two calls above."""
    return _batched(functools.partial(_features_and_logits, self.model, self.params), x_BxP)


# Compiled once per network and batch shape: the params are arguments, not constants baked into
# a new program at every call (evaluations call these for every seed and eval step).
@functools.partial(jax.jit, static_argnums=0)
def _logits(model, params, x_BxP):
  return model.apply(params, x_BxP)


@functools.partial(jax.jit, static_argnums=0)
def _features(model, params, x_BxP):
  """The last hidden layer's activations (XLA drops the unused head)."""
  return _apply_features_and_logits(model, params, x_BxP)[0]


def _apply_features_and_logits(model, params, x_BxP):
  if isinstance(model, ConvNet):
    features = model.apply(params, x_BxP, method=ConvNet.features)
    return features, model.apply(params, features, method=lambda net, f: net.head(f))
  logits, state = model.apply(params, x_BxP, capture_intermediates=True)
  last_hidden = state["intermediates"][f"dense_{len(model.features) - 2}"]["__call__"][0]
  return jax.nn.relu(last_hidden), logits


_features_and_logits = jax.jit(_apply_features_and_logits, static_argnums=0)


# Images per call when judging: XLA:CPU runs the ConvNet's convolutions faster on 512 images a
# call than on 4,096, the same numbers to float32 rounding (bench/bench_metrics.py). Every
# committed result judges at this batch.
JUDGE_BATCH = 512


def _batched(fn, x, batch=JUDGE_BATCH):
  """fn over batches of x, concatenated (each output of a tuple on its own). The last batch is
  padded to `batch` rows, so every call has one shape: an image's numbers depend on that image
  and `batch` alone, never on how many images are judged with it (tested). Other batch sizes
  give the same numbers to float32 rounding, not always to the bit (convolution algorithms
  differ by shape on some CPUs)."""
  parts = []
  for i in range(0, len(x), batch):
    part = x[i:i + batch]
    count = len(part)
    padded = np.concatenate([part, np.zeros((batch - count,) + part.shape[1:], part.dtype)])
    parts.append(jax.tree.map(lambda a, count=count: np.asarray(a)[:count], fn(padded)))
  return jax.tree.map(lambda *p: np.concatenate(p), *parts)


def train_classifier(train_x, train_y, test_x, test_y, *, seed: int, hidden=(256, 128),
                     kind: str = "mlp", num_classes: int = 10, steps: int = 2000,
                     batch_size: int = 128, learning_rate: float = 1e-3,
                     weight_decay: float = 1e-4) -> Classifier:
  """Trains on flat images with label smoothing-free cross-entropy; reports test accuracy."""
  model = make_net(kind, train_x.shape[-1], tuple(hidden), num_classes)
  key = jax.random.key(seed)
  params = model.init(key, train_x[:1])
  tx = optax.adamw(learning_rate, weight_decay=weight_decay)
  train_x, train_y = jnp.asarray(train_x), jnp.asarray(train_y)

  def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(model.apply(params, x), y).mean()

  def step(carry, i):
    params, opt_state = carry
    rows = jax.random.randint(jax.random.fold_in(key, i), (batch_size,), 0, len(train_y))
    grads = jax.grad(loss_fn)(params, train_x[rows], train_y[rows])
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), None

  if isinstance(model, ConvNet):
    # XLA:CPU runs a convolution inside a loop (scan) many times slower than the same step
    # called from Python: one compiled step per call.
    one_step = jax.jit(lambda carry, i: step(carry, i)[0])
    carry = (params, tx.init(params))
    for i in range(steps):
      carry = one_step(carry, i)
    params = carry[0]
  else:  # the MLP's steps in one program
    params = jax.jit(lambda p: jax.lax.scan(step, (p, tx.init(p)), jnp.arange(steps))[0][0])(
        params)
  classifier = Classifier(model, params, 0.0)
  predictions = classifier.logits(np.asarray(test_x)).argmax(-1)
  classifier.test_accuracy = float((predictions == np.asarray(test_y)).mean())
  return classifier

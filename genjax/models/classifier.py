"""A small image classifier trained by genjax itself, used to judge generated samples."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from genjax.models.mlp import MLP


@dataclasses.dataclass
class Classifier:
  """Trained MLP: `logits(x)` and `features(x)` (the last hidden layer) on flat images."""

  model: MLP
  params: dict
  test_accuracy: float

  def logits(self, x_BxP):
    return _batched(functools.partial(_logits, self.model, self.params), x_BxP)

  def features(self, x_BxP):
    return _batched(functools.partial(_features, self.model, self.params), x_BxP)


# Compiled once per network and batch shape: the params are arguments, not constants baked into
# a new program at every call (evaluations call these for every seed and eval step).
@functools.partial(jax.jit, static_argnums=0)
def _logits(model, params, x_BxP):
  return model.apply(params, x_BxP)


@functools.partial(jax.jit, static_argnums=0)
def _features(model, params, x_BxP):
  """The last hidden layer's activations."""
  _, state = model.apply(params, x_BxP, capture_intermediates=True)
  last_hidden = f"dense_{len(model.features) - 2}"
  return jax.nn.relu(state["intermediates"][last_hidden]["__call__"][0])


def _batched(fn, x, batch=4096):
  return np.concatenate([np.asarray(fn(x[i:i + batch])) for i in range(0, len(x), batch)])


def train_classifier(train_x, train_y, test_x, test_y, *, seed: int, hidden=(256, 128),
                     num_classes: int = 10, steps: int = 2000, batch_size: int = 128,
                     learning_rate: float = 1e-3, weight_decay: float = 1e-4) -> Classifier:
  """Trains on flat images with label smoothing-free cross-entropy; reports test accuracy."""
  model = MLP((*hidden, num_classes))  # a tuple: the jitted functions hash the model
  key = jax.random.key(seed)
  params = model.init(key, train_x[:1])
  tx = optax.adamw(learning_rate, weight_decay=weight_decay)
  train_x, train_y = jnp.asarray(train_x), jnp.asarray(train_y)

  def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(model.apply(params, x), y).mean()

  @jax.jit
  def run(params):
    def step(carry, i):
      params, opt_state = carry
      rows = jax.random.randint(jax.random.fold_in(key, i), (batch_size,), 0, len(train_y))
      grads = jax.grad(loss_fn)(params, train_x[rows], train_y[rows])
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
    return params

  params = run(params)
  classifier = Classifier(model, params, 0.0)
  predictions = classifier.logits(np.asarray(test_x)).argmax(-1)
  classifier.test_accuracy = float((predictions == np.asarray(test_y)).mean())
  return classifier

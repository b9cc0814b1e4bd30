"""LoRA (Hu et al. 2021) as a pure transform of a params pytree: W' = W + A @ B.

No second model class: `merge(params, adapters)` returns ordinary params for the same model.
B starts at zero, so a fresh adapter leaves the model unchanged; the update A @ B has rank <= r.
"""

import jax
import jax.numpy as jnp
from flax import traverse_util

TARGETS = ("qkv", "out", "mlp_in", "mlp_out")  # attention and MLP projections of every block


def _targets(params, targets):
  flat = traverse_util.flatten_dict(params, sep=".")
  return {path: w for path, w in flat.items()
          if path.endswith(".kernel") and path.split(".")[-2] in targets and w.ndim == 2}


def init(key, params, rank: int, targets=TARGETS) -> dict:
  """Adapters {kernel path: {"a": in x r, "b": r x out}} with A ~ N(0, 1/in) and B = 0."""
  adapters = {}
  for i, (path, w_IxO) in enumerate(sorted(_targets(params, targets).items())):
    fan_in, fan_out = w_IxO.shape
    a = jax.random.normal(jax.random.fold_in(key, i), (fan_in, rank)) / jnp.sqrt(fan_in)
    adapters[path] = {"a": a.astype(w_IxO.dtype), "b": jnp.zeros((rank, fan_out), w_IxO.dtype)}
  return adapters


def delta(adapter) -> jax.Array:
  return adapter["a"] @ adapter["b"]


def merge(params, adapters: dict, scale: float = 1.0):
  """params with every adapted kernel W replaced by W + scale * A @ B."""
  flat = traverse_util.flatten_dict(params, sep=".")
  for path, adapter in adapters.items():
    flat[path] = flat[path] + scale * delta(adapter)
  return traverse_util.unflatten_dict(flat, sep=".")

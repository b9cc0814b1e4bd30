"""Speed of the VAE train step: genjax's step vs the same model as a bare jax/optax step.

python experiments/bench_vae.py            # batch 128 and 1024, the flax-example MLP 784-500-20

Prints steps/s (compile excluded, block_until_ready per step), achieved GFLOP/s, and that as a
fraction of this machine's float32 matmul peak, measured in the same run. The two steps are
timed in alternating rounds so machine noise hits both alike; the ratio is what to read.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags

from genjax import parallel
from genjax.models.autoencoder import EncoderDecoder
from genjax.vae import train as vae_train

flags.DEFINE_list("batch_sizes", ["128", "1024"], "Global batch sizes to time.")
flags.DEFINE_integer("steps", 100, "Timed steps per round.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds per step variant (the median is kept).")
FLAGS = flags.FLAGS

PIXELS, HIDDEN, LATENTS = 784, 500, 20


def matmul_peak_gflops(size: int = 2048, repeats: int = 20) -> float:
  a = jax.random.normal(jax.random.key(0), (size, size))
  b = jax.random.normal(jax.random.key(1), (size, size))
  matmul = jax.jit(jnp.matmul)
  matmul(a, b).block_until_ready()
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return 2 * size**3 / best / 1e9


def step_flops(batch: int) -> float:
  """Matmul FLOPs of one step: forward, plus backward (2x, minus the unneeded input gradient)."""
  layers = [(PIXELS, HIDDEN), (HIDDEN, 2 * LATENTS), (LATENTS, HIDDEN), (HIDDEN, PIXELS)]
  forward = sum(2 * batch * m * n for m, n in layers)
  return 3 * forward - 2 * batch * PIXELS * HIDDEN


def bare_step_and_state(key):
  """The same VAE written directly in jax: dict params, one jitted function."""

  def dense(k, m, n):
    return {"w": jax.random.normal(k, (m, n)) / np.sqrt(m), "b": jnp.zeros(n)}

  keys = jax.random.split(key, 4)
  params = {"enc1": dense(keys[0], PIXELS, HIDDEN), "enc2": dense(keys[1], HIDDEN, 2 * LATENTS),
            "dec1": dense(keys[2], LATENTS, HIDDEN), "dec2": dense(keys[3], HIDDEN, PIXELS)}
  tx = optax.adam(1e-3)

  def loss_fn(p, x, eps):
    h = jax.nn.relu(x @ p["enc1"]["w"] + p["enc1"]["b"])
    mean, logvar = jnp.split(h @ p["enc2"]["w"] + p["enc2"]["b"], 2, axis=-1)
    z = mean + jnp.exp(0.5 * logvar) * eps
    logits = jax.nn.relu(z @ p["dec1"]["w"] + p["dec1"]["b"]) @ p["dec2"]["w"] + p["dec2"]["b"]
    recon = optax.sigmoid_binary_cross_entropy(logits, x).sum(-1)
    kl = 0.5 * (jnp.exp(logvar) + mean**2 - 1 - logvar).sum(-1)
    return (recon + kl).mean()

  def step(state, x, key):
    params, opt_state, count = state
    eps = jax.random.normal(jax.random.fold_in(key, count), (x.shape[0], LATENTS))
    loss, grads = jax.value_and_grad(loss_fn)(params, x, eps)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, count + 1), loss

  return jax.jit(step, donate_argnums=0), (params, tx.init(params), jnp.zeros((), jnp.int32))


def genjax_step_and_state(key):
  dp = parallel.make("none")
  model = EncoderDecoder((HIDDEN,), LATENTS, PIXELS)
  tx = optax.adam(1e-3)
  state = dp.put_state(vae_train.create_state(model, tx, key, PIXELS))
  step = dp.compile(vae_train.make_train_step(model, tx, dp, beta=1.0, stochastic=True,
                                              dynamic_binarization=False))
  return (lambda s, x, k: step(s, {"image": x}, k)), state


def time_round(step, state, x, key, steps):
  start = time.perf_counter()
  for _ in range(steps):
    state, out = step(state, x, key)
    jax.block_until_ready(out)
  return state, steps / (time.perf_counter() - start)


def main(argv):
  del argv
  peak = matmul_peak_gflops()
  print(f"JAX {jax.__version__} on {jax.devices()[0].device_kind}; float32 matmul peak "
        f"(2048^3, best of 20): {peak:.1f} GFLOP/s")
  print(f"{'batch':>6} {'variant':>8} {'steps/s':>9} {'GFLOP/s':>9} {'% peak':>7} {'vs bare':>8}")
  key = jax.random.key(0)
  for batch in map(int, FLAGS.batch_sizes):
    x = (jax.random.uniform(key, (batch, PIXELS)) > 0.5).astype(jnp.float32)
    variants = {"bare": bare_step_and_state(key), "genjax": genjax_step_and_state(key)}
    rates = {name: [] for name in variants}
    states = {name: state for name, (_, state) in variants.items()}
    for name, (step, _) in variants.items():  # compile and warm up
      states[name], _ = time_round(step, states[name], x, key, 5)
    for _ in range(FLAGS.rounds):
      for name, (step, _) in variants.items():
        states[name], rate = time_round(step, states[name], x, key, FLAGS.steps)
        rates[name].append(rate)
    median = {name: float(np.median(r)) for name, r in rates.items()}
    for name in variants:
      gflops = median[name] * step_flops(batch) / 1e9
      print(f"{batch:>6} {name:>8} {median[name]:>9.1f} {gflops:>9.1f} {gflops / peak:>7.1%} "
            f"{median[name] / median['bare']:>8.3f}")


if __name__ == "__main__":
  app.run(main)

"""Speed of the VAE train step: genjax's step vs the same model as a bare jax/optax step.

python bench/bench_vae.py            # batch 128 and 1024, the flax-example MLP 784-500-20
python bench/bench_vae.py --batch_sizes=128 --steps=20 --rounds=3

Prints steps/s (compile excluded, block_until_ready per step), achieved GFLOP/s, and that as a
fraction of this machine's float32 matmul peak (a 2048^3 matmul), for the bare step, genjax's
step ("genjax", what the training loop runs) and its variant with gradient norms ("+norms", what
it runs on logging steps), each also over the bare step's rate. The steps and the matmul are
timed in interleaved rounds (genjax.timing; one warm-up round first) so that machine noise hits
all alike, and medians over rounds are compared: a busy neighbour lowers the peak as much as
the steps, so the ratios hold. The figures also go to bench/results/<cpu>.json
(bench/results.py); that folder holds the ones measured so far.
"""

import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags

from bench import results
from genjax import cli, parallel, random_fused, timing
from genjax.models.autoencoder import EncoderDecoder
from genjax.vae import train as vae_train

flags.DEFINE_list("batch_sizes", ["128", "1024"], "Global batch sizes to time.")
flags.DEFINE_integer("steps", 100, "Timed steps per round.")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds per step variant (the median is kept).")
FLAGS = flags.FLAGS

PIXELS, HIDDEN, LATENTS = 784, 500, 20
PEAK_SIZE = 2048  # the float32 matmul that measures the machine's peak: PEAK_SIZE^3


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


def genjax_step_and_state(key, diagnostics=False):
  dp = parallel.data_parallel("none")
  model = EncoderDecoder((HIDDEN,), LATENTS, PIXELS)
  tx = optax.adam(1e-3)
  state = dp.put_state(vae_train.create_state(model, tx, key, PIXELS))
  step = dp.compile(vae_train.make_train_step(model, tx, dp, beta=1.0, stochastic=True,
                                              dynamic_binarization=False,
                                              diagnostics=diagnostics))
  return (lambda s, x, k: step(s, {"image": x}, k)), state


def repeated(step, state, x, key, steps):
  """A zero-argument callable that runs `steps` steps (each blocked), carrying the state."""
  holder = [state]

  def run():
    for _ in range(steps):
      holder[0], out = step(holder[0], x, key)
      jax.block_until_ready(out)

  return run


def main(argv):
  del argv
  # Both steps draw their noise with the threefry lowering training uses (the entry points install
  # it by name; importing genjax does not).
  random_fused.install()
  print(f"{timing.describe(timing.environment())}; medians of {FLAGS.rounds} interleaved "
        f"rounds after a warm-up round (genjax.timing); peak = float32 matmul {PEAK_SIZE}^3 "
        "timed in the same rounds")
  print(f"{'batch':>6} {'variant':>8} {'steps/s':>9} {'GFLOP/s':>9} {'% peak':>7} {'vs bare':>8}")
  key = jax.random.key(0)
  rows = []
  for batch in map(int, FLAGS.batch_sizes):
    x = (jax.random.uniform(key, (batch, PIXELS)) > 0.5).astype(jnp.float32)
    matmul, peak_flops = timing.matmul(PEAK_SIZE)
    peak_steps = max(3, FLAGS.steps // 10)
    calls = {"peak": repeated(lambda s, x, k, mm=matmul: (s, mm()), None, x, key, peak_steps)}
    # "genjax" is the step the loop runs; "+norms" the variant it runs on logging steps only.
    for name, (step, state) in {"bare": bare_step_and_state(key),
                                "genjax": genjax_step_and_state(key),
                                "+norms": genjax_step_and_state(key, diagnostics=True)}.items():
      calls[name] = repeated(step, state, x, key, FLAGS.steps)
    flops = {name: step_flops(batch) for name in calls} | {"peak": peak_flops}
    steps = {name: FLAGS.steps for name in calls} | {"peak": peak_steps}
    times = timing.time_interleaved(calls, FLAGS.rounds, warmup=1)
    rates = {name: [steps[name] / t for t in ts] for name, ts in times.items()}
    median = {name: timing.median(r) for name, r in rates.items()}
    peak = median["peak"] * flops["peak"] / 1e9
    for name in calls:
      gflops = median[name] * flops[name] / 1e9
      versus = f"{median[name] / median['bare']:>8.3f}" if name != "peak" else f"{'':>8}"
      print(f"{batch:>6} {name:>8} {median[name]:>9.1f} {gflops:>9.1f} {gflops / peak:>7.1%} "
            f"{versus}")
      rows.append({"batch": batch, "variant": name, "steps_per_s": median[name],
                   "gflops": gflops, "share_of_peak": gflops / peak,
                   "over_bare": None if name == "peak" else median[name] / median["bare"]})
    best_peak = max(rates["peak"]) * flops["peak"] / 1e9
    genjax = median["genjax"] * flops["genjax"] / 1e9
    print(f"{'':>6} (best round of the matmul: {best_peak:.1f} GFLOP/s; genjax's median is "
          f"{genjax / best_peak:.1%} of that)")
    rows.append({"batch": batch, "variant": "peak (best round)", "gflops": best_peak,
                 "genjax_share_of_best": genjax / best_peak})
  results.record("bench_vae", rows, timing=timing.environment())


if __name__ == "__main__":
  cli.run(main)  # not app.run: --help exits 0, bad flags are one `error:` line

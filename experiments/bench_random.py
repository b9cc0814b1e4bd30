"""Speed of genjax.random_fused against jax.random, drawing the same numbers, side by side.

python experiments/bench_random.py
Time:    about 20 s on 2 CPU cores.
Expect:  identical bits in every row ("same numbers: yes"); on CPU, where JAX lowers threefry as
         a rolled loop, the fused draws about 3x faster for the ring GAN's latents (3 seeds x
         512 x 256 normals per step); on a GPU, JAX's own threefry kernel is already fused and
         the ratio is near 1.

Each row is one program per sampler, vmapped over seed keys as training draws them, timed in
interleaved rounds (genjax.timing) so load slows both alike; medians over rounds are compared.
"""

import _genjax_check  # noqa: F401  (first: one error line if another genjax shadows ours)
import jax
import numpy as np
from absl import app, flags

from genjax import random_fused, timing

flags.DEFINE_integer("rounds", 20, "Interleaved timed rounds (the median is reported).")
flags.DEFINE_integer("calls", 20, "Draws per timed call.")
# (what, draws per seed, seeds): the ring GAN's latents, a VAE's binarization of a batch of 8x8
# digits, the same at MNIST's 28x28.
CASES = (("normal", (512, 256), 3), ("bernoulli", (64, 64), 3), ("bernoulli", (128, 784), 1))


def programs(what: str, shape: tuple, num_seeds: int):
  """{sampler name: zero-argument callable making `calls` draws}, and whether they agree."""
  keys_S = jax.random.split(jax.random.key(0), num_seeds)
  p_SxN = jax.random.uniform(jax.random.key(1), (num_seeds, *shape))
  draw = {"jax.random": {"normal": lambda k, p: jax.random.normal(k, shape),
                         "bernoulli": jax.random.bernoulli},
          "random_fused": {"normal": lambda k, p: random_fused.normal(k, shape),
                           "bernoulli": random_fused.bernoulli}}
  calls = flags.FLAGS.calls
  out = {}
  for name, fns in draw.items():
    one = jax.jit(jax.vmap(fns[what]))
    out[name] = (one, lambda one=one: [one(keys_S, p_SxN) for _ in range(calls)][-1])
  same = np.array_equal(*(np.asarray(one(keys_S, p_SxN)) for one, _ in out.values()))
  return {name: call for name, (_, call) in out.items()}, same


def main(argv):
  del argv
  print(timing.describe(timing.environment()), flush=True)
  for what, shape, num_seeds in CASES:
    calls, same = programs(what, shape, num_seeds)
    times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
    base, fused = (timing.median(times[n]) / flags.FLAGS.calls for n in calls)
    speedup = timing.median(timing.per_round_ratio(times["jax.random"], times["random_fused"]))
    print(f"{what} {num_seeds} x {' x '.join(map(str, shape))}: jax.random {base * 1e3:.3f} ms, "
          f"random_fused {fused * 1e3:.3f} ms per draw; fused {speedup:.2f}x faster; same "
          f"numbers: {'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
  app.run(main)

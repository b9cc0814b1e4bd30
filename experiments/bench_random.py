"""Speed of jax.random with genjax's unrolled threefry lowering against JAX's own, side by side.

python experiments/bench_random.py
Time:    about 20 s on 2 CPU cores.
Expect:  identical bits in every row ("same numbers: yes"); on CPU, where JAX lowers threefry as
         a rolled loop, the unrolled lowering (genjax.random_fused) makes the bits 3x faster on
         2 AMD EPYC cores, so the ring GAN's latents (3 seeds x 512 x 256 normals per step) 1.3x
         (the transform of bits to normals, untouched, is two thirds of a normal draw there),
         Bernoulli pixels 2-4x and integers (batch indices, Markov tokens) 2-3.3x; GPU and TPU
         lowerings are not changed. Last, the ring's normals from JAX's other key
         implementations (rbg, unsafe_rbg: XLA's RngBitGenerator; other numbers), the usual way
         to cheaper random bits on TPU: on those cores 5.8-6.5x the time of the unrolled
         threefry, so genjax keeps threefry.

Each row is one program per lowering, vmapped over seed keys as training draws them (the "before"
compiled inside random_fused.unfused()), timed in interleaved rounds (genjax.timing) so load slows
both alike; medians over rounds are compared.
"""

import _huge_pages  # noqa: F401  (first: restarts once with glibc's huge-page tunable)

# isort: split
import _genjax_check  # noqa: F401  (before genjax: one error line if another genjax shadows ours)
import jax
import numpy as np
from absl import app, flags

from genjax import random_fused, timing

flags.DEFINE_integer("rounds", 20, "Interleaved timed rounds (the median is reported).")
flags.DEFINE_integer("calls", 20, "Draws per timed call.")
# (name, draw(key, p), seeds): the ring GAN's latents and the random bits they transform, a VAE's
# binarization of a batch of 28x28 digits, a text batch's window starts.
CASES = (("normal 3 x 512 x 256", lambda k, p: jax.random.normal(k, (512, 256)), 3),
         ("their bits alone", lambda k, p: jax.random.bits(k, (512, 256)), 3),
         ("bernoulli 1 x 128 x 784", jax.random.bernoulli, 1),
         ("randint 3 x 4096", lambda k, p: jax.random.randint(k, (4096,), 0, 10 ** 6), 3))


def programs(draw, num_seeds: int):
  """{lowering: zero-argument callable making `calls` draws}, and whether both agree."""
  keys_S = jax.random.split(jax.random.key(0), num_seeds)
  p_SxN = jax.random.uniform(jax.random.key(1), (num_seeds, 128, 784))
  out = {}
  for name in ("jax (rolled)", "unrolled"):
    one = jax.jit(jax.vmap(draw))
    if name == "jax (rolled)":
      with random_fused.unfused():
        first = one(keys_S, p_SxN)  # compiled here, with JAX's loop
    else:
      first = one(keys_S, p_SxN)
    out[name] = (np.asarray(first),
                 lambda one=one: [one(keys_S, p_SxN) for _ in range(flags.FLAGS.calls)][-1])
  (a, _), (b, _) = out.values()
  return {name: call for name, (_, call) in out.items()}, a.tobytes() == b.tobytes()


def other_key_impls(shape=(512, 256), num_seeds: int = 3) -> dict:
  """{key implementation: zero-argument callable drawing the ring's normals `calls` times}."""
  out = {}
  for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
    keys_S = jax.random.split(jax.random.key(0, impl=impl), num_seeds)
    one = jax.jit(jax.vmap(lambda k: jax.random.normal(k, shape)))
    one(keys_S)  # compiled here
    out[impl] = lambda one=one, keys_S=keys_S: [one(keys_S)
                                                for _ in range(flags.FLAGS.calls)][-1]
  return out


def main(argv):
  del argv
  print(timing.describe(timing.environment()), flush=True)
  for label, draw, num_seeds in CASES:
    calls, same = programs(draw, num_seeds)
    times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
    base, fused = (timing.median(times[n]) / flags.FLAGS.calls for n in calls)
    speedup = timing.median(timing.per_round_ratio(times["jax (rolled)"], times["unrolled"]))
    print(f"{label}: jax's rolled loop {base * 1e3:.3f} ms, unrolled {fused * 1e3:.3f} ms per "
          f"draw; unrolled {speedup:.2f}x faster; same numbers: {'yes' if same else 'NO'}",
          flush=True)
  calls = other_key_impls()
  times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
  ratios = {name: timing.median(timing.per_round_ratio(times[name], times["threefry2x32"]))
            for name in calls if name != "threefry2x32"}
  print("normal 3 x 512 x 256 from other key implementations (other numbers): "
        + ", ".join(f"{name} {r:.2f}x" for name, r in ratios.items())
        + " the time of threefry2x32 (unrolled)", flush=True)


if __name__ == "__main__":
  app.run(main)

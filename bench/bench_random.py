"""Speed of jax.random with genjax's unrolled threefry lowering against JAX's own, side by side,
and of other exact samplers of the ring GAN's normals.

python bench/bench_random.py
python bench/bench_random.py --rounds=1 --calls=1   # a quick check that every row agrees

First rows: the ring GAN's latents (3 seeds x 512 x 256 normals), their random bits alone,
Bernoulli pixels (a VAE's binarization of 128 28x28 digits) and integers (a text batch's window
starts), each compiled once with JAX's own rolled threefry loop (inside
genjax.random_fused.unfused()) and once with the unrolled lowering (random_fused.install(),
called here: importing genjax does not install it); both must give the same bits ("same
numbers: yes"). GPU and TPU lowerings are not changed. Then the ring's normals from JAX's other
key implementations (rbg, unsafe_rbg: XLA's RngBitGenerator; other numbers) as multiples of the
unrolled threefry's time, and other exact transforms of threefry's bits to the ring's normals
(other numbers; each with its Kolmogorov-Smirnov p-value against N(0, 1)): erfinv with
log((1 - u)(1 + u)) for XLA's log1p(-u^2), Box-Muller with XLA's sin and cos, and Box-Muller with
polynomial sin and cos, as multiples of jax.random.normal's time.

Each row is one program per lowering, vmapped over seed keys as training draws them, timed in
interleaved rounds (genjax.timing) so load slows both alike; medians over rounds are compared.
The figures also go to bench/results/<cpu>.json (bench/results.py); that folder holds the ones
measured so far.
"""

import math
import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from scipy import stats

from bench import results
from genjax import cli, random_fused, timing

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


def _repeated(one, keys_S):
  """A zero-argument callable making `calls` draws of the compiled `one` from `keys_S`."""
  return lambda: [one(keys_S) for _ in range(flags.FLAGS.calls)][-1]


def _ratios_against(calls: dict, baseline: str) -> dict:
  """{name: median per-round time over `baseline`'s} for every other callable, all timed in the
  same interleaved rounds."""
  times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
  return {name: timing.median(timing.per_round_ratio(times[name], times[baseline]))
          for name in calls if name != baseline}


def other_key_impls(shape=(512, 256), num_seeds: int = 3) -> dict:
  """{key implementation: zero-argument callable drawing the ring's normals `calls` times}."""
  out = {}
  for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
    keys_S = jax.random.split(jax.random.key(0, impl=impl), num_seeds)
    one = jax.jit(jax.vmap(lambda k: jax.random.normal(k, shape)))
    one(keys_S)  # compiled here
    out[impl] = _repeated(one, keys_S)
  return out


# XLA's float32 erfinv (Giles 2011): polynomials in w = -log(1 - x^2), below w = 5 in w - 2.5,
# above it in sqrt(w) - 3; the transform jax.random.normal applies to its uniform bits.
ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coefficients, x):
  out = jnp.full_like(x, coefficients[0])
  for c in coefficients[1:]:
    out = out * x + c
  return out


def normal_by_erfinv_log(key, shape):
  """jax.random.normal's transform with log((1 - u)(1 + u)) for XLA's log1p(-u^2), the costly
  part on XLA:CPU: the same polynomials, other rounding."""
  u = jax.random.uniform(key, shape, minval=np.nextafter(np.float32(-1), np.float32(0)),
                         maxval=1.0)
  w = -jnp.log((1 - u) * (1 + u))
  p = jnp.where(w < 5, _horner(ERFINV_CENTRAL, w - 2.5), _horner(ERFINV_TAIL, jnp.sqrt(w) - 3))
  return np.float32(np.sqrt(2)) * p * u


def _radius_and_turn(key, shape):
  """Box-Muller's inputs from one 32-bit word each: sqrt(-2 log u) with u in (0, 1], and the
  angle's word."""
  bits_2xN = jax.random.bits(key, (2, int(np.prod(shape)) // 2))
  u = ((bits_2xN[0] >> 8).astype(jnp.float32) + 1) * np.float32(2 ** -24)
  return jnp.sqrt(-2 * jnp.log(u)), bits_2xN[1]


def normal_by_box_muller(key, shape):
  """Box-Muller with XLA's sin and cos of 2 pi v: exact in distribution, two normals a pair."""
  radius, turn = _radius_and_turn(key, shape)
  angle = (turn >> 8).astype(jnp.float32) * np.float32(2 * np.pi * 2 ** -24)
  return jnp.concatenate([radius * jnp.cos(angle), radius * jnp.sin(angle)]).reshape(shape)


def normal_by_box_muller_polynomial(key, shape):
  """Box-Muller with sin and cos from the angle's bits: the top two pick the quadrant, the next
  24 the angle t within it, Taylor polynomials of sin and cos on [0, pi / 2] (error < 6e-8)."""
  radius, turn = _radius_and_turn(key, shape)
  quadrant = turn >> 30
  t = ((turn >> 6) & 0xFFFFFF).astype(jnp.float32) * np.float32(np.pi / 2 * 2 ** -24)
  t2 = t * t
  sin = t * _horner([(-1) ** (k % 2) / math.factorial(2 * k + 1) for k in range(5, -1, -1)], t2)
  cos = _horner([(-1) ** (k % 2) / math.factorial(2 * k) for k in range(6, -1, -1)], t2)
  # (cos, sin) of quadrant * pi / 2 + t
  first = jnp.select([quadrant == 0, quadrant == 1, quadrant == 2], [cos, -sin, -cos], sin)
  second = jnp.select([quadrant == 0, quadrant == 1, quadrant == 2], [sin, cos, -sin], -cos)
  return jnp.concatenate([radius * first, radius * second]).reshape(shape)


def other_transforms(shape=(512, 256), num_seeds: int = 3) -> dict:
  """{transform: (zero-argument callable drawing the ring's normals `calls` times, the
  Kolmogorov-Smirnov p-value of one draw against N(0, 1))}, jax.random.normal first."""
  keys_S = jax.random.split(jax.random.key(0), num_seeds)
  out = {}
  for name, draw in (("jax.random.normal", jax.random.normal),
                     ("erfinv with log", normal_by_erfinv_log),
                     ("Box-Muller", normal_by_box_muller),
                     ("Box-Muller, polynomial sin and cos", normal_by_box_muller_polynomial)):
    one = jax.jit(jax.vmap(lambda k, draw=draw: draw(k, shape)))
    sample = np.asarray(one(keys_S), np.float64).ravel()  # compiled here
    out[name] = (_repeated(one, keys_S), stats.kstest(sample, "norm").pvalue)
  return out


def main(argv):
  del argv
  random_fused.install()  # the unrolled lowering, by name: importing genjax does not install it
  print(timing.describe(timing.environment()), flush=True)
  rows = []
  for label, draw, num_seeds in CASES:
    calls, same = programs(draw, num_seeds)
    times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
    base, fused = (timing.median(times[n]) / flags.FLAGS.calls for n in calls)
    speedup = timing.median(timing.per_round_ratio(times["jax (rolled)"], times["unrolled"]))
    print(f"{label}: jax's rolled loop {base * 1e3:.3f} ms, unrolled {fused * 1e3:.3f} ms per "
          f"draw; unrolled {speedup:.2f}x faster; same numbers: {'yes' if same else 'NO'}",
          flush=True)
    rows.append({"draw": label, "rolled_ms": base * 1e3, "unrolled_ms": fused * 1e3,
                 "unrolled_speedup": speedup, "same_numbers": bool(same)})
  ratios = _ratios_against(other_key_impls(), "threefry2x32")
  print("normal 3 x 512 x 256 from other key implementations (other numbers): "
        + ", ".join(f"{name} {r:.2f}x" for name, r in ratios.items())
        + " the time of threefry2x32 (unrolled)", flush=True)
  rows += [{"draw": "normal 3 x 512 x 256", "key_impl": name, "time_over_threefry": r}
           for name, r in ratios.items()]
  transforms = other_transforms()
  ratios = _ratios_against({name: call for name, (call, _) in transforms.items()},
                           "jax.random.normal")
  print("normal 3 x 512 x 256 by other exact transforms of threefry's bits (other numbers; "
        "Kolmogorov-Smirnov p against N(0, 1)): "
        + ", ".join(f"{name} {r:.2f}x (p {transforms[name][1]:.2f})" for name, r in ratios.items())
        + " the time of jax.random.normal", flush=True)
  rows += [{"draw": "normal 3 x 512 x 256", "transform": name, "time_over_normal": r,
            "ks_p": float(transforms[name][1])} for name, r in ratios.items()]
  results.record("bench_random", rows, timing=timing.environment())


if __name__ == "__main__":
  cli.run(main, distributed=False)  # not app.run: --help exits 0, bad flags are one `error:` line

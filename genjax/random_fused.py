"""`jax.random.normal`, `uniform` and `bernoulli`, bit for bit, with the threefry hash unrolled.

On CPU, JAX lowers threefry2x32 as a rolled loop (5 iterations of 4 rounds) to keep compile
times short, so XLA cannot fuse the hash with its uses: every iteration writes both words of
every counter to memory. Drawing a GAN's 512 x 256 latents that way took about half of the ring
GAN's train step. Written here as 20 rounds of plain jnp ops, the hash, the float conversion and
the erfinv fuse into one loop: the same numbers (tests compare them bit for bit with
`jax.random`, under vmap too) about 3x faster on CPU (`experiments/bench_random.py`).

Only the default PRNG (threefry2x32, `jax_threefry_partitionable` on, JAX's default) is
reproduced; any other key or setting falls back to `jax.random` itself, so a caller always gets
exactly what `jax.random` would have given.
"""

import contextlib
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# Threefry-2x32's rotation constants (Salmon et al. 2011), the two halves alternating per block.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = np.uint32(0x1BD11BDA)  # the third key word's constant in Threefish's key schedule


def _rotate_left(x, bits: int):
  return lax.shift_left(x, np.uint32(bits)) | lax.shift_right_logical(x, np.uint32(32 - bits))


def threefry2x32(k1, k2, x1, x2):
  """The Threefry-2x32 hash with 20 rounds, as JAX computes it, unrolled."""
  schedule = [k1, k2, k1 ^ k2 ^ KEY_PARITY]
  x = [x1 + schedule[0], x2 + schedule[1]]
  for block in range(5):
    for bits in ROTATIONS[block % 2]:
      x[0] = x[0] + x[1]
      x[1] = x[0] ^ _rotate_left(x[1], bits)
    x[0] = x[0] + schedule[(block + 1) % 3]
    x[1] = x[1] + schedule[(block + 2) % 3] + np.uint32(block + 1)
  return x


# Benchmarks switch this off (`unfused`) to time jax.random's own lowering, same numbers.
_ENABLED = [True]


@contextlib.contextmanager
def unfused():
  """Within it every function here calls jax.random itself: the before of a benchmark."""
  _ENABLED[0] = False
  try:
    yield
  finally:
    _ENABLED[0] = True


def _fused(key, shape) -> bool:
  """Whether the fused hash gives what jax.random would: a threefry key, partitionable counters
  (JAX's default) and fewer than 2^32 draws (the counters' high words then all 0)."""
  return (_ENABLED[0] and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
          and str(jax.random.key_impl(key)) == "threefry2x32"
          and jax.config.jax_threefry_partitionable and math.prod(shape) < 2**32)


def bits(key, shape):
  """uint32 random bits: `jax.random.bits(key, shape)`."""
  return _bits(key, tuple(shape)) if _fused(key, shape) else jax.random.bits(key, shape)


def uniform(key, shape, minval=0.0, maxval=1.0):
  """float32 in [minval, maxval): `jax.random.uniform(key, shape, float32, minval, maxval)`."""
  if not _fused(key, shape):
    return jax.random.uniform(key, shape, np.float32, minval, maxval)
  return _uniform(key, tuple(shape), minval, maxval)


def normal(key, shape):
  """float32 standard normals: `jax.random.normal(key, shape)`."""
  return _normal(key, tuple(shape)) if _fused(key, shape) else jax.random.normal(key, shape)


def bernoulli(key, p):
  """Booleans that are True with probability p: `jax.random.bernoulli(key, p)`."""
  p = jnp.asarray(p)
  if p.dtype != np.float32 or not _fused(key, p.shape):
    return jax.random.bernoulli(key, p)
  return _uniform(key, p.shape, 0.0, 1.0) < p


# Jitted as jax.random's own functions are, so the float arithmetic fuses the same way.
@functools.partial(jax.jit, static_argnames="shape")
def _bits(key, shape):
  k1, k2 = jax.random.key_data(key)
  counts = lax.iota(np.uint32, math.prod(shape)).reshape(shape)
  x1, x2 = threefry2x32(k1, k2, jnp.zeros(shape, np.uint32), counts)
  return x1 ^ x2


@functools.partial(jax.jit, static_argnames="shape")
def _uniform(key, shape, minval, maxval):
  minval, maxval = jnp.asarray(minval, np.float32), jnp.asarray(maxval, np.float32)
  # 23 random mantissa bits under exponent 0 give a float in [1, 2); minus 1, [0, 1).
  mantissa = lax.shift_right_logical(_bits(key, shape), np.uint32(32 - 23))
  floats = lax.bitcast_convert_type(mantissa | np.uint32(0x3F800000), np.float32) - np.float32(1)
  return lax.max(minval, floats * (maxval - minval) + minval)


@functools.partial(jax.jit, static_argnames="shape")
def _normal(key, shape):
  # jax.random.normal: sqrt(2) erfinv(u) of a uniform on the open interval (-1, 1).
  low = np.nextafter(np.float32(-1), np.float32(0), dtype=np.float32)
  return np.float32(np.sqrt(2)) * lax.erf_inv(_uniform(key, shape, low, 1.0))

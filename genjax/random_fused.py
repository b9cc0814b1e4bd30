"""Every `jax.random` draw on CPU, bit for bit, with the threefry hash unrolled so XLA fuses it.

On CPU, JAX lowers its threefry2x32 primitive as a rolled loop (5 iterations of 4 rounds) to
keep compile times short, so XLA cannot fuse the hash with its uses: every iteration writes both
words of every counter to memory, which is a large share of a step that draws many latents.
`install()` (called by the entry points through `genjax.startup.use_fused_threefry`, never by
importing genjax) lowers the same primitive on CPU as 20 rounds of plain integer ops instead. It
is the same function of the same inputs, so every `jax.random` call (normal, uniform, randint,
categorical, gamma, ...) returns the same bits (tests compare them with a process that does not
install it); `bench/bench_random.py` times both. GPU and TPU lowerings are untouched.
"""

import contextlib

import numpy as np
from jax import lax
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir

# Threefry-2x32's rotation constants (Salmon et al. 2011), the two halves alternating per block.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = np.uint32(0x1BD11BDA)  # the third key word's constant in Threefish's key schedule
# Lowerings from now on are unrolled; benchmarks switch this off (`unfused`) to time JAX's own.
_UNROLLED = [True]


def _rotate_left(x, bits: int):
  return lax.shift_left(x, np.uint32(bits)) | lax.shift_right_logical(x, np.uint32(32 - bits))


def _block(x, schedule, block: int):
  """Four rounds, then the key injection that ends block `block` (0-4)."""
  for bits in ROTATIONS[block % 2]:
    x = [x[0] + x[1], x[1]]
    x[1] = x[0] ^ _rotate_left(x[1], bits)
  return [x[0] + schedule[(block + 1) % 3], x[1] + schedule[(block + 2) % 3] + np.uint32(block + 1)]


def threefry2x32(k1, k2, x1, x2):
  """The Threefry-2x32 hash with 20 rounds, as JAX computes it, unrolled."""
  schedule = [k1, k2, k1 ^ k2 ^ KEY_PARITY]
  x = [x1 + schedule[0], x2 + schedule[1]]
  for block in range(5):
    x = _block(x, schedule, block)
  return tuple(x)


def _rolled_threefry2x32(k1, k2, x1, x2):
  """The same hash as JAX lowers it on CPU, a loop over its 5 blocks (what `unfused` times)."""
  schedule = [k1, k2, k1 ^ k2 ^ KEY_PARITY]

  def block(i, state):  # the key words and rotation sets rotate with the block, as in JAX
    x, keys, rotations = state
    for bits in rotations[0]:
      x = [x[0] + x[1], x[1]]
      x[1] = x[0] ^ (lax.shift_left(x[1], bits) | lax.shift_right_logical(x[1], 32 - bits))
    x = [x[0] + keys[0], x[1] + keys[1] + (i + 1).astype(np.uint32)]
    return x, keys[1:] + keys[:1], rotations[1:] + rotations[:1]

  x = [x1 + schedule[0], x2 + schedule[1]]
  rotations = [np.array(r, np.uint32) for r in ROTATIONS]
  x, _, _ = lax.fori_loop(0, 5, block, (x, schedule[1:] + schedule[:1], rotations))
  return tuple(x)


def _lowering(k1, k2, x1, x2):
  return (threefry2x32 if _UNROLLED[0] else _rolled_threefry2x32)(k1, k2, x1, x2)


def install() -> None:
  """Lowers threefry2x32 on CPU unrolled from now on (programs compiled later; same bits)."""
  mlir.register_lowering(threefry2x32_p, mlir.lower_fun(_lowering, multiple_results=True),
                         platform="cpu")


@contextlib.contextmanager
def unfused():
  """Programs first compiled within it lower the hash as a loop, as JAX does on CPU: the before
  of a benchmark (the same numbers)."""
  _UNROLLED[0] = False
  try:
    yield
  finally:
    _UNROLLED[0] = True

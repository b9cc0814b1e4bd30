"""What one sweep point measures: the program, its compile, memory and FLOPs (no timing here).

Timing goes through genjax.timing (interleaved rounds with a reference matmul); this module
builds the programs it times and reads XLA's memory and cost analyses of them.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

from genjax import flop_count
from genjax.attention import variants

LOOP_VARIANTS = ("chunked", "blocked")  # XLA's cost_analysis counts a loop body once
# The compiled program's FLOP count stands only if it holds at least this share of the matmul
# FLOPs of the program as written (flop_count.jaxpr_matmul_flops of its jaxpr, on any backend):
# XLA's count adds its elementwise ops to the matmuls, so a count below them has lost matmul work.
# On XLA:CPU every countable variant and mode holds more (tests/test_attention.py). On an H200,
# XLA:GPU hands matmuls to cuBLAS and does not count those calls: in attention_gpu_pallas.flags'
# results.md naive attention's count is 3% of its matmul FLOPs at n = 1,280 (the softmax alone)
# and 53% at 2,048, a FLOP slope of -1.87.
COUNT_COVERAGE = 1.0


def fused_kernel(name: str, config) -> bool:
  """Whether the variant runs as one kernel XLA does not write itself: cuDNN's fused attention
  (dot_product with implementation='cudnn') or a Pallas kernel. Both are flash kernels: their
  temp memory grows linearly in n, and XLA's cost analysis cannot see inside them."""
  return name == "pallas_flash" or (name == "dot_product" and config.implementation == "cudnn")


def xla_counts_the_work(name: str, config) -> bool:
  """Whether XLA's cost analysis sees this variant's work: not a loop (it counts the body once)
  and not a fused kernel (on an H200 XLA reported 0 FLOPs and 30 bytes for cuDNN's at every n,
  which would read as a slope of 0)."""
  return name not in LOOP_VARIANTS and not fused_kernel(name, config)


def variant_fns(config, names, key):
  """{name: attend} with the config's parameters (and a fixed key for random ones) bound.

  Built once per sweep: the Performer's orthogonal features (QR decompositions) are drawn here,
  outside every timed program, and only when the Performer is asked for.
  """
  return {name: variant_fn(name, config, key) for name in names}


def variant_fn(name, config, key):
  """One variant with its config parameters bound."""
  if name == "performer":
    return variants.get(name, features_MxD=variants.orthogonal_features(
        key, config.num_features, config.head_dim, jnp.dtype(config.dtype)))
  params = {
      "dot_product": dict(implementation=config.implementation or None),
      "chunked": dict(query_chunk=config.query_chunk, key_chunk=config.key_chunk),
      "blocked": dict(query_chunk=config.blocked_query_chunk),
      "sliding_window": dict(window=config.window),
      "block_sparse": dict(block=config.block, window_blocks=config.window_blocks,
                           global_blocks=config.global_blocks,
                           random_blocks=config.random_blocks, key=key),
      "linformer": dict(rank=config.rank, projection=config.linformer_projection, key=key),
      "lsh": dict(num_buckets=config.num_buckets, num_hashes=config.num_hashes,
                  chunk=config.lsh_chunk, key=key),
  }.get(name, {})
  return variants.get(name, **params)


def sliding_window_keys(n, window, causal, block=None):
  """Keys each query is scored against in variants.sliding_window, as the kernel computes them.

  Query blocks of `block` (default `window`) see their own block and ceil(window / block)
  neighbour blocks on each side (left only if causal): 3w keys per query at the default block,
  not the 2w + 1 inside the band; the rest are computed and then masked.
  """
  blk = min(block or window, n)
  nb = -(-n // blk)
  r = min(-(-window // blk), nb - 1)
  return ((r if causal else 2 * r) + 1) * blk


def analytic_flops(name, n, config, heads, batch=1, mode="forward"):
  """FLOPs of what each variant computes (score and value matmuls, no padding to block size).

  Exact variants count the n x n scores (half under causal masking); sliding_window counts the
  masked keys of its band blocks as well, since the kernel scores them.
  """
  d = config.head_dim
  exact = 4 * n * n * d * (0.5 if config.causal else 1.0)
  per_head = {
      "sliding_window": 4 * n * sliding_window_keys(n, config.window, config.causal) * d,
      "block_sparse": 4 * n * min(n, config.block * (2 * config.window_blocks + 1
                                                     + config.global_blocks
                                                     + config.random_blocks)) * d
      + 4 * min(n, config.global_blocks * config.block) * n * d,
      "linformer": 4 * n * config.rank * d * 2,
      "performer": 8 * n * config.num_features * d,
      "lsh": config.num_hashes * (4 * n * 3 * min(config.lsh_chunk, n) * d
                                  + 2 * n * d * config.num_buckets),
  }.get(name, exact)
  return per_head * heads * batch * (3.5 if mode == "forward_backward" else 1.0)


def compile_fn(fn, *shapes):
  """Compiles fn for the given shapes; returns (compiled, seconds)."""
  start = time.perf_counter()
  compiled = jax.jit(fn).lower(*shapes).compile()
  return compiled, time.perf_counter() - start


def memory_of(compiled):
  """(temp bytes, total bytes incl. arguments and outputs, source) from memory_analysis()."""
  m = compiled.memory_analysis()
  if m is None:
    return float("nan"), float("nan"), "unavailable"
  temp = m.temp_size_in_bytes
  total = temp + m.argument_size_in_bytes + m.output_size_in_bytes
  # On CPU, XLA may hand a whole attention to one library call and report 0 temp bytes; such
  # a point must not enter a fit. Rerun with XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=
  # -dot,-eltwise,-reduce to see the buffers (the flag must be set before JAX starts).
  return temp, total, ("zero-reported (fused library call?)" if temp == 0 else "memory_analysis")


def xla_costs(compiled, written_flops):
  """XLA's own count of what the compiled program asks of the hardware: (FLOPs, bytes accessed).

  Deterministic (a property of the program, not of the machine's load), so a reader can set the
  timed slopes beside what the hardware was asked to do. (nan, nan) where the count misses work
  the program does: it must hold COUNT_COVERAGE of `written_flops`, the matmul FLOPs of the
  program as written (`program_matmul_flops`).
  """
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  cost = cost or {}
  flops = float(cost.get("flops", float("nan")))
  if not flops >= COUNT_COVERAGE * written_flops:
    return float("nan"), float("nan")
  return flops, float(cost.get("bytes accessed", float("nan")))


def program_matmul_flops(fn, *shapes) -> int:
  """Matmul FLOPs of fn as written (its jaxpr for these shapes): what no backend's lowering can
  hide. Loops count their body times their length; loop variants get no XLA counts anyway."""
  return flop_count.jaxpr_matmul_flops(jax.make_jaxpr(fn)(*shapes).jaxpr)


def normal(rng, shape, dtype=np.float32, scale=1.0):
  """A standard normal array drawn with numpy: no eager jax op, so no compile per new shape."""
  return jnp.asarray(rng.standard_normal(shape, np.float32) * np.float32(scale), dtype)


def make_qkv(seed, batch, n, heads, d, dtype):
  """q, k, v and an output cotangent of shape [batch, n, heads, d] (seed: int or tuple)."""
  rng = np.random.default_rng(seed)
  return tuple(normal(rng, (batch, n, heads, d), dtype) for _ in range(4))


def attention_program(fn, mode, causal):
  """(q, k, v, ct) -> output (forward) or (output, (dq, dk, dv)) (forward_backward)."""
  if mode == "forward":
    return lambda q, k, v, ct: fn(q, k, v, causal=causal)

  def forward_backward(q, k, v, ct):
    out, vjp = jax.vjp(lambda q, k, v: fn(q, k, v, causal=causal), q, k, v)
    return out, vjp(ct)

  return forward_backward

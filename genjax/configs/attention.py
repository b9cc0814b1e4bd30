"""Attention scaling: time, memory and FLOPs of every attention variant against n (seed claim Q4).

Run:     python experiments/attention.py --flagfile=experiments/flags/attention_cpu_quick.flags
Time:    quick about 50 s on 2 CPU cores at load 1.5 (n 512..8192 forward, naive and chunked
         forward+backward to 4096, d 64, one head; crossover at d = 256, 512); full about 30-60
         minutes (n up to 32768, crossover to n = 16d, chunked forward up to n = 131072).
Expect:  workdir/results.md with fitted log-log slopes: naive and dot_product time and memory
         near 2; blocked and chunked time near 2 and temp memory near 1 (or flat); sliding
         window, block-sparse, Linformer, Performer and LSH time near 1. The encoder layer's
         attention overtakes its MLP near n = 4d and all linear work near n = 6d.
         See BUILD_NOTES.md for measured values.

get_config('quick') is the default above; 'full' sweeps to the memory limit of a 24 GiB CPU
machine; 'gpu' times bfloat16 with jax.nn.dot_product_attention(implementation='cudnn').
"""

from ml_collections import ConfigDict

VARIANTS = ("naive", "dot_product", "blocked", "chunked", "sliding_window", "block_sparse",
            "linformer", "performer", "lsh")


def get_config(variant: str | None = None) -> ConfigDict:
  config = ConfigDict()
  config.seed = 0  # every random input and random projection derives from this
  # ---- the scaling sweep ----
  config.variants = VARIANTS  # attention variants to time (genjax.attention.variants.VARIANTS)
  config.modes = ("forward", "forward_backward")  # forward | forward_backward (grads of q, k, v)
  # Variants also timed forward+backward. Quick: only what the claim rules read (naive) and the
  # exact memory-efficient one (chunked); full: all of them.
  config.backward_variants = ("naive", "chunked")
  config.backward_n_max = 4096  # forward_backward points stop at this n (the slowest part)
  config.n_min = 512  # smallest sequence length (power of two)
  config.n_max = 8192  # largest sequence length (power of two); the grid doubles from n_min
  config.batch = 1  # sequences per call
  config.heads = 1  # attention heads
  config.head_dim = 64  # d per head
  config.causal = False  # causal masks (halves the exact FLOPs; linformer cannot be causal)
  config.dtype = "float32"  # float32 | bfloat16
  config.implementation = ""  # jax.nn.dot_product_attention implementation: "" (XLA) | cudnn
  config.repeats = 3  # timed rounds per point after one warm-up call; fits use the median
  config.max_seconds_per_point = 4.0  # a variant stops growing n after one call takes longer
  config.memory_limit_gb = 20.0  # skip points whose XLA buffers (args+outputs+temp) exceed this
  # The slope fit uses the largest this many n of each variant, one median each: 4 points leave
  # 2 degrees of freedom (t = 4.3); 3 would leave 1 (t = 12.7) and an interval too wide to judge.
  config.fit_points = 4
  config.error_n_max = 4096  # relative error vs exact attention is measured up to this n
  # ---- variant parameters ----
  config.blocked_query_chunk = 256  # blocked: queries per block (each sees whole key rows)
  config.query_chunk = 512  # chunked: queries per block
  config.key_chunk = 1024  # chunked: keys per online-softmax step
  config.window = 128  # sliding_window: keys on each side of a query
  config.block = 64  # block_sparse: block size in tokens
  config.window_blocks = 1  # block_sparse: local blocks on each side of a query block
  config.global_blocks = 1  # block_sparse: leading blocks every query sees (and that see all)
  config.random_blocks = 1  # block_sparse: random key blocks per query block
  config.rank = 128  # linformer: projected length k
  config.linformer_projection = "gaussian"  # linformer: gaussian (paper, random) | pool (means)
  config.num_features = 256  # performer: random features M
  config.num_buckets = 16  # lsh: hash buckets per round (even)
  config.num_hashes = 2  # lsh: hashing rounds
  config.lsh_chunk = 64  # lsh: queries per chunk (each sees 3 chunks of keys)
  # ---- where attention dominates an encoder layer (forward) ----
  config.crossover_widths = (256, 512)  # model widths d; heads = d / head_dim (full: + 768)
  config.crossover_multiples = (1, 2, 4, 8)  # sequence lengths n = d * multiple (4d, 6d inside)
  config.crossover_variant = "blocked"  # attention variant inside the layer
  # Timed rounds per crossover point: its small-n parts take 1-3 ms, where one preempted call on
  # a shared 2-core machine moves a median of 3 by 2x; 7 rounds of every part cost ~3 s more.
  config.crossover_repeats = 7
  # ---- long sequences (forward, one call per n, stops at the first failure) ----
  config.long_variants = ()  # variants pushed to long_n (full: chunked and naive)
  config.long_n = (16384, 32768, 65536, 131072)  # sequence lengths to try, ascending
  config.long_heads = 1  # heads in the long-sequence check

  if variant in (None, "quick"):
    pass
  elif variant == "full":
    config.n_min = 256
    config.backward_variants = VARIANTS
    config.crossover_widths = (256, 512, 768)
    config.n_max = 32768
    config.backward_n_max = 32768
    config.repeats = 5
    config.max_seconds_per_point = 30.0
    config.crossover_multiples = (0.5, 1, 2, 4, 8, 16)
    config.long_variants = ("naive", "chunked", "blocked")
  elif variant == "gpu":
    config.dtype = "bfloat16"
    config.implementation = "cudnn"
    config.variants = ("naive", "dot_product", "blocked", "chunked", "sliding_window",
                       "performer")
    config.backward_variants = config.variants
    config.n_max = 65536
    config.backward_n_max = 65536
    config.heads = 8
    config.batch = 4
    config.max_seconds_per_point = 10.0
    config.memory_limit_gb = 60.0
    config.long_variants = ("chunked",)
  else:
    raise ValueError(f"unknown attention config variant {variant!r}: quick | full | gpu")
  return config

"""Attention scaling: time, memory and FLOPs of every attention variant against n (seed claim Q4).

Run:     python experiments/attention.py --flagfile=experiments/flags/attention_cpu_quick.flags
Time:    quick: see experiments/flags/attention_cpu_quick.flags (n 1024..16384, 4 per doubling,
         each variant until one call takes 64 reference matmuls; naive also forward+backward;
         d 64, one head; crossover at d = 256, 512); full about 45-60 minutes (n 256..32768 by
         doublings, crossover to n = 16d, chunked forward up to n = 131072).
Expect:  workdir/results.md and results.json with fitted log-log slopes (over the n where fixed
         costs are under 5%, genjax.attention.slopes) and every per-n median: naive and
         dot_product time and memory near 2; blocked and chunked time near 2 and temp memory
         near 1 (or flat); sliding window, block-sparse, Linformer, Performer and LSH near 1.

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
  # Attention variants to time (genjax.attention.variants.VARIANTS). Quick: what the claim rules
  # read (naive; chunked's memory; the five efficient ones); dot_product and blocked, quadratic
  # like naive, would cost a compile per n and a third of the run: the full config times them.
  config.variants = ("naive", "chunked", "sliding_window", "block_sparse", "linformer",
                     "performer", "lsh")
  config.modes = ("forward", "forward_backward")  # forward | forward_backward (grads of q, k, v)
  # Variants also timed forward+backward. Quick: only what the claim rules read (naive); chunked
  # forward+backward (a rematerializing scan, 3 s per call at n = 5K on a loaded machine) was
  # the slowest part of the quick run. Full: all of them.
  config.backward_variants = ("naive",)
  # forward_backward points stop at this n. Quick: n_max, so the wall-time row's fit past the
  # cache cliff gets every length of the grid in both modes (a verdict at its edge gets more
  # budget, not another rounding).
  config.backward_n_max = 16384
  # The grid: n_min * 2^(i / n_per_octave) up to n_max, each rounded to a multiple of
  # n_multiple. Four n per doubling: with fewer, the slope fits get few points over the 2-3
  # octaves where fixed costs have faded (genjax.attention.slopes.OVERHEAD_FACTOR), and the
  # wall-time row's interval past the cache cliff sat at its line on a 2-core VM (a verdict at
  # its edge gets more budget, not another rounding).
  # Every n costs a compile of every variant (1-3 s of the quick run's time each), so the grid
  # starts at 1024, below which fixed costs dominate the linear variants anyway.
  config.n_min = 1024  # smallest sequence length of the grid
  config.n_max = 16384  # largest sequence length (a variant stops earlier, see below)
  config.n_per_octave = 4  # sequence lengths per doubling of n
  # 128: the lsh chunks and sparse blocks (64) and sliding-window blocks (128) then hold whole
  # blocks, so no grid point does padding work its neighbours do not.
  config.n_multiple = 128
  # Every variant is also timed at this tiny n, where its work is negligible: its time bounds
  # the fixed cost per call, and slopes are fitted only where the time is OVERHEAD_FACTOR
  # times that (a power law).
  config.probe_n = 32
  config.batch = 1  # sequences per call
  config.heads = 1  # attention heads
  config.head_dim = 64  # d per head
  config.causal = False  # causal masks (halves the exact FLOPs; linformer cannot be causal)
  config.dtype = "float32"  # float32 | bfloat16
  config.implementation = ""  # jax.nn.dot_product_attention implementation: "" (XLA) | cudnn
  # Timed rounds per point after one warm-up call; fits use the median. 5, not 3: on a shared
  # machine one preempted round in 3 moves a median; it takes three in 5.
  config.repeats = 5
  # A variant stops growing n after one call takes longer than this many 2048^3 float32 matmuls
  # (the reference, timed right after it; ~60 ms each on 2 cores): a rule in units of the
  # machine's speed, so load changes the run's time but not its grid. 64 (~4 s) lets naive
  # attention reach n_max forward and backward (the wall-time row's lengths, above).
  config.max_reference_calls_per_point = 64.0
  config.memory_limit_gb = 20.0  # skip points whose XLA buffers (args+outputs+temp) exceed this
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
  # Sequence lengths n = d * multiple (4d, 6d inside). From d / 2: on a CPU attention can overtake
  # the MLP at or below n = d, and a crossover not bracketed in every timed round has no interval.
  config.crossover_multiples = (0.5, 1, 2, 4, 8)
  config.crossover_variant = "blocked"  # attention variant inside the layer
  # Timed rounds per crossover point: its small-n parts take 1-3 ms, where one preempted call on
  # a shared 2-core machine moves a median of 3 by 2x; 7 rounds of every part cost ~3 s more.
  # Each round also gives one measurement of the crossover n (the rule's interval needs at least
  # genjax.claims.attention.MIN_CROSSOVERS = 3 of them).
  config.crossover_repeats = 7
  # ---- long sequences (forward, one call per n, stops at the first failure) ----
  config.long_variants = ()  # variants pushed to long_n (full: chunked and naive)
  config.long_n = (16384, 32768, 65536, 131072)  # sequence lengths to try, ascending
  config.long_heads = 1  # heads in the long-sequence check

  if variant in (None, "quick"):
    pass
  elif variant == "full":
    config.variants = VARIANTS
    config.n_min = 256
    config.n_per_octave = 1
    config.backward_variants = VARIANTS
    config.crossover_widths = (256, 512, 768)
    config.n_max = 32768
    config.backward_n_max = 32768
    config.repeats = 5
    config.max_reference_calls_per_point = 500.0  # ~30 s on 2 CPU cores
    config.crossover_multiples = (0.5, 1, 2, 4, 8, 16)
    config.long_variants = ("naive", "chunked", "blocked")
  elif variant == "gpu":
    # Sized for report_gpu.flags' short loan of one accelerator, where this run goes first and
    # alone. There the sweep's time is compilation (XLA:GPU autotunes every program; the run's
    # compile_s column), so it compiles few programs: the quadratic variants against cuDNN's
    # fused kernel, and no crossover (the CPU reports measure it). Two n per doubling: naive
    # fits only between the n where its calls pass OVERHEAD_FACTOR times their fixed cost and
    # the n where its scores pass the memory limit, about two doublings on a GPU.
    config.dtype = "bfloat16"
    config.implementation = "cudnn"
    config.variants = ("naive", "dot_product", "chunked")
    config.backward_variants = ("dot_product",)
    config.n_min = 4096
    config.n_per_octave = 2
    config.n_max = 65536
    config.backward_n_max = 65536
    config.heads = 8
    config.batch = 4
    config.max_reference_calls_per_point = 1e5  # ~10 s at ~0.1 ms per reference on a GPU
    # Under half an H200's memory: XLA's autotuner needs room beside the buffers it predicts.
    config.memory_limit_gb = 40.0
    config.crossover_widths = ()
    config.long_variants = ("chunked",)
  else:
    raise ValueError(f"unknown attention config variant {variant!r}: quick | full | gpu")
  return config

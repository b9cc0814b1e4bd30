"""The table of bench/bench_attention.py: exact attention variants timed beside a float32 matmul,
each as a share of that peak (targets: the best exact variant at 50%, the best chunked one
within 1.3x of its time)."""

import functools

import numpy as np

from genjax import timing
from genjax.attention import measure, variants


def candidates(block_sizes):
  """Exact variants and block sizes to race: name -> attend."""
  out = {"naive": variants.naive, "dot_product": variants.dot_product}
  for qc in block_sizes:
    out[f"blocked q{qc}"] = functools.partial(variants.blocked, query_chunk=qc)
  for qc in block_sizes:
    for kc in block_sizes:
      if kc >= qc:
        out[f"chunked q{qc} k{kc}"] = functools.partial(variants.chunked, query_chunk=qc,
                                                        key_chunk=kc)
  return out


def speed_table(n=4096, d=64, heads=4, repeats=5, block_sizes=(128, 256, 512, 1024),
                matmul_size=2048, seed=0):
  """Times every candidate and a float32 matmul in interleaved rounds; returns table rows."""
  q, k, v, _ = measure.make_qkv(seed, 1, n, heads, d, np.float32)
  compiled, calls = {}, {}
  for name, fn in candidates(block_sizes).items():
    compiled[name], _ = measure.compile_fn(fn, q, k, v)
    calls[name] = functools.partial(compiled[name], q, k, v)
  calls["matmul"], mm_flops = timing.matmul(matmul_size)
  times = timing.time_interleaved(calls, repeats, warmup=1)
  flops = 4 * n * n * d * heads
  mm_best, mm_median = timing.best(times["matmul"]), timing.median(times["matmul"])
  rows = []
  for name, ts in times.items():
    if name == "matmul":
      continue
    # Per round, this variant's speed over the matmul's speed in the same round: load from
    # other processes in that round hits both.
    per_round = [mm_s / t * flops / mm_flops
                 for mm_s, t in zip(times["matmul"], ts, strict=True)]
    rows.append(dict(name=name, best_s=min(ts), median_s=float(np.median(ts)),
                     gflops=flops / min(ts) / 1e9,
                     pct_peak_best=100 * (flops / min(ts)) / (mm_flops / mm_best),
                     pct_peak_rounds=100 * float(np.median(per_round)),
                     temp_mib=compiled[name].memory_analysis().temp_size_in_bytes / 2 ** 20))
  peak = dict(gflops_best=mm_flops / mm_best / 1e9, gflops_median=mm_flops / mm_median / 1e9)
  return rows, peak


def format_table(rows, peak, n, d, heads):
  best = min(rows, key=lambda r: r["best_s"])
  chunked = min((r for r in rows if r["name"].startswith("chunked")), key=lambda r: r["best_s"])
  lines = [f"float32 matmul peak: {peak['gflops_best']:.1f} GFLOP/s best, "
           f"{peak['gflops_median']:.1f} median",
           f"exact attention forward, n={n}, d={d}, heads={heads} "
           f"({4 * n * n * d * heads / 1e9:.1f} GFLOP):",
           f"{'variant':22s} {'best ms':>8s} {'median ms':>9s} {'GFLOP/s':>8s} "
           f"{'% peak (best)':>13s} {'% peak (per round)':>18s} {'temp MiB':>9s}"]
  for r in sorted(rows, key=lambda r: r["best_s"]):
    lines.append(f"{r['name']:22s} {r['best_s'] * 1e3:8.1f} {r['median_s'] * 1e3:9.1f} "
                 f"{r['gflops']:8.1f} {r['pct_peak_best']:13.1f} {r['pct_peak_rounds']:18.1f} "
                 f"{r['temp_mib']:9.1f}")
  lines.append(f"best exact: {best['name']} at {best['pct_peak_best']:.0f}% of peak (target 50%); "
               f"best chunked: {chunked['name']} at {chunked['best_s'] / best['best_s']:.2f}x the "
               f"best time (target <= 1.3x)")
  return "\n".join(lines)

"""Measures attention cost against sequence length n: time, memory, FLOPs, slopes, crossovers.

run_sweep(config, workdir) writes results.csv, results.md, config.json and PNG plots. Every
timing compares variants side by side: at each n all variants are compiled first, then timed in
interleaved rounds, so load from other processes hits them alike.
"""

import csv
import dataclasses
import json
import math
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from genjax.attention import encoder, variants
from genjax.errors import UserError

# Expected log-log slopes in n (time, memory) from the seed claim.
EXPECTED_SLOPE = {
    "naive": (2, 2), "dot_product": (2, 2), "blocked": (2, 1), "chunked": (2, 1),
    "sliding_window": (1, 1), "block_sparse": (1, 1), "linformer": (1, 1), "performer": (1, 1),
    "lsh": (1, 1),
}
LOOP_VARIANTS = ("chunked", "blocked")  # XLA's cost_analysis counts a loop body once


# ----------------------------------------------------------------------------- configuration


def _power_of_two_range(lo, hi, field):
  for name, value in ((f"{field}_min", lo), (f"{field}_max", hi)):
    if value < 16 or value & (value - 1):
      raise UserError(f"config.{name} must be a power of two >= 16, got {value}")
  if lo > hi:
    raise UserError(f"config.{field}_min ({lo}) must not exceed config.{field}_max ({hi})")
  return [2 ** e for e in range(int(math.log2(lo)), int(math.log2(hi)) + 1)]


def validate(config):
  for name in config.variants:
    if name not in variants.VARIANTS:
      raise UserError(f"config.variants: unknown variant {name!r}; choose from "
                      f"{', '.join(variants.VARIANTS)}")
  for mode in config.modes:
    if mode not in ("forward", "forward_backward"):
      raise UserError(f"config.modes: {mode!r} is not forward or forward_backward")
  if config.causal and "linformer" in config.variants:
    raise UserError("config.causal=True cannot run linformer (its projection mixes future keys); "
                    "drop it from config.variants")
  if config.dtype not in ("float32", "bfloat16"):
    raise UserError(f"config.dtype must be float32 or bfloat16, got {config.dtype}")
  if config.repeats < 1:
    raise UserError(f"config.repeats must be >= 1, got {config.repeats}")
  if config.fit_points < 2:
    raise UserError(f"config.fit_points must be >= 2, got {config.fit_points}")
  if config.crossover_variant not in variants.VARIANTS:
    raise UserError(f"config.crossover_variant: unknown variant {config.crossover_variant!r}")
  for d in config.crossover_widths:
    if d % config.head_dim:
      raise UserError(f"config.crossover_widths: {d} is not a multiple of config.head_dim "
                      f"({config.head_dim})")
  if config.implementation == "cudnn" and jax.default_backend() != "gpu":
    raise UserError("config.implementation='cudnn' needs a GPU; this backend is "
                    f"{jax.default_backend()}")
  return _power_of_two_range(config.n_min, config.n_max, "n")


def variant_fn(name, config, key):
  """The variant with its config parameters (and a fixed key for random ones) bound."""
  params = {
      "dot_product": dict(implementation=config.implementation or None),
      "chunked": dict(query_chunk=config.query_chunk, key_chunk=config.key_chunk),
      "blocked": dict(query_chunk=config.blocked_query_chunk),
      "sliding_window": dict(window=config.window),
      "block_sparse": dict(block=config.block, window_blocks=config.window_blocks,
                           global_blocks=config.global_blocks,
                           random_blocks=config.random_blocks, key=key),
      "linformer": dict(rank=config.rank, projection=config.linformer_projection, key=key),
      # Drawn once outside the timed program, so each compile skips the QR decompositions.
      "performer": dict(features_MxD=variants.orthogonal_features(
          key, config.num_features, config.head_dim, jnp.dtype(config.dtype))),
      "lsh": dict(num_buckets=config.num_buckets, num_hashes=config.num_hashes,
                  chunk=config.lsh_chunk, key=key),
  }.get(name, {})
  return variants.get(name, **params)


def analytic_flops(name, n, config, heads, batch=1, mode="forward"):
  """FLOPs of the work each variant must do (not counting padding or recomputation)."""
  d = config.head_dim
  exact = 4 * n * n * d * (0.5 if config.causal else 1.0)
  per_head = {
      "sliding_window": 4 * n * min(2 * config.window + 1, n) * d,
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


# ----------------------------------------------------------------------------- timing


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


def xla_flops(compiled):
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  return float((cost or {}).get("flops", float("nan")))


def time_once(compiled, args):
  start = time.perf_counter()
  jax.block_until_ready(compiled(*args))
  return time.perf_counter() - start


def timed_rounds(entries, repeats):
  """entries: {name: (compiled, args)} -> {name: [seconds]}, one call of each per round."""
  times = {name: [] for name in entries}
  for _ in range(repeats):
    for name, (compiled, args) in entries.items():
      times[name].append(time_once(compiled, args))
  return times


def matmul_peak(size=2048, repeats=5, dtype=jnp.float32):
  """Best float32 GFLOP/s of one size x size matmul (compiled once, warmed up)."""
  a = jax.random.normal(jax.random.key(1), (size, size), dtype)
  compiled, _ = compile_fn(lambda x, y: x @ y, a, a)
  time_once(compiled, (a, a))
  return compiled, (a, a), 2 * size ** 3


def make_qkv(key, batch, n, heads, d, dtype):
  kq, kk, kv, kc = jax.random.split(key, 4)
  shape = (batch, n, heads, d)
  return tuple(jax.random.normal(k, shape, dtype) for k in (kq, kk, kv, kc))


def attention_program(fn, mode, causal):
  if mode == "forward":
    return lambda q, k, v, ct: fn(q, k, v, causal=causal)

  def forward_backward(q, k, v, ct):
    out, vjp = jax.vjp(lambda q, k, v: fn(q, k, v, causal=causal), q, k, v)
    return out, vjp(ct)

  return forward_backward


# ----------------------------------------------------------------------------- fits


@dataclasses.dataclass
class Fit:
  slope: float
  lo: float
  hi: float
  n_lo: int
  n_hi: int
  points: int
  intercept: float  # log(value) at n = 1, for drawing the fitted line


def fit_slope(ns, values_per_n, fit_points):
  """Log-log OLS slope over the largest `fit_points` n, every repeat one observation, 95% CI."""
  pairs = [(n, v) for n, vs in zip(ns, values_per_n, strict=True) for v in vs
           if v > 0 and np.isfinite(v)]
  use = sorted({n for n, _ in pairs})[-fit_points:]
  if len(use) < 2:
    return None
  x = np.array([math.log(n) for n, v in pairs if n in use])
  y = np.array([math.log(v) for n, v in pairs if n in use])
  slope, icept = np.polyfit(x, y, 1)
  dof = len(x) - 2
  if dof > 0:
    from scipy import stats

    resid = y - (slope * x + icept)
    se = math.sqrt(resid @ resid / dof / ((x - x.mean()) @ (x - x.mean())))
    half = stats.t.ppf(0.975, dof) * se
  else:
    half = float("nan")
  return Fit(float(slope), float(slope - half), float(slope + half), use[0], use[-1], len(x),
             float(icept))


def crossover(ns, ratio):
  """First n where ratio (attention / other) crosses 1, log-log interpolated; None if never."""
  pts = [(n, r) for n, r in zip(ns, ratio, strict=True) if r > 0 and np.isfinite(r)]
  for (n0, r0), (n1, r1) in zip(pts, pts[1:], strict=False):
    if r0 < 1 <= r1:
      f = -math.log(r0) / (math.log(r1) - math.log(r0))
      return math.exp(math.log(n0) + f * (math.log(n1) - math.log(n0)))
  if pts and pts[0][1] >= 1:
    return float(pts[0][0])  # already above at the smallest n: an upper bound
  return None


# ----------------------------------------------------------------------------- the sweep


def scaling_sweep(config, ns, key, on_point=None):
  """Time and memory of every variant and mode over ns, side by side; returns row dicts."""
  dtype = jnp.dtype(config.dtype)
  rows = []
  stopped = {}  # (variant, mode) -> reason it stopped growing n
  # A fixed 1024^3 matmul timed in every round: time / reference cancels machine-wide slowdowns
  # from other processes, which otherwise bend the slopes on a shared machine.
  ref_c, ref_args, _ = matmul_peak(1024)
  for mode in config.modes:
    for n in ns:
      if mode == "forward_backward" and n > config.backward_n_max:
        continue
      q, k, v, ct = make_qkv(jax.random.fold_in(key, n), config.batch, n, config.heads,
                             config.head_dim, dtype)
      shape = jax.ShapeDtypeStruct(q.shape, dtype)
      entries, info = {}, {}
      for name in config.variants:
        if (name, mode) in stopped:
          continue
        fn = variant_fn(name, config, jax.random.fold_in(key, 7))
        prog = attention_program(fn, mode, config.causal)
        compiled, compile_s = compile_fn(prog, shape, shape, shape, shape)
        temp, total, source = memory_of(compiled)
        row = dict(section="scaling", variant=name, mode=mode, n=n, d=config.head_dim,
                   heads=config.heads, batch=config.batch, compile_s=compile_s,
                   temp_bytes=temp, total_bytes=total, memory_source=source,
                   flops=analytic_flops(name, n, config, config.heads, config.batch, mode),
                   xla_flops=float("nan") if name in LOOP_VARIANTS else xla_flops(compiled))
        if total > config.memory_limit_gb * 2 ** 30:
          stopped[name, mode] = f"needs {total / 2 ** 30:.1f} GiB > {config.memory_limit_gb} GiB"
          rows.append(dict(row, status="oom-predicted"))
          continue
        info[name] = row
        entries[name] = (compiled, (q, k, v, ct))
      for name, (compiled, args) in list(entries.items()):
        first = time_once(compiled, args)  # warm-up
        if first > config.max_seconds_per_point:
          stopped[name, mode] = f"one call took {first:.1f} s > {config.max_seconds_per_point} s"
      times = timed_rounds(dict(entries, _reference=(ref_c, ref_args)), config.repeats)
      ref_times = times.pop("_reference")
      ref = None
      if n <= config.error_n_max and mode == "forward":
        exact = next((nm for nm in ("naive", "blocked", "chunked") if nm in entries), None)
        if exact:
          ref = np.asarray(entries[exact][0](q, k, v, ct), np.float32)
      for name, ts in times.items():
        row = dict(info[name], status="ok", time_s=statistics.median(ts), time_min_s=min(ts),
                   time_max_s=max(ts), times=" ".join(f"{t:.5f}" for t in ts),
                   time_over_reference=statistics.median(
                       t / r for t, r in zip(ts, ref_times, strict=True)),
                   reference_times=" ".join(f"{t:.5f}" for t in ref_times))
        row["gflops_per_s"] = row["flops"] / row["time_s"] / 1e9
        if ref is not None:
          out = np.asarray(entries[name][0](q, k, v, ct), np.float32)
          row["rel_error"] = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
        rows.append(row)
        if on_point:
          on_point(row)
      del entries
  return rows, stopped


def _part_programs(d, heads, attend, mlp_ratio, causal):
  """The three parts of an encoder layer as separate programs, and the whole layer."""
  layer = encoder.EncoderLayer(num_heads=heads, attend=attend, mlp_ratio=mlp_ratio, causal=causal)

  def projections(x, w_qkv, w_out):
    qkv = x @ w_qkv
    return qkv[..., :d] @ w_out + qkv[..., d:2 * d] + qkv[..., 2 * d:]

  def mlp(x, w_up, w_down):
    return jax.nn.gelu(x @ w_up) @ w_down

  def attention(q, k, v):
    return attend(q, k, v, causal=causal)

  return layer, projections, mlp, attention


def crossover_sweep(config, key, on_point=None):
  """Forward time of attention vs MLP vs projections inside one encoder layer, over n and d."""
  rows = []
  for d in config.crossover_widths:
    ns = [int(round(d * m)) for m in config.crossover_multiples]
    heads = d // config.head_dim
    attend = variant_fn(config.crossover_variant, config, jax.random.fold_in(key, 7))
    layer, projections, mlp, attention = _part_programs(d, heads, attend, 4, config.causal)
    for n in ns:
      ks = jax.random.split(jax.random.fold_in(key, 1000 * d + n), 8)
      x = jax.random.normal(ks[0], (1, n, d))
      w = lambda k, shape: jax.random.normal(k, shape) / math.sqrt(shape[0])  # noqa: E731
      q, kk, v = (jax.random.normal(ks[i], (1, n, heads, config.head_dim)) for i in (1, 2, 3))
      params = layer.init(ks[4], x[:, :16])
      parts = {
          "projections": (projections, (x, w(ks[5], (d, 3 * d)), w(ks[6], (d, d)))),
          "mlp": (mlp, (x, w(ks[5], (d, 4 * d)), w(ks[6], (4 * d, d)))),
          "attention": (attention, (q, kk, v)),
          "layer": (layer.apply, (params, x)),
      }
      entries = {}
      for part, (fn, args) in parts.items():
        compiled, _ = compile_fn(fn, *args)
        time_once(compiled, args)
        entries[part] = (compiled, args)
      times = timed_rounds(entries, config.repeats)
      flops = encoder.layer_flops(n, d)
      for part, ts in times.items():
        row = dict(section="crossover", variant=config.crossover_variant, mode="forward",
                   part=part, n=n, d=d, heads=heads, batch=1, status="ok",
                   time_s=statistics.median(ts), time_min_s=min(ts), time_max_s=max(ts),
                   times=" ".join(f"{t:.5f}" for t in ts),
                   flops=sum(flops.values()) if part == "layer" else flops[part])
        rows.append(row)
        if on_point:
          on_point(row)
  return rows


def long_sequence_check(config, key, on_point=None):
  """The largest n (one call, forward) each variant in config.long_variants handles."""
  rows = []
  dtype = jnp.dtype(config.dtype)
  for name in config.long_variants:
    fn = variant_fn(name, config, jax.random.fold_in(key, 7))
    prog = attention_program(fn, "forward", config.causal)
    for n in config.long_n:
      shape = jax.ShapeDtypeStruct((1, n, config.long_heads, config.head_dim), dtype)
      row = dict(section="long", variant=name, mode="forward", n=n, d=config.head_dim,
                 heads=config.long_heads, batch=1,
                 flops=analytic_flops(name, n, config, config.long_heads))
      try:
        compiled, compile_s = compile_fn(prog, shape, shape, shape, shape)
        temp, total, source = memory_of(compiled)
        row.update(compile_s=compile_s, temp_bytes=temp, total_bytes=total, memory_source=source)
        if total > config.memory_limit_gb * 2 ** 30:
          row["status"] = "oom-predicted"
        else:
          q, k, v, ct = make_qkv(jax.random.fold_in(key, n), 1, n, config.long_heads,
                                 config.head_dim, dtype)
          t = time_once(compiled, (q, k, v, ct))
          row.update(status="ok", time_s=t, time_min_s=t, time_max_s=t, times=f"{t:.5f}",
                     gflops_per_s=row["flops"] / t / 1e9)
          del q, k, v, ct
      except Exception as e:  # an allocation failure is a result here, not a crash
        row["status"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
      rows.append(row)
      if on_point:
        on_point(row)
      if row["status"] != "ok":
        break
  return rows


# ----------------------------------------------------------------------------- reports


def summarize(rows, config):
  """Slopes, crossovers and largest n from the rows: a dict for results.md and the logs."""
  out = {"slopes": [], "crossovers": [], "largest": {}, "errors": {}}
  scaling = [r for r in rows if r["section"] == "scaling" and r["status"] == "ok"]
  for name in config.variants:
    for mode in config.modes:
      pts = sorted((r for r in scaling if r["variant"] == name and r["mode"] == mode),
                   key=lambda r: r["n"])
      if not pts:
        continue
      ns = [r["n"] for r in pts]
      tfit = fit_slope(ns, [[float(t) for t in r["times"].split()] for r in pts],
                       config.fit_points)
      nfit = fit_slope(ns, [[float(t) / float(rt) for t, rt in zip(
          r["times"].split(), r["reference_times"].split(), strict=True)] for r in pts],
          config.fit_points)
      mem = [r for r in pts if r["memory_source"] == "memory_analysis"]
      mfit = fit_slope([r["n"] for r in mem], [[r["temp_bytes"]] for r in mem], config.fit_points)
      out["slopes"].append(dict(variant=name, mode=mode, time=tfit, time_corrected=nfit,
                                memory=mfit,
                                expected=EXPECTED_SLOPE[name]))
      errs = [(r["n"], r["rel_error"]) for r in pts if "rel_error" in r]
      if errs:
        out["errors"][name] = errs
  for r in rows:
    if r["section"] in ("scaling", "long") and r["status"] == "ok":
      key = (r["variant"], r["mode"], r["section"])
      out["largest"][key] = max(out["largest"].get(key, 0), r["n"])
  cross = [r for r in rows if r["section"] == "crossover"]
  for d in config.crossover_widths:
    by = {p: {r["n"]: r["time_s"] for r in cross if r["d"] == d and r["part"] == p}
          for p in ("attention", "mlp", "projections", "layer")}
    ns = sorted(by["attention"])
    if not ns:
      continue
    att = np.array([by["attention"][n] for n in ns])
    mlp = np.array([by["mlp"][n] for n in ns])
    lin = mlp + np.array([by["projections"][n] for n in ns])
    out["crossovers"].append(dict(
        d=d, ns=ns, attention_share=(att / (att + lin)).tolist(),
        predicted_mlp=4 * d, measured_mlp=crossover(ns, att / mlp),
        predicted_linear=6 * d, measured_linear=crossover(ns, att / lin),
        parts_over_layer=((att + lin) / np.array([by["layer"][n] for n in ns])).tolist()))
  return out


def _fmt_fit(fit):
  if fit is None:
    return "n/a"
  return f"{fit.slope:.2f} [{fit.lo:.2f}, {fit.hi:.2f}] (n {fit.n_lo}-{fit.n_hi})"


def _fmt_n(n):
  return "not reached" if n is None else f"{n:,.0f}"


def write_csv(rows, path):
  fields = []
  for r in rows:
    fields += [k for k in r if k not in fields]
  with open(path, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


def write_markdown(summary, rows, config, header, path):
  lines = ["# Attention scaling", "", header, "",
           "## Fitted log-log slopes in n (95% CI, fit window)", "",
           "Time slopes from raw seconds and from seconds / a 1024^3 matmul timed in the same "
           "round (load-corrected: cancels slowdowns from other processes on a shared machine).",
           "", "| variant | mode | time slope | load-corrected time slope | expected | "
           "temp-memory slope | expected |", "|---|---|---|---|---|---|---|"]
  for s in summary["slopes"]:
    lines.append(f"| {s['variant']} | {s['mode']} | {_fmt_fit(s['time'])} | "
                 f"{_fmt_fit(s['time_corrected'])} | {s['expected'][0]} "
                 f"| {_fmt_fit(s['memory'])} | {s['expected'][1]} |")
  scaling = [r for r in rows if r["section"] == "scaling"]
  ns = sorted({r["n"] for r in scaling})
  for mode in config.modes:
    for what, unit, scale_ in (("time_s", "ms", 1e3), ("temp_bytes", "MiB", 2 ** -20)):
      lines += ["", f"## {mode}: {'median time' if what == 'time_s' else 'XLA temp memory'} "
                f"({unit})", "", "| variant | " + " | ".join(str(n) for n in ns) + " |",
                "|---|" + "---|" * len(ns)]
      for name in config.variants:
        cells = []
        for n in ns:
          r = next((r for r in scaling if r["variant"] == name and r["mode"] == mode
                    and r["n"] == n), None)
          if r is None:
            cells.append("-")
          elif r["status"] != "ok" and what == "time_s":
            cells.append(r["status"])
          else:
            cells.append(f"{r[what] * scale_:.3g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
  if summary["errors"]:
    lines += ["", "## Relative error vs exact attention (forward, ||o - o_exact|| / ||o_exact||)",
              ""]
    for name, errs in summary["errors"].items():
      lines.append(f"- {name}: " + ", ".join(f"n={n}: {e:.2e}" for n, e in errs))
  if summary["crossovers"]:
    lines += ["", f"## Where attention starts to dominate (encoder layer, forward, "
              f"{config.crossover_variant} attention, head dim {config.head_dim})", "",
              "| d | attention = MLP: predicted | measured | attention = all linear: predicted "
              "| measured | attention share of layer time per n | parts / whole layer |",
              "|---|---|---|---|---|---|---|"]
    for c in summary["crossovers"]:
      share = ", ".join(f"{n}: {s:.0%}" for n, s in zip(c["ns"], c["attention_share"], strict=True))
      ratio = ", ".join(f"{x:.2f}" for x in c["parts_over_layer"])
      lines.append(f"| {c['d']} | {c['predicted_mlp']:,} | {_fmt_n(c['measured_mlp'])} | "
                   f"{c['predicted_linear']:,} | {_fmt_n(c['measured_linear'])} | {share} | "
                   f"{ratio} |")
  lines += ["", "## Largest n reached (forward unless noted)", ""]
  for (name, mode, section), n in sorted(summary["largest"].items()):
    lines.append(f"- {name} ({mode}, {section}): {n:,}")
  stops = [r for r in rows if r.get("status", "ok") != "ok"]
  for r in stops:
    lines.append(f"- {r['variant']} ({r['mode']}, {r['section']}) at n={r['n']:,}: {r['status']}")
  sources = sorted({r.get("memory_source", "") for r in rows if r.get("memory_source")})
  lines += ["", f"Memory source: {', '.join(sources)}. Temp bytes are XLA's buffer assignment "
            "beyond arguments and outputs (`compiled.memory_analysis().temp_size_in_bytes`)."]
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def write_plots(summary, rows, config, workdir):
  if jax.process_index() != 0:
    return
  from genjax import plots
  plt = plots.plt
  scaling = [r for r in rows if r["section"] == "scaling" and r["status"] == "ok"]
  fits = {(s["variant"], s["mode"]): s for s in summary["slopes"]}
  for what, label, fname in (("time_s", "median time (s)", "time"),
                             ("temp_bytes", "XLA temp memory (bytes)", "memory")):
    fig, axes = plt.subplots(1, len(config.modes), figsize=(7 * len(config.modes), 5),
                             squeeze=False)
    for ax, mode in zip(axes[0], config.modes, strict=True):
      for name in config.variants:
        pts = sorted((r for r in scaling if r["variant"] == name and r["mode"] == mode
                      and r[what] > 0), key=lambda r: r["n"])
        if not pts:
          continue
        fit = fits.get((name, mode), {}).get("time" if what == "time_s" else "memory")
        lab = name if fit is None else f"{name}: slope {fit.slope:.2f}"
        line, = ax.loglog([r["n"] for r in pts], [r[what] for r in pts], "o-", label=lab)
        if fit is not None:
          ends = np.array([fit.n_lo, fit.n_hi], float)
          ax.plot(ends, np.exp(fit.intercept) * ends ** fit.slope, lw=6, alpha=0.25,
                  color=line.get_color())
      ax.set_xscale("log", base=2)
      ax.set_title(f"{mode} (thick segment: fit window)")
      ax.set_xlabel("sequence length n")
      ax.set_ylabel(label)
      ax.legend(fontsize=7)
      ax.grid(True, which="both", alpha=0.3)
    plots.save(fig, os.path.join(workdir, f"{fname}_vs_n.png"))
  if summary["crossovers"]:
    cross = [r for r in rows if r["section"] == "crossover"]
    fig, axes = plt.subplots(1, len(summary["crossovers"]),
                             figsize=(5 * len(summary["crossovers"]), 4), squeeze=False)
    for ax, c in zip(axes[0], summary["crossovers"], strict=True):
      for part in ("attention", "mlp", "projections"):
        pts = sorted((r for r in cross if r["d"] == c["d"] and r["part"] == part),
                     key=lambda r: r["n"])
        ax.loglog([r["n"] for r in pts], [r["time_s"] for r in pts], "o-", label=part)
      ax.axvline(c["predicted_mlp"], ls="--", color="gray", label="predicted attn = MLP (4d)")
      ax.axvline(c["predicted_linear"], ls=":", color="gray", label="predicted attn = linear (6d)")
      if c["measured_mlp"]:
        ax.axvline(c["measured_mlp"], color="C1", alpha=0.5, label="measured attn = MLP")
      ax.set_xscale("log", base=2)
      ax.set_title(f"d = {c['d']}")
      ax.set_xlabel("n")
      ax.set_ylabel("forward time (s)")
      ax.legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "crossover.png"))


def summary_to_json(summary, matmul_peak_flops):
  """The summary as plain JSON (fits as dicts, (variant, mode, section) keys as 'a/b/c')."""

  def fit(value):
    return dataclasses.asdict(value) if value is not None else None

  return {
      "matmul_peak_gflops": matmul_peak_flops / 1e9,
      "slopes": [{**s, "time": fit(s["time"]), "time_corrected": fit(s["time_corrected"]),
                  "memory": fit(s["memory"])} for s in summary["slopes"]],
      "crossovers": summary["crossovers"],
      "largest": {"/".join(key): n for key, n in summary["largest"].items()},
      "errors": summary["errors"],
  }


def run_sweep(config, workdir):
  """The whole measurement: scaling sweep, crossover, long sequences; writes the reports."""
  ns = validate(config)
  from genjax import logs

  writer = logs.MetricsWriter(workdir)
  writer.write_config(config)
  key = jax.random.key(config.seed)
  start = time.perf_counter()
  peak_c, peak_args, peak_flops = matmul_peak()
  peak_s = min(timed_rounds({"mm": (peak_c, peak_args)}, 5)["mm"])
  peak = peak_flops / peak_s
  logging.info("float32 matmul peak (2048^3, best of 5): %.1f GFLOP/s", peak / 1e9)

  step = [0]

  def log_point(row):
    step[0] += 1
    logging.info("%s %s %s n=%d d=%s: %s %s", row["section"], row["variant"],
                 row.get("part", row["mode"]), row["n"], row.get("d"), row["status"],
                 f"{row['time_s'] * 1e3:.1f} ms" if "time_s" in row else "")
    writer.write(step[0], {k: v for k, v in row.items() if k != "times"})

  rows, _ = scaling_sweep(config, ns, jax.random.fold_in(key, 0), log_point)
  rows += crossover_sweep(config, jax.random.fold_in(key, 1), log_point)
  rows += long_sequence_check(config, jax.random.fold_in(key, 2), log_point)
  summary = summarize(rows, config)
  elapsed = time.perf_counter() - start
  header = (f"JAX {jax.__version__} on {jax.default_backend()} ({jax.devices()[0].device_kind}, "
            f"{os.cpu_count()} CPUs); float32 matmul peak measured in this run: "
            f"{peak / 1e9:.1f} GFLOP/s; {config.dtype}, batch {config.batch}, {config.heads} "
            f"head(s) of dim {config.head_dim}, causal={config.causal}; {config.repeats} timed "
            f"repeats per point after a warm-up; sweep took {elapsed:.0f} s.")
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    write_csv(rows, os.path.join(workdir, "results.csv"))
    with open(os.path.join(workdir, "results.json"), "w") as f:
      json.dump(summary_to_json(summary, peak), f, indent=2)
    write_markdown(summary, rows, config, header, os.path.join(workdir, "results.md"))
    write_plots(summary, rows, config, workdir)
  writer.close()
  for s in summary["slopes"]:
    logging.info("slope %s %s: time %s, load-corrected time %s, memory %s", s["variant"],
                 s["mode"], _fmt_fit(s["time"]), _fmt_fit(s["time_corrected"]),
                 _fmt_fit(s["memory"]))
  for c in summary["crossovers"]:
    logging.info("crossover d=%d: attention=MLP at %s (predicted %d), attention=linear at %s "
                 "(predicted %d)", c["d"], _fmt_n(c["measured_mlp"]), c["predicted_mlp"],
                 _fmt_n(c["measured_linear"]), c["predicted_linear"])
  return summary, rows


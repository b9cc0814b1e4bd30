"""Measures attention cost against sequence length n: time, memory, FLOPs, slopes, crossovers.

run_sweep(config, workdir) validates the config, runs the sweeps (sweeps.py: programs and XLA
analyses from measure.py, timing from genjax.timing), fits them (fits.py) and writes
results.csv, results.json, results.md, config.json, metrics.jsonl and PNG plots (writers.py).
"""

import json
import math
import os
import time

import jax
from absl import logging

from genjax import logs, timing
from genjax.attention import fits, sweeps, variants, writers
from genjax.errors import UserError


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
  for name in config.backward_variants:
    if name not in variants.VARIANTS:
      raise UserError(f"config.backward_variants: unknown variant {name!r}")
  for mode in config.modes:
    if mode not in ("forward", "forward_backward"):
      raise UserError(f"config.modes: {mode!r} is not forward or forward_backward")
  if config.causal and "linformer" in config.variants:
    raise UserError("config.causal=True cannot run linformer (its projection mixes future keys); "
                    "drop it from config.variants")
  if config.dtype not in ("float32", "bfloat16"):
    raise UserError(f"config.dtype must be float32 or bfloat16, got {config.dtype}")
  for field in ("repeats", "crossover_repeats"):
    if config[field] < 1:
      raise UserError(f"config.{field} must be >= 1, got {config[field]}")
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



def run_sweep(config, workdir):
  """The whole measurement: scaling sweep, crossover, long sequences; writes the reports."""
  ns = validate(config)
  writer = logs.MetricsWriter(workdir)  # no TensorBoard: a sweep has no training curves
  writer.write_config(config)
  key = jax.random.key(config.seed)
  start = time.perf_counter()
  env = timing.environment()
  logging.info("%s", timing.describe(env))
  peak_fn, peak_flops = timing.matmul(2048)
  peak = peak_flops / timing.best(timing.time_interleaved({"mm": peak_fn}, 5)["mm"])
  logging.info("float32 matmul peak (2048^3, best of 5): %.1f GFLOP/s", peak / 1e9)

  step = [0]

  def log_point(row):
    step[0] += 1
    logging.info("%s %s %s n=%d d=%s: %s %s", row["section"], row["variant"],
                 row.get("part", row["mode"]), row["n"], row.get("d"), row["status"],
                 f"{row['time_s'] * 1e3:.1f} ms" if "time_s" in row else "")
    writer.write(step[0], {k: v for k, v in row.items() if k != "times"})

  rows, _ = sweeps.scaling_sweep(config, ns, jax.random.fold_in(key, 0), log_point)
  rows += sweeps.crossover_sweep(config, jax.random.fold_in(key, 1), log_point)
  rows += sweeps.long_sequence_check(config, jax.random.fold_in(key, 2), log_point)
  summary = fits.summarize(rows, config)
  elapsed = time.perf_counter() - start
  header = (f"{timing.describe(env)}; float32 matmul peak measured in this run: "
            f"{peak / 1e9:.1f} GFLOP/s; {config.dtype}, batch {config.batch}, {config.heads} "
            f"head(s) of dim {config.head_dim}, causal={config.causal}; {config.repeats} timed "
            f"rounds per point ({config.crossover_repeats} in the crossover) after a warm-up; "
            f"sweep took {elapsed:.0f} s.")
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    writers.write_csv(rows, os.path.join(workdir, "results.csv"))
    with open(os.path.join(workdir, "results.json"), "w") as f:
      json.dump(writers.summary_to_json(summary, peak, env, elapsed), f, indent=2)
    writers.write_markdown(summary, rows, config, header, os.path.join(workdir, "results.md"))
    writers.write_plots(summary, rows, config, workdir)
  writer.close()
  for s in summary["slopes"]:
    logging.info("slope %s %s: time %s, load-corrected time %s, memory %s", s["variant"],
                 s["mode"], writers.fmt_fit(s["time"]), writers.fmt_fit(s["time_corrected"]),
                 writers.fmt_fit(s["memory"]))
  for c in summary["crossovers"]:
    logging.info("crossover d=%d: attention=MLP at %s (predicted %d), attention=linear at %s "
                 "(predicted %d)", c["d"], writers.fmt_n(c["measured_mlp"]), c["predicted_mlp"],
                 writers.fmt_n(c["measured_linear"]), c["predicted_linear"])
  return summary, rows

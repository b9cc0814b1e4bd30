"""Measures attention cost against sequence length n: time, memory, FLOPs, slopes, crossovers.

run_sweep(config, workdir) validates the config, runs the sweeps (sweeps.py: programs and XLA
analyses from measure.py, timing from genjax.timing), fits them (slopes.py) and writes
results.csv, results.json, results.md, config.json, metrics.jsonl and PNG plots (writers.py).
"""

import math
import time

import jax
from absl import logging

from genjax import startup, timing
from genjax.attention import cache, slopes, sweeps, variants, writers
from genjax.errors import UserError
from genjax.registry import EXPERIMENTS
from genjax.workdir import Workdir


def sequence_lengths(n_min, n_max, per_octave, multiple):
  """n_min * 2^(i / per_octave) up to n_max, rounded to multiples of `multiple`, distinct."""
  steps = int(math.floor(per_octave * math.log2(n_max / n_min) + 1e-9))
  ns = [n_min * 2 ** (i / per_octave) for i in range(steps + 1)]
  return sorted({max(multiple, int(round(n / multiple)) * multiple) for n in ns})


# Integer sizes that must be at least 1 (0 or less divides by zero or builds empty arrays
# deep inside a compiled program, which would surface as a traceback), and those that may be 0.
_POSITIVE = ("n_min", "n_max", "batch", "heads", "head_dim", "repeats", "crossover_repeats",
             "n_per_octave", "n_multiple", "probe_n", "backward_n_max", "error_n_max",
             "blocked_query_chunk", "query_chunk", "key_chunk", "window", "block", "rank",
             "num_features", "num_hashes", "lsh_chunk", "long_heads")
_NON_NEGATIVE = ("window_blocks", "global_blocks", "random_blocks")


def _check_variant_names(field, names):
  for name in names:
    if name not in variants.VARIANTS:
      raise UserError(f"config.{field}: unknown variant {name!r}; choose from "
                      f"{', '.join(variants.VARIANTS)}")


def validate(config):
  """Every config error as one UserError line, before any JAX work; returns the grid of n."""
  for field in _POSITIVE:
    if not isinstance(config[field], int) or config[field] < 1:
      raise UserError(f"config.{field} must be an integer >= 1, got {config[field]!r}")
  for field in _NON_NEGATIVE:
    if not isinstance(config[field], int) or config[field] < 0:
      raise UserError(f"config.{field} must be an integer >= 0, got {config[field]!r}")
  for field in ("max_reference_calls_per_point", "memory_limit_gb"):
    if not config[field] > 0:
      raise UserError(f"config.{field} must be > 0, got {config[field]}")
  if config.num_buckets < 2 or config.num_buckets % 2:
    raise UserError(f"config.num_buckets must be even and >= 2 (LSH draws num_buckets / 2 "
                    f"random rotations and takes their signs), got {config.num_buckets}")
  _check_variant_names("variants", config.variants)
  _check_variant_names("backward_variants", config.backward_variants)
  _check_variant_names("long_variants", config.long_variants)
  _check_variant_names("crossover_variant", (config.crossover_variant,))
  for mode in config.modes:
    if mode not in ("forward", "forward_backward"):
      raise UserError(f"config.modes: {mode!r} is not forward or forward_backward")
  if config.causal and "linformer" in config.variants:
    raise UserError("config.causal=True cannot run linformer (its projection mixes future keys); "
                    "drop it from config.variants")
  if config.linformer_projection not in ("gaussian", "pool"):
    raise UserError("config.linformer_projection must be gaussian or pool, got "
                    f"{config.linformer_projection!r}")
  if config.dtype not in ("float32", "bfloat16"):
    raise UserError(f"config.dtype must be float32 or bfloat16, got {config.dtype}")
  if config.implementation not in ("", "cudnn"):
    raise UserError(f"config.implementation must be '' (XLA) or cudnn, got "
                    f"{config.implementation!r}")
  for d in config.crossover_widths:
    if d < 1 or d % config.head_dim:
      raise UserError(f"config.crossover_widths: {d} is not a positive multiple of "
                      f"config.head_dim ({config.head_dim})")
  for m in config.crossover_multiples:
    # Without widths there is no crossover, so no length to check (the GPU sweeps).
    if not m > 0 or (config.crossover_widths and min(config.crossover_widths) * m < 1):
      raise UserError(f"config.crossover_multiples: {m} gives a sequence length below 1")
  if any(n < 1 for n in config.long_n) or list(config.long_n) != sorted(config.long_n):
    raise UserError(f"config.long_n must be positive and ascending, got {tuple(config.long_n)}")
  if config.n_min > config.n_max:
    raise UserError(f"config.n_min ({config.n_min}) must not exceed config.n_max "
                    f"({config.n_max})")
  if config.n_min < config.n_multiple:
    raise UserError(f"config.n_min ({config.n_min}) must be at least config.n_multiple "
                    f"({config.n_multiple})")
  if config.probe_n >= config.n_min:
    raise UserError(f"config.probe_n ({config.probe_n}) must be below config.n_min "
                    f"({config.n_min}): the probe measures fixed costs, not the curve")
  if config.implementation == "cudnn" and jax.default_backend() != "gpu":
    raise UserError("config.implementation='cudnn' needs a GPU; this backend is "
                    f"{jax.default_backend()}")
  runs = {*config.variants, *config.long_variants, config.crossover_variant}
  if "pallas_flash" in runs and jax.default_backend() != "gpu":
    raise UserError("pallas_flash (a Triton kernel) needs a GPU; this backend is "
                    f"{jax.default_backend()}")
  return sequence_lengths(config.n_min, config.n_max, config.n_per_octave, config.n_multiple)


def run_sweep(config, workdir):
  """The whole measurement: scaling sweep, crossover, long sequences; writes the reports."""
  ns = validate(config)
  # No TensorBoard: a sweep has no training curves.
  with Workdir.open(workdir, config, EXPERIMENTS["attention"]) as wd:
    key = jax.random.key(config.seed)
    start = time.perf_counter()
    env = timing.environment()
    logging.info("%s", timing.describe(env))
    peak_fn, peak_flops = timing.matmul(2048)
    peak = peak_flops / timing.best(timing.time_interleaved({"mm": peak_fn}, 5)["mm"])
    logging.info("float32 matmul peak (2048^3, best of 5): %.1f GFLOP/s", peak / 1e9)
    # Fixed before any attention is timed: the wall-time window (from the machine's last-level
    # cache) and whether malloc reuses memory (the entry point restarts with the tunables).
    window = cache.long_n_window(ns, config, jax.default_backend(), cache.last_level_cache())
    tunables = env["glibc_tunables"]
    reuse = {"glibc_tunables": tunables, "in_force": startup.memory_reuse_in_force(tunables)}
    logging.info("wall-time window from n = %s (%s); memory reuse in force: %s",
                 window["n_from"], window["reason"] or window["rule"], reuse["in_force"])

    step = [0]

    def log_point(row):
      step[0] += 1
      logging.info("%s %s %s n=%d d=%s: %s %s", row["section"], row["variant"],
                   row.get("part", row["mode"]), row["n"], row.get("d"), row["status"],
                   f"{row['time_s'] * 1e3:.1f} ms" if "time_s" in row else "")
      wd.writer.write(step[0], {k: v for k, v in row.items() if k != "times"})

    rows, _ = sweeps.scaling_sweep(config, ns, jax.random.fold_in(key, 0), log_point)
    rows += sweeps.crossover_sweep(config, jax.random.fold_in(key, 1), log_point)
    rows += sweeps.long_sequence_check(config, jax.random.fold_in(key, 2), log_point)
    summary = slopes.summarize(rows, config, window)
    summary["memory_reuse"] = reuse
    elapsed = time.perf_counter() - start
    header = (f"{timing.describe(env)}; float32 matmul peak measured in this run: "
              f"{peak / 1e9:.1f} GFLOP/s; {config.dtype}, batch {config.batch}, {config.heads} "
              f"head(s) of dim {config.head_dim}, causal={config.causal}; {config.repeats} "
              f"timed rounds per point ({config.crossover_repeats} in the crossover) after a "
              f"warm-up; sweep took {elapsed:.0f} s.")
    wd.write_results(writers.summary_to_json(summary, peak, env, elapsed))
    if jax.process_index() == 0:
      writers.write_csv(rows, wd.file("results.csv"))
      writers.write_markdown(summary, rows, config, header, wd.file("results.md"))
      writers.write_plots(summary, rows, config, workdir)
  for s in summary["slopes"]:
    logging.info("slope %s %s: time %s, load-corrected time %s, memory %s", s["variant"],
                 s["mode"], writers.fmt_fit(s["time"]), writers.fmt_fit(s["time_corrected"]),
                 writers.fmt_fit(s["memory"]))
  for c in summary["crossovers"]:
    logging.info("crossover d=%d: attention=MLP at %s (predicted %d), attention=linear at %s "
                 "(predicted %d)", c["d"], writers.fmt_n(c["measured_mlp"]), c["predicted_mlp"],
                 writers.fmt_n(c["measured_linear"]), c["predicted_linear"])
  return summary, rows

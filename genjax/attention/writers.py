"""The sweep's outputs: results.csv, results.md, results.json and the PNG plots."""

import csv
import dataclasses
import os

import jax
import numpy as np

from genjax.attention import slopes


def fmt_fit(fit):
  if fit is None:
    return "n/a"
  return (f"{fit.slope:.2f} [{fit.lo:.2f}, {fit.hi:.2f}] (n {fit.n_lo}-{fit.n_hi}, "
          f"{fit.points} n x {fit.repeats})")


def fmt_n(n):
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
           "## Fitted log-log slopes in n (95% CI, fit window, n points x rounds per point)", "",
           "Time slopes from raw seconds and from seconds / a 2048^3 matmul timed in the same "
           "round (load-corrected: cancels slowdowns from other processes on a shared machine). "
           f"Fit: {slopes.FIT_METHOD}.",
           " XLA's FLOP and byte counts of the same programs are deterministic (what the "
           "hardware was asked to do), fitted over every n they have (the interval: how far the "
           "count strays from one power law); loop variants and fused kernels (cuDNN's, "
           "Pallas') have none (XLA counts a loop body once and cannot see into a kernel), nor "
           "does a point whose count is below the matmul FLOPs of the program as written "
           "(XLA:GPU leaves out the matmuls it hands to cuBLAS).",
           "", "| variant | mode | time slope | load-corrected time slope | XLA FLOPs slope | "
           "XLA bytes slope | expected | temp-memory slope | expected |",
           "|---|---|---|---|---|---|---|---|---|"]
  for s in summary["slopes"]:
    lines.append(f"| {s['variant']} | {s['mode']} | {fmt_fit(s['time'])} | "
                 f"{fmt_fit(s['time_corrected'])} | {fmt_fit(s['flops_count'])} | "
                 f"{fmt_fit(s['bytes_count'])} | {s['expected'][0]} "
                 f"| {fmt_fit(s['memory'])} | {s['expected'][1]} |")
  lines += ["", f"Fit window: the n whose fastest round is at least {slopes.OVERHEAD_FACTOR:g}x "
            f"the same program's at n = {config.probe_n} (fixed costs under "
            f"{1 / slopes.OVERHEAD_FACTOR:.0%}); * marks the n inside it."]
  lines += _window_lines(summary)
  for s in summary["slopes"]:
    lines += ["", f"### {s['variant']} {s['mode']}: per-n medians (probe n = {s['probe_n']}, "
              "fastest round: "
              f"{s['probe_time_s'] * 1e3:.3g} ms)", "",
              "| n | median time (ms) | time / reference matmul | XLA temp memory (MiB) | "
              "XLA GFLOP | XLA MiB accessed |", "|---|---|---|---|---|---|"]
    for p in s["points"]:
      lines.append(f"| {p['n']}{' *' if p['in_fit'] else ''} | {p['time_s'] * 1e3:.4g} | "
                   f"{p['time_over_reference']:.4g} | {p['temp_bytes'] * 2 ** -20:.4g} | "
                   f"{p.get('xla_flops', float('nan')) / 1e9:.4g} | "
                   f"{p.get('xla_bytes', float('nan')) * 2 ** -20:.4g} |")
  if summary["errors"]:
    lines += ["", "## Relative error vs exact attention (forward, ||o - o_exact|| / ||o_exact||)",
              ""]
    for name, errs in summary["errors"].items():
      lines.append(f"- {name}: " + ", ".join(f"n={n}: {e:.2e}" for n, e in errs))
  if summary["crossovers"]:
    lines += ["", f"## Where attention starts to dominate (encoder layer, forward, "
              f"{config.crossover_variant} attention, head dim {config.head_dim})", "",
              "| d | attention = MLP: predicted | measured (medians) | each round | attention = "
              "all linear: predicted | measured | attention share of layer time per n | parts "
              "/ whole layer |", "|---|---|---|---|---|---|---|---|"]
    for c in summary["crossovers"]:
      share = ", ".join(f"{n}: {s:.0%}" for n, s in zip(c["ns"], c["attention_share"], strict=True))
      ratio = ", ".join(f"{x:.2f}" for x in c["parts_over_layer"])
      rounds = ", ".join(fmt_n(x) for x in c["mlp_rounds"])
      lines.append(f"| {c['d']} | {c['predicted_mlp']:,} | {fmt_n(c['measured_mlp'])} | "
                   f"{rounds} | {c['predicted_linear']:,} | {fmt_n(c['measured_linear'])} | "
                   f"{share} | {ratio} |")
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


def _window_lines(summary):
  """The wall-time window (fixed before the sweep) and the load-corrected slopes past the
  cache cliff and below it."""
  window, reuse = summary.get("time_window") or {}, summary.get("memory_reuse") or {}
  llc = window.get("cache")
  lines = ["", "## Wall time past the cache cliff", "",
           f"Window: {window.get('rule', 'not fixed')}; last-level cache: "
           + (f"L{llc['level']} {llc['bytes'] / 2 ** 20:g} MiB ({llc['source']})" if llc
              else "not read") + "; "
           + (f"from n = {window['n_from']:,}." if window.get("n_from")
              else f"not fixed: {window.get('reason', 'no window')}.")
           + f" Memory reuse (GLIBC_TUNABLES={reuse.get('glibc_tunables', '')!r}): "
           + ("in force." if reuse.get("in_force") else "not in force."), "",
           "| variant | mode | past the cliff (to the longest n) | below it (fixed costs faded) |",
           "|---|---|---|---|"]
  for s in summary["slopes"]:
    lines.append(f"| {s['variant']} | {s['mode']} | {fmt_fit(s['time_long'])} | "
                 f"{fmt_fit(s['time_in_cache'])} |")
  return lines


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


FITS = ("time", "time_corrected", "memory", "flops_count", "bytes_count", "time_long",
        "time_in_cache")


def summary_to_json(summary, matmul_peak_flops, environment, elapsed_s):
  """The summary as plain JSON (fits as dicts, (variant, mode, section) keys as 'a/b/c')."""

  def fit(value):
    return dataclasses.asdict(value) if value is not None else None

  return {
      "matmul_peak_gflops": matmul_peak_flops / 1e9,
      "environment": environment,  # versions and XLA_FLAGS in force (genjax.timing.environment)
      "elapsed_s": elapsed_s,
      "fit_method": slopes.FIT_METHOD,
      "slopes": [{**s, **{k: fit(s[k]) for k in FITS}} for s in summary["slopes"]],
      # The wall-time window (fixed before the sweep from the last-level cache) and whether
      # malloc reused memory in the timed calls (GLIBC_TUNABLES, genjax.startup).
      "time_window": summary.get("time_window"),
      "memory_reuse": summary.get("memory_reuse"),
      "crossovers": summary["crossovers"],
      "largest": {"/".join(key): n for key, n in summary["largest"].items()},
      "errors": summary["errors"],
  }


def _grid_slope(fit: dict | None) -> str:
  return "n/a" if fit is None else f"{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}]"


def grid_table(r: dict):
  """The grid's table of one run (genjax/grid.py): header, rows."""
  header = ["variant", "mode", "time slope", "load-corrected time slope", "temp-memory slope"]
  rows = [[s["variant"], s["mode"], _grid_slope(s["time"]), _grid_slope(s["time_corrected"]),
           _grid_slope(s["memory"])] for s in r["slopes"]]
  return header, rows

"""Where each seed's mass sits over training: the occupied-modes and nearest-center-share
tables of results.md, their figures, and the hop count (mode hopping, Metz et al. 2017).

Read from the evaluation records and the per-evaluation sample snapshots of a run.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax import plots
from genjax.gan import evaluate
from genjax.metrics import coverage

_HOPPING_COLUMNS = 11  # eval steps shown in the occupied-modes tables (evenly spaced)
# A seed "sits on" a mode that holds at least half of its samples (nearest center, sharp or
# not): the collapsed picture of Metz et al., one mode at a time; no two modes can both qualify.
# A hop is a change of the mode sat on between consecutive evaluations.
SITS_ON_SHARE = 0.5


def mode_shares(workdir: str, name: str, steps: list[int], dataset) -> dict[int, list]:
  """{step: [seed][mode] share of the seed's snapshot samples nearest each center} (2D only).

  Unlike the occupied modes (HQ samples only), this shows where a blurry generator's mass sits,
  so a generator that moves its mass from mode to mode shows it before it is sharp.
  """
  shares = {}
  for step_num in steps:
    path = evaluate.snapshot_path(workdir, name, step_num)
    if not os.path.exists(path):
      continue
    per_seed = []
    for samples_Nx2 in np.load(path):
      index_N, _ = coverage.nearest_centers(samples_Nx2, dataset.centers)
      per_seed.append((np.bincount(index_N, minlength=dataset.num_modes)
                       / len(index_N)).tolist())
    shares[step_num] = per_seed
  return shares


def _modes_cell(modes: list[int]) -> str:
  if not modes:
    return "–"
  return ",".join(map(str, modes)) if len(modes) <= 4 else f"{len(modes)} modes"


def occupied_tables(results: dict, is_2d: bool) -> list[str]:
  """Per method, the modes each seed occupies at each evaluation step, and how often that set
  changed between consecutive evaluations (mode hopping, Metz et al. 2017)."""
  share = f"{100 * coverage.OCCUPIED_SHARE:g}%"
  lines = ["## Occupied modes over training", "",
           f"Modes holding >= {share} of a seed's samples" + (" as HQ samples" if is_2d else "")
           + " ('–': none), at evenly spaced evaluation steps; 'changes': evaluations (of all) "
           "at which the set differs from the one before. Figure: modes_over_training.png.", ""]
  for name, r in results["methods"].items():
    history = [h for h in r["history"] if "occupied_modes" in h]
    if not history:
      continue
    shown = spaced([h["step"] for h in history], _HOPPING_COLUMNS)
    by_step = {h["step"]: h["occupied_modes"] for h in history}
    lines += [f"**{name}**", "", "| seed | " + " | ".join(map(str, shown)) + " | changes |",
              "|---|" + "---|" * (len(shown) + 1)]
    for seed in range(results["num_seeds"]):
      sets = [by_step[t][seed] for t in sorted(by_step)]
      changes = sum(a != b for a, b in zip(sets[:-1], sets[1:], strict=True))
      cells = " | ".join(_modes_cell(by_step[t][seed]) for t in shown)
      lines.append(f"| {seed} | {cells} | {changes}/{len(sets) - 1} |")
    lines.append("")
  return lines


def hops(shares_TxK) -> tuple[int, int]:
  """(evaluations at which the seed sits on one mode, hops between consecutive ones)."""
  sat_on = [int(np.argmax(s)) if max(s) >= SITS_ON_SHARE else None for s in shares_TxK]
  moves = sum(a is not None and b is not None and a != b
              for a, b in zip(sat_on[:-1], sat_on[1:], strict=True))
  return sum(m is not None for m in sat_on), moves


def share_tables(results: dict) -> list[str]:
  """Per method, each seed's largest nearest-center share at each evaluation (2D runs)."""
  methods = {n: r["mode_shares"] for n, r in results["methods"].items() if r.get("mode_shares")}
  if not methods:
    return []
  lines = ["## Where each seed's mass sits over training", "",
           "Largest share of a seed's snapshot samples nearest one center, as 'mode: share' "
           f"(uniform: {100 / results['num_modes']:.1f}%). A seed sits on a mode holding >= "
           f"{100 * SITS_ON_SHARE:g}% of its samples (marked *); 'hops': changes of that mode "
           "between consecutive evaluations, 'sits': evaluations sitting on one mode. Figure: "
           "mode_shares_over_training.png.", ""]
  for name, by_step in methods.items():
    steps = sorted(by_step, key=int)
    shown = spaced(steps, _HOPPING_COLUMNS)
    lines += [f"**{name}**", "", "| seed | " + " | ".join(map(str, shown)) + " | sits | hops |",
              "|---|" + "---|" * (len(shown) + 2)]
    for seed in range(results["num_seeds"]):
      series = [by_step[t][seed] for t in steps]
      sits, moves = hops(series)
      cells = []
      for t in shown:
        share = by_step[t][seed]
        top = int(np.argmax(share))
        mark = "*" if share[top] >= SITS_ON_SHARE else ""
        cells.append(f"{top}: {100 * share[top]:.0f}%{mark}")
      lines.append(f"| {seed} | {' | '.join(cells)} | {sits}/{len(steps)} | {moves} |")
    lines.append("")
  return lines


def spaced(points: list[int], count: int) -> list[int]:
  """At most `count` of `points`, evenly spaced, first and last included."""
  return sorted({points[round(i)] for i in np.linspace(0, len(points) - 1, min(count,
                                                                                 len(points)))})


def shares_figure(results: dict, path: str) -> None:
  """Rows: methods; columns: seeds; each a mode x step map of the nearest-center shares."""
  methods = {n: r["mode_shares"] for n, r in results["methods"].items() if r.get("mode_shares")}
  if not methods:
    return
  num_seeds = min(results["num_seeds"], 10)
  fig, axes = plt.subplots(len(methods), num_seeds, figsize=(1.6 * num_seeds + 1,
                                                               1.9 * len(methods)),
                           squeeze=False, sharex=True, sharey=True)
  for row, (name, by_step) in enumerate(methods.items()):
    steps = sorted(by_step, key=int)
    for seed in range(num_seeds):
      shares_KxT = np.array([by_step[t][seed] for t in steps]).T
      ax = axes[row, seed]
      image = ax.imshow(shares_KxT, aspect="auto", origin="lower", vmin=0, vmax=1,
                        cmap="viridis", extent=(int(steps[0]), int(steps[-1]), -0.5,
                                                len(shares_KxT) - 0.5), interpolation="nearest")
      ax.set_title(f"{name}, seed {seed}", fontsize=6)
      ax.tick_params(labelsize=5)
  for ax in axes[-1]:
    ax.set_xlabel("generator updates", fontsize=6)
  for ax in axes[:, 0]:
    ax.set_ylabel("mode (nearest center)", fontsize=6)
  fig.colorbar(image, ax=axes, shrink=0.8, label="share of samples")
  plots.save(fig, path)


def occupied_figure(results: dict, dataset, path: str) -> None:
  """x: step, y: mode index; a dot where a seed occupies a mode, seeds side by side in a band."""
  names = [n for n, r in results["methods"].items()
           if any("occupied_modes" in h for h in r["history"])]
  if not names:
    return
  num_seeds = results["num_seeds"]
  fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False,
                           sharey=True)
  colors = plt.get_cmap("tab10" if num_seeds <= 10 else "viridis")(np.linspace(0, 1, num_seeds))
  for ax, name in zip(axes[0], names, strict=True):
    for h in results["methods"][name]["history"]:
      for seed, modes in enumerate(h.get("occupied_modes", [])):
        offset = 0.7 * (seed + 0.5) / num_seeds - 0.35  # each seed its own row inside a mode
        ax.scatter([h["step"]] * len(modes), np.asarray(modes) + offset, s=4,
                   color=colors[seed])
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("generator updates")
    ax.set_ylim(-0.5, dataset.num_modes - 0.5)
    if dataset.num_modes <= 50:  # a band per mode; 1,000 stacked-digit modes would be a smear
      for boundary in np.arange(dataset.num_modes - 1) + 0.5:
        ax.axhline(boundary, color="0.9", lw=0.5, zorder=0)
  axes[0, 0].set_ylabel(f"mode holding >= {100 * coverage.OCCUPIED_SHARE:g}% of samples\n"
                        f"(seeds 0-{num_seeds - 1} bottom to top in each band)", fontsize=7)
  plots.save(fig, path)

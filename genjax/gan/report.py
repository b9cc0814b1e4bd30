"""results.md, samples.npz and the PNG figures of the GAN mode-coverage experiment."""

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax import plots, stats
from genjax.gan import data, evaluate, hopping, step
from genjax.metrics import coverage

_COLUMNS = (("modes", "modes", 1, 1.0), ("cells", "cells", 1, 1.0),
            ("top_share", "% top cell", 1, 100.0), ("hq", "% HQ", 1, 100.0),
            ("median_distance_std", "median dist (std)", 1, 1.0),
            ("beyond_10_std", "% > 10 std", 1, 100.0),
            ("reverse_kl", "reverse KL", 3, 1.0), ("precision", "precision", 3, 1.0),
            ("recall", "recall", 3, 1.0), ("density", "density", 3, 1.0),
            ("coverage", "coverage", 3, 1.0), ("ndb", "NDB", 1, 1.0),
            ("frechet", "FD (features)", 2, 1.0))
_TWO_D_ONLY = ("hq", "median_distance_std", "beyond_10_std")
_DIGITS_ONLY = ("frechet",)  # needs the digit classifier's features
def _cell(stat: dict, digits: int, scale: float) -> str:
  mean, sd, se = (scale * stat[k] for k in ("mean", "sd", "se"))
  return f"{mean:.{digits}f} ± {sd:.{digits}f} ({se:.{digits}f})"


def _columns(is_2d: bool):
  return [c for c in _COLUMNS
          if c[0] not in (_DIGITS_ONLY if is_2d else _TWO_D_ONLY)]


def _control_cell(methods: dict, name: str) -> str:
  """For a remedy, its matched control (vanilla at the same samples per step); for a control,
  the remedies it is matched to."""
  control = step.matched_control(methods, name)
  if control:
    return control
  if step.Method(**methods[name]["method"]).is_remedy:
    return "none run"
  matched = [m for m in methods if step.matched_control(methods, m) == name]
  return "control of " + ", ".join(matched) if matched else "—"


def write_markdown(results: dict, config, path: str) -> None:
  is_2d = config.dataset in ("ring", "grid")
  columns = _columns(is_2d)
  k, n, s = results["num_modes"], results["eval_samples"], results["num_seeds"]
  header = " | ".join(c[1] for c in columns)
  lines = [
      f"# GAN mode coverage on {config.dataset} ({k} modes, arch {config.arch}, {s} seeds)",
      "",
      f"Each cell: mean ± s.d. (s.e.) over {s} seeds, s.d. with ddof 1, s.e. = s.d./sqrt({s}) "
      "(PacGAN's ± is the s.e.). Every seed is scored on "
      f"{n} samples from its own fixed z. 'all' = seeds that cover all {k} modes. Steps are "
      "generator updates (discriminator updates in brackets); samples/step are real samples per "
      f"D step ({config.batch_unit} held fixed across pack sizes). Wall time: training of all "
      f"{s} seeds together (one program, config.seed_map), evaluation excluded. 'control': the "
      "vanilla row with the same samples per step as a remedy (its matched control), which the "
      "remedies verdict compares it with."
      + (f" Samples come from an exponential moving average of the generator's weights (decay "
         f"{config.g_ema_decay:g}), not from its last iterate." if config.g_ema_decay else "")
      + (" G minimizes the saturating log(1 - D(G(z)))." if config.get("g_loss") == "saturating"
         else "")
      + (" G and D update simultaneously (both from the step's starting params)."
         if config.get("simultaneous_update") else ""),
      "",
      f"| method | {header} | all | steps | samples/step | control | wall time (s) |",
      "|---|" + "---|" * (len(columns) + 5),
  ]
  for name, r in results["methods"].items():
    cells = " | ".join(_cell(r["summary"][c[0]], c[2], c[3]) for c in columns)
    lines.append(f"| {name} | {cells} | {r['summary']['seeds_all_modes']}/{s} "
                 f"| {r['g_updates']} ({r['d_updates']}) | {r['samples_per_step']} "
                 f"| {_control_cell(results['methods'], name)} | {r['train_seconds']:.0f} |")
  real = results["real_data"]
  real_cells = " | ".join(f"{c[3] * real[c[0]]:.{c[2]}f}" for c in columns)
  lines.append(f"| real data (independent draw) | {real_cells} | — | — | — | — | — |")
  blur = results.get("uniform_blur")
  if blur:
    blur_cells = " | ".join(f"{c[3] * blur[c[0]]:.{c[2]}f}" for c in columns)
    lines.append(f"| uniform blur over [{blur['box'][0]:g}, {blur['box'][1]:g}]^2 | {blur_cells} "
                 "| — | — | — | — | — |")
  floors = results["floors"]
  lines += [
      "",
      "Ceilings and floors: the 'real data' row scores a second independent draw of real data, "
      "the best any generator can expect with this many samples. "
      + ("The 'uniform blur' row scores uniform samples over the centers' bounding square padded "
         "by half the closest center spacing: a generator that learned the support and nothing "
         "else. Its modes and reverse KL can beat a trained GAN's, so read them next to % HQ "
         "and precision, which a trained generator should beat (not every one does). "
         if blur else "")
      + (f"A perfect 2D sampler has at most {100 * floors['hq']:.1f}% HQ "
         f"(P(|noise| <= {config.hq_num_std:g} std) = 1 - exp(-{config.hq_num_std:g}^2/2)); "
         if floors["hq"] else "")
      + f"multinomial noise alone gives reverse KL about (K-1)/(2N) = {floors['reverse_kl']:.4f}; "
      f"NDB of a perfect sampler is about {config.ndb_alpha:g} x bins by chance.",
      "",
      "Reverse KL = sum_k q_k log(K q_k) over the nearest-mode histogram q of all samples "
      "(0 log 0 = 0, no smoothing); "
      + "a cell (the samples nearest one center, or with one label, sharp or not) is occupied "
      f"when it holds >= {100 * coverage.CELL_SHARE_OF_UNIFORM / k:.3g}% of the samples (half "
      "of a uniform share), and '% top cell' is the fullest cell's share; "
      + ("a mode is covered by >= 1 HQ sample (within 3 std of its center)." if is_2d else
         "a mode (label triple) is covered by >= 1 sample that the per-channel digit classifier "
         f"assigns to it; classifier ({config.get('classifier', 'mlp')}) test accuracy "
         f"{results.get('classifier_test_accuracy', float('nan')):.4f}. Precision, recall, "
         f"density and coverage compare samples with real data in "
         + ("the classifier's feature layer (each channel's, concatenated)"
            if results.get("prdc_space") == "features" else "pixels")
         + "; FD is the Fréchet distance between Gaussians fitted to the classifier's features "
         "of all evaluation samples and of real data (FID's recipe, another network), whose "
         "'real data' row is the sampling floor."),
      "",
      ("Where the non-HQ samples are: 'median dist' is the median distance to the nearest "
       "center in std (a 2D Gaussian's is 1.18), '% > 10 std' the share on no mode at all. "
       "Collapse: few modes, both small; bridges between modes: median small, a few % far; "
       "blur: median far out. " if is_2d else "")
      + "Figures: samples_over_training.png, modes_vs_step.png, modes_over_training.png"
      + ("" if is_2d else ", mode_histogram.png") + ". Samples: samples.npz.",
      "",
      *hopping.occupied_tables(results, is_2d),
      *hopping.share_tables(results),
  ]
  with open(path, "w") as f:
    f.write("\n".join(lines))


def write_samples(all_samples: dict, dataset, real_eval, judge, path: str) -> None:
  """Every method's evaluation samples [S, N, D] with what is needed to rescore them."""
  arrays = {"real_eval": np.asarray(real_eval)}
  if isinstance(dataset, data.Mixture):
    arrays.update(centers=dataset.centers, std=np.float32(dataset.std))
    arrays.update({f"samples/{name}": s.astype(np.float32) for name, s in all_samples.items()})
  else:
    # Images in [0, 1] stored as uint8 (x 255) to keep 26,000 x 192 x seeds small.
    for name, s in all_samples.items():
      arrays[f"samples/{name}"] = np.round(np.clip(s, 0, 1) * 255).astype(np.uint8)
      arrays[f"modes/{name}"] = np.stack([judge.modes(x) for x in s]).astype(np.int16)
  np.savez_compressed(path, **arrays)


def write_figures(results: dict, dataset, workdir: str, config) -> None:
  names = list(results["methods"])
  shown = hopping.spaced([h["step"] for h in results["methods"][names[0]]["history"]], 6)
  is_2d = isinstance(dataset, data.Mixture)

  fig, axes = plt.subplots(len(names), len(shown), figsize=(2.2 * len(shown), 2.2 * len(names)),
                           squeeze=False)
  for row, name in enumerate(names):
    for col, step_num in enumerate(shown):
      ax = axes[row, col]
      samples = np.load(evaluate.snapshot_path(workdir, name, step_num))[0]  # seed 0
      if is_2d:
        _scatter(ax, samples, dataset, config.hq_num_std)
      else:
        _image_tiles(ax, samples[:16], dataset.image_shape, dataset.channels)
      ax.set_title(f"{name}, step {step_num}", fontsize=7)
  plots.save(fig, os.path.join(workdir, "samples_over_training.png"))

  fig, ax = plt.subplots(figsize=(5, 3.5))
  for name in names:
    history = results["methods"][name]["history"]
    steps = np.array([h["step"] for h in history])
    modes_TxS = np.array([h["modes"] for h in history], np.float64)
    line, = ax.plot(steps, modes_TxS.mean(1), label=name)
    ax.fill_between(steps, modes_TxS.min(1), modes_TxS.max(1), color=line.get_color(), alpha=0.2)
  ax.axhline(dataset.num_modes, color="k", lw=0.5, ls="--")
  ax.set_xlabel("generator updates")
  ax.set_ylabel("modes covered (mean; band: min-max over seeds)")
  ax.legend(fontsize=7)
  plots.save(fig, os.path.join(workdir, "modes_vs_step.png"))

  if not is_2d:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in names:
      counts = np.sort(np.array(results["methods"][name]["mode_counts"][0]))[::-1]
      ax.plot(counts, label=f"{name} (seed 0)")
    ax.axhline(results["eval_samples"] / dataset.num_modes, color="k", lw=0.5, ls="--",
               label="uniform")
    ax.set_xlabel("mode rank")
    ax.set_ylabel("samples per mode")
    ax.set_yscale("symlog")
    ax.legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "mode_histogram.png"))
  hopping.occupied_figure(results, dataset, os.path.join(workdir, "modes_over_training.png"))
  hopping.shares_figure(results, os.path.join(workdir, "mode_shares_over_training.png"))


def _scatter(ax, samples_Nx2, dataset, num_std: float) -> None:
  ax.scatter(samples_Nx2[:, 0], samples_Nx2[:, 1], s=1, alpha=0.5)
  for cx, cy in dataset.centers:
    ax.add_patch(plt.Circle((cx, cy), num_std * dataset.std, fill=False, color="r", lw=0.5))
  ax.scatter(dataset.centers[:, 0], dataset.centers[:, 1], s=4, c="r", marker="x", lw=0.5)
  extent = np.abs(dataset.centers).max() * 1.3
  ax.set_xlim(-extent, extent)
  ax.set_ylim(-extent, extent)
  ax.set_aspect("equal")
  ax.tick_params(labelsize=5)


def _image_tiles(ax, samples_NxF, image_shape, channels: int) -> None:
  """16 samples as a 4x4 grid: stacked digits as RGB, single digits as grey."""
  h, w = image_shape
  rgb = data.split_channels(samples_NxF, channels).reshape(len(samples_NxF), channels, h, w)
  rgb = np.repeat(rgb, 3 // channels, axis=1).transpose(0, 2, 3, 1)
  columns = 4
  rows = -(-len(rgb) // columns)
  grid = np.ones((rows * (h + 1), columns * (w + 1), 3), np.float32)
  for i, image in enumerate(rgb):
    r, c = divmod(i, columns)
    grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = np.clip(image, 0, 1)
  ax.imshow(grid)
  ax.axis("off")


GAN_COLUMNS = (("modes", 1), ("reverse_kl", 3), ("precision", 3), ("recall", 3),
               ("coverage", 3), ("ndb", 1))


def grid_table(r: dict):
  """The grid's table of one run (genjax/grid.py): header, rows."""
  header = ["method", *(name for name, _ in GAN_COLUMNS), "seeds with all modes",
            "wall time (s)"]
  rows = [[name, *(stats.spread(m["summary"][k], d) for k, d in GAN_COLUMNS),
           f"{m['summary']['seeds_all_modes']}/{r['num_seeds']}", f"{m['train_seconds']:.0f}"]
          for name, m in r["methods"].items()]
  return header, rows

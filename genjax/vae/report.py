"""results.md and the PNG figures of the VAE vs AE experiment."""

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax import plots, stats

# An MI estimate this close to its log N ceiling is read as saturated: the estimator cannot tell
# it from any larger value (the ceiling is reached as soon as codes of different images stop
# overlapping). 0.1 nat is about 10% in N, far above the seed spread of unsaturated values.
MI_SATURATION_MARGIN = 0.1
_JUDGES = {"mlp": "an MLP", "conv": "a conv net"}  # config.classifier, as the table text names it


def _fmt(value, digits=2):
  return stats.spread(value, digits)


def _mi(value, ceiling: float) -> str:
  if value is None:
    return "—"
  saturated = value["mean"] > ceiling - MI_SATURATION_MARGIN
  return _fmt(value) + (" (saturated)" if saturated else "")


def write_markdown(results: dict, config, path: str) -> None:
  refs = results["references"]
  ceiling = results["mutual_information_ceiling"]
  lines = [
      f"# VAE vs autoencoder on {results['dataset']} (seed {results['seed']}, "
      f"{results['num_seeds']} seeds per model)",
      "",
      f"Test split ({results['test_examples']} images; {results['train_examples']} training "
      f"images, {results['validation_examples']} held out of the train split for validation, "
      f"{results['num_steps']} steps, learning rate {config.learning_rate:g} "
      f"{config.lr_schedule}). Every number is mean ± s.d. over "
      f"{results['num_seeds']} seeds (seed s of each model shares its initial params and batch "
      "order). Likelihoods in nats per image (Bernoulli decoder, summed over pixels); IWAE "
      f"with k = {config.iwae_samples}. Sample quality is judged by a classifier "
      f"({_JUDGES[results.get('classifier', 'mlp')]}) trained on real training images (test "
      f"accuracy {results['classifier_test_accuracy']:.3f}); FD = Fréchet "
      f"distance in its last hidden layer, of binary draws x ~ p(x|z) (the samples) and of the "
      "decoder's Bernoulli means for the same codes (grey levels). MI is bounded by "
      f"log N = {ceiling:.2f} nats (N test "
      f"codes); within {MI_SATURATION_MARGIN} nat of it, it is marked saturated: the true I(x; z) "
      "may be larger.",
      "",
      "| model | beta | recon NLL (z=mean) | train recon NLL | -ELBO | IWAE NLL | rate (KL) "
      "| active units | MI "
      "| FD prior samples | FD prior means | FD fitted-Gaussian samples | FD fitted-Gaussian means "
      "| confidence | label entropy | path length ratio | path confidence |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  for name, m in results["models"].items():
    fitted = m.get("fitted_gaussian_samples", {})
    fitted_means = m.get("fitted_gaussian_means", {})
    lines.append(
        f"| {name} | {m['beta']:g} | {_fmt(m['reconstruction_nll'])} "
        f"| {_fmt(m['train_reconstruction_nll'])} | {_fmt(m.get('neg_elbo'))} "
        f"| {_fmt(m.get('iwae_nll'))} | {_fmt(m.get('rate'))} "
        f"| {_fmt(m['active_units'], 1)}/{m['latents']} "
        f"| {_mi(m.get('mutual_information'), ceiling)} | {_fmt(m['prior_samples']['frechet'])} "
        f"| {_fmt(m.get('prior_means', {}).get('frechet'))} | {_fmt(fitted.get('frechet'))} "
        f"| {_fmt(fitted_means.get('frechet'))} | {_fmt(m['prior_samples']['confidence'], 3)} "
        f"| {_fmt(m['prior_samples']['label_entropy'], 3)} "
        f"| {_fmt(m['interpolation']['path_length_ratio'], 3)} "
        f"| {_fmt(m['interpolation']['path_confidence'], 3)} |")
  real, independent = refs["real_train_vs_test"], refs["independent_pixels"]
  lines += [
      "",
      f"References for the sample columns: real train images vs test FD {real['frechet']:.2f} "
      f"(the floor), confidence {real['confidence']:.3f}, label entropy "
      f"{real['label_entropy']:.3f} (max ln 10 = 2.303); independent-pixel samples FD "
      f"{independent['frechet']:.2f}, confidence {independent['confidence']:.3f}.",
      "",
      "Reconstruction NLL (z = mean) measured while training, train / validation (mean over "
      "seeds; the Q3 rules' convergence guard reads the validation curve):",
      "",
  ]
  for name, m in results["models"].items():
    curve = m.get("curve", {})
    points = zip(curve.get("step", []), curve.get("train_reconstruction_nll", []),
                 curve.get("validation_reconstruction_nll", []), strict=True)
    lines.append(f"- {name}: " + "; ".join(
        f"{step}: {train['mean']:.2f} / {held['mean']:.2f}" for step, train, held in points))
  trained = [(n, m["final"]) for n, m in results["models"].items()
             if "train_rate" in m.get("final", {})]
  if trained:
    lines += ["", f"Training images at the last step ({results['num_steps']}, the same for every "
              "model; the β rule reads these): distortion -log p(x|z) at one z ~ q(z|x) per "
              "image, rate KL(q(z|x) || N(0, I)), active units:", ""]
    lines += [f"- {n}: distortion {_fmt(f['train_distortion'])}, rate {_fmt(f['train_rate'])}, "
              f"active units {_fmt(f['train_active_units'], 1)}" for n, f in trained]
  lines += ["", "KL per latent dimension (nats, test mean over images and seeds):", ""]
  for name, m in results["models"].items():
    if "kl_per_dim" in m:
      lines.append(f"- {name}: {', '.join(f'{v:.2f}' for v in m['kl_per_dim'])}")
  lines += ["", "Figures (seed 0; images are Bernoulli means, grey levels): reconstructions.png, "
            "samples.png, latents.png, interpolations.png, rate_distortion.png, "
            "learning_curves.png.", ""]
  with open(path, "w") as f:
    f.write("\n".join(lines))


def write_figures(figures: dict, data: dict, workdir: str, image_shape) -> None:
  names = list(figures)
  test_x, test_y = data["test"]["image"], data["test"]["label"]

  fig, axes = plt.subplots(len(names) + 1, 1, figsize=(6, 1.0 * (len(names) + 1)))
  axes[0].imshow(plots.image_grid(test_x[:10], image_shape, 10), cmap="gray_r")
  axes[0].set_title("test images", fontsize=8)
  for ax, name in zip(axes[1:], names, strict=True):
    ax.imshow(plots.image_grid(figures[name]["reconstructions"], image_shape, 10), cmap="gray_r")
    ax.set_title(f"{name} reconstruction (z = mean)", fontsize=8)
  for ax in axes:
    ax.axis("off")
  plots.save(fig, os.path.join(workdir, "reconstructions.png"))

  panels = [(f"{n}: z ~ N(0, I)\n(Bernoulli means)", figures[n]["prior_samples"]) for n in names]
  panels += [(f"{n}: z ~ Gaussian fitted to codes\n(Bernoulli means)", figures[n]["fitted_samples"])
             for n in names if "fitted_samples" in figures[n]]
  fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2))
  for ax, (title, samples) in zip(np.atleast_1d(axes), panels, strict=True):
    ax.imshow(plots.image_grid(samples[:64], image_shape, 8), cmap="gray_r")
    ax.set_title(title, fontsize=8)
    ax.axis("off")
  plots.save(fig, os.path.join(workdir, "samples.png"))

  fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3))
  for ax, name in zip(np.atleast_1d(axes), names, strict=True):
    codes = figures[name]["test_codes"]
    centered = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    xy = centered @ vt[:2].T
    ax.scatter(xy[:, 0], xy[:, 1], c=test_y, cmap="tab10", s=4)
    ax.set_title(f"{name}: test codes (PCA)", fontsize=8)
  plots.save(fig, os.path.join(workdir, "latents.png"))

  fig, axes = plt.subplots(len(names), 1, figsize=(6, 1.1 * len(names)))
  for ax, name in zip(np.atleast_1d(axes), names, strict=True):
    paths = figures[name]["paths"][:3]
    ax.imshow(plots.image_grid(paths.reshape(-1, paths.shape[-1]), image_shape,
                               paths.shape[1]), cmap="gray_r")
    ax.set_title(f"{name}: decoded linear interpolation between test codes", fontsize=8)
    ax.axis("off")
  plots.save(fig, os.path.join(workdir, "interpolations.png"))


def write_rate_distortion(results: dict, path: str) -> None:
  """Training rate and distortion at the last step, one point per β (what the β rule reads)."""
  finals = [(m["final"], m["beta"]) for m in results["models"].values()
            if "train_rate" in m.get("final", {})]
  points = [(f["train_rate"]["mean"], f["train_distortion"]["mean"], b) for f, b in finals]
  if not points:
    return
  fig, ax = plt.subplots(figsize=(4, 3))
  rates, distortions, betas = zip(*sorted(points), strict=True)
  ax.plot(rates, distortions, "o-")
  for r, d, b in points:
    ax.annotate(f"β={b:g}", (r, d), fontsize=8)
  ax.set_xlabel("rate: KL(q(z|x) || p(z)) [nats]")
  ax.set_ylabel("distortion: -log p(x|z), z ~ q [nats]")
  ax.set_title(f"training images, step {results['num_steps']}", fontsize=8)
  plots.save(fig, path)


def write_curves(results: dict, path: str) -> None:
  """Train and validation reconstruction NLL against the step, mean ± sd over seeds."""
  fig, ax = plt.subplots(figsize=(5, 3.2))
  for name, m in results["models"].items():
    curve = m.get("curve", {})
    if not curve.get("step"):
      continue
    color = None  # one color per model: test solid, train dashed
    for split, style in (("validation", "-"), ("train", "--")):
      values = curve[f"{split}_reconstruction_nll"]
      mean = np.array([v["mean"] for v in values])
      sd = np.array([v["sd"] for v in values])
      line, = ax.plot(curve["step"], mean, style, color=color, marker="o", ms=3,
                      label=f"{name} {split}")
      color = line.get_color()
      ax.fill_between(curve["step"], mean - sd, mean + sd, color=color, alpha=0.2)
  ax.set_xlabel("step")
  ax.set_ylabel("recon NLL, z = mean [nats]")
  ax.set_title("mean ± sd over seeds", fontsize=8)
  ax.legend(fontsize=6)
  plots.save(fig, path)


def grid_table(r: dict):
  """The grid's table of one run (genjax/grid.py): header, rows."""
  header = ["model", "beta", "recon NLL (z=mean)", "-ELBO", "IWAE NLL", "rate (KL)",
            "active units", "FD prior samples"]
  rows = [[name, f"{m['beta']:g}", *(stats.spread(m.get(k), 2) for k in (
      "reconstruction_nll", "neg_elbo", "iwae_nll", "rate")),
           f"{stats.spread(m['active_units'], 1)}/{m['latents']}",
           stats.spread(m["prior_samples"]["frechet"], 2)]
          for name, m in r["models"].items()]
  return header, rows

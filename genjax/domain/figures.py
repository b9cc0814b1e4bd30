"""The domain studies' figures: loss_vs_M.png, loss_vs_position.png,
finetune_target_vs_heldout.png, fewshot.png, continual.png (bands: mean ± s.d. over seeds)."""

import os

import matplotlib.pyplot as plt
import numpy as np

from genjax import plots
from genjax.domain.markov import INFINITE


def m_name(m: int) -> str:
  return "∞" if m == INFINITE else str(m)


def _band(ax, x, values_SxX, label, **kw):
  values = np.asarray(values_SxX)
  mean, sd = values.mean(0), values.std(0)
  line, = ax.plot(x, mean, label=label, **kw)
  ax.fill_between(x, mean - sd, mean + sd, alpha=0.2, color=line.get_color())


def write_figures(study: str, results: dict, losses: dict, workdir: str) -> None:
  if study == "diversity":
    rows = results["rows"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in [("model_heldout", "model, held-out"), ("model_indist", "model, in-dist"),
                       ("pool_bayes_heldout", "pool Bayes, held-out"),
                       ("pool_bayes_indist", "pool Bayes, in-dist")]:
      ax.errorbar(x, [r[key]["mean"] for r in rows], [r[key]["sd"] for r in rows], marker="o",
                  label=label, linestyle="--" if "bayes" in key else "-")
    for name, style in [("bayes_new_domain", ":"), ("uniform", "-.")]:
      ax.axhline(results["references_heldout"][name]["mean"], color="gray", linestyle=style,
                 label=name.replace("_", " "))
    ax.set_xticks(x, [m_name(r["pool_size"]) for r in rows])
    ax.set_xlabel("pretraining domains M")
    ax.set_ylabel("nats / token")
    ax.set_ylim(top=min(ax.get_ylim()[1], 4.5))
    ax.legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "loss_vs_M.png"))
  elif study == "architecture":
    fig, ax = plt.subplots(figsize=(6, 4))
    for row in results["rows"]:
      curve = losses[f"{row['arch']}/heldout"]
      _band(ax, np.arange(1, curve.shape[1] + 1), curve, row["arch"])
    for name in ("bayes_new_domain", "unigram", "oracle"):
      curve = losses[f"heldout/{name}"]
      ax.plot(np.arange(1, curve.shape[1] + 1), curve.mean(0), ":", label=name)
    ax.set_xlabel("position t")
    ax.set_ylabel("held-out nats / token")
    ax.legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "loss_vs_position.png"))
  elif study == "finetune":
    grid = results["grid"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, m in results["methods"].items():
      for ax, s in zip(axes, ("target", "heldout"), strict=True):
        ax.errorbar(grid, [m["curve"][str(t)][s]["mean"] for t in grid],
                    [m["curve"][str(t)][s]["sd"] for t in grid], marker="o", label=name)
    refs = results["references"]
    for ax, s, names in [(axes[0], "target", ("bayes_new_domain", "oracle")),
                         (axes[1], "heldout", ("bayes_new_domain", "collapse_to_target"))]:
      for n in names:
        ax.axhline(refs[f"{s}/{n}"]["mean"], color="gray", linestyle=":")
        ax.annotate(n, (grid[-1], refs[f"{s}/{n}"]["mean"]), fontsize=7, ha="right")
      ax.set_xscale("symlog", linthresh=10)
      ax.set_xlim(left=0)
      ax.set_xlabel("finetuning steps T")
      ax.set_ylabel(f"{s} nats / token")
    axes[0].legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "finetune_target_vs_heldout.png"))
  elif study == "fewshot":
    fs = results["fewshot"]
    ns = [int(n) for n in fs]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(range(len(ns)), [fs[str(n)]["target"]["mean"] for n in ns],
                [fs[str(n)]["target"]["sd"] for n in ns], marker="o", label="finetuned")
    for n in ("bayes_new_domain", "bayes_genre", "oracle"):
      ax.axhline(results["references"][f"target/{n}"]["mean"], color="gray", linestyle=":")
      ax.annotate(n, (0, results["references"][f"target/{n}"]["mean"]), fontsize=7)
    ax.set_xticks(range(len(ns)), [str(n) for n in ns])
    ax.set_xlabel("target sequences finetuned on (0: in-context only)")
    ax.set_ylabel("target nats / token")
    plots.save(fig, os.path.join(workdir, "fewshot.png"))
  elif study == "continual":
    variants, families = results["variants"], results["families"]
    fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 4), squeeze=False)
    for ax, (variant, matrix) in zip(axes[0], variants.items(), strict=True):
      for f in families:
        ax.plot(range(len(matrix)), [row[f]["mean"] for row in matrix], marker="o", label=f)
      ax.set_title(variant)
      ax.set_xlabel("stage")
      ax.set_ylabel("nats / token")
      ax.legend(fontsize=7)
    plots.save(fig, os.path.join(workdir, "continual.png"))

"""results.md (every study found in the workdir, with verdicts computed by rules) and PNGs.

A verdict compares per-seed losses: the seeds see the same evaluation sequences, so the
comparison is paired, and a difference counts as clear when its mean exceeds two standard
errors of the per-seed differences and 0.002 nats (below that, evaluation noise dominates).
"""

import glob
import json
import os

import matplotlib.pyplot as plt
import numpy as np

from genjax import plots
from genjax.claims.verdicts import DEPENDS, NOT_MEASURED, NOT_SUPPORTED, SUPPORTED, Finding

STUDY_ORDER = ("diversity", "architecture", "finetune", "fewshot", "continual")
INFINITE = 0

# Independent single-seed numbers quoted by issue 4 (L = 64, d = 64, alpha = 0.3).
ISSUE_DIVERSITY_HELDOUT = {4: 3.03, 64: 1.73, 1024: 1.638, INFINITE: 1.636}
ISSUE_ARCHITECTURE = {"transformer": 1.636, "transformer_1layer": 1.923, "bag_mlp": 1.980}
ISSUE_FINETUNE_600 = {"full_lr0.001": (1.323, 3.497), "full_lr0.0001": (1.335, 3.041),
                      "replay0.5": (1.363, 1.698), "lora_r2": (1.362, 2.720)}
ISSUE_REFERENCES = {"uniform": 2.0794, "unigram": 2.0205, "bayes_new_domain": 1.6286,
                    "oracle": 1.2202, "target_bayes": 1.7350, "target_oracle": 1.3202}


def fmt(s: dict, digits: int = 3) -> str:
  return f"{s['mean']:.{digits}f} ± {s['sd']:.{digits}f}"


def m_name(m: int) -> str:
  return "∞" if m == INFINITE else str(m)


def paired(a: dict, b: dict) -> tuple[str, float]:
  """'lower', 'higher' or 'same' for a vs b (per-seed values), and the mean difference a - b."""
  d = np.asarray(a["seeds"]) - np.asarray(b["seeds"])
  mean = float(d.mean())
  se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
  if abs(mean) > max(2 * se, 0.002):
    return ("lower" if mean < 0 else "higher"), mean
  return "same", mean


# ---------------------------------------------------------------- per-study sections


def diversity_section(r: dict) -> tuple[list[str], Finding]:
  refs = r["references_heldout"]
  lines = [
      "| M | in-dist loss | pool-Bayes in-dist | held-out loss | pool-Bayes held-out "
      "| held-out, ckpt by training-domain validation | held-out, test-domain oracle ckpt "
      "| issue (independent, L=64) |",
      "|---|---|---|---|---|---|---|---|"]
  for row in r["rows"]:
    sel = row["selection"]
    tv, orc = sel["training_domain_validation"], sel["test_domain_oracle"]
    issue = ISSUE_DIVERSITY_HELDOUT.get(row["pool_size"])
    lines.append(
        f"| {m_name(row['pool_size'])} | {fmt(row['model_indist'])} "
        f"| {fmt(row['pool_bayes_indist'])} | {fmt(row['model_heldout'])} "
        f"| {fmt(row['pool_bayes_heldout'])} | {fmt(tv['heldout'])} (step {tv['step']}) "
        f"| {fmt(orc['heldout'])} (step {orc['step']}) "
        f"| {'—' if issue is None else f'{issue:.3f}'} |")
  lines += ["", "Held-out references (same sequences): " + ", ".join(
      f"{k} {fmt(v, 4)}" for k, v in refs.items()) + "."]
  rows = r["rows"]
  low, high = rows[0], rows[-1]
  bayes = refs["bayes_new_domain"]
  direction, diff = paired(high["model_heldout"], low["model_heldout"])
  gap = high["model_heldout"]["mean"] - bayes["mean"]
  near = [m_name(x["pool_size"]) for x in rows
          if x["model_heldout"]["mean"] - bayes["mean"] < 0.05]
  return lines, Finding(
      SUPPORTED if direction == "lower" else NOT_SUPPORTED,
      f"held-out loss {low['model_heldout']['mean']:.3f} at M={m_name(low['pool_size'])} vs "
      f"{high['model_heldout']['mean']:.3f} at M={m_name(high['pool_size'])} (difference "
      f"{diff:+.3f}, {direction}); at the largest M the model is {gap:+.3f} nats from "
      f"new-domain Bayes {bayes['mean']:.3f}; within 0.05 of it for M in "
      f"{{{', '.join(near) or 'none'}}}.")


def architecture_section(r: dict) -> tuple[list[str], Finding]:
  refs = r["references_heldout"]
  bayes = refs["bayes_new_domain"]
  lines = ["| model | held-out loss (last step) | − Bayes new-domain "
           "| held-out, ckpt by training-domain validation | issue (independent, L=64) |",
           "|---|---|---|---|---|"]
  by_arch = {row["arch"]: row for row in r["rows"]}
  for arch, row in by_arch.items():
    tv = row["selection"]["training_domain_validation"]
    issue = ISSUE_ARCHITECTURE.get(arch)
    lines.append(f"| {arch} | {fmt(row['heldout'])} "
                 f"| {row['heldout']['mean'] - bayes['mean']:+.3f} "
                 f"| {fmt(tv['heldout'])} (step {tv['step']}) "
                 f"| {'—' if issue is None else f'{issue:.3f}'} |")
  lines += ["", "Held-out references: " + ", ".join(f"{k} {fmt(v, 4)}" for k, v in refs.items())
            + ". Per-position curves: loss_vs_position.png."]
  if "transformer" not in by_arch or len(by_arch) < 2:
    return lines, Finding(NOT_MEASURED, "needs the 2-layer transformer and a baseline.")
  best = by_arch["transformer"]["heldout"]
  outcomes = {a: paired(best, row["heldout"]) for a, row in by_arch.items() if a != "transformer"}
  wins = all(o[0] == "lower" for o in outcomes.values())
  detail = "; ".join(f"2-layer − {a} = {d:+.3f} ({o})" for a, (o, d) in outcomes.items())
  return lines, Finding(
      SUPPORTED if wins else NOT_SUPPORTED,
      f"the 2-layer transformer's held-out loss is {best['mean']:.3f} "
      f"({best['mean'] - bayes['mean']:+.3f} from Bayes); {detail}.")


def finetune_section(r: dict) -> tuple[list[str], Finding]:
  refs, grid, methods = r["references"], r["grid"], r["methods"]
  last = str(grid[-1])
  lines = [f"Target A is one fresh Dirichlet(α) chain per seed. References: target Bayes "
           f"(in-context, new domain) {fmt(refs['target/bayes_new_domain'])}, target oracle "
           f"{fmt(refs['target/oracle'])}, held-out Bayes {fmt(refs['heldout/bayes_new_domain'])}"
           f", held-out oracle {fmt(refs['heldout/oracle'])}, collapse limit (held-out scored "
           f"with A's transitions) {fmt(refs['heldout/collapse_to_target'])}. Issue's target A: "
           f"Bayes {ISSUE_REFERENCES['target_bayes']}, oracle {ISSUE_REFERENCES['target_oracle']}."
           , "",
           "| method | " + " | ".join(f"T={t} target / held-out" for t in grid)
           + " | T by training-domain (target) validation: held-out | test-domain oracle T: "
           "held-out | issue at 600 steps |",
           "|---|" + "---|" * (len(grid) + 3)]
  for name, m in methods.items():
    cells = [f"{m['curve'][str(t)]['target']['mean']:.3f} / "
             f"{m['curve'][str(t)]['heldout']['mean']:.3f}" for t in grid]
    tv, orc = m["selection"]["training_domain_validation"], m["selection"]["test_domain_oracle"]
    issue = ISSUE_FINETUNE_600.get(name)
    lines.append(f"| {name} | " + " | ".join(cells)
                 + f" | T={tv['step']}: {fmt(tv['heldout'])} | T={orc['step']}: "
                 f"{fmt(orc['heldout'])} | "
                 + ("—" if issue is None else f"{issue[0]:.3f} / {issue[1]:.3f}") + " |")
  lines += ["", f"Mean ± s.d. at T={last}:", "", "| method | target | held-out |", "|---|---|---|"]
  lines += [f"| {n} | {fmt(m['curve'][last]['target'])} | {fmt(m['curve'][last]['heldout'])} |"
            for n, m in methods.items()]
  full = [n for n, m in methods.items() if m["kind"] == "full" and not n.startswith("replay")]
  if not full:
    return lines, Finding(NOT_MEASURED, "no full-finetuning run.")
  f0 = methods[full[0]]["curve"]
  gain, gain_d = paired(f0[last]["target"], refs["target/bayes_new_domain"])
  hurt, hurt_d = paired(f0[last]["heldout"], f0[str(grid[0])]["heldout"])
  parts = [f"{full[0]} reaches target {f0[last]['target']['mean']:.3f} vs in-context Bayes "
           f"{refs['target/bayes_new_domain']['mean']:.3f} ({gain_d:+.3f}, {gain}) and moves "
           f"held-out from {f0[str(grid[0])]['heldout']['mean']:.3f} to "
           f"{f0[last]['heldout']['mean']:.3f} ({hurt_d:+.3f}, {hurt})"]
  rise = {n: m["curve"][last]["heldout"]["mean"] - m["curve"][str(grid[0])]["heldout"]["mean"]
          for n, m in methods.items()}
  parts.append("held-out rise by method: " + ", ".join(f"{n} {v:+.3f}" for n, v in rise.items()))
  return lines, Finding(
      SUPPORTED if gain == "lower" and hurt == "higher" else NOT_SUPPORTED,
      "tested: finetuning helps the target and over-finetuning hurts the rest; "
      + "; ".join(parts) + ".")


def fewshot_section(r: dict) -> tuple[list[str], Finding]:
  refs, fs, dapt = r["references"], r["fewshot"], r["dapt"]
  lines = [f"Target A is a chain of genre 0. References on target: new-domain Bayes "
           f"{fmt(refs['target/bayes_new_domain'])}, genre Bayes {fmt(refs['target/bayes_genre'])}"
           f", oracle {fmt(refs['target/oracle'])}.", "",
           "| target sequences n | target loss | held-out loss |", "|---|---|---|"]
  for n, v in fs.items():
    label = "0 (in-context only)" if n == "0" else n
    lines.append(f"| {label} | {fmt(v['target'])} | {fmt(v['heldout'])} |")
  lines += ["", "| continued pretraining | target before ft | target after ft "
            "| held-out after ft |", "|---|---|---|---|"]
  for variant, v in dapt.items():
    lines.append(f"| {variant} | {fmt(v['before']['target'])} | {fmt(v['after']['target'])} "
                 f"| {fmt(v['after']['heldout'])} |")
  sizes = [n for n in fs if n != "0"]
  few, few_d = paired(fs[sizes[-1]]["target"], fs["0"]["target"]) if sizes else ("same", 0.0)
  alone, alone_d = paired(dapt["dapt_target_genre"]["before"]["target"],
                          dapt["none"]["before"]["target"])
  d_ok, d_d = paired(dapt["dapt_target_genre"]["after"]["target"], dapt["none"]["after"]["target"])
  u_ok, u_d = paired(dapt["unrelated_genre"]["after"]["target"], dapt["none"]["after"]["target"])
  evidence = (f"finetuning on {sizes[-1] if sizes else 0} target sequences vs in-context only "
              f"{few_d:+.3f} ({few}); DAPT alone vs none {alone_d:+.3f} ({alone}); DAPT then "
              f"finetune vs none then finetune {d_d:+.3f} ({d_ok}); unrelated genre then finetune "
              f"vs none {u_d:+.3f} ({u_ok}).")
  if few == "lower" and d_ok == "lower":
    return lines, Finding(SUPPORTED, evidence)
  outcomes = {"few-shot finetuning": few, "DAPT alone": alone, "DAPT then finetuning": d_ok}
  helps = [name for name, outcome in outcomes.items() if outcome == "lower"]
  if helps:
    others = [name for name in outcomes if name not in helps]
    return lines, Finding(DEPENDS, evidence, f"on the method; lower the target loss: "
                          f"{', '.join(helps)}; do not: {', '.join(others)}")
  return lines, Finding(NOT_SUPPORTED, evidence)


def continual_section(r: dict) -> tuple[list[str], Finding]:
  refs, families, variants = r["references"], r["families"], r["variants"]
  ref_cells = [fmt(refs.get(f"{f}/bayes_genre", refs.get(f"{f}/bayes_new_domain"))) for f in
               families]
  lines = ["Loss on each family's held-out sequences after each stage (stage 0: the pretrained "
           "model; stage k trains on genre k-1).", "",
           "| variant | stage | " + " | ".join(families) + " |",
           "|---|---|" + "---|" * len(families),
           "| Bayes (genre / new-domain) | — | " + " | ".join(ref_cells) + " |"]
  for variant, matrix in variants.items():
    for stage, row in enumerate(matrix):
      lines.append(f"| {variant} | {stage} | " + " | ".join(fmt(row[f]) for f in families) + " |")
  names = list(variants)
  if len(names) < 2:
    return lines, Finding(NOT_MEASURED, "needs a run with and one without replay.")
  earlier = families[:-1]

  def earlier_mean(variant):
    last = variants[variant][-1]
    seeds = np.mean([last[f]["seeds"] for f in earlier], axis=0)
    return {"mean": float(seeds.mean()), "seeds": seeds.tolist()}

  without, with_replay = earlier_mean(names[0]), earlier_mean(names[-1])
  outcome, d = paired(with_replay, without)
  return lines, Finding(
      SUPPORTED if outcome == "lower" else NOT_SUPPORTED,
      f"mean loss on earlier families after the last stage {with_replay['mean']:.3f} with "
      f"{names[-1]} vs {without['mean']:.3f} with {names[0]} ({d:+.3f}, {outcome}).")


SECTIONS = {
    "diversity": ("1. Diversity of pretraining domains", diversity_section),
    "architecture": ("2. Architecture (M = ∞)", architecture_section),
    "finetune": ("3. Finetuning and forgetting", finetune_section),
    "fewshot": ("4. Few-shot finetuning and domain-adaptive pretraining", fewshot_section),
    "continual": ("5. Continual learning", continual_section),
}


def verdict_text(finding: Finding) -> str:
  condition = f" ({finding.condition})" if finding.condition else ""
  return f"**{finding.verdict}**{condition}: {finding.evidence}"


def write_markdown(workdir: str) -> str:
  """Rebuilds workdir/results.md from every results_<study>.json there; returns the text."""
  found = {}
  for path in glob.glob(os.path.join(workdir, "results_*.json")):
    with open(path) as f:
      r = json.load(f)
    found[r["study"]] = r
  lines = ["# Domain generalization on in-context Markov-chain domains", "",
           "Losses in nats per predicted token (positions 1..L-1), mean ± s.d. over seeds; "
           "every model and reference is scored on the same sequences. Verdict rule: a paired "
           "per-seed difference counts when it exceeds 2 standard errors and 0.002 nats. Model "
           "selection follows DomainBed: training-domain validation, and the test-domain oracle "
           "reported separately as an upper bound.", ""]
  for study in STUDY_ORDER:
    if study not in found:
      continue
    r = found[study]
    title, section = SECTIONS[study]
    table, finding = section(r)
    lines += [f"## {title}", "",
              f"{r['num_seeds']} seeds, L = {r['seq_len']}, width {r['config']['width']}, "
              f"{r['config']['pretrain_steps']} pretraining steps of "
              f"{r['config']['batch_size']} sequences.", "", *table, "",
              f"Verdict: {verdict_text(finding)}", ""]
  text = "\n".join(lines)
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(text)
  return text


# ---------------------------------------------------------------- figures


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

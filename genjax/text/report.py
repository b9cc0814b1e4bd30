"""results.md of a real-text workdir (every study run there), each study's figure, and the grid's
table. Every number is bits per byte, mean ± s.d. over seeds (`stats.spread`), beside the byte
references on the same held-out documents (genjax/data/byte_references.py)."""

import json
import os

import numpy as np

from genjax import stats
from genjax.claims.text import STUDY_CLAIMS
from genjax.identity import RESULTS_FILE
from genjax.lm.report import judge
from genjax.registry import ENTRIES

fmt = stats.spread
REFERENCES = ("zlib", "bz2", "lzma")  # then the Kneser-Ney n-grams, "kn<order>"


def _reference_names(r: dict) -> list[str]:
  first = next(iter(r["references"].values()))
  return [*REFERENCES, *sorted((k for k in first if k.startswith("kn")), key=lambda k: int(k[2:]))]


def bits_table(r: dict) -> list[str]:
  """One row per model and one per reference: bits per byte on each domain's test documents."""
  domains = list(r["references"])
  lines = ["| model | trained on | " + " | ".join(domains) + " | own text − its floor |",
           "|---|---|" + "---|" * len(domains) + "---|"]
  for row in r["models"].values():
    floor = row["floor"]
    cells = [fmt(row["test"].get(d)) + (" (held out)" if d not in row["domains"] else "")
             for d in domains]
    lines.append(f"| {row['arch']} | {'+'.join(row['domains'])} | " + " | ".join(cells)
                 + f" | {row['own_test']['mean'] - floor['mean']:+.3f} ({floor['name']}) |")
  for ref in _reference_names(r):
    lines.append(f"| *{ref}* | " + ("training split" if ref.startswith("kn") else "each document")
                 + " | " + " | ".join(f"{r['references'][d][ref]:.3f}" for d in domains) + " | |")
  return lines


def curve_table(r: dict) -> list[str]:
  """Training-domain validation bits per byte at each evaluation (the last-quarter fall the rules
  describe)."""
  steps = sorted(next(iter(r["models"].values()))["train_curve"], key=int)
  lines = ["| model | trained on | " + " | ".join(f"step {s}" for s in steps) + " |",
           "|---|---|" + "---|" * len(steps)]
  for row in r["models"].values():
    lines.append(f"| {row['arch']} | {'+'.join(row['domains'])} | "
                 + " | ".join(fmt(row["train_curve"][s]) for s in steps) + " |")
  return lines


def unseen_table(r: dict) -> list[str]:
  """Test bits per byte on each domain a model never trained on, at each evaluation (models of
  results.json files written before this table have no such curve and no row)."""
  rows = [(row, d) for row in r["models"].values() if "unseen_curve" in row
          for d in next(iter(row["unseen_curve"].values()))]
  if not rows:
    return []
  steps = sorted(rows[0][0]["unseen_curve"], key=int)
  lines = ["| model | trained on | unseen | " + " | ".join(f"step {s}" for s in steps) + " |",
           "|---|---|---|" + "---|" * len(steps)]
  for row, d in rows:
    lines.append(f"| {row['arch']} | {'+'.join(row['domains'])} | {d} | "
                 + " | ".join(fmt(row["unseen_curve"][s][d]) for s in steps) + " |")
  return lines


def data_cards(r: dict) -> list[str]:
  lines = ["| domain | package | licence | document | train docs / bytes | test docs / bytes |",
           "|---|---|---|---|---|---|"]
  for d, c in r["data_cards"].items():
    lines.append(f"| {d} | {c['package']} {c['version']} | {c.get('licence', '')} "
                 f"| {c['document']} | {c['train']['documents']} / {c['train']['bytes']:,} "
                 f"| {c['test']['documents']} / {c['test']['bytes']:,} |")
  return lines


def finetuning_runs(r: dict) -> dict:
  """{name: {"curve": ...}}: the finetune study's runs, or the DAPT study's starts, finetuned."""
  return r["methods"] if r["study"] == "finetune" else r["starts"]


def finetune_table(r: dict) -> list[str]:
  """Every finetuning run at every step T (T = 0: the pretrained model, or a DAPT study's
  start)."""
  runs = finetuning_runs(r)
  others = list(next(iter(runs.values()))["curve"]["0"]["domains"])
  lines = [f"| run | T | {r['target']} test | {r['target']} validation | other domains | "
           + " | ".join(others) + " |", "|---|---|---|---|---|" + "---|" * len(others)]
  for name, m in runs.items():
    for t, p in m["curve"].items():
      lines.append(f"| {name} | {t} | {fmt(p['target'])} | {fmt(p['target_valid'])} | "
                   f"{fmt(p['others'])} | " + " | ".join(fmt(p["domains"][d]) for d in others)
                   + " |")
  return lines


def continual_table(r: dict) -> list[str]:
  """The continual study: every domain's test bits after pretraining and after each stage."""
  domains = list(r["variants"]["sequential"][0])
  after = ["pretraining (" + "+".join(r["first"]) + ")", *r["stages"]]
  lines = ["| variant | after | " + " | ".join(domains) + " |", "|---|---|" + "---|" * len(domains)]
  for variant, curve in r["variants"].items():
    for stage, at in zip(after, curve, strict=True):
      lines.append(f"| {variant} | {stage} | " + " | ".join(fmt(at[d]) for d in domains) + " |")
  return lines


def _continual_text(r: dict) -> str:
  return (f"After pretraining on {'+'.join(r['first'])}, {r['config']['continual_steps']} "
          f"constant-rate Adam steps on each of {', '.join(r['stages'])} in turn, without replay "
          f"(sequential) or with {r['replayed_windows']} of each batch's "
          f"{r['config']['batch_size']} windows drawn from the domains learned before (replay)")


def details(r: dict) -> list[str]:
  """What REPORT.md shows under a real-text run: bits per byte beside the references (and the
  finetuning runs), and the data cards."""
  runs = ([f"{_finetuning_title(r)}, bits per byte:", "", *finetune_table(r), ""]
          if r["study"] in ("finetune", "dapt") else [])
  if r["study"] == "continual":
    runs = [f"{_continual_text(r)}; test bits per byte:", "", *continual_table(r), ""]
  return ["Bits per byte on the test documents, mean ± s.d. over seeds:", "", *bits_table(r), "",
          *runs, "Data:", "", *data_cards(r)]


def _finetuning_title(r: dict) -> str:
  return (f"{'DAPT, then finetuning' if r['study'] == 'dapt' else 'Finetuning'} on "
          f"{r['target_bytes']:,} bytes of {r['target']}")


# The order results.md shows the studies of a workdir in.
STUDY_ORDER = ("diversity", "architecture", "finetune", "dapt", "continual")


def write_markdown(workdir: str) -> str:
  """Rebuilds workdir/results.md from every study in its results.json; returns the text."""
  with open(os.path.join(workdir, RESULTS_FILE)) as f:
    results = json.load(f)
  lines = []
  for study in STUDY_ORDER:
    if study in results[ENTRIES]:
      lines += study_section(results[ENTRIES][study], results)
  text = "\n".join(lines)
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(text)
  return text


def study_section(r: dict, results: dict) -> list[str]:
  """One study's part of results.md: its tables, data cards and verdicts (read from the
  workdir's `results`, as the report reads them)."""
  c = r["config"]
  held = ", ".join(h["domain"] for h in r["heldout"])
  lines = [f"# Q1 on real text: {r['study']} study", "",
           f"{r['num_seeds']} seeds; byte-level models read {r['context']} bytes; "
           f"{c['num_steps']} Adam steps of {c['batch_size']} windows each "
           f"({c['num_steps'] * c['batch_size'] * (r['context'] + 1):,} bytes seen per model); "
           f"held out: {held}. Scored on {c['eval_windows']} windows per domain and seed of the "
           "test documents (every position of a window, so early bytes see little context); "
           "references on the whole test documents; each model's floor (the Kneser-Ney n-gram "
           "fitted on its own training split) on the windows it reads.", "",
           "## Bits per byte (test documents)", "", *bits_table(r), "",
           "## Training-domain validation bits per byte", "", *curve_table(r), ""]
  if unseen := unseen_table(r):
    lines += ["## Bits per byte on domains never trained on, along training", "",
              "Test documents; `bench/text_margins.py` gives any two models' paired "
              "difference at each step.", "", *unseen, ""]
  if r["study"] in ("finetune", "dapt"):
    start = ("the pretrained model above (T = 0)" if r["study"] == "finetune" else
             f"each start (T = 0): the pretrained model above (none), or that model after "
             f"{r['dapt_steps']} steps of adaptive pretraining on the training documents of "
             f"{r['neighbour']} (related, the neighbouring register), on "
             f"{r['dapt_bytes']['same_register']:,} further training bytes of {r['target']} "
             f"(same_register) or on the training documents of {r['unrelated']} (unrelated)")
    lines += [f"## {_finetuning_title(r)}", "", f"Constant-rate Adam from {start}; bits per byte "
              "on the target's validation and test documents and the other domains' test "
              "documents.", "", *finetune_table(r), ""]
  if r["study"] == "continual":
    lines += ["## Domains in sequence", "", f"{_continual_text(r)}; bits per byte on every "
              "domain's test documents.", "", *continual_table(r), ""]
  lines += ["## Data", "", *data_cards(r), "", "## Verdicts", ""]
  for claim in STUDY_CLAIMS[r["study"]]:
    lines += [f"Claim: {claim.statement} Verdict: {judge(claim, results)}", ""]
  return lines


def write_figure(r: dict, workdir: str) -> None:
  """<study>.png: every model on every domain (diversity), loss against position on the
  held-out domain (architecture; bands: mean ± s.d. over seeds), or the finetuning and continual
  curves."""
  import matplotlib.pyplot as plt

  from genjax import plots

  if r["study"] in ("finetune", "dapt"):
    write_finetune_figure(r, workdir)
    return
  if r["study"] == "continual":
    write_continual_figure(r, workdir)
    return
  fig, ax = plt.subplots(figsize=(7, 4))
  if r["study"] == "architecture":
    held = r["heldout"][0]["domain"]
    for name, curve in r["position_curves"].items():
      values = np.asarray(curve)
      x = np.arange(1, values.shape[1] + 1)
      line, = ax.plot(x, values.mean(0), label=r["models"][name]["arch"])
      ax.fill_between(x, values.mean(0) - values.std(0), values.mean(0) + values.std(0),
                      alpha=0.2, color=line.get_color())
    for ref, style in (("bz2", "--"), ("kn5", ":")):
      if ref in r["references"][held]:
        ax.axhline(r["references"][held][ref], color="gray", linestyle=style, label=ref)
    ax.set_xlabel(f"position in the window ({held}, never trained on)")
    ax.set_ylabel("bits / byte (each point: windows x seeds at one position, noisy)")
  else:
    domains = list(r["references"])
    width = 0.8 / (len(r["models"]) + 1)
    for i, row in enumerate(r["models"].values()):
      ax.bar(np.arange(len(domains)) + i * width, [row["test"][d]["mean"] for d in domains],
             width, yerr=[row["test"][d]["sd"] for d in domains],
             label="+".join(row["domains"]))
    ax.scatter(np.arange(len(domains)) + 0.4 - width, [r["references"][d]["bz2"] for d in domains],
               color="black", marker="_", s=300, label="bz2", zorder=3)
    ax.set_xticks(np.arange(len(domains)) + 0.4 - width, domains)
    ax.set_ylabel("bits / byte on test documents")
  ax.legend(fontsize=7)
  plots.save(fig, os.path.join(workdir, f"{r['study']}.png"))


def write_finetune_figure(r: dict, workdir: str) -> None:
  """finetune.png (dapt.png): target bits per byte (test solid, validation dashed) and the other
  domains' against finetuning steps, one colour per run or start (bands: mean ± s.d. over
  seeds)."""
  import matplotlib.pyplot as plt

  from genjax import plots

  fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
  for name, m in finetuning_runs(r).items():
    steps = [int(t) for t in m["curve"]]
    x = [max(t, 1) for t in steps]  # T = 0 drawn at 1 on the log axis
    for ax, key, style in ((left, "target", "-"), (left, "target_valid", "--"),
                           (right, "others", "-")):
      mean = np.array([p[key]["mean"] for p in m["curve"].values()])
      sd = np.array([p[key]["sd"] for p in m["curve"].values()])
      line, = ax.plot(x, mean, style, label=name if style == "-" else None,
                      color=None if key != "target_valid" else left.lines[-1].get_color())
      ax.fill_between(x, mean - sd, mean + sd, alpha=0.15, color=line.get_color())
  left.set_title(f"{r['target']} (target): test solid, validation dashed")
  right.set_title("other domains (forgetting)")
  for ax in (left, right):
    ax.set_xscale("log")
    ax.set_xlabel("finetuning steps T (T = 0 drawn at 1)")
    ax.set_ylabel("bits / byte")
    ax.legend(fontsize=7)
  plots.save(fig, os.path.join(workdir, f"{r['study']}.png"))


def write_continual_figure(r: dict, workdir: str) -> None:
  """continual.png: each domain's test bits per byte after pretraining and each stage,
  sequential solid and replay dashed, one colour per domain (bands: mean ± s.d. over seeds)."""
  import matplotlib.pyplot as plt

  from genjax import plots

  fig, ax = plt.subplots(figsize=(9, 4))
  x = np.arange(len(r["stages"]) + 1)
  for domain in r["variants"]["sequential"][0]:
    color = None
    for variant, style in (("sequential", "-"), ("replay", "--")):
      mean = np.array([at[domain]["mean"] for at in r["variants"][variant]])
      sd = np.array([at[domain]["sd"] for at in r["variants"][variant]])
      line, = ax.plot(x, mean, style, color=color, label=f"{domain} ({variant})")
      color = line.get_color()
      ax.fill_between(x, mean - sd, mean + sd, alpha=0.12, color=color)
  ax.set_xticks(x, ["pretrained", *(f"after {d}" for d in r["stages"])])
  ax.set_ylabel("bits / byte on test documents")
  ax.set_title("domains in sequence: sequential solid, replay dashed")
  ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))  # off the crossing lines
  plots.save(fig, os.path.join(workdir, "continual.png"))


def grid_table(results: dict):
  """The grid's table of one workdir (genjax/grid.py): header, rows, for every study run there."""
  header = ["study", "model", "trained on", "own text bits/byte", "its floor there",
            "held-out domain", "held-out bits/byte"]
  rows = []
  for study, r in results[ENTRIES].items():
    for h in r["heldout"]:
      for name in [h["mix"], *h["specialists"]] if "mix" in h else h["models"]:
        row = r["models"][name]
        rows.append([study, row["arch"], "+".join(row["domains"]), fmt(row["own_test"]),
                     f"{row['floor']['name']} {fmt(row['floor'])}", h["domain"],
                     fmt(row["test"][h["domain"]])])
  return header, rows

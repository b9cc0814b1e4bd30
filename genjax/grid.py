"""Grids of runs: expand, name, launch in parallel processes, skip finished ones, and tabulate
the numbers of every run's results.json (`TABLES`)."""

import concurrent.futures
import itertools
import json
import os
import re
import shlex
import subprocess
import sys

from genjax import identity, registry
from genjax.errors import UserError

DONE_MARKER = identity.RESULTS_FILE  # a run whose workdir has this file is finished


def parse_axis(spec: str) -> tuple[str, list[str]]:
  """"config.betas=0.25;1;4" -> ("config.betas", ["0.25", "1", "4"]); ';' separates values
  because ',' is ml_collections' separator inside one tuple value."""
  name, sep, values = spec.partition("=")
  if not sep or not name or not values:
    raise UserError(f"--grid={spec!r} must look like config.field=value1;value2")
  if not name.startswith("config."):
    raise UserError(f"--grid={spec!r}: grid axes are config fields (config.NAME)")
  return name, values.split(";")


def expand(axes: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
  """Every combination of the axes' values, in order."""
  names = [name for name, _ in axes]
  return [dict(zip(names, combo, strict=True))
          for combo in itertools.product(*(values for _, values in axes))]


def run_name(point: dict[str, str]) -> str:
  parts = [f"{name.removeprefix('config.')}={value}" for name, value in point.items()]
  return re.sub(r"[^A-Za-z0-9_.=,-]", "_", "__".join(parts)) or "base"


def experiments() -> list[str]:
  """Names of the experiments a grid can run (genjax/registry.py)."""
  return sorted(registry.EXPERIMENTS)


def check_options(experiment: str, flagfile: str | None, processes: int) -> None:
  """Raises UserError for a grid that cannot run: unknown experiment, missing flagfile, ..."""
  if experiment not in experiments():
    raise UserError(f"--experiment={experiment!r} is not an experiment; choose one of "
                    f"{', '.join(experiments())}")
  if flagfile and not os.path.exists(flagfile):
    raise UserError(f"--flagfile_base={flagfile}: no such file")
  if processes < 1:
    raise UserError(f"--processes={processes} must be at least 1")


def command(experiment: str, flagfile: str | None, point: dict[str, str], workdir: str,
            extra: list[str]) -> list[str]:
  script = registry.EXPERIMENTS[experiment].script
  args = [sys.executable, script]
  if flagfile:
    args.append(f"--flagfile={flagfile}")
  args += [f"--{name}={value}" for name, value in point.items()]
  return [*args, *extra, f"--workdir={workdir}"]


def run_all(commands: dict[str, list[str]], workdirs: dict[str, str], processes: int) -> dict:
  """Runs the unfinished commands, `processes` at a time; returns name -> exit code."""
  todo = {n: c for n, c in commands.items()
          if not os.path.exists(os.path.join(workdirs[n], DONE_MARKER))}

  def launch(name):
    os.makedirs(workdirs[name], exist_ok=True)
    with open(os.path.join(workdirs[name], "run.log"), "w") as log:
      return subprocess.run(commands[name], stdout=log, stderr=subprocess.STDOUT).returncode

  with concurrent.futures.ThreadPoolExecutor(processes) as pool:
    codes = dict(zip(todo, pool.map(launch, todo), strict=True))
  return {n: codes.get(n, 0) for n in commands}


def _cell(value, digits: int = 3) -> str:
  """A stats.summary as 'mean ± sd', a number as itself, an absent value as a dash."""
  if value is None:
    return "—"
  if isinstance(value, dict):
    return f"{value['mean']:.{digits}f} ± {value['sd']:.{digits}f}"
  return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _slope(fit: dict | None) -> str:
  return "n/a" if fit is None else f"{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}]"


def vae_table(r: dict):
  header = ["model", "beta", "recon NLL (z=mean)", "-ELBO", "IWAE NLL", "rate (KL)",
            "active units", "FD prior samples"]
  rows = [[name, f"{m['beta']:g}", *(_cell(m.get(k), 2) for k in (
      "reconstruction_nll", "neg_elbo", "iwae_nll", "rate")),
           f"{_cell(m['active_units'], 1)}/{m['latents']}", _cell(m["prior_samples"]["frechet"], 2)]
          for name, m in r["models"].items()]
  return header, rows


GAN_COLUMNS = (("modes", 1), ("reverse_kl", 3), ("precision", 3), ("recall", 3),
               ("coverage", 3), ("ndb", 1))


def gan_table(r: dict):
  header = ["method", *(name for name, _ in GAN_COLUMNS), "seeds with all modes",
            "wall time (s)"]
  rows = [[name, *(_cell(m["summary"][k], d) for k, d in GAN_COLUMNS),
           f"{m['summary']['seeds_all_modes']}/{r['num_seeds']}", f"{m['train_seconds']:.0f}"]
          for name, m in r["methods"].items()]
  return header, rows


def attention_table(r: dict):
  header = ["variant", "mode", "time slope", "load-corrected time slope", "temp-memory slope"]
  rows = [[s["variant"], s["mode"], _slope(s["time"]), _slope(s["time_corrected"]),
           _slope(s["memory"])] for s in r["slopes"]]
  return header, rows


def _domain_rows(study: str, r: dict) -> list[tuple[str, dict, dict]]:
  """(model, loss on its training or target domain, held-out loss) of one study."""
  if study == "diversity":
    return [(f"M={row['pool_size'] or '∞'}", row["model_indist"], row["model_heldout"])
            for row in r["rows"]]
  if study == "architecture":
    return [(row["arch"], row["indist_curve"][max(row["indist_curve"], key=int)],
             row["heldout"]) for row in r["rows"]]
  if study == "finetune":
    last = str(r["grid"][-1])
    return [(f"{name}, T={last}", m["curve"][last]["target"], m["curve"][last]["heldout"])
            for name, m in r["methods"].items()]
  if study == "fewshot":
    return ([(f"{n} target sequences", v["target"], v["heldout"]) for n, v in r["fewshot"].items()]
            + [(f"{name}, then finetuned", v["after"]["target"], v["after"]["heldout"])
               for name, v in r["dapt"].items()])
  newest = r["families"][-1]
  return [(f"{name}, after stage {len(stages) - 1}", stages[-1][newest], stages[-1]["general"])
          for name, stages in r["variants"].items()]


def domain_table(r: dict):
  header = ["study", "model", "training or target domain loss", "held-out loss"]
  rows = [[study, model, _cell(trained), _cell(heldout)]
          for study, entry in r["studies"].items()
          for model, trained, heldout in _domain_rows(study, entry)]
  return header, rows


# The numbers of each experiment's results.json that a grid tabulates: results -> header, rows.
TABLES = {"vae": vae_table, "gan": gan_table, "attention": attention_table,
          "domain": domain_table}


def run_table(experiment: str, path: str) -> tuple[list[str], list[list[str]]]:
  """Header and rows of one run's results.json; UserError if it is not the experiment's."""
  try:
    with open(path) as f:
      return TABLES[experiment](json.load(f))
  except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
    raise UserError(f"{path} is not a results.json of {experiment} ({type(e).__name__}: {e}); "
                    "rerun that run, or remove its workdir") from None


def collect(experiment: str, points: dict[str, dict[str, str]],
            workdirs: dict[str, str]) -> str:
  """One Markdown table: the grid's axes, then the numbers of every run's results.json."""
  header, rows, axes = None, [], []
  for name, point in points.items():
    path = os.path.join(workdirs[name], DONE_MARKER)
    if not os.path.exists(path):
      continue
    run_header, run_rows = run_table(experiment, path)
    axes = [a.removeprefix("config.") for a in point]
    header = header or run_header
    rows += [[*point.values(), *row] for row in run_rows]
  if header is None:
    return "No finished runs.\n"
  lines = ["| " + " | ".join([*axes, *header]) + " |",
           "|" + "---|" * (len(axes) + len(header))]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  return "\n".join(lines) + "\n"


def shell_line(cmd: list[str]) -> str:
  return " ".join(shlex.quote(part) for part in cmd)

"""Grids of runs: expand, name, launch in parallel processes, skip finished ones, collect tables."""

import concurrent.futures
import itertools
import os
import re
import shlex
import subprocess
import sys

from genjax import registry
from genjax.errors import UserError

DONE_MARKER = "results.md"  # a run whose workdir has this file is finished


def parse_axis(spec: str) -> tuple[str, list[str]]:
  """"config.betas=0.25;1;4" -> ("config.betas", ["0.25", "1", "4"]); ';' separates values
  because ',' is ml_collections' separator inside one tuple value."""
  name, sep, values = spec.partition("=")
  if not sep or not name or not values:
    raise UserError(f"--grid={spec!r} must look like config.field=value1;value2")
  if not name.startswith("config."):
    raise UserError(f"--grid={spec!r}: sweep axes are config fields (config.NAME)")
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
  """Names of the experiments a sweep can run (genjax/registry.py)."""
  return sorted(registry.EXPERIMENTS)


def check_options(experiment: str, flagfile: str | None, processes: int) -> None:
  """Raises UserError for a sweep that cannot run: unknown experiment, missing flagfile, ..."""
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
    with open(os.path.join(workdirs[name], "sweep.log"), "w") as log:
      return subprocess.run(commands[name], stdout=log, stderr=subprocess.STDOUT).returncode

  with concurrent.futures.ThreadPoolExecutor(processes) as pool:
    codes = dict(zip(todo, pool.map(launch, todo), strict=True))
  return {n: codes.get(n, 0) for n in commands}


def first_table(markdown: str) -> tuple[list[str], list[list[str]]]:
  """Header and rows of the first Markdown table in a text."""
  lines = [line.strip() for line in markdown.splitlines()]
  for i, line in enumerate(lines):
    if line.startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
      header = [c.strip() for c in line.strip("|").split("|")]
      rows = []
      for row in lines[i + 2:]:
        if not row.startswith("|"):
          break
        rows.append([c.strip() for c in row.strip("|").split("|")])
      return header, rows
  return [], []


def collect(points: dict[str, dict[str, str]], workdirs: dict[str, str]) -> str:
  """One Markdown table: the sweep's axes, then the first table of every run's results.md."""
  header, rows, axes = None, [], []
  for name, point in points.items():
    path = os.path.join(workdirs[name], DONE_MARKER)
    if not os.path.exists(path):
      continue
    with open(path) as f:
      run_header, run_rows = first_table(f.read())
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

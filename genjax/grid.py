"""Grids of runs: expand, name, launch in parallel processes, skip finished ones, and tabulate
the numbers of every run's results.json (each registry entry's `table`)."""

import concurrent.futures
import itertools
import json
import os
import re
import shlex
import subprocess
import sys

from genjax import identity, logs, registry
from genjax.errors import UserError


def parse_axis(spec: str) -> tuple[str, list[str]]:
  """"config.betas=0.25;1;4" -> ("config.betas", ["0.25", "1", "4"]); ';' separates values
  because ',' is ml_collections' separator inside one tuple value."""
  name, sep, values = spec.partition("=")
  if not sep or not name or not values:
    raise UserError(f"--grid={spec!r} must look like config.field=value1;value2")
  if not name.startswith("config."):
    raise UserError(f"--grid={spec!r}: grid axes are config fields (config.NAME)")
  values = values.split(";")
  if "" in values:
    raise UserError(f"--grid={spec!r} has an empty value: separate values with one ';' and "
                    "end without one")
  repeated = sorted({v for v in values if values.count(v) > 1})
  if repeated:
    raise UserError(f"--grid={spec!r} lists {', '.join(map(repr, repeated))} more than once: "
                    "give each value once")
  return name, values


def parse_axes(specs: list[str], extra: list[str] = ()) -> list[tuple[str, list[str]]]:
  """Every --grid axis; UserError for an axis given twice (the grid would silently keep the last
  one's values, with fewer points than asked for) or set by --extra too (which comes later on
  each run's command line, so every run would get the --extra value, whatever its name says)."""
  axes, seen = [], {}
  for spec in specs:
    name, values = parse_axis(spec)
    if name in seen:
      raise UserError(f"--grid axis {name} is given twice ({seen[name]!r} and {spec!r}): give "
                      f"it once, with all its values ({name}=v1;v2;...)")
    seen[name] = spec
    axes.append((name, values))
  for override in config_overrides(extra):
    name = override.partition("=")[0].removeprefix("--")
    if name in seen:
      raise UserError(f"--grid axis {name} is also set by --extra ({override}), which would give "
                      "every run that one value: drop it from --extra (or its flagfile)")
  return axes


def config_overrides(extra: list[str]) -> list[str]:
  """The --config flags among `extra`, in order, with any --flagfile there expanded as absl
  expands it for the run itself: what the runs' configs get from --extra."""
  from absl import flags

  try:
    expanded = flags.FlagValues().read_flags_from_files(list(extra), force_gnu=True)
  except flags.Error as e:
    raise UserError(f"--extra: {' '.join(str(e).replace('ERROR::', '').split())}") from None
  return [arg for arg in expanded if arg.startswith(("--config.", "--config="))]


def expand(axes: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
  """Every combination of the axes' values, in order."""
  names = [name for name, _ in axes]
  return [dict(zip(names, combo, strict=True))
          for combo in itertools.product(*(values for _, values in axes))]


def run_name(point: dict[str, str]) -> str:
  parts = [f"{name.removeprefix('config.')}={value}" for name, value in point.items()]
  return re.sub(r"[^A-Za-z0-9_.=,-]", "_", "__".join(parts)) or "base"


def named_points(axes: list[tuple[str, list[str]]]) -> dict[str, dict[str, str]]:
  """Run name -> point, for every point; UserError where two points get one name (values that
  differ only in characters a folder name cannot hold) and would share a workdir."""
  points: dict[str, dict[str, str]] = {}
  for point in expand(axes):
    name = run_name(point)
    if name in points:
      raise UserError(f"--grid points {points[name]} and {point} would both run in workdir "
                      f"{name}: give values that differ in letters, digits or '_.=,-'")
    points[name] = point
  return points


def experiments() -> list[str]:
  """Names of the experiments a grid can run (genjax/registry.py)."""
  return sorted(registry.EXPERIMENTS)


def check_options(experiment: str, flagfile: str | None, processes: int) -> None:
  """Raises UserError for a grid that cannot run: unknown experiment, missing flagfile, ...
  (processes 0 means the report's rule: genjax/report/schedule.py)."""
  if experiment not in experiments():
    raise UserError(f"--experiment={experiment!r} is not an experiment; choose one of "
                    f"{', '.join(experiments())}")
  if flagfile and not os.path.exists(flagfile):
    raise UserError(f"--flagfile_base={flagfile}: no such file")
  if processes < 0:
    raise UserError(f"--processes={processes} must be at least 1 (or 0: automatic)")


def finished(experiment: str, flagfile: str | None, point: dict[str, str], workdir: str,
             extra: list[str]) -> bool:
  """Whether the run's workdir holds results of the very config this point gives (as the
  report reuses runs): a changed base flagfile or --extra makes it run again."""
  from genjax import cli  # absl and ml_collections: only for grids that run

  # In the order of the run's own command line (`command`): base flagfile, point, --extra,
  # whose --flagfile entries are expanded as the run expands them.
  overrides = [*(f"--{name}={value}" for name, value in point.items()),
               *config_overrides(extra)]
  config = cli.config_from_flagfile(experiment, flagfile, overrides)[0]
  return identity.finished(workdir, config, registry.EXPERIMENTS[experiment])


def command(experiment: str, flagfile: str | None, point: dict[str, str], workdir: str,
            extra: list[str]) -> list[str]:
  args = [sys.executable, registry.EXPERIMENTS[experiment].script_path]
  if flagfile:
    args.append(f"--flagfile={flagfile}")
  args += [f"--{name}={value}" for name, value in point.items()]
  # --restart: a point runs because its workdir holds no finished run of this config; a run of
  # another config there is moved aside (never deleted), a partial one of this resumes.
  return [*args, *extra, f"--workdir={workdir}", "--restart"]


def log_path(workdir: str) -> str:
  """A run's output, beside its workdir (not in it: --restart may move a stale workdir aside)."""
  return os.path.normpath(workdir) + ".log"


def run_all(commands: dict[str, list[str]], workdirs: dict[str, str], processes: int,
            done: set[str]) -> dict:
  """Runs the commands not in `done`, `processes` at a time; returns name -> exit code."""
  todo = {n: c for n, c in commands.items() if n not in done}
  for name in todo:  # before any run starts: a --workdir no folder can be made in is one line
    logs.make_folder(os.path.dirname(log_path(workdirs[name])) or ".")

  def launch(name):
    with open(log_path(workdirs[name]), "w") as log:
      return subprocess.run(commands[name], stdout=log, stderr=subprocess.STDOUT).returncode

  with concurrent.futures.ThreadPoolExecutor(processes) as pool:
    codes = dict(zip(todo, pool.map(launch, todo), strict=True))
  return {n: codes.get(n, 0) for n in commands}


def run_table(experiment: str, path: str) -> tuple[list[str], list[list[str]]]:
  """Header and rows of one run's results.json; UserError if it is not the experiment's."""
  try:
    with open(path) as f:
      return registry.EXPERIMENTS[experiment].results_table(json.load(f))
  except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
    raise UserError(f"{path} is not a results.json of {experiment} ({type(e).__name__}: {e}); "
                    "rerun that run, or remove its workdir") from None


def collect(experiment: str, points: dict[str, dict[str, str]], workdirs: dict[str, str],
            done: set[str] | None = None) -> str:
  """One Markdown table: the grid's axes, then the numbers of every finished run's results.json
  (`done`: the runs finished with their own config; None: every results.json there)."""
  header, rows, axes = None, [], []
  for name, point in points.items():
    path = os.path.join(workdirs[name], identity.RESULTS_FILE)
    if not os.path.exists(path) or (done is not None and name not in done):
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

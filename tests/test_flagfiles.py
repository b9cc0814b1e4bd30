"""Every shipped flagfile parses into its experiment's config and passes that experiment's checks.

A flagfile is what a user runs first; a renamed config field or a bad value in one should fail
here, not an hour into someone's run. Its header is at most three comment lines: the command, the
time the committed reports measured (read from their REPORT.json, never typed) and what to expect,
in words, with where to read the numbers.
"""

import glob
import importlib
import json
import os
import re

import jax
import pytest

from genjax import cli, registry
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "experiments", "flags", "*.flags")))
REPORTS = sorted(glob.glob(os.path.join(ROOT, "reports", "*", "REPORT.json")))
# Numbers belong to the generated reports; a flagfile names no CPU model and no accelerator.
MACHINE_NAMES = re.compile(
    r"\b(AMD|EPYC|Intel|Xeon|Zen ?\d*|Ryzen|Threadripper|Graviton|family \d+|"
    r"[AHV]100|H200|B200|L4|T4|TPU ?v\d+\w*)\b", re.IGNORECASE)
# A measured number in the words of a header: a decimal, or a duration.
MEASURED = re.compile(r"\d\.\d|\b\d[\d,]*\s*(s|ms|min|h|hours?|minutes?|%)(?!\w)")


def _experiment(path: str) -> str:
  return os.path.basename(path).split("_")[0]


def header_of(path: str) -> str:
  """The first line a flagfile must have: the command that runs it, from the repository root."""
  name = _experiment(path)
  script = ("experiments/report.py" if name == "report"
            else os.path.relpath(registry.EXPERIMENTS[name].script_path, ROOT))
  return f"# python {script} --flagfile={os.path.relpath(path, ROOT)}"


def _machine(environment: dict) -> str:
  if environment["backend"] == "cpu":
    return f"{environment['cpu_count']} CPU cores"
  return f"{environment['devices']} {environment['backend'].upper()} device(s)"


def time_line(path: str) -> str:
  """The second line of a flagfile's header: its wall time in each committed report that ran it.

  A report flagfile (report_NAME.flags) is timed by reports/NAME's whole wall time (one that reused
  runs: their own times replayed on its schedule, `runs_wall_seconds`); any other by
  the runs of the committed reports that name it. None: `# Time: not in a committed report`.
  """
  flagfile = os.path.relpath(path, ROOT)
  times = []  # (report folder, seconds, machine)
  for report in REPORTS:
    folder = os.path.relpath(os.path.dirname(report), ROOT)
    with open(report) as f:
      data = json.load(f)
    environment = data["environment"]
    if os.path.basename(path) == f"report_{os.path.basename(folder)}.flags":
      # A report that reused runs: their own times replayed on its schedule (report.py).
      replayed = "runs_wall_seconds" in environment
      times.append((folder, environment["runs_wall_seconds" if replayed else "wall_seconds"],
                    f"{_machine(environment)}, {environment['jobs']} runs at a time"
                    + (", its runs' own times replayed" if replayed else "")))
      continue
    seconds = [run["wall_seconds"] for run in data["runs"] if run["flagfile"] == flagfile]
    if seconds:  # None: a run resumed after an earlier attempt, its own time unknown
      times.append((folder, None if None in seconds else sum(seconds), _machine(environment)))
  if not times:
    return "# Time: not in a committed report"

  def took(seconds, folder):
    return f"{seconds:.0f} s in {folder}" if seconds is not None else f"? s in {folder} (resumed)"

  if len({machine for *_, machine in times}) == 1:
    return ("# Time: " + ", ".join(took(seconds, folder) for folder, seconds, _ in times)
            + f" ({times[0][2]})")
  return "# Time: " + ", ".join(f"{took(seconds, folder)} ({machine})"
                                for folder, seconds, machine in times)


def reports_that_ran(path: str) -> list[str]:
  """The committed reports (reports/NAME) whose runs name this flagfile."""
  flagfile = os.path.relpath(path, ROOT)
  found = []
  for report in REPORTS:
    with open(report) as f:
      runs = json.load(f)["runs"]
    if any(run["flagfile"] == flagfile for run in runs):
      found.append(os.path.relpath(os.path.dirname(report), ROOT))
  return found


def header_lines(path: str) -> list[str]:
  """The comment lines a flagfile opens with."""
  lines = []
  with open(path) as f:
    for line in f:
      if not line.startswith("#"):
        break
      lines.append(line.rstrip("\n"))
  return lines


def check_flagfile(path: str) -> None:
  """A flagfile's header is its command, and it parses into a config its experiment accepts."""
  with open(path) as f:
    first_line = f.readline().strip()
  assert first_line == header_of(path), first_line
  experiment = _experiment(path)
  config, workdir = cli.config_from_flagfile(experiment, path)
  validate = importlib.import_module(registry.EXPERIMENTS[experiment].train).validate
  assert workdir, f"{path} sets no --workdir"
  if config.get("implementation") == "cudnn" and jax.default_backend() == "cpu":
    with pytest.raises(UserError, match="needs a GPU"):  # refused up front, in one line
      validate(config)
    config.implementation = ""  # XLA; the rest of the GPU flagfile must still be valid
  if "pallas_flash" in config.get("variants", ()) and jax.default_backend() == "cpu":
    with pytest.raises(UserError, match="pallas_flash .* needs a GPU"):
      validate(config)
    config.variants = tuple(v for v in config.variants if v != "pallas_flash")
  validate(config)


def check_report_runs(runs: str) -> None:
  """Each name:flagfile[|flagfile] of a report's --runs names an experiment and its flagfiles."""
  for run in runs.strip().split(","):
    experiment, flagfiles = run.split(":")
    assert experiment in registry.EXPERIMENTS, run
    for flagfile in flagfiles.split("|"):  # long|quick alternatives
      assert os.path.basename(flagfile).startswith(experiment + "_"), run
      assert os.path.isfile(os.path.join(ROOT, flagfile)), run


@pytest.fixture(autouse=True)
def _from_the_repository_root(monkeypatch):
  monkeypatch.chdir(ROOT)  # a flagfile includes its base by a path from the root, as README runs


def _flag_lines(path: str) -> list[str]:
  with open(path) as f:
    return [line.strip() for line in f if line.startswith("--")]


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_a_variant_includes_its_base_and_states_only_what_differs(path):
  lines = _flag_lines(path)
  includes = [line.split("=", 1)[1] for line in lines if line.startswith("--flagfile=")]
  assert len(includes) <= 1, path
  for base in includes:
    assert lines[0] == f"--flagfile={base}", "the base comes first, so the variant overrides it"
    assert os.path.isfile(os.path.join(ROOT, base)), base
    assert _experiment(base) == _experiment(path), base
    config, _ = cli.config_from_flagfile(_experiment(path), base)
    for line in lines[1:]:
      if line.startswith("--config."):
        field, value = line[len("--config."):].split("=", 1)
        config_field = config
        for part in field.split("."):
          config_field = config_field[part]
        assert str(config_field) != value, f"{path} repeats its base's {line}"


def test_every_flagfile_belongs_to_an_experiment():
  assert len(FLAGFILES) >= 20
  for path in FLAGFILES:
    assert _experiment(path) in (*registry.EXPERIMENTS, "report"), path


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_header_is_the_command_that_runs_it(path):
  with open(path) as f:
    assert f.readline().strip() == header_of(path)


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_header_is_command_time_and_what_to_expect(path):
  """At most three comment lines: the command, the time the committed reports give, the words."""
  header = header_lines(path)
  assert 2 <= len(header) <= 3, f"{path}: {len(header)} header lines"
  assert header[0] == header_of(path)
  assert header[1] == time_line(path), "the time comes from the committed REPORT.json"
  if len(header) == 3:
    expect = header[2]
    assert expect.startswith("# Expect: "), expect
    assert not MEASURED.search(expect), f"a typed measurement: {MEASURED.search(expect)[0]!r}"
    assert "REPORT.md" in expect or "BUILD_NOTES.md" in expect, "it points at the numbers"
    for report in reports_that_ran(path):
      assert f"{report}/REPORT.md" in expect, f"{path} is in {report}: point there"


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_flagfile_names_no_machine(path):
  with open(path) as f:
    for number, line in enumerate(f, 1):
      found = MACHINE_NAMES.search(line)
      assert not found, f"{path}:{number} names a machine: {found[0]!r}"


def test_a_time_line_follows_the_report():
  for report in REPORTS:
    folder = os.path.relpath(os.path.dirname(report), ROOT)
    with open(report) as f:
      runs = json.load(f)["runs"]
    timed = next(run for run in runs if run["wall_seconds"] is not None)
    line = time_line(os.path.join(ROOT, timed["flagfile"]))
    assert f"{timed['wall_seconds']:.0f} s in {folder}" in line
    for run in runs:
      if run["wall_seconds"] is None and not run["reused"]:  # resumed: its own time unknown
        assert f"? s in {folder} (resumed)" in time_line(os.path.join(ROOT, run["flagfile"]))
  assert time_line(os.path.join(ROOT, "experiments", "flags", "no_such.flags")) == (
      "# Time: not in a committed report")


@pytest.mark.parametrize(
    "path", [p for p in FLAGFILES if _experiment(p) != "report"], ids=os.path.basename)
def test_flagfile_gives_a_valid_config(path):
  check_flagfile(path)


@pytest.mark.parametrize(
    "path", [p for p in FLAGFILES if _experiment(p) == "report"], ids=os.path.basename)
def test_report_flagfile_names_existing_runs(path):
  with open(path) as f:
    runs = [line.split("=", 1)[1] for line in f if line.startswith("--runs=")]
  assert len(runs) == 1, path
  check_report_runs(runs[0])

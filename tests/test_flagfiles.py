"""Every shipped flagfile parses into its experiment's config and passes that experiment's checks.

A flagfile is what a user runs first; a renamed config field or a bad value in one should fail
here, not an hour into someone's run.
"""

import glob
import importlib
import os

import jax
import pytest

from genjax import cli, registry
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "experiments", "flags", "*.flags")))


def _experiment(path: str) -> str:
  return os.path.basename(path).split("_")[0]


def header_of(path: str) -> str:
  """The first line a flagfile must have: the command that runs it, from the repository root."""
  name = _experiment(path)
  script = ("experiments/report.py" if name == "report"
            else os.path.relpath(registry.EXPERIMENTS[name].script_path, ROOT))
  return f"# python {script} --flagfile={os.path.relpath(path, ROOT)}"


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

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
# experiment (flagfile prefix) -> module with its validate(config)
VALIDATORS = {name: e.train for name, e in registry.EXPERIMENTS.items()}


def _experiment(path: str) -> str:
  return os.path.basename(path).split("_")[0]


def test_every_flagfile_belongs_to_an_experiment():
  assert len(FLAGFILES) >= 20
  for path in FLAGFILES:
    assert _experiment(path) in (*VALIDATORS, "report"), path


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_header_is_the_command_that_runs_it(path):
  with open(path) as f:
    first_line = f.readline().strip()
  name = os.path.basename(path)
  assert first_line == (f"# python experiments/{_experiment(path)}.py "
                        f"--flagfile=experiments/flags/{name}"), first_line


@pytest.mark.parametrize(
    "path", [p for p in FLAGFILES if _experiment(p) in VALIDATORS], ids=os.path.basename)
def test_flagfile_gives_a_valid_config(path):
  experiment = _experiment(path)
  config, workdir = cli.config_from_flagfile(experiment, path)
  validate = importlib.import_module(VALIDATORS[experiment]).validate
  assert workdir, f"{path} sets no --workdir"
  if config.get("implementation") == "cudnn" and jax.default_backend() == "cpu":
    with pytest.raises(UserError, match="needs a GPU"):  # refused up front, in one line
      validate(config)
    config.implementation = ""  # XLA; the rest of the GPU flagfile must still be valid
  validate(config)


@pytest.mark.parametrize(
    "path", [p for p in FLAGFILES if _experiment(p) == "report"], ids=os.path.basename)
def test_report_flagfile_names_existing_runs(path):
  with open(path) as f:
    runs = [line.split("=", 1)[1] for line in f if line.startswith("--runs=")]
  assert len(runs) == 1, path
  for run in runs[0].strip().split(","):
    experiment, flagfiles = run.split(":")
    assert experiment in VALIDATORS, run
    for flagfile in flagfiles.split("|"):  # long|quick alternatives
      assert os.path.basename(flagfile).startswith(experiment + "_"), run
      assert os.path.isfile(os.path.join(ROOT, flagfile)), run

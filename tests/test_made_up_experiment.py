"""Adding an experiment touches only its own files and one registry entry: a made-up experiment
(tests/made_up_experiment.py, registered from the tests alone) runs through the flagfile checks,
the claims report and the grid, with no other file of the project edited."""

import importlib
import json
import os
import subprocess
import sys

import pytest
import test_flagfiles

from genjax import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
# The report and the grid start other processes: the made-up experiment joins each of them
# through the registry's GENJAX_EXPERIMENTS.
ENV = {**os.environ, "JAX_PLATFORMS": "cpu", registry.PLUGINS: "made_up_experiment",
       "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}


@pytest.fixture
def made_up_experiment(monkeypatch):
  """The made-up experiment, registered in this process for one test only (the registry is a
  copy, restored afterwards), so no other test sees a sixth experiment."""
  monkeypatch.setattr(registry, "EXPERIMENTS", dict(registry.EXPERIMENTS))
  module = importlib.import_module("made_up_experiment")
  registry.register(module.EXPERIMENT)  # again, if an earlier test imported the module
  return module


def _flagfile(tmp_path, bias: float) -> str:
  path = str(tmp_path / "coinflip_quick.flags")
  with open(path, "w") as f:
    f.write(test_flagfiles.header_of(path) + "\n")
    f.write(f"--workdir={tmp_path / 'coinflip'}\n--config.bias={bias}\n--config.draws=200\n")
  return path


def _script(name, *args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", name), *args],
                        capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)


def test_the_made_up_experiment_passes_the_flagfile_checks(tmp_path, made_up_experiment):
  assert registry.EXPERIMENTS[made_up_experiment.NAME] is made_up_experiment.EXPERIMENT
  flagfile = _flagfile(tmp_path, 0.7)
  test_flagfiles.check_flagfile(flagfile)
  test_flagfiles.check_report_runs(f"{made_up_experiment.NAME}:{flagfile}")


def test_the_report_runs_judges_and_reuses_the_made_up_experiment(tmp_path, made_up_experiment):
  flagfile = _flagfile(tmp_path, 0.7)
  args = [f"--runs={made_up_experiment.NAME}:{flagfile}", f"--workdir={tmp_path / 'report'}"]
  first = _script("report.py", *args)
  assert first.returncode == 0, first.stderr[-3000:]
  # It says what it will do, reports progress, and ends with the wall time against its plan.
  out = first.stdout.splitlines()
  assert out[0].startswith("plan: 1 runs, 0 reused, ")
  assert out[1] == "  coinflip_quick: runs; no estimate"
  assert any(line.startswith("coinflip_quick: ran in ") and "elapsed" in line for line in out)
  assert any(line.startswith("wall time ") and "against an estimate" in line for line in out)
  written = json.loads((tmp_path / "report" / "REPORT.json").read_text())
  [run] = written["runs"]
  assert (run["name"], run["reused"]) == ("coinflip_quick", False)
  [claim] = written["claims"]
  assert claim["statement"] == made_up_experiment.CLAIMS[0].statement
  assert claim["verdict"] == "supported", claim  # a 0.7 coin, 3 seeds of 200 flips
  # Run again: the finished run of the same config is reused, not trained again.
  again = _script("report.py", *args)
  assert again.returncode == 0, again.stderr[-3000:]
  assert again.stdout.startswith("plan: 1 runs, 1 reused, ")
  rewritten = json.loads((tmp_path / "report" / "REPORT.json").read_text())
  assert rewritten["runs"][0]["reused"]
  # Its wall leaves the reused run out; the run's own time, replayed, is recorded beside it.
  assert "runs_wall_seconds" not in written["environment"]
  assert rewritten["environment"]["runs_wall_seconds"] == pytest.approx(run["wall_seconds"])
  assert rewritten["environment"]["runs_wall_seconds"] > rewritten["environment"]["wall_seconds"]
  assert "the schedule replays to " in (tmp_path / "report" / "REPORT.md").read_text()
  # A fair coin says the opposite: the rule, not the fixture, decides.
  fair = _script("report.py", f"--runs={made_up_experiment.NAME}:{_flagfile(tmp_path, 0.2)}",
                 f"--workdir={tmp_path / 'report_fair'}")
  assert fair.returncode == 0, fair.stderr[-3000:]
  verdict = json.loads((tmp_path / "report_fair" / "REPORT.json").read_text())["claims"][0]
  assert verdict["verdict"] == "contradicted", verdict


def test_the_grid_runs_tabulates_and_reuses_by_fingerprint(tmp_path, made_up_experiment):
  flagfile = _flagfile(tmp_path, 0.7)
  args = [f"--experiment={made_up_experiment.NAME}", f"--flagfile_base={flagfile}",
          "--grid=config.bias=0.25;0.75", f"--workdir={tmp_path / 'grid'}"]
  done = _script("grid.py", *args)
  assert done.returncode == 0, done.stderr[-3000:]
  lines = (tmp_path / "grid" / "grid.md").read_text().splitlines()
  assert lines[0] == "| bias | bias | share of heads |"
  assert [line.split(" | ")[0] for line in lines[2:]] == ["| 0.25", "| 0.75"]
  log = tmp_path / "grid" / "bias=0.25.log"
  log.write_text("the first run's log\n")
  # The same line again: both points finished with their own config, nothing runs.
  assert _script("grid.py", *args).returncode == 0
  assert log.read_text() == "the first run's log\n"
  # A changed base flagfile: the old runs are stale, so both run again (the old ones moved aside).
  with open(flagfile, "a") as f:
    f.write("--config.draws=100\n")
  again = _script("grid.py", *args)
  assert again.returncode == 0, again.stderr[-3000:]
  assert log.read_text() != "the first run's log\n"
  assert (tmp_path / "grid" / "bias=0.25.old-1" / "results.json").exists()


def test_an_unimportable_experiment_module_is_one_error_line():
  done = subprocess.run([sys.executable, "-c", "import genjax.registry"], capture_output=True,
                        text=True, env={**ENV, registry.PLUGINS: "no_such_module_here"})
  assert done.returncode == 2
  assert done.stderr.strip().splitlines() == [
      "error: GENJAX_EXPERIMENTS names 'no_such_module_here', which cannot be imported (No "
      "module named 'no_such_module_here')"]

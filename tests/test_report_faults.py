"""Issue 66: the claims report against files cut short or of another shape in a run's workdir,
an empty or repeated --runs, and a malformed GENJAX_SLURM_POLL. Each ends in one `error:` line
with exit status 2, or in the right thing (the run runs again, a record is rebuilt): never a
traceback, never a quietly wrong result. The runs are the made-up coin-flip experiment
(tests/made_up_experiment.py), seconds long."""

import importlib
import json
import os
import socket
import subprocess
import sys

import pytest

from genjax import cli, identity, registry
from genjax.configs import domain as domain_config
from genjax.errors import UserError
from genjax.report import machine
from genjax.report import plan as run_plan
from genjax.report import runs as report_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
# The report's runs are other processes: the made-up experiment joins them by GENJAX_EXPERIMENTS.
ENV = {**{k: v for k, v in os.environ.items() if k != "GENJAX_SLURM_POLL"},
       "JAX_PLATFORMS": "cpu", registry.PLUGINS: "made_up_experiment",
       "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}
NAME = "coinflip_quick"  # the run a flagfile coinflip_quick.flags gives
GOOD = {"num_seeds": 3, "bias": 0.7, "heads": {"mean": 0.7, "sd": 0.01, "se": 0.006,
                                                "seeds": [0.69, 0.7, 0.71]}}
# results.json as a kill mid-write by an older version, a hand edit or another program left it.
CUT_SHORT = json.dumps(GOOD)[:40]
UNUSABLE = {
    "cut short": CUT_SHORT,
    "a list": "[]",
    "a string": '"done"',
    "a dict lacking what the claim reads": json.dumps({"num_seeds": 3, "bias": 0.7}),
    "a dict of another shape": json.dumps({**GOOD, "heads": 0.7}),
}


@pytest.fixture
def coinflip(monkeypatch):
  """The made-up experiment, registered in this process for one test (the registry is a copy)."""
  monkeypatch.setattr(registry, "EXPERIMENTS", dict(registry.EXPERIMENTS))
  module = importlib.import_module("made_up_experiment")
  registry.register(module.EXPERIMENT)
  return module


def _flagfile(tmp_path) -> str:
  path = tmp_path / f"{NAME}.flags"
  path.write_text("--config.bias=0.7\n--config.draws=200\n")
  return str(path)


def _finished_run(tmp_path, coinflip) -> report_runs.Run:
  """A run the report would reuse: trained here, in its workdir under tmp_path/report."""
  flagfile = _flagfile(tmp_path)
  config = cli.config_from_flagfile("coinflip", flagfile)[0]
  workdir = str(tmp_path / "report" / NAME)
  coinflip.train_and_evaluate(config, workdir)
  return report_runs.Run(NAME, ["false"], workdir, coinflip.CLAIMS, flagfile=flagfile,
                         config=config, experiment="coinflip")


def _report(tmp_path, *args, env=None):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "report.py"),
                         f"--runs=coinflip:{_flagfile(tmp_path)}",
                         f"--workdir={tmp_path / 'report'}", *args], capture_output=True,
                        text=True, cwd=ROOT, env=env or ENV, timeout=300)


def _one_error_line(done) -> str:
  assert done.returncode == 2, done.stderr[-3000:]
  assert "Traceback" not in done.stderr
  [line] = done.stderr.strip().splitlines()
  assert line.startswith("error: ")
  return line


# ---- results.json cut short or of another shape: not finished, so it runs again ----

@pytest.mark.parametrize("content", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_unusable_results_json_is_not_a_finished_run(tmp_path, coinflip, content):
  run = _finished_run(tmp_path, coinflip)
  assert report_runs.finished(run) and report_runs.not_reused_because(run) is None
  with open(os.path.join(run.workdir, "results.json"), "w") as f:
    f.write(content)
  assert not report_runs.finished(run)
  assert run.workdir in report_runs.not_reused_because(run)
  assert report_runs.first_finished([run]) is run  # the last alternative: the one to run


@pytest.mark.parametrize("content", [CUT_SHORT, "[]", UNUSABLE["a dict of another shape"]],
                         ids=["cut short", "a list", "a dict of another shape"])
def test_the_report_runs_again_a_run_whose_results_json_is_unusable(tmp_path, coinflip, content):
  run = _finished_run(tmp_path, coinflip)
  with open(os.path.join(run.workdir, "results.json"), "w") as f:
    f.write(content)
  done = _report(tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  out = done.stdout.splitlines()
  assert out[0].startswith("plan: 1 runs, 0 reused, ")
  assert out[1].startswith(f"  {NAME}: runs (again: {run.workdir}/results.json ")
  # The workdir held this config, so this attempt follows an earlier one: its time is not the run's.
  assert any(line.startswith(f"{NAME}: resumed, ran ") for line in out)
  written = json.loads((tmp_path / "report" / "REPORT.json").read_text())
  assert [(r["name"], r["reused"], r["resumed"]) for r in written["runs"]] == [(NAME, False, True)]
  assert written["claims"][0]["verdict"] == "supported"  # a 0.7 coin, judged on its new results
  assert json.loads(open(os.path.join(run.workdir, "results.json")).read())["bias"] == 0.7


def test_a_resumed_run_has_no_time_of_its_own_and_the_report_no_whole_wall(tmp_path, coinflip):
  """An attempt that stopped leaves its config in the workdir and no results.json: the report
  resumes the run and times only what it ran, so the run's time and the replayed wall are unknown,
  and a later report that reuses it says so instead of showing the last attempt's time."""
  run = _finished_run(tmp_path, coinflip)
  os.remove(os.path.join(run.workdir, "results.json"))
  done = _report(tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  assert any(line.startswith(f"{NAME}: resumed, ran ") and "own time is unknown" in line
             for line in done.stdout.splitlines())
  written = json.loads((tmp_path / "report" / "REPORT.json").read_text())
  [entry] = written["runs"]
  assert (entry["resumed"], entry["reused"], entry["wall_seconds"]) == (True, False, None)
  assert written["environment"]["runs_wall_seconds"] is None
  markdown = (tmp_path / "report" / "REPORT.md").read_text()
  assert "no wall time is known for the whole report" in markdown
  assert f"- {NAME}: resumed: " in markdown
  times = json.loads(open(os.path.join(run.workdir, report_runs.TIMES_FILE)).read())
  assert times == {NAME: None}
  again = _report(tmp_path)
  assert again.returncode == 0, again.stderr[-3000:]
  [entry] = json.loads((tmp_path / "report" / "REPORT.json").read_text())["runs"]
  assert (entry["resumed"], entry["reused"], entry["wall_seconds"]) == (False, True, None)
  assert f"- {NAME}: reused from an earlier run" in (tmp_path / "report" / "REPORT.md").read_text()


def test_a_run_that_ends_without_a_results_object_is_one_error_line(tmp_path, coinflip,
                                                                    monkeypatch):
  run = _finished_run(tmp_path, coinflip)
  run.command = [sys.executable, "-c", "open('results.json', 'w').write('[1, 2')"]
  monkeypatch.chdir(run.workdir)
  with pytest.raises(report_runs.RunFailed, match=f"run {NAME} ended, but .* is unreadable") as e:
    report_runs.execute(run, rerun=True)
  assert "\n" not in str(e.value)


# ---- the report's own records, and the workdir's identity, cut short ----

@pytest.mark.parametrize("times, machines", [
    (CUT_SHORT, CUT_SHORT), ("[]", "[]"), (json.dumps({NAME: "soon"}), json.dumps({NAME: 5}))],
    ids=["cut short", "a list", "values of another type"])
def test_its_own_records_cut_short_are_ignored_then_rewritten(tmp_path, coinflip, times,
                                                              machines):
  run = _finished_run(tmp_path, coinflip)
  for name, content in ((report_runs.TIMES_FILE, times), (report_runs.MACHINES_FILE, machines),
                        (report_runs.NODES_FILE, machines)):
    with open(os.path.join(run.workdir, name), "w") as f:
      f.write(content)
  assert run_plan.expected_seconds(run, {}) == (None, "")
  report_runs.execute(run, rerun=False)  # reused: its time, machine and node are unknown
  assert (run.recorded_seconds, run.machine, run.node) == (None, None, None)
  assert run.results["bias"] == 0.7
  report_runs.record_where_it_ran(run.workdir, run.name, 3.0)

  def read(name):
    return json.loads(open(os.path.join(run.workdir, name)).read())
  assert read(report_runs.TIMES_FILE) == {NAME: 3.0}
  assert read(report_runs.MACHINES_FILE) == {NAME: machine.machine_line()}
  assert read(report_runs.NODES_FILE) == {NAME: socket.gethostname()}


def test_the_report_reuses_a_run_whose_records_are_cut_short(tmp_path, coinflip):
  run = _finished_run(tmp_path, coinflip)
  for name in (report_runs.TIMES_FILE, report_runs.MACHINES_FILE):
    with open(os.path.join(run.workdir, name), "w") as f:
      f.write('{"coinflip_qu')
  done = _report(tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  assert done.stdout.startswith("plan: 1 runs, 1 reused, ")
  assert f"- {NAME}: reused from an earlier run" in (tmp_path / "report" / "REPORT.md").read_text()


@pytest.mark.parametrize("name", [identity.IDENTITY_FILE, "config.json"])
@pytest.mark.parametrize("content", ['{"fingerprint": {"bi', "[1]"], ids=["cut short", "a list"])
def test_an_unreadable_identity_is_not_finished_and_restart_moves_it_aside(tmp_path, coinflip,
                                                                         name, content):
  run = _finished_run(tmp_path, coinflip)
  if name == "config.json":  # a workdir from before identity.json: its config.json is read
    os.remove(os.path.join(run.workdir, identity.IDENTITY_FILE))
  with open(os.path.join(run.workdir, name), "w") as f:
    f.write(content)
  experiment = registry.EXPERIMENTS["coinflip"]
  assert not identity.matches(run.workdir, run.config, experiment)
  assert not report_runs.finished(run)
  with pytest.raises(UserError) as e:
    identity.check_workdir(run.workdir, run.config, experiment)
  assert "\n" not in str(e.value) and os.path.join(run.workdir, name) in str(e.value)
  assert "--restart" in str(e.value)
  identity.check_workdir(run.workdir, run.config, experiment, restart=True)  # what a rerun does
  assert os.path.exists(os.path.join(run.workdir + ".old-1", name))
  assert identity.matches(run.workdir, run.config, experiment)


def test_the_report_runs_again_a_run_whose_identity_is_cut_short(tmp_path, coinflip):
  run = _finished_run(tmp_path, coinflip)
  with open(os.path.join(run.workdir, identity.IDENTITY_FILE), "w") as f:
    f.write('{"fingerprint": {"bi')
  done = _report(tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  assert done.stdout.startswith("plan: 1 runs, 0 reused, ")
  assert os.path.exists(run.workdir + ".old-1")  # moved aside, never deleted
  assert report_runs.finished(run)


def _domain(study):
  config = domain_config.get_config("quick")
  config.study = study
  return config


@pytest.mark.parametrize("content", [CUT_SHORT, json.dumps({"studies": []}), "{}"],
                         ids=["cut short", "studies a list", "no studies"])
def test_a_shared_results_json_of_another_shape(tmp_path, content):
  domain = registry.EXPERIMENTS["domain"]
  identity.check_workdir(tmp_path, _domain("diversity"), domain)
  (tmp_path / "results.json").write_text(content)
  assert not identity.finished(tmp_path, _domain("diversity"), domain)
  # The study would add its entry to it at its end, and fail there, after training: stop now.
  with pytest.raises(UserError, match="results.json .*--restart to move it aside") as e:
    identity.check_workdir(tmp_path, _domain("diversity"), domain)
  assert "\n" not in str(e.value)
  identity.check_workdir(tmp_path, _domain("diversity"), domain, restart=True)
  assert (tmp_path / "results.json.old-1").read_text() == content
  assert not (tmp_path / "results.json").exists()


# ---- --runs that names no run, or one run twice ----

@pytest.mark.parametrize("runs", ["--runs=", "--runs=,", "--runs= , "])
def test_an_empty_runs_is_one_error_line(tmp_path, runs):
  done = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "report.py"), runs,
                         f"--workdir={tmp_path / 'report'}"], capture_output=True, text=True,
                        cwd=ROOT, env=ENV, timeout=300)
  line = _one_error_line(done)
  assert line.startswith("error: --runs is empty: give NAME:FLAGFILE entries")
  assert not (tmp_path / "report").exists()  # no empty REPORT.md


def test_a_run_given_twice_is_one_error_line(tmp_path):
  flagfile = _flagfile(tmp_path)
  done = _report(tmp_path, f"--runs=coinflip:{flagfile},coinflip:{flagfile}")
  assert _one_error_line(done) == (
      f"error: --runs entries 'coinflip:{flagfile}' and 'coinflip:{flagfile}' both run {NAME} "
      "(runs are named by their flagfile's name): give each run once")


# ---- GENJAX_SLURM_POLL: read only by --launcher=slurm ----

@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan"])
def test_a_malformed_slurm_poll_is_one_error_line_and_no_matter_locally(tmp_path, value):
  env = {**ENV, "GENJAX_SLURM_POLL": value}
  if value == "abc":  # a local run does not read it
    local = _report(tmp_path, "--plan_only", env=env)
    assert local.returncode == 0, local.stderr[-3000:]
  done = _report(tmp_path, "--launcher=slurm", env=env)
  assert _one_error_line(done) == (
      f"error: GENJAX_SLURM_POLL={value!r} must be a number of seconds above 0 (how often "
      "squeue is asked about the jobs); unset it for 5")

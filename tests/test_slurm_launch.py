"""--launcher=slurm on a real one-node SLURM started by the tests (tests/slurm_cluster.py): the
report and the grid give what the local launcher gives, a cancelled job is one error line, a
rerun reuses finished runs and attaches to queued jobs, a requeued job resumes and finishes, runs
of one workdir go in turn and a timed run gets its node alone. Without SLURM (or root) the
cluster tests skip with the reason; the bad-input tests need no cluster."""

import json
import os
import subprocess
import sys
import time

import pytest
import slurm_cluster

from genjax import launch, registry
from genjax.report import runs as report_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.dirname(os.path.abspath(__file__))
NAME = "coinflip"  # tests/made_up_experiment.py, never imported here: it would register itself
# The made-up experiment (seconds long) joins every process through GENJAX_EXPERIMENTS.
PLUGIN = {"JAX_PLATFORMS": "cpu", registry.PLUGINS: "made_up_experiment", "GENJAX_SLURM_POLL": "1",
          "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="session")
def cluster():
  try:
    started = slurm_cluster.start()
  except slurm_cluster.Unavailable as e:
    pytest.skip(f"no one-node SLURM on this machine: {e}")
  yield started
  started.stop()


def _flagfile(tmp_path, name: str, bias: float) -> str:
  path = tmp_path / f"{NAME}_{name}.flags"
  path.write_text(f"--config.bias={bias}\n--config.draws=200\n")
  return str(path)


def _script(name, *args, env=None):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", name), *args],
                        capture_output=True, text=True, env={**(env or os.environ), **PLUGIN},
                        cwd=ROOT, timeout=600)


def _start(name, *args, env):
  return subprocess.Popen([sys.executable, os.path.join(ROOT, "experiments", name), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**env, **PLUGIN}, cwd=ROOT)


def _until(condition, seconds=120):
  deadline = time.monotonic() + seconds
  while not condition():
    assert time.monotonic() < deadline, "timed out"
    time.sleep(0.5)


def _claims(path):  # verdicts and numbers, without where the runs' workdirs were
  claims = json.loads(path.read_text())["claims"]
  for claim in claims:
    for run in claim["runs"]:
      del run["workdir"]
  return claims


@pytest.mark.slow
def test_the_report_on_slurm_equals_the_local_one_and_a_rerun_reuses_its_runs(cluster, tmp_path):
  runs = (f"--runs={NAME}:{_flagfile(tmp_path, 'quick', 0.7)},"
          f"{NAME}:{_flagfile(tmp_path, 'fair', 0.5)}")
  local = _script("report.py", runs, f"--workdir={tmp_path / 'local'}")
  assert local.returncode == 0, local.stderr[-3000:]
  args = [runs, f"--workdir={tmp_path / 'slurm'}", "--launcher=slurm"]
  on_slurm = _script("report.py", *args, env=cluster.env)
  assert on_slurm.returncode == 0, on_slurm.stderr[-3000:]
  assert on_slurm.stdout.count("submitted as SLURM job") == 2, on_slurm.stdout
  assert _claims(tmp_path / "slurm" / "REPORT.json") == _claims(tmp_path / "local" / "REPORT.json")
  ran = {name for _, name, state in cluster.jobs() if state == "COMPLETED"}
  assert {"coinflip_quick", "coinflip_fair"} <= ran
  jobs_before = len(cluster.jobs())
  again = _script("report.py", *args, env=cluster.env)
  assert again.returncode == 0, again.stderr[-3000:]
  assert "submitted" not in again.stdout, again.stdout
  assert again.stdout.count("reused (finished with this config in its workdir)") == 2
  assert len(cluster.jobs()) == jobs_before
  assert all(run["reused"] for run in json.loads(
      (tmp_path / "slurm" / "REPORT.json").read_text())["runs"])


@pytest.mark.slow
def test_a_run_resumed_on_slurm_has_no_time_of_its_own(cluster, tmp_path):
  # As on the local path (tests/test_report_faults.py): an attempt that stopped leaves its config
  # and no results.json; the job that finishes the run records no time of its own.
  runs = f"--runs={NAME}:{_flagfile(tmp_path, 'quick', 0.7)}"
  args = [runs, f"--workdir={tmp_path / 'slurm'}", "--launcher=slurm"]
  first = _script("report.py", *args, env=cluster.env)
  assert first.returncode == 0, first.stderr[-3000:]
  workdir = tmp_path / "slurm" / f"{NAME}_quick"
  times = json.loads((workdir / report_runs.TIMES_FILE).read_text())
  assert times[f"{NAME}_quick"] > 0  # the whole run: timed
  os.remove(workdir / "results.json")
  again = _script("report.py", *args, env=cluster.env)
  assert again.returncode == 0, again.stderr[-3000:]
  assert again.stdout.count("submitted as SLURM job") == 1, again.stdout
  [entry] = json.loads((tmp_path / "slurm" / "REPORT.json").read_text())["runs"]
  assert (entry["resumed"], entry["reused"], entry["wall_seconds"]) == (True, False, None)
  assert json.loads((workdir / report_runs.TIMES_FILE).read_text()) == {f"{NAME}_quick": None}


@pytest.mark.slow
def test_a_detached_report_completes_after_its_driver_exits_and_names_the_nodes(cluster,
                                                                                 tmp_path):
  runs = (f"--runs={NAME}:{_flagfile(tmp_path, 'quick', 0.7)},"
          f"{NAME}:{_flagfile(tmp_path, 'fair', 0.5)}")
  local = _script("report.py", runs, f"--workdir={tmp_path / 'local'}")
  assert local.returncode == 0, local.stderr[-3000:]
  workdir = tmp_path / "slurm"
  # The runs may start 5 s after submission: the driver has exited before any of them runs.
  detached = _script("report.py", runs, f"--workdir={workdir}", "--launcher=slurm",
                     "--slurm_detach", "--slurm_additional=begin=now+5", env=cluster.env)
  assert detached.returncode == 0, detached.stderr[-3000:]
  assert detached.stdout.count("submitted as SLURM job") == 3, detached.stdout  # 2 runs, judge
  assert "this process can go" in detached.stdout and not (workdir / "REPORT.json").exists()
  _until(lambda: (workdir / "REPORT.json").exists(), 300)
  assert _claims(workdir / "REPORT.json") == _claims(tmp_path / "local" / "REPORT.json")
  report = json.loads((workdir / "REPORT.json").read_text())
  nodes = {run["node"] for run in report["runs"]}
  assert report["environment"]["nodes"] == sorted(nodes) and None not in nodes
  assert all(run["machine"] and run["wall_seconds"] > 0 for run in report["runs"])
  record = json.loads((workdir / launch.RECORD).read_text())
  judge = (workdir / "slurm" / f"{record['judge_report']['job_id']}_submission.sh").read_text()
  for name in ("coinflip_quick", "coinflip_fair"):
    assert record[name]["job_id"] in judge.split("--dependency=afterok:")[1].splitlines()[0]


@pytest.mark.slow
def test_a_two_point_grid_on_slurm_equals_the_local_grid(cluster, tmp_path):
  args = [f"--experiment={NAME}",
          f"--flagfile_base={_flagfile(tmp_path, 'quick', 0.7)}", "--grid=config.bias=0.25;0.75"]
  local = _script("grid.py", *args, f"--workdir={tmp_path / 'local'}")
  assert local.returncode == 0, local.stderr[-3000:]
  on_slurm = _script("grid.py", *args, f"--workdir={tmp_path / 'slurm'}", "--launcher=slurm",
                     env=cluster.env)
  assert on_slurm.returncode == 0, on_slurm.stderr[-3000:]
  table = (tmp_path / "slurm" / "grid.md").read_text()
  assert table == (tmp_path / "local" / "grid.md").read_text()
  assert len(table.splitlines()) == 4
  assert (tmp_path / "slurm" / "bias=0.25.log").exists()  # each run's output, as locally


@pytest.mark.slow
def test_a_cancelled_job_is_one_error_line_with_its_id_and_log(cluster, tmp_path):
  workdir = tmp_path / "report"
  started = _start("report.py", f"--runs=coinflip:{_flagfile(tmp_path, 'quick', 0.7)}",
                   f"--workdir={workdir}", "--launcher=slurm",
                   "--slurm_additional=begin=now+600", env=cluster.env)  # stays queued
  _until(lambda: (workdir / launch.RECORD).exists())
  job_id = json.loads((workdir / launch.RECORD).read_text())["coinflip_quick"]["job_id"]
  cluster.run("scancel", job_id)
  out, err = started.communicate(timeout=120)
  assert started.returncode == 1, err
  assert err.strip().splitlines() == [
      f"error: run coinflip_quick failed (SLURM job {job_id} ended CANCELLED without a result); "
      f"its log: {workdir / 'slurm' / f'{job_id}_0_log.err'}"]


@pytest.mark.slow
def test_a_rerun_attaches_to_its_job_still_queued_instead_of_submitting_again(cluster, tmp_path):
  workdir = tmp_path / "report"
  args = [f"--runs=coinflip:{_flagfile(tmp_path, 'quick', 0.7)}", f"--workdir={workdir}",
          "--launcher=slurm"]
  # The job may start 30 s after submission: long enough that it is still queued when the rerun
  # asks, even on a loaded machine (at now+8 a load of 7 on 2 cores let it start first).
  first = _start("report.py", *args, "--slurm_additional=begin=now+30", env=cluster.env)
  _until(lambda: (workdir / launch.RECORD).exists())
  first.kill()  # the report goes away; its job stays queued
  first.communicate()
  job_id = json.loads((workdir / launch.RECORD).read_text())["coinflip_quick"]["job_id"]
  again = _script("report.py", *args, env=cluster.env)
  assert again.returncode == 0, again.stderr[-3000:]
  assert f"coinflip_quick: attached to SLURM job {job_id} (PENDING)" in again.stdout
  assert "submitted" not in again.stdout
  assert [j for j in cluster.jobs() if j[1] == "coinflip_quick" and j[0] == job_id]


@pytest.mark.slow
def test_a_requeued_job_resumes_from_its_checkpoint_and_finishes(cluster, tmp_path):
  workdir = tmp_path / "grid"
  steps = ["--extra=--config.num_steps=2000", "--extra=--config.checkpoint_every=100",
           "--extra=--config.log_every=100", "--extra=--config.eval_every=1000"]
  started = _start("grid.py", "--experiment=vae",
                   f"--flagfile_base={ROOT}/notebooks/vae_smoke.flags", *steps,
                   f"--workdir={workdir}", "--launcher=slurm", env=cluster.env)
  log = workdir / "base.log"
  _until(lambda: log.exists() and "step 100/2000" in log.read_text(), 300)
  job_id = json.loads((workdir / launch.RECORD).read_text())["base"]["job_id"]
  cluster.run("scontrol", "requeue", job_id)
  out, err = started.communicate(timeout=600)
  assert started.returncode == 0, err[-3000:]
  text = log.read_text()
  assert "checkpoint saved, exiting" in text and "resumed from step" in text, text[-3000:]
  assert "Restarts=1" in cluster.run("scontrol", "show", "job", job_id)
  assert out.count("submitted as SLURM job") == 1  # requeued, not submitted again
  assert len((workdir / "grid.md").read_text().splitlines()) == 4  # ae and vae_beta1


@pytest.mark.slow
def test_runs_of_one_workdir_go_in_turn_and_a_timed_run_gets_its_node_alone(
    cluster, tmp_path, monkeypatch):
  monkeypatch.setenv("SLURM_CONF", cluster.conf)
  stamp = ("import sys, time; f = open(sys.argv[1], 'a'); f.write(f'{time.time()} start\\n'); "
           "f.flush(); time.sleep(1); f.write(f'{time.time()} end\\n')")

  def task(name, lane, timed=False):
    return launch.Task(name, [sys.executable, "-c", stamp, str(tmp_path / f"{name}.txt")],
                       str(tmp_path / lane), timed)

  lines = []
  slurm = launch.Slurm(str(tmp_path), str(tmp_path / "slurm"), {"time": 5}, lines.append,
                       poll=1)
  tasks = [task("a1", "a"), task("a2", "a"), task("b", "b"), task("t", "t", timed=True)]
  seconds = slurm.run_all(tasks, reuse=lambda t: False)
  assert set(seconds) == {"a1", "a2", "b", "t"} and all(s >= 1 for s in seconds.values())
  times = {t.name: [float(line.split()[0]) for line in
                    (tmp_path / f"{t.name}.txt").read_text().splitlines()] for t in tasks}
  assert times["a2"][0] >= times["a1"][1]  # a2 started after a1 ended
  record = json.loads((tmp_path / launch.RECORD).read_text())
  scripts = {n: (tmp_path / "slurm" / f"{record[n]['job_id']}_submission.sh").read_text()
             for n in record}
  assert "#SBATCH --exclusive" in scripts["t"] and "--exclusive" not in scripts["a1"]
  # a2 waits for a1 in SLURM itself, so the lane keeps its order without this process.
  assert f"#SBATCH --dependency=afterok:{record['a1']['job_id']}" in scripts["a2"]
  assert "#SBATCH --kill-on-invalid-dep=yes" in scripts["a2"]
  assert "--dependency" not in scripts["a1"] + scripts["b"] + scripts["t"]
  assert all("#SBATCH --requeue" in script for script in scripts.values())


@pytest.mark.parametrize("script", ["report.py", "grid.py"])
@pytest.mark.parametrize("args, says", [
    (["--launcher=nope"], "--launcher"),
    (["--launcher=slurm", "--slurm_additional==x"], "--slurm_additional"),
    (["--launcher=slurm", "--slurm_time=0"], "--slurm_time"),
    (["--launcher=slurm"], "no sbatch on PATH"),
])
def test_bad_launcher_input_is_one_error_line(script, args, says, tmp_path):
  env = {**os.environ, "PATH": os.path.dirname(sys.executable)}  # no sbatch on it
  done = _script(script, *args, f"--workdir={tmp_path / 'w'}", env=env)
  assert done.returncode == 2, done.stderr[-2000:]
  lines = done.stderr.strip().splitlines()  # the grid logs its JAX devices first
  [line] = [line for line in lines if line.startswith("error: ")]
  assert line == lines[-1] and says in line, done.stderr


def test_detach_without_slurm_is_one_error_line(tmp_path):
  done = _script("report.py", "--slurm_detach", f"--workdir={tmp_path / 'w'}")
  assert done.returncode == 2, done.stderr[-2000:]
  assert done.stderr.strip().splitlines()[-1] == "error: --slurm_detach needs --launcher=slurm"


def test_a_requeued_job_reports_no_time_of_its_own(tmp_path):
  # SLURM requeues a job by calling checkpoint(): the job run again resumes the run, so what it
  # reports is unknown (None), not the last attempt's seconds. No cluster needed.
  from genjax import slurm_job

  got = []
  command = slurm_job.Command([sys.executable, "-c", "pass"], str(tmp_path), on_success=got.append)
  requeued = command.checkpoint().function
  assert command() > 0 and requeued() > 0
  assert got[0] > 0 and got[1] is None

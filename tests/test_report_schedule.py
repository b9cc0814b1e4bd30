"""The report's schedule: independent runs side by side, a workdir's runs in turn, timed runs
alone, the first failure raised."""

import json
import os
import subprocess
import sys
import threading
import types

import pytest

from genjax.claims import schedule


def _run(name, workdir, timed=False):
  return types.SimpleNamespace(name=name, workdir=workdir, timed=timed)


class Recorder:
  """An execute() that records what ran, in what order, and how many ran at once."""

  def __init__(self, meet=(), fail=()):
    self.lock = threading.Lock()
    self.active, self.order, self.most_at_once, self.alone = set(), [], 0, {}
    self.meet = {name: threading.Event() for name in meet}  # these must run at the same time
    self.fail = set(fail)

  def __call__(self, run):
    with self.lock:
      self.active.add(run.name)
      self.order.append(run.name)
      self.most_at_once = max(self.most_at_once, len(self.active))
      self.alone[run.name] = self.active == {run.name}
    if run.name in self.meet:
      self.meet[run.name].set()
      partners = [e for n, e in self.meet.items() if n != run.name]
      assert all(e.wait(timeout=10) for e in partners), f"{run.name} ran without its partner"
    with self.lock:
      self.active.discard(run.name)
    if run.name in self.fail:
      raise RuntimeError(f"{run.name} failed")


def _execute(runs, recorder, jobs):
  schedule.execute_all(runs, recorder, timed=lambda run: run.timed, jobs=jobs,
                       announce=lambda line: None)


def test_runs_of_different_workdirs_run_side_by_side():
  recorder = Recorder(meet=("gan", "vae"))
  _execute([_run("gan", "w/gan"), _run("vae", "w/vae")], recorder, jobs=2)
  assert recorder.most_at_once == 2 and sorted(recorder.order) == ["gan", "vae"]


def test_one_job_runs_one_at_a_time_in_the_given_order():
  recorder = Recorder()
  _execute([_run("a", "w/a"), _run("b", "w/b"), _run("c", "w/c")], recorder, jobs=1)
  assert recorder.order == ["a", "b", "c"] and recorder.most_at_once == 1


def test_runs_sharing_a_workdir_run_in_turn_in_the_given_order():
  recorder = Recorder()
  studies = [_run(f"domain_{s}", "w/domain") for s in ("diversity", "finetune", "fewshot")]
  _execute(studies, recorder, jobs=4)
  assert recorder.order == ["domain_diversity", "domain_finetune", "domain_fewshot"]
  assert recorder.most_at_once == 1
  assert schedule.lanes([*studies, _run("gan", "w/gan")], lambda r: False)[1] == [
      studies, [_run("gan", "w/gan")]]


def test_a_timed_run_runs_first_and_alone():
  recorder = Recorder()
  runs = [_run("gan", "w/gan"), _run("attention", "w/att", timed=True), _run("vae", "w/vae")]
  _execute(runs, recorder, jobs=2)
  assert recorder.order[0] == "attention" and recorder.alone["attention"]


def test_the_first_failure_is_raised_and_unstarted_lanes_are_skipped():
  recorder = Recorder(fail=("broken",))
  with pytest.raises(RuntimeError, match="broken failed"):
    _execute([_run("broken", "w/b"), _run("next", "w/n")], recorder, jobs=1)
  assert recorder.order == ["broken"]


@pytest.mark.parametrize("backend,cores,jobs", [("cpu", 8, 2), ("cpu", 2, 2), ("cpu", 1, 1),
                                                 ("cpu", None, 1), ("gpu", 8, 1), ("tpu", 96, 1)])
def test_default_jobs_two_on_a_multicore_cpu_one_on_an_accelerator(monkeypatch, backend, cores,
                                                                   jobs):
  monkeypatch.setattr(schedule.jax, "default_backend", lambda: backend)
  monkeypatch.setattr(schedule, "usable_cores", lambda: list(range(cores or 1)))
  assert schedule.default_jobs() == jobs


def test_each_run_is_announced_with_what_its_execution_says_it_did():
  lines = []
  outcome = {"gan": "ran in 40 s", "vae": "reused"}
  schedule.execute_all([_run("gan", "w/gan"), _run("vae", "w/vae")],
                       lambda run: outcome[run.name], timed=lambda run: run.timed, jobs=1,
                       announce=lines.append)
  assert lines == ["starting gan ...", "gan: ran in 40 s", "starting vae ...", "vae: reused"]


@pytest.mark.parametrize("jobs,cores,sets", [
    (2, [0, 1], [{0}, {1}]), (2, [0, 1, 2, 3, 4, 5, 6, 7], [{0, 1, 2, 3}, {4, 5, 6, 7}]),
    (2, [0, 1, 2], [{0}, {1}]),  # equal shares, so a run's numbers never depend on its lane
    (3, [4, 9, 11, 12, 13, 15], [{4, 9}, {11, 12}, {13, 15}]),
    (1, [0, 1], None), (3, [0, 1], None)])  # one job, or more jobs than cores: not pinned
def test_core_sets_give_each_run_an_equal_disjoint_share(jobs, cores, sets):
  assert schedule.core_sets(jobs, cores) == sets


PINNABLE = pytest.mark.skipif(not hasattr(os, "sched_setaffinity")
                              or len(os.sched_getaffinity(0)) < 2,
                              reason="pins runs to cores: needs Linux and 2+ cores")


CHILD_CORES = "import json, os; print(json.dumps(sorted(os.sched_getaffinity(0))))"


@PINNABLE
def test_each_lane_runs_its_processes_on_its_own_cores_and_timed_runs_on_every_core():
  every = os.sched_getaffinity(0)
  cores = schedule.core_sets(2, sorted(every))
  seen, lock = {}, threading.Lock()
  meet = {"gan": threading.Event(), "vae": threading.Event()}

  def execute(run):  # a real child process: what its cores are is what XLA would size from
    child = subprocess.run([sys.executable, "-c", CHILD_CORES], capture_output=True, text=True,
                           check=True)
    with lock:
      seen[run.name] = set(json.loads(child.stdout))
    if run.name in meet:  # both lanes hold their cores at the same time
      meet[run.name].set()
      assert all(e.wait(timeout=30) for e in meet.values())

  runs = [_run("attention", "w/att", timed=True), _run("gan", "w/gan"), _run("vae", "w/vae"),
          _run("vae_again", "w/vae")]
  schedule.execute_all(runs, execute, timed=lambda run: run.timed, jobs=2, cores=cores,
                       announce=lambda line: None)
  assert seen["attention"] == every
  assert {frozenset(seen["gan"]), frozenset(seen["vae"])} == {frozenset(c) for c in cores}
  assert seen["vae_again"] == seen["vae"]  # a lane keeps its cores for all its runs
  assert os.sched_getaffinity(0) == every  # the report's own thread is untouched

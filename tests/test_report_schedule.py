"""The report's schedule: independent runs side by side, a workdir's runs in turn, timed runs
alone, the first failure raised."""

import os
import threading
import types

import pytest

from genjax.report import schedule


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
  monkeypatch.delattr(schedule.os, "sched_getaffinity", raising=False)  # the count, as on macOS
  monkeypatch.setattr(schedule.os, "cpu_count", lambda: cores)
  assert schedule.default_jobs() == jobs


def test_each_run_is_announced_with_what_its_execution_says_it_did():
  lines = []
  outcome = {"gan": "ran in 40 s", "vae": "reused"}
  schedule.execute_all([_run("gan", "w/gan"), _run("vae", "w/vae")],
                       lambda run: outcome[run.name], timed=lambda run: run.timed, jobs=1,
                       announce=lines.append)
  assert lines == ["starting gan ...", "gan: ran in 40 s", "starting vae ...", "vae: reused"]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="limits a thread to one core: needs Linux and 2+ cores")
def test_default_jobs_counts_the_cores_a_process_may_use_not_the_machines(monkeypatch):
  monkeypatch.setattr(schedule.jax, "default_backend", lambda: "cpu")
  seen = []

  def limited():  # as `taskset -c 0 python experiments/report.py` or a one-core cpuset would
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    seen.append(schedule.default_jobs())

  thread = threading.Thread(target=limited)
  thread.start()
  thread.join()
  assert seen == [1] and schedule.default_jobs() == 2

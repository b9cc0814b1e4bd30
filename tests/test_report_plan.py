"""The report's plan: expected times from the best measurement at hand, the schedule replayed."""

import json

import pytest

from genjax.report import plan
from genjax.report import runs as report_runs


def _run(tmp_path, name, lane=None):
  workdir = tmp_path / (lane or name)
  workdir.mkdir(exist_ok=True)
  return report_runs.Run(name, ["python"], str(workdir), [])


def test_expected_wall_replays_timed_runs_first_then_lanes_on_free_workers(tmp_path):
  timed = _run(tmp_path, "timed")
  a1, a2 = _run(tmp_path, "a1", "lane_a"), _run(tmp_path, "a2", "lane_a")
  b, c = _run(tmp_path, "b"), _run(tmp_path, "c")
  runs = [timed, a1, a2, b, c]
  seconds = {"timed": 100.0, "a1": 300.0, "a2": 200.0, "b": 150.0, "c": 120.0}
  is_timed = lambda run: run.name == "timed"  # noqa: E731
  # 2 workers after the timed 100 s: lane a (500 s) on one, b (150) then c (120) on the other.
  assert plan.expected_wall(runs, seconds, is_timed, jobs=2) == 100 + 500
  assert plan.expected_wall(runs, seconds, is_timed, jobs=1) == 100 + 500 + 150 + 120
  # Lanes start in the order given: c after b on the worker that frees first.
  seconds["c"] = 400.0
  assert plan.expected_wall(runs, seconds, is_timed, jobs=2) == 100 + 150 + 400
  assert plan.expected_wall(runs, {}, is_timed, jobs=2) == 0  # reused or unknown: 0


def test_a_runs_estimate_is_its_own_record_then_a_committed_report_then_none(tmp_path):
  run = _run(tmp_path, "vae_mnist_quick")
  committed = plan.committed_seconds()
  assert committed["vae_mnist_quick"][1] == "reports/quick"  # the committed report
  assert plan.expected_seconds(run, committed) == committed["vae_mnist_quick"]
  (tmp_path / run.name / report_runs.TIMES_FILE).write_text(json.dumps({run.name: 42.0}))
  assert plan.expected_seconds(run, committed) == (42.0, "this machine")
  assert plan.expected_seconds(_run(tmp_path, "never_ran_anywhere"), committed) == (None, "")


def test_the_plan_names_each_run_reuse_and_estimate(tmp_path):
  done, known, unknown = (_run(tmp_path, n) for n in ("done", "known", "unknown"))
  (tmp_path / "known" / report_runs.TIMES_FILE).write_text(json.dumps({"known": 600.0}))
  lines, wall, seconds = plan.describe([done, known, unknown],
                                       {"done": True, "known": False, "unknown": False},
                                       lambda run: False, jobs=2, cores=2)
  assert wall == 600.0 and seconds == {"known": 600.0}
  assert lines[0] == ("plan: 3 runs, 1 reused, 2 at a time (timed runs alone, first); expected "
                      "wall time about 10 min, not counting 1 run(s) with no estimate")
  assert lines[1].startswith("  done: reused")
  assert lines[2] == "  known: runs, about 10 min (measured on this machine)"
  assert lines[3] == "  unknown: runs; no estimate"


def test_more_runs_at_a_time_than_cores_are_estimated_as_one_per_core(tmp_path):
  runs = [_run(tmp_path, n) for n in ("a", "b", "c")]
  for run in runs:
    (tmp_path / run.name / report_runs.TIMES_FILE).write_text(json.dumps({run.name: 300.0}))
  reused = dict.fromkeys(("a", "b", "c"), False)
  lines, wall, _ = plan.describe(runs, reused, lambda run: False, jobs=3, cores=2)
  assert wall == 600.0  # two cores: c waits for one, as with 2 at a time
  assert "3 at a time (timed runs alone, first), on 2 cores: estimated as 2 at a time" in lines[0]
  lines, wall, _ = plan.describe(runs, reused, lambda run: False, jobs=3, cores=4)
  assert wall == 300.0 and "estimated as" not in lines[0]


@pytest.mark.parametrize("elapsed,expected,pace,text", [
    (30, 600, None, "x: ran in 30 s [30 s elapsed, about 10 min left]"),
    (700, 600, None, "x: ran in 30 s [12 min elapsed, past the estimate]"),  # never negative
    (0, 0, None, "x: ran in 30 s [0 s elapsed]"),  # nothing estimated: no time left to say
    # Finished runs took half their estimates: the 20-minute plan ends after about 10 minutes.
    (120, 1200, 0.5, "x: ran in 30 s [2 min elapsed, about 8 min left (finished runs took "
                     "0.50x their estimates)]"),
    (700, 600, 1.5, "x: ran in 30 s [12 min elapsed, about 3 min left (finished runs took "
                    "1.50x their estimates)]"),  # slower than planned: time left, not silence
])
def test_progress_lines_say_elapsed_and_remaining_at_the_finished_runs_pace(elapsed, expected,
                                                                           pace, text):
  assert plan.progress("x: ran in 30 s", elapsed, expected, pace) == text


def test_pace_is_the_finished_runs_measured_over_expected_seconds():
  assert plan.pace([]) is None  # none finished yet: the plain estimate
  assert plan.pace([(66.0, 121.0), (323.0, 527.0)]) == pytest.approx(389 / 648)
  assert plan.pace([(10.0, 0.0)]) is None  # no estimate to scale


def test_on_slurm_the_plan_counts_each_lane_as_its_own_job(tmp_path):
  a, b = _run(tmp_path, "a"), _run(tmp_path, "b")
  for run, seconds in ((a, 300.0), (b, 200.0)):
    (tmp_path / run.name / report_runs.TIMES_FILE).write_text(json.dumps({run.name: seconds}))
  lines, wall, _ = plan.describe([a, b], {"a": False, "b": False}, lambda run: False, jobs=1,
                                 slurm=True)
  assert wall == 300.0  # side by side on the cluster, not one after another as on 1 worker
  assert "one SLURM job each" in lines[0]

"""REPORT.md: which run(s) each verdict rests on, reuse of finished runs, errors that are bugs."""

import json
import math
import os
import sys
import threading

import jax
import pytest

from genjax import identity
from genjax.claims.verdicts import (
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
  ResultMissing,
)
from genjax.report import machine, markdown
from genjax.report import runs as report_runs
from genjax.report.judge import AfterHolm, after_holm, holm_family, judge


def _claim(figure="", statement="A made-up claim.", rule=None):
  rule = rule or (lambda results: Finding(SUPPORTED, f"x = {results['x']}"))
  return Claim("Q3", statement, "made-up experiment", "an anchor", rule, figure)


THIS, ANOTHER = {"seed": 0}, {"seed": 1}  # configs as their JSON dicts


def _run(tmp_path, name, finished, command=("python", "x.py"), config=THIS):
  workdir = tmp_path / name
  workdir.mkdir()
  if finished:
    (workdir / "results.json").write_text(json.dumps({"x": 1}))
  return report_runs.Run(name, list(command), str(workdir), [_claim()], config=config,
                         experiment="vae")


@pytest.fixture
def made_by(monkeypatch):
  """Stands in for genjax.identity.matches: a workdir 'matches' when its run was made with
  config THIS (the fingerprint logic itself is tested with genjax/identity.py)."""
  monkeypatch.setattr(identity, "matches", lambda workdir, config, experiment: config == THIS)


def test_the_longest_run_finished_by_its_own_config_is_chosen(tmp_path, made_by):
  long, quick = _run(tmp_path, "long", True), _run(tmp_path, "quick", True)
  assert report_runs.first_finished([long, quick]).name == "long"
  unfinished_long = _run(tmp_path, "long2", False)
  assert report_runs.first_finished([unfinished_long, quick]).name == "quick"
  other_config = _run(tmp_path, "long3", True, config=ANOTHER)
  assert report_runs.first_finished([other_config, quick]).name == "quick"
  nothing_finished = [_run(tmp_path, "a", False), _run(tmp_path, "b", False)]
  assert report_runs.first_finished(nothing_finished).name == "b"  # the one to run


def _writes_x(value):
  """A command that writes results.json with x = value into its working directory."""
  return [sys.executable, "-c",
          f"import json; json.dump({{'x': {value}}}, open('results.json', 'w'))"]


def test_a_run_of_another_config_is_run_again(tmp_path, made_by, monkeypatch):
  run = _run(tmp_path, "other", True, command=_writes_x(2), config=ANOTHER)
  monkeypatch.chdir(run.workdir)
  report_runs.execute(run, rerun=False)
  assert run.results == {"x": 2} and run.wall_seconds is not None
  recorded = json.loads((tmp_path / "other" / report_runs.TIMES_FILE).read_text())
  assert recorded == {"other": run.wall_seconds}  # by run: the domain studies share a workdir
  machines = json.loads((tmp_path / "other" / report_runs.MACHINES_FILE).read_text())
  assert machines == {"other": machine.machine_line()} and run.machine == machine.machine_line()
  assert "cpu (" in run.machine and f"JAX {jax.__version__}" in run.machine


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="pins a thread to one core: needs Linux and 2+ cores")
def test_a_run_limited_to_one_core_records_one_of_the_machines_cores():
  seen = []

  def pinned():  # as `taskset -c 0` does to a whole report
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    seen.append(machine.machine_line())

  thread = threading.Thread(target=pinned)
  thread.start()
  thread.join()
  assert seen[0].endswith(f", 1 of {os.cpu_count()} cores"), seen
  every = len(os.sched_getaffinity(0))  # this thread's, all of the machine's unless a cpuset
  mine = f"{every} cores" if every == os.cpu_count() else f"{every} of {os.cpu_count()} cores"
  assert machine.machine_line().endswith(f", {mine}")


def test_a_run_of_this_config_is_reused_with_its_recorded_time(tmp_path, made_by):
  fails = [sys.executable, "-c", "raise SystemExit(3)"]  # would fail if it were run
  run = _run(tmp_path, "same", True, command=fails)
  (tmp_path / "same" / report_runs.TIMES_FILE).write_text(json.dumps({"same": 42.0, "x": 7.0}))
  (tmp_path / "same" / report_runs.MACHINES_FILE).write_text(json.dumps({"same": "tpu (v5e)"}))
  report_runs.execute(run, rerun=False)
  assert run.results == {"x": 1} and run.wall_seconds is None and run.recorded_seconds == 42.0
  assert run.machine == "tpu (v5e)"


def test_a_failed_run_names_its_command_and_stderr(tmp_path, made_by):
  command = [sys.executable, "-c", "import sys; print('boom at step 7', file=sys.stderr); "
             "sys.exit(3)"]
  run = _run(tmp_path, "broken", False, command=command)
  with pytest.raises(report_runs.RunFailed, match="run broken failed .exit 3.") as e:
    report_runs.execute(run, rerun=False)
  assert "boom at step 7" in str(e.value) and "sys.exit(3)" in str(e.value)


def test_a_reused_run_that_no_report_timed_has_no_time(tmp_path, made_by):
  run = _run(tmp_path, "by_hand", True, command=[sys.executable, "-c", "raise SystemExit(3)"])
  (tmp_path / "by_hand" / report_runs.TIMES_FILE).write_text(json.dumps({"another_run": 42.0}))
  report_runs.execute(run, rerun=False)
  assert run.wall_seconds is None and run.recorded_seconds is None


def test_report_names_the_run_and_copies_its_figure(tmp_path):
  run_dir = tmp_path / "runs" / "vae_quick"
  run_dir.mkdir(parents=True)
  (run_dir / "samples.png").write_bytes(b"\x89PNG fake")
  run = report_runs.Run("vae_quick", ["python", "experiments/vae.py"], str(run_dir),
                        [_claim("samples.png"), _claim("missing.png", "Another.")],
                        results={"x": 2})
  out = tmp_path / "report"
  out.mkdir()
  text = markdown.write(str(out / "REPORT.md"), [run], judge([run]))
  assert "`vae_quick`" in text and "x = 2" in text
  assert "![A made-up claim. (vae_quick)](figures/vae_quick_samples.png)" in text
  assert "*Figure: A made-up claim. — `vae_quick`, `samples.png`.*" in text
  assert (out / "figures" / "vae_quick_samples.png").read_bytes() == b"\x89PNG fake"
  assert "missing.png" not in text  # a figure the run did not write is not linked
  assert os.listdir(out / "figures") == ["vae_quick_samples.png"]


def _needs_modes(results):
  if "modes" not in results:
    raise ResultMissing("no 'modes' in the results")
  return Finding(SUPPORTED, f"{results['modes']} modes")


def test_only_result_missing_says_not_measured(tmp_path):
  claims = [Claim("Q2", "Another claim.", "gan", "—", _needs_modes)]
  runs = [report_runs.Run("complete", ["python", "experiments/x.py"], str(tmp_path), claims,
                          results={"modes": 8}),
          report_runs.Run("lacking", ["python"], str(tmp_path), claims, results={"x": 1})]
  sections = judge(runs)
  text = markdown.write(str(tmp_path / "REPORT.md"), runs, sections)
  assert "## Q1." in text and "## Q4." in text and text.count("Not run in this report.") == 3
  (judged,) = sections["Q2"]
  assert [f.verdict for _, f in judged.findings] == [SUPPORTED, NOT_MEASURED]
  assert "no 'modes' in the results" in judged.findings[1][1].evidence
  assert "`python experiments/x.py`" in text


def test_a_bug_in_a_rule_fails_the_report(tmp_path):
  buggy = _claim(rule=lambda results: Finding(SUPPORTED, f"{results['typo']}"))
  run = report_runs.Run("r", ["python"], str(tmp_path), [buggy], results={"x": 1})
  with pytest.raises(KeyError, match="typo"):
    judge([run])


def test_runs_a_claim_does_not_apply_to_are_skipped(tmp_path):
  ring_only = Claim("Q2", "Hops between modes.", "gan", "—",
                    lambda results: Finding(SUPPORTED, "hops"), applies=lambda r: r["ring"])
  runs = [report_runs.Run(name, ["python"], str(tmp_path), [ring_only], results={"ring": ring})
          for name, ring in (("ring", True), ("digits", False))]
  (judged,) = judge(runs)["Q2"]
  assert [run.name for run, _ in judged.findings] == ["ring"]
  assert judged.combined.verdict == SUPPORTED
  (nowhere,) = judge(runs[1:])["Q2"]
  assert nowhere.combined.verdict == NOT_MEASURED and not nowhere.findings


def test_a_claim_on_two_runs_shows_each_and_the_combination(tmp_path):
  claim = Claim("Q2", "Realistic but not diverse.", "gan", "—",
                lambda results: Finding(results["verdict"], f"precision {results['p']}"))
  runs = [report_runs.Run("ring", ["python"], str(tmp_path), [claim],
                          results={"verdict": SUPPORTED, "p": 0.9}),
          report_runs.Run("digits", ["python"], str(tmp_path), [claim],
                          results={"verdict": CONTRADICTED, "p": 0.8})]
  sections = judge(runs)
  text = markdown.write(str(tmp_path / "REPORT.md"), runs, sections)
  assert ("- verdict: **conditional** (supported on `ring`; contradicted on `digits`); 2 runs "
          "disagree") in text
  assert "- `ring`: **supported**. precision 0.9" in text
  assert "- `digits`: **contradicted**. precision 0.8" in text
  # The one-screen summary has one row per claim, with the combined verdict.
  assert "| Q2 | Realistic but not diverse. | ours | conditional | — | — |" in text


def test_the_summary_gives_the_deciding_number_and_holm(tmp_path):
  clear = Margin("gap", 1.0, 0.8, 1.2, 0.0, seeds=5, sd=0.1)
  close = Margin("gap", 1.0, -1.5, 3.5, 0.0, seeds=3, sd=1.0)
  claims = [Claim("Q3", statement, "vae", "—", lambda r, v=v, m=m: Finding(v, "n", "", m),
                  sources=("000", "002"))
            for statement, v, m in (("Clear.", SUPPORTED, clear),
                                    ("Close.", INCONCLUSIVE, close))]
  run = report_runs.Run("vae", ["python"], str(tmp_path), claims, results={})
  text = markdown.write(str(tmp_path / "REPORT.md"), [run], judge([run]))
  assert ("| Q3 | Clear. | seed 000, seed 002 | supported | gap: +1.000 [+0.800, +1.200] "
          "(95% t, 5 seeds); threshold +0 | p 2.4e-05, clear after Holm |") in text
  assert "| Q3 | Close. | seed 000, seed 002 | inconclusive |" in text
  assert "p 0.23; nothing decided |" in text  # an undecided claim has nothing to survive
  assert "## Methods" in text and "Holm" in text
  assert "seeds would decide" not in text  # no post-hoc power lines


def test_fewer_than_the_minimum_seeds_never_decide(tmp_path):
  two_seeds = Margin("gap", 1.0, 0.5, 1.5, 0.0, seeds=2, sd=0.01)
  claim = Claim("Q3", "Two seeds.", "vae", "—",
                lambda results: Finding(SUPPORTED, "gap 1.0", margin=two_seeds))
  run = report_runs.Run("vae", ["python"], str(tmp_path), [claim], results={})
  (judged,) = judge([run])["Q3"]
  assert judged.combined.verdict == INCONCLUSIVE and "needs 3" in judged.combined.condition
  one_seed = Margin("recall", 0.5, math.nan, math.nan, 0.4, seeds=1)  # a rule's own inconclusive
  claim = Claim("Q2", "One seed.", "gan", "—",
                lambda results: Finding(INCONCLUSIVE, "recall 0.5", "the interval straddles 0.4",
                                        margin=one_seed))
  (judged,) = judge([report_runs.Run("gan", ["python"], str(tmp_path), [claim],
                                     results={})])["Q2"]
  assert judged.combined.condition.startswith("1 seed(s): every rule needs 3")
  slope = Margin("slope", 2.0, 1.9, 2.1, 1.75, seeds=2, unit="lengths")
  lengths = Claim("Q4", "A slope.", "attention", "—",
                  lambda results: Finding(SUPPORTED, "slope", margin=slope))
  (judged,) = judge([report_runs.Run("a", ["python"], str(tmp_path), [lengths],
                                     results={})])["Q4"]
  assert judged.combined.verdict == SUPPORTED  # the seed minimum is about seeds, not lengths


def test_environment_gives_the_wall_time_only_when_something_ran(tmp_path):
  ran = report_runs.Run("vae", ["python"], str(tmp_path), [], results={}, wall_seconds=180.0)
  reused = report_runs.Run("gan", ["python"], str(tmp_path), [], results={}, recorded_seconds=900.0)
  how = {"jobs": 2, "wall_seconds": 200.0}
  lines = markdown.environment_lines([ran, reused], how)
  assert "- this report: 200 s wall, up to 2 runs at a time" in "\n".join(lines)
  assert "- gan: reused (900 s when it ran)" in lines and "- vae: 180 s" in lines
  gpu = "gpu (NVIDIA H200), JAX 0.11.2, x, 16 cores"
  elsewhere = report_runs.Run("gpu_run", ["python"], str(tmp_path), [], results={},
                              recorded_seconds=436.0, machine=gpu)
  here = report_runs.Run("here_run", ["python"], str(tmp_path), [], results={},
                         recorded_seconds=12.0, machine=machine.machine_line())
  lines = markdown.environment_lines([elsewhere, here], how)
  assert f"- gpu_run: reused (436 s when it ran on {gpu})" in lines
  assert "- here_run: reused (12 s when it ran)" in lines  # this machine: nothing to say
  lines = markdown.environment_lines([ran], {**how, "matmul_gflops": [64.3, 112.4]})
  assert ("- this report: 200 s wall on a machine whose 2048³ float32 matmul ran at 64 GFLOP/s "
          "before the runs and 112 after, up to 2 runs at a time") in "\n".join(lines)
  lines = markdown.environment_lines([reused], {"jobs": 2, "wall_seconds": 0.4})
  assert not any("0 s wall" in line for line in lines)
  assert any("every run reused from its workdir" in line for line in lines)


def test_the_machines_speed_is_the_median_matmuls_rate(monkeypatch):
  from genjax import timing

  assert machine.matmul_gflops(size=256) > 0  # a real, blocked matmul on this CPU
  rounds = []
  monkeypatch.setattr(timing, "time_interleaved", lambda fns, n: rounds.append(n) or {
      "mm": [0.5, 0.1, 0.2, 0.3, 0.4]})
  assert machine.matmul_gflops(size=1000) == pytest.approx(2e9 / 0.3 / 1e9)  # 2 n^3 / median
  assert rounds == [machine.MATMUL_ROUNDS]


ZEN3 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
        "model name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: another CPU\n")


@pytest.mark.parametrize("cpuinfo,expected", [
    (ZEN3, "AMD EPYC (family 25 model 1, AVX2)"),  # the first processor's block only
    (ZEN3.replace("25", "26").replace("avx2", "avx2 avx512f"),
     "AMD EPYC (family 26 model 1, AVX-512)"),  # the same name, another CPU: it says so
    ("processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd0c\n", "unknown (NEON)"),  # Arm
])
def test_cpu_model_tells_apart_cpus_that_share_a_name(cpuinfo, expected, monkeypatch):
  monkeypatch.setattr(machine.platform, "processor", lambda: "")
  assert machine.cpu_model(cpuinfo) == expected


def test_cpu_model_without_cpuinfo_falls_back_to_the_platform(monkeypatch):
  monkeypatch.setattr(machine.platform, "processor", lambda: "arm")
  assert machine.cpu_model("") == "arm"
  monkeypatch.setattr(machine.platform, "processor", lambda: "")
  assert machine.cpu_model("") == "unknown"


# ---- one test per decision; the summary's answer to multiplicity ----

STRONG = Margin.of_values("gap", [1.0, 1.1, 0.9], 0.0)  # t = 17.3 on 2 dof: p = 0.0033
WEAK = Margin.of_values("gap", [1.0, 2.0, 1.5], 0.0)  # t = 5.20 on 2 dof: p = 0.035
UNCLEAR = Margin.of_values("gap", [0.1, -0.1, 0.05], 0.0)  # p = 0.6: nothing decided


def _claim_on(statement, existential=False):
  """A claim whose finding each run's results give as results[statement]."""
  return Claim("Q3", statement, "vae", "—", lambda results: results[statement],
               sources=("001",), existential=existential)


def _runs_of(tmp_path, **findings_per_run):
  """Runs named by the keywords, each {statement: Finding}; each claim listed on every run
  whose results name it."""
  return [report_runs.Run(name, ["python"], str(tmp_path),
                          [_claim_on(s, s.startswith("Can")) for s in findings], results=findings)
          for name, findings in findings_per_run.items()]


def _summary(text, statement):
  (row,) = [line for line in text.splitlines() if line.startswith(f"| Q3 | {statement} |")]
  return row


def test_identical_seeds_decide_only_with_enough_seeds_for_the_exact_test(tmp_path):
  three, six = (Margin.of_values("cells", [1.0] * n, 4.0) for n in (3, 6))
  assert three.identical and three.p_value() == 0.25 and six.p_value() == 0.03125
  runs = _runs_of(tmp_path, three={"Three.": Finding(SUPPORTED, "1 cell", margin=three)},
                  six={"Six.": Finding(SUPPORTED, "1 cell", margin=six)})
  sections = judge(runs)
  few, enough = (j.combined for j in sections["Q3"])
  assert few.verdict == INCONCLUSIVE and few.margin is three
  assert few.condition == ("supported by its interval, but equal on every seed, so its test is "
                           "the exact sign test: p = 0.25 with 3 seeds; 95% needs 6 seeds")
  assert enough.verdict == SUPPORTED
  text = markdown.write(str(tmp_path / "REPORT.md"), runs, sections)
  assert _summary(text, "Three.").endswith("| inconclusive | cells: +1.000 on every seed (3 of "
                                           "3; share of seeds 0.29-1.00, exact 95%); threshold "
                                           "+4 | p 0.25; nothing decided |")
  # Decided at 6 seeds; beside the 3-seed test (a family of 2) 0.031 > 0.05 / 2, so Holm drops it.
  assert _summary(text, "Six.").endswith("| supported (not clear after Holm) | cells: +1.000 on "
                                         "every seed (6 of 6; share of seeds 0.54-1.00, exact "
                                         "95%); threshold +4 | p 0.031, not clear after Holm |")
  assert "exact sign test (p = 2 x 0.5^n), which reaches 95% only from 6 seeds" in text


def test_a_verdict_its_own_test_does_not_back_is_inconclusive(tmp_path):
  # An interval that excludes 0 beside an s.d. whose t test does not: the p decides.
  odd = Margin("gap", 1.0, 0.5, 1.5, 0.0, seeds=3, sd=1.0)
  runs = _runs_of(tmp_path, r={"Odd.": Finding(CONTRADICTED, "gap 1", margin=odd)})
  (judged,) = judge(runs)["Q3"]
  assert judged.combined.verdict == INCONCLUSIVE
  assert judged.combined.condition == ("contradicted by its interval, but its test gives "
                                       "p = 0.23 > 0.05")


def test_a_decision_on_seeds_without_its_test_is_a_bug(tmp_path):
  no_sd = Margin("gap", 1.0, 0.5, 1.5, 0.0, seeds=5)  # built without its s.d.
  runs = _runs_of(tmp_path, r={"Bug.": Finding(SUPPORTED, "gap 1", margin=no_sd)})
  with pytest.raises(ValueError, match="gives no p .* its test is missing"):
    judge(runs)
  counted = Margin("FLOP slope", 2.0, 2.0, 2.0, 1.5, seeds=8, sd=0.0, unit="lengths")
  runs = _runs_of(tmp_path, r={"Counted.": Finding(SUPPORTED, "slope 2", margin=counted)})
  sections = judge(runs)  # a deterministic count: decided, with no p to show
  assert sections["Q3"][0].combined.verdict == SUPPORTED and counted.p_value() is None
  assert _summary(markdown.write(str(tmp_path / "R.md"), runs, sections),
                  "Counted.").endswith("| supported | FLOP slope: +2.000 [+2.000, +2.000] (95% "
                                       "t, 8 lengths); threshold +1.5 | — |")


def test_the_summary_says_which_decisions_do_not_survive_holm(tmp_path):
  # A family of three p: 0.0033 <= 0.05/3 survives; 0.035 > 0.05/2 does not.
  runs = _runs_of(tmp_path, r={"Strong.": Finding(SUPPORTED, "s", margin=STRONG),
                               "Weak.": Finding(SUPPORTED, "w", margin=WEAK),
                               "Unclear.": Finding(INCONCLUSIVE, "u", "straddles", UNCLEAR)})
  text = markdown.write(str(tmp_path / "REPORT.md"), runs, judge(runs))
  assert "| supported | gap: +1.000 [+0.752, +1.248]" in _summary(text, "Strong.")
  assert _summary(text, "Strong.").endswith("| p 0.0033, clear after Holm |")
  assert "| supported (not clear after Holm) | gap: +1.500" in _summary(text, "Weak.")
  assert _summary(text, "Weak.").endswith("| p 0.035, not clear after Holm |")
  assert "| inconclusive |" in _summary(text, "Unclear.")


def test_a_combined_claim_keeps_its_deciding_runs_p(tmp_path):
  runs = _runs_of(
      tmp_path,
      a={"One decides.": Finding(SUPPORTED, "a", margin=WEAK),
         "Agree.": Finding(SUPPORTED, "a", margin=WEAK),
         "Disagree.": Finding(SUPPORTED, "a", margin=STRONG),
         "Can happen.": Finding(SUPPORTED, "a", margin=WEAK)},
      b={"One decides.": Finding(INCONCLUSIVE, "b", "straddles", UNCLEAR),
         "Agree.": Finding(SUPPORTED, "b", margin=STRONG),
         "Disagree.": Finding(CONTRADICTED, "b", margin=WEAK),
         "Can happen.": Finding(INCONCLUSIVE, "b", "straddles", UNCLEAR)})
  sections = judge(runs)
  text = markdown.write(str(tmp_path / "REPORT.md"), runs, sections)
  # One run decides: its p, named (it was "—" before); 8 p-values: 0.035 does not survive.
  assert _summary(text, "One decides.").endswith(
      "| supported (not clear after Holm) | gap: +1.500 [+0.258, +2.742] (95% t, 3 seeds); "
      "threshold +0 | p 0.035 (`a`), not clear after Holm |")
  # Runs that agree: either one keeps the verdict, so the smaller p decides (and survives).
  assert _summary(text, "Agree.").endswith("| p 0.0033 (`b`), clear after Holm |")
  assert "| supported | gap: +1.000 [+0.752, +1.248]" in _summary(text, "Agree.")
  # Runs that disagree: both are needed, so the larger p decides; it does not survive.
  assert _summary(text, "Disagree.").endswith("| p 0.035 (`b`), not clear after Holm |")
  assert "| conditional (not clear after Holm) |" in _summary(text, "Disagree.")
  # A "can" claim: its witness's p.
  assert _summary(text, "Can happen.").endswith("| p 0.035 (`a`), not clear after Holm |")
  holm = holm_family(sections)
  one = next(j for j in sections["Q3"] if j.claim.statement == "One decides.")
  assert after_holm(one, holm) == AfterHolm(WEAK.p_value(), False, ("a",))
  with pytest.raises(KeyError):  # a run's finding outside the family is a bug, not a dash
    after_holm(one, {})


def test_each_run_line_states_its_protocol(tmp_path):
  from genjax import cli

  flagfile = "experiments/flags/domain_architecture_5seeds.flags"
  config = cli.config_from_flagfile("domain", flagfile)[0]
  claim = _claim_on("Architecture.")
  run = report_runs.Run("domain_architecture_5seeds", ["python"], str(tmp_path), [claim],
                        results={"Architecture.": Finding(SUPPORTED, "x", margin=STRONG)},
                        flagfile=flagfile, config=config, experiment="domain")
  text = markdown.write(str(tmp_path / "REPORT.md"), [run], judge([run]))
  assert ("- `domain_architecture_5seeds` (the quick configuration with 5 seeds): "
          "**supported**.") in text
  assert ("`; the quick configuration (`genjax/configs/domain.py:quick`) with 5 seeds; the full "
          "configuration differs in ") in text
  full = "experiments/flags/domain_architecture.flags"
  run.flagfile, run.config = full, cli.config_from_flagfile("domain", full)[0]
  assert markdown.protocol(run) == "the full configuration (`genjax/configs/domain.py`)"
  assert text.startswith("# Claims report\n\nEach claim, restated in our words, comes from the "
                         "seed texts (*seed NNN*) or is ours (*ours*")

"""experiments/report.py as a user meets it: its defaults, one-line errors, --compare."""

import json
import os
import subprocess
import sys

from genjax.report import runs as report_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _flag_values(path):
  with open(path) as f:
    lines = [line.strip() for line in f if line.startswith("--")]
  return dict(line[2:].split("=", 1) for line in lines)


def test_report_quick_flags_is_the_bare_command():
  values = _flag_values(os.path.join(ROOT, "experiments", "flags", "report_quick.flags"))
  assert values == {"workdir": report_runs.QUICK_WORKDIR, "runs": ",".join(report_runs.QUICK_RUNS)}
  assert all("|" not in spec for spec in report_runs.QUICK_RUNS)  # runs its own protocols


def _report(*args, cwd=ROOT):
  return subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "report.py"), *args],
                        capture_output=True, text=True, cwd=cwd, timeout=300)


def test_bad_input_is_one_error_line_and_exit_2(tmp_path):
  bad = _report("--runs=bogus:x.flags", f"--workdir={tmp_path}")
  assert bad.returncode == 2
  # The registry as a fresh process sees it (a test may have registered one of its own here).
  names = subprocess.run([sys.executable, "-c", "from genjax import registry; "
                          "print(', '.join(registry.EXPERIMENTS))"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout.strip()
  assert "vae" in names and "domain" in names
  assert bad.stderr.strip().splitlines() == [
      f"error: --runs entry 'bogus:x.flags' must be NAME:FLAGFILE with NAME one of {names}"]


def test_a_misspelt_config_field_in_a_flagfile_is_one_error_line(tmp_path):
  flagfile = tmp_path / "typo.flags"
  flagfile.write_text("--config.num_stepz=40\n")
  bad = _report(f"--runs=domain:{flagfile}", f"--workdir={tmp_path / 'w'}")
  assert bad.returncode == 2
  [line] = bad.stderr.strip().splitlines()
  assert line.startswith(f"error: flagfile {flagfile} (domain): num_stepz")


def test_runs_sharing_a_workdir_but_not_its_shared_fields_are_one_error(tmp_path):
  """A study with another seed count in the text studies' workdir would move their models aside."""
  (tmp_path / "text_diversity.flags").write_text(
      "--flagfile=experiments/flags/text_diversity_quick.flags\n")
  (tmp_path / "text_dapt.flags").write_text(
      "--flagfile=experiments/flags/text_dapt_quick.flags\n--config.num_seeds=5\n")
  (tmp_path / "text_dapt_5seeds.flags").write_text(
      "--flagfile=experiments/flags/text_dapt_quick.flags\n--config.num_seeds=5\n")
  runs = "--runs=" + ",".join(f"text:{tmp_path / name}.flags" for name in (
      "text_diversity", "{}"))
  workdir = tmp_path / "report"
  clash = _report(runs.format("text_dapt"), f"--workdir={workdir}", "--plan_only")
  assert clash.returncode == 2
  [line] = clash.stderr.strip().splitlines()
  assert line.startswith("error: --runs entries ") and f"share the workdir {workdir}/text " in line
  assert "num_seeds=3 there, 5 now" in line
  apart = _report(runs.format("text_dapt_5seeds"), f"--workdir={workdir}", "--plan_only")
  assert apart.returncode == 0, apart.stderr  # its own name: its own workdir (text_5seeds)
  assert not workdir.exists()


def test_compare_two_existing_reports_runs_nothing(tmp_path):
  def made_up(verdict):
    return {"claims": [{"question": "Q4", "statement": "Quadratic.", "verdict": verdict,
                        "runs": [{"name": "attention", "verdict": verdict, "margin": None}]}]}

  (tmp_path / "old.json").write_text(json.dumps(made_up("not measured")))
  (tmp_path / "new.json").write_text(json.dumps(made_up("supported")))
  done = _report(f"--compare={tmp_path / 'old.json'}", f"--against={tmp_path / 'new.json'}",
                 f"--workdir={tmp_path / 'unused'}")
  assert done.returncode == 0, done.stderr
  assert "- [Q4] Quadratic.: not measured -> supported" in done.stdout
  assert not (tmp_path / "unused").exists()
  missing = _report(f"--compare={tmp_path / 'absent.json'}", f"--against={tmp_path / 'new.json'}")
  assert missing.returncode == 2 and missing.stderr.startswith("error: no report")


def test_plan_only_prints_the_plan_and_runs_nothing(tmp_path):
  done = _report("--plan_only", f"--workdir={tmp_path / 'report'}", "--rerun")
  assert done.returncode == 0, done.stderr
  head, *runs = done.stdout.strip().splitlines()
  assert head.startswith(f"plan: {len(report_runs.QUICK_RUNS)} runs, 0 reused, ")
  assert len(runs) == len(report_runs.QUICK_RUNS) and all(": runs" in line for line in runs)
  assert not (tmp_path / "report").exists()


def test_every_report_flagfile_names_registered_experiments_and_existing_flagfiles():
  from genjax import registry

  flags_dir = os.path.join(ROOT, "experiments", "flags")
  reports = sorted(f for f in os.listdir(flags_dir) if f.startswith("report_"))
  assert {"report_quick.flags", "report_full.flags", "report_gpu.flags"} <= set(reports)
  for name in reports:
    specs = _flag_values(os.path.join(flags_dir, name))["runs"].split(",")
    for spec in specs:
      experiment, _, flagfiles = spec.partition(":")
      assert experiment in registry.EXPERIMENTS, (name, spec)
      for flagfile in flagfiles.split("|"):
        assert os.path.basename(flagfile).startswith(experiment + "_"), (name, spec)
        assert os.path.exists(os.path.join(ROOT, flagfile)), (name, spec)


def test_a_domain_study_is_judged_on_its_entry_of_the_shared_results_json(tmp_path, monkeypatch):
  from genjax import cli, identity, registry
  from genjax.claims import domain

  monkeypatch.chdir(ROOT)  # flagfile paths resolve against the working directory
  flagfile = "experiments/flags/domain_diversity_quick.flags"
  config = cli.config_from_flagfile("domain", flagfile)[0]
  # The diversity study finished in the shared workdir (domain_quick, not its own label), with
  # one pool size: its rule says what it lacks instead of a verdict (and the report reuses the
  # run instead of training for minutes).
  shared = tmp_path / "domain_quick"
  identity.check_workdir(shared, config, registry.EXPERIMENTS["domain"])
  results = {"studies": {"diversity": {"rows": [{"pool_size": 4}]}}}
  (shared / "results.json").write_text(json.dumps(results))
  done = _report(f"--runs=domain:{flagfile}", f"--workdir={tmp_path}")
  assert done.returncode == 0, done.stderr
  written = json.loads((tmp_path / "REPORT.json").read_text())
  assert [(r["name"], r["workdir"], r["reused"]) for r in written["runs"]] == [
      ("domain_diversity_quick", str(shared), True)]
  [claim] = written["claims"]
  assert claim["statement"] == domain.CLAIMS_BY_STUDY["diversity"].statement
  assert "the diversity rule needs two pool sizes, the results have 1" in claim["evidence"]

"""REPORT.md: which run each verdict rests on, and the figure beside each claim."""

import json
import os

from genjax.claims import report
from genjax.claims.verdicts import SUPPORTED, Claim, Finding


def _claim(figure=""):
  return Claim("Q3", "A made-up claim.", "made-up experiment", "an anchor",
               lambda results: Finding(SUPPORTED, f"x = {results['x']}"), figure)


def _run(tmp_path, name, finished):
  workdir = tmp_path / name
  workdir.mkdir()
  if finished:
    (workdir / "results.json").write_text(json.dumps({"x": 1}))
  return report.Run(name, ["python", f"{name}.py"], str(workdir), [_claim()])


def test_the_longest_finished_run_is_chosen(tmp_path):
  long, quick = _run(tmp_path, "long", True), _run(tmp_path, "quick", True)
  assert report.first_finished([long, quick]).name == "long"
  unfinished_long = _run(tmp_path, "long2", False)
  assert report.first_finished([unfinished_long, quick]).name == "quick"
  nothing_finished = [_run(tmp_path, "a", False), _run(tmp_path, "b", False)]
  assert report.first_finished(nothing_finished).name == "b"  # the one to run


def test_report_names_the_run_and_copies_its_figure(tmp_path):
  run_dir = tmp_path / "runs" / "vae_quick"
  run_dir.mkdir(parents=True)
  (run_dir / "samples.png").write_bytes(b"\x89PNG fake")
  run = report.Run("vae_quick", ["python", "experiments/vae.py"], str(run_dir),
                   [_claim("samples.png"), _claim("missing.png")], results={"x": 2})
  out = tmp_path / "report"
  out.mkdir()
  text = report.write(str(out / "REPORT.md"), [run], report.judge([run]))
  assert "`vae_quick`" in text and "x = 2" in text
  assert "![vae_quick_samples.png](figures/vae_quick_samples.png)" in text
  assert (out / "figures" / "vae_quick_samples.png").read_bytes() == b"\x89PNG fake"
  assert "missing.png" not in text  # a figure the run did not write is not linked
  assert os.listdir(out / "figures") == ["vae_quick_samples.png"]


def test_report_lists_every_claim_and_marks_missing_numbers(tmp_path):
  claims = [_claim(), Claim("Q2", "Another claim.", "gan", "—",
                            lambda results: Finding(SUPPORTED, f"{results['modes']} modes"))]
  runs = [report.Run("complete", ["python", "experiments/x.py"], str(tmp_path), claims,
                     results={"x": 1, "modes": 8}),
          report.Run("broken", ["python"], str(tmp_path), claims, results={"x": 1})]
  text = report.write(str(tmp_path / "REPORT.md"), runs, report.judge(runs))
  assert "## Q1." in text and "## Q4." in text and text.count("Not run in this report.") == 2
  assert text.count("**supported**") == 3  # both Q3 rows and the complete Q2 row
  assert "**not measured**" in text and "the results lack what this rule reads" in text
  assert "`python experiments/x.py`" in text

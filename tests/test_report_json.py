"""REPORT.json holds every claim as data; --compare lists what changed between two reports."""

import json
import os
import sys

import pytest

from genjax.claims.verdicts import (
  CONDITIONAL,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
)
from genjax.errors import UserError
from genjax.report import compare, json_file
from genjax.report.judge import judge
from genjax.report.runs import Run

GAP = Margin("gap", 1.0, -1.5, 3.5, 0.0, seeds=3, sd=1.0)


def _runs(tmp_path):
  close = Claim("Q3", "A close call.", "vae", "an anchor",
                lambda results: Finding(INCONCLUSIVE, "gap 1.0", "straddles 0", GAP), "curve.png",
                sources=("001",))
  plain = Claim("Q3", "No single number.", "vae", "—", lambda results: Finding(SUPPORTED, "ok"))
  slope = Claim("Q4", "A slope.", "attention", "—", lambda results: Finding(
      SUPPORTED, "slope 2.0", margin=Margin("slope", 2.0, 1.8, 2.2, 1.5, seeds=8, unit="lengths")))
  (tmp_path / "vae").mkdir()
  (tmp_path / "vae" / "curve.png").write_bytes(b"png")
  return [Run("vae_quick", ["python", "experiments/vae.py"], str(tmp_path / "vae"),
              [close, plain], results={}, wall_seconds=180.0,
              flagfile="experiments/flags/vae_quick.flags"),
          Run("attention_quick", ["python", "experiments/attention.py"], str(tmp_path),
              [slope], results={}, recorded_seconds=48.0)]


def test_report_json_holds_every_claim_with_its_margin_and_runs(tmp_path):
  runs = _runs(tmp_path)
  json_file.write(str(tmp_path / "REPORT.json"), runs, judge(runs))
  data = json.loads((tmp_path / "REPORT.json").read_text())  # strict JSON: no NaN
  close, plain, slope = data["claims"]
  assert close["question"] == "Q3" and close["verdict"] == INCONCLUSIVE
  assert close["condition"] == "straddles 0" and close["evidence"] == "gap 1.0"
  assert close["margin"] == {"name": "gap", "value": 1.0, "low": -1.5, "high": 3.5,
                             "threshold": 0.0, "seeds": 3, "sd": 1.0, "confidence": 0.95,
                             "unit": "seeds", "agreeing": None, "bounds": None}
  assert close["sources"] == ["001"] and plain["sources"] == ["ours"]
  # t = 1 / (1 / sqrt 3) = 1.73 on 2 dof: p = 0.225; nothing decided, so nothing to survive
  assert close["p_value"] == pytest.approx(0.2254, abs=1e-3)
  assert close["clear_after_holm"] is None and close["deciding_runs"] == ["vae_quick"]
  assert close["runs"][0]["clear_after_holm"] is False  # the run's own test, in the family
  assert close["figure"] == "figures/vae_quick_curve.png"
  (on,) = close["runs"]
  assert on["name"] == "vae_quick" and on["flagfile"] == "experiments/flags/vae_quick.flags"
  assert on["verdict"] == INCONCLUSIVE and on["workdir"] == str(tmp_path / "vae")
  assert plain["margin"] is None and plain["verdict"] == SUPPORTED  # still listed
  assert plain["p_value"] is None and plain["clear_after_holm"] is None
  assert slope["margin"]["sd"] is None  # nan written as null
  assert [(r["name"], r["wall_seconds"], r["reused"]) for r in data["runs"]] == [
      ("vae_quick", 180.0, False), ("attention_quick", 48.0, True)]
  assert {"jax", "backend", "python"} <= set(data["environment"])


def _made_up(claims):
  """A REPORT.json with claims given as (statement, verdict, [(run, value, threshold)])."""
  return {"claims": [
      {"question": "Q2", "statement": statement, "verdict": verdict,
       "margin": None, "runs": [
           {"name": run, "verdict": verdict, "margin": None if value is None else
            {"name": "m", "value": value, "threshold": threshold}}
           for run, value, threshold in runs]}
      for statement, verdict, runs in claims]}


def test_compare_lists_changed_verdicts_and_moved_margins():
  old = _made_up([("Collapse.", NOT_MEASURED, [("ring_quick", 3.0, 2.0)]),
                  ("Hopping.", SUPPORTED, [("ring_quick", 0.5, 0.3)]),
                  ("Realistic.", SUPPORTED, [("ring", 0.9, 0.8), ("digits", 0.85, 0.8)]),
                  ("Gone.", CONDITIONAL, [])])
  new = _made_up([("Collapse.", SUPPORTED, [("ring_full", 1.0, 2.0)]),
                  ("Hopping.", SUPPORTED, [("ring_quick", 0.5, 0.3)]),
                  ("Realistic.", SUPPORTED, [("ring", 0.95, 0.8), ("digits", None, 0.8)]),
                  ("New.", NOT_MEASURED, [])])
  assert compare.compare(old, new) == [
      "Verdicts changed (old -> new):",
      "- [Q2] Collapse.: not measured -> supported",
      "Margins, value - threshold (old -> new, change):",
      "- [Q2] Collapse. (`ring_quick -> ring_full`): +1 -> -1 (-2)",  # renamed run, one margin
      "- [Q2] Hopping. (`ring_quick`): +0.2 -> +0.2 (+0)",
      "- [Q2] Realistic. (`ring`): +0.1 -> +0.15 (+0.05)",
      "Only in the old report:", "- Gone.: conditional",
      "Only in the new report:", "- New.: not measured"]
  assert compare.compare(new, new)[:2] == ["Verdicts changed (old -> new):", "- none"]


def test_compare_lists_a_run_whose_verdict_changed_under_an_unchanged_claim():
  def report(real_text, toy=SUPPORTED, claim=SUPPORTED):
    return {"claims": [{"question": "Q1", "statement": "DAPT helps.", "verdict": claim,
                        "margin": None, "runs": [
                            {"name": "toy", "verdict": toy, "margin": None},
                            {"name": "text_dapt", "verdict": real_text, "margin": None}]},
                       {"question": "Q4", "statement": "Quadratic.", "verdict": real_text,
                        "margin": None, "runs": [
                            {"name": "attention", "verdict": real_text, "margin": None}]}]}

  lines = compare.compare(report(INCONCLUSIVE), report(SUPPORTED))
  assert lines[:5] == [
      "Verdicts changed (old -> new):",
      "- [Q4] Quadratic.: inconclusive -> supported",  # its only run: said once, by the claim
      "Run verdicts changed, beside their claim's (old -> new):",
      "- [Q1] DAPT helps. (`text_dapt`): inconclusive -> supported",
      "Margins, value - threshold (old -> new, change):"]
  both = compare.compare(report(SUPPORTED, toy=INCONCLUSIVE, claim=CONDITIONAL),
                         report(SUPPORTED, toy=SUPPORTED))
  assert both[1:4] == ["- [Q1] DAPT helps.: conditional -> supported",
                       "Run verdicts changed, beside their claim's (old -> new):",
                       "- [Q1] DAPT helps. (`toy`): inconclusive -> supported"]
  assert not any(line.startswith("Run verdicts") for line in compare.compare(
      report(SUPPORTED), report(SUPPORTED)))


def test_compare_pairs_a_renamed_run_through_the_flagfile_it_reads():
  def run(name, verdict, value, flagfile, includes=()):
    return {"name": name, "verdict": verdict, "flagfile": flagfile, "includes": list(includes),
            "margin": {"name": "m", "value": value, "threshold": -0.01}}

  def report(*runs):
    return {"claims": [{"question": "Q1", "statement": "Deeper is better.", "verdict": SUPPORTED,
                        "margin": None, "runs": [run("toy", SUPPORTED, -0.2, "toy.flags"),
                                                 *runs]}]}

  old = report(run("text_architecture", INCONCLUSIVE, -0.06, "flags/text_architecture.flags"))
  new = report(run("text_architecture_4000", SUPPORTED, -0.1, "flags/text_architecture_4000.flags",
                   ["flags/text_architecture.flags", "flags/text_quick.flags"]))
  lines = compare.compare(old, new)
  assert lines[2:4] == [
      "Run verdicts changed, beside their claim's (old -> new):",
      "- [Q1] Deeper is better. (`text_architecture -> text_architecture_4000`): inconclusive -> "
      "supported"]
  assert ("- [Q1] Deeper is better. (`text_architecture -> text_architecture_4000`): -0.05 -> "
          "-0.09 (-0.04)") in lines
  # a new run that reads no old run's flagfile is new, not a rename; nor is a run still there
  unrelated = report(run("text_other", SUPPORTED, -0.1, "flags/text_other.flags",
                         ["flags/text_quick.flags"]))
  assert not any("text_other" in line for line in compare.compare(old, unrelated))
  kept = report(run("text_architecture", INCONCLUSIVE, -0.06, "flags/text_architecture.flags"),
                run("text_architecture_4000", SUPPORTED, -0.1, "x.flags",
                    ["flags/text_architecture.flags"]))
  assert not any("text_architecture -> " in line for line in compare.compare(kept, kept))


def test_report_json_names_the_flagfiles_a_run_reads_in_place():
  from genjax.report import protocols
  run = Run("text_dapt_5seeds", [], "", [], flagfile="experiments/flags/text_dapt_5seeds.flags",
            config={})
  assert protocols.included(run) == ["experiments/flags/text_dapt.flags"]
  assert protocols.included(Run("by_hand", [], "", [])) == []


def test_compare_says_where_the_environments_differ_in_what_numbers_depend_on():
  env = {"jax": "0.10.2", "cpu_model": "AMD EPYC", "cpu_count": 2, "xla_flags": "",
         "wall_seconds": 1400.0, "jobs": 2}
  old, new = ({**_made_up([("Collapse.", SUPPORTED, [])]), "environment": e}
              for e in (env, {**env, "cpu_count": 4, "wall_seconds": 900.0, "jobs": 4}))
  assert compare.compare(old, new)[-2:] == [
      "Environment differs in what trained numbers depend on (GAN training amplifies it):",
      "- cpu_count: 2 -> 4"]  # the wall time and jobs are not listed: no number depends on them
  assert compare.compare(old, old)[-1].startswith("Environment: the same jax, jaxlib,")
  assert compare.compare(_made_up([]), new)[-1] == (
      "Environment: not recorded in the old report")
  assert not compare.compare(_made_up([]), _made_up([]))[-1].startswith("Environment")


def test_report_json_commands_are_what_a_user_types(tmp_path, monkeypatch):
  """No interpreter or checkout path of the machine that made the report."""
  script = tmp_path / "experiments" / "vae.py"
  script.parent.mkdir()
  script.write_text("")
  monkeypatch.chdir(tmp_path)
  runs = _runs(tmp_path)
  runs[0].command = [sys.executable, str(script), "--flagfile=experiments/flags/vae_quick.flags"]
  json_file.write(str(tmp_path / "REPORT.json"), runs, judge(runs))
  (first, _) = json.loads((tmp_path / "REPORT.json").read_text())["runs"]
  assert first["command"] == ["python", os.path.join("experiments", "vae.py"),
                              "--flagfile=experiments/flags/vae_quick.flags"]


@pytest.mark.parametrize("content", ['{"claims": 5}', '[1, 2]', 'not json', '{"claims": [{}]}'])
def test_a_file_that_is_not_a_report_is_one_error(tmp_path, content):
  bad = tmp_path / "B.json"
  bad.write_text(content)
  with pytest.raises(UserError, match="B.json is not a"):
    compare.compare_files(str(bad), str(bad))


WEAK = Margin.of_values("gap", [1.0, 2.0, 1.5], 0.0)  # p = 0.035 on 2 dof
STRONG = Margin.of_values("gap", [1.0, 1.1, 0.9], 0.0)  # p = 0.0033


def test_a_combined_claim_keeps_its_deciding_runs_p_and_holm_answer(tmp_path):
  claim = Claim("Q3", "On two runs.", "vae", "—", lambda results: results["finding"])
  other = Claim("Q3", "Elsewhere.", "vae", "—", lambda results: results["other"])
  runs = [Run(name, ["python"], str(tmp_path), [claim, other],
              results={"finding": finding, "other": Finding(SUPPORTED, "o", margin=STRONG)})
          for name, finding in (("a", Finding(SUPPORTED, "a", margin=WEAK)),
                                ("b", Finding(INCONCLUSIVE, "b", "straddles", GAP)))]
  data = json_file.to_json(runs, judge(runs), str(tmp_path))
  two, _ = data["claims"]
  assert two["verdict"] == SUPPORTED and two["margin"] == json_file.margin_json(WEAK)
  assert two["deciding_runs"] == ["a"] and two["p_value"] == pytest.approx(WEAK.p_value())
  # A family of 4 (0.0033 twice, 0.035, 0.23): 0.035 > 0.05 / 2, so it does not survive.
  assert two["clear_after_holm"] is False and two["runs"][0]["clear_after_holm"] is False
  assert two["runs"][0]["protocol"] == "" and data["runs"][0]["protocol"] == ""  # no flagfile


def test_the_note_names_claims_the_full_protocol_reads_otherwise_with_both_numbers():
  here = {"claims": [
      {"question": "Q1", "statement": "Attention.", "verdict": INCONCLUSIVE,
       "margin": json_file.margin_json(GAP),
       "runs": [{"name": "arch_5seeds", "protocol": "the quick configuration with 5 seeds"}]},
      {"question": "Q1", "statement": "Same.", "verdict": SUPPORTED, "margin": None, "runs": []},
      {"question": "Q1", "statement": "Only here.", "verdict": SUPPORTED, "margin": None,
       "runs": []}]}
  there = {"environment": {"devices": 1, "device_kind": "an accelerator"}, "claims": [
      {"question": "Q1", "statement": "Attention.", "verdict": SUPPORTED,
       "margin": json_file.margin_json(STRONG),
       "runs": [{"name": "arch", "protocol": "the full configuration"}]},
      {"question": "Q1", "statement": "Same.", "verdict": SUPPORTED, "margin": None,
       "runs": []}]}
  where = compare.where_it_ran(there, "gpu/REPORT.json")
  assert where == "1 x an accelerator (`gpu/REPORT.json`)"
  assert compare.elsewhere(here, there, where) == [
      "- [Q1] Attention. Here **inconclusive** (gap: +1.000 [-1.500, +3.500] (95% t, 3 seeds); "
      "`arch_5seeds`, the quick configuration with 5 seeds); at the full protocol on 1 x an "
      "accelerator (`gpu/REPORT.json`) **supported** (gap: +1.000 [+0.752, +1.248] (95% t, 3 "
      "seeds); `arch`, the full configuration)."]
  assert compare.elsewhere(there, there, where) == []


def test_the_report_carries_the_note_or_says_the_full_protocol_agrees(tmp_path):
  from genjax.report import markdown

  runs = _runs(tmp_path)
  sections = judge(runs)
  data = json_file.to_json(runs, sections, str(tmp_path))
  flipped = {**data, "claims": [{**c, "verdict": SUPPORTED} for c in data["claims"]]}
  text = markdown.write(str(tmp_path / "R.md"), runs, sections, full=("a GPU", flipped))
  assert "## The full protocol elsewhere\n\n- [Q3] A close call. Here **inconclusive**" in text
  assert "at the full protocol on a GPU **supported**" in text
  same = markdown.write(str(tmp_path / "R.md"), runs, sections, full=("a GPU", data))
  assert "The full protocol run on a GPU reads every claim both reports judged as" in same
  assert "## The full protocol elsewhere" not in markdown.write(str(tmp_path / "R.md"), runs,
                                                                sections)

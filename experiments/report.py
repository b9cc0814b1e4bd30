"""The claims report: run every experiment's configuration, judge every claim, write REPORT.md.

python experiments/report.py --flagfile=experiments/flags/report_quick.flags

Finished runs are reused (their workdir holds results.json) unless --rerun is given.
"""

import importlib
import os
import sys

from absl import app, flags

from genjax import cli
from genjax.claims import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# experiment name -> (entry script, module whose CLAIMS judge its results.json)
EXPERIMENTS = {
    "vae": ("experiments/vae.py", "genjax.claims.vae"),
    "gan": ("experiments/gan.py", "genjax.claims.gan"),
    "attention": ("experiments/attention.py", "genjax.claims.attention"),
    "domain": ("experiments/domain.py", "genjax.claims.domain"),
}

flags.DEFINE_list("runs", ["vae:experiments/flags/vae_digits.flags"],
                  "name:flagfile pairs; a name may repeat with other flagfiles (name is the "
                  "experiment, e.g. domain:experiments/flags/domain_diversity_quick.flags). "
                  "name:long.flags|quick.flags judges the claims on the first of the flagfiles "
                  "whose run has finished in the workdir, and runs the last one if none has.")
flags.DEFINE_string("workdir", "workdirs/report", "Where the runs and REPORT.md go.")
flags.DEFINE_bool("rerun", False, "Run again even where results.json exists.")
FLAGS = flags.FLAGS


def plan_one(name: str, flagfile: str, spec: str) -> report.Run:
  if not os.path.exists(flagfile):
    raise SystemExit(f"error: --runs entry {spec!r}: no flagfile {flagfile}")
  script, claims_module = EXPERIMENTS[name]
  label = os.path.splitext(os.path.basename(flagfile))[0]
  workdir, results_file = os.path.join(FLAGS.workdir, label), "results.json"
  claims = importlib.import_module(claims_module).CLAIMS
  if name == "domain":
    # The studies of one size share a workdir, so one pretrained model serves them all.
    study = cli.config_from_flagfile("domain", flagfile)[0].study
    size = "domain_quick" if label.endswith("_quick") else "domain"
    workdir, results_file = os.path.join(FLAGS.workdir, size), f"results_{study}.json"
    claims = importlib.import_module(claims_module).STUDY_CLAIMS[study]
  command = [sys.executable, os.path.join(ROOT, script), f"--flagfile={flagfile}",
             f"--workdir={workdir}"]
  return report.Run(label, command, workdir, claims, results_file)


def plan(spec: str) -> report.Run:
  """The run a --runs entry stands for: the first finished alternative, else the last one."""
  name, sep, flagfiles = spec.partition(":")
  if not sep or name not in EXPERIMENTS:
    raise SystemExit(f"error: --runs entry {spec!r} must be NAME:FLAGFILE with NAME one of "
                     f"{', '.join(EXPERIMENTS)}")
  return report.first_finished([plan_one(name, f, spec) for f in flagfiles.split("|")])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  runs = [plan(spec) for spec in FLAGS.runs]
  os.makedirs(FLAGS.workdir, exist_ok=True)
  for run in runs:
    print(f"running {run.name} ...", flush=True)
    report.execute(run, FLAGS.rerun)
  sections = report.judge(runs)
  path = os.path.join(FLAGS.workdir, "REPORT.md")
  report.write(path, runs, sections)
  print(f"wrote {path}")


if __name__ == "__main__":
  app.run(main)

"""The claims report: run every experiment's configuration, judge every claim, write REPORT.md
and REPORT.json.

python experiments/report.py                      # every claim, quick protocols from scratch
python experiments/report.py --flagfile=experiments/flags/report_full.flags
python experiments/report.py --compare=OLD/REPORT.json                   # then what changed
python experiments/report.py --compare=OLD/REPORT.json --against=NEW/REPORT.json  # runs nothing
python experiments/report.py --launcher=slurm --slurm_partition=gpu  # one SLURM job per run

A finished run is reused only when its workdir's results were made by the same config (else it
runs again), unless --rerun is given. Bad input: one `error:` line, exit 2; a failed
experiment: its command and the last lines of its stderr, exit 1.
"""

import os
import sys
import time

import _huge_pages  # noqa: F401  (first: restarts once with glibc's huge-page tunable)

# isort: split
import _genjax_check  # noqa: F401  (before genjax: one error line if another genjax shadows ours)
from absl import flags

from genjax import cli, identity, launch, logs, registry
from genjax.claims import plan as run_plan
from genjax.claims import report, report_json, report_md, schedule
from genjax.errors import UserError

EXPERIMENTS = registry.EXPERIMENTS

flags.DEFINE_list("runs", report.QUICK_RUNS,
                  "name:flagfile pairs; a name may repeat with other flagfiles (name is the "
                  "experiment, e.g. domain:experiments/flags/domain_diversity_quick.flags). "
                  "name:long.flags|quick.flags judges the claims on the first of the flagfiles "
                  "whose run has finished with its config in the workdir, and runs the last one "
                  "if none has.")
flags.DEFINE_string("workdir", report.QUICK_WORKDIR,
                    "Where the runs, REPORT.md and REPORT.json go.")
flags.DEFINE_integer("jobs", 0, "Runs at a time (0: 2 on a CPU with 2+ cores, 1 on a GPU/TPU; "
                     "timed runs always run alone; see genjax/claims/schedule.py).")
flags.DEFINE_bool("rerun", False, "Run again even where a finished run of the same config exists.")
flags.DEFINE_bool("plan_only", False, "Print the plan (the runs, which are reused, the expected "
                  "times) and stop: nothing runs and nothing is written.")
flags.DEFINE_string("compare", None, "An earlier REPORT.json: list the verdicts that changed and "
                    "how far the margins moved.")
flags.DEFINE_string("against", None, "With --compare: compare with this REPORT.json instead of "
                    "running the report.")
launch.define_flags()
flags.adopt_module_key_flags(launch)  # --help lists them
FLAGS = flags.FLAGS


def plan_one(name: str, flagfile: str, spec: str) -> report.Run:
  if not os.path.exists(flagfile):
    raise UserError(f"--runs entry {spec!r}: no flagfile {flagfile}")
  experiment = EXPERIMENTS[name]
  label = os.path.splitext(os.path.basename(flagfile))[0]
  config = cli.config_from_flagfile(name, flagfile)[0]
  # Runs that share a workdir (the domain studies: one pretrained model) get the same one.
  workdir = experiment.workdir(FLAGS.workdir, label, config)
  # --restart: the report runs it because the workdir holds no finished run of this config; a
  # run of another config there is moved aside (never deleted), a partial one of this resumes.
  command = [sys.executable, experiment.script_path, f"--flagfile={flagfile}",
             f"--workdir={workdir}", "--restart"]
  return report.Run(label, command, workdir, experiment.claims_for(config), flagfile=flagfile,
                    config=config, experiment=name)


def plan(spec: str) -> report.Run:
  """The run a --runs entry stands for: the first finished alternative, else the last one."""
  name, sep, flagfiles = spec.partition(":")
  if not sep or name not in EXPERIMENTS:
    raise UserError(f"--runs entry {spec!r} must be NAME:FLAGFILE with NAME one of "
                    f"{', '.join(EXPERIMENTS)}")
  return report.first_finished([plan_one(name, f, spec) for f in flagfiles.split("|")])


def print_comparison(old: str, new: str) -> None:
  for path in (old, new):
    if not os.path.exists(path):
      raise UserError(f"no report {path} to compare")
  print(f"{old} -> {new}")
  print("\n".join(report_json.compare_files(old, new)))


def execute(run: report.Run) -> str:
  """Runs (or reuses) one run; says which, for the progress lines."""
  report.execute(run, FLAGS.rerun)
  if run.wall_seconds is None:
    return "reused (finished with this config in its workdir)"
  return f"ran in {run.wall_seconds:.0f} s"


def execute_on_slurm(slurm: launch.Slurm, runs: list[report.Run]) -> int:
  """Runs (or reuses) every run as a SLURM job, then loads their results; returns the most
  jobs that could run at once (every lane and timed run)."""
  tasks = [launch.Task(run.name, run.command, run.workdir, EXPERIMENTS[run.experiment].timed)
           for run in runs]
  by_name = {run.name: run for run in runs}
  seconds = slurm.run_all(tasks, reuse=lambda task: not FLAGS.rerun
                          and report.finished(by_name[task.name]))
  for run in runs:
    if not report.finished(run):  # the job ended well, yet its workdir holds no such results
      raise report.RunFailed(f"run {run.name}: its job ended, but {run.workdir} holds no "
                             "finished run of its config")
    if seconds.get(run.name) is not None:
      times = os.path.join(run.workdir, report.TIMES_FILE)
      recorded = report.read_json(times) or {}
      identity.write_json(times, recorded | {run.name: seconds[run.name]})
    report.execute(run, rerun=False)  # loads its results (and its recorded time)
    run.wall_seconds = seconds.get(run.name)
  return len({task.name if task.timed else os.path.abspath(task.lane) for task in tasks})


def main(argv):
  if FLAGS.against:
    if not FLAGS.compare:
      raise UserError("--against needs --compare=OLD/REPORT.json")
    print_comparison(FLAGS.compare, FLAGS.against)
    return
  if FLAGS.compare and not os.path.exists(FLAGS.compare):  # before hours of runs, not after
    raise UserError(f"no report {FLAGS.compare} to compare")
  if FLAGS.jobs < 0:
    raise UserError(f"--jobs={FLAGS.jobs}: give a number of runs at a time, or 0 for automatic")
  slurm = launch.from_flags(FLAGS.workdir)
  runs = [plan(spec) for spec in FLAGS.runs]
  timed = lambda run: EXPERIMENTS[run.experiment].timed  # noqa: E731
  reused = {run.name: not FLAGS.rerun and report.finished(run) for run in runs}
  local_jobs = FLAGS.jobs or schedule.default_jobs()
  lines, expected, estimates = run_plan.describe(runs, reused, timed, local_jobs,
                                                 slurm=bool(slurm))
  print("\n".join(lines), flush=True)
  if FLAGS.plan_only:
    return
  logs.make_folder(FLAGS.workdir)
  start = time.perf_counter()
  if slurm:
    jobs = execute_on_slurm(slurm, runs)
  else:
    jobs = local_jobs

    def announce(line: str) -> None:  # the time left, at the pace of the runs finished so far
      pace = run_plan.pace([(run.wall_seconds, estimates[run.name]) for run in runs
                            if run.wall_seconds is not None and run.name in estimates])
      print(run_plan.progress(line, time.perf_counter() - start, expected, pace), flush=True)

    schedule.execute_all(runs, execute, timed=timed, jobs=jobs, announce=announce)
  how = {"jobs": jobs, "wall_seconds": time.perf_counter() - start}
  if not slurm and not all(reused.values()):
    print(f"wall time {how['wall_seconds']:.0f} s against an estimate of {expected:.0f} s",
          flush=True)
  sections = report.judge(runs)
  path = os.path.join(FLAGS.workdir, "REPORT.md")
  report_md.write(path, runs, sections, how)
  report_json.write(os.path.join(FLAGS.workdir, "REPORT.json"), runs, sections, how)
  print(f"wrote {path} and REPORT.json beside it")
  if FLAGS.compare:
    print_comparison(FLAGS.compare, os.path.join(FLAGS.workdir, "REPORT.json"))


if __name__ == "__main__":
  cli.run(main, distributed=False)

"""The claims report: run every experiment's configuration, judge every claim, write REPORT.md
and REPORT.json.

python experiments/report.py                      # every claim, quick protocols from scratch
python experiments/report.py --flagfile=experiments/flags/report_full.flags
python experiments/report.py --compare=OLD/REPORT.json                   # then what changed
python experiments/report.py --compare=OLD/REPORT.json --against=NEW/REPORT.json  # runs nothing
python experiments/report.py --launcher=slurm --slurm_partition=gpu  # one SLURM job per run

A finished run is reused only when its workdir's results were made by the same config and read
whole, in the shape its claims read (else it runs again), unless --rerun is given. Bad input:
one `error:` line, exit 2; a failed experiment: its command and the last lines of its stderr,
exit 1.
"""

import os
import sys
import time

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)
# The report and its runs share one accelerator when --jobs > 1 (report_gpu.flags): JAX's
# default, taking 75% of its memory in every process, would leave the second run none. Each
# process then takes what it uses; an explicit setting is the user's. Nothing changes on a CPU.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

# isort: split
from absl import flags

from genjax import cli, identity, launch, logs, registry
from genjax.errors import UserError
from genjax.report import compare, json_file, machine, markdown, schedule, slurm_jobs
from genjax.report import plan as run_plan
from genjax.report import runs as report_runs
from genjax.report.judge import judge

EXPERIMENTS = registry.EXPERIMENTS

flags.DEFINE_list("runs", report_runs.QUICK_RUNS,
                  "name:flagfile pairs; a name may repeat with other flagfiles (name is the "
                  "experiment, e.g. domain:experiments/flags/domain_diversity_quick.flags). "
                  "name:long.flags|quick.flags judges the claims on the first of the flagfiles "
                  "whose run has finished with its config in the workdir, and runs the last one "
                  "if none has.")
flags.DEFINE_string("workdir", report_runs.QUICK_WORKDIR,
                    "Where the runs, REPORT.md and REPORT.json go.")
flags.DEFINE_integer("jobs", 0, "Runs at a time (0: 2 on a CPU with 2+ cores, 1 on a GPU/TPU; "
                     "timed runs always run alone; see genjax/report/schedule.py).")
flags.DEFINE_bool("rerun", False, "Run again even where a finished run of the same config exists.")
flags.DEFINE_bool("plan_only", False, "Print the plan (the runs, which are reused, the expected "
                  "times) and stop: nothing runs and nothing is written.")
flags.DEFINE_string("compare", None, "An earlier REPORT.json: list the verdicts that changed and "
                    "how far the margins moved.")
flags.DEFINE_string("against", None, "With --compare: compare with this REPORT.json instead of "
                    "running the report.")
flags.DEFINE_string("full_elsewhere", None, "A REPORT.json of the full protocols run elsewhere "
                    "(e.g. reports/gpu/REPORT.json): REPORT.md notes each claim it reads "
                    "otherwise, with both numbers.")
flags.DEFINE_bool("slurm_detach", False, "--launcher=slurm: submit the runs, and after them a "
                  "job that judges them and writes REPORT.md, then exit at once: the report "
                  "completes without this process (a rerun attaches to the queued jobs).")
launch.define_flags()
flags.adopt_module_key_flags(launch)  # --help lists them
FLAGS = flags.FLAGS


def plan_one(name: str, flagfile: str, spec: str) -> report_runs.Run:
  if not os.path.exists(flagfile):
    raise UserError(f"--runs entry {spec!r}: no flagfile {flagfile}")
  experiment = EXPERIMENTS[name]
  label = os.path.splitext(os.path.basename(flagfile))[0]
  config = cli.config_from_flagfile(name, flagfile)[0]
  # Runs that share a workdir (the domain or text studies: the models trained there) get the
  # same one.
  workdir = experiment.workdir(FLAGS.workdir, label, config)
  # --restart: the report runs it because the workdir holds no finished run of this config; a
  # run of another config there is moved aside (never deleted), a partial one of this resumes.
  command = [sys.executable, experiment.script_path, f"--flagfile={flagfile}",
             f"--workdir={workdir}", "--restart"]
  return report_runs.Run(label, command, workdir, experiment.claims_for(config),
                         flagfile=flagfile, config=config, experiment=name)


def plan(spec: str) -> report_runs.Run:
  """The run a --runs entry stands for: the first finished alternative, else the last one."""
  name, sep, flagfiles = spec.partition(":")
  if not sep or name not in EXPERIMENTS:
    raise UserError(f"--runs entry {spec!r} must be NAME:FLAGFILE with NAME one of "
                    f"{', '.join(EXPERIMENTS)}")
  return report_runs.first_finished([plan_one(name, f, spec) for f in flagfiles.split("|")])


def plan_all(specs: list[str]) -> list[report_runs.Run]:
  """The runs of --runs; UserError when it names none, one run twice (two entries of one name
  share a workdir and would be judged as two runs), or two runs of one shared workdir that
  disagree on its shared fields (found before hours of runs, not after)."""
  specs = [spec.strip() for spec in specs if spec.strip()]
  if not specs:
    raise UserError("--runs is empty: give NAME:FLAGFILE entries separated by commas (e.g. "
                    "--runs=vae:experiments/flags/vae_mnist_quick.flags), or leave the flag out "
                    "for every claim's quick run")
  runs, seen, by_workdir = [], {}, {}
  for spec in specs:
    run = plan(spec)
    if run.name in seen:
      raise UserError(f"--runs entries {seen[run.name]!r} and {spec!r} both run {run.name} "
                      "(runs are named by their flagfile's name): give each run once")
    seen[run.name] = spec
    first, first_spec = by_workdir.setdefault(run.workdir, (run, spec))
    if why := identity.shared_differences(first.config, run.config, EXPERIMENTS[run.experiment]):
      raise UserError(f"--runs entries {first_spec!r} and {spec!r} share the workdir "
                      f"{run.workdir} but not its shared fields ({why}): the second would move "
                      "the first's models aside; give it a flagfile name of its own (as "
                      "text_dapt_5seeds.flags)")
    runs.append(run)
  return runs


def print_comparison(old: str, new: str) -> None:
  for path in (old, new):
    if not os.path.exists(path):
      raise UserError(f"no report {path} to compare")
  print(f"{old} -> {new}")
  print("\n".join(compare.compare_files(old, new)))


def execute(run: report_runs.Run) -> str:
  """Runs (or reuses) one run; says which, for the progress lines."""
  report_runs.execute(run, FLAGS.rerun)
  if run.wall_seconds is None:
    return "reused (finished with this config in its workdir)"
  if run.resumed:
    return f"resumed, ran {run.wall_seconds:.0f} s more (its own time is unknown)"
  return f"ran in {run.wall_seconds:.0f} s"


def main(argv):
  if FLAGS.against:
    if not FLAGS.compare:
      raise UserError("--against needs --compare=OLD/REPORT.json")
    print_comparison(FLAGS.compare, FLAGS.against)
    return
  if FLAGS.compare and not os.path.exists(FLAGS.compare):  # before hours of runs, not after
    raise UserError(f"no report {FLAGS.compare} to compare")
  if FLAGS.full_elsewhere and not os.path.exists(FLAGS.full_elsewhere):
    raise UserError(f"no report {FLAGS.full_elsewhere} for --full_elsewhere")
  if FLAGS.jobs < 0:
    raise UserError(f"--jobs={FLAGS.jobs}: give a number of runs at a time, or 0 for automatic")
  if FLAGS.slurm_detach and FLAGS.launcher != "slurm":
    raise UserError("--slurm_detach needs --launcher=slurm")
  slurm = launch.from_flags(FLAGS.workdir)
  runs = plan_all(FLAGS.runs)
  timed = lambda run: EXPERIMENTS[run.experiment].timed  # noqa: E731
  reused = {run.name: not FLAGS.rerun and report_runs.finished(run) for run in runs}
  notes = {run.name: why for run in runs
           if not reused[run.name] and (why := report_runs.not_reused_because(run))}
  local_jobs = FLAGS.jobs or schedule.default_jobs()
  lines, expected, estimates = run_plan.describe(runs, reused, timed, local_jobs,
                                                 slurm=bool(slurm), notes=notes)
  print("\n".join(lines), flush=True)
  if FLAGS.plan_only:
    return
  logs.make_folder(FLAGS.workdir)
  if slurm and FLAGS.slurm_detach:
    # The same report, run by a last job once every run succeeded: it reuses them all.
    judge_command = [sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:],
                     "--launcher=local", "--noslurm_detach", "--norerun"]
    job = slurm_jobs.submit_detached(slurm, runs, FLAGS.rerun, judge_command, FLAGS.workdir)
    print(f"submitted: SLURM job {job.job_id} writes {os.path.join(FLAGS.workdir, 'REPORT.md')} "
          f"once every run has succeeded (its log: {job.paths.stderr}); this process can go",
          flush=True)
    return
  # The machine's speed where runs run here, before they start and after they end (none
  # beside it then): a shared machine's speed moves over a report's hour.
  measure_speed = not slurm and not all(reused.values())
  speed_before = machine.matmul_gflops() if measure_speed else None
  start = time.perf_counter()
  if slurm:
    jobs = slurm_jobs.execute_all(slurm, runs, FLAGS.rerun)
  else:
    jobs = local_jobs

    def announce(line: str) -> None:  # the time left, at the pace of the runs finished so far
      pace = run_plan.pace([(run.wall_seconds, estimates[run.name]) for run in runs
                            if report_runs.seconds(run) is not None and run.name in estimates])
      print(run_plan.progress(line, time.perf_counter() - start, expected, pace), flush=True)

    schedule.execute_all(runs, execute, timed=timed, jobs=jobs, announce=announce)
  how = {"jobs": jobs, "wall_seconds": time.perf_counter() - start}
  if measure_speed:
    how["matmul_gflops"] = [speed_before, machine.matmul_gflops()]
  if not slurm and any(reused[run.name] or run.resumed for run in runs):
    # This wall leaves out the reused runs and earlier attempts of resumed ones; what a report
    # that ran them all would take is their own times replayed on this schedule, kept beside it
    # (a flagfile's time line), or None where a run's own time is unknown (it was resumed).
    own = {run.name: report_runs.seconds(run) for run in runs}
    how["runs_wall_seconds"] = (None if None in own.values()
                                else run_plan.expected_wall(runs, own, timed, jobs))
  if not slurm and not all(reused.values()):
    print(f"wall time {how['wall_seconds']:.0f} s against an estimate of {expected:.0f} s",
          flush=True)
  sections = judge(runs)
  path = os.path.join(FLAGS.workdir, "REPORT.md")
  full = None
  if FLAGS.full_elsewhere:
    there = compare.load(FLAGS.full_elsewhere)
    full = (compare.where_it_ran(there, FLAGS.full_elsewhere), there)
  markdown.write(path, runs, sections, how, full=full)
  json_file.write(os.path.join(FLAGS.workdir, "REPORT.json"), runs, sections, how)
  print(f"wrote {path} and REPORT.json beside it")
  if FLAGS.compare:
    print_comparison(FLAGS.compare, os.path.join(FLAGS.workdir, "REPORT.json"))


if __name__ == "__main__":
  cli.run(main, distributed=False)

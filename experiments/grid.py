"""Run an experiment over a grid of config values, one workdir per run, and collect the results.

python experiments/grid.py --experiment=vae --flagfile_base=experiments/flags/vae_digits.flags \
    --grid="config.betas=0.5;2" --grid="config.seed=0;1" --workdir=workdirs/grid_vae

Finished runs (their workdir has results.json made by the same config, as the report checks)
are skipped, so rerunning the same line resumes a grid and a changed base flagfile runs again;
grid.md tabulates the main numbers of every finished run's results.json (genjax/grid.py).
--print_only prints the command lines (one per run) for a cluster scheduler instead;
--launcher=slurm runs each as a SLURM job (genjax/launch.py: --slurm_partition, --slurm_time, ...).
"""

import os

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)

# isort: split
from absl import flags

from genjax import cli, grid, launch
from genjax.report import schedule

flags.DEFINE_string("experiment", "vae", "Script name under experiments/ (vae, gan, domain, ...).")
flags.DEFINE_string("flagfile_base", None, "Flagfile every run starts from.")
flags.DEFINE_multi_string("grid", [], "An axis: config.FIELD=v1;v2;... (repeat for more axes).")
flags.DEFINE_multi_string("extra", [], "Flags added to every run, e.g. --extra=--config.seed=1")
flags.DEFINE_string("workdir", "workdirs/grid", "Parent folder of the runs' workdirs.")
flags.DEFINE_integer("processes", 0, "Runs at a time on this machine (0: the report's rule, 2 "
                     "on a CPU with 2+ cores, 1 on a GPU/TPU; genjax/report/schedule.py).")
flags.DEFINE_bool("print_only", False, "Print the command lines and exit.")
launch.define_flags()
flags.adopt_module_key_flags(launch)  # --help lists them
FLAGS = flags.FLAGS


def main(argv):
  # Bad input raises UserError: cli.run prints it as one line and exits with status 2.
  grid.check_options(FLAGS.experiment, FLAGS.flagfile_base, FLAGS.processes)
  slurm = None if FLAGS.print_only else launch.from_flags(FLAGS.workdir)
  axes = grid.parse_axes(FLAGS.grid, FLAGS.extra)
  points = grid.named_points(axes)
  workdirs = {name: os.path.join(FLAGS.workdir, name) for name in points}
  commands = {name: grid.command(FLAGS.experiment, FLAGS.flagfile_base, point, workdirs[name],
                                  FLAGS.extra) for name, point in points.items()}
  if FLAGS.print_only:
    for cmd in commands.values():
      print(grid.shell_line(cmd))
    return
  def finished():  # runs whose workdir holds results of their own config
    return {name for name, point in points.items()
            if grid.finished(FLAGS.experiment, FLAGS.flagfile_base, point, workdirs[name],
                             FLAGS.extra)}

  if slurm:  # the first failed job ends the grid with one line naming it and its log
    done = finished()
    slurm.run_all([launch.Task(name, commands[name], workdirs[name],
                               log=grid.log_path(workdirs[name])) for name in points],
                  reuse=lambda task: task.name in done)
    codes = {}
  else:
    processes = FLAGS.processes or schedule.default_jobs()
    codes = grid.run_all(commands, workdirs, processes, finished())
  failed = [name for name, code in codes.items() if code]
  table = grid.collect(FLAGS.experiment, points, workdirs, finished())
  with open(os.path.join(FLAGS.workdir, "grid.md"), "w") as f:
    f.write(table)
  print(table)
  if failed:
    logs = ", ".join(grid.log_path(workdirs[name]) for name in failed)
    cli.fail(f"{len(failed)} run(s) failed, see their logs: {logs}", code=1)


if __name__ == "__main__":
  cli.run(main, distributed=False)  # it only starts other processes

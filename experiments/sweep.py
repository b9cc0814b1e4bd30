"""Run an experiment over a grid of config values, one workdir per run, and collect the results.

python experiments/sweep.py --experiment=vae --flagfile_base=experiments/flags/vae_digits.flags \
    --grid="config.betas=0.5;2" --grid="config.seed=0;1" --workdir=workdirs/sweep_vae

Finished runs (their workdir has results.json) are skipped, so rerunning the same line resumes a
sweep; sweep.md tabulates the main numbers of every run's results.json (genjax/sweep.py).
--print_only prints the command lines (one per run) for a cluster scheduler instead.
"""

import os

from absl import flags

from genjax import cli, sweep

flags.DEFINE_string("experiment", "vae", "Script name under experiments/ (vae, gan, domain, ...).")
flags.DEFINE_string("flagfile_base", None, "Flagfile every run starts from.")
flags.DEFINE_multi_string("grid", [], "An axis: config.FIELD=v1;v2;... (repeat for more axes).")
flags.DEFINE_multi_string("extra", [], "Flags added to every run, e.g. --extra=--config.seed=1")
flags.DEFINE_string("workdir", "workdirs/sweep", "Parent folder of the runs' workdirs.")
flags.DEFINE_integer("processes", 2, "Runs at a time on this machine.")
flags.DEFINE_bool("print_only", False, "Print the command lines and exit.")
FLAGS = flags.FLAGS


def main(argv):
  # Bad input raises UserError: cli.run prints it as one line and exits with status 2.
  sweep.check_options(FLAGS.experiment, FLAGS.flagfile_base, FLAGS.processes)
  axes = [sweep.parse_axis(spec) for spec in FLAGS.grid]
  points = {sweep.run_name(p): p for p in sweep.expand(axes)}
  workdirs = {name: os.path.join(FLAGS.workdir, name) for name in points}
  commands = {name: sweep.command(FLAGS.experiment, FLAGS.flagfile_base, point, workdirs[name],
                                  FLAGS.extra) for name, point in points.items()}
  if FLAGS.print_only:
    for cmd in commands.values():
      print(sweep.shell_line(cmd))
    return
  codes = sweep.run_all(commands, workdirs, FLAGS.processes)
  failed = [name for name, code in codes.items() if code]
  table = sweep.collect(FLAGS.experiment, points, workdirs)
  with open(os.path.join(FLAGS.workdir, "sweep.md"), "w") as f:
    f.write(table)
  print(table)
  if failed:
    cli.fail(f"{len(failed)} run(s) failed, see their sweep.log: {failed}", code=1)


if __name__ == "__main__":
  cli.run(main)

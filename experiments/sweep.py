"""Run an experiment over a grid of config values, one workdir per run, and collect the results.

python experiments/sweep.py --experiment=vae --flagfile_base=experiments/flags/vae_digits.flags \
    --grid="config.betas=0.5;2" --grid="config.seed=0;1" --workdir=workdirs/sweep_vae

Finished runs (their workdir has results.md) are skipped, so rerunning the same line resumes a
sweep. --print_only prints the command lines (one per run) for a cluster scheduler instead.
"""

import os

from absl import app, flags

from genjax import sweep

flags.DEFINE_string("experiment", "vae", "Script name under experiments/ (vae, gan, domain, ...).")
flags.DEFINE_string("flagfile_base", None, "Flagfile every run starts from.")
flags.DEFINE_multi_string("grid", [], "An axis: config.FIELD=v1;v2;... (repeat for more axes).")
flags.DEFINE_multi_string("extra", [], "Flags added to every run, e.g. --extra=--config.seed=1")
flags.DEFINE_string("workdir", "workdirs/sweep", "Parent folder of the runs' workdirs.")
flags.DEFINE_integer("processes", 2, "Runs at a time on this machine.")
flags.DEFINE_bool("print_only", False, "Print the command lines and exit.")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    axes = [sweep.parse_axis(spec) for spec in FLAGS.grid]
  except sweep.UserError as e:
    raise SystemExit(f"error: {e}") from None
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
  table = sweep.collect(points, workdirs)
  with open(os.path.join(FLAGS.workdir, "sweep.md"), "w") as f:
    f.write(table)
  print(table)
  if failed:
    raise SystemExit(f"error: {len(failed)} run(s) failed, see their sweep.log: {failed}")


if __name__ == "__main__":
  app.run(main)

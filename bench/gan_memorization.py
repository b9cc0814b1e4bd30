"""Are a finished image GAN's samples copies of its training digits? (bench/memorization_check.py)

python bench/gan_memorization.py --workdir=workdirs/report_full/gan_mnist_full

Reads the run's final samples (samples.npz) and config, and prints, per method, the share of
sample digits closer to a training digit than 99% of unseen test digits are (test digits: 1% by
construction) and the median distance ratio, in pixels and in the digit classifier's features;
writes memorization.json and nearest_train.png (samples over their nearest training digit) into
the workdir, beside the run they measure (not bench/results/: they belong to that run).
"""

import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
from absl import flags

from bench import memorization_check as check
from genjax import cli

flags.DEFINE_string("workdir", None, "A finished image GAN run's workdir (holds samples.npz).")
flags.DEFINE_integer("samples_per_seed", 2500, "Samples per seed measured (the first ones).")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  if FLAGS.samples_per_seed < 1:
    cli.fail(f"--samples_per_seed must be at least 1; got {FLAGS.samples_per_seed}")
  results = check.check_run(FLAGS.workdir, FLAGS.samples_per_seed)
  print("\n".join(check.table(results)))
  print(f"wrote {check.RESULTS_FILE} and {check.FIGURE_FILE} in {FLAGS.workdir}")


if __name__ == "__main__":
  cli.run(main, distributed=False)

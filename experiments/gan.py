"""GAN mode coverage: vanilla GAN vs PacGAN, unrolled, minibatch-stddev, WGAN-GP, R1 (claim Q2).

python experiments/gan.py --flagfile=experiments/flags/gan_ring_quick.flags
"""

import _huge_pages  # noqa: F401  (first: restarts once with glibc's huge-page tunable)

# isort: split
import _genjax_check  # noqa: F401  (before genjax: one error line if another genjax shadows ours)
from absl import flags

from genjax import cli
from genjax.gan.train import train_and_evaluate

CONFIG = cli.define_flags("gan", default_workdir="workdirs/gan")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)


def main(argv):
  del argv
  train_and_evaluate(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)

"""GAN mode coverage: vanilla GAN vs PacGAN, unrolled, minibatch-stddev, WGAN-GP, R1 (claim Q2).

python experiments/gan.py --flagfile=experiments/flags/gan_ring_quick.flags
"""

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)

# isort: split
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

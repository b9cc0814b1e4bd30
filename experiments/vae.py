"""VAE vs standard autoencoder (seed claim Q3).

python experiments/vae.py --flagfile=experiments/flags/vae_digits.flags     # 8x8 digits
python experiments/vae.py --flagfile=experiments/flags/vae_mnist5k.flags    # 28x28 MNIST, offline
"""

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)

# isort: split
from absl import flags

from genjax import cli
from genjax.vae.train import train_and_evaluate

CONFIG = cli.define_flags("vae", default_workdir="workdirs/vae")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)


def main(argv):
  del argv
  train_and_evaluate(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)

"""Domain generalization of small transformer LMs on in-context Markov chains (issue 4).

python experiments/domain.py --flagfile=experiments/flags/domain_diversity_quick.flags
"""

import os

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)

# isort: split
import jax
from absl import flags

from genjax import cli
from genjax.domain.train import train_and_evaluate

CONFIG = cli.define_flags("domain", default_workdir="workdirs/domain")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)


def main(argv):
  del argv
  # The five studies compile the same samplers and steps; a persistent cache shares them.
  jax.config.update("jax_compilation_cache_dir",
                    os.path.join(flags.FLAGS.workdir, "jax_compilation_cache"))
  train_and_evaluate(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)

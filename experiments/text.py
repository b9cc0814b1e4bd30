"""Q1 on real text: byte-level language models across four registers (issue 35).

python experiments/text.py --flagfile=experiments/flags/text_diversity_quick.flags
"""

import os

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)

# isort: split
from genjax.configs.text import get_config  # a config file: no JAX

# On a CPU the seeds' one-seed steps run at once, each on a host device of its own (one per
# seed of the default config; numbers unchanged: genjax/startup.py).
startup.split_host_into_devices(get_config().num_seeds)

# isort: split
import jax
from absl import flags

from genjax import cli
from genjax.text.train import train_and_evaluate

CONFIG = cli.define_flags("text", default_workdir="workdirs/text")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)


def main(argv):
  del argv
  # A resumed run reads its compiled steps and evaluations back from a persistent cache.
  jax.config.update("jax_compilation_cache_dir",
                    os.path.join(flags.FLAGS.workdir, "jax_compilation_cache"))
  train_and_evaluate(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)

"""Attention scaling: every variant's time, memory and FLOPs against n (seed claim Q4).

python experiments/attention.py --flagfile=experiments/flags/attention_cpu_quick.flags

Writes results.csv, results.json (read by genjax.claims.attention), results.md (fitted slopes
with 95% CIs, attention-vs-MLP crossovers, largest n; both record jax/jaxlib and the XLA_FLAGS
in force), time_vs_n.png, memory_vs_n.png, crossover.png, config.json and metrics.jsonl to
--workdir. On CPU, if results.md reports "zero-reported" memory, XLA fused attention into one
library call; rerun with XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-dot,-eltwise,-reduce.
"""

import _genjax_check  # noqa: F401  (first: this checkout's genjax, or one error line)

# isort: split
from genjax import startup

startup.restart_with_huge_pages()  # once, before JAX loads (genjax/startup.py says why)
# A timed sweep reuses malloc's memory instead of fresh pages per call; results.json records it.
startup.restart_with_memory_reuse()

# isort: split
from absl import flags

from genjax import cli
from genjax.attention.experiment import run_sweep

CONFIG = cli.define_flags("attention", default_workdir="workdirs/attention_cpu_quick")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)


def main(argv):
  del argv
  run_sweep(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
  cli.run(main)

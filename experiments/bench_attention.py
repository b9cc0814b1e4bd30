"""CPU speed target for exact attention: % of the float32 matmul peak measured in the same run.

python experiments/bench_attention.py
Time:    20 s to 2 minutes on 2 CPU cores (16 candidates compiled, 5 interleaved rounds after
         a warm-up, genjax.timing).
Expect:  naive and jax.nn.dot_product_attention near 15-25% of peak; `blocked` (query blocks
         over whole key rows) above 50%; the best chunked (online softmax) within 1.3x of it.
"""

import _huge_pages  # noqa: F401  (first: restarts once with glibc's huge-page tunable)

# isort: split
import _genjax_check  # noqa: F401  (before genjax: one error line if another genjax shadows ours)
import jax
from absl import flags, logging

from genjax import cli, timing
from genjax.attention import bench

flags.DEFINE_integer("n", 4096, "Sequence length.")
flags.DEFINE_integer("d", 64, "Head dimension.")
flags.DEFINE_integer("heads", 4, "Attention heads.")
flags.DEFINE_integer("repeats", 5, "Interleaved timing rounds.")
flags.DEFINE_list("block_sizes", ["128", "256", "512", "1024"], "Query/key block sizes to try.")


def main(argv):
  del argv  # cli.run has refused stray arguments already
  FLAGS = flags.FLAGS
  logging.info("devices: %s", jax.devices())
  print(timing.describe(timing.environment()), flush=True)
  rows, peak = bench.speed_table(FLAGS.n, FLAGS.d, FLAGS.heads, FLAGS.repeats,
                                 tuple(int(b) for b in FLAGS.block_sizes))
  print(bench.format_table(rows, peak, FLAGS.n, FLAGS.d, FLAGS.heads), flush=True)


if __name__ == "__main__":
  cli.run(main)  # not app.run: --help exits 0, bad flags are one `error:` line

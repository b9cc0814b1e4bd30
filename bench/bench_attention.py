"""Exact attention's CPU speed as a share of the float32 matmul peak measured in the same rounds.

python bench/bench_attention.py                      # n=4096, d=64, 4 heads; block sizes 128-1024
python bench/bench_attention.py --n=1024 --block_sizes=128,256 --repeats=3

Races the naive kernel, jax.nn.dot_product_attention, `blocked` (query blocks over whole key
rows) and `chunked` (online softmax over key blocks) at every block size, with a 2048^3 float32
matmul in the same interleaved rounds (genjax.timing; one warm-up round first). Prints each
variant's best and median time, GFLOP/s, share of the peak (best round, and the median of the
per-round shares) and XLA's temp memory, then the best exact variant against the 50% target and
the best chunked one against the 1.3x target. The figures also go to bench/results/<cpu>.json
(bench/results.py); that folder holds the ones measured so far.
"""

import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
from absl import flags, logging

from bench import attention_speed, results
from genjax import cli, timing

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
  rows, peak = attention_speed.speed_table(FLAGS.n, FLAGS.d, FLAGS.heads, FLAGS.repeats,
                                           tuple(int(b) for b in FLAGS.block_sizes))
  print(attention_speed.format_table(rows, peak, FLAGS.n, FLAGS.d, FLAGS.heads), flush=True)
  results.record("bench_attention", rows, peak=peak, timing=timing.environment())


if __name__ == "__main__":
  cli.run(main)  # not app.run: --help exits 0, bad flags are one `error:` line

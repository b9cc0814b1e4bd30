"""Speed of the metrics' inner loops: the nearest-center search behind NDB and mode coverage
against the direct differences, and the conv judge's features at its batch against 4,096 images.

python bench/bench_metrics.py
python bench/bench_metrics.py --rounds=1 --scale=0.01   # a quick check that every row agrees

The first rows time genjax.metrics.coverage.nearest_centers beside the definition it replaces,
the argmin of the explicit squared differences (in chunks of the same memory), on the same
uniform random points: Stacked MNIST's NDB search (26,000 samples of 2,352 pixels against 100
bins), stacked 8x8 digits (192 pixels) and the 8-mode ring's coverage. The judge row times the
ConvNet's features and logits (what every FD and label histogram of MNIST samples reads;
untrained weights cost what trained ones do) on 54,000 binary 28x28 images, 4,096 a call against
classifier.JUDGE_BATCH. Interleaved rounds (genjax.timing); medians over rounds are compared,
and every row says whether both ways give the same numbers ("same numbers: yes"). The figures
also go to bench/results/<cpu>.json (bench/results.py); that folder holds the ones measured so
far.
"""

import functools
import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
import numpy as np
from absl import flags

from bench import results
from genjax import cli, timing
from genjax.metrics import coverage
from genjax.models import classifier

flags.DEFINE_integer("rounds", 3, "Interleaved timed rounds (the median is reported).")
flags.DEFINE_float("scale", 1.0, "Multiplies every case's number of samples (the tests shrink it).")
# (label, samples N, centers K, dimensions D): NDB on Stacked MNIST and on stacked 8x8 digits,
# coverage on the 8-mode ring.
CASES = (("Stacked MNIST NDB", 26_000, 100, 2352), ("stacked digits NDB", 26_000, 100, 192),
         ("ring coverage", 2_500, 8, 2))
JUDGED_IMAGES = 54_000  # the real-MNIST VAE's training split: a set it judges ten times a run
BEFORE_BATCH = 4_096  # images per call before classifier.JUDGE_BATCH
# Largest difference over the largest magnitude that float32 sums in another order stay within.
ROUNDING = 1e-5


def direct(samples_NxD, centers_KxD):
  """The definition: argmin over the N x K x D squared differences, and that distance."""
  chunk = max(1, coverage.CHUNK_FLOATS // centers_KxD.size)
  index, distance = [], []
  for start in range(0, len(samples_NxD), chunk):
    x = samples_NxD[start:start + chunk]
    d2_NxK = ((x[:, None, :] - centers_KxD[None]) ** 2).sum(-1)
    nearest = d2_NxK.argmin(1)
    index.append(nearest)
    distance.append(np.sqrt(d2_NxK[np.arange(len(x)), nearest]))
  return np.concatenate(index), np.concatenate(distance)


def main(argv):
  del argv
  print(timing.describe(timing.environment()), flush=True)
  rng = np.random.default_rng(0)
  rows = []
  for label, n, k, d in CASES:
    x_NxD = rng.random((max(1, int(n * flags.FLAGS.scale)), d))
    c_KxD = rng.random((k, d))
    calls = {"direct": functools.partial(direct, x_NxD, c_KxD),
             "matmul": functools.partial(coverage.nearest_centers, x_NxD, c_KxD)}
    (a_index, a_dist), (b_index, b_dist) = calls["direct"](), calls["matmul"]()
    same = (a_index == b_index).all() and (a_dist == b_dist).all()
    direct_s, matmul_s, ratio = interleaved(calls)
    print(f"{label} (N {len(x_NxD):,}, K {k}, D {d}): direct differences {direct_s:.3f} s, "
          f"matmul ranking {matmul_s:.3f} s; matmul {ratio:.1f}x faster; same numbers: "
          f"{'yes' if same else 'NO'}", flush=True)
    rows.append({"case": label, "samples": len(x_NxD), "centers": k, "dimensions": d,
                 "direct_s": direct_s, "matmul_s": matmul_s, "matmul_speedup": ratio,
                 "same_numbers": bool(same)})
  rows.append(bench_judge(rng))
  results.record("bench_metrics", rows, timing=timing.environment())


def interleaved(calls: dict) -> tuple[float, float, float]:
  """Median seconds of the two calls (before, after) over interleaved rounds, and the median
  per-round ratio before / after."""
  times_a, times_b = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=0).values()
  return (timing.median(times_a), timing.median(times_b),
          timing.median(timing.per_round_ratio(times_a, times_b)))


def bench_judge(rng) -> dict:
  """The conv judge's features and logits, BEFORE_BATCH images a call against JUDGE_BATCH:
  prints and returns its row."""
  net = classifier.make_net("conv", 28 * 28, (256, 128))
  params = net.init(jax.random.key(0), np.zeros((1, 28 * 28), np.float32))
  x_NxP = (rng.random((max(1, int(JUDGED_IMAGES * flags.FLAGS.scale)), 28 * 28)) < 0.5)
  x_NxP = x_NxP.astype(np.float32)
  judge = functools.partial(classifier._features_and_logits, net, params)
  calls = {"before": functools.partial(classifier._batched, judge, x_NxP, BEFORE_BATCH),
           "now": functools.partial(classifier._batched, judge, x_NxP)}
  outputs = {name: call() for name, call in calls.items()}  # also compiles both shapes
  pairs = list(zip(outputs["before"], outputs["now"], strict=True))
  same = all((a == b).all() for a, b in pairs)
  # XLA:CPU may pick another convolution algorithm for another batch size, which reorders the
  # float sums on some CPUs: then the two agree to float32 rounding, not bit for bit.
  rounding = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in pairs)
  verdict = "yes" if same else ("within float32 rounding (largest relative difference "
                                f"{rounding:.1e})" if rounding < ROUNDING else "NO")
  before_s, now_s, ratio = interleaved(calls)
  print(f"conv judge (N {len(x_NxP):,} 28x28 images): {BEFORE_BATCH:,} a call {before_s:.3f} s, "
        f"{classifier.JUDGE_BATCH:,} a call {now_s:.3f} s; {classifier.JUDGE_BATCH:,} "
        f"{ratio:.1f}x faster; same numbers: {verdict}", flush=True)
  return {"case": "conv judge", "samples": len(x_NxP), "before_batch": BEFORE_BATCH,
          "judge_batch": classifier.JUDGE_BATCH, "before_s": before_s, "now_s": now_s,
          "speedup": ratio, "same_numbers": bool(same),
          "largest_relative_difference": rounding}


if __name__ == "__main__":
  cli.run(main, distributed=False)  # not app.run: --help exits 0, bad flags are one `error:` line

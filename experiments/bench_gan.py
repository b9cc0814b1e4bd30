"""Seed-steps per second of the GAN train step, S = 1 vs S seeds vmapped, side by side.

python experiments/bench_gan.py --config=genjax/configs/gan.py --config.arch=small
Time:    about a minute on 2 CPU cores per (arch, method).
Expect:  S = 10 at least as many seed-steps/s as S = 1 when the step is compute bound on CPU
         (many times more on a GPU, where one small step leaves the device idle).
"""

import time

import jax
import numpy as np
from absl import flags, logging

from genjax import cli, parallel
from genjax.gan import data, train

CONFIG = cli.define_flags("gan", default_workdir="workdirs/bench_gan")
flags.DEFINE_list("seeds", ["1", "10"], "Numbers of vmapped seeds to compare.")
flags.DEFINE_integer("steps", 200, "Timed steps per measurement (after one warm-up call).")
flags.DEFINE_integer("repeats", 3, "Interleaved repetitions; the best of them is reported.")


def time_steps(config, method_name: str, num_seeds: int, steps: int) -> float:
  """Best-effort seconds for `steps` calls of the compiled S-seed step (warm-up excluded)."""
  config = config.copy_and_resolve_references()
  config.num_seeds = num_seeds
  setup = train.make_setup(config, data.make(config), train.parse_method(method_name))
  keys_S = train.seed_keys(config)
  state = jax.vmap(lambda k: train.init_state(setup, k))(keys_S)
  step = train.compile_seeds_step(setup, parallel.make("none"))
  batch = {}
  state, metrics = step(state, batch, keys_S)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(steps):
    state, metrics = step(state, batch, keys_S)
  jax.block_until_ready(metrics)
  return time.perf_counter() - start


def main(argv):
  del argv
  config, steps = CONFIG.value, flags.FLAGS.steps
  seeds = [int(s) for s in flags.FLAGS.seeds]
  logging.info("devices: %s", jax.devices())
  for method in train.method_names(config):
    best = {s: np.inf for s in seeds}
    for _ in range(flags.FLAGS.repeats):  # interleaved: a shared machine slows both alike
      for s in seeds:
        best[s] = min(best[s], time_steps(config, method, s, steps))
    cells = ", ".join(f"S={s}: {s * steps / best[s]:,.0f} seed-steps/s "
                      f"({steps / best[s]:,.0f} steps/s)" for s in seeds)
    print(f"{config.arch} {config.dataset} {method} batch {config.batch_size}: {cells}; "
          f"ratio S={seeds[-1]}/S={seeds[0]}: "
          f"{seeds[-1] * best[seeds[0]] / (seeds[0] * best[seeds[-1]]):.2f}x", flush=True)


if __name__ == "__main__":
  cli.run(main)

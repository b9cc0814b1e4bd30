"""Speed of the GAN train step: seed-steps/s for S seeds vmapped, as a share of the matmul peak.

python experiments/bench_gan.py --config.arch=small --config.methods=gan,pacgan2
python experiments/bench_gan.py --config.arch=pacgan --config.dataset=grid --config.methods=gan
Time:    about a minute per (arch, method) on 2 CPU cores.
Expect:  S = 10 at least as many seed-steps/s as S = 1 (many times more on a GPU, where one
         small step leaves the device idle); the share of the float32 matmul peak is printed.

Every S and a 2048^3 float32 matmul are timed in interleaved rounds (genjax.timing), so a busy
neighbour slows all of them alike; medians over rounds are compared. FLOPs are the step's matmul
FLOPs (2 M N K of every dot_general in its jaxpr, the seed axis and the unrolled/critic steps
included), as bench_vae counts them: elementwise work (Adam, activations, batch norm) is free.
"""

import math

import jax
from absl import flags, logging
from jax.extend import core

from genjax import cli, seeds, timing
from genjax.gan import data, step

CONFIG = cli.define_flags("gan", default_workdir="workdirs/bench_gan")
flags.DEFINE_list("seeds", ["1", "10"], "Numbers of vmapped seeds to compare.")
flags.DEFINE_integer("steps", 20, "Train steps per timed call.")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds (the median is reported).")
PEAK_SIZE = 2048  # the float32 matmul that measures the machine's peak: PEAK_SIZE^3


def jaxpr_matmul_flops(jaxpr) -> int:
  """2 * prod(out) * prod(contracted) over every dot_general, into sub-jaxprs and scans."""
  total = 0
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "dot_general":
      (lhs_contract, _), _ = eqn.params["dimension_numbers"]
      lhs_shape = eqn.invars[0].aval.shape
      contracted = math.prod(lhs_shape[d] for d in lhs_contract)
      total += 2 * math.prod(eqn.outvars[0].aval.shape) * contracted
    repeats = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
    for value in eqn.params.values():
      for item in value if isinstance(value, tuple | list) else (value,):
        if isinstance(item, core.ClosedJaxpr):
          total += repeats * jaxpr_matmul_flops(item.jaxpr)
        elif isinstance(item, core.Jaxpr):
          total += repeats * jaxpr_matmul_flops(item)
  return total


def make_call(config, method_name: str, num_seeds: int, steps: int):
  """A zero-argument callable running `steps` S-seed steps, and the matmul FLOPs of one step."""
  config = config.copy_and_resolve_references()
  config.num_seeds = num_seeds
  setup = step.make_setup(config, data.make(config), step.parse_method(method_name))
  keys_S = step.seed_keys(config)
  state = [jax.vmap(lambda k: step.init_state(setup, k))(keys_S)]
  train_step = step.compile_seeds_step(setup, seeds.make(num_seeds, "auto"))
  per_seed = step.make_train_step(setup)
  flops = jaxpr_matmul_flops(jax.make_jaxpr(jax.vmap(per_seed, in_axes=(0, None, 0)))(
      state[0], {}, keys_S).jaxpr)

  def call():
    for _ in range(steps):
      state[0], metrics = train_step(state[0], {}, keys_S)
    return metrics

  return call, flops


def main(argv):
  del argv
  config, steps = CONFIG.value, flags.FLAGS.steps
  seed_counts = [int(s) for s in flags.FLAGS.seeds]
  logging.info("devices: %s", jax.devices())
  print(timing.describe(timing.environment()), flush=True)
  for method in step.method_names(config):
    calls, flops = {}, {}
    for s in seed_counts:
      calls[f"S={s}"], step_flops = make_call(config, method, s, steps)
      flops[f"S={s}"] = steps * step_flops
    calls["peak"], flops["peak"] = timing.matmul(PEAK_SIZE)
    times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
    peak = flops["peak"] / timing.median(times["peak"])
    cells = []
    for s in seed_counts:
      name = f"S={s}"
      share = timing.median(timing.per_round_ratio(times["peak"], times[name])) * (
          flops[name] / flops["peak"])
      rate = s * steps / timing.median(times[name])
      cells.append(f"{name}: {rate:,.0f} seed-steps/s, {flops[name] / steps / s / 1e6:.1f} "
                   f"MFLOP/seed-step, {share:.0%} of peak")
    first, last = f"S={seed_counts[0]}", f"S={seed_counts[-1]}"
    ratio = (seed_counts[-1] * timing.median(times[first])) / (
        seed_counts[0] * timing.median(times[last]))
    print(f"{config.arch} {config.dataset} {method} batch {config.batch_size}: "
          f"{'; '.join(cells)}; ratio {last}/{first}: {ratio:.2f}x; matmul peak "
          f"{peak / 1e9:.0f} GFLOP/s (median of {flags.FLAGS.rounds} rounds; best "
          f"{flops['peak'] / min(times['peak']) / 1e9:.0f})", flush=True)


if __name__ == "__main__":
  cli.run(main)

"""Speed of the GAN train step: seed-steps/s for S seeds in one program, as a share of the peak.

python experiments/bench_gan.py --config.arch=small --config.methods=gan,pacgan2
python experiments/bench_gan.py --config.arch=pacgan --config.dataset=grid --config.latent_dim=2 \
    --config.methods=gan,pacgan2
python experiments/bench_gan.py --flagfile=experiments/flags/gan_stacked_mnist_full.flags \
    --seeds=1,3 --steps=10 --rounds=3
Time:    about a minute per (arch, method) on 2 CPU cores.
Expect:  S = 10 at least as many seed-steps/s as S = 1 for the MLP nets (many times more on a
         GPU, where one small step leaves the device idle), and config.steps_per_call steps per
         compiled call (what training runs) faster than one; the largest S is also timed with the
         other seed map (config.seed_map): for the DCGAN nets the loop over seeds runs 2-3x the
         seed-steps/s of vmap on 2 CPU cores, for the MLP nets vmap is the faster. On a CPU,
         XLA_FLAGS=--xla_force_host_platform_device_count=2 (one device per core) shards the
         seeds over the cores, as training with config.parallel=auto does. The largest S once
         more compiled with JAX's own rolled threefry loop (the same numbers): on the ring
         flagfile at S = 3 on CPU, genjax's unrolled lowering (random_fused) is the faster.

Every S and a 2048^3 float32 matmul are timed in interleaved rounds (genjax.timing), so a busy
neighbour slows all of them alike; medians over rounds are compared. FLOPs are the matmul and
convolution FLOPs of one seed's step as XLA compiled it (genjax.flop_count: 2 x multiply-adds of
every dot and convolution in the optimized HLO, taps on a dilated input's inserted zeros left
out), times S; elementwise work (Adam, activations, batch norm, drawing z) is free. The count of
the step as written (its jaxpr) is printed beside it: XLA runs G forward once where the D loss
and a simultaneous G loss both need it, so on the ring the jaxpr counts 1.43x what runs.
"""

import contextlib

import _genjax_check  # noqa: F401  (first: one error line if another genjax shadows ours)
import jax
from absl import flags, logging

from genjax import cli, flop_count, random_fused, seeds, timing
from genjax.errors import UserError
from genjax.gan import data, step

CONFIG = cli.define_flags("gan", default_workdir="workdirs/bench_gan")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)
flags.DEFINE_list("seeds", ["1", "10"], "Numbers of vmapped seeds to compare.")
flags.DEFINE_integer("steps", 50, "Train steps per timed call (a multiple of "
                     "config.steps_per_call).")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds (the median is reported).")
PEAK_SIZE = 2048  # the float32 matmul that measures the machine's peak: PEAK_SIZE^3


def make_call(config, method_name: str, num_seeds: int, steps: int, steps_per_call: int,
              seed_map: str, fused: bool = True):
  """A zero-argument callable running `steps` S-seed steps as training does (seeds over the
  devices of config.parallel, mapped by `seed_map`, `steps_per_call` steps per compiled call).
  fused=False: compiled with JAX's own rolled threefry loop
  (genjax.random_fused.unfused; the same numbers), the before of random_fused."""
  config = config.copy_and_resolve_references()
  config.num_seeds = num_seeds
  setup = step.make_setup(config, data.make_dataset(config), step.parse_method(method_name))
  keys_S = step.seed_keys(config)
  seed_parallel = seeds.seed_parallel(num_seeds, config.parallel, seed_map=seed_map)
  host_state = jax.vmap(lambda k: step.init_state(setup, k))(keys_S)
  state = [seed_parallel.put_state(host_state)]
  train_step = step.compile_seeds_step(setup, seed_parallel, steps_per_call)
  with contextlib.nullcontext() if fused else random_fused.unfused():
    state[0], _ = train_step(state[0], {}, keys_S)  # traced and compiled here, in that mode

  def call():
    for _ in range(steps // steps_per_call):
      state[0], metrics = train_step(state[0], {}, keys_S)
    return metrics

  return call


def seed_step_flops(config, method_name: str) -> tuple[int, int]:
  """Matmul FLOPs of one seed's step: (as XLA compiled it, as written in its jaxpr)."""
  setup = step.make_setup(config, data.make_dataset(config), step.parse_method(method_name))
  key = step.seed_keys(config)[0]
  state = step.init_state(setup, key)
  per_seed = step.make_train_step(setup)
  return (flop_count.compiled_matmul_flops(per_seed, state, {}, key),
          flop_count.jaxpr_matmul_flops(jax.make_jaxpr(per_seed)(state, {}, key).jaxpr))


def main(argv):
  del argv
  config, steps = CONFIG.value, flags.FLAGS.steps
  seed_counts = [int(s) for s in flags.FLAGS.seeds]
  per_call = config.steps_per_call
  if steps % per_call:
    raise UserError(f"--steps={steps} must be a multiple of config.steps_per_call={per_call}")
  logging.info("devices: %s", jax.devices())
  print(timing.describe(timing.environment()), flush=True)
  # What training runs (steps_per_call per call, its seed map) for every S; the largest S one
  # step a call, and with the other seed map.
  trained_map = step.seed_map(config)
  candidates = {f"S={s}": (s, per_call, trained_map) for s in seed_counts}
  if per_call > 1:
    candidates[f"S={seed_counts[-1]}, 1 step/call"] = (seed_counts[-1], 1, trained_map)
  other_map = next(m for m in seeds.SEED_MAPS if m != trained_map)
  candidates[f"S={seed_counts[-1]}, seeds by {other_map}"] = (seed_counts[-1], per_call,
                                                              other_map)
  # The same program with JAX's own rolled threefry loop: before random_fused.
  candidates[f"S={seed_counts[-1]}, rolled threefry"] = (seed_counts[-1], per_call,
                                                             trained_map, False)
  for method in step.method_names(config):
    calls, flops = {}, {}
    compiled_flops, written_flops = seed_step_flops(config, method)
    for name, (s, k, how, *fused) in candidates.items():
      calls[name] = make_call(config, method, s, steps, k, how, *fused)
      flops[name] = steps * s * compiled_flops
    calls["peak"], flops["peak"] = timing.matmul(PEAK_SIZE)
    times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
    peak = flops["peak"] / timing.median(times["peak"])
    print(f"{config.arch} {config.dataset} {method}, batch {config.batch_size}, "
          f"{per_call} steps per call, seeds by {trained_map}, "
          f"{seeds.seed_parallel(seed_counts[-1], config.parallel).num_devices}"
          f" device(s) at S={seed_counts[-1]}; matmul peak {peak / 1e9:.0f} GFLOP/s (median of "
          f"{flags.FLAGS.rounds} rounds; best {flops['peak'] / min(times['peak']) / 1e9:.0f}); "
          f"{compiled_flops / 1e6:.1f} MFLOP/seed-step as compiled ({written_flops / 1e6:.1f} "
          f"as written, {written_flops / compiled_flops:.2f}x):", flush=True)
    for name, (s, *_) in candidates.items():
      share = timing.median(timing.per_round_ratio(times["peak"], times[name])) * (
          flops[name] / flops["peak"])
      rate = s * steps / timing.median(times[name])
      print(f"  {name}: {rate:,.0f} seed-steps/s, {share:.0%} of peak", flush=True)


if __name__ == "__main__":
  cli.run(main)

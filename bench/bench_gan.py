"""Speed of the GAN train step: seed-steps/s for S seeds in one program, as a share of the peak.

python bench/bench_gan.py --config.arch=small --config.methods=gan,pacgan2
python bench/bench_gan.py --config.arch=pacgan --config.dataset=grid --config.latent_dim=2 \
    --config.methods=gan,pacgan2
python bench/bench_gan.py --flagfile=experiments/flags/gan_stacked_mnist_full.flags \
    --seeds=1,3 --steps=10 --rounds=3
python bench/bench_gan.py --flagfile=experiments/flags/gan_ring_metz_appendix_quick.flags \
    --seeds=3 --profile_dir=/tmp/ring_profile   # and where the step's kernel time goes

Rows, per method: every S of --seeds as training runs it (config.steps_per_call steps per
compiled call, its seed map); the largest S also at one step a call, with the other seed map
(config.seed_map: vmap or a loop over seeds), compiled with JAX's own rolled threefry loop
(genjax.random_fused.unfused; the same numbers) against the unrolled lowering
(random_fused.install(), called here), once with every normal a precomputed constant (drawing
free; other numbers: the step's ceiling with no cost of sampling), and for the conv nets (dcgan,
metz_dcgan) with the other lowering of G's transposed convolutions
(config.conv_transpose_lowering). On a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2
(one device per core) shards the seeds over the cores, as training with config.parallel=auto
does. With --profile_dir the largest S is traced, and the step's kernel time is split into dots
and convolutions against the rest.

Every S and a 2048^3 float32 matmul are timed in interleaved rounds (genjax.timing), so a busy
neighbour slows all of them alike; medians over rounds are compared. FLOPs are the matmul and
convolution FLOPs of one seed's step as XLA compiled it (genjax.flop_count: 2 x multiply-adds of
every dot and convolution in the optimized HLO, taps on a dilated input's inserted zeros left
out), times S; elementwise work (Adam, activations, batch norm, drawing z) is free. The count of
the step as written (its jaxpr) is printed beside it: XLA runs G forward once where the D loss
and a simultaneous G loss both need it. The figures also go to bench/results/<cpu>.json
(bench/results.py); that folder holds the ones measured so far.
"""

import contextlib
import os
import sys

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
from absl import flags, logging

from bench import kernel_time, results
from genjax import cli, devices, flop_count, random_fused, seeds, timing
from genjax.errors import UserError
from genjax.gan import data, models, step
from genjax.models import conv

CONFIG = cli.define_flags("gan", default_workdir="workdirs/bench_gan")
flags.adopt_module_key_flags(cli)  # so --help lists --config, --workdir, ... (cli.py's)
flags.DEFINE_list("seeds", ["1", "10"], "Numbers of vmapped seeds to compare.")
flags.DEFINE_integer("steps", 50, "Train steps per timed call (a multiple of "
                     "config.steps_per_call).")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds (the median is reported).")
flags.DEFINE_string("profile_dir", "", "If set: trace the largest S (one device, the trained seed "
                    "map) with jax.profiler into this folder and print where its step's time goes: "
                    "kernels that run a dot or convolution against the rest.")
PEAK_SIZE = 2048  # the float32 matmul that measures the machine's peak: PEAK_SIZE^3


def seeds_setup(config, method_name: str, num_seeds: int):
  """(config for S seeds, the method's Setup, the S seed keys, the stacked initial state)."""
  config = config.copy_and_resolve_references()
  config.num_seeds = num_seeds
  setup = step.make_setup(config, data.make_dataset(config), step.parse_method(method_name))
  keys_S = step.seed_keys(config)
  return config, setup, keys_S, jax.vmap(lambda k: step.init_state(setup, k))(keys_S)


@contextlib.contextmanager
def normals_precomputed():
  """While a step is traced, jax.random.normal returns one fixed draw of the shape asked for,
  a constant of the program: the step as training runs it with drawing its latents (and the
  ring data's noise) free. A ceiling, not a sampler: every seed and step sees the same z."""
  draw = jax.random.normal

  def fixed(key, shape=(), dtype=float, *args, **kwargs):
    del key
    with jax.ensure_compile_time_eval():
      return draw(jax.random.key(0), shape, dtype, *args, **kwargs)

  jax.random.normal = fixed
  try:
    yield
  finally:
    jax.random.normal = draw


def make_call(config, method_name: str, num_seeds: int, steps: int, steps_per_call: int,
              seed_map: str, fused: bool = True, conv_transpose_lowering: str = "",
              drawing: bool = True):
  """A zero-argument callable running `steps` S-seed steps as training does (seeds over the
  devices of config.parallel, mapped by `seed_map`, `steps_per_call` steps per compiled call).
  fused=False: compiled with JAX's own rolled threefry loop
  (genjax.random_fused.unfused; the same numbers), the before of random_fused.
  conv_transpose_lowering: overrides the config's (conv nets; the same function).
  drawing=False: normals are a precomputed constant (`normals_precomputed`; other numbers)."""
  if conv_transpose_lowering:
    config = config.copy_and_resolve_references()
    config.conv_transpose_lowering = conv_transpose_lowering
  config, setup, keys_S, host_state = seeds_setup(config, method_name, num_seeds)
  seed_parallel = seeds.seed_parallel(num_seeds, config.parallel, seed_map=seed_map)
  state = [seed_parallel.put_state(host_state)]
  train_step = step.compile_seeds_step(setup, seed_parallel, steps_per_call)
  with (contextlib.nullcontext() if fused else random_fused.unfused(),
        contextlib.nullcontext() if drawing else normals_precomputed()):
    state[0], _ = train_step(state[0], {}, keys_S)  # traced and compiled here, in that mode

  def call():
    for _ in range(steps // steps_per_call):
      state[0], metrics = train_step(state[0], {}, keys_S)
    return metrics

  return call


def seed_step_flops(config, method_name: str) -> tuple[int, int]:
  """Matmul FLOPs of one seed's step: (as XLA compiled it, as written in its jaxpr). Counted
  with lax's transposed convolutions (their inserted zeros left out): the sub-pixel lowering's
  combined kernel holds zero taps too (2.25x the FLOPs for 4x4 stride 2), which are not work."""
  config = config.copy_and_resolve_references()
  config.conv_transpose_lowering = "xla"
  _, setup, keys_S, state_S = seeds_setup(config, method_name, 1)
  key, state = keys_S[0], jax.tree.map(lambda x: x[0], state_S)
  per_seed = step.make_train_step(setup)
  return (flop_count.compiled_matmul_flops(per_seed, state, {}, key),
          flop_count.jaxpr_matmul_flops(jax.make_jaxpr(per_seed)(state, {}, key).jaxpr))


def profile_split(config, method_name: str, num_seeds: int, steps: int, trace_dir: str,
                  seed_step_flops: float, peak: float) -> str:
  """Traces `steps` steps of S seeds (the trained seed map, one device) and returns a line: the
  step's time in XLA kernels, split into those that run a dot or convolution (with their rate
  as a share of `peak` FLOP/s) and the rest, the largest of the rest named by their op.

  It compiles its own jit of the step (what SeedParallel.compile builds on one device) because
  the split reads that program's HLO: the trace names kernels by its instructions."""
  config, setup, keys_S, state = seeds_setup(config, method_name, num_seeds)
  per_call = config.steps_per_call
  mapped = seeds.map_seeds(devices.steps_in_one_call(step.make_train_step(setup), per_call),
                           step.seed_map(config), (0, None, 0))
  compiled = jax.jit(mapped, donate_argnums=0).lower(state, {}, keys_S).compile()
  split = kernel_time.trace(compiled, state, ({}, keys_S), steps // per_call, trace_dir,
                            per_call)
  if split is None:
    return f"profile: no XLA kernel events in {trace_dir} (a backend that does not trace kernels?)"
  return (f"  profile of S={num_seeds} (trace in {trace_dir}): "
          + split.describe(num_seeds * seed_step_flops, peak))


def candidates_of(config, seed_counts: list[int]) -> dict:
  """{row name: make_call's arguments after the method}: what training runs (steps_per_call per
  call, its seed map) for every S; the largest S one step a call, with the other seed map, with
  JAX's rolled threefry, with drawing free, and (conv nets) with the other conv lowering."""
  per_call, trained_map, largest = config.steps_per_call, step.seed_map(config), seed_counts[-1]
  candidates = {f"S={s}": (s, per_call, trained_map) for s in seed_counts}
  if per_call > 1:
    candidates[f"S={largest}, 1 step/call"] = (largest, 1, trained_map)
  other_map = next(m for m in seeds.SEED_MAPS if m != trained_map)
  candidates[f"S={largest}, seeds by {other_map}"] = (largest, per_call, other_map)
  # The same program with JAX's own rolled threefry loop: before random_fused.
  candidates[f"S={largest}, rolled threefry"] = (largest, per_call, trained_map, False)
  # The step's ceiling with drawing free: its normals a constant (other numbers).
  candidates[f"S={largest}, normals precomputed (drawing free)"] = (
      largest, per_call, trained_map, True, "", False)
  # The conv generators with the other lowering of their transposed convolutions.
  if config.arch in models.CONV_ARCHS:
    other = next(low for low in conv.LOWERINGS if low != config.conv_transpose_lowering)
    candidates[f"S={largest}, transposed convolutions by {other}"] = (
        largest, per_call, trained_map, True, other)
  return candidates


def bench_method(config, method: str, candidates: dict, seed_counts: list[int],
                 steps: int) -> list[dict]:
  """Times the candidates of one method beside the matmul peak; prints and returns its rows."""
  calls, flops = {}, {}
  compiled_flops, written_flops = seed_step_flops(config, method)
  for name, (s, k, how, *fused) in candidates.items():
    calls[name] = make_call(config, method, s, steps, k, how, *fused)
    flops[name] = steps * s * compiled_flops
  calls["peak"], flops["peak"] = timing.matmul(PEAK_SIZE)
  times = timing.time_interleaved(calls, flags.FLAGS.rounds, warmup=1)
  peak = flops["peak"] / timing.median(times["peak"])
  lowering = (f"transposed convolutions by {config.conv_transpose_lowering}, "
              if config.arch in models.CONV_ARCHS else "")
  print(f"{config.arch} {config.dataset} {method}, batch {config.batch_size}, "
        f"{config.steps_per_call} steps per call, seeds by {step.seed_map(config)}, {lowering}"
        f"{seeds.seed_parallel(seed_counts[-1], config.parallel).num_devices}"
        f" device(s) at S={seed_counts[-1]}; matmul peak {peak / 1e9:.0f} GFLOP/s (median of "
        f"{flags.FLAGS.rounds} rounds; best {flops['peak'] / min(times['peak']) / 1e9:.0f}); "
        f"{compiled_flops / 1e6:.1f} MFLOP/seed-step as compiled ({written_flops / 1e6:.1f} "
        f"as written, {written_flops / compiled_flops:.2f}x):", flush=True)
  rows = []
  for name, (s, *_) in candidates.items():
    share = timing.median(timing.per_round_ratio(times["peak"], times[name])) * (
        flops[name] / flops["peak"])
    rate = s * steps / timing.median(times[name])
    print(f"  {name}: {rate:,.0f} seed-steps/s, {share:.0%} of peak", flush=True)
    rows.append({"arch": config.arch, "dataset": config.dataset, "method": method, "row": name,
                 "seeds": s, "seed_steps_per_s": rate, "share_of_peak": share,
                 "peak_gflops": peak / 1e9, "mflop_per_seed_step_compiled": compiled_flops / 1e6,
                 "mflop_per_seed_step_written": written_flops / 1e6})
  if flags.FLAGS.profile_dir:
    split = profile_split(config, method, seed_counts[-1], steps,
                          os.path.join(flags.FLAGS.profile_dir, method), compiled_flops, peak)
    print(split, flush=True)
    rows.append({"arch": config.arch, "dataset": config.dataset, "method": method,
                 "row": "profile", "profile": split.strip()})
  return rows


def main(argv):
  del argv
  config, steps = CONFIG.value, flags.FLAGS.steps
  seed_counts = [int(s) for s in flags.FLAGS.seeds]
  if steps % config.steps_per_call:
    raise UserError(f"--steps={steps} must be a multiple of "
                    f"config.steps_per_call={config.steps_per_call}")
  # The unrolled threefry lowering, asked for by name (importing genjax does not install it):
  # every row but "rolled threefry" (compiled inside random_fused.unfused()) uses it.
  random_fused.install()
  logging.info("devices: %s", jax.devices())
  print(timing.describe(timing.environment()), flush=True)
  candidates = candidates_of(config, seed_counts)
  rows = []
  for method in step.method_names(config):
    rows += bench_method(config, method, candidates, seed_counts, steps)
  results.record("bench_gan", rows, timing=timing.environment())


if __name__ == "__main__":
  cli.run(main)

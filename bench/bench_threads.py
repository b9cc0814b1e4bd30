"""Do trained numbers depend on how many cores XLA sees? A GAN's state after a few train steps,
computed in processes that see one core and every core, with XLA's default flags and with
YNNPACK's reduction fusions turned off; bitwise comparison and time per step side by side. Then
two processes at once, as the report runs them: sharing every core, and on half of them each.

python bench/bench_threads.py            # the quick report's ring and stacked-digits GANs
python bench/bench_threads.py --flagfiles=experiments/flags/gan_mnist_quick.flags

Run from the checkout's root (the flagfiles are relative to it); needs Linux and 2+ cores. Each
case runs the training's own compiled step (every seed of the flagfile, its seed map) from the
same initial state; a child process is limited to its cores before JAX starts (it inherits them
from the thread that starts it), and XLA sizes its thread pool from them. Prints, per flagfile
and XLA setting (the defaults, and XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=-reduce),
how many state arrays have the same bits on one core as on all, and ms a step on each (one run
each, not interleaved: a rough guide). With --pair_steps, the two processes of a pair meet
after compiling, so their timed steps overlap, and the row gives the steps a second of both
together pinned to a share of the cores each over sharing them all. The figures also go to
bench/results/<cpu>.json (bench/results.py); that folder holds the ones measured so far.
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import jax
import numpy as np
from absl import flags

from bench import results
from genjax import cli, seeds
from genjax.errors import UserError
from genjax.gan import data, step, train

CONFIG = cli.define_flags("gan", default_workdir="workdirs/bench_threads")
flags.adopt_module_key_flags(cli)
flags.DEFINE_list("flagfiles", ["experiments/flags/gan_ring_metz_appendix_quick.flags",
                                "experiments/flags/gan_stacked_digits_quick.flags"],
                  "GAN flagfiles to compare (the first method of each).")
flags.DEFINE_integer("steps", 50, "Train steps per process (timed after the first).")
flags.DEFINE_integer("pair_steps", 400, "Train steps of each process of a pair (0: no pairs).")
flags.DEFINE_string("child_out", "", "Internal: train in this process and write the state here.")
flags.DEFINE_string("child_barrier", "", "Internal: a folder where the processes of a pair meet "
                    "after compiling, so their timed steps overlap.")
# The XLA flags compared: the defaults, and YNNPACK's reduction fusions off.
XLA_SETTINGS = {"defaults": "", "ynn -reduce": "--xla_cpu_experimental_ynn_fusion_type=-reduce"}


def meet_sibling(barrier: str) -> None:
  """Child of a pair: says it has compiled, then waits until its sibling has too."""
  with open(os.path.join(barrier, str(os.getpid())), "w"):
    pass
  deadline = time.monotonic() + 600
  while len(os.listdir(barrier)) < 2:
    if time.monotonic() > deadline:
      raise UserError("the other process of the pair never got past compiling")
    time.sleep(0.01)


def train_here(config, steps: int, out: str, barrier: str = "") -> None:
  """Child: `steps` train steps of the first method; writes the state leaves and s/step."""
  train.validate(config)
  setup = step.make_setup(config, data.make_dataset(config),
                          step.parse_method(step.method_names(config)[0]))
  seed_parallel = seeds.seed_parallel(config.num_seeds, config.parallel,
                                      seed_map=step.seed_map(config))
  host_state, train_keys_S = step.initial_seeds(setup, config)
  state = seed_parallel.put_state(host_state)
  train_step = step.compile_seeds_step(setup, seed_parallel)
  state, _ = train_step(state, {}, train_keys_S)  # compiles
  jax.block_until_ready(state)
  if barrier:
    meet_sibling(barrier)
  start = time.perf_counter()
  for _ in range(steps - 1):
    state, _ = train_step(state, {}, train_keys_S)
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start) / max(1, steps - 1)
  leaves = [np.asarray(x) for x in jax.tree.leaves(seed_parallel.get_state(state))
            if not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)]
  np.savez(out, seconds=seconds, **{f"leaf{i}": x for i, x in enumerate(leaves)})


def run_child(flagfile: str, cpus: set[int], xla_flags: str, out: str, steps: int,
              barrier: str = "") -> dict:
  command = [sys.executable, os.path.abspath(__file__), f"--flagfile={flagfile}",
             f"--steps={steps}", f"--child_out={out}", f"--child_barrier={barrier}"]
  env = {**os.environ, "XLA_FLAGS": xla_flags}
  # The child inherits this thread's cores (no preexec_fn: JAX warns of a fork in Python code).
  mine = os.sched_getaffinity(0)
  os.sched_setaffinity(0, cpus)
  try:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
  finally:
    os.sched_setaffinity(0, mine)
  if done.returncode:
    raise UserError(f"{flagfile}: the child process failed: "
                    f"{done.stderr.strip().splitlines()[-1]}")
  with np.load(out) as f:
    return {k: f[k] for k in f.files}


def run_pair(flagfile: str, cpus_a: set[int], cpus_b: set[int], tmp: str) -> list[float]:
  """Seconds a step of two processes training at the same time on the given cores (the report
  runs two at once: sharing every core, or one core each)."""
  barrier, outs = tempfile.mkdtemp(dir=tmp), tempfile.mkdtemp(dir=tmp)
  with concurrent.futures.ThreadPoolExecutor(2) as pool:  # each thread lends its cores
    children = [pool.submit(run_child, flagfile, cpus, "", os.path.join(outs, f"{n}.npz"),
                            flags.FLAGS.pair_steps, barrier)
                for n, cpus in enumerate((cpus_a, cpus_b))]
  return [float(child.result()["seconds"]) for child in children]


def main(argv):
  del argv
  if flags.FLAGS.child_out:
    train_here(CONFIG.value, flags.FLAGS.steps, flags.FLAGS.child_out,
               flags.FLAGS.child_barrier)
    return
  if not hasattr(os, "sched_setaffinity"):
    raise UserError("bench_threads needs Linux (os.sched_setaffinity)")
  every = os.sched_getaffinity(0)
  if len(every) < 2:
    raise UserError(f"bench_threads compares one core with several; this process sees "
                    f"{len(every)}")
  one = {min(every)}
  for flagfile in flags.FLAGS.flagfiles:
    if not os.path.isfile(flagfile):
      raise UserError(f"--flagfiles: no flagfile {flagfile}")
  print(f"JAX {jax.__version__}; one core against {len(every)}; {flags.FLAGS.steps} train steps "
        "per process", flush=True)
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for flagfile in flags.FLAGS.flagfiles:
      for setting, xla_flags in XLA_SETTINGS.items():
        a, b = (run_child(flagfile, cpus, xla_flags, os.path.join(tmp, f"{n}.npz"),
                          flags.FLAGS.steps) for n, cpus in (("one", one), ("all", every)))
        leaves = [k for k in a if k != "seconds"]
        same = [np.array_equal(a[k], b[k]) for k in leaves]
        print(f"{os.path.basename(flagfile)}, XLA {setting}: {sum(same)} of {len(leaves)} state "
              f"arrays bitwise equal on 1 and {len(every)} cores; "
              f"{a['seconds'] * 1e3:.1f} against {b['seconds'] * 1e3:.1f} ms a step (one run each)",
              flush=True)
        rows.append({"flagfile": flagfile, "xla": setting, "xla_flags": xla_flags,
                     "equal_arrays": sum(same), "arrays": len(leaves), "cores": len(every),
                     "ms_one_core": float(a["seconds"]) * 1e3,
                     "ms_all_cores": float(b["seconds"]) * 1e3})
      if flags.FLAGS.pair_steps:
        rows.append(print_pair(flagfile, every, tmp))
  results.record("bench_threads", rows, steps=flags.FLAGS.steps)


def print_pair(flagfile: str, every: set[int], tmp: str) -> dict:
  """Two processes at once, as the report runs them: sharing every core, then on halves; prints
  and returns the row."""
  cores = sorted(every)
  half = len(cores) // 2
  shared = run_pair(flagfile, every, every, tmp)
  pinned = run_pair(flagfile, set(cores[:half]), set(cores[half:2 * half]), tmp)
  # the steps a second of both processes together, pinned over shared
  gain = sum(1 / s for s in pinned) / sum(1 / s for s in shared)
  print(f"{os.path.basename(flagfile)}, two processes at once, {flags.FLAGS.pair_steps} steps "
        f"each: {' / '.join(f'{s * 1e3:.1f}' for s in shared)} ms a step sharing {len(cores)} "
        f"cores, {' / '.join(f'{s * 1e3:.1f}' for s in pinned)} on {half} core(s) each: "
        f"{gain:.2f}x the steps a second", flush=True)
  return {"flagfile": flagfile, "pair_steps": flags.FLAGS.pair_steps, "cores": len(cores),
          "ms_shared": [s * 1e3 for s in shared], "ms_pinned": [s * 1e3 for s in pinned],
          "cores_each_pinned": half, "steps_per_s_pinned_over_shared": gain}


if __name__ == "__main__":
  cli.run(main)

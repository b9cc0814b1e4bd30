"""Is the vanilla GAN's behaviour on the 2D ring genjax's own? The same protocol, retrained in
PyTorch, judged by genjax's coverage metric, beside the finished genjax run.

python bench/gan_ring_torch.py --workdir=workdirs/ring_appendix_gan3 --seeds=3

Reads a finished run of experiments/gan.py (its config.json and evals/gan.jsonl), retrains its
method `gan` (only that one) in PyTorch from the protocol the config names (ring data, the small
MLPs, cross-entropy losses, simultaneous or alternating updates, optax's Adam with eps_root),
scores the PyTorch generator at every evaluation step with genjax.metrics.coverage's
mixture_coverage on its samples of a fixed z, as genjax's evaluation does, and prints per step
both implementations' seed means: occupied cells, modes with a high-quality sample, % HQ and
the median distance to the nearest center in std. Randomness is torch's own (a generator per
seed), so the comparison is one of seed means, not of bits. The figures go to
bench/results/<cpu>.json (bench/results.py) under "gan_ring_torch/<run name>" with the run's
config. torch is no dependency of genjax: pip install torch --index-url
https://download.pytorch.org/whl/cpu
"""

import json
import math
import os
import sys
import time

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
import numpy as np
from absl import flags
from ml_collections import ConfigDict

from bench import results
from genjax import cli, logs
from genjax.errors import UserError
from genjax.gan import data
from genjax.gan import step as gan_step
from genjax.metrics import coverage

flags.DEFINE_string("workdir", None, "A finished GAN run's workdir (config.json, evals/gan.jsonl).")
flags.DEFINE_integer("seeds", 3, "PyTorch seeds to train (torch generators seeded 0..seeds-1).")
flags.DEFINE_integer("num_steps", 0, "Train only this many steps (0: the run's num_steps); for "
                     "timing a first stretch.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS

METHOD = "gan"  # the one method retrained: the vanilla GAN
TORCH_HINT = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
ADAM_EPS = 1e-8  # optax.adam's default eps, which genjax's make_optimizers keeps
# Per metric: the name genjax's eval records use (genjax.gan.evaluate.SCALARS), its column.
METRICS = {"cells": "cells", "modes": "HQ modes", "hq": "% HQ",
           "median_distance_std": "median dist/std"}
# A torch generator's seed: one stream for training and one for the fixed evaluation z per seed.
TRAIN_STREAM, EVAL_STREAM = 0, 1


def torch_seed(base: int, seed_index: int, stream: int) -> int:
  return (base * 100_000 + seed_index) * 2 + stream


# ---- the finished run ----

def load_run_config(workdir: str) -> ConfigDict:
  """The run's config as experiments/gan.py wrote it (genjax/workdir.py: config.json)."""
  path = os.path.join(workdir, "config.json")
  if not os.path.isdir(workdir):
    raise UserError(f"--workdir {workdir} is not a folder; name a finished experiments/gan.py run")
  if not os.path.isfile(path):
    raise UserError(f"--workdir {workdir} has no config.json; name a finished experiments/gan.py "
                    "run")
  try:
    with open(path) as f:
      fields = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise UserError(f"{path} cannot be read as JSON ({e})") from None
  if not isinstance(fields, dict) or not {"methods", "dataset", "ring_modes"} <= set(fields):
    raise UserError(f"{path} is not the config of a GAN run (experiments/gan.py)")
  return ConfigDict(fields)


def unsupported(config: ConfigDict) -> list[str]:
  """The run's settings this PyTorch version does not implement (empty: all supported)."""
  methods = [n.strip() for n in config.methods.split(",")]
  problems = []
  if config.dataset != "ring":
    problems.append(f"dataset={config.dataset!r} (only ring)")
  if METHOD not in methods:
    problems.append(f"methods={config.methods!r} has no {METHOD!r} (the vanilla GAN retrained)")
  if config.arch != "small":
    problems.append(f"arch={config.arch!r} (only small)")
  if config.get("small_activation", "relu") not in ("relu", "tanh"):
    problems.append(f"small_activation={config.small_activation!r}")
  if config.get("small_init", "lecun_normal") not in ("lecun_normal", "orthogonal"):
    problems.append(f"small_init={config.small_init!r}")
  if config.g_loss not in ("saturating", "non_saturating"):
    problems.append(f"g_loss={config.g_loss!r}")
  if config.get("g_ema_decay", 0.0):
    problems.append(f"g_ema_decay={config.g_ema_decay} (only 0: no EMA of G)")
  return problems


def genjax_evals(workdir: str) -> dict[int, dict]:
  """step -> genjax's eval record of the vanilla GAN (lists over seeds; genjax/loop.py)."""
  records = logs.read_evals(workdir, METHOD)
  if not records:
    raise UserError(f"{logs.evals_path(workdir, METHOD)} holds no evaluation: has the run "
                    "trained?")
  return {int(r["step"]): r for r in records}


def import_torch():
  try:
    import torch
  except ImportError:
    raise UserError(f"PyTorch is not installed; {TORCH_HINT}") from None
  return torch


# ---- the protocol in PyTorch: S seeds stacked on a leading axis of every tensor ----

def init_dense(torch, fan_in: int, fan_out: int, config: ConfigDict, generator):
  """One Dense layer's (kernel [in, out], bias [out]) with flax's semantics: the small arch's
  kernel init (orthogonal with gain, or flax's default lecun_normal) and zero biases."""
  weight_OxI = torch.empty(fan_out, fan_in)
  if config.get("small_init", "lecun_normal") == "orthogonal":
    # torch's orthogonal_ on [out, in] makes the shorter side orthonormal, as flax's orthogonal
    # does on [in, out]: the same Haar law of the kernel.
    torch.nn.init.orthogonal_(weight_OxI, gain=config.get("small_init_gain", 1.4),
                              generator=generator)
  else:  # lecun_normal: a normal truncated at 2 std, rescaled to variance 1 / fan_in
    std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
    torch.nn.init.trunc_normal_(weight_OxI, std=std, a=-2 * std, b=2 * std, generator=generator)
  return weight_OxI.T.contiguous(), torch.zeros(fan_out)


def init_mlp(torch, widths: list[int], config: ConfigDict, generators) -> list:
  """[kernel_SxIxO, bias_SxO, ...] of an MLP through `widths`, one init per seed's generator."""
  params = []
  for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
    layers = [init_dense(torch, fan_in, fan_out, config, g) for g in generators]
    params += [torch.stack([w for w, _ in layers]), torch.stack([b for _, b in layers])]
  return [p.requires_grad_() for p in params]


def generator_widths(config: ConfigDict) -> list[int]:
  return [config.latent_dim, *config.small_hidden, 2]


def discriminator_widths(config: ConfigDict) -> list[int]:
  return [2, *(tuple(config.get("small_d_hidden", ())) or tuple(config.small_hidden)), 1]


def mlp(torch, params: list, x_SxNxI, activation: str):
  """Dense layers with `activation` between them, a linear last layer."""
  act = torch.relu if activation == "relu" else torch.tanh
  h = x_SxNxI
  for i in range(0, len(params), 2):
    h = torch.baddbmm(params[i + 1][:, None, :], h, params[i])
    if i + 2 < len(params):
      h = act(h)
  return h


class Adam:
  """optax.adam(lr, b1, b2, eps=1e-8, eps_root): torch.optim.Adam has no eps_root (inside the
  square root), so it is written out; `lr(count)` reads the count before the update, as
  optax's schedules do."""

  def __init__(self, torch, params, lr, b1: float, b2: float, eps_root: float):
    self.torch, self.params, self.lr = torch, params, lr
    self.b1, self.b2, self.eps_root = b1, b2, eps_root
    self.mu = [torch.zeros_like(p) for p in params]
    self.nu = [torch.zeros_like(p) for p in params]
    self.count = 0

  def step(self, grads) -> None:
    lr = self.lr(self.count)
    self.count += 1
    mu_correction, nu_correction = 1 - self.b1 ** self.count, 1 - self.b2 ** self.count
    with self.torch.no_grad():
      for p, g, mu, nu in zip(self.params, grads, self.mu, self.nu, strict=True):
        mu.mul_(self.b1).add_(g, alpha=1 - self.b1)
        nu.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        denom = (nu / nu_correction + self.eps_root).sqrt_().add_(ADAM_EPS)
        p.sub_(lr * (mu / mu_correction) / denom)


def learning_rate(config: ConfigDict, peak: float, updates_per_g_step: int = 1):
  """count -> rate: genjax's schedule (genjax.gan.step.learning_rate), read at the G step; D counts
  its updates, so with several D steps per G step its count is divided (as make_optimizers does)."""
  schedule = gan_step.learning_rate(config, peak)
  if not callable(schedule):
    return lambda count: schedule
  return lambda count: float(schedule(count // updates_per_g_step))


class RingGAN:
  """S seeds of the vanilla GAN on the ring, trained together (tensors [S, ...])."""

  def __init__(self, torch, config: ConfigDict, num_seeds: int):
    self.torch, self.config = torch, config
    self.activation = config.get("small_activation", "relu")
    self.batch = config.batch_size  # the vanilla GAN packs nothing: samples either batch_unit
    # The data is genjax's (its centers); the GAN trained on it is what is retrained here.
    self.dataset = data.make_dataset(config)
    self.centers_Kx2 = torch.from_numpy(np.asarray(self.dataset.centers, np.float32))
    self.rngs = [torch.Generator().manual_seed(torch_seed(config.seed, s, TRAIN_STREAM))
                 for s in range(num_seeds)]
    self.g = init_mlp(torch, generator_widths(config), config, self.rngs)
    self.d = init_mlp(torch, discriminator_widths(config), config, self.rngs)
    eps_root = config.get("adam_eps_root", 0.0)
    self.g_adam = Adam(torch, self.g, learning_rate(config, config.g_learning_rate),
                       config.b1, config.b2, eps_root)
    self.d_adam = Adam(torch, self.d, learning_rate(config, config.d_learning_rate,
                                                    config.d_steps),
                       config.b1, config.b2, eps_root)
    eval_rngs = [torch.Generator().manual_seed(torch_seed(config.seed, s, EVAL_STREAM))
                 for s in range(num_seeds)]
    self.eval_z_SxNxZ = torch.stack([torch.randn(config.eval_samples, config.latent_dim,
                                                 generator=g) for g in eval_rngs])

  def generate(self, z_SxNxZ):
    return mlp(self.torch, self.g, z_SxNxZ, self.activation)

  def logits(self, d_params, x_SxNx2):
    return mlp(self.torch, d_params, x_SxNx2 * self.config.d_input_scale, self.activation)[..., 0]

  def real_batch(self):
    """Each seed's batch: a uniform center plus ring_std Gaussian noise."""
    torch, n = self.torch, self.batch
    modes = [torch.randint(0, len(self.centers_Kx2), (n,), generator=g) for g in self.rngs]
    noise = [torch.randn(n, 2, generator=g) for g in self.rngs]
    return torch.stack([self.centers_Kx2[m] + self.config.ring_std * e
                        for m, e in zip(modes, noise, strict=True)])

  def noise(self):
    return self.torch.stack([self.torch.randn(self.batch, self.config.latent_dim, generator=g)
                             for g in self.rngs])

  def d_loss(self, d_params, real_SxNx2, fake_SxNx2):
    """-log D(x) - log(1 - D(G(z))), a mean per seed summed over seeds (seeds are independent,
    so each seed's gradient is its own)."""
    softplus = self.torch.nn.functional.softplus
    return (softplus(-self.logits(d_params, real_SxNx2)).mean(-1)
            + softplus(self.logits(d_params, fake_SxNx2)).mean(-1)).sum()

  def g_loss(self, d_params, fake_SxNx2):
    """Saturating log(1 - D(G(z))) or non-saturating -log D(G(z)), per seed, summed."""
    softplus = self.torch.nn.functional.softplus
    logits = self.logits(d_params, fake_SxNx2)
    if self.config.g_loss == "saturating":
      return -softplus(logits).mean(-1).sum()
    return softplus(-logits).mean(-1).sum()

  def d_grads(self, real_SxNx2, fake_SxNx2):
    return self.torch.autograd.grad(self.d_loss(self.d, real_SxNx2, fake_SxNx2.detach()), self.d)

  def train_step(self) -> None:
    """config.d_steps D steps on fresh batches, one G step. Simultaneous: G's gradient is taken
    before any D update, against the D of the step's start, on the first D step's z (one forward
    of G serves both); alternating: after D's updates, on fresh z."""
    autograd = self.torch.autograd
    if self.config.simultaneous_update:
      real, fake = self.real_batch(), self.generate(self.noise())
      g_grads = autograd.grad(self.g_loss(self.d, fake), self.g)
      self.d_adam.step(self.d_grads(real, fake))
      for _ in range(self.config.d_steps - 1):
        with self.torch.no_grad():
          fake = self.generate(self.noise())
        self.d_adam.step(self.d_grads(self.real_batch(), fake))
      self.g_adam.step(g_grads)
      return
    for _ in range(self.config.d_steps):
      real = self.real_batch()
      with self.torch.no_grad():
        fake = self.generate(self.noise())
      self.d_adam.step(self.d_grads(real, fake))
    fake = self.generate(self.noise())
    self.g_adam.step(autograd.grad(self.g_loss(self.d, fake), self.g))

  def eval_samples(self) -> np.ndarray:
    with self.torch.no_grad():
      return self.generate(self.eval_z_SxNxZ).numpy()


def eval_points(config: ConfigDict, num_steps: int) -> list[int]:
  """genjax's: every eval_every steps from 0, and the last step."""
  return sorted(set(range(0, num_steps, config.eval_every)) | {num_steps})


def score(samples_SxNx2: np.ndarray, dataset, config: ConfigDict) -> dict[str, list[float]]:
  """genjax's 2D coverage (Judge.coverage: mixture_coverage on the dataset's centers and std)
  of each seed's samples: metric -> list over seeds."""
  per_seed = [coverage.mixture_coverage(s, dataset.centers, dataset.std, config.hq_num_std)
              for s in samples_SxNx2]
  return {name: [float(m[name]) for m in per_seed] for name in METRICS}


def train_torch(torch, config: ConfigDict, num_seeds: int, num_steps: int):
  """Trains the seeds, scoring at every eval point: (step -> metric -> per-seed values,
  train seconds without the evaluations)."""
  gan = RingGAN(torch, config, num_seeds)
  evals, seconds, done = {}, 0.0, 0
  for stop in eval_points(config, num_steps):
    start = time.perf_counter()
    for _ in range(stop - done):
      gan.train_step()
    seconds += time.perf_counter() - start
    done = stop
    evals[stop] = score(gan.eval_samples(), gan.dataset, config)
    print(f"PyTorch step {stop}: {seconds:.0f} s, HQ modes per seed {evals[stop]['modes']}",
          flush=True)  # a long run shows it is moving
    if not all(np.isfinite(v).all() for v in evals[stop].values()):
      raise UserError(f"PyTorch seeds diverged at step {stop}: non-finite samples")
  return evals, seconds


# ---- the side-by-side table ----

def seed_mean(values) -> float | None:
  return None if values is None else float(np.mean(values))


def side_by_side(genjax: dict[int, dict], torch_evals: dict[int, dict]) -> list[dict]:
  """One row per evaluation step of either: per implementation its seed count, seed means and
  per-seed values (None where it has no such evaluation or metric)."""
  rows = []
  for step in sorted(set(genjax) | set(torch_evals)):
    row = {"step": step}
    for name, evals in (("genjax", genjax), ("pytorch", torch_evals)):
      record = evals.get(step)
      per_seed = {m: (record or {}).get(m) for m in METRICS}
      row[name] = {"seeds": len(record["modes"]) if record else 0,
                   **{m: seed_mean(v) for m, v in per_seed.items()}, "per_seed": per_seed}
    rows.append(row)
  return rows


def format_value(metric: str, value: float | None) -> str:
  if value is None:
    return "-"
  return f"{100 * value:.1f}" if metric == "hq" else f"{value:.2f}"


def table(rows: list[dict]) -> list[str]:
  """Lines: step, seeds of each, then per metric genjax | PyTorch seed means."""
  header = ["step", "seeds g|t"] + [f"{label} g|t" for label in METRICS.values()]
  lines = [" ".join(f"{h:>22}" if i > 1 else f"{h:>9}" for i, h in enumerate(header))]
  for row in rows:
    g, t = row["genjax"], row["pytorch"]
    cells = [f"{row['step']:>9}", f"{g['seeds']}|{t['seeds']}".rjust(9)]
    cells += [f"{format_value(m, g[m])} | {format_value(m, t[m])}".rjust(22) for m in METRICS]
    lines.append(" ".join(cells))
  return lines


def run_name(workdir: str) -> str:
  return os.path.basename(os.path.normpath(os.path.abspath(workdir)))


def main(argv):
  del argv
  if FLAGS.seeds < 1:
    raise UserError(f"--seeds must be at least 1; got {FLAGS.seeds}")
  if FLAGS.num_steps < 0:
    raise UserError(f"--num_steps must be 0 (the run's) or positive; got {FLAGS.num_steps}")
  config = load_run_config(FLAGS.workdir)
  problems = unsupported(config)
  if problems:
    raise UserError(f"{FLAGS.workdir}: the PyTorch retraining does not support "
                    f"{'; '.join(problems)}")
  genjax = genjax_evals(FLAGS.workdir)
  torch = import_torch()  # only now: the checks above hold where torch is absent
  num_steps = FLAGS.num_steps or config.num_steps
  print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads): {FLAGS.seeds} seeds "
        f"of {METHOD!r}, {num_steps} steps, {config.batch_size} samples a step, "
        f"{'simultaneous' if config.simultaneous_update else 'alternating'} updates", flush=True)
  torch_evals, torch_seconds = train_torch(torch, config, FLAGS.seeds, num_steps)
  rows = side_by_side(genjax, torch_evals)
  genjax_seconds = sum(r.get("train_seconds", 0.0) for s, r in genjax.items() if s <= num_steps)
  print(f"train seconds to step {num_steps}: genjax {genjax_seconds:.1f} "
        f"({len(genjax[min(genjax)]['modes'])} seeds together), PyTorch {torch_seconds:.1f}")
  print("\n".join(table(rows)))
  results.record(f"gan_ring_torch/{run_name(FLAGS.workdir)}", rows,
                 config=config.to_dict(), workdir=FLAGS.workdir, method=METHOD,
                 torch=torch.__version__, torch_train_seconds=torch_seconds,
                 genjax_train_seconds=genjax_seconds, torch_num_steps=num_steps)


if __name__ == "__main__":
  cli.run(main, distributed=False)

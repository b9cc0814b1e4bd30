"""GAN mode coverage: every method, S seeds vmapped in one compiled step, then the report.

Each method is a `Method` (a few switches) read by one train step. The step samples its own
real data and noise from `fold_in(key, step)`, so the host feeds no batches, and a run is
reproducible from (config.seed, seed index, step). Seeds are a leading axis of the state:
`jax.vmap(train_step)` trains all of them in one program.
"""

import dataclasses
import json
import os
import re
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from ml_collections import ConfigDict

from genjax import checks, logs, parallel
from genjax.data import images
from genjax.errors import UserError
from genjax.gan import data, losses, models, report
from genjax.loop import train_loop
from genjax.metrics import coverage, ndb, prdc
from genjax.models.classifier import train_classifier

# fold_in tags of a seed's key: what each random stream is for.
INIT_TAG, TRAIN_TAG, EVAL_TAG = 0, 1, 2
# fold_in tags of the base key for the shared real evaluation sets.
REAL_EVAL_TAG, REAL_REFERENCE_TAG, BLUR_TAG = 1000, 1001, 1002
# Per-step tags: D step i uses fold_in(key, i) (i < critic steps), then these.
UNROLL_TAG, G_TAG = 100_000, 100_001


@dataclasses.dataclass(frozen=True)
class Method:
  """Switches on the shared train step."""

  name: str
  pack: int = 1  # samples per discriminator input (PacGAN m)
  unroll: int = 0  # D steps unrolled inside the G loss
  first_order: bool = False  # stop_gradient through the unrolled D
  mbstd: bool = False  # minibatch-stddev feature in D
  wgan_gp: bool = False  # Wasserstein loss + gradient penalty + critic steps
  r1: bool = False  # R1 penalty on real data


_PARTS = (
    (r"gan", lambda m: {}),
    (r"pacgan(\d+)", lambda m: {"pack": int(m[1])}),
    (r"unrolled(\d+)(fo)?", lambda m: {"unroll": int(m[1]), "first_order": bool(m[2])}),
    (r"mbstd", lambda m: {"mbstd": True}),
    (r"wgan_gp", lambda m: {"wgan_gp": True}),
    (r"r1", lambda m: {"r1": True}),
)


def parse_method(name: str) -> Method:
  """'pacgan2+r1' -> Method(pack=2, r1=True); see configs/gan.py for the names."""
  fields = {}
  for part in name.split("+"):
    for pattern, to_fields in _PARTS:
      match = re.fullmatch(pattern, part.strip())
      if match:
        fields.update(to_fields(match))
        break
    else:
      raise UserError(f"unknown GAN method {part!r} in config.methods; use gan, pacgan<m>, "
                      "unrolled<K>, unrolled<K>fo, mbstd, wgan_gp, r1, joined by '+'")
  if fields.get("pack", 1) < 1:
    raise UserError(f"method {name!r}: the pack size must be >= 1")
  return Method(name=name.strip(), **fields)


def method_names(config: ConfigDict) -> list[str]:
  return [n.strip() for n in config.methods.split(",") if n.strip()]


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "dataset", data.DATASETS)
  checks.require_choice(config, "arch", ("small", "pacgan"))
  checks.require_choice(config, "pack_hold", ("packs", "samples"))
  checks.require_positive(config, "ring_modes", "ring_radius", "ring_std", "grid_side",
                          "grid_spacing", "grid_std", "latent_dim", "small_hidden",
                          "pacgan_g_hidden", "pacgan_d_hidden", "maxout_pieces", "critic_steps",
                          "d_steps", "num_steps", "batch_size", "g_learning_rate",
                          "d_learning_rate", "num_seeds", "log_every", "checkpoint_every",
                          "keep_checkpoints", "eval_every", "eval_samples", "hq_num_std",
                          "prdc_samples", "k_precision_recall", "k_density_coverage",
                          "ndb_bins", "ndb_alpha", "snapshot_samples", "classifier_steps")
  checks.require_non_negative(config, "gp_weight", "r1_gamma", "adam_eps_root", "decay_fraction",
                              "g_ema_decay")
  if config.decay_fraction > 1:
    raise UserError(f"config.decay_fraction must be in [0, 1], got {config.decay_fraction}")
  if config.g_ema_decay >= 1:
    raise UserError(f"config.g_ema_decay must be in [0, 1), got {config.g_ema_decay}")
  names = method_names(config)
  if not names:
    raise UserError("config.methods is empty; e.g. --config.methods=gan,pacgan2")
  if len(set(names)) != len(names):
    raise UserError(f"config.methods repeats a method: {config.methods!r}")
  for name in names:
    method = parse_method(name)
    if config.pack_hold == "samples" and config.batch_size % method.pack:
      raise UserError(f"config.batch_size={config.batch_size} is not a multiple of the pack "
                      f"size {method.pack} of {name!r} (config.pack_hold='samples')")
  if config.prdc_samples > config.eval_samples:
    raise UserError(f"config.prdc_samples={config.prdc_samples} exceeds "
                    f"config.eval_samples={config.eval_samples}")
  if config.k_density_coverage >= config.prdc_samples:
    raise UserError("config.k_density_coverage must be smaller than config.prdc_samples")


def samples_per_step(config: ConfigDict, method: Method) -> int:
  """Real (and fake) samples per D step: packs held fixed multiplies the batch by m."""
  return config.batch_size * method.pack if config.pack_hold == "packs" else config.batch_size


def d_steps(config: ConfigDict, method: Method) -> int:
  return config.critic_steps if method.wgan_gp else config.d_steps


def learning_rate(config: ConfigDict, peak: float):
  """Constant, then linear decay to 0 over the last config.decay_fraction of the G updates.

  D's optimizer counts D updates (critic steps advance it faster), so its decay is scaled alike.
  """
  if not config.decay_fraction:
    return peak
  decay_steps = max(1, int(round(config.decay_fraction * config.num_steps)))
  return optax.join_schedules(
      [optax.constant_schedule(peak), optax.linear_schedule(peak, 0.0, decay_steps)],
      [config.num_steps - decay_steps])


def make_optimizers(config: ConfigDict, d_steps_per_g_step: int = 1):
  def adam(lr):
    return optax.adam(lr, b1=config.b1, b2=config.b2, eps_root=config.adam_eps_root)

  g_lr = learning_rate(config, config.g_learning_rate)
  d_lr = learning_rate(config, config.d_learning_rate)
  if callable(d_lr) and d_steps_per_g_step > 1:
    d_lr = (lambda schedule, k: lambda count: schedule(count // k))(d_lr, d_steps_per_g_step)
  return adam(g_lr), adam(d_lr)



@dataclasses.dataclass(frozen=True)
class Setup:
  """What one method's step and evaluation need: nets, optimizers, data, sizes."""

  method: Method
  g: models.Generator
  d: models.Discriminator
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  dataset: object
  latent_dim: int
  num_samples: int
  d_steps: int
  gp_weight: float
  r1_gamma: float
  g_ema_decay: float  # 0: no average; else the state keeps an EMA of G's weights for evaluation


def make_setup(config: ConfigDict, dataset, method: Method) -> Setup:
  output = "linear" if isinstance(dataset, data.Mixture) else "sigmoid"
  g, d = models.make(config, dataset.dim, output, method.mbstd)
  g_tx, d_tx = make_optimizers(config, d_steps(config, method))
  return Setup(method, g, d, g_tx, d_tx, dataset, config.latent_dim,
               samples_per_step(config, method), d_steps(config, method), config.gp_weight,
               config.r1_gamma, config.g_ema_decay)


def _init_params(setup: Setup, seed_key: jax.Array):
  g_key, d_key = jax.random.split(jax.random.fold_in(seed_key, INIT_TAG))
  g_params = setup.g.init(g_key, jnp.zeros((2, setup.latent_dim)))
  d_params = setup.d.init(d_key, jnp.zeros((2, setup.method.pack * setup.dataset.dim)))
  return g_params, d_params


def init_state(setup: Setup, seed_key: jax.Array) -> dict:
  """One seed's state; vmap it over seed keys for S seeds."""
  g_params, d_params = _init_params(setup, seed_key)
  state = {"step": jnp.zeros((), jnp.int32), "g_params": g_params, "d_params": d_params,
           "g_opt": setup.g_tx.init(g_params), "d_opt": setup.d_tx.init(d_params)}
  if setup.g_ema_decay:
    state["g_ema"] = jax.tree.map(jnp.copy, g_params)  # own buffers: the step donates the state
  return state


def eval_params(setup: Setup, state):
  """The generator weights that are evaluated: the running average if there is one."""
  return state["g_ema"] if setup.g_ema_decay else state["g_params"]


def generate(setup: Setup, g_params, key, num: int):
  return setup.g.apply(g_params, jax.random.normal(key, (num, setup.latent_dim)))


def d_loss_fn(setup: Setup, d_params, g_params, key):
  """D's loss on one fresh real batch and one fresh fake batch, with its penalties."""
  method, n = setup.method, setup.num_samples
  real_P = losses.pack(setup.dataset.sample(jax.random.fold_in(key, 0), n), method.pack)
  fake_P = losses.pack(generate(setup, g_params, jax.random.fold_in(key, 1), n), method.pack)

  def d_fn(x):
    return setup.d.apply(d_params, x)

  real_logits, fake_logits = d_fn(real_P), d_fn(fake_P)
  aux = {"d_real": real_logits.mean(), "d_fake": fake_logits.mean()}
  if method.wgan_gp:
    penalty = losses.gradient_penalty(d_fn, real_P, fake_P, jax.random.fold_in(key, 2))
    loss = losses.wgan_d_loss(real_logits, fake_logits) + setup.gp_weight * penalty
    aux["gradient_penalty"] = penalty
  else:
    loss = losses.ns_d_loss(real_logits, fake_logits)
  if method.r1:
    penalty = losses.r1_penalty(d_fn, real_P)
    loss = loss + setup.r1_gamma / 2 * penalty
    aux["r1_penalty"] = penalty
  return loss, aux


def g_loss_fn(setup: Setup, g_params, d_params, d_opt_state, key):
  """G's loss against D, or against D unrolled `method.unroll` steps ahead."""
  method = setup.method
  target = d_params
  if method.unroll:
    keys_K = jax.random.split(jax.random.fold_in(key, UNROLL_TAG), method.unroll)
    target = losses.unroll(lambda p, k: d_loss_fn(setup, p, g_params, k)[0], d_params,
                           d_opt_state, setup.d_tx, keys_K, method.first_order)
  fake = generate(setup, g_params, jax.random.fold_in(key, G_TAG), setup.num_samples)
  logits = setup.d.apply(target, losses.pack(fake, method.pack))
  return losses.wgan_g_loss(logits) if method.wgan_gp else losses.ns_g_loss(logits)


def make_train_step(setup: Setup):
  """One seed's `(state, batch, key) -> (state, metrics)`: D step(s), then one G step."""

  def train_step(state, batch, key):
    del batch  # data are sampled here, from the key
    key = jax.random.fold_in(key, state["step"])
    g_params, d_params = state["g_params"], state["d_params"]
    d_opt, g_opt = state["d_opt"], state["g_opt"]
    for i in range(setup.d_steps):
      (d_loss, d_aux), d_grads = jax.value_and_grad(
          lambda p, i=i: d_loss_fn(setup, p, g_params, jax.random.fold_in(key, i)),
          has_aux=True)(d_params)
      d_updates, d_opt = setup.d_tx.update(d_grads, d_opt, d_params)
      d_params = optax.apply_updates(d_params, d_updates)
    g_loss, g_grads = jax.value_and_grad(g_loss_fn, argnums=1)(setup, g_params, d_params, d_opt,
                                                                key)
    g_updates, g_opt = setup.g_tx.update(g_grads, g_opt, g_params)
    g_params = optax.apply_updates(g_params, g_updates)
    metrics = {
        "loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss, **d_aux,
        "d_grad_norm": optax.global_norm(d_grads), "g_grad_norm": optax.global_norm(g_grads),
        "d_param_norm": optax.global_norm(d_params), "g_param_norm": optax.global_norm(g_params),
        "d_update_norm": optax.global_norm(d_updates),
        "g_update_norm": optax.global_norm(g_updates),
    }
    new_state = {"step": state["step"] + 1, "g_params": g_params, "d_params": d_params,
                 "g_opt": g_opt, "d_opt": d_opt}
    if setup.g_ema_decay:
      new_state["g_ema"] = optax.incremental_update(g_params, state["g_ema"],
                                                    1 - setup.g_ema_decay)
    return new_state, metrics

  return train_step


def seed_keys(config: ConfigDict) -> jax.Array:
  return parallel.seed_keys(config.seed, config.num_seeds)


def compile_seeds_step(setup: Setup, dp: parallel.DataParallel):
  """All seeds in one jitted program: vmap over (state, key); the (empty) batch is shared."""
  return dp.compile(jax.vmap(make_train_step(setup), in_axes=(0, None, 0)))


# ---------------------------------------------------------------- evaluation


class Judge:
  """Assigns modes and computes every metric for one set of samples."""

  def __init__(self, config: ConfigDict, dataset, real_eval, classifier):
    self.config = config
    self.dataset = dataset
    self.classifier = classifier
    self.is_2d = isinstance(dataset, data.Mixture)
    self.real_eval = np.asarray(real_eval)
    real_prdc = self.real_eval[:config.prdc_samples]
    self.bins = dataset.centers if self.is_2d else ndb.kmeans_bins(real_prdc, config.ndb_bins,
                                                                   config.seed)

  def modes(self, samples):
    """Classifier mode ids of stacked images (one label per channel)."""
    channels = data.split_channels(np.asarray(samples))
    labels = self.classifier.logits(channels.reshape(-1, channels.shape[-1])).argmax(-1)
    return np.asarray(data.mode_ids(labels.reshape(len(samples), -1)))

  def coverage(self, samples) -> dict:
    if self.is_2d:
      return coverage.mixture_coverage(samples, self.dataset.centers, self.dataset.std,
                                       self.config.hq_num_std)
    return coverage.label_coverage(self.modes(samples), self.dataset.num_modes)

  def all_metrics(self, samples) -> dict:
    p = self.config.prdc_samples
    result = self.coverage(samples)
    result.update(prdc.prdc(self.real_eval[:p], np.asarray(samples)[:p],
                            self.config.k_precision_recall, self.config.k_density_coverage))
    result.update(ndb.ndb(self.real_eval, samples, self.bins, self.config.ndb_alpha))
    return result


SCALARS = ("modes", "hq", "reverse_kl", "precision", "recall", "density", "coverage", "ndb",
           "ndb_fraction")


def _scalars(metrics: dict) -> dict:
  return {k: float(v) for k, v in metrics.items() if k in SCALARS}


def summarize(per_seed: list[dict], num_modes: int) -> dict:
  """Mean, sample s.d. (ddof 1) and standard error over seeds of each scalar metric."""
  summary = {}
  for name in per_seed[0]:
    values = np.array([m[name] for m in per_seed], np.float64)
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    summary[name] = {"mean": float(values.mean()), "sd": sd,
                     "se": sd / np.sqrt(len(values)), "values": values.tolist()}
  summary["seeds_all_modes"] = int(sum(m["modes"] == num_modes for m in per_seed))
  return summary


def _history_path(workdir: str, name: str) -> str:
  return os.path.join(workdir, "history", f"{_slug(name)}.jsonl")


def _clock_path(workdir: str, name: str) -> str:
  return os.path.join(workdir, "history", f"{_slug(name)}_clock.json")


def _slug(name: str) -> str:
  return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _read_history(workdir: str, name: str) -> dict[int, dict]:
  path = _history_path(workdir, name)
  history = {}
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        if line.strip():
          record = json.loads(line)
          history[record["step"]] = record
  return history


def eval_points(config: ConfigDict) -> list[int]:
  return sorted(set(range(0, config.num_steps, config.eval_every)) | {config.num_steps})


class _EvaluatingStep:
  """The compiled step, plus a host callback after every step that lands on an eval point.

  One `train_loop` call then trains and evaluates a method; calling it once per eval point would
  reopen (and restore) the checkpoint each time. It also clocks the training seconds between
  eval points (evaluation excluded) and saves that clock with every checkpoint, so that the
  wall time of a run stopped and resumed counts the updates made before the stop.
  """

  def __init__(self, step_fn, points, on_eval, clock_path: str):
    self.step_fn, self.points, self.on_eval = step_fn, set(points), on_eval
    self.clock_path = clock_path
    self.mark = None  # perf_counter at the first step of this process or the last eval
    self.carried = 0.0  # seconds since the last eval made before this process started

  def __call__(self, state, batch, key):
    if self.mark is None:
      self.carried = self._restore_clock(int(state["step"][0]))
      self.mark = time.perf_counter()
    state, metrics = self.step_fn(state, batch, key)
    step = int(state["step"][0])
    if step in self.points:
      self.on_eval(step, state, self.seconds())
      self.mark, self.carried = time.perf_counter(), 0.0
    return state, metrics

  def seconds(self) -> float:
    """Training seconds since the last eval point, across restarts."""
    return self.carried + time.perf_counter() - self.mark

  def save_clock(self, step: int) -> None:
    """train_loop's on_save: runs after a step, so the clock is running."""
    tmp = self.clock_path + ".tmp"
    with open(tmp, "w") as f:
      json.dump({"step": step, "seconds_since_eval": self.seconds()}, f)
    os.replace(tmp, self.clock_path)  # atomic, like the checkpoint it goes with

  def _restore_clock(self, start: int) -> float:
    if start in self.points:
      return 0.0  # resumed at an eval point (or a fresh start): nothing to carry
    saved = None
    if os.path.exists(self.clock_path):
      with open(self.clock_path) as f:
        saved = json.load(f)
    if saved is None or saved["step"] != start:
      logging.warning("no training clock saved at step %d (%s); the wall time of the updates "
                      "before this restart is not counted", start, self.clock_path)
      return 0.0
    return float(saved["seconds_since_eval"])

  def num_traces(self) -> int:
    return self.step_fn.num_traces()


def run_method(config: ConfigDict, name: str, dataset, judge: Judge, workdir: str,
               dp: parallel.DataParallel, writer) -> tuple[dict, np.ndarray]:
  """Trains S seeds of one method (resuming), evaluating at each eval point; returns results."""
  method = parse_method(name)
  setup = make_setup(config, dataset, method)
  keys_S = seed_keys(config)
  state = jax.vmap(lambda k: init_state(setup, k))(keys_S)
  train_keys_S = jax.vmap(lambda k: jax.random.fold_in(k, TRAIN_TAG))(keys_S)
  eval_z = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, EVAL_TAG),
                                                (config.eval_samples, config.latent_dim)))(keys_S)
  sample_fn = jax.jit(jax.vmap(setup.g.apply))
  history = _read_history(workdir, name)
  os.makedirs(os.path.join(workdir, "history"), exist_ok=True)

  def evaluate(step, state, seconds):
    if step in history:
      return  # scored before a restart
    samples_S = np.asarray(sample_fn(eval_params(setup, state), eval_z))
    per_seed = [_scalars(judge.coverage(s)) for s in samples_S]
    record = {"step": step, "train_seconds": seconds,
              **{k: [m[k] for m in per_seed] for k in per_seed[0]}}
    history[step] = record
    with open(_history_path(workdir, name), "a") as f:
      f.write(json.dumps(record) + "\n")
    np.save(os.path.join(workdir, "history", f"{_slug(name)}_step{step:07d}.npy"),
            samples_S[:, :config.snapshot_samples])
    logging.info("%s step %d: modes per seed %s (%.1f s of training since the last eval)", name,
                 step, [int(v) for v in record["modes"]], seconds)

  points = eval_points(config)
  evaluate(0, state, 0.0)
  step_fn = _EvaluatingStep(compile_seeds_step(setup, dp), points, evaluate,
                            _clock_path(workdir, name))
  state = train_loop(
      state=state, train_step=step_fn, get_batch=None,
      num_steps=config.num_steps, workdir=workdir, key=train_keys_S, dp=dp,
      log_every=config.log_every, checkpoint_every=config.checkpoint_every,
      keep_checkpoints=config.keep_checkpoints, writer=writer, name=_slug(name),
      on_save=step_fn.save_clock)
  samples_S = np.asarray(sample_fn(eval_params(setup, state), eval_z))
  per_seed = [judge.all_metrics(s) for s in samples_S]
  missing = [t for t in points if t not in history]
  if missing:  # only if history files were deleted while checkpoints were kept
    logging.warning("%s: no evaluation recorded at steps %s", name, missing)
  kept = [history[t] for t in points if t in history]
  result = {
      "method": dataclasses.asdict(method),
      "samples_per_step": setup.num_samples, "d_steps_per_g_step": setup.d_steps,
      "g_updates": config.num_steps, "d_updates": config.num_steps * setup.d_steps,
      "train_seconds": float(sum(h["train_seconds"] for h in kept)),
      "num_traces": step_fn.num_traces(),
      "summary": summarize([_scalars(m) for m in per_seed], dataset.num_modes),
      "history": kept,
  }
  if not judge.is_2d:
    result["mode_counts"] = [m["mode_counts"].tolist() for m in per_seed]
  return result, samples_S


def load_classifier(config: ConfigDict):
  """The per-channel digit classifier that assigns modes to stacked samples."""
  name = images.EMBEDDED if config.dataset == "stacked_digits" else "mnist"
  train = images.load(name, "train", config.data_dir)
  test = images.load(name, "test", config.data_dir)
  flat = lambda x: x.reshape(len(x), -1)
  return train_classifier(flat(train["image"]), train["label"], flat(test["image"]),
                          test["label"], seed=config.seed, hidden=tuple(config.classifier_hidden),
                          steps=config.classifier_steps)


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Trains every method of config.methods on S seeds, evaluates, writes results and figures."""
  validate(config)
  dataset = data.make(config)
  dp = parallel.make("none")  # seeds, not devices, are the parallel axis here
  writer = logs.MetricsWriter(workdir)
  writer.write_config(config)
  base = jax.random.key(config.seed)
  results = {"dataset": config.dataset, "num_seeds": config.num_seeds,
             "eval_samples": config.eval_samples, "num_modes": dataset.num_modes, "methods": {}}
  classifier = None
  if not isinstance(dataset, data.Mixture):
    classifier = load_classifier(config)
    results["classifier_test_accuracy"] = classifier.test_accuracy
    logging.info("mode classifier test accuracy: %.4f", classifier.test_accuracy)
  real_eval = np.asarray(dataset.sample(jax.random.fold_in(base, REAL_EVAL_TAG),
                                        config.eval_samples))
  judge = Judge(config, dataset, real_eval, classifier)
  # An independent draw of real data, scored like a method: the ceilings and floors of the table.
  real_reference = np.asarray(dataset.sample(jax.random.fold_in(base, REAL_REFERENCE_TAG),
                                             config.eval_samples))
  results["real_data"] = _scalars(judge.all_metrics(real_reference))
  if judge.is_2d:
    # What the coverage metrics give a generator that has learned nothing but the support.
    blur = np.asarray(dataset.sample_blur(jax.random.fold_in(base, BLUR_TAG), config.eval_samples))
    results["uniform_blur"] = {"box": dataset.box(), **_scalars(judge.all_metrics(blur))}
  results["floors"] = {
      "reverse_kl": coverage.reverse_kl_floor(dataset.num_modes, config.eval_samples),
      "hq": data.hq_ceiling(dataset.dim, config.hq_num_std) if dataset.dim == 2 else None,
  }
  all_samples = {}
  for name in method_names(config):
    results["methods"][name], all_samples[name] = run_method(config, name, dataset, judge,
                                                             workdir, dp, writer)
    summary = results["methods"][name]["summary"]
    logging.info("%s: modes %.2f ± %.2f (s.d.), rKL %.3f", name, summary["modes"]["mean"],
                 summary["modes"]["sd"], summary["reverse_kl"]["mean"])
  writer.close()
  if logs.is_main_process():
    with open(os.path.join(workdir, "results.json"), "w") as f:
      json.dump(results, f, indent=2)
    report.write_markdown(results, config, os.path.join(workdir, "results.md"))
    report.write_samples(all_samples, dataset, real_eval, judge, os.path.join(workdir,
                                                                               "samples.npz"))
    if config.make_plots:
      report.write_figures(results, dataset, workdir, config)
  return results

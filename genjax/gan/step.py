"""The GAN train step: every method is a `Method` of switches read by one pure per-seed step.

The step samples its own real data and noise from `fold_in(key, step)`, so the host feeds no
batches and a run is reproducible from (config.seed, seed index, step). Seeds are a leading axis
of the state: `seeds.SeedParallel.compile` vmaps the per-seed step over them and shards that axis
over the devices.
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax
from ml_collections import ConfigDict

from genjax import devices, seeds
from genjax.gan import data, losses, models
from genjax.gan.methods import Method, matched_control, parse_method  # noqa: F401 (re-exported)

# fold_in tags of a seed's key: what each random stream is for.
INIT_TAG, TRAIN_TAG, EVAL_TAG = 0, 1, 2
# Per-step tags: D step i uses d_step_key(key, i) (i < critic steps), then these.
UNROLL_TAG, G_TAG = 100_000, 100_001
# Within a D step's key: its real batch, its fakes' z and the gradient penalty's interpolation.
REAL_TAG, FAKE_TAG, GP_TAG = 0, 1, 2


def method_names(config: ConfigDict) -> list[str]:
  return [n.strip() for n in config.methods.split(",") if n.strip()]


def seed_map(config: ConfigDict) -> str:
  """config.seed_map with "auto" resolved: a loop over seeds for conv nets, else vmap."""
  if config.seed_map != "auto":
    return config.seed_map
  return "loop" if config.arch in models.CONV_ARCHS else "vmap"


def samples_per_step(config: ConfigDict, method: Method) -> int:
  """Real (and fake) samples per D step: packs held fixed multiplies the batch by m."""
  samples = config.batch_size * method.batch_scale
  return samples * method.pack if config.batch_unit == "packs" else samples


def d_steps(config: ConfigDict, method: Method) -> int:
  return config.wgan_gp_d_steps if method.wgan_gp else config.d_steps


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
  saturating: bool = False  # G minimizes log(1 - D(G(z))) instead of -log D(G(z))
  simultaneous: bool = False  # G steps against the D of the step's start, not the updated one


def make_setup(config: ConfigDict, dataset, method: Method) -> Setup:
  output = "linear" if isinstance(dataset, data.Mixture) else "sigmoid"
  g, d = models.make_networks(config, dataset.dim, output, method.mbstd,
                              getattr(dataset, "image_shape", None))
  g_tx, d_tx = make_optimizers(config, d_steps(config, method))
  return Setup(method, g, d, g_tx, d_tx, dataset, config.latent_dim,
               samples_per_step(config, method), d_steps(config, method), config.gp_weight,
               config.r1_gamma, config.g_ema_decay, config.g_loss == "saturating",
               config.simultaneous_update)


def seed_keys(config: ConfigDict) -> jax.Array:
  return seeds.seed_keys(config.seed, config.num_seeds)


def init_state(setup: Setup, seed_key: jax.Array) -> dict:
  """One seed's state; vmap it over seed keys for S seeds."""
  g_key, d_key = jax.random.split(jax.random.fold_in(seed_key, INIT_TAG))
  g_params = setup.g.init(g_key, jnp.zeros((2, setup.latent_dim)))
  d_params = setup.d.init(d_key, jnp.zeros((2, setup.method.pack * setup.dataset.dim)))
  state = {"step": jnp.zeros((), jnp.int32), "g_params": g_params, "d_params": d_params,
           "g_opt": setup.g_tx.init(g_params), "d_opt": setup.d_tx.init(d_params)}
  if setup.g_ema_decay:
    state["g_ema"] = jax.tree.map(jnp.copy, g_params)  # own buffers: the step donates the state
  return state


def initial_seeds(setup: Setup, config: ConfigDict) -> tuple[dict, jax.Array]:
  """(state_S, train_keys_S): every seed's initial state, stacked, and the key its train steps
  fold the step number into: where training starts (and what benchmarks of it start from)."""
  keys_S = seed_keys(config)
  return (jax.vmap(lambda k: init_state(setup, k))(keys_S),
          jax.vmap(lambda k: jax.random.fold_in(k, TRAIN_TAG))(keys_S))


def eval_params(setup: Setup, state):
  """The generator weights that are evaluated: the running average if there is one."""
  return state["g_ema"] if setup.g_ema_decay else state["g_params"]


def generate(setup: Setup, g_params, key, num: int):
  return setup.g.apply(g_params, jax.random.normal(key, (num, setup.latent_dim)))


def d_step_key(step_key, i: int):
  """The key of D step i within a train step's key: its real batch and fakes derive from it."""
  return jax.random.fold_in(step_key, i)


def d_loss_fn(setup: Setup, d_params, g_params, key):
  """D's loss on one fresh real batch and one fresh fake batch, with its penalties."""
  method, n = setup.method, setup.num_samples
  real_P = losses.pack(setup.dataset.sample(jax.random.fold_in(key, REAL_TAG), n), method.pack)
  fake_P = losses.pack(generate(setup, g_params, jax.random.fold_in(key, FAKE_TAG), n),
                       method.pack)

  def d_fn(x):
    return setup.d.apply(d_params, x)

  real_logits, fake_logits = d_fn(real_P), d_fn(fake_P)
  aux = {"d_real": real_logits.mean(), "d_fake": fake_logits.mean()}
  if method.wgan_gp:
    penalty = losses.gradient_penalty(d_fn, real_P, fake_P, jax.random.fold_in(key, GP_TAG))
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
  """G's loss against D, or against D unrolled `method.unroll` steps ahead.

  Alternating: G's fakes and each unrolled D step draw fresh data. Simultaneous: all of them
  reuse the minibatch (real data and z) of the step's first D step, as the Unrolled GAN demo's
  graph does: one sampled batch feeds D's loss, the unrolled updates and G's loss in one
  sess.run, so the first unrolled update is D's own update.
  """
  method = setup.method
  shared_key = d_step_key(key, 0) if setup.simultaneous else None
  target = d_params
  if method.unroll:
    if setup.simultaneous:
      keys_K = jnp.broadcast_to(shared_key, (method.unroll,))
    else:
      keys_K = jax.random.split(jax.random.fold_in(key, UNROLL_TAG), method.unroll)
    target = losses.unroll(lambda p, k: d_loss_fn(setup, p, g_params, k)[0], d_params,
                           d_opt_state, setup.d_tx, keys_K, method.first_order)
  z_key = (jax.random.fold_in(shared_key, FAKE_TAG) if setup.simultaneous
           else jax.random.fold_in(key, G_TAG))
  fake = generate(setup, g_params, z_key, setup.num_samples)
  logits = setup.d.apply(target, losses.pack(fake, method.pack))
  if method.wgan_gp:
    return losses.wgan_g_loss(logits)
  return losses.saturating_g_loss(logits) if setup.saturating else losses.ns_g_loss(logits)


def make_train_step(setup: Setup):
  """One seed's `(state, batch, key) -> (state, metrics)`: D step(s), then one G step.

  With `setup.simultaneous`, G's gradient is taken against the D params (and D optimizer
  state, for unrolling) the step started from, on D's first minibatch, so neither player sees
  the other's update and both see the same samples (see g_loss_fn).
  """

  def train_step(state, batch, key):
    del batch  # data are sampled here, from the key
    key = jax.random.fold_in(key, state["step"])
    g_params, d_params = state["g_params"], state["d_params"]
    d_opt, g_opt = state["d_opt"], state["g_opt"]
    for i in range(setup.d_steps):
      (d_loss, d_aux), d_grads = jax.value_and_grad(
          lambda p, i=i: d_loss_fn(setup, p, g_params, d_step_key(key, i)),
          has_aux=True)(d_params)
      d_updates, d_opt = setup.d_tx.update(d_grads, d_opt, d_params)
      d_params = optax.apply_updates(d_params, d_updates)
    g_opponent = (state["d_params"], state["d_opt"]) if setup.simultaneous else (d_params, d_opt)
    g_loss, g_grads = jax.value_and_grad(g_loss_fn, argnums=1)(setup, g_params, *g_opponent, key)
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


def compile_seeds_step(setup: Setup, seed_parallel: seeds.SeedParallel, steps_per_call: int = 1):
  """All seeds in one jitted program (mapped over state and key by `seed_parallel.seed_map`; the
  empty batch is shared) that advances `steps_per_call` steps per call."""
  return seed_parallel.compile(devices.steps_in_one_call(make_train_step(setup), steps_per_call))

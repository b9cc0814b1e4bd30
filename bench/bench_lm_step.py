"""Speed of the byte-level language model's train step: genjax's, against a bare-JAX GPT and a
PyTorch GPT of the same shape.

python bench/bench_lm_step.py                     # the three shapes below, 5 rounds of 20
python bench/bench_lm_step.py --shapes=text_quick --rounds=3 --steps_per_round=10
python bench/bench_lm_step.py --torch_compile     # PyTorch also under torch.compile
python bench/bench_lm_step.py --profile_dir=/tmp/lm_profile   # and where a step's time goes

One step is forward, backward and optimizer update of S seeds' models, each on its own batch of
random bytes (drawn from --seed; no data files). Columns, per shape:
  genjax     the step the real-text experiment runs (genjax/text/fit.py's model, genjax/lm/step.py's
             step, optimizer and state), its S seeds run as the text config's seed_map says on
             this backend: on a CPU the one-seed step called per seed ("sequential"), each seed
             on a host device of its own, or, with at least twice as many cores and devices as
             seeds, its batch split over several (genjax.seeds: devices_per_seed);
  genjax vmap  the same step with the S seeds vmapped in one program on one device (the seed
             map the text experiment runs on an accelerator), where it is not already the row
             above; at one seed, genjax's step on one device;
  bare JAX   a minimal pre-LN GPT written below in plain jax.numpy, with the same parameters
             and optimizer, its seeds run the way the genjax row runs them, a jitted step that
             returns the loss only (no norms); both JAX columns start from the same weights, drawn
             from --seed, and tests/test_bench_lm_step.py checks that they compute the same loss;
  PyTorch    the same GPT in torch, S models trained one after another, eager (and with
             --torch_compile, under torch.compile), only where `import torch` works: torch is
             no dependency of genjax (pip install torch --index-url
             https://download.pytorch.org/whl/cpu).
Every implementation trains with the text config's optimizer ("quick" variant): Adam after a
global-norm clip, linear warmup then cosine decay to 10%. The shapes: nanogpt_cpu (nanoGPT's
CPU example, 4 layers of width 128), text_quick, and text_config (read from
genjax/configs/text.py's "quick" variant).

Each row prints steps/s (a step: all S seeds), tokens/s (predicted bytes of all seeds), GFLOP/s and
that as a share of this machine's float32 matmul peak (a 2048^3 matmul), and genjax's steps/s over
the row's (above 1: genjax is faster); the line under each table adds the range of the per-round
ratios (each round times every row back to back) and how many rounds genjax won. FLOPs are counted
analytically, the matmuls only: 6 x matmul weights (12 x layers x width^2 + width x 256) x tokens,
plus attention's 12 x layers x context x width a token; elementwise work (Adam, LayerNorm, softmax,
the embedding gather) is free. It equals genjax.flop_count's count of the dots in both JAX steps as
written (the test checks). The implementations and the matmul are timed in interleaved rounds
(genjax.timing; one warm-up round first, which compiles), so that machine noise hits all alike, and
medians over rounds are compared. The bench starts as the text experiment does (genjax/startup.py:
one restart with glibc's huge-page tunable, the host shown as one device per seed), so every row,
PyTorch's too, runs on the allocator the experiments run on; GLIBC_TUNABLES=glibc.malloc.hugetlb=0
keeps glibc's defaults, XLA_FLAGS=--xla_force_host_platform_device_count=1 one device. The figures
also go to bench/results/<cpu>.json (bench/results.py) under "lm_step", the tunables with the timing
environment; that folder holds the ones measured so far. With --profile_dir, one seed's step is
also compiled alone on one device and traced (bench/kernel_time.py): its kernel time split into
dots and the rest, and how much faster it would run were the rest free, the ceiling of any change
that leaves the matmuls as XLA runs them.
"""

import dataclasses
import functools
import math
import os
import sys
from typing import NamedTuple

# this checkout's genjax and bench, before any installed genjax
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# isort: split
from genjax import startup

if __name__ == "__main__":  # run, not imported (the tests import it): never restart a test
  # The process the text experiment runs in (experiments/text.py does the same), so genjax's
  # row is its step as trained; PyTorch shares the process and so the allocator.
  startup.restart_with_huge_pages()
  from genjax.configs.text import get_config  # a config file: no JAX

  startup.split_host_into_devices(get_config().num_seeds)

# isort: split
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags

from bench import kernel_time, results
from genjax import cli, seeds, timing
from genjax.configs import text as text_config
from genjax.errors import UserError
from genjax.lm import step as lm_step
from genjax.text import fit as text_fit
from genjax.text import train as text_train

FLAGS = flags.FLAGS
VOCAB = text_fit.VOCAB  # bytes
PEAK_SIZE = 2048  # the float32 matmul that measures the machine's peak: PEAK_SIZE^3
LN_EPS = 1e-6  # flax.linen.LayerNorm's, which genjax's model uses
TORCH_HINT = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


@dataclasses.dataclass(frozen=True)
class Shape:
  name: str
  num_layers: int
  width: int
  num_heads: int
  context: int  # bytes a model reads; a window is context + 1 bytes
  batch_size: int  # windows per step and seed
  num_seeds: int


class Optimizer(NamedTuple):
  """The text config's optimizer (genjax.lm.step.make_tx with a schedule)."""

  grad_clip: float
  learning_rate: float  # peak
  warmup_steps: int
  num_steps: int  # the cosine decay's end


def quick_config():
  return text_config.get_config("quick")


def shapes() -> dict[str, Shape]:
  config = quick_config()
  return {
      "nanogpt_cpu": Shape("nanogpt_cpu", 4, 128, 4, 64, 12, 1),
      "text_quick": Shape("text_quick", 2, 64, 2, 64, 24, 3),
      "text_config": Shape("text_config", config.num_layers, config.width, config.num_heads,
                           config.context, config.batch_size, config.num_seeds),
  }


def text_optimizer() -> Optimizer:
  config = quick_config()
  return Optimizer(config.grad_clip, config.learning_rate, config.warmup_steps, config.num_steps)


def train_flops(shape: Shape) -> int:
  """Matmul FLOPs of one step of all seeds: 3 x the forward's (the backward is 2 x)."""
  d, t = shape.width, shape.context
  forward_per_window = shape.num_layers * (24 * t * d * d + 4 * t * t * d) + 2 * t * d * VOCAB
  return 3 * forward_per_window * shape.batch_size * shape.num_seeds


def tokens_per_step(shape: Shape) -> int:
  return shape.num_seeds * shape.batch_size * shape.context


def random_windows(shape: Shape, seed: int):
  """tokens_SxBxL: each seed's batch of random byte windows (L = context + 1), on the host as the
  text experiment's sampler gives them."""
  key = jax.random.fold_in(jax.random.key(seed), 1)
  return np.asarray(jax.random.randint(key, (shape.num_seeds, shape.batch_size,
                                             shape.context + 1), 0, VOCAB, jnp.int32))


def param_count(params) -> int:
  return sum(int(np.size(x)) for x in jax.tree.leaves(params))


# ---- the weights both JAX implementations start from ----


def init_params(shape: Shape, seed: int) -> dict:
  """S seeds' weights of genjax's Transformer, in flax's tree (the bare model reads the same
  names): weights normal / sqrt(fan in), positions 0.02 normal, zero biases, unit LayerNorm
  scales. Drawn in numpy: no init program to compile (a step's time does not depend on them)."""
  d = shape.width

  def one_seed(rng):
    def dense(m, n):
      return {"kernel": rng.standard_normal((m, n), np.float32) / np.float32(math.sqrt(m)),
              "bias": np.zeros(n, np.float32)}

    def norm():
      return {"scale": np.ones(d, np.float32), "bias": np.zeros(d, np.float32)}

    params = {f"block_{i}": {"ln_attn": norm(), "attn": {"qkv": dense(d, 3 * d),
                                                          "out": dense(d, d)},
                             "ln_mlp": norm(), "mlp_in": dense(d, 4 * d),
                             "mlp_out": dense(4 * d, d)} for i in range(shape.num_layers)}
    params |= {"embed": {"embedding": rng.standard_normal((VOCAB, d), np.float32)
                         / np.float32(math.sqrt(d))},
               "pos_embed": np.float32(0.02) * rng.standard_normal((shape.context, d),
                                                                   np.float32),
               "ln_final": norm(), "head": dense(d, VOCAB)}
    return {"params": params}

  per_seed = [one_seed(np.random.default_rng([seed, s])) for s in range(shape.num_seeds)]
  return jax.tree.map(lambda *xs: np.stack(xs), *per_seed)


# ---- genjax: the real-text experiment's model, state and step ----


def genjax_config(shape: Shape, opt: Optimizer):
  config = quick_config()
  config.num_layers, config.width, config.num_heads = shape.num_layers, shape.width, shape.num_heads
  config.context, config.batch_size, config.num_seeds = (shape.context, shape.batch_size,
                                                         shape.num_seeds)
  config.grad_clip, config.learning_rate = opt.grad_clip, opt.learning_rate
  config.warmup_steps, config.num_steps = opt.warmup_steps, opt.num_steps
  if config.positions != "learned":
    raise UserError(f"the bare models have learned positions; the text config has "
                    f"{config.positions!r}")
  return config


def genjax_model(shape: Shape, opt: Optimizer):
  return text_fit.model(genjax_config(shape, opt), "transformer")


def genjax_tx(config):
  """The optimizer genjax.lm.step.compiled_step builds for the config's schedule (for its state)."""
  return lm_step.make_tx(config.grad_clip, config.learning_rate,
                         (config.warmup_steps, config.num_steps))


def genjax_setup(shape: Shape, opt: Optimizer, seed: int, params_S, seed_map: str | None = None):
  """(step: state -> (state, metrics_S) on `random_windows(shape, seed)`, initial state from
  params_S), as genjax.lm.fit.Trainings.pretrain builds and genjax.loop.Trainer calls them;
  seed_map None: the text experiment's on this backend (genjax.text.train.seed_map)."""
  config = genjax_config(shape, opt)
  net = genjax_model(shape, opt)
  chosen = seed_map or text_train.seed_map(config)
  # One device, except that sequential seeds go round robin over the host's devices, as the text
  # experiment's (config.parallel=auto) do.
  sp = seeds.seed_parallel(shape.num_seeds, "auto" if chosen == "sequential" else "none",
                           seed_map=chosen, batch_size=shape.batch_size)
  schedule = (config.learning_rate, config.warmup_steps, config.num_steps)
  tx = genjax_tx(config)
  state = sp.put_state(lm_step.new_state(params_S, {}, tx))
  train_step = lm_step.compiled_step(sp, net, lm_step.full_params, config.grad_clip, schedule)
  batch = sp.put_batch({"tokens": random_windows(shape, seed)}, batch_axis=0)
  keys_S = seeds.seed_keys(seed, shape.num_seeds)

  def step(state):
    state, metrics = train_step(state, batch, keys_S)
    return state, sp.first(metrics)  # [S] metrics, as the trainer reads them every step

  return step, state


# ---- bare JAX: a minimal GPT of the same shape ----


def _layer_norm(p, x_BxTxD):
  mean_BxTx1 = x_BxTxD.mean(-1, keepdims=True)
  var_BxTx1 = jnp.square(x_BxTxD - mean_BxTx1).mean(-1, keepdims=True)
  return (x_BxTxD - mean_BxTx1) * jax.lax.rsqrt(var_BxTx1 + LN_EPS) * p["scale"] + p["bias"]


def _dense(p, x):
  return x @ p["kernel"] + p["bias"]


def bare_logits(params, tokens_BxT, num_heads: int):
  """Pre-LN GPT: embedding + learned positions, blocks of causal attention and a 4d GELU MLP,
  final LayerNorm, untied head."""
  p = params["params"]
  b, t = tokens_BxT.shape
  d = p["pos_embed"].shape[1]
  x_BxTxD = p["embed"]["embedding"][tokens_BxT] + p["pos_embed"][None, :t]
  causal_TxT = jnp.tril(jnp.ones((t, t), bool))
  for i in range(sum(name.startswith("block_") for name in p)):
    block = p[f"block_{i}"]
    qkv_BxTx3xHxK = _dense(block["attn"]["qkv"], _layer_norm(block["ln_attn"], x_BxTxD)).reshape(
        b, t, 3, num_heads, d // num_heads)
    q_BxTxHxK, k_BxTxHxK, v_BxTxHxK = (qkv_BxTx3xHxK[:, :, j] for j in range(3))
    scores_BxHxTxT = jnp.einsum("bthk,bshk->bhts", q_BxTxHxK, k_BxTxHxK) / math.sqrt(d // num_heads)
    weights_BxHxTxT = jax.nn.softmax(jnp.where(causal_TxT, scores_BxHxTxT, -jnp.inf), axis=-1)
    att_BxTxD = jnp.einsum("bhts,bshk->bthk", weights_BxHxTxT, v_BxTxHxK).reshape(b, t, d)
    x_BxTxD = x_BxTxD + _dense(block["attn"]["out"], att_BxTxD)
    h_BxTxF = jax.nn.gelu(_dense(block["mlp_in"], _layer_norm(block["ln_mlp"], x_BxTxD)))
    x_BxTxD = x_BxTxD + _dense(block["mlp_out"], h_BxTxF)
  return _dense(p["head"], _layer_norm(p["ln_final"], x_BxTxD))


def bare_loss(params, tokens_BxL, num_heads: int):
  """Mean next-byte NLL: the model reads bytes 0..L-2 and predicts 1..L-1."""
  logp_BxTxV = jax.nn.log_softmax(bare_logits(params, tokens_BxL[:, :-1], num_heads))
  return -jnp.take_along_axis(logp_BxTxV, tokens_BxL[:, 1:, None], axis=-1).mean()


def bare_tx(opt: Optimizer):
  lr = optax.warmup_cosine_decay_schedule(0.0, opt.learning_rate, opt.warmup_steps,
                                          max(opt.num_steps, opt.warmup_steps + 1),
                                          0.1 * opt.learning_rate)
  return optax.chain(optax.clip_by_global_norm(opt.grad_clip), optax.adam(lr))


@functools.lru_cache(maxsize=8)
def bare_step(num_heads: int, opt: Optimizer, seed_map: str = "vmap",
              sp: seeds.SeedParallel | None = None):
  """`(state_S, tokens_SxBxL) -> (state_S, loss_S)`, the state donated; compiled once per
  (heads, optimizer, seed map) and shape of the arguments. seed_map "vmap": one jitted program
  over the seeds; "sequential": the one-seed step jitted once and called per seed, the state a
  tuple of the seeds' own and each seed's tokens placed where `sp` runs that seed (as
  genjax.seeds runs it)."""
  tx = bare_tx(opt)

  def step(state, tokens_BxL):
    params, opt_state = state
    loss, grads = jax.value_and_grad(bare_loss)(params, tokens_BxL, num_heads)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss

  if seed_map == "vmap":
    return jax.jit(jax.vmap(step), donate_argnums=0)
  one_seed = jax.jit(step, donate_argnums=0)

  def sequential(states, tokens_SxBxL):  # the seeds' losses stay on their devices
    outs = [one_seed(state, jax.device_put(tokens_SxBxL[s], sp.seed_sharding(s, batch=True)))
            for s, state in enumerate(states)]
    return tuple(state for state, _ in outs), tuple(loss for _, loss in outs)

  return sequential


def bare_setup(shape: Shape, opt: Optimizer, params_S, seed_map: str = "vmap"):
  """(step, initial state from params_S): the seeds run as `seed_map` says (bare_step)."""
  tx = bare_tx(opt)
  state = jax.jit(lambda p: (p, jax.vmap(tx.init)(p)))(params_S)
  if seed_map == "vmap":
    return bare_step(shape.num_heads, opt, seed_map), state
  # each seed where genjax.seeds runs it: its own device (round robin), or a few, its batch split
  sp = seeds.seed_parallel(shape.num_seeds, "auto", seed_map="sequential",
                           batch_size=shape.batch_size)
  state = tuple(jax.device_put(jax.tree.map(lambda x, s=s: x[s], state), sp.seed_sharding(s))
                for s in range(shape.num_seeds))
  return bare_step(shape.num_heads, opt, seed_map, sp), state


# ---- PyTorch: the same GPT, one model per seed ----


def import_torch():
  """torch, or None where it is not installed (it is no dependency of genjax)."""
  try:
    import torch
  except ImportError:
    return None
  return torch


def torch_device(torch) -> str:
  return "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"


def torch_gpt(torch, shape: Shape):
  """genjax's Transformer in torch, parameter for parameter."""
  nn, functional = torch.nn, torch.nn.functional

  class Block(nn.Module):

    def __init__(self, d, num_heads):
      super().__init__()
      self.num_heads = num_heads
      self.ln_attn, self.ln_mlp = nn.LayerNorm(d, eps=LN_EPS), nn.LayerNorm(d, eps=LN_EPS)
      self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
      self.mlp_in, self.mlp_out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x_BxTxD):
      b, t, d = x_BxTxD.shape
      qkv_3xBxHxTxK = self.qkv(self.ln_attn(x_BxTxD)).view(
          b, t, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
      att_BxHxTxK = functional.scaled_dot_product_attention(*qkv_3xBxHxTxK, is_causal=True)
      x_BxTxD = x_BxTxD + self.out(att_BxHxTxK.transpose(1, 2).reshape(b, t, d))
      h_BxTxF = functional.gelu(self.mlp_in(self.ln_mlp(x_BxTxD)), approximate="tanh")
      return x_BxTxD + self.mlp_out(h_BxTxF)

  class GPT(nn.Module):

    def __init__(self):
      super().__init__()
      d = shape.width
      self.embed = nn.Embedding(VOCAB, d)
      self.pos = nn.Parameter(0.02 * torch.randn(shape.context, d))
      self.blocks = nn.ModuleList(Block(d, shape.num_heads) for _ in range(shape.num_layers))
      self.ln_final, self.head = nn.LayerNorm(d, eps=LN_EPS), nn.Linear(d, VOCAB)

    def forward(self, tokens_BxT):
      x_BxTxD = self.embed(tokens_BxT) + self.pos[:tokens_BxT.shape[1]]
      for block in self.blocks:
        x_BxTxD = block(x_BxTxD)
      return self.head(self.ln_final(x_BxTxD))

  return GPT()


def torch_lr_factor(opt: Optimizer):
  """optax.warmup_cosine_decay_schedule(0, peak, warmup, total, peak / 10) over the peak."""
  total = max(opt.num_steps, opt.warmup_steps + 1)

  def factor(count):
    if count < opt.warmup_steps:
      return count / opt.warmup_steps
    done = min(count - opt.warmup_steps, total - opt.warmup_steps) / (total - opt.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))

  return factor


def torch_setup(torch, shape: Shape, opt: Optimizer, seed: int, tokens_SxBxL,
                compile_model: bool = False):
  """(run: steps -> None, training the S models one after another, each on its seed's batch;
  the S models)."""
  device = torch_device(torch)
  data_SxBxL = torch.from_numpy(np.asarray(tokens_SxBxL, np.int64)).to(device)
  trainers = []
  for s in range(shape.num_seeds):
    torch.manual_seed(seed * 1000 + s)
    model = torch_gpt(torch, shape).to(device)
    adam = torch.optim.Adam(model.parameters(), lr=opt.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(adam, torch_lr_factor(opt))
    forward = torch.compile(model) if compile_model else model
    trainers.append((model, forward, adam, schedule))

  def run(steps: int):
    for _ in range(steps):
      for s, (model, forward, adam, schedule) in enumerate(trainers):
        tokens_BxL = data_SxBxL[s]
        logits_BxTxV = forward(tokens_BxL[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits_BxTxV.reshape(-1, VOCAB),
                                                 tokens_BxL[:, 1:].reshape(-1))
        adam.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), opt.grad_clip)
        adam.step()
        schedule.step()
    if device == "cuda":
      torch.cuda.synchronize()

  return run, [model for model, *_ in trainers]


def profile_line(shape: Shape, opt: Optimizer, seed: int, params_S, trace_dir: str,
                 peak_flops_per_s: float, steps: int) -> str:
  """One seed's genjax step (its first seed's weights and batch), compiled alone on one device and
  traced: where its kernel time goes, and the step's ceiling with everything but its dots free
  (bench/kernel_time.py)."""
  config = genjax_config(shape, opt)
  tx = genjax_tx(config)
  first = jax.tree.map(lambda x: x[:1], params_S)
  state = jax.tree.map(lambda x: x[0], lm_step.new_state(first, {}, tx))
  batch = {"tokens": jnp.asarray(random_windows(shape, seed)[0])}
  key = seeds.seed_keys(seed, 1)[0]
  train_step = lm_step.make_train_step(genjax_model(shape, opt), tx, lm_step.full_params)
  compiled = jax.jit(train_step, donate_argnums=0).lower(state, batch, key).compile()
  split = kernel_time.trace(compiled, state, (batch, key), steps, trace_dir)
  if split is None:
    return f"  profile: no XLA kernel events in {trace_dir} (a backend that does not trace them?)"
  return (f"  profile of one seed's step on one device (trace in {trace_dir}): "
          + split.describe(train_flops(shape) / shape.num_seeds, peak_flops_per_s))


# ---- timing ----


def repeated(step, state, steps: int):
  """A zero-argument callable that runs `steps` steps, carrying the state; returns the last
  step's outputs (timing blocks on them; each step waits for the one before)."""
  holder = [state]

  def run():
    out = None
    for _ in range(steps):
      holder[0], out = step(holder[0])
    return out

  return run


def describe_shape(shape: Shape) -> str:
  return (f"{shape.num_layers} layers, width {shape.width}, {shape.num_heads} heads, context "
          f"{shape.context}, batch {shape.batch_size}, {shape.num_seeds} seed(s)")


def measure(shape: Shape, opt: Optimizer, rounds: int, steps_per_round: int, seed: int,
            torch=None, torch_compile: bool = False, peak_size: int = PEAK_SIZE,
            profile_dir: str = "") -> list[dict]:
  """Times every implementation at `shape` beside the matmul peak; prints its table and returns
  its rows; with `profile_dir`, also where one seed's step spends its kernel time (a row)."""
  tokens_SxBxL = random_windows(shape, seed)
  params_S = init_params(shape, seed)
  ours = text_train.seed_map(genjax_config(shape, opt))
  genjax_step, genjax_state = genjax_setup(shape, opt, seed, params_S)
  bare, bare_state = bare_setup(shape, opt, params_S, ours)
  params = param_count(params_S) // shape.num_seeds
  matmul, peak_flops = timing.matmul(peak_size)
  peak_calls = max(3, steps_per_round // 10)
  calls = {"peak": repeated(lambda s: (s, matmul()), None, peak_calls),
           "genjax": repeated(genjax_step, genjax_state, steps_per_round),
           **({} if ours == "vmap" else {"genjax vmap": repeated(
               *genjax_setup(shape, opt, seed, params_S, "vmap"), steps_per_round)}),
           "bare JAX": repeated(lambda s: bare(s, tokens_SxBxL), bare_state, steps_per_round)}
  if torch is not None:
    variants = {"PyTorch": False} | ({"PyTorch compiled": True} if torch_compile else {})
    for name, compiled in variants.items():
      run, _ = torch_setup(torch, shape, opt, seed, tokens_SxBxL, compiled)
      calls[name] = lambda run=run: run(steps_per_round)
  times = timing.time_interleaved(calls, rounds, warmup=1)
  steps = {name: peak_calls if name == "peak" else steps_per_round for name in calls}
  median = {name: timing.median([steps[name] / t for t in ts]) for name, ts in times.items()}
  flops = {name: peak_flops if name == "peak" else train_flops(shape) for name in calls}
  peak_gflops = median["peak"] * peak_flops / 1e9

  print(f"\n{shape.name}: {describe_shape(shape)}; {params:,} params a seed; "
        f"{train_flops(shape) / 1e6:,.1f} MFLOP a step")
  print(f"{'':>2}{'implementation':<17} {'steps/s':>9} {'tokens/s':>11} {'GFLOP/s':>9} "
        f"{'% peak':>7} {'genjax/this':>11}")
  fields = {k: v for k, v in dataclasses.asdict(shape).items() if k != "name"}
  rows = []
  for name in calls:
    gflops = median[name] * flops[name] / 1e9
    tokens = None if name == "peak" else median[name] * tokens_per_step(shape)
    over = None if name == "peak" else median["genjax"] / median[name]
    # Each round times genjax and this row back to back: the spread of their per-round ratios
    # says whether the medians' ratio is the machine's noise or a real gap.
    per_round = (None if name == "peak"
                 else timing.per_round_ratio(times[name], times["genjax"]))
    print(f"{'':>2}{name:<17} {median[name]:>9.2f} "
          f"{'' if tokens is None else f'{tokens:,.0f}':>11} {gflops:>9.2f} "
          f"{gflops / peak_gflops:>7.1%} {'' if over is None else f'{over:.3f}':>11}")
    rows.append({"shape": shape.name, **fields, "params": params,
                 "implementation": name, "steps_per_s": median[name], "tokens_per_s": tokens,
                 "flops_per_step": flops[name], "gflops": gflops,
                 "share_of_peak": gflops / peak_gflops, "genjax_over_this": over,
                 "genjax_over_this_per_round": per_round})
  ratios = [f"genjax/{row['implementation']} {describe_ratio(row)}" for row in rows
            if row["implementation"] not in ("peak", "genjax")]
  print(f"{'':>2}{shape.name}: {', '.join(ratios)} (steps/s over steps/s; above 1: genjax "
        "faster)")
  if profile_dir:
    line = profile_line(shape, opt, seed, params_S, os.path.join(profile_dir, shape.name),
                        peak_gflops * 1e9, steps_per_round)
    print(line)
    rows.append({"shape": shape.name, **fields, "implementation": "profile",
                 "profile": line.strip()})
  return rows


def describe_ratio(row: dict) -> str:
  """'0.943x (rounds 0.901-0.990, genjax faster in 0 of 5)': the medians' ratio, the range of
  the per-round ratios and how many rounds genjax won."""
  per_round = row["genjax_over_this_per_round"]
  wins = sum(r > 1 for r in per_round)
  return (f"{row['genjax_over_this']:.3f}x (rounds {min(per_round):.3f}-{max(per_round):.3f}, "
          f"genjax faster in {wins} of {len(per_round)})")


def define_flags():
  flags.DEFINE_list("shapes", list(shapes()), f"Shapes to time, of {', '.join(shapes())}.")
  flags.DEFINE_integer("rounds", 5, "Interleaved rounds (the median is kept).", lower_bound=1)
  flags.DEFINE_integer("steps_per_round", 20, "Train steps of each implementation per round.",
                       lower_bound=1)
  flags.DEFINE_integer("seed", 0, "Derives the random bytes trained on and every model's init.")
  flags.DEFINE_bool("torch_compile", False, "Also time the PyTorch models under torch.compile.")
  flags.DEFINE_string("profile_dir", "", "If set: trace one seed's genjax step per shape into "
                      "this folder and print where its kernel time goes (bench/kernel_time.py).")


def main(argv):
  del argv
  known = shapes()
  unknown = [name for name in FLAGS.shapes if name not in known]
  if unknown or not FLAGS.shapes:
    raise UserError(f"--shapes={','.join(FLAGS.shapes)}: name one or more of "
                    f"{', '.join(known)}")
  torch = import_torch()
  opt = text_optimizer()
  print(f"{timing.describe(timing.environment())}; medians of {FLAGS.rounds} interleaved rounds "
        f"of {FLAGS.steps_per_round} steps after a warm-up round (genjax.timing); peak = float32 "
        f"matmul {PEAK_SIZE}^3 timed in the same rounds")
  print("FLOPs: analytic, 6 x matmul weights x tokens + attention (12 x layers x context x width "
        "a token); equal to genjax.flop_count's dots of both JAX steps as written "
        "(tests/test_bench_lm_step.py)")
  print(f"optimizer (the text config's): Adam, clip {opt.grad_clip}, peak rate "
        f"{opt.learning_rate}, {opt.warmup_steps} warmup steps, cosine decay over "
        f"{opt.num_steps}")
  if torch is None:
    print(f"PyTorch: not installed, its columns are skipped (to add them: {TORCH_HINT})")
  else:
    print(f"PyTorch {torch.__version__} on {torch_device(torch)} ({torch.get_num_threads()} "
          f"threads), S models one after another, eager"
          + (" and under torch.compile" if FLAGS.torch_compile else ""))
  rows = []
  for name in FLAGS.shapes:
    rows += measure(known[name], opt, FLAGS.rounds, FLAGS.steps_per_round, FLAGS.seed, torch,
                    FLAGS.torch_compile, profile_dir=FLAGS.profile_dir)
  results.record("lm_step", rows, timing=timing.environment(),
                 torch=None if torch is None else torch.__version__)


if __name__ == "__main__":
  define_flags()
  cli.run(main)  # not app.run: --help exits 0, bad flags are one `error:` line

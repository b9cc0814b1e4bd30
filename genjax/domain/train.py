"""The five studies of issue 4; `train_and_evaluate` dispatches on config.study.

Every training runs `config.num_seeds` seeds side by side: the state has a leading seed axis and
one compiled step vmaps over it. Seed s has its own chains (pool, target A, genres), data and
init, all derived from `config.seed`, so the spread over seeds includes the draw of the domains.
Trainings are resumable (`genjax.loop.train_loop`); evaluations at the points of a grid are
cached in workdir/evals/, so a rerun after an interruption recomputes nothing.
"""

import functools
import hashlib
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from ml_collections import ConfigDict

from genjax import checks, logs, parallel
from genjax.configs.domain import STUDIES
from genjax.domain import bayes, lora, markov, report
from genjax.domain.model import make_model, next_token_nll
from genjax.errors import UserError
from genjax.loop import train_loop

# Tags folded into the base key: each kind of randomness has its own stream.
POOL, TARGET, GENRES, TRAIN, EVAL, INIT, LORA = range(1, 8)

PRETRAIN_FIELDS = ("seed", "num_seeds", "vocab", "alpha", "seq_len", "num_layers", "width",
                   "num_heads", "positions", "pretrain_steps", "batch_size", "learning_rate",
                   "warmup_steps", "grad_clip", "pretrain_evals", "eval_sequences")


def validate(config: ConfigDict) -> None:
  checks.require_choice(config, "study", STUDIES)
  checks.require_choice(config, "positions", ("learned", "rotary"))
  checks.require_positive(config, "num_seeds", "vocab", "alpha", "seq_len", "num_layers",
                          "width", "num_heads", "pretrain_steps", "batch_size", "learning_rate",
                          "pretrain_evals", "eval_sequences", "eval_chunk", "finetune_lrs",
                          "lora_lr", "replay_lr", "num_genres", "genre_alpha",
                          "genre_concentration", "fewshot_sizes", "fewshot_steps", "fewshot_lr",
                          "dapt_lr", "dapt_shots", "continual_stages", "continual_steps",
                          "continual_lr", "log_every", "checkpoint_every", "unigram_prior")
  checks.require_non_negative(config, "pool_sizes", "finetune_steps", "warmup_steps",
                              "dapt_steps", "continual_replay", "replay_fractions", "lora_ranks")
  if config.width % (2 * config.num_heads):
    raise UserError(f"config.width={config.width} must be a multiple of 2 * config.num_heads")
  if config.eval_sequences % min(config.eval_chunk, config.eval_sequences):
    raise UserError(f"config.eval_sequences={config.eval_sequences} must be a multiple of "
                    f"config.eval_chunk={config.eval_chunk}")
  if any(not 0 <= f < 1 for f in [*config.replay_fractions, config.continual_replay]):
    raise UserError("config.replay_fractions and config.continual_replay must be in [0, 1)")
  if config.num_genres < max(2, config.continual_stages):
    raise UserError(f"config.num_genres={config.num_genres} must be >= 2 and >= "
                    f"config.continual_stages={config.continual_stages}")
  for arch in config.archs:
    if arch not in ("transformer", "transformer_1layer", "bag_mlp"):
      raise UserError(f"config.archs has unknown architecture {arch!r}")


def fingerprint(config: ConfigDict, fields, **extra) -> str:
  """Short hash naming a training by the fields that define it (shared across studies)."""
  values = {f: config[f] for f in fields} | extra
  return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8]


def seed_keys(config: ConfigDict, tag: int):
  return parallel.seed_keys(config.seed, config.num_seeds, tag)


def summary(values_S) -> dict:
  values = np.asarray(values_S, np.float64)
  return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1
          else 0.0, "seeds": values.tolist()}


def mean_over_positions(per_position_SxT) -> np.ndarray:
  return np.asarray(per_position_SxT).mean(axis=-1)


# ---------------------------------------------------------------- data and references


@functools.partial(jax.jit, static_argnames=("fractions", "batch_size", "length"))
def sample_mixture_S(keys_S, sources, step, *, fractions, batch_size: int, length: int):
  """Each seed's batch (S x B x L) of `sources` mixed in exact `fractions`; compiled once per
  source structure, shared by every training of a study."""

  def one(key, srcs):
    return markov.sample_mixture(jax.random.fold_in(key, step), srcs, fractions, batch_size,
                                 length)[0]

  return jax.vmap(one)(keys_S, sources)


def eval_set(keys_S, source: markov.Source, config, num=None):
  """Tokens S x N x L from a source with per-seed arrays; the same keys give the same set."""
  num = num or config.eval_sequences
  return sample_mixture_S(keys_S, [source], 0, fractions=(1.0,), batch_size=num,
                          length=config.seq_len)


@functools.partial(jax.jit, static_argnames=("num", "length", "vocab", "alpha"))
def _fresh_S(keys_S, *, num, length, vocab, alpha):
  return jax.vmap(lambda k: markov.sample_fresh(k, num, length, vocab, alpha))(keys_S)


def fresh_set(keys_S, config, num=None):
  """Held-out domains: tokens S x N x L and their chains S x N x V x V."""
  return _fresh_S(keys_S, num=num or config.eval_sequences, length=config.seq_len,
                  vocab=config.vocab, alpha=config.alpha)


@functools.partial(jax.jit, static_argnames=("num", "length", "concentration"))
def _genre_S(keys_S, base_SxVxV, *, num, length, concentration):
  def one(key, base):
    chain_key, seq_key = jax.random.split(key)
    chains = markov.sample_genre_chains(chain_key, base, concentration, num)
    return markov.sample_sequences(seq_key, chains, length), chains

  return jax.vmap(one)(keys_S, base_SxVxV)


def genre_set(keys_S, base_SxVxV, config, num=None):
  """Fresh chains of one genre per seed: tokens S x N x L and chains S x N x V x V."""
  return _genre_S(keys_S, base_SxVxV, num=num or config.eval_sequences, length=config.seq_len,
                  concentration=config.genre_concentration)


def per_seed(fn, *arrays_S):
  """Per-position mean NLL S x (L-1) of a reference applied seed by seed."""
  return np.stack([bayes.per_position(fn(*(a[s] for a in arrays_S)))[1:]
                   for s in range(arrays_S[0].shape[0])])


def standard_references(tokens_SxNxL, config) -> dict:
  return {
      "uniform": per_seed(lambda t: bayes.uniform(t, config.vocab), tokens_SxNxL),
      "unigram": per_seed(lambda t: bayes.unigram(t, config.vocab, config.unigram_prior),
                          tokens_SxNxL),
      "bayes_new_domain": per_seed(
          lambda t: bayes.new_domain_bayes(t, config.vocab, config.alpha), tokens_SxNxL),
  }


# ---------------------------------------------------------------- training


def make_tx(learning_rate, config, schedule_steps=None):
  """Clipped Adam; a constant learning rate lives in the optimizer state, so finetuning runs at
  different rates share one compiled step."""
  if schedule_steps:
    lr = optax.warmup_cosine_decay_schedule(0.0, learning_rate, config.warmup_steps,
                                            max(schedule_steps, config.warmup_steps + 1),
                                            0.1 * learning_rate)
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(lr))
  return optax.chain(optax.clip_by_global_norm(config.grad_clip),
                     optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate))


def make_train_step(model, tx, dp: parallel.DataParallel, to_params):
  """Per-seed step vmapped over the seed axis: `(state, batch, key) -> (state, metrics)`.

  state = {"step", "trainable", "frozen", "opt_state"}; the model sees
  `to_params(trainable, frozen)` (identity for full finetuning, a LoRA merge for adapters).
  """

  def one_seed(state, tokens_BxL):
    def loss_fn(trainable):
      params = to_params(trainable, state["frozen"])
      return next_token_nll(model, params, tokens_BxL).mean(), {}

    (loss, _), grads = dp.value_and_grad(loss_fn)(state["trainable"])
    updates, opt_state = tx.update(grads, state["opt_state"], state["trainable"])
    trainable = optax.apply_updates(state["trainable"], updates)
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads),
               "param_norm": optax.global_norm(trainable),
               "update_norm": optax.global_norm(updates)}
    return {**state, "trainable": trainable, "opt_state": opt_state}, metrics

  def train_step(state, batch, key):
    del key  # the step draws nothing: batches come from the (seeded) sampler
    per_seed_state = {k: v for k, v in state.items() if k != "step"}
    per_seed_state, metrics = jax.vmap(one_seed)(per_seed_state, batch["tokens"])
    return {**per_seed_state, "step": state["step"] + 1}, metrics

  return train_step


def full_params(trainable, frozen):
  del frozen
  return trainable


def lora_params(trainable, frozen):
  return lora.merge(frozen, trainable)


def new_state(trainable_S, frozen_S, tx):
  """A fresh training state (`dp.put_state` copies it, so the donated step leaves it intact)."""
  return {"step": np.zeros((), np.int32), "trainable": trainable_S, "frozen": frozen_S,
          "opt_state": jax.vmap(tx.init)(trainable_S)}


def make_sampler(keys_S, sources, fractions, batch_size: int, length: int):
  """step -> {"tokens": S x B x L}: each seed's batch mixes `sources` in exact `fractions`."""
  fractions = tuple(float(f) for f in fractions)
  return lambda step: {"tokens": np.asarray(sample_mixture_S(
      keys_S, list(sources), step, fractions=fractions, batch_size=batch_size, length=length))}


@functools.lru_cache(maxsize=16)
def _evaluator(model):
  @jax.jit
  def nll_sum(params_S, tokens_SxCxL):
    return jax.vmap(lambda p, t: next_token_nll(model, p, t).sum(0))(params_S, tokens_SxCxL)

  return nll_sum


def evaluate(model, params_S, tokens_SxNxL, chunk: int) -> np.ndarray:
  """Per-position mean NLL of each seed's model on its own sequences: S x (L-1)."""
  nll_sum = _evaluator(model)
  n = tokens_SxNxL.shape[1]
  chunk = min(chunk, n)
  total = sum(np.asarray(nll_sum(params_S, tokens_SxNxL[:, i:i + chunk]))
              for i in range(0, n, chunk))
  return total / n


class Trainer:
  """What every training of one study shares: config, workdir, devices, log writer."""

  def __init__(self, config: ConfigDict, workdir: str):
    self.config, self.workdir = config, workdir
    self.dp = parallel.make("none")  # seeds, not devices, are the parallel axis here
    self.writer = logs.MetricsWriter(workdir)
    self.eval_dir = os.path.join(workdir, "evals")
    os.makedirs(self.eval_dir, exist_ok=True)
    self.compiled = {}

  def model(self, arch: str):
    c = self.config
    return make_model(arch, vocab=c.vocab, width=c.width, num_heads=c.num_heads,
                      max_len=c.seq_len, positions=c.positions, num_layers=c.num_layers)

  def step_fn(self, model, tx, to_params, key):
    """One compiled step per (model, optimizer kind); key names the optimizer settings."""
    if key not in self.compiled:
      self.compiled[key] = self.dp.compile(make_train_step(model, tx, self.dp, to_params))
    return self.compiled[key]

  def run(self, name: str, model, state, tx, to_params, sampler, grid, eval_sets: dict,
          step_key):
    """Trains to each T of `grid` in turn and evaluates there; returns (state, {T: {set: SxT}}).

    Evaluations are cached per (name, T) in workdir/evals/name.npz.
    """
    path = os.path.join(self.eval_dir, f"{name}.npz")
    cache = dict(np.load(path)) if os.path.exists(path) else {}
    train_step = self.step_fn(model, tx, to_params, step_key)
    evals = {}
    for t in grid:
      keys = {s: f"{t}/{s}" for s in eval_sets}
      if all(k in cache for k in keys.values()) and t != grid[-1]:
        evals[t] = {s: cache[k] for s, k in keys.items()}
        continue
      state = self._train(name, state, train_step, sampler, t)
      params_S = jax.vmap(to_params)(state["trainable"], state["frozen"])
      evals[t] = {s: evaluate(model, params_S, tokens, self.config.eval_chunk)
                  for s, tokens in eval_sets.items()}
      cache.update({keys[s]: v for s, v in evals[t].items()})
      if logs.is_main_process():
        np.savez(path, **cache)
      logging.info("%s T=%d: %s", name, t, {s: f"{v.mean():.4f}" for s, v in evals[t].items()})
    return state, evals

  def _train(self, name, state, train_step, sampler, num_steps):
    c = self.config
    return train_loop(state=state, train_step=train_step, get_batch=sampler,
                      num_steps=num_steps, workdir=self.workdir,
                      key=jax.random.key(c.seed), dp=self.dp, log_every=c.log_every,
                      checkpoint_every=c.checkpoint_every, keep_checkpoints=c.keep_checkpoints,
                      writer=self.writer, name=name)


def pretrain(trainer: Trainer, arch: str, source: markov.Source, pool_size: int,
             eval_sets: dict):
  """Trains `arch` from scratch on `source`; returns (model, params_S, evals at checkpoints)."""
  c = trainer.config
  model = trainer.model(arch)
  init_keys = seed_keys(c, INIT)
  params_S = jax.vmap(lambda k: model.init(k, jnp.zeros((1, c.seq_len - 1), jnp.int32)))(
      init_keys)
  tx = make_tx(c.learning_rate, c, schedule_steps=c.pretrain_steps)
  state = new_state(params_S, {}, tx)
  name = f"pretrain_{arch}_M{pool_size}_{fingerprint(c, PRETRAIN_FIELDS)}"
  sampler = make_sampler(seed_keys(c, TRAIN + 100 * (pool_size + 1)), [source], [1.0],
                         c.batch_size, c.seq_len)
  grid = np.linspace(0, c.pretrain_steps, c.pretrain_evals + 1).astype(int)[1:].tolist()
  state, evals = trainer.run(name, model, state, tx, full_params, sampler, grid, eval_sets,
                             step_key=("pretrain", arch))
  return model, state["trainable"], evals


def infinite_source(config) -> markov.Source:
  return markov.Source("fresh", {}, config.vocab, config.alpha)


def checkpoint_selection(evals: dict, valid: str, test: str) -> dict:
  """DomainBed's rules over the evaluated checkpoints: training-domain validation picks the
  checkpoint with the lowest mean `valid` loss; the test-domain oracle (labelled as such) the
  lowest `test` loss; both report the `test` loss there."""
  steps = sorted(evals)
  valid_mean = [float(evals[t][valid].mean()) for t in steps]
  test_mean = [float(evals[t][test].mean()) for t in steps]
  by_valid, by_oracle = steps[int(np.argmin(valid_mean))], steps[int(np.argmin(test_mean))]
  return {"training_domain_validation": {"step": by_valid, test: summary(
              mean_over_positions(evals[by_valid][test]))},
          "test_domain_oracle": {"step": by_oracle, test: summary(
              mean_over_positions(evals[by_oracle][test]))}}


# ---------------------------------------------------------------- the studies


def study_diversity(trainer: Trainer) -> tuple[dict, dict]:
  """Pretraining diversity M vs in-distribution and held-out loss."""
  c = trainer.config
  heldout, heldout_chains = fresh_set(seed_keys(c, EVAL), c)
  losses = {"heldout/" + k: v for k, v in standard_references(heldout, c).items()}
  losses["heldout/oracle"] = per_seed(bayes.oracle, heldout, heldout_chains)
  rows = []
  for m in c.pool_sizes:
    if m == markov.INFINITE:
      source = infinite_source(c)
      indist, indist_chains = fresh_set(seed_keys(c, EVAL + 1000), c)
    else:
      pools = jax.vmap(lambda k, m=m: markov.sample_chains(k, m, c.vocab, c.alpha))(
          seed_keys(c, POOL + 100 * m))
      source = markov.Source("pool", {"chains": pools}, c.vocab, c.alpha)
      index = jax.vmap(lambda k, m=m: jax.random.randint(k, (c.eval_sequences,), 0, m))(
          seed_keys(c, EVAL + 1000 + m))
      indist_chains = jax.vmap(lambda p, i: p[i])(pools, index)
      indist = jax.vmap(lambda k, ch: markov.sample_sequences(k, ch, c.seq_len))(
          seed_keys(c, EVAL + 2000 + m), indist_chains)
    _, _, evals = pretrain(trainer, c.arch, source, m, {"indist": indist, "heldout": heldout})
    final = evals[max(evals)]
    tag = f"M{m}"
    losses[f"{tag}/model_indist"], losses[f"{tag}/model_heldout"] = final["indist"], final[
        "heldout"]
    losses[f"{tag}/oracle_indist"] = per_seed(bayes.oracle, indist, indist_chains)
    if m == markov.INFINITE:
      losses[f"{tag}/pool_bayes_indist"] = per_seed(
          lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), indist)
      losses[f"{tag}/pool_bayes_heldout"] = losses["heldout/bayes_new_domain"]
    else:
      losses[f"{tag}/pool_bayes_indist"] = per_seed(bayes.pool_bayes, indist, pools)
      losses[f"{tag}/pool_bayes_heldout"] = per_seed(bayes.pool_bayes, heldout, pools)
    row = {"pool_size": m}
    for key in ("model_indist", "model_heldout", "pool_bayes_indist", "pool_bayes_heldout",
                "oracle_indist"):
      row[key] = summary(mean_over_positions(losses[f"{tag}/{key}"]))
    row["selection"] = checkpoint_selection(evals, "indist", "heldout")
    rows.append(row)
  refs = {k.split("/")[1]: summary(mean_over_positions(v)) for k, v in losses.items()
          if k.startswith("heldout/")}
  return {"rows": rows, "references_heldout": refs}, losses


def study_architecture(trainer: Trainer) -> tuple[dict, dict]:
  """2-layer vs 1-layer transformer vs bag-of-tokens MLP at M = infinity."""
  c = trainer.config
  heldout, heldout_chains = fresh_set(seed_keys(c, EVAL), c)
  indist, _ = fresh_set(seed_keys(c, EVAL + 1000), c)
  losses = {"heldout/" + k: v for k, v in standard_references(heldout, c).items()}
  losses["heldout/oracle"] = per_seed(bayes.oracle, heldout, heldout_chains)
  rows = []
  for arch in c.archs:
    _, _, evals = pretrain(trainer, arch, infinite_source(c), markov.INFINITE,
                           {"indist": indist, "heldout": heldout})
    losses[f"{arch}/heldout"] = evals[max(evals)]["heldout"]
    rows.append({"arch": arch, "heldout": summary(mean_over_positions(losses[f"{arch}/heldout"])),
                 "selection": checkpoint_selection(evals, "indist", "heldout")})
  refs = {k.split("/")[1]: summary(mean_over_positions(v)) for k, v in losses.items()
          if k.startswith("heldout/")}
  return {"rows": rows, "references_heldout": refs}, losses


def _pretrained_base(trainer: Trainer):
  """The M = infinity transformer every finetuning study starts from (shared by hash)."""
  c = trainer.config
  heldout, heldout_chains = fresh_set(seed_keys(c, EVAL), c)
  indist, _ = fresh_set(seed_keys(c, EVAL + 1000), c)
  model, params_S, _ = pretrain(trainer, c.arch, infinite_source(c), markov.INFINITE,
                                {"indist": indist, "heldout": heldout})
  return model, params_S, heldout, heldout_chains


def finetune_methods(config) -> list[tuple[str, str, float, float]]:
  """(name, kind, learning rate, replay fraction or LoRA rank) of every finetuning run."""
  methods = [(f"full_lr{lr:g}", "full", lr, 0.0) for lr in config.finetune_lrs]
  methods += [(f"lora_r{r}", "lora", config.lora_lr, r) for r in config.lora_ranks if r > 0]
  methods += [(f"replay{f:g}", "full", config.replay_lr, f) for f in config.replay_fractions
              if f > 0]
  return methods


def _finetune(trainer, model, params_S, name, kind, lr, extra, sources, fractions, grid,
              eval_sets, sampler_tag):
  c = trainer.config
  tx = make_tx(lr, c)
  if kind == "lora":
    adapters = jax.vmap(lambda k, p: lora.init(k, p, int(extra)))(seed_keys(c, LORA), params_S)
    state, to_params = new_state(adapters, params_S, tx), lora_params
  else:
    state, to_params = new_state(params_S, {}, tx), full_params
  sampler = make_sampler(seed_keys(c, TRAIN + sampler_tag), sources, fractions, c.batch_size,
                         c.seq_len)
  return trainer.run(name, model, state, tx, to_params, sampler, grid, eval_sets,
                     step_key=(kind, int(extra) if kind == "lora" else 0))


def study_finetune(trainer: Trainer) -> tuple[dict, dict]:
  """Finetune the M = infinity model on target A: target and held-out loss vs steps T."""
  c = trainer.config
  model, params_S, heldout, heldout_chains = _pretrained_base(trainer)
  target_S = jax.vmap(lambda k: markov.sample_chains(k, 1, c.vocab, c.alpha)[0])(
      seed_keys(c, TARGET))
  target_source = markov.Source("chain", {"chain": target_S}, c.vocab, c.alpha)
  target = eval_set(seed_keys(c, EVAL + 3000), target_source, c)
  target_valid = eval_set(seed_keys(c, EVAL + 4000), target_source, c)
  losses = {
      "target/bayes_new_domain": per_seed(
          lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), target),
      "target/oracle": per_seed(lambda t, a: bayes.oracle(t, jnp.broadcast_to(a, (
          t.shape[0], *a.shape))), target, target_S),
      "heldout/bayes_new_domain": per_seed(
          lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), heldout),
      "heldout/oracle": per_seed(bayes.oracle, heldout, heldout_chains),
      # What a model that has collapsed onto A (predicts with A's transitions) scores elsewhere.
      "heldout/collapse_to_target": per_seed(lambda t, a: bayes.oracle(t, jnp.broadcast_to(
          a, (t.shape[0], *a.shape))), heldout, target_S),
  }
  grid = sorted(set(c.finetune_steps))
  ft_fp = fingerprint(c, PRETRAIN_FIELDS, steps=grid)
  eval_sets = {"target": target, "target_valid": target_valid, "heldout": heldout}
  methods = {}
  for name, kind, lr, extra in finetune_methods(c):
    replay = extra if name.startswith("replay") else 0.0
    sources = [target_source, infinite_source(c)] if replay else [target_source]
    fractions = [1 - replay, replay] if replay else [1.0]
    _, evals = _finetune(trainer, model, params_S, f"finetune_{name}_{ft_fp}", kind, lr, extra,
                         sources, fractions, grid, eval_sets, sampler_tag=3000)
    curve = {str(t): {s: summary(mean_over_positions(evals[t][s])) for s in eval_sets}
             for t in grid}
    for t in grid:
      for s in ("target", "heldout"):
        losses[f"{name}/T{t}/{s}"] = evals[t][s]
    methods[name] = {"kind": kind, "lr": lr, "extra": extra, "curve": curve,
                     "selection": checkpoint_selection(evals, "target_valid", "heldout")}
  refs = {k: summary(mean_over_positions(v)) for k, v in losses.items()
          if k.split("/")[0] in ("target", "heldout")}
  return {"grid": grid, "methods": methods, "references": refs}, losses


def genre_bases(c) -> jax.Array:
  """Each seed's genre base matrices [S, G, V, V] (the same for every study)."""
  return jax.vmap(lambda k: markov.sample_genre_bases(k, c.num_genres, c.vocab, c.genre_alpha))(
      seed_keys(c, GENRES))


def study_fewshot(trainer: Trainer) -> tuple[dict, dict]:
  """Few-shot finetuning on n target sequences; DAPT on the target's genre vs unrelated vs none."""
  c = trainer.config
  model, params_S, heldout, _ = _pretrained_base(trainer)
  bases_S = genre_bases(c)
  target_S = jax.vmap(lambda k, b: markov.sample_genre_chains(k, b[0], c.genre_concentration,
                                                              1)[0])(seed_keys(c, TARGET),
                                                                     bases_S)
  target_source = markov.Source("chain", {"chain": target_S}, c.vocab, c.alpha)
  target = eval_set(seed_keys(c, EVAL + 3000), target_source, c)
  max_shots = max([*c.fewshot_sizes, c.dapt_shots])
  shots = eval_set(seed_keys(c, EVAL + 5000), target_source, c, num=max_shots)
  broadcast = lambda t, a: jnp.broadcast_to(a, (t.shape[0], *a.shape))  # noqa: E731
  losses = {
      "target/bayes_new_domain": per_seed(
          lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), target),
      "target/bayes_genre": per_seed(
          lambda t, b: bayes.genre_bayes(t, b[0], c.genre_concentration), target, bases_S),
      "target/oracle": per_seed(lambda t, a: bayes.oracle(t, broadcast(t, a)), target, target_S),
  }
  fp = fingerprint(c, PRETRAIN_FIELDS, fewshot=[c.fewshot_steps, c.fewshot_lr, c.dapt_steps,
                                                c.dapt_lr, c.num_genres, c.genre_alpha,
                                                c.genre_concentration, max_shots])
  eval_sets = {"target": target, "heldout": heldout}
  base_eval = {s: evaluate(model, params_S, v, c.eval_chunk) for s, v in eval_sets.items()}
  losses["shots0/target"], losses["shots0/heldout"] = base_eval["target"], base_eval["heldout"]
  fewshot = {"0": {s: summary(mean_over_positions(v)) for s, v in base_eval.items()}}
  for n in c.fewshot_sizes:
    source = markov.Source("tokens", {"tokens": shots[:, :n]}, c.vocab, c.alpha)
    _, evals = _finetune(trainer, model, params_S, f"fewshot_n{n}_{fp}", "full", c.fewshot_lr,
                         0, [source], [1.0], [c.fewshot_steps], eval_sets, sampler_tag=5000 + n)
    final = evals[c.fewshot_steps]
    losses[f"shots{n}/target"], losses[f"shots{n}/heldout"] = final["target"], final["heldout"]
    fewshot[str(n)] = {s: summary(mean_over_positions(v)) for s, v in final.items()}
  dapt = {}
  genre_of = {"dapt_target_genre": 0, "unrelated_genre": 1, "none": None}
  shot_source = markov.Source("tokens", {"tokens": shots[:, :c.dapt_shots]}, c.vocab, c.alpha)
  for variant, genre in genre_of.items():
    start_S, before = params_S, base_eval
    if genre is not None and c.dapt_steps:
      source = markov.Source("genre", {"base": bases_S[:, genre]}, c.vocab,
                             c.genre_concentration)
      state, dapt_evals = _finetune(trainer, model, params_S, f"dapt_{variant}_{fp}", "full",
                                    c.dapt_lr, 0, [source], [1.0], [c.dapt_steps], eval_sets,
                                    sampler_tag=6000 + genre)
      start_S, before = state["trainable"], dapt_evals[c.dapt_steps]
    _, evals = _finetune(trainer, model, start_S, f"dapt_{variant}_ft{c.dapt_shots}_{fp}",
                         "full", c.fewshot_lr, 0, [shot_source], [1.0], [c.fewshot_steps],
                         eval_sets, sampler_tag=7000)
    after = evals[c.fewshot_steps]
    for s in eval_sets:
      losses[f"{variant}/before/{s}"], losses[f"{variant}/after/{s}"] = before[s], after[s]
    dapt[variant] = {"before": {s: summary(mean_over_positions(v)) for s, v in before.items()},
                     "after": {s: summary(mean_over_positions(v)) for s, v in after.items()}}
  refs = {k: summary(mean_over_positions(v)) for k, v in losses.items()
          if k.startswith("target/")}
  return {"fewshot": fewshot, "dapt": dapt, "references": refs}, losses


def study_continual(trainer: Trainer) -> tuple[dict, dict]:
  """From the M = infinity model, train on genres 1..K in turn, with and without replay."""
  c = trainer.config
  model, params_S, heldout, _ = _pretrained_base(trainer)
  bases_S = genre_bases(c)
  families = ["general"] + [f"genre{g}" for g in range(c.continual_stages)]
  sources = [infinite_source(c)] + [
      markov.Source("genre", {"base": bases_S[:, g]}, c.vocab, c.genre_concentration)
      for g in range(c.continual_stages)]
  eval_sets = {"general": heldout}
  losses = {"general/bayes_new_domain": per_seed(
      lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), heldout)}
  for g in range(c.continual_stages):
    tokens, _ = genre_set(seed_keys(c, EVAL + 8000 + g), bases_S[:, g], c)
    eval_sets[f"genre{g}"] = tokens
    losses[f"genre{g}/bayes_genre"] = per_seed(
        lambda t, b, g=g: bayes.genre_bayes(t, b[g], c.genre_concentration), tokens, bases_S)
    losses[f"genre{g}/bayes_new_domain"] = per_seed(
        lambda t: bayes.new_domain_bayes(t, c.vocab, c.alpha), tokens)
  fp = fingerprint(c, PRETRAIN_FIELDS, continual=[c.continual_steps, c.continual_lr,
                                                  c.num_genres, c.genre_alpha,
                                                  c.genre_concentration])
  start = {s: evaluate(model, params_S, v, c.eval_chunk) for s, v in eval_sets.items()}
  variants = {}
  for replay in sorted({0.0, float(c.continual_replay)}):
    variant = f"replay{replay:g}"
    current = params_S
    matrix = [{s: summary(mean_over_positions(v)) for s, v in start.items()}]
    for s, v in start.items():
      losses[f"{variant}/stage0/{s}"] = v
    for stage in range(1, c.continual_stages + 1):
      earlier = sources[:stage]
      if replay:  # replayed rows are spread evenly over all earlier families
        mix = [sources[stage], *earlier]
        fractions = [1 - replay] + [replay / len(earlier)] * len(earlier)
      else:
        mix, fractions = [sources[stage]], [1.0]
      state, evals = _finetune(trainer, model, current, f"continual_{variant}_s{stage}_{fp}",
                               "full", c.continual_lr, 0, mix, fractions, [c.continual_steps],
                               eval_sets, sampler_tag=9000 + stage)
      current = state["trainable"]
      final = evals[c.continual_steps]
      matrix.append({s: summary(mean_over_positions(v)) for s, v in final.items()})
      for s, v in final.items():
        losses[f"{variant}/stage{stage}/{s}"] = v
    variants[variant] = matrix
  refs = {k: summary(mean_over_positions(v)) for k, v in losses.items()
          if k.split("/")[0] in families}
  return {"families": families, "variants": variants, "references": refs}, losses


STUDY_FUNCTIONS = {"diversity": study_diversity, "architecture": study_architecture,
                   "finetune": study_finetune, "fewshot": study_fewshot,
                   "continual": study_continual}


def train_and_evaluate(config: ConfigDict, workdir: str) -> dict:
  """Runs config.study; writes results_<study>.json, losses_<study>.npz, results.md, PNGs."""
  validate(config)
  os.makedirs(workdir, exist_ok=True)
  trainer = Trainer(config, workdir)
  trainer.writer.write_config(config)
  results, losses = STUDY_FUNCTIONS[config.study](trainer)
  trainer.writer.close()
  results = {"study": config.study, "num_seeds": config.num_seeds, "seq_len": config.seq_len,
             "config": logs.config_to_dict(config), **results}
  if logs.is_main_process():
    with open(os.path.join(workdir, f"results_{config.study}.json"), "w") as f:
      json.dump(results, f, indent=2)
    np.savez(os.path.join(workdir, f"losses_{config.study}.npz"),
             **{k: np.asarray(v) for k, v in losses.items()})
    report.write_markdown(workdir)
    if config.make_plots:
      report.write_figures(config.study, results, losses, workdir)
  return results

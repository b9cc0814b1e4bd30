"""The five studies of issue 4 on in-context Markov-chain domains. Each is
`study(trainings) -> (results, losses)`: results are the tables of the study's entry in
results.json, losses the per-seed per-position arrays of losses_<study>.npz; its models train
through `trainings` (genjax/domain/fit.py: a `loop.Trainer` per training, named by its config).

1. diversity: pretraining on M domains vs held-out domains; 2. architecture: 2-layer vs 1-layer
transformer vs a model blind to context; 3. finetune: finetuning and forgetting (full, LoRA,
replay); 4. fewshot: few-shot finetuning and domain-adaptive pretraining (DAPT); 5. continual:
genres in sequence with and without replay. Studies 3 to 5 start from the M = infinity model.
"""

import jax

from genjax.domain import bayes, data, markov, references
from genjax.domain.fit import Trainings, training_name
from genjax.lm import evaluate


def _heldout_references(config):
  heldout, heldout_chains = data.fresh_set(data.stream_keys(config, data.HELDOUT), config)
  losses = {"heldout/" + k: v for k, v in references.standard_references(heldout, config).items()}
  losses["heldout/oracle"] = references.oracle(heldout, heldout_chains)
  return heldout, losses


def _references_table(losses) -> dict:
  return {k.split("/")[1]: evaluate.loss_summary(v) for k, v in losses.items()
          if k.startswith("heldout/")}


def _curve(evals) -> dict:
  """Training-domain loss at every evaluated step: the rules check it has levelled off."""
  return {str(step): evaluate.loss_summary(evals[step]["indist"]) for step in sorted(evals)}


def fresh_indist(config):
  """In-distribution sequences of the M = infinity source (fresh chains, not the held-out set)."""
  return data.fresh_set(data.stream_keys(config, data.INDIST, markov.INFINITE + 1), config)


def diversity(trainings: Trainings) -> tuple[dict, dict]:
  """Pretraining diversity M vs in-distribution and held-out loss."""
  config = trainings.config
  heldout, losses = _heldout_references(config)
  rows = []
  for m in config.pool_sizes:
    if m == markov.INFINITE:
      source = data.infinite_source(config)
      indist, indist_chains = fresh_indist(config)
    else:
      pools = data.pools(config, m)
      source = markov.Source("pool", {"chains": pools}, config.vocab, config.alpha,
                             config.first_token)
      indist, indist_chains = data.pool_set(config, pools, m)
    _, _, evals = trainings.pretrain_markov(config.model, source, m,
                                            {"indist": indist, "heldout": heldout})
    final = evals[max(evals)]
    tag = f"M{m}"
    losses[f"{tag}/model_indist"], losses[f"{tag}/model_heldout"] = (final["indist"],
                                                                     final["heldout"])
    losses[f"{tag}/oracle_indist"] = references.oracle(indist, indist_chains)
    if m == markov.INFINITE:
      losses[f"{tag}/pool_bayes_indist"] = references.bayes_new_domain(indist, config)
      losses[f"{tag}/pool_bayes_heldout"] = losses["heldout/bayes_new_domain"]
    else:
      losses[f"{tag}/pool_bayes_indist"] = references.per_seed(bayes.pool_bayes, indist,
                                                             pools)
      losses[f"{tag}/pool_bayes_heldout"] = references.per_seed(bayes.pool_bayes,
                                                              heldout, pools)
    row = {"pool_size": m, "steps": max(evals), "indist_curve": _curve(evals)}
    for key in ("model_indist", "model_heldout", "pool_bayes_indist", "pool_bayes_heldout",
                "oracle_indist"):
      row[key] = evaluate.loss_summary(losses[f"{tag}/{key}"])
    row["selection"] = evaluate.checkpoint_selection(evals, "indist", "heldout")
    rows.append(row)
  return {"rows": rows, "references_heldout": _references_table(losses)}, losses


def architecture(trainings: Trainings) -> tuple[dict, dict]:
  """2-layer vs 1-layer transformer vs bag-of-tokens MLP at M = infinity."""
  config = trainings.config
  heldout, losses = _heldout_references(config)
  indist, _ = fresh_indist(config)
  rows = []
  for arch in config.architecture_models:
    _, _, evals = trainings.pretrain_markov(arch, data.infinite_source(config), markov.INFINITE,
                                            {"indist": indist, "heldout": heldout})
    losses[f"{arch}/heldout"] = evals[max(evals)]["heldout"]
    rows.append({"arch": arch, "steps": max(evals), "indist_curve": _curve(evals),
                 "heldout": evaluate.loss_summary(losses[f"{arch}/heldout"]),
                 "selection": evaluate.checkpoint_selection(evals, "indist", "heldout")})
  return {"rows": rows, "references_heldout": _references_table(losses)}, losses


def pretrained_base(trainings: Trainings):
  """The M = infinity model every adaptation study starts from (shared by name), and the
  held-out set: (model, params_S, heldout tokens, heldout chains)."""
  config = trainings.config
  heldout, heldout_chains = data.fresh_set(data.stream_keys(config, data.HELDOUT), config)
  indist, _ = fresh_indist(config)
  net, params_S, _ = trainings.pretrain_markov(config.model, data.infinite_source(config),
                                               markov.INFINITE,
                                               {"indist": indist, "heldout": heldout})
  return net, params_S, heldout, heldout_chains


def finetune_methods(config) -> list[tuple[str, float, float, int]]:
  """(name, learning rate, replay fraction, LoRA rank) of every finetuning run."""
  methods = [(f"full_lr{lr:g}", lr, 0.0, 0) for lr in config.finetune_lrs]
  methods += [(f"lora_r{r}", config.lora_lr, 0.0, r) for r in config.lora_ranks if r > 0]
  methods += [(f"replay{f:g}", config.replay_lr, f, 0) for f in config.replay_fractions if f > 0]
  return methods


def _summaries(losses: dict) -> dict:
  return {s: evaluate.loss_summary(v) for s, v in losses.items()}


def finetune(trainings: Trainings) -> tuple[dict, dict]:
  """Finetune the M = infinity model on target A: target and held-out loss vs steps T."""
  c = trainings.config
  net, params_S, heldout, heldout_chains = pretrained_base(trainings)
  target_S = jax.vmap(lambda k: markov.sample_chains(k, 1, c.vocab, c.alpha)[0])(
      data.stream_keys(c, data.TARGET))
  target_source = data.chain_source(target_S, c)
  target = data.eval_set(data.stream_keys(c, data.TARGET_TEST), target_source, c)
  target_valid = data.eval_set(data.stream_keys(c, data.TARGET_VALID), target_source, c)
  losses = {
      "target/bayes_new_domain": references.bayes_new_domain(target, c),
      "target/oracle": references.oracle_of_one_chain(target, target_S),
      "heldout/bayes_new_domain": references.bayes_new_domain(heldout, c),
      "heldout/oracle": references.oracle(heldout, heldout_chains),
      # What a model that has collapsed onto A (predicts with A's transitions) scores elsewhere.
      "heldout/collapse_to_target": references.oracle_of_one_chain(heldout, target_S),
  }
  grid = sorted(set(c.finetune_step_grid))
  eval_sets = {"target": target, "target_valid": target_valid, "heldout": heldout}
  methods = {}
  for name, lr, replay, rank in finetune_methods(c):
    sources = [target_source, data.infinite_source(c)] if replay else [target_source]
    fractions = [1 - replay, replay] if replay else [1.0]
    _, evals = trainings.finetune_markov(net, params_S, training_name(f"finetune_{name}", c),
                                         lr, sources, fractions, grid, eval_sets,
                                         data.stream_keys(c, data.FINETUNE_DATA), lora_rank=rank)
    for t in grid:
      for s in ("target", "heldout"):
        losses[f"{name}/T{t}/{s}"] = evals[t][s]
    methods[name] = {"kind": "lora" if rank else "full", "lr": lr,
                     "extra": rank if rank else replay,
                     "curve": {str(t): _summaries(evals[t]) for t in grid},
                     "selection": evaluate.checkpoint_selection(evals, "target_valid", "heldout")}
  refs = {k: evaluate.loss_summary(v) for k, v in losses.items()
          if k.split("/")[0] in ("target", "heldout")}
  return {"grid": grid, "methods": methods, "references": refs}, losses


def fewshot(trainings: Trainings) -> tuple[dict, dict]:
  """Few-shot finetuning on n target sequences; DAPT on the target's genre vs unrelated vs none."""
  c = trainings.config
  net, params_S, heldout, _ = pretrained_base(trainings)
  bases_S = data.genre_bases(c)
  target_S = jax.vmap(lambda k, b: markov.sample_genre_chains(k, b[0], c.genre_concentration,
                                                              1)[0])(
      data.stream_keys(c, data.TARGET), bases_S)
  target_source = data.chain_source(target_S, c)
  target = data.eval_set(data.stream_keys(c, data.TARGET_TEST), target_source, c)
  max_shots = max([*c.fewshot_sizes, c.dapt_shots])
  shots = data.eval_set(data.stream_keys(c, data.SHOTS), target_source, c, num=max_shots)
  losses = {
      "target/bayes_new_domain": references.bayes_new_domain(target, c),
      "target/bayes_genre": references.genre_bayes(target, bases_S[:, 0], c),
      "target/oracle": references.oracle_of_one_chain(target, target_S),
  }
  eval_sets = {"target": target, "heldout": heldout}
  base_eval = evaluate.model_losses(net, params_S, eval_sets, c.eval_chunk)
  losses["shots0/target"], losses["shots0/heldout"] = base_eval["target"], base_eval["heldout"]
  fewshot = {"0": _summaries(base_eval)}
  for n in c.fewshot_sizes:
    source = markov.Source("tokens", {"tokens": shots[:, :n]}, c.vocab, c.alpha)
    _, evals = trainings.finetune_markov(net, params_S, training_name(f"fewshot_n{n}", c),
                                         c.fewshot_lr, [source], [1.0], [c.fewshot_steps],
                                         eval_sets, data.stream_keys(c, data.FEWSHOT_DATA, n))
    final = evals[c.fewshot_steps]
    losses[f"shots{n}/target"], losses[f"shots{n}/heldout"] = final["target"], final["heldout"]
    fewshot[str(n)] = _summaries(final)
  dapt = {}
  genre_of = {"dapt_target_genre": 0, "unrelated_genre": 1, "none": None}
  shot_source = markov.Source("tokens", {"tokens": shots[:, :c.dapt_shots]}, c.vocab, c.alpha)
  for variant, genre in genre_of.items():
    start_S, before = params_S, base_eval
    if genre is not None and c.dapt_steps:
      start_S, dapt_evals = trainings.finetune_markov(
          net, params_S, training_name(f"dapt_{variant}", c), c.dapt_lr,
          [data.genre_source(bases_S[:, genre], c)], [1.0], [c.dapt_steps], eval_sets,
          data.stream_keys(c, data.DAPT_DATA, genre))
      before = dapt_evals[c.dapt_steps]
    _, evals = trainings.finetune_markov(
        net, start_S, training_name(f"dapt_{variant}_ft{c.dapt_shots}", c), c.fewshot_lr,
        [shot_source], [1.0], [c.fewshot_steps], eval_sets,
        data.stream_keys(c, data.DAPT_FINETUNE_DATA))
    after = evals[c.fewshot_steps]
    for s in eval_sets:
      losses[f"{variant}/before/{s}"], losses[f"{variant}/after/{s}"] = before[s], after[s]
    dapt[variant] = {"before": _summaries(before), "after": _summaries(after)}
  refs = {k: evaluate.loss_summary(v) for k, v in losses.items() if k.startswith("target/")}
  return {"fewshot": fewshot, "dapt": dapt, "references": refs}, losses


def continual(trainings: Trainings) -> tuple[dict, dict]:
  """From the M = infinity model, train on genres 1..K in turn, with and without replay."""
  c = trainings.config
  net, params_S, heldout, _ = pretrained_base(trainings)
  bases_S = data.genre_bases(c)
  families = ["general"] + [f"genre{g}" for g in range(c.continual_stages)]
  sources = [data.infinite_source(c)] + [data.genre_source(bases_S[:, g], c)
                                         for g in range(c.continual_stages)]
  eval_sets = {"general": heldout}
  losses = {"general/bayes_new_domain": references.bayes_new_domain(heldout, c)}
  for g in range(c.continual_stages):
    tokens, _ = data.genre_set(data.stream_keys(c, data.GENRE_TEST, g), bases_S[:, g], c)
    eval_sets[f"genre{g}"] = tokens
    losses[f"genre{g}/bayes_genre"] = references.genre_bayes(tokens, bases_S[:, g], c)
    losses[f"genre{g}/bayes_new_domain"] = references.bayes_new_domain(tokens, c)
  start = evaluate.model_losses(net, params_S, eval_sets, c.eval_chunk)
  variants = {}
  for replay in sorted({0.0, float(c.continual_replay)}):
    variant = f"replay{replay:g}"
    current = params_S
    matrix = [_summaries(start)]
    for s, v in start.items():
      losses[f"{variant}/stage0/{s}"] = v
    for stage in range(1, c.continual_stages + 1):
      earlier = sources[:stage]
      if replay:  # replayed rows are spread evenly over all earlier families
        mix = [sources[stage], *earlier]
        fractions = [1 - replay] + [replay / len(earlier)] * len(earlier)
      else:
        mix, fractions = [sources[stage]], [1.0]
      current, evals = trainings.finetune_markov(
          net, current, training_name(f"continual_{variant}_s{stage}", c), c.continual_lr, mix,
          fractions, [c.continual_steps], eval_sets,
          data.stream_keys(c, data.CONTINUAL_DATA, stage))
      final = evals[c.continual_steps]
      matrix.append(_summaries(final))
      for s, v in final.items():
        losses[f"{variant}/stage{stage}/{s}"] = v
    variants[variant] = matrix
  refs = {k: evaluate.loss_summary(v) for k, v in losses.items() if k.split("/")[0] in families}
  return {"families": families, "variants": variants, "references": refs}, losses

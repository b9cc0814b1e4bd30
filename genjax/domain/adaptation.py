"""Studies 3 to 5, all from the M = infinity model: finetuning and forgetting, few-shot and
domain-adaptive pretraining (DAPT), continual learning over genres (issue 4).

A study is `study(fit_fn, config) -> (results, losses)`, as in `pretraining`.
"""

import jax

from genjax.domain import data, evaluate, markov
from genjax.domain.fit import PRETRAIN_FIELDS, finetune, fingerprint
from genjax.domain.pretraining import pretrained_base


def finetune_methods(config) -> list[tuple[str, float, float, int]]:
  """(name, learning rate, replay fraction, LoRA rank) of every finetuning run."""
  methods = [(f"full_lr{lr:g}", lr, 0.0, 0) for lr in config.finetune_lrs]
  methods += [(f"lora_r{r}", config.lora_lr, 0.0, r) for r in config.lora_ranks if r > 0]
  methods += [(f"replay{f:g}", config.replay_lr, f, 0) for f in config.replay_fractions if f > 0]
  return methods


def _summaries(losses: dict) -> dict:
  return {s: evaluate.loss_summary(v) for s, v in losses.items()}


def finetune_study(fit_fn, config) -> tuple[dict, dict]:
  """Finetune the M = infinity model on target A: target and held-out loss vs steps T."""
  c = config
  net, params_S, heldout, heldout_chains = pretrained_base(fit_fn, c)
  target_S = jax.vmap(lambda k: markov.sample_chains(k, 1, c.vocab, c.alpha)[0])(
      data.stream_keys(c, data.TARGET))
  target_source = data.chain_source(target_S, c)
  target = data.eval_set(data.stream_keys(c, data.TARGET_TEST), target_source, c)
  target_valid = data.eval_set(data.stream_keys(c, data.TARGET_VALID), target_source, c)
  losses = {
      "target/bayes_new_domain": evaluate.bayes_new_domain(target, c),
      "target/oracle": evaluate.oracle_of_one_chain(target, target_S),
      "heldout/bayes_new_domain": evaluate.bayes_new_domain(heldout, c),
      "heldout/oracle": evaluate.oracle(heldout, heldout_chains),
      # What a model that has collapsed onto A (predicts with A's transitions) scores elsewhere.
      "heldout/collapse_to_target": evaluate.oracle_of_one_chain(heldout, target_S),
  }
  grid = sorted(set(c.finetune_step_grid))
  fp = fingerprint(c, PRETRAIN_FIELDS, steps=grid)
  eval_sets = {"target": target, "target_valid": target_valid, "heldout": heldout}
  methods = {}
  for name, lr, replay, rank in finetune_methods(c):
    sources = [target_source, data.infinite_source(c)] if replay else [target_source]
    fractions = [1 - replay, replay] if replay else [1.0]
    _, evals = finetune(fit_fn, c, net, params_S, f"finetune_{name}_{fp}", lr, sources,
                        fractions, grid, eval_sets, data.stream_keys(c, data.FINETUNE_DATA),
                        lora_rank=rank)
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


def fewshot_study(fit_fn, config) -> tuple[dict, dict]:
  """Few-shot finetuning on n target sequences; DAPT on the target's genre vs unrelated vs none."""
  c = config
  net, params_S, heldout, _ = pretrained_base(fit_fn, c)
  bases_S = data.genre_bases(c)
  target_S = jax.vmap(lambda k, b: markov.sample_genre_chains(k, b[0], c.genre_concentration,
                                                              1)[0])(
      data.stream_keys(c, data.TARGET), bases_S)
  target_source = data.chain_source(target_S, c)
  target = data.eval_set(data.stream_keys(c, data.TARGET_TEST), target_source, c)
  max_shots = max([*c.fewshot_sizes, c.dapt_shots])
  shots = data.eval_set(data.stream_keys(c, data.SHOTS), target_source, c, num=max_shots)
  losses = {
      "target/bayes_new_domain": evaluate.bayes_new_domain(target, c),
      "target/bayes_genre": evaluate.genre_bayes(target, bases_S[:, 0], c),
      "target/oracle": evaluate.oracle_of_one_chain(target, target_S),
  }
  fp = fingerprint(c, PRETRAIN_FIELDS, fewshot=[c.fewshot_steps, c.fewshot_lr, c.dapt_steps,
                                                c.dapt_lr, c.num_genres, c.genre_alpha,
                                                c.genre_concentration, max_shots])
  eval_sets = {"target": target, "heldout": heldout}
  base_eval = evaluate.model_losses(net, params_S, eval_sets, c.eval_chunk)
  losses["shots0/target"], losses["shots0/heldout"] = base_eval["target"], base_eval["heldout"]
  fewshot = {"0": _summaries(base_eval)}
  for n in c.fewshot_sizes:
    source = markov.Source("tokens", {"tokens": shots[:, :n]}, c.vocab, c.alpha)
    _, evals = finetune(fit_fn, c, net, params_S, f"fewshot_n{n}_{fp}", c.fewshot_lr, [source],
                        [1.0], [c.fewshot_steps], eval_sets,
                        data.stream_keys(c, data.FEWSHOT_DATA, n))
    final = evals[c.fewshot_steps]
    losses[f"shots{n}/target"], losses[f"shots{n}/heldout"] = final["target"], final["heldout"]
    fewshot[str(n)] = _summaries(final)
  dapt = {}
  genre_of = {"dapt_target_genre": 0, "unrelated_genre": 1, "none": None}
  shot_source = markov.Source("tokens", {"tokens": shots[:, :c.dapt_shots]}, c.vocab, c.alpha)
  for variant, genre in genre_of.items():
    start_S, before = params_S, base_eval
    if genre is not None and c.dapt_steps:
      state, dapt_evals = finetune(fit_fn, c, net, params_S, f"dapt_{variant}_{fp}", c.dapt_lr,
                                   [data.genre_source(bases_S[:, genre], c)], [1.0],
                                   [c.dapt_steps], eval_sets,
                                   data.stream_keys(c, data.DAPT_DATA, genre))
      start_S, before = state["trainable"], dapt_evals[c.dapt_steps]
    _, evals = finetune(fit_fn, c, net, start_S, f"dapt_{variant}_ft{c.dapt_shots}_{fp}",
                        c.fewshot_lr, [shot_source], [1.0], [c.fewshot_steps], eval_sets,
                        data.stream_keys(c, data.DAPT_FINETUNE_DATA))
    after = evals[c.fewshot_steps]
    for s in eval_sets:
      losses[f"{variant}/before/{s}"], losses[f"{variant}/after/{s}"] = before[s], after[s]
    dapt[variant] = {"before": _summaries(before), "after": _summaries(after)}
  refs = {k: evaluate.loss_summary(v) for k, v in losses.items() if k.startswith("target/")}
  return {"fewshot": fewshot, "dapt": dapt, "references": refs}, losses


def continual_study(fit_fn, config) -> tuple[dict, dict]:
  """From the M = infinity model, train on genres 1..K in turn, with and without replay."""
  c = config
  net, params_S, heldout, _ = pretrained_base(fit_fn, c)
  bases_S = data.genre_bases(c)
  families = ["general"] + [f"genre{g}" for g in range(c.continual_stages)]
  sources = [data.infinite_source(c)] + [data.genre_source(bases_S[:, g], c)
                                         for g in range(c.continual_stages)]
  eval_sets = {"general": heldout}
  losses = {"general/bayes_new_domain": evaluate.bayes_new_domain(heldout, c)}
  for g in range(c.continual_stages):
    tokens, _ = data.genre_set(data.stream_keys(c, data.GENRE_TEST, g), bases_S[:, g], c)
    eval_sets[f"genre{g}"] = tokens
    losses[f"genre{g}/bayes_genre"] = evaluate.genre_bayes(tokens, bases_S[:, g], c)
    losses[f"genre{g}/bayes_new_domain"] = evaluate.bayes_new_domain(tokens, c)
  fp = fingerprint(c, PRETRAIN_FIELDS, continual=[c.continual_steps, c.continual_lr,
                                                  c.num_genres, c.genre_alpha,
                                                  c.genre_concentration])
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
      state, evals = finetune(fit_fn, c, net, current, f"continual_{variant}_s{stage}_{fp}",
                              c.continual_lr, mix, fractions, [c.continual_steps], eval_sets,
                              data.stream_keys(c, data.CONTINUAL_DATA, stage))
      current = state["trainable"]
      final = evals[c.continual_steps]
      matrix.append(_summaries(final))
      for s, v in final.items():
        losses[f"{variant}/stage{stage}/{s}"] = v
    variants[variant] = matrix
  refs = {k: evaluate.loss_summary(v) for k, v in losses.items() if k.split("/")[0] in families}
  return {"families": families, "variants": variants, "references": refs}, losses

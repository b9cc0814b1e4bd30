"""Studies 1 and 2: diversity of the pretraining domains, and architecture (issue 4).

A study is `study(fit_fn, config) -> (results, losses)`: results are the tables of the study's
entry in results.json, losses the per-seed per-position arrays of losses_<study>.npz.
"""

from genjax.domain import bayes, data, evaluate, markov
from genjax.domain.fit import pretrain


def _heldout_references(config):
  heldout, heldout_chains = data.fresh_set(data.stream_keys(config, data.HELDOUT), config)
  losses = {"heldout/" + k: v for k, v in evaluate.standard_references(heldout, config).items()}
  losses["heldout/oracle"] = evaluate.oracle(heldout, heldout_chains)
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


def diversity(fit_fn, config) -> tuple[dict, dict]:
  """Pretraining diversity M vs in-distribution and held-out loss."""
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
    _, _, evals = pretrain(fit_fn, config, config.model, source, m,
                           {"indist": indist, "heldout": heldout})
    final = evals[max(evals)]
    tag = f"M{m}"
    losses[f"{tag}/model_indist"], losses[f"{tag}/model_heldout"] = (final["indist"],
                                                                     final["heldout"])
    losses[f"{tag}/oracle_indist"] = evaluate.oracle(indist, indist_chains)
    if m == markov.INFINITE:
      losses[f"{tag}/pool_bayes_indist"] = evaluate.bayes_new_domain(indist, config)
      losses[f"{tag}/pool_bayes_heldout"] = losses["heldout/bayes_new_domain"]
    else:
      losses[f"{tag}/pool_bayes_indist"] = evaluate.per_seed(bayes.pool_bayes, indist,
                                                             pools)
      losses[f"{tag}/pool_bayes_heldout"] = evaluate.per_seed(bayes.pool_bayes,
                                                              heldout, pools)
    row = {"pool_size": m, "steps": max(evals), "indist_curve": _curve(evals)}
    for key in ("model_indist", "model_heldout", "pool_bayes_indist", "pool_bayes_heldout",
                "oracle_indist"):
      row[key] = evaluate.loss_summary(losses[f"{tag}/{key}"])
    row["selection"] = evaluate.checkpoint_selection(evals, "indist", "heldout")
    rows.append(row)
  return {"rows": rows, "references_heldout": _references_table(losses)}, losses


def architecture(fit_fn, config) -> tuple[dict, dict]:
  """2-layer vs 1-layer transformer vs bag-of-tokens MLP at M = infinity."""
  heldout, losses = _heldout_references(config)
  indist, _ = fresh_indist(config)
  rows = []
  for arch in config.architecture_models:
    _, _, evals = pretrain(fit_fn, config, arch, data.infinite_source(config), markov.INFINITE,
                           {"indist": indist, "heldout": heldout})
    losses[f"{arch}/heldout"] = evals[max(evals)]["heldout"]
    rows.append({"arch": arch, "steps": max(evals), "indist_curve": _curve(evals),
                 "heldout": evaluate.loss_summary(losses[f"{arch}/heldout"]),
                 "selection": evaluate.checkpoint_selection(evals, "indist", "heldout")})
  return {"rows": rows, "references_heldout": _references_table(losses)}, losses


def pretrained_base(fit_fn, config):
  """The M = infinity model every adaptation study starts from (shared by name), and the
  held-out set: (model, params_S, heldout tokens, heldout chains)."""
  heldout, heldout_chains = data.fresh_set(data.stream_keys(config, data.HELDOUT), config)
  indist, _ = fresh_indist(config)
  net, params_S, _ = pretrain(fit_fn, config, config.model, data.infinite_source(config),
                              markov.INFINITE, {"indist": indist, "heldout": heldout})
  return net, params_S, heldout, heldout_chains

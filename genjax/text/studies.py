"""The two Q1 studies on real text. Each is `study(trainings, refs) -> results`: the tables of
results.json (bits per byte, per-seed values under "seeds"); its models train through
`trainings` (genjax/text/fit.py).

1. diversity (leave one domain out): for each held-out domain H, a model pretrained on equal
   parts of the other domains against models pretrained on one of them alone, at equal bytes
   seen, judged on H's test documents (and each specialist on its own domain, the other side of
   the trade). A specialist serves every held-out domain it is not, so rotating over the four
   domains costs four specialists and four mixes.
2. architecture: the 2-layer transformer, the 1-layer one and the bag-of-bytes MLP (blind to
   the order of its context) trained on the same mix of the domains other than heldout[0],
   judged on heldout[0], with loss against position in the window.
3. finetune: the mix of the domains other than heldout[0] (the pretrained model) finetuned on a
   narrow target set, the first config.target_bytes of heldout[0]'s training documents, full
   at each rate of config.finetune_lrs and LoRA at each rank of config.lora_ranks; each run is
   evaluated at T = 0 (the pretrained model) and every step T of config.finetune_step_grid on
   the target's validation and test documents and on the other domains' test documents
   (forgetting).
"""

import numpy as np

from genjax.domain import evaluate
from genjax.text import data
from genjax.text.fit import Trainings, bits, position_curve, summarise, training_name


def others(config, held: str) -> tuple[str, ...]:
  return tuple(d for d in config.domains if d != held)


def specialists(config) -> tuple[str, ...]:
  return tuple(config.specialists) or tuple(config.domains)


def diversity(trainings: Trainings, refs: dict) -> dict:
  config = trainings.config
  models, heldout = {}, []
  tests = tuple(config.domains)

  def train(domains):
    name = training_name(config.model, domains)
    if name not in models:
      _, _, evals = trainings.fit_bytes(config.model, domains, tests)
      models[name] = summarise(config.model, domains, evals, refs)
    return name

  for held in config.heldout:
    mix = train(others(config, held))
    singles = [train((d,)) for d in specialists(config) if d != held]
    heldout.append({"domain": held, "mix": mix, "specialists": singles})
  return {"heldout": heldout, "models": models}


def architecture(trainings: Trainings, refs: dict) -> dict:
  config = trainings.config
  held = config.heldout[0]
  domains = others(config, held)
  models, curves = {}, {}
  for arch in config.architecture_models:
    _, _, evals = trainings.fit_bytes(arch, domains, tuple(config.domains))
    name = training_name(arch, domains)
    models[name] = summarise(arch, domains, evals, refs)
    curves[name] = position_curve(evals, held)
  return {"heldout": [{"domain": held, "models": list(models)}], "models": models,
          "position_curves": curves}


def finetune_methods(config) -> list[tuple[str, float, int]]:
  """(name, constant learning rate, LoRA rank or 0) of every finetuning run."""
  return ([(f"full_lr{lr:g}", lr, 0) for lr in config.finetune_lrs]
          + [(f"lora_r{r}", config.lora_lr, r) for r in config.lora_ranks])


def finetune(trainings: Trainings, refs: dict) -> dict:
  config = trainings.config
  target = config.heldout[0]
  domains = others(config, target)
  net, params_S, evals = trainings.fit_bytes(config.model, domains, tuple(config.domains))
  base = training_name(config.model, domains)
  sets = {"target": data.eval_windows(config, target, "test"),
          "target_valid": data.eval_windows(config, target, "validation")}
  sets |= {f"test/{d}": data.eval_windows(config, d, "test") for d in domains}
  start = evaluate.model_losses(net, params_S, sets, config.eval_chunk)
  source = data.target_set(config, target)
  grid = sorted(set(config.finetune_step_grid))

  def point(losses: dict) -> dict:  # bits per byte: target, target_valid, others (their mean)
    out = {k: bits(losses[k]) for k in ("target", "target_valid")}
    out["domains"] = {d: bits(losses[f"test/{d}"]) for d in domains}
    out["others"] = bits(np.mean([losses[f"test/{d}"] for d in domains], axis=0))
    return out

  methods = {}
  for name, lr, rank in finetune_methods(config):
    runs = trainings.finetune_bytes(net, params_S, f"finetune_{name}_{base}_on_{target}", lr,
                                    rank, source, grid, sets)
    methods[name] = {"kind": "lora" if rank else "full", "lr": lr, "rank": rank,
                     "curve": {"0": point(start)} | {str(t): point(runs[t]) for t in grid}}
  return {"heldout": [{"domain": target, "models": [base]}],
          "models": {base: summarise(config.model, domains, evals, refs)},
          "target": target, "target_bytes": int(len(source[0])), "grid": [0, *grid],
          "base": base, "methods": methods}

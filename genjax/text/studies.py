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
4. dapt: the same pretrained model goes on pretraining for config.dapt_steps at a constant rate
   on config.dapt_neighbour ("related"), on the target's register (its training documents past
   the target set: "same_register"), on config.dapt_unrelated ("unrelated"), or not at all
   ("none"); each of the four starts is finetuned on the target set and evaluated as in the
   finetune study (T = 0: the start).
5. continual: a model pretrained on the domains not in config.continual_stages trains on each
   stage's domain in turn, config.continual_steps each at a constant rate, with no replay
   ("sequential") or with config.continual_replay of every batch drawn from the domains learned
   before ("replay"); every domain's test documents are scored after pretraining and each stage.
"""

import dataclasses

import numpy as np

from genjax.lm import evaluate
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
      _, params_S, evals = trainings.fit_bytes(config.model, domains, tests)
      models[name] = summarise(config, config.model, domains, evals, refs, params_S)
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
    _, params_S, evals = trainings.fit_bytes(arch, domains, tuple(config.domains))
    name = training_name(arch, domains)
    models[name] = summarise(config, arch, domains, evals, refs, params_S)
    curves[name] = position_curve(evals, held)
  return {"heldout": [{"domain": held, "models": list(models)}], "models": models,
          "position_curves": curves}


def finetune_methods(config) -> list[tuple[str, float, int]]:
  """(name, constant learning rate, LoRA rank or 0) of every finetuning run."""
  return ([(f"full_lr{lr:g}", lr, 0) for lr in config.finetune_lrs]
          + [(f"lora_r{r}", config.lora_lr, r) for r in config.lora_ranks])


def pretrained(trainings: Trainings, refs: dict, domains: tuple[str, ...]) -> tuple:
  """The model a finetune, DAPT or continual study starts from, trained on the mix of
  `domains`: (model, params S x ..., its name, its row of results.json, its evaluations)."""
  config = trainings.config
  net, params_S, evals = trainings.fit_bytes(config.model, domains, tuple(config.domains))
  return (net, params_S, training_name(config.model, domains),
          summarise(config, config.model, domains, evals, refs, params_S), evals)


def finetune_sets(config, target: str, domains) -> dict:
  """The sets every finetuning is evaluated on: the target's test and validation windows and
  the other domains' test windows."""
  sets = {"target": data.eval_windows(config, target, "test"),
          "target_valid": data.eval_windows(config, target, "validation")}
  return sets | {f"test/{d}": data.eval_windows(config, d, "test") for d in domains}


def point(losses: dict, domains) -> dict:
  """One evaluation in bits per byte: target, target_valid, each other domain and their mean."""
  out = {k: bits(losses[k]) for k in ("target", "target_valid")}
  out["domains"] = {d: bits(losses[f"test/{d}"]) for d in domains}
  out["others"] = bits(np.mean([losses[f"test/{d}"] for d in domains], axis=0))
  return out


@dataclasses.dataclass(frozen=True)
class Finetuning:
  """What the finetune and DAPT studies share: the model pretrained on the mix of the domains
  other than the target heldout[0], the sets every finetuning is scored on (and the pretrained
  model's losses there, T = 0), and the target set's sampler and step grid."""

  target: str
  domains: tuple[str, ...]
  net: object
  params_S: object
  base: str
  row: dict
  sets: dict
  start: dict
  task_bytes: int
  sampler: object
  grid: list[int]

  def results(self) -> dict:
    """The entries of results.json both studies write."""
    return {"heldout": [{"domain": self.target, "models": [self.base]}],
            "models": {self.base: self.row}, "target": self.target,
            "target_bytes": self.task_bytes, "grid": [0, *self.grid], "base": self.base}


def finetuning(trainings: Trainings, refs: dict) -> Finetuning:
  config = trainings.config
  target = config.heldout[0]
  domains = others(config, target)
  net, params_S, base, row, _ = pretrained(trainings, refs, domains)
  sets = finetune_sets(config, target, domains)
  task = data.target_set(config, target)
  return Finetuning(target, domains, net, params_S, base, row, sets,
                    evaluate.model_losses(net, params_S, sets, config.eval_chunk,
                                          trainings.devices.seed_map),
                    int(len(task[0])), data.window_sampler(config, [task], data.FINETUNE_DATA),
                    sorted(set(config.finetune_step_grid)))


def finetune(trainings: Trainings, refs: dict) -> dict:
  ft = finetuning(trainings, refs)
  methods = {}
  for name, lr, rank in finetune_methods(trainings.config):
    _, runs = trainings.finetune_bytes(ft.net, ft.params_S,
                                       f"finetune_{name}_{ft.base}_on_{ft.target}", lr, rank,
                                       ft.sampler, ft.grid, ft.sets)
    methods[name] = {"kind": "lora" if rank else "full", "lr": lr, "rank": rank,
                     "curve": {"0": point(ft.start, ft.domains)}
                     | {str(t): point(runs[t], ft.domains) for t in ft.grid}}
  return ft.results() | {"methods": methods}


def dapt(trainings: Trainings, refs: dict) -> dict:
  config = trainings.config
  ft = finetuning(trainings, refs)
  corpora = {"related": data.arrays(config.dapt_neighbour, "train"),
             "same_register": data.past_target_set(config, ft.target),
             "unrelated": data.arrays(config.dapt_unrelated, "train")}
  starts = {"none": (ft.params_S, ft.start)}
  for kind, corpus in corpora.items():
    params, adapted = trainings.finetune_bytes(
        ft.net, ft.params_S, f"dapt_{kind}_{ft.base}", config.dapt_lr, 0,
        data.window_sampler(config, [corpus], data.DAPT_DATA), [config.dapt_steps], ft.sets)
    starts[kind] = (params, adapted[config.dapt_steps])
  runs = {}
  for kind, (params, at_start) in starts.items():
    _, tuned = trainings.finetune_bytes(ft.net, params, f"finetune_{kind}_{ft.base}_on_{ft.target}",
                                        config.finetune_lr, 0, ft.sampler, ft.grid, ft.sets)
    runs[kind] = {"curve": {"0": point(at_start, ft.domains)}
                  | {str(t): point(tuned[t], ft.domains) for t in ft.grid}}
  return ft.results() | {"unrelated": config.dapt_unrelated,
                         "neighbour": config.dapt_neighbour, "dapt_steps": config.dapt_steps,
                         "dapt_bytes": {k: int(len(c[0])) for k, c in corpora.items()},
                         "starts": runs}


def continual(trainings: Trainings, refs: dict) -> dict:
  config = trainings.config
  stages = tuple(config.continual_stages)
  first = tuple(d for d in config.domains if d not in stages)
  net, params_S, base, row, evals = pretrained(trainings, refs, first)
  sets = {f"test/{d}": data.eval_windows(config, d, "test") for d in config.domains}
  at_base = evals[max(evals)]
  variants = {}
  for variant in ("sequential", "replay"):
    params, curve = params_S, [_domain_bits(at_base, config.domains)]
    for i, domain in enumerate(stages):
      earlier = (*first, *stages[:i]) if variant == "replay" else ()
      params, stage = trainings.finetune_bytes(
          net, params, f"continual_{variant}_{i}_{domain}_{base}", config.continual_lr, 0,
          _stage_sampler(config, i, domain, earlier), [config.continual_steps], sets)
      curve.append(_domain_bits(stage[config.continual_steps], config.domains))
    variants[variant] = curve
  return {"heldout": [{"domain": stages[0], "models": [base]}],
          "models": {base: row}, "base": base,
          "first": list(first), "stages": list(stages),
          "replayed_windows": replayed_windows(config), "variants": variants}


def replayed_windows(config) -> int:
  """Windows of each batch drawn from the domains learned before a stage, with replay."""
  return round(config.continual_replay * config.batch_size)


def _stage_sampler(config, i: int, domain: str, earlier: tuple[str, ...]):
  """Stage i's batches: all from `domain`, or with `earlier` domains (replay) replayed_windows
  of each batch in equal parts of them."""
  if not earlier:
    return data.window_sampler(config, [data.arrays(domain, "train")], data.CONTINUAL_DATA + i)
  replayed = replayed_windows(config)
  return data.window_sampler(config, [data.arrays(d, "train") for d in (domain, *earlier)],
                             data.CONTINUAL_DATA + i, [config.batch_size - replayed,
                                                       *[replayed // len(earlier)] * len(earlier)])


def _domain_bits(losses: dict, domains) -> dict:
  """Bits per byte on each domain's test documents (per seed under "seeds")."""
  return {d: bits(losses[f"test/{d}"]) for d in domains}

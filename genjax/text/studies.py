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
"""

from genjax.text.fit import Trainings, position_curve, summarise, training_name


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
      evals = trainings.fit_bytes(config.model, domains, tests)
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
    evals = trainings.fit_bytes(arch, domains, tuple(config.domains))
    name = training_name(arch, domains)
    models[name] = summarise(arch, domains, evals, refs)
    curves[name] = position_curve(evals, held)
  return {"heldout": [{"domain": held, "models": list(models)}], "models": models,
          "position_curves": curves}

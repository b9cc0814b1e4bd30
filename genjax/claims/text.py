"""Q1 on real text: the rules that judge experiments/text.py's results.json (bits per byte).

The claims are the Markov study's own (`genjax.claims.domain.STUDY_CLAIMS`, the same
statements), so the report combines both runs of each claim (genjax/claims/combine.py). Models of
one seed are scored on that seed's windows of the same held-out documents, so two models are
compared on per-seed differences (`stats.compare(paired=True)`: a 95% Student-t interval, 4.30
s.e. at 3 seeds). A difference counts when its whole interval lies beyond MIN_EFFECT_BITS.

A comparison of models trained from scratch (diversity, architecture, depth) is judged only as a
settled comparison at a matched budget (genjax/claims/text_settled.py: equal bytes, every model
above its competence floor, the verdict the same at every evaluation of the second half, its
trend not closing); the finetune, DAPT and continual studies' rules (genjax/claims/
text_finetune.py, text_dapt.py and text_continual.py) want their pretrained model above its
floor.
"""

from genjax import stats
from genjax.claims import domain as markov
from genjax.claims import text_continual, text_dapt, text_finetune
from genjax.claims.lm_checks import BLIND, ONE_LAYER, mean_of
from genjax.claims.text_checks import (  # noqa: F401  (MIN_EFFECT_BITS: tests read it here)
  EXPERIMENT,
  MIN_EFFECT_BITS,
  compare,
  model,
  verdict,
)
from genjax.claims.text_settled import judged
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Claim,
  Finding,
  ResultMissing,
)


def diversity_rule(r: dict) -> Finding:
  """Held-out bits of the mix minus the mean of the single-domain models, per held-out domain;
  the average over held-out domains decides, a held-out domain that goes the other way makes it
  conditional."""
  rows = [h for h in r.get("heldout", []) if h.get("specialists")]
  if not rows:
    raise ResultMissing("the diversity rule needs a held-out domain with a single-domain model")
  names = sorted({n for h in rows for n in [h["mix"], *h["specialists"]]})
  return judged(r, names, lambda at: _diversity(at, rows))


def _diversity(r: dict, rows: list) -> Finding:
  per_domain, parts, trade = {}, [], []
  for h in rows:
    held = h["domain"]
    mix = model(r, h["mix"])
    singles = [model(r, n)["test"][held] for n in h["specialists"]]
    c = compare(mix["test"][held], mean_of(singles))
    per_domain[held] = (c, verdict(f"{held} held out", c)[0])
    parts.append(f"{held} held out: mix {stats.spread(mix['test'][held])} minus "
                 f"{'+'.join(model(r, n)['domains'][0] for n in h['specialists'])} alone "
                 f"{c['text']}")
    for n in h["specialists"]:  # the other side of the trade: each specialist at home
      own = model(r, n)["domains"][0]
      trade.append(f"{own} {compare(model(r, n)['test'][own], mix['test'][own])['text']}")
  pooled_mix = mean_of([model(r, h["mix"])["test"][h["domain"]] for h in rows])
  pooled_single = mean_of([mean_of([model(r, n)["test"][h["domain"]]
                                      for n in h["specialists"]]) for h in rows])
  c = compare(pooled_mix, pooled_single)
  judged, m = verdict("held-out bits/byte, mix of the other domains - one of them alone", c)
  evidence = (f"equal bytes seen; held-out bits/byte, mix minus one domain alone, averaged over "
              f"{len(rows)} held-out domain(s): {c['text']}. " + "; ".join(parts)
              + ". Specialist minus mix on the specialist's own domain: " + "; ".join(trade)
              + ".")
  against = [d for d, (_, v) in per_domain.items() if v != judged and v != INCONCLUSIVE]
  if judged in (SUPPORTED, CONTRADICTED) and against:
    return Finding(CONDITIONAL, evidence, f"on the held-out domain: {judged} on average, the "
                   f"other way when {', '.join(against)} is held out", margin=m)
  return Finding(judged, evidence, margin=m)


def _by_arch(r: dict, needed) -> dict:
  names = r["heldout"][0]["models"] if r.get("heldout") else []
  by_arch = {model(r, n)["arch"]: n for n in names}
  if not set(needed) <= set(by_arch):
    raise ResultMissing(f"the rule needs {', '.join(needed)}; the results have "
                        f"{sorted(by_arch)}")
  return by_arch


def architecture_rule(r: dict) -> Finding:
  """Attention itself: the 1-layer transformer against the bag-of-bytes MLP on the unseen domain
  (the 2-layer model's gain is depth as well; its own row is depth_rule)."""
  by_arch = _by_arch(r, ("transformer", ONE_LAYER, BLIND))
  return judged(r, by_arch.values(), lambda at: _architecture(at, by_arch))


def _architecture(r: dict, by_arch: dict) -> Finding:
  held = r["heldout"][0]["domain"]
  test = {a: model(r, n)["test"][held] for a, n in by_arch.items()}
  alone, deep = compare(test[ONE_LAYER], test[BLIND]), compare(test["transformer"], test[BLIND])
  evidence = (f"{held} never trained on; bits/byte 2-layer {stats.spread(test['transformer'])}, "
              f"1-layer {stats.spread(test[ONE_LAYER])}, {BLIND} {stats.spread(test[BLIND])}; "
              f"1-layer - {BLIND} {alone['text']}; 2-layer - {BLIND} {deep['text']}.")
  judged, m = verdict(f"{held} bits/byte 1-layer - {BLIND}", alone)
  if judged == CONTRADICTED and verdict("2-layer", deep)[0] == SUPPORTED:
    return Finding(CONDITIONAL, evidence, "on depth: one attention layer does no better than a "
                   "model blind to the order of its context; the gain comes with the second "
                   "layer", margin=m)
  return Finding(judged, evidence, margin=m)


def depth_rule(r: dict) -> Finding:
  by_arch = _by_arch(r, ("transformer", ONE_LAYER))
  named = [by_arch["transformer"], by_arch[ONE_LAYER]]
  return judged(r, named, lambda at: _depth(at, named))


def _depth(r: dict, named: list) -> Finding:
  held = r["heldout"][0]["domain"]
  c = compare(model(r, named[0])["test"][held], model(r, named[1])["test"][held])
  judged, m = verdict(f"{held} bits/byte 2-layer - 1-layer", c)
  return Finding(judged, f"{held} never trained on; bits/byte 2-layer minus 1-layer "
                 f"transformer: {c['text']}.", margin=m)


def _claim(like: Claim, study: str, anchor: str, rule, figure: str = "") -> Claim:
  """The Markov study's claim `like` (same statement, question, sources) judged on real text."""
  return Claim(like.question, like.statement, f"{EXPERIMENT}, {study} study", anchor,
               markov.for_study(study, rule), figure, sources=like.sources)


STUDY_CLAIMS = {
    "diversity": [_claim(
        markov.STUDY_CLAIMS["diversity"][0], "diversity", "Hernandez et al. 2021: transfer "
        "measured as effective data transferred from a different pretraining distribution",
        diversity_rule, "diversity.png")],
    "architecture": [
        _claim(markov.STUDY_CLAIMS["architecture"][0], "architecture", "nanoGPT character-level "
               "Shakespeare (CPU recipe, 4 layers, val 1.88 nats/char)", architecture_rule,
               "architecture.png"),
        _claim(markov.STUDY_CLAIMS["architecture"][1], "architecture", "Olsson et al. 2022: "
               "induction heads need two attention layers", depth_rule, "architecture.png")],
    "finetune": [
        _claim(markov.STUDY_CLAIMS["finetune"][0], "finetune", "Biderman et al. 2024: "
               "finetuning forgets the source domain; Hernandez et al. 2021: ossification",
               text_finetune.finetune_rule, "finetune.png"),
        _claim(markov.STUDY_CLAIMS["finetune"][1], "finetune", "Biderman et al. 2024: LoRA "
               "learns less and forgets less", text_finetune.lora_rule, "finetune.png")],
    "dapt": [
        _claim(markov.STUDY_CLAIMS["fewshot"][0], "dapt", "Gururangan et al. 2020: DAPT helps "
               "(ChemProt F1 81.9 -> 84.2)", text_dapt.dapt_rule, "dapt.png"),
        _claim(markov.STUDY_CLAIMS["fewshot"][1], "dapt", "Gururangan et al. 2020: adaptive "
               "pretraining on an irrelevant domain hurts", text_dapt.unrelated_rule, "dapt.png"),
        _claim(markov.STUDY_CLAIMS["fewshot"][2], "dapt", "Biderman et al. 2024: finetuning "
               "forgets the source domain", text_dapt.keeps_general_rule, "dapt.png"),
        _claim(markov.STUDY_CLAIMS["fewshot"][3], "dapt", "Gururangan et al. 2020: DAPT then "
               "task finetuning beats finetuning alone", text_dapt.transfer_rule, "dapt.png"),
        Claim("Q1", "Adaptive pretraining on more of the target's own register, then "
              "finetuning, beats finetuning alone (more in-domain data, not adaptation).",
              f"{EXPERIMENT}, dapt study", "Gururangan et al. 2020 adapt on a domain, then judge "
              "a task inside it", markov.for_study("dapt", text_dapt.same_register_rule),
              "dapt.png")],
    "continual": [
        _claim(markov.STUDY_CLAIMS["continual"][0], "continual", "Ibrahim et al. 2024: replay "
               "of 5-50% of the earlier data limits forgetting in continual pretraining",
               text_continual.continual_rule, "continual.png")],
}
CLAIMS = [claim for claims in STUDY_CLAIMS.values() for claim in claims]


def claims_for(config) -> list:
  """The claims a run of one study is judged on (registry hook)."""
  return STUDY_CLAIMS[config.study]

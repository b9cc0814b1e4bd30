"""Q1: domain generalization. Each study's rules read its entry of the results.json of
experiments/domain.py ({"studies": {study: results}}: the studies share a workdir).

Losses are per-seed means over the same evaluation sequences, so two models are compared on the
per-seed differences (`stats.compare(paired=True)`, a 95% Student-t interval: 4.30 s.e. at 3
seeds). A difference counts when its whole interval lies beyond MIN_EFFECT_NATS; each finding
names that difference, its interval, the spread over seeds and the bound that would flip it, and
carries the deciding one as its `Margin`. A rule reads only models that learned
(TRAINED_BELOW_UNIFORM) and pretrained models that finished (PLATEAU_NATS), else says "not
measured" with the numbers; results that lack a rule's input raise `ResultMissing`.
"""


import numpy as np

from genjax.claims import domain_checks as checks
from genjax.claims.verdicts import (
  DEPENDS,
  NOT_SUPPORTED,
  SUPPORTED,
  Claim,
  Finding,
  ResultMissing,
)

EXPERIMENT = "in-context Markov-chain domains (experiments/domain.py)"
CONFIDENCE, MIN_EFFECT_NATS = checks.CONFIDENCE, checks.MIN_EFFECT_NATS  # genjax/domain/report.py
compare, margin, deciding = checks.compare, checks.margin, checks.deciding


def _m_name(m: int) -> str:
  return "∞" if m == 0 else str(m)


def diversity_rule(r: dict) -> Finding:
  rows = sorted(r["rows"], key=lambda row: (row["pool_size"] == 0, row["pool_size"]))
  if len(rows) < 2:
    raise ResultMissing(f"the diversity rule needs two pool sizes, the results have {len(rows)}")
  low, high = rows[0], rows[-1]
  named = {f"M={_m_name(x['pool_size'])}": x for x in (low, high)}
  missing = checks.untrained(r, {label: x["model_indist"] for label, x in named.items()})
  missing = missing or checks.still_improving(named)
  if missing:
    return missing
  c = compare(high["model_heldout"], low["model_heldout"])
  bayes = r["references_heldout"]["bayes_new_domain"]["mean"]
  name = f"held-out loss M={_m_name(high['pool_size'])} - M={_m_name(low['pool_size'])}"
  return Finding(
      SUPPORTED if c["outcome"] == "lower" else NOT_SUPPORTED,
      f"held-out loss at M={_m_name(high['pool_size'])} minus M={_m_name(low['pool_size'])}: "
      f"{c['text']}; at M={_m_name(high['pool_size'])} the model is "
      f"{high['model_heldout']['mean'] - bayes:+.3f} nats from new-domain Bayes {bayes:.3f}.",
      margin=margin(name, c, "lower"))


def architecture_rule(r: dict) -> Finding:
  by_arch = {row["arch"]: row for row in r["rows"]}
  if "transformer" not in by_arch or len(by_arch) < 2:
    raise ResultMissing("the architecture rule needs the 2-layer transformer and a baseline, "
                        f"the results have {sorted(by_arch)}")
  missing = checks.untrained(r, {a: row["heldout"] for a, row in by_arch.items()})
  missing = missing or checks.still_improving(by_arch)
  if missing:
    return missing
  best = by_arch["transformer"]["heldout"]
  comparisons = {a: compare(best, row["heldout"]) for a, row in by_arch.items()
                 if a != "transformer"}
  wins = all(c["outcome"] == "lower" for c in comparisons.values())
  detail = "; ".join(f"2-layer - {a} {c['text']}" for a, c in comparisons.items())
  # The baseline the 2-layer model beats least clearly decides.
  return Finding(SUPPORTED if wins else NOT_SUPPORTED,
                 f"2-layer held-out loss {best['mean']:.3f}; {detail}.",
                 margin=deciding({f"held-out loss 2-layer - {a}": (c, "lower")
                                  for a, c in comparisons.items()}))


def _full_runs(methods: dict) -> list[str]:
  return [n for n, m in methods.items() if m["kind"] == "full" and not n.startswith("replay")]


def _finetune_untrained(r: dict, names) -> Finding | None:
  grid, methods = r["grid"], r["methods"]
  first, last = str(grid[0]), str(grid[-1])
  named = {f"pretrained (T={first}, held-out)": methods[names[0]]["curve"][first]["heldout"]}
  named |= {f"{n} (T={last}, target)": methods[n]["curve"][last]["target"] for n in names}
  return checks.untrained(r, named)


def finetune_rule(r: dict) -> Finding:
  refs, grid, methods = r["references"], r["grid"], r["methods"]
  full = _full_runs(methods)
  if not full or len(grid) < 2:
    raise ResultMissing(f"the finetune rule needs a full-finetuning run and two steps T, the "
                        f"results have runs {sorted(methods)} and T in {grid}")
  missing = _finetune_untrained(r, full[:1])
  if missing:
    return missing
  curve, first, last = methods[full[0]]["curve"], str(grid[0]), str(grid[-1])
  gain = compare(curve[last]["target"], refs["target/bayes_new_domain"])
  hurt = compare(curve[last]["heldout"], curve[first]["heldout"])
  # Supported needs both; the one closer to flipping decides.
  return Finding(
      SUPPORTED if gain["outcome"] == "lower" and hurt["outcome"] == "higher" else NOT_SUPPORTED,
      f"{full[0]} at T={last}: target minus in-context Bayes {gain['text']}; held-out minus "
      f"T={first} {hurt['text']}.",
      margin=deciding({f"{full[0]} target loss - in-context Bayes at T={last}": (gain, "lower"),
                       f"{full[0]} held-out loss T={last} - T={first}": (hurt, "higher")}))


def lora_forgetting_rule(r: dict) -> Finding:
  """LoRA vs the full-finetuning run whose target loss at the last T is closest to LoRA's."""
  methods, last = r["methods"], str(r["grid"][-1])
  loras = [n for n, m in methods.items() if m["kind"] == "lora"]
  full = _full_runs(methods)
  if not loras or not full:
    raise ResultMissing(f"the LoRA rule needs a LoRA run and a full-finetuning run, the results "
                        f"have {sorted(methods)}")
  lora_target = methods[loras[0]]["curve"][last]["target"]["mean"]
  match = min(full, key=lambda n: abs(methods[n]["curve"][last]["target"]["mean"] - lora_target))
  missing = _finetune_untrained(r, [match, loras[0]])
  if missing:
    return missing
  lora_end, full_end = methods[loras[0]]["curve"][last], methods[match]["curve"][last]
  target = compare(lora_end["target"], full_end["target"])
  heldout = compare(lora_end["heldout"], full_end["heldout"])
  return Finding(
      SUPPORTED if heldout["outcome"] == "lower" else NOT_SUPPORTED,
      f"{loras[0]} minus {match} (closest target loss) at T={last}: held-out {heldout['text']}; "
      f"target {target['text']}.",
      margin=margin(f"held-out loss {loras[0]} - {match} at T={last}", heldout, "lower"))


def _fewshot_inputs(r: dict) -> tuple[dict, dict, list[str]]:
  fs, dapt = r["fewshot"], r["dapt"]
  sizes = sorted((n for n in fs if n != "0"), key=int)
  if "0" not in fs or not sizes:
    raise ResultMissing(f"the few-shot rules need the in-context model and a few-shot run, the "
                        f"results have sizes {sorted(fs)}")
  return fs, dapt, sizes


def fewshot_rule(r: dict) -> Finding:
  fs, dapt, sizes = _fewshot_inputs(r)
  for variant in ("none", "dapt_target_genre"):
    checks.get(dapt, variant, "DAPT variant")
  missing = checks.untrained(r, {"pretrained (held-out)": fs["0"]["heldout"]})
  if missing:
    return missing
  outcomes = {
      f"few-shot finetuning ({sizes[-1]} sequences) vs in-context":
          compare(fs[sizes[-1]]["target"], fs["0"]["target"]),
      "DAPT alone vs none": compare(dapt["dapt_target_genre"]["before"]["target"],
                                    dapt["none"]["before"]["target"]),
      "DAPT then finetuning vs finetuning": compare(dapt["dapt_target_genre"]["after"]["target"],
                                                    dapt["none"]["after"]["target"]),
  }
  evidence = "target loss, " + "; ".join(f"{k}: {c['text']}" for k, c in outcomes.items()) + "."
  helps = [k.split(" vs")[0].split(" (")[0] for k, c in outcomes.items()
           if c["outcome"] == "lower"]
  names = [k.split(" vs")[0].split(" (")[0] for k in outcomes]
  first_key, _, third_key = outcomes
  # Supported needs the first and the third lower: the one of them closer to flipping decides.
  decide = deciding({f"target loss, {k.replace(' vs ', ' - ')}": (outcomes[k], "lower")
                     for k in (first_key, third_key)})
  if outcomes[first_key]["outcome"] == "lower" and outcomes[third_key]["outcome"] == "lower":
    return Finding(SUPPORTED, evidence, margin=decide)
  if helps:
    others = [n for n in names if n not in helps]
    return Finding(DEPENDS, evidence, f"on the method; lower the target loss: {', '.join(helps)}"
                   f"; do not: {', '.join(others)}", margin=decide)
  return Finding(NOT_SUPPORTED, evidence, margin=decide)


def unrelated_genre_rule(r: dict) -> Finding:
  """Gururangan et al. 2020: adaptive pretraining on an unrelated domain hurts the target."""
  fs, dapt, _ = _fewshot_inputs(r)
  unrelated, none = checks.get(dapt, "unrelated_genre", "DAPT variant"), checks.get(dapt, "none",
                                                                         "DAPT variant")
  missing = checks.untrained(r, {"pretrained (held-out)": fs["0"]["heldout"]})
  if missing:
    return missing
  c = compare(unrelated["after"]["target"], none["after"]["target"])
  return Finding(SUPPORTED if c["outcome"] == "higher" else NOT_SUPPORTED,
                 f"target loss after finetuning, unrelated genre minus none: {c['text']}.",
                 margin=margin("target loss after finetuning, unrelated genre - none", c,
                               "higher"))


def continual_rule(r: dict) -> Finding:
  families, variants = r["families"], r["variants"]
  names = list(variants)
  if len(names) < 2:
    raise ResultMissing(f"the continual rule needs a run with and one without replay, the "
                        f"results have {names}")
  missing = checks.untrained(r, {"pretrained (general)": variants[names[0]][0]["general"]})
  if missing:
    return missing

  def earlier_mean(variant):
    last = variants[variant][-1]
    return {"seeds": np.mean([last[f]["seeds"] for f in families[:-1]], axis=0).tolist()}

  c = compare(earlier_mean(names[-1]), earlier_mean(names[0]))
  return Finding(SUPPORTED if c["outcome"] == "lower" else NOT_SUPPORTED,
                 f"mean loss on earlier families after the last stage, {names[-1]} minus "
                 f"{names[0]}: {c['text']}.",
                 margin=margin(f"earlier-family loss {names[-1]} - {names[0]}", c, "lower"))


def _for_study(study: str, rule):
  """The rule on the study's entry of results.json; ResultMissing when that study has none."""
  def judged(results: dict) -> Finding:
    studies = results.get("studies", {})
    if study not in studies:
      raise ResultMissing(f"no results of the {study} study (results.json has "
                          f"{sorted(studies) or 'none'})")
    return rule(studies[study])

  return judged


def _claim(study: str, statement: str, anchor: str, rule, figure: str = "") -> Claim:
  return Claim("Q1", statement, f"{EXPERIMENT}, {study} study", anchor, _for_study(study, rule),
               figure)


# Each study's main claim first; experiments/report.py judges STUDY_CLAIMS[study].
STUDY_CLAIMS = {
    "diversity": [_claim(
        "diversity", "Pretraining on more diverse domains makes a model generalize better to "
        "domains it never saw.", "Raventós et al. 2023: above a task-diversity threshold the "
        "model matches the Bayes predictor for new tasks", diversity_rule, "loss_vs_M.png")],
    "architecture": [_claim(
        "architecture", "Architecture matters: self-attention, which can use the context, "
        "generalizes to new domains better than models that cannot.", "issue 4 independent run: "
        "2-layer 1.636 / 1-layer 1.923 / bag-of-tokens 1.980", architecture_rule,
        "loss_vs_position.png")],
    "finetune": [
        _claim("finetune", "Finetuning on a domain improves it, but over-finetuning on a narrow "
               "domain overfits and hurts out-of-domain performance.",
               "Biderman et al. 2024: finetuning forgets", finetune_rule,
               "finetune_target_vs_heldout.png"),
        _claim("finetune", "LoRA forgets less than full finetuning at a similar target loss.",
               "Biderman et al. 2024: LoRA learns less and forgets less", lora_forgetting_rule)],
    "fewshot": [
        _claim("fewshot", "Few-shot finetuning and domain-adaptive pretraining improve a target "
               "domain.", "Gururangan et al. 2020: DAPT helps (ChemProt F1 81.9 -> 84.2)",
               fewshot_rule, "fewshot.png"),
        _claim("fewshot", "Adaptive pretraining on an unrelated domain hurts the target domain.",
               "Gururangan et al. 2020: pretraining on an irrelevant domain hurts",
               unrelated_genre_rule)],
    "continual": [_claim(
        "continual", "Continual learning (here: with replay) keeps broad knowledge across "
        "domains.", "—", continual_rule, "continual.png")],
}
CLAIMS_BY_STUDY = {study: claims[0] for study, claims in STUDY_CLAIMS.items()}
CLAIMS = [claim for claims in STUDY_CLAIMS.values() for claim in claims]

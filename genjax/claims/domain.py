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

from genjax.claims import domain_checks as checks
from genjax.claims.domain_fewshot import (
  dapt_transfers,
  dapt_transfers_beyond_target,
  fewshot_keeps_general,
  fewshot_rule,
  unrelated_genre_rule,
)
from genjax.claims.lm_checks import ONE_LAYER
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Claim,
  Finding,
  ResultMissing,
)

EXPERIMENT = "in-context Markov-chain domains (experiments/domain.py)"
MIN_EFFECT_NATS = checks.MIN_EFFECT_NATS  # results.md states it (genjax/domain/report.py)
compare, margin, deciding = checks.compare, checks.margin, checks.deciding
verdict, all_of = checks.verdict, checks.all_of


def _m_name(m: int) -> str:  # pool size M; 0 stands for a fresh domain per sequence
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
  judged, m = verdict(name, c, "lower")
  return Finding(
      judged,
      f"held-out loss at M={_m_name(high['pool_size'])} minus M={_m_name(low['pool_size'])}: "
      f"{c['text']}; at M={_m_name(high['pool_size'])} the model is "
      f"{high['model_heldout']['mean'] - bayes:+.3f} nats from new-domain Bayes {bayes:.3f}.",
      margin=m)


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
  detail = "; ".join(f"2-layer - {a} {c['text']}" for a, c in comparisons.items())
  evidence = f"2-layer held-out loss {best['mean']:.3f}; {detail}"
  blind = [a for a in by_arch if a not in ("transformer", ONE_LAYER)]
  if ONE_LAYER in by_arch and blind:
    # Attention itself: one attention layer against the model that cannot use context. The
    # 2-layer model adds depth too, so its gain alone would credit attention with depth's work.
    alone = compare(by_arch[ONE_LAYER]["heldout"], by_arch[blind[0]]["heldout"])
    evidence += f"; attention alone, 1-layer - {blind[0]} {alone['text']}."
    judged, m = verdict(f"held-out loss 1-layer - {blind[0]}", alone, "lower")
    if judged == SUPPORTED:
      return Finding(SUPPORTED, evidence, margin=m)
    deep, deep_margin = verdict(f"held-out loss 2-layer - {blind[0]}", comparisons[blind[0]],
                                "lower")
    if deep == SUPPORTED and judged == CONTRADICTED:
      return Finding(CONDITIONAL, evidence, "on depth: one attention layer does no better than a "
                     "model blind to the context; the gain comes with the second layer",
                     margin=m)
    return Finding(judged, evidence, margin=m)
  # The baseline the 2-layer model beats least clearly decides.
  judged, m = all_of({f"held-out loss 2-layer - {a}": (c, "lower")
                      for a, c in comparisons.items()})
  return Finding(judged, evidence + ".", margin=m)


def depth_rule(r: dict) -> Finding:
  """Seed 002: deeper transformers generalize better. 2 layers against 1 on new domains."""
  by_arch = {row["arch"]: row for row in r["rows"]}
  if "transformer" not in by_arch or ONE_LAYER not in by_arch:
    raise ResultMissing(f"the depth rule needs the 2-layer and 1-layer transformers, the results "
                        f"have {sorted(by_arch)}")
  named = {a: by_arch[a] for a in ("transformer", ONE_LAYER)}
  if missing := (checks.untrained(r, {a: row["heldout"] for a, row in named.items()})
                 or checks.still_improving(named)):
    return missing
  c = compare(by_arch["transformer"]["heldout"], by_arch[ONE_LAYER]["heldout"])
  judged, m = verdict("held-out loss 2-layer - 1-layer", c, "lower")
  return Finding(judged, f"held-out loss on new domains, 2-layer minus 1-layer transformer: "
                 f"{c['text']}.", margin=m)


def finetune_rule(r: dict) -> Finding:
  refs, grid, methods = r["references"], r["grid"], r["methods"]
  full = checks.full_runs(methods)
  if not full or len(grid) < 2:
    raise ResultMissing(f"the finetune rule needs a full-finetuning run and two steps T, the "
                        f"results have runs {sorted(methods)} and T in {grid}")
  missing = checks.finetune_untrained(r, full[:1])
  if missing:
    return missing
  curve, first, last = methods[full[0]]["curve"], str(grid[0]), str(grid[-1])
  gain = compare(curve[last]["target"], refs["target/bayes_new_domain"])
  hurt = compare(curve[last]["heldout"], curve[first]["heldout"])
  # Supported needs both; the one closer to flipping decides.
  judged, m = all_of({f"{full[0]} target loss - in-context Bayes at T={last}": (gain, "lower"),
                      f"{full[0]} held-out loss T={last} - T={first}": (hurt, "higher")})
  return Finding(judged, f"{full[0]} at T={last}: target minus in-context Bayes "
                 f"{gain['text']}; held-out minus T={first} {hurt['text']}.", margin=m)


def lora_forgetting_rule(r: dict) -> Finding:
  """LoRA vs full finetuning at LoRA's target loss, read along a full run's steps."""
  methods, last = r["methods"], str(r["grid"][-1])
  loras = [n for n, m in methods.items() if m["kind"] == "lora"]
  full = checks.full_runs(methods)
  if not loras or not full:
    raise ResultMissing(f"the LoRA rule needs a LoRA run and a full-finetuning run, the results "
                        f"have {sorted(methods)}")
  lora_target = methods[loras[0]]["curve"][last]["target"]["mean"]
  # The frontier: a full run whose target loss passes through LoRA's along its steps (the
  # closest at the end among those), so forgetting is read at equal learning, not extrapolated.
  def passes(n):
    targets = [point["target"]["mean"] for point in methods[n]["curve"].values()]
    return min(targets) <= lora_target <= max(targets)
  match = min([n for n in full if passes(n)] or full,
              key=lambda n: abs(methods[n]["curve"][last]["target"]["mean"] - lora_target))
  missing = checks.finetune_untrained(r, [match, loras[0]])
  if missing:
    return missing
  lora_end = methods[loras[0]]["curve"][last]
  matched, outside = checks.at_matched_target(methods[match]["curve"], lora_end["target"])
  heldout = compare(lora_end["heldout"], matched)
  judged, m = verdict(f"held-out loss {loras[0]} - {match} at LoRA's target loss", heldout,
                      "lower")
  evidence = (f"{loras[0]} at T={last} minus {match} interpolated per seed along its finetuning "
              f"steps to LoRA's target loss ({lora_target:.3f}): held-out {heldout['text']}.")
  if outside:
    return Finding(INCONCLUSIVE, evidence, f"LoRA's target loss lies outside {match}'s range "
                   f"on {outside} seed(s): a longer or faster full finetuning would decide it",
                   margin=m)
  return Finding(judged, evidence, margin=m)


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
    return checks.mean_of([last[f] for f in families[:-1]])

  c = compare(earlier_mean(names[-1]), earlier_mean(names[0]))
  judged, m = verdict(f"earlier-family loss {names[-1]} - {names[0]}", c, "lower")
  return Finding(judged, f"mean loss on earlier families after the last stage, {names[-1]} "
                 f"minus {names[0]}: {c['text']}.", margin=m)


def for_study(study: str, rule):
  """The rule on the study's entry of results.json; ResultMissing when that study has none."""
  def judged(results: dict) -> Finding:
    studies = results.get("studies", {})
    if study not in studies:
      raise ResultMissing(f"no results of the {study} study (results.json has "
                          f"{sorted(studies) or 'none'})")
    return rule(studies[study])

  return judged


def _claim(study: str, statement: str, anchor: str, rule, figure: str = "",
           sources: tuple[str, ...] = ("ours",)) -> Claim:
  return Claim("Q1", statement, f"{EXPERIMENT}, {study} study", anchor, for_study(study, rule),
               figure, sources=sources)


# Each study's main claim first; a run of a study is judged on STUDY_CLAIMS[study].
STUDY_CLAIMS = {
    "diversity": [_claim(
        "diversity", "Pretraining on more diverse domains makes a model generalize better to "
        "domains it never saw.", "Raventós et al. 2023: above a task-diversity threshold the "
        "model matches the Bayes predictor for new tasks", diversity_rule, "loss_vs_M.png",
        ("000", "001", "002"))],
    "architecture": [
        _claim("architecture", "Architecture matters: self-attention, which can use the "
               "context, generalizes to new domains better than models that cannot.",
               "Olsson et al. 2022: in-context copying (induction heads) needs two attention "
               "layers", architecture_rule, "loss_vs_position.png", ("000", "001")),
        _claim("architecture", "Deeper transformers generalize better to new domains.",
               "Olsson et al. 2022: induction heads form in 2-layer, not 1-layer, attention "
               "models", depth_rule, "loss_vs_position.png", ("002",))],
    "finetune": [
        _claim("finetune", "Finetuning on a domain improves it, but over-finetuning on a narrow "
               "domain overfits and hurts out-of-domain performance.",
               "Biderman et al. 2024: finetuning forgets", finetune_rule,
               "finetune_target_vs_heldout.png", ("000",)),
        _claim("finetune", "LoRA forgets less than full finetuning at a similar target loss.",
               "Biderman et al. 2024: LoRA learns less and forgets less", lora_forgetting_rule)],
    "fewshot": [
        _claim("fewshot", "Few-shot finetuning and domain-adaptive pretraining improve a target "
               "domain.", "Gururangan et al. 2020: DAPT helps (ChemProt F1 81.9 -> 84.2)",
               fewshot_rule, "fewshot.png", ("001", "002")),
        _claim("fewshot", "Adaptive pretraining on an unrelated domain hurts the target domain.",
               "Gururangan et al. 2020: pretraining on an irrelevant domain hurts",
               unrelated_genre_rule),
        _claim("fewshot", "Few-shot finetuning improves a new domain while preserving general "
               "capabilities (domains it was not finetuned on).", "Biderman et al. 2024: "
               "finetuning forgets the source domain", fewshot_keeps_general, "fewshot.png",
               ("001",)),
        _claim("fewshot", "Domain-adaptive pretraining improves transfer to a domain unseen in "
               "pretraining (DAPT, then finetuning, against finetuning alone).",
               "Gururangan et al. 2020: DAPT then task finetuning beats finetuning alone "
               "(ChemProt F1 81.9 -> 84.2)", dapt_transfers, "fewshot.png", ("002",)),
        _claim("fewshot", "Domain-adaptive pretraining also helps domains that neither "
               "pretraining, DAPT nor finetuning saw.", "Gururangan et al. 2020 test DAPT on "
               "the target domain only", dapt_transfers_beyond_target, "fewshot.png")],
    "continual": [_claim(
        "continual", "Continual learning (here: with replay) keeps broad knowledge across "
        "domains.", "Ibrahim et al. 2024: replay limits forgetting in continual pretraining",
        continual_rule, "continual.png", ("001",))],
}
CLAIMS_BY_STUDY = {study: claims[0] for study, claims in STUDY_CLAIMS.items()}
CLAIMS = [claim for claims in STUDY_CLAIMS.values() for claim in claims]


def claims_for(config) -> list:
  """The claims a run of one study is judged on (registry hook)."""
  return STUDY_CLAIMS[config.study]

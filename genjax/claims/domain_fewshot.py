"""Q1 few-shot study rules: few-shot finetuning and domain-adaptive pretraining (DAPT) on a
target domain, what they do to the target and to domains never trained on. Shared readers and
guards: genjax/claims/domain_checks.py.
"""

from genjax.claims import domain_checks as checks
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Finding,
  ResultMissing,
)

MIN_EFFECT_NATS = checks.MIN_EFFECT_NATS
compare, deciding, verdict, all_of = checks.compare, checks.deciding, checks.verdict, checks.all_of


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
  judged, m = all_of({f"target loss, {k.replace(' vs ', ' - ')}": (outcomes[k], "lower")
                      for k in (first_key, third_key)})
  if judged == SUPPORTED:
    return Finding(SUPPORTED, evidence, margin=decide)
  if judged == INCONCLUSIVE:
    return Finding(INCONCLUSIVE, evidence, f"{m.name}: the interval straddles the "
                   f"{MIN_EFFECT_NATS}-nat band's edge", margin=m)
  if helps:
    others = [n for n in names if n not in helps]
    return Finding(CONDITIONAL, evidence, f"on the method; lower the target loss: "
                   f"{', '.join(helps)}; do not: {', '.join(others)}", margin=m)
  return Finding(CONTRADICTED, evidence, margin=m)


def _after_finetuning(r: dict, variant: str) -> tuple[dict, dict] | Finding:
  """The losses after finetuning of a DAPT `variant` and of "none" (no adaptive pretraining),
  or the not-measured Finding when the pretrained model did not train."""
  fs, dapt, _ = _fewshot_inputs(r)
  chosen, none = checks.get(dapt, variant, "DAPT variant"), checks.get(dapt, "none", "DAPT variant")
  if missing := checks.untrained(r, {"pretrained (held-out)": fs["0"]["heldout"]}):
    return missing
  return chosen["after"], none["after"]


def unrelated_genre_rule(r: dict) -> Finding:
  """Gururangan et al. 2020: adaptive pretraining on an unrelated domain hurts the target."""
  pair = _after_finetuning(r, "unrelated_genre")
  if isinstance(pair, Finding):
    return pair
  unrelated, none = pair
  c = compare(unrelated["target"], none["target"])
  judged, m = verdict("target loss after finetuning, unrelated genre - none", c, "higher")
  return Finding(judged, f"target loss after finetuning, unrelated genre minus none: "
                 f"{c['text']}.", margin=m)


def fewshot_keeps_general(r: dict) -> Finding:
  """Seed 001: few-shot finetuning improves the new task "while preserving general
  capabilities": at each number of sequences that was run, the held-out domains' loss must not
  rise by more than MIN_EFFECT_NATS (an equivalence bound: kept when the whole interval lies
  below it, lost when it lies above). Kept at every size: supported; lost at every size:
  contradicted; kept at some and lost at others: conditional on the number of sequences; else
  inconclusive."""
  fs, _, sizes = _fewshot_inputs(r)
  if missing := checks.untrained(r, {"pretrained (held-out)": fs["0"]["heldout"]}):
    return missing
  flipped = {SUPPORTED: CONTRADICTED, CONTRADICTED: SUPPORTED}
  read = {}  # size -> (verdict, margin, compare result)
  for n in sizes:
    c = compare(checks.get(fs[n], "heldout", "few-shot held-out loss"), fs["0"]["heldout"])
    name = f"held-out loss, few-shot ({n}) - in-context"
    read[n] = (flipped.get(verdict(name, c, "higher")[0], INCONCLUSIVE),
               checks.margin(name, c, "higher"), c)
  evidence = ("held-out (never-trained) domains' loss after few-shot finetuning minus before, "
              + "; ".join(f"{n} sequences: {c['text']}" for n, (_, _, c) in read.items())
              + f"; kept if the interval stays below +{MIN_EFFECT_NATS}.")
  kept = [n for n, (v, _, _) in read.items() if v == SUPPORTED]
  lost = [n for n, (v, _, _) in read.items() if v == CONTRADICTED]
  # The deciding margin: the size whose interval edge lies nearest the band's edge.
  closest = min(read, key=lambda n: min(abs(read[n][1].low - read[n][1].threshold),
                                        abs(read[n][1].high - read[n][1].threshold)))
  if len(kept) == len(sizes) or len(lost) == len(sizes):
    return Finding(read[closest][0], evidence, margin=read[closest][1])
  if kept and lost:
    return Finding(CONDITIONAL, evidence, f"on the number of sequences; kept at "
                   f"{', '.join(kept)}, lost at {', '.join(lost)}",
                   margin=read[lost[0]][1])
  unclear = next(n for n, (v, _, _) in read.items() if v == INCONCLUSIVE)
  return Finding(INCONCLUSIVE, evidence, f"{unclear} sequences: the interval straddles the "
                 f"{MIN_EFFECT_NATS}-nat band's edge", margin=read[unclear][1])


def dapt_transfers(r: dict) -> Finding:
  """Seed 002: domain-adaptive pretraining improves transfer to a domain unseen in pretraining
  (the few-shot target is a chain no pretraining saw): after the same finetuning on the target,
  its loss with DAPT against without."""
  pair = _after_finetuning(r, "dapt_target_genre")
  if isinstance(pair, Finding):
    return pair
  adapted, none = pair
  c = compare(adapted["target"], none["target"])
  judged, m = verdict("target loss after finetuning, DAPT - none", c, "lower")
  return Finding(judged, f"the target (unseen in pretraining) after the same finetuning, loss "
                 f"with DAPT minus without: {c['text']}.", margin=m)


def dapt_transfers_beyond_target(r: dict) -> Finding:
  """Ours, a wider reading than the seed's: DAPT on the target's genre also lowers the loss on
  domains neither pretraining, DAPT nor finetuning saw."""
  pair = _after_finetuning(r, "dapt_target_genre")
  if isinstance(pair, Finding):
    return pair
  adapted, none = pair
  c = compare(checks.get(adapted, "heldout", "DAPT held-out loss"),
              checks.get(none, "heldout", "held-out loss without DAPT"))
  judged, m = verdict("held-out loss after finetuning, DAPT - none", c, "lower")
  return Finding(judged, f"held-out (never-trained) domains' loss after finetuning, DAPT minus "
                 f"none: {c['text']}.", margin=m)

"""Q1 on real text, finetune study: the rules on its results.json (genjax/text/studies.py).

Every run starts from one pretrained model (the mix of the domains other than the target) and is
evaluated at T = 0 (that model) and along the grid, on the target's test documents and on the
other domains' test documents, in bits per byte per seed (paired: every model of a seed reads
that seed's windows). The guard (genjax/claims/text_checks.py) wants the pretrained model
finished; a verdict on finetuning a model that had not finished pretraining would judge the
pretraining.
"""

from genjax.claims.domain_checks import at_matched_target
from genjax.claims.text_checks import all_of, compare, unfinished, verdict
from genjax.claims.verdicts import INCONCLUSIVE, NOT_MEASURED, SUPPORTED, Finding, ResultMissing


def _runs(r: dict, kind: str) -> list[str]:
  return [n for n, m in r.get("methods", {}).items() if m["kind"] == kind]


def finetune_rule(r: dict) -> Finding:
  """The first full run (config.finetune_lrs[0]): its target bits at the last step below the
  pretrained model's (finetuning helps) and the other domains' bits at the last step above those
  at the first step of the grid (finetuning on past it hurts out of domain)."""
  full, steps = _runs(r, "full"), [str(t) for t in r.get("grid", [])]
  if not full or len(steps) < 3:
    raise ResultMissing(f"the finetune rule needs a full run and T = 0 plus two steps; the "
                        f"results have runs {sorted(r.get('methods', {}))} and T in {steps}")
  if missing := unfinished(r, [r["base"]]):
    return missing
  name, curve = full[0], r["methods"][full[0]]["curve"]
  base, first, last = curve["0"], curve[steps[1]], curve[steps[-1]]
  gain = compare(last["target"], base["target"])
  hurt = compare(last["others"], first["others"])
  judged, m = all_of({
      f"{name} target bits/byte T={steps[-1]} - pretrained": (gain, "lower"),
      f"{name} other domains' bits/byte T={steps[-1]} - T={steps[1]}": (hurt, "higher")})
  valid = {t: curve[t]["target_valid"]["mean"] for t in steps}
  lowest = min(valid, key=valid.get)
  turn = (f"target validation bits/byte lowest at T={lowest} ({valid[lowest]:.3f}), "
          f"{valid[steps[-1]]:.3f} at T={steps[-1]}" if lowest != steps[-1] else
          f"target validation bits/byte still falling at T={steps[-1]} ({valid[lowest]:.3f})")
  return Finding(judged, f"{name} on {r['target_bytes']:,} bytes of {r['target']}: target test "
                 f"bits/byte T={steps[-1]} minus the pretrained model {gain['text']}; the other "
                 f"domains T={steps[-1]} minus T={steps[1]} {hurt['text']} (minus the pretrained "
                 f"model {compare(last['others'], base['others'])['text']}); {turn}.", margin=m)


def lora_rule(r: dict) -> Finding:
  """LoRA at its last step against a full run read along its steps at LoRA's target bits (per
  seed, interpolated; the full run whose target range holds LoRA's), on the other domains."""
  loras, full = _runs(r, "lora"), _runs(r, "full")
  if not loras or not full:
    raise ResultMissing(f"the LoRA rule needs a LoRA run and a full run; the results have "
                        f"{sorted(r.get('methods', {}))}")
  if missing := unfinished(r, [r["base"]]):
    return missing
  methods, last = r["methods"], str(r["grid"][-1])
  lora_end = methods[loras[0]]["curve"][last]
  learned = compare(lora_end["target"], methods[loras[0]]["curve"]["0"]["target"])
  if verdict("", learned)[0] != SUPPORTED:
    return Finding(NOT_MEASURED, f"{loras[0]} did not learn the target: its target bits/byte at "
                   f"T={last} minus the pretrained model {learned['text']}, so forgetting at its "
                   "target loss would read the pretrained model")
  wanted = lora_end["target"]["mean"]

  def passes(n):
    targets = [p["target"]["mean"] for p in methods[n]["curve"].values()]
    return min(targets) <= wanted <= max(targets)

  match = min([n for n in full if passes(n)] or full,
              key=lambda n: abs(methods[n]["curve"][last]["target"]["mean"] - wanted))
  along = {t: {"target": p["target"], "heldout": p["others"]}
           for t, p in methods[match]["curve"].items()}
  matched, outside = at_matched_target(along, lora_end["target"])
  c = compare(lora_end["others"], matched)
  judged, m = verdict(f"other domains' bits/byte {loras[0]} - {match} at LoRA's target bits/byte",
                      c)
  evidence = (f"{loras[0]} at T={last} (target {wanted:.3f} bits/byte, minus the pretrained model "
              f"{learned['text']}) minus {match} read along its steps at LoRA's target bits/byte, "
              f"per seed: the other domains {c['text']}.")
  if outside:
    return Finding(INCONCLUSIVE, evidence, f"LoRA's target bits/byte lie outside {match}'s range "
                   f"on {outside} seed(s): a longer or faster full run would decide it", margin=m)
  return Finding(judged, evidence, margin=m)

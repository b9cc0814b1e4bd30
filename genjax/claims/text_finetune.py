"""Q1 on real text, finetune study: the rules on its results.json (genjax/text/studies.py).

Every run starts from one pretrained model (the mix of the domains other than the target) and is
evaluated at T = 0 (that model) and along the grid, on the target's test documents and on the
other domains' test documents, in bits per byte per seed (paired: every model of a seed reads
that seed's windows). The pretrained model must pass its competence floor
(genjax/claims/text_checks.py `base_floored`); a verdict on finetuning a model that had not
learned what an n-gram learns of its windows would judge the pretraining.
"""

from genjax.claims.lm_checks import at_matched_target
from genjax.claims.text_checks import all_of, base_floored, compare, verdict
from genjax.claims.verdicts import INCONCLUSIVE, NOT_MEASURED, SUPPORTED, Finding, ResultMissing


def _runs(r: dict, kind: str) -> list[str]:
  return [n for n, m in r.get("methods", {}).items() if m["kind"] == kind]


def selected(curve: dict) -> str:
  """The step T > 0 of a run with the lowest target validation bits (mean over seeds): the
  checkpoint a user would keep. Selected on validation documents, judged on test documents."""
  return min((t for t in curve if t != "0"), key=lambda t: curve[t]["target_valid"]["mean"])


def finetune_rule(r: dict) -> Finding:
  """The first full run (config.finetune_lrs[0]) at its selected step T*: target bits below the
  pretrained model's (finetuning helps), and the other domains' bits at the last step above
  those at T* (finetuning on past T* hurts out of domain). A grid that ends at T* never reached
  over-finetuning: inconclusive."""
  full, steps = _runs(r, "full"), [str(t) for t in r.get("grid", [])]
  if not full or len(steps) < 3:
    raise ResultMissing(f"the finetune rule needs a full run and T = 0 plus two steps; the "
                        f"results have runs {sorted(r.get('methods', {}))} and T in {steps}")
  return base_floored(r, [r["base"]], lambda: _finetune(r, full[0], steps))


def _finetune(r: dict, name: str, steps: list) -> Finding:
  curve = r["methods"][name]["curve"]
  best, last = selected(curve), steps[-1]
  gain = compare(curve[best]["target"], curve["0"]["target"])
  evidence = (f"{name} on {r['target_bytes']:,} bytes of {r['target']}, selected at T*={best} "
              f"(lowest target validation bits/byte): target test bits/byte minus the pretrained "
              f"model {gain['text']}")
  if best == last:
    judged, m = verdict(f"{name} target bits/byte T*={best} - pretrained", gain)
    return Finding(INCONCLUSIVE if judged == SUPPORTED else judged, evidence + ".",
                   f"the target still improves at the grid's last step T={last}: the grid does "
                   "not reach over-finetuning" if judged == SUPPORTED else "", margin=m)
  hurt = compare(curve[last]["others"], curve[best]["others"])
  overfit = compare(curve[last]["target"], curve[best]["target"])
  judged, m = all_of({f"{name} target bits/byte T*={best} - pretrained": (gain, "lower"),
                      f"{name} other domains' bits/byte T={last} - T*={best}": (hurt, "higher")})
  return Finding(judged, f"{evidence}; at T={last} the target is {overfit['text']} from T* and "
                 f"the other domains {hurt['text']} (at T* they are "
                 f"{compare(curve[best]['others'], curve['0']['others'])['text']} from the "
                 "pretrained model).", margin=m)


def lora_rule(r: dict) -> Finding:
  """LoRA at its selected step against a full run read at LoRA's target bits along its steps up
  to its own selected step (where it still learns the target), per seed, on the other domains;
  the full run is the one whose range there holds LoRA's target bits."""
  loras, full = _runs(r, "lora"), _runs(r, "full")
  if not loras or not full:
    raise ResultMissing(f"the LoRA rule needs a LoRA run and a full run; the results have "
                        f"{sorted(r.get('methods', {}))}")
  return base_floored(r, [r["base"]], lambda: _lora(r, loras[0], full))


def _lora(r: dict, lora: str, full: list) -> Finding:
  methods = r["methods"]
  lora_curve = methods[lora]["curve"]
  best = selected(lora_curve)
  lora_best = lora_curve[best]
  learned = compare(lora_best["target"], lora_curve["0"]["target"])
  if verdict("", learned)[0] != SUPPORTED:
    return Finding(NOT_MEASURED, f"{lora} did not learn the target: at its selected step "
                   f"T*={best} its target bits/byte minus the pretrained model {learned['text']}, "
                   "so forgetting at its target loss would read the pretrained model")
  wanted = lora_best["target"]["mean"]

  def learning(n):  # the run's steps up to its own selected one
    curve = methods[n]["curve"]
    return {t: curve[t] for t in curve if int(t) <= int(selected(curve))}

  def passes(n):
    targets = [p["target"]["mean"] for p in learning(n).values()]
    return min(targets) <= wanted <= max(targets)

  match = min([n for n in full if passes(n)] or full,
              key=lambda n: abs(min(p["target"]["mean"] for p in learning(n).values()) - wanted))
  along = {t: {"target": p["target"], "heldout": p["others"]} for t, p in learning(match).items()}
  matched, outside = at_matched_target(along, lora_best["target"])
  c = compare(lora_best["others"], matched)
  judged, m = verdict(f"other domains' bits/byte {lora} - {match} at LoRA's target bits/byte",
                      c)
  evidence = (f"{lora} at its selected step T*={best} (target {wanted:.3f} bits/byte, minus "
              f"the pretrained model {learned['text']}) minus {match} read at LoRA's target "
              f"bits/byte along its steps up to its own T*, per seed: the other domains "
              f"{c['text']}.")
  if outside:
    return Finding(INCONCLUSIVE, evidence, f"LoRA's target bits/byte lie outside {match}'s range "
                   f"on {outside} seed(s): a longer or faster full run would decide it", margin=m)
  return Finding(judged, evidence, margin=m)

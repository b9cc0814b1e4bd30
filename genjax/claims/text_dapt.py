"""Q1 on real text, DAPT study: the rules on its results.json (genjax/text/studies.py `dapt`).

Four starts, each finetuned on the same target set: the pretrained model itself ("none"), and
that model after adaptive pretraining for equal steps on a neighbouring register ("related"),
on more of the target's own register ("same_register") or on an unrelated domain
("unrelated"). Each start is judged at its own selected step T* (lowest target validation bits,
`text_finetune.selected`) on the target's test documents, per seed (paired). Gururangan et al.
2020 adapt on a domain and judge a task inside it; here the neighbouring register is the DAPT
domain, so DAPT can fail (more of the target's own text, which can hardly fail, is a row of its
own, *ours*: `same_register_rule`). Their control of equal cost is adaptive pretraining on an
irrelevant domain; "none" costs fewer steps than the others. The pretrained model must pass its
competence floor (genjax/claims/text_checks.py `base_floored`). DAPT's "transfer to unseen
domains" reads the target, which pretraining never saw (`transfer_rule`); its wider reading
(domains nothing trained on) has no row here: the pretrained model has read every domain but
the target.
"""

from genjax.claims.text_checks import (
  MIN_EFFECT_BITS,
  all_of,
  base_floored,
  compare,
  verdict,
)
from genjax.claims.text_finetune import selected
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Finding,
  ResultMissing,
)

STARTS = ("none", "related", "same_register", "unrelated")


def _starts(r: dict) -> dict:
  starts = r.get("starts", {})
  if any(k not in starts for k in STARTS) or len(r.get("grid", [])) < 3:
    raise ResultMissing(f"the DAPT rules need the starts {', '.join(STARTS)} and T = 0 plus two "
                        f"steps; the results have {sorted(starts)} and T in {r.get('grid')}")
  return {k: starts[k]["curve"] for k in STARTS}


def _tuned(curve: dict) -> tuple[str, dict]:
  """The step T* a user would keep and the target test bits there."""
  best = selected(curve)
  return best, curve[best]["target"]


def dapt_rule(r: dict) -> Finding:
  """Finetuning helps (none at T* below the pretrained model) and DAPT on the neighbouring
  register helps beyond it (related at T* below none at T*): supported; one of the two:
  conditional on the method; neither: contradicted. DAPT alone (related at T = 0 against none at
  T = 0) is shown."""
  curves = _starts(r)
  return base_floored(r, [r["base"]], lambda: _dapt(r, curves))


def _dapt(r: dict, curves: dict) -> Finding:
  (t_none, none), (t_dapt, dapt) = _tuned(curves["none"]), _tuned(curves["related"])
  finetuning = compare(none, curves["none"]["0"]["target"])
  adapted = compare(dapt, none)
  alone = compare(curves["related"]["0"]["target"], curves["none"]["0"]["target"])
  evidence = (f"{r['target']} test bits/byte; finetuning on {r['target_bytes']:,} bytes (T*="
              f"{t_none}) minus the pretrained model {finetuning['text']}; DAPT on "
              f"{r['neighbour']} (the neighbouring register) for {r['dapt_steps']} steps, then "
              f"finetuning (T*={t_dapt}), minus finetuning alone {adapted['text']}; "
              f"DAPT alone minus none (before finetuning) {alone['text']}")
  methods = {"finetuning": (f"{r['target']} bits/byte finetuned - pretrained", finetuning),
             "DAPT": (f"{r['target']} bits/byte DAPT+finetuned - finetuned", adapted)}
  judged, m = all_of({name: (c, "lower") for name, c in methods.values()})
  helps = [method for method, (name, c) in methods.items() if verdict(name, c)[0] == SUPPORTED]
  if judged == CONTRADICTED and helps:
    return Finding(CONDITIONAL, evidence + ".", f"on the method: only {helps[0]} lowers the "
                   "target's bits", margin=m)
  return Finding(judged, evidence + ".", margin=m)


def transfer_rule(r: dict) -> Finding:
  """DAPT transfers to a domain unseen in pretraining: the target's test bits after DAPT on the
  neighbouring register and finetuning (related at its T*) below finetuning alone (none at its
  T*)."""
  curves = _starts(r)
  return base_floored(r, [r["base"]], lambda: _transfer(r, curves))


def _against_finetuning(r: dict, curves: dict, start: str, label: str, what: str,
                        after: str = "") -> Finding:
  """Start `start`, DAPT then finetuning at its T*, against finetuning alone at its T*."""
  (t_none, none), (t_start, tuned) = _tuned(curves["none"]), _tuned(curves[start])
  c = compare(tuned, none)
  judged, m = verdict(f"{r['target']} bits/byte {label} - finetuned", c)
  return Finding(judged, f"{what} and finetuning (T*={t_start}) minus finetuning alone "
                 f"(T*={t_none}): {c['text']}{after}.", margin=m)


def _transfer(r: dict, curves: dict) -> Finding:
  return _against_finetuning(r, curves, "related", "DAPT+finetuned",
                             f"{r['target']} (unseen in pretraining) test bits/byte after DAPT "
                             f"on {r['neighbour']}, the neighbouring register,")


def same_register_rule(r: dict) -> Finding:
  """Ours: adaptive pretraining on more of the target's own register, then finetuning, below
  finetuning alone (each at its T*): more in-domain data, not adaptation to a neighbour."""
  curves = _starts(r)
  return base_floored(r, [r["base"]], lambda: _same_register(r, curves))


def _same_register(r: dict, curves: dict) -> Finding:
  return _against_finetuning(r, curves, "same_register", "same-register DAPT+finetuned",
                             f"{r['target']} test bits/byte after adaptive pretraining on "
                             f"{r['dapt_bytes']['same_register']:,} further bytes of "
                             f"{r['target']} itself", " (more in-domain data)")


def keeps_general_rule(r: dict) -> Finding:
  """Finetuning the pretrained model on the target set ("none" at its T*) keeps the other
  domains: their test bits rise by less than MIN_EFFECT_BITS (an equivalence bound: supported
  when the whole interval lies below it, contradicted when it lies above)."""
  curves = _starts(r)
  return base_floored(r, [r["base"]], lambda: _keeps_general(r, curves["none"]))


def _keeps_general(r: dict, curve: dict) -> Finding:
  best = selected(curve)
  c = compare(curve[best]["others"], curve["0"]["others"])
  rose, m = verdict(f"other domains' bits/byte, finetuned (T*={best}) - pretrained", c, "higher")
  judged = {SUPPORTED: CONTRADICTED, CONTRADICTED: SUPPORTED}.get(rose, INCONCLUSIVE)
  return Finding(judged, f"the other domains' test bits/byte ({', '.join(curve['0']['domains'])})"
                 f" after finetuning on {r['target_bytes']:,} bytes of {r['target']} (T*={best})"
                 f" minus before: {c['text']}; kept if the interval stays below "
                 f"+{MIN_EFFECT_BITS}.", margin=m)


def unrelated_rule(r: dict) -> Finding:
  """Adaptive pretraining on an unrelated domain, then finetuning, against finetuning the
  pretrained model (each at its T*): higher target bits, supported."""
  curves = _starts(r)
  return base_floored(r, [r["base"]], lambda: _unrelated(r, curves))


def _unrelated(r: dict, curves: dict) -> Finding:
  (t_none, none), (t_other, other) = _tuned(curves["none"]), _tuned(curves["unrelated"])
  c = compare(other, none)
  judged, m = verdict(f"{r['target']} bits/byte {r['unrelated']} DAPT+finetuned - finetuned",
                      c, "higher")
  related = compare(_tuned(curves["related"])[1], other)
  return Finding(judged, f"{r['target']} test bits/byte after DAPT on {r['unrelated']} "
                 f"({r['dapt_steps']} steps) and finetuning (T*={t_other}) minus finetuning "
                 f"alone (T*={t_none}): {c['text']}; related ({r['neighbour']}) minus unrelated "
                 f"DAPT at equal steps {related['text']}.", margin=m)

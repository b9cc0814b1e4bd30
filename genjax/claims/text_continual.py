"""Q1 on real text, continual study: the rule on its results.json (genjax/text/studies.py
`continual`).

One pretrained model trains on the stage domains in turn, once without replay ("sequential") and
once with a share of every batch drawn from the domains it learned before ("replay"), at equal
steps and batch size; every domain's test documents are scored after each stage, per seed
(paired). Broad knowledge is the domains learned before the last stage; the pretrained model
must pass its competence floor (genjax/claims/text_checks.py `base_floored`).
"""

from genjax.claims.lm_checks import mean_of
from genjax.claims.text_checks import base_floored, compare, verdict
from genjax.claims.verdicts import Finding, ResultMissing

VARIANTS = ("sequential", "replay")


def continual_rule(r: dict) -> Finding:
  """After the last stage, the mean test bits over the domains learned before it: replay below
  sequential is supported (replay keeps them). The cost, the last stage's own domain, is
  shown beside it."""
  variants = r.get("variants", {})
  stages = r.get("stages", [])
  if any(len(variants.get(v, [])) != len(stages) + 1 for v in VARIANTS) or len(stages) < 2:
    raise ResultMissing(f"the continual rule needs both variants {VARIANTS} evaluated after "
                        f"pretraining and each of two or more stages; the results have "
                        f"{ {v: len(c) for v, c in variants.items()} } evaluations and stages "
                        f"{stages}")
  return base_floored(r, [r["base"]], lambda: _continual(r, variants, stages))


def _continual(r: dict, variants: dict, stages: list) -> Finding:
  earlier = [*r["first"], *stages[:-1]]

  def kept(variant):  # after the last stage
    return mean_of([variants[variant][-1][d] for d in earlier])

  def learned(d):  # the evaluation right after d was learned: pretraining's, or its stage's
    return variants["sequential"][0 if d in r["first"] else stages.index(d) + 1][d]

  c = compare(kept("replay"), kept("sequential"))
  forgot = compare(kept("sequential"), mean_of([learned(d) for d in earlier]))
  cost = compare(variants["replay"][-1][stages[-1]], variants["sequential"][-1][stages[-1]])
  judged, m = verdict(f"earlier domains' bits/byte after {stages[-1]}, replay - sequential", c)
  return Finding(judged, f"mean test bits/byte over the domains learned before the last stage "
                 f"({', '.join(earlier)}) after it ({stages[-1]}), replay of "
                 f"{r['replayed_windows']} windows a batch minus sequential: {c['text']}; "
                 f"sequential forgot {forgot['text']} against each domain's bits right after it "
                 f"was learned; the price of replay on {stages[-1]}: {cost['text']}.", margin=m)

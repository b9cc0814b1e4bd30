"""Q1 on real text: the rules that judge experiments/text.py's results.json (bits per byte).

The claims are the Markov study's own (`genjax.claims.domain.STUDY_CLAIMS`, the same
statements), so the report combines both runs of each claim (genjax/claims/combine.py). Models of
one seed are scored on that seed's windows of the same held-out documents, so two models are
compared on per-seed differences (`stats.compare(paired=True)`: a 95% Student-t interval, 4.30
s.e. at 3 seeds). A difference counts when its whole interval lies beyond MIN_EFFECT_BITS.

Guard, before any comparison: every compared model has finished, i.e. on its own training text
(equal parts of its domains, their held-out test documents) its worst seed beats its bar (BAR:
bz2, or the bigram for a model blind to order) on the same documents, and its training-domain
validation loss fell by less than PLATEAU_FRACTION over the last quarter of training; else *not
measured*, with the numbers.
"""

import numpy as np

from genjax import stats
from genjax.claims import domain as markov
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONFIDENCE,
  CONTRADICTED,
  INCONCLUSIVE,
  MIN_SEEDS,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
  ResultMissing,
  by_interval,
)

EXPERIMENT = "real text, four registers, byte-level models (experiments/text.py)"
# Differences inside ±0.01 bits per byte are too small to matter for these claims: 0.3-0.5% of
# the 2-4 bits per byte the models score, and a fiftieth of the smallest gap between zlib and
# bz2 on any domain (licences, 0.19).
MIN_EFFECT_BITS = 0.01
# A model has finished when its training-domain validation loss (mean over seeds) fell by less
# than this fraction over the last quarter of training: 1% is 0.02-0.04 bits per byte, a few
# times MIN_EFFECT_BITS and a tenth of the diversity and architecture effects the Markov study
# measures (0.2-1 nat), so a model still falling faster could close such a gap by training on.
PLATEAU_FRACTION = 0.01
ONE_LAYER, BLIND = "transformer_1layer", "bag_mlp"
# The reference a model must beat on its own held-out text to count as trained. bz2 reads the
# order of the bytes (Burrows-Wheeler sorts contexts), so a model that cannot read order has a
# ceiling above it: the bag of bytes levelled off at 3.63 bits/byte against bz2's 3.07 on its own
# text (BUILD_NOTES, Q1 on real text). Its matched bar is the Kneser-Ney bigram fitted on the
# training split ("kn2"): it sees what the bag sees of order, the current byte, and nothing of the
# rest of the context, so a bag that has learned its inputs beats it by what the byte frequencies
# of the window add. Set before any run judged with it.
BAR = {BLIND: "kn2"}
DEFAULT_BAR = "bz2"


def compare(a: dict, b: dict) -> dict:
  """a - b per seed (summaries with "seeds"): stats.compare plus "text"."""
  c = stats.compare(a["seeds"], b["seeds"], paired=True, confidence=CONFIDENCE)
  c["text"] = stats.describe_compare(c, digits=3)
  return c


def verdict(name: str, c: dict, want: str = "lower") -> tuple[str, Margin]:
  """SUPPORTED when the interval lies beyond the band on `want`'s side, CONTRADICTED when it
  lies beyond the band's edge on the other side, INCONCLUSIVE when it straddles that edge."""
  threshold = -MIN_EFFECT_BITS if want == "lower" else MIN_EFFECT_BITS
  m = Margin.from_compare(name, c, threshold, CONFIDENCE)
  return by_interval(m, "below" if want == "lower" else "above"), m


def _model(r: dict, name: str) -> dict:
  if name not in r.get("models", {}):
    raise ResultMissing(f"the results have no model {name!r}")
  return r["models"][name]


def unfinished(r: dict, names) -> Finding | None:
  """NOT_MEASURED (with the numbers) unless every named model beat bz2 on its own held-out text
  on every seed and levelled off; INCONCLUSIVE with fewer than MIN_SEEDS seeds."""
  if r["num_seeds"] < MIN_SEEDS:
    return Finding(INCONCLUSIVE, f"{r['num_seeds']} seed(s)", f"every rule needs {MIN_SEEDS} "
                   "seeds before its interval decides")
  problems = []
  for name in names:
    row = _model(r, name)
    bar = BAR.get(row["arch"], DEFAULT_BAR)
    if bar not in row.get("own_refs", {}):
      raise ResultMissing(f"{name}: the guard's bar {bar!r} is not among the results' references "
                          f"{sorted(row.get('own_refs', {}))} (config.ngram_orders needs 2 for "
                          f"the {BLIND} model)")
    worst = max(row["own_test"]["seeds"])
    if worst >= row["own_refs"][bar]:
      problems.append(f"{name} {worst:.3f} bits/byte on its own held-out text (worst seed), "
                      f"not below {bar}'s {row['own_refs'][bar]:.3f}")
    curve = row["train_curve"]
    steps = sorted(curve, key=int)
    quarter = [s for s in steps if int(s) <= 0.75 * int(steps[-1])]
    if not quarter:
      raise ResultMissing(f"{name}: the plateau guard needs an evaluation at 3/4 of training, "
                          f"the results have steps {steps}")
    before, last = curve[quarter[-1]]["mean"], curve[steps[-1]]["mean"]
    if before - last > PLATEAU_FRACTION * before:
      problems.append(f"{name} still falling: {before:.3f} -> {last:.3f} bits/byte over steps "
                      f"{quarter[-1]}-{steps[-1]} ({(before - last) / before:.1%} > "
                      f"{PLATEAU_FRACTION:.0%})")
  if problems:
    return Finding(NOT_MEASURED, "not finished: " + "; ".join(problems))
  return None


def _mean_of(summaries: list[dict]) -> dict:
  return {"seeds": np.mean([s["seeds"] for s in summaries], axis=0).tolist()}


def diversity_rule(r: dict) -> Finding:
  """Held-out bits of the mix minus the mean of the single-domain models, per held-out domain;
  the average over held-out domains decides, a held-out domain that goes the other way makes it
  conditional."""
  rows = [h for h in r.get("heldout", []) if h.get("specialists")]
  if not rows:
    raise ResultMissing("the diversity rule needs a held-out domain with a single-domain model")
  names = sorted({n for h in rows for n in [h["mix"], *h["specialists"]]})
  if missing := unfinished(r, names):
    return missing
  per_domain, parts, trade = {}, [], []
  for h in rows:
    held = h["domain"]
    mix = _model(r, h["mix"])
    singles = [_model(r, n)["test"][held] for n in h["specialists"]]
    c = compare(mix["test"][held], _mean_of(singles))
    per_domain[held] = (c, verdict(f"{held} held out", c)[0])
    parts.append(f"{held} held out: mix {stats.spread(mix['test'][held])} minus "
                 f"{'+'.join(_model(r, n)['domains'][0] for n in h['specialists'])} alone "
                 f"{c['text']}")
    for n in h["specialists"]:  # the other side of the trade: each specialist at home
      own = _model(r, n)["domains"][0]
      trade.append(f"{own} {compare(_model(r, n)['test'][own], mix['test'][own])['text']}")
  pooled_mix = _mean_of([_model(r, h["mix"])["test"][h["domain"]] for h in rows])
  pooled_single = _mean_of([_mean_of([_model(r, n)["test"][h["domain"]]
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
  by_arch = {_model(r, n)["arch"]: n for n in names}
  if not set(needed) <= set(by_arch):
    raise ResultMissing(f"the rule needs {', '.join(needed)}; the results have "
                        f"{sorted(by_arch)}")
  return by_arch


def architecture_rule(r: dict) -> Finding:
  """Attention itself: the 1-layer transformer against the bag-of-bytes MLP on the unseen domain
  (the 2-layer model's gain is depth as well; its own row is depth_rule)."""
  by_arch = _by_arch(r, ("transformer", ONE_LAYER, BLIND))
  if missing := unfinished(r, by_arch.values()):
    return missing
  held = r["heldout"][0]["domain"]
  test = {a: _model(r, n)["test"][held] for a, n in by_arch.items()}
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
  if missing := unfinished(r, named):
    return missing
  held = r["heldout"][0]["domain"]
  c = compare(_model(r, named[0])["test"][held], _model(r, named[1])["test"][held])
  judged, m = verdict(f"{held} bits/byte 2-layer - 1-layer", c)
  return Finding(judged, f"{held} never trained on; bits/byte 2-layer minus 1-layer "
                 f"transformer: {c['text']}.", margin=m)


def _for_study(study: str, rule):
  def judged(results: dict) -> Finding:
    if results.get("study") != study:
      raise ResultMissing(f"no results of the {study} study (this run is "
                          f"{results.get('study')!r})")
    return rule(results)

  return judged


def _claim(like: Claim, study: str, anchor: str, rule, figure: str = "") -> Claim:
  """The Markov study's claim `like` (same statement, question, sources) judged on real text."""
  return Claim(like.question, like.statement, f"{EXPERIMENT}, {study} study", anchor,
               _for_study(study, rule), figure, sources=like.sources)


STUDY_CLAIMS = {
    "diversity": [_claim(
        markov.STUDY_CLAIMS["diversity"][0], "diversity", "Hernandez et al. 2021: transfer "
        "measured as effective data transferred from a different pretraining distribution",
        diversity_rule, "bits_per_byte.png")],
    "architecture": [
        _claim(markov.STUDY_CLAIMS["architecture"][0], "architecture", "nanoGPT character-level "
               "Shakespeare (CPU recipe, 4 layers, val 1.88 nats/char)", architecture_rule,
               "loss_vs_position.png"),
        _claim(markov.STUDY_CLAIMS["architecture"][1], "architecture", "Olsson et al. 2022: "
               "induction heads need two attention layers", depth_rule, "loss_vs_position.png")],
}
CLAIMS = [claim for claims in STUDY_CLAIMS.values() for claim in claims]


def claims_for(config) -> list:
  """The claims a run of one study is judged on (registry hook)."""
  return STUDY_CLAIMS[config.study]

"""Q1 on real text: what every rule on experiments/text.py's results.json shares (bits per byte):
the effect size, the paired comparison (genjax/claims/lm_checks.py's `Band`, the Markov study's
band in bits) and the guard.

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

from collections.abc import Callable

from genjax.claims import lm_checks
from genjax.claims.lm_checks import BLIND
from genjax.claims.verdicts import NOT_MEASURED, Finding, ResultMissing

EXPERIMENT = "real text, four registers, byte-level models (experiments/text.py)"
# Differences inside ±0.01 bits per byte are too small to matter for these claims: well under 1%
# of the bits per byte a byte-level model scores (8 at uniform, a few once trained), and small
# beside the gaps between the compressors on every domain (results.md's reference rows).
MIN_EFFECT_BITS = 0.01
# A model has finished when its training-domain validation loss (mean over seeds) fell by less
# than this fraction over the last quarter of training: 1% of a few bits per byte is a few times
# MIN_EFFECT_BITS and a small fraction of the diversity and architecture effects the claims are
# about, so a model still falling faster could close such a gap by training on.
PLATEAU_FRACTION = 0.01
# The reference a model must beat on its own held-out text to count as trained. bz2 reads the
# order of the bytes (Burrows-Wheeler sorts contexts), so a model that cannot read order has a
# ceiling above it, which may lie above bz2 (BUILD_NOTES, Q1 on real text). Its matched bar is the
# Kneser-Ney bigram fitted on the training split ("kn2"): it sees what the bag sees of order, the
# current byte, and nothing of the rest of the context, so a bag that has learned its inputs
# beats it by what the byte frequencies of the window add. Set before any run judged with it.
BAR = {BLIND: "kn2"}
DEFAULT_BAR = "bz2"

BAND = lm_checks.Band(MIN_EFFECT_BITS, "bits per byte")
compare, verdict, all_of = BAND.compare, BAND.verdict, BAND.all_of


def model(r: dict, name: str) -> dict:
  if name not in r.get("models", {}):
    raise ResultMissing(f"the results have no model {name!r}")
  return r["models"][name]


def unfinished(r: dict, names) -> Finding | None:
  """NOT_MEASURED (with the numbers) unless every named model beat bz2 on its own held-out text
  on every seed and levelled off; INCONCLUSIVE with fewer than MIN_SEEDS seeds."""
  if few := lm_checks.too_few_seeds(r["num_seeds"]):
    return few
  problems = []
  for name in names:
    row = model(r, name)
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


def guarded(r: dict, names, rule: Callable[[], Finding]) -> Finding:
  """rule() once every named model has finished. Otherwise *not measured*, with the guard's
  numbers and, marked as not judged, the comparison rule() would read: a reader sees how far the
  unfinished models are from deciding, and every number quoted of them comes from this report."""
  missing = unfinished(r, names)
  if missing is None:
    return rule()
  if missing.verdict != NOT_MEASURED:  # too few seeds: no interval to show
    return missing
  shown = rule()
  deciding = "" if shown.margin is None else (
      f" Deciding, were they finished: {shown.margin.name} {shown.margin.describe(3, True)}.")
  return Finding(NOT_MEASURED, f"{missing.evidence}. Not judged (unfinished models), for "
                 f"orientation only: {shown.evidence}{deciding}")

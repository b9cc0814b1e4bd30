"""Q1 on real text: what every rule on experiments/text.py's results.json shares (bits per byte):
the effect size, the paired comparison (genjax/claims/lm_checks.py's `Band`, the Markov study's
band in bits), and the gates before a comparison is judged (issue 64, "a settled comparison at a
matched budget").

The claims are the Markov study's own (`genjax.claims.domain.STUDY_CLAIMS`, the same
statements), so the report combines both runs of each claim (genjax/claims/combine.py). Models of
one seed are scored on that seed's windows of the same held-out documents, so two models are
compared on per-seed differences (`stats.compare(paired=True)`: a 95% Student-t interval, 4.30
s.e. at 3 seeds). A difference counts when its whole interval lies beyond MIN_EFFECT_BITS.

Gates, here: the matched budget (both arms saw equal bytes under the same schedule shape) and the
competence floor (every seed of every compared model beats, by FLOOR_MARGIN_BITS, the Kneser-Ney
n-gram of `floor_order` fitted on its own training split and scored on the windows it reads).
Settled and not closing, which read every evaluation, are in genjax/claims/text_settled.py. A
model's last-quarter fall in validation bits is shown as a description, never a gate: under a
cosine schedule it does not level off at any budget run here.
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
# The competence floor: a model counts as having learned what it can read of its windows when
# every seed scores at least this far below the floor n-gram. The band's own width: a model
# within the band of an n-gram is not measurably better than it (issue 64).
FLOOR_MARGIN_BITS = MIN_EFFECT_BITS
# The floor's order: a transformer reads the order of its context, so it must beat the order-3
# Kneser-Ney n-gram (two bytes of context); the bag of bytes is blind to order and sees of it only
# the current byte, so its floor is the order-2 one (issue 64). Compressors and longer n-grams stay
# in the tables as descriptions.
FLOOR_ORDER = {BLIND: 2}
DEFAULT_FLOOR_ORDER = 3
# Where the last quarter of training starts (the description of how far a model still falls).
LAST_QUARTER_FROM = 0.75

BAND = lm_checks.Band(MIN_EFFECT_BITS, "bits per byte")
compare, verdict, all_of = BAND.compare, BAND.verdict, BAND.all_of


def floor_order(arch: str) -> int:
  """The order of the Kneser-Ney n-gram a model of `arch` must beat (FLOOR_ORDER)."""
  return FLOOR_ORDER.get(arch, DEFAULT_FLOOR_ORDER)


def model(r: dict, name: str) -> dict:
  if name not in r.get("models", {}):
    raise ResultMissing(f"the results have no model {name!r}")
  return r["models"][name]


def field(row: dict, name: str, key: str):
  """row[key], or ResultMissing naming the model and the field (results written before it)."""
  if key not in row:
    raise ResultMissing(f"{name}: the results have no {key!r} (written before the settled-"
                        f"comparison rules; rerun the study)")
  return row[key]


def floor_problems(r: dict, names) -> list[str]:
  """What keeps the named models under the floor: each seed that does not beat its own floor by
  FLOOR_MARGIN_BITS, with the numbers (empty: every seed of every model beats it)."""
  problems = []
  for name in names:
    row = model(r, name)
    floor, own = field(row, name, "floor"), field(row, name, "own_test")["seeds"]
    if floor.get("order") != floor_order(row["arch"]):
      raise ResultMissing(f"{name}: its floor is {floor.get('name')}, the rules want the order-"
                          f"{floor_order(row['arch'])} n-gram for {row['arch']}")
    if len(floor["seeds"]) != len(own):
      raise ResultMissing(f"{name}: {len(own)} seeds but a floor of {len(floor['seeds'])}")
    short = [f"seed {s} {m:.3f} vs {f:.3f}" for s, (m, f) in enumerate(zip(
        own, floor["seeds"], strict=True)) if m > f - FLOOR_MARGIN_BITS]
    if short:
      problems.append(f"{name} does not beat {floor['name']} (fitted on its own training split, "
                      f"on the windows it reads) by {FLOOR_MARGIN_BITS} bits/byte: "
                      + ", ".join(short))
  return problems


def floor_text(r: dict, names) -> str:
  """Each model's own held-out bits beside its floor (mean over seeds; every seed beats it)."""
  return "; ".join(f"{n} {model(r, n)['own_test']['mean']:.3f} < {model(r, n)['floor']['name']} "
                   f"{model(r, n)['floor']['mean']:.3f}" for n in names)


def budget_problems(r: dict, names) -> tuple[list[str], str]:
  """(what breaks the matched budget, the line stating each arm's bytes seen, parameters and
  bytes per parameter)."""
  budgets = {n: field(model(r, n), n, "budget") for n in names}
  line = "; ".join(f"{n} {b['bytes_seen']:,} bytes seen, {b['params']:,} parameters, "
                   f"{b['bytes_seen'] / b['params']:.1f} bytes/parameter"
                   for n, b in budgets.items())
  problems = []
  if len({b["bytes_seen"] for b in budgets.values()}) > 1:
    problems.append("unequal bytes seen")
  if len({repr(sorted(b["schedule"].items())) for b in budgets.values()}) > 1:
    problems.append("different schedules: " + "; ".join(f"{n} {b['schedule']}"
                                                         for n, b in budgets.items()))
  return problems, line


def last_quarter_text(r: dict, names) -> str:
  """How far each model's training-domain validation bits still fell over the last quarter of
  training (a description: the rules do not gate on it)."""
  parts = []
  for name in names:
    curve = field(model(r, name), name, "train_curve")
    steps = sorted(curve, key=int)
    before = [s for s in steps if int(s) <= LAST_QUARTER_FROM * int(steps[-1])]
    if not before or before[-1] == steps[-1]:
      parts.append(f"{name} has no evaluation before the last quarter")
      continue
    a, b = curve[before[-1]]["mean"], curve[steps[-1]]["mean"]
    parts.append(f"{name} {a:.3f} -> {b:.3f} ({(a - b) / a:+.1%}, steps {before[-1]}-{steps[-1]})")
  return "last-quarter fall of training-domain validation bits/byte (a description): " + (
      "; ".join(parts))


def not_judged(gate: str, problems: list[str], shown: Finding) -> Finding:
  """NOT_MEASURED (`gate` failed, with its numbers), and, marked as not judged, the comparison
  the rule would read: a reader sees how far the models are from deciding."""
  deciding = "" if shown.margin is None else (
      f" Deciding, were it judged: {shown.margin.name} {shown.margin.describe(3, True)}.")
  return Finding(NOT_MEASURED, f"not measured ({gate}): " + "; ".join(problems)
                 + f". Not judged, for orientation only: {shown.evidence}{deciding}")


def base_floored(r: dict, names, rule: Callable[[], Finding]) -> Finding:
  """The finetune, DAPT and continual studies: rule() once the pretrained model(s) pass the
  competence floor; else *not measured (below the competence floor)*."""
  if few := lm_checks.too_few_seeds(r["num_seeds"]):
    return few
  names = list(names)
  if problems := floor_problems(r, names):
    return not_judged("below the competence floor", problems, rule())
  found = rule()
  return Finding(found.verdict, f"{found.evidence} The pretrained model beats its competence "
                 f"floor: {floor_text(r, names)}; {last_quarter_text(r, names)}.",
                 found.condition, found.margin)

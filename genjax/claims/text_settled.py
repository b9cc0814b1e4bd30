"""Q1 on real text: a comparison of models trained from scratch is judged only when it is a settled
comparison at a matched budget (issue 64); else the row says which part failed, with the numbers.

1. Matched budget: every arm saw equal bytes under the same schedule shape (`budget_problems`);
   the row states each arm's bytes seen, parameters and bytes per parameter.
2. Competence floor: every seed of every compared model beats its floor n-gram by
   FLOOR_MARGIN_BITS (`floor_problems`); else *not measured (below the competence floor)*.
3. Settled: MIN_EVALUATIONS or more evenly spaced evaluations, and the rule's verdict (the paired
   test and the ±MIN_EFFECT_BITS band) the same decided one at every evaluation from
   SETTLED_FROM of training on; else *inconclusive (not settled)*, with the margins.
4. Not closing: the seed-mean margin fitted against ln(step) over those evaluations, extrapolated
   to EXTRAPOLATE_TO times the budget, stays beyond the band on the side it lies on now; else
   *inconclusive (closing)*.
5. The row says it is judged at equal bytes before convergence, describes each model's last-
   quarter fall, and its margin carries every evaluation's (`Tracked.evaluations`, REPORT.json).

The rule itself is a function of results; at an evaluation it reads the same results with every
model's "test" replaced by its test bits at that step ("test_curve").
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from genjax.claims import lm_checks
from genjax.claims.text_checks import (
  MIN_EFFECT_BITS,
  budget_problems,
  field,
  floor_problems,
  floor_text,
  last_quarter_text,
  model,
  not_judged,
)
from genjax.claims.verdicts import DECIDED, INCONCLUSIVE, Finding, Margin, ResultMissing

# Fewer evaluations cannot show whether a verdict holds over the second half of training: eight
# give five from the middle on, enough for a line through them to be more than two points (issue
# 64).
MIN_EVALUATIONS = 8
# The verdict must hold at every evaluation from this fraction of training on (the second half,
# its first evaluation included).
SETTLED_FROM = 0.5
# How far the margin's trend is carried: to twice the budget, the next run a reader might ask for.
EXTRAPOLATE_TO = 2.0


@dataclasses.dataclass(frozen=True)
class Tracked(Margin):
  """A margin that also carries the same comparison at every evaluation ({"step", "name",
  "verdict", "value", "low", "high", "threshold", "seeds"} each), so that settledness can be
  rechecked from REPORT.json."""

  evaluations: tuple = ()


def tracked(margin: Margin, evaluations: list[dict]) -> Tracked:
  fields = {f.name: getattr(margin, f.name) for f in dataclasses.fields(Margin)}
  return Tracked(**fields, evaluations=tuple(evaluations))


def at_step(r: dict, names, step: str) -> dict:
  """The results as they stood at evaluation `step`: each named model's test bits there."""
  models = dict(r["models"])
  for name in names:
    curve = field(models[name], name, "test_curve")
    if step not in curve:
      raise ResultMissing(f"{name} has no evaluation at step {step} "
                          f"(it has {sorted(curve, key=int)})")
    models[name] = {**models[name], "test": curve[step]}
  return {**r, "models": models}


def evaluations(r: dict, names, rule: Callable[[dict], Finding]) -> list[dict]:
  """The rule's verdict and deciding margin at every evaluation of the named models."""
  steps = sorted(field(model(r, names[0]), names[0], "test_curve"), key=int)
  out = []
  for step in steps:
    found = rule(at_step(r, names, step))
    m = found.margin
    out.append({"step": int(step), "verdict": found.verdict,
                "name": None if m is None else m.name,
                **{k: None if m is None else float(getattr(m, k))
                   for k in ("value", "low", "high", "threshold")},
                "seeds": None if m is None else m.seeds})
  return out


def margins_text(evals: list[dict]) -> str:
  return ", ".join(f"step {e['step']} {e['value']:+.3f} [{e['low']:+.3f}, {e['high']:+.3f}] "
                   f"{e['verdict']}" if e["value"] is not None else
                   f"step {e['step']} {e['verdict']}" for e in evals)


def values_text(evals: list[dict]) -> str:
  return ", ".join("-" if e["value"] is None else f"{e['value']:+.3f}" for e in evals)


def evenly_spaced(steps: list[int]) -> bool:
  return len(steps) > 1 and len(set(np.diff([0, *steps]).tolist())) == 1


def closing(late: list[dict]) -> tuple[bool, float, int]:
  """(whether the seed-mean margin's line against ln(step) over `late`, carried to EXTRAPOLATE_TO
  times the last step, is no longer beyond the band on the side the last margin lies on (or, for
  a last margin inside the band, an effect ruled out, whether it leaves the band); the margin it
  reaches there; that step)."""
  steps = np.array([e["step"] for e in late], float)
  values = np.array([e["value"] for e in late], float)
  slope, intercept = np.polyfit(np.log(steps), values, 1)
  at = int(EXTRAPOLATE_TO * steps[-1])
  reached = float(intercept + slope * np.log(at))
  if abs(values[-1]) <= MIN_EFFECT_BITS:  # an effect ruled out: closing if the line leaves the band
    return bool(abs(reached) > MIN_EFFECT_BITS), reached, at
  side = 1.0 if values[-1] > 0 else -1.0
  return bool(side * reached <= MIN_EFFECT_BITS), reached, at


def judged(r: dict, names, rule: Callable[[dict], Finding]) -> Finding:
  """rule(r) once the gates above pass; else the gate that failed, with its numbers."""
  if few := lm_checks.too_few_seeds(r["num_seeds"]):
    return few
  names = list(dict.fromkeys(names))
  unmatched, budget = budget_problems(r, names)
  if unmatched:
    return not_judged("budgets not matched", [*unmatched, budget], rule(r))
  if below := floor_problems(r, names):
    return not_judged("below the competence floor", below, rule(r))
  found, evals = rule(r), evaluations(r, names, rule)
  steps = [e["step"] for e in evals]
  late = [e for e in evals if e["step"] >= SETTLED_FROM * steps[-1]]
  head = (f"Judged at equal bytes before convergence ({budget}), intervals over seeds only "
          f"(not over which documents were held out); competence floor passed "
          f"({floor_text(r, names)}). ")
  tail = (f" Seed-mean margin at steps {steps[0]}-{steps[-1]} (each evaluation's interval in "
          f"REPORT.json): {values_text(evals)}; {last_quarter_text(r, names)}.")
  margin = None if found.margin is None else tracked(found.margin, evals)
  if found.verdict not in DECIDED:
    return Finding(found.verdict, head + found.evidence + tail, found.condition, margin)
  if len(steps) < MIN_EVALUATIONS or not evenly_spaced(steps):
    return Finding(INCONCLUSIVE, head + found.evidence + tail, f"not settled: {len(steps)} "
                   f"evaluations at steps {steps}; the rule needs {MIN_EVALUATIONS} or more, "
                   "evenly spaced", margin)
  if any(e["verdict"] != found.verdict for e in late):
    return Finding(INCONCLUSIVE, head + found.evidence + tail, f"not settled: {found.verdict} at "
                   f"the end, but not at every evaluation of the second half "
                   f"({margins_text(late)})", margin)
  closes, reached, at = closing(late)
  trend = (f"the seed-mean margin fitted against ln(step) over steps {late[0]['step']}-"
           f"{steps[-1]} reaches {reached:+.3f} at step {at:,}")
  if closes:
    return Finding(INCONCLUSIVE, head + found.evidence + tail, f"closing: {trend}, not beyond "
                   f"the band ±{MIN_EFFECT_BITS} on the side it lies on now (fitted on "
                   f"{margins_text(late)})", margin)
  return Finding(found.verdict, head + found.evidence + f" Settled: {found.verdict} at every "
                 f"evaluation from step {late[0]['step']}; not closing: {trend}." + tail,
                 found.condition, margin)


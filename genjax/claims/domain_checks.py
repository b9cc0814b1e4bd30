"""What every rule on the Markov study's results shares: the band in nats (MIN_EFFECT_NATS, read
by genjax/claims/lm_checks.py's `Band`, which the real-text rules read in bits), and the guards
that a model learned (TRAINED_BELOW_UNIFORM) and finished pretraining (PLATEAU_NATS). Thresholds
are named here with their reasons; genjax/claims/domain.py and domain_fewshot.py hold the rules.
"""

import math

from genjax.claims import lm_checks
from genjax.claims.verdicts import NOT_MEASURED, Finding, ResultMissing

# Differences inside ±0.002 nats/token (0.1% of the ~2-nat losses) are too small to matter for
# any of these claims, however many seeds pin them down.
MIN_EFFECT_NATS = 0.002
# A model has learned from its training data when its loss there is this far below uniform
# (log V = 2.079): an untrained transformer sits at uniform, and even the in-context unigram, the
# weakest use of the context, sits further below it (its row among results.md's references).
TRAINED_BELOW_UNIFORM = 0.02
# A pretrained model has finished training when its training-domain loss (mean over seeds) fell
# by less than this between its last two evaluations: 0.01 nats/token is 0.5% of the ~2-nat
# losses and a tenth or less of the architecture and diversity effects in issue 4's independent
# numbers (genjax/domain/report.py), so a model still falling faster could close such a gap in
# another evaluation interval.
PLATEAU_NATS = 0.01

BAND = lm_checks.Band(MIN_EFFECT_NATS, "nats", says_outcome=True)
compare, margin, deciding = BAND.compare, BAND.margin, BAND.deciding
verdict, all_of = BAND.verdict, BAND.all_of
at_matched_target, mean_of = lm_checks.at_matched_target, lm_checks.mean_of


def full_runs(methods: dict) -> list[str]:
  return [n for n, m in methods.items() if m["kind"] == "full" and not n.startswith("replay")]


def finetune_untrained(r: dict, names) -> Finding | None:
  grid, methods = r["grid"], r["methods"]
  first, last = str(grid[0]), str(grid[-1])
  named = {f"pretrained (T={first}, held-out)": methods[names[0]]["curve"][first]["heldout"]}
  named |= {f"{n} (T={last}, target)": methods[n]["curve"][last]["target"] for n in names}
  return untrained(r, named)


def get(container: dict, key, what: str):
  """container[key], or ResultMissing naming `what` when the results lack it."""
  if key not in container:
    raise ResultMissing(f"the results have no {what} ({key!r})")
  return container[key]


def untrained(results: dict, named: dict) -> Finding | None:
  """NOT_MEASURED if a seed's model in `named` ({label: summary on its training data}) is not
  below uniform by TRAINED_BELOW_UNIFORM; INCONCLUSIVE if there are too few seeds."""
  if few := lm_checks.too_few_seeds(results["num_seeds"]):
    return few
  bar = math.log(results["config"]["vocab"]) - TRAINED_BELOW_UNIFORM
  failed = [f"{label} {max(s['seeds']):.3f}" for label, s in named.items()
            if max(s["seeds"]) >= bar]
  if failed:
    return Finding(NOT_MEASURED, f"not trained: worst seed {', '.join(failed)} on its training "
                   f"data, not below {bar:.3f} (uniform - {TRAINED_BELOW_UNIFORM})")
  return None


def still_improving(named_rows: dict) -> Finding | None:
  """NOT_MEASURED if a model's training-domain loss still falls by more than PLATEAU_NATS over
  its last evaluation interval ({label: pretraining row with "indist_curve": {step: summary}})."""
  falling = []
  for label, row in named_rows.items():
    curve = get(row, "indist_curve", f"training-domain curve of {label}")
    if len(curve) < 2:
      raise ResultMissing(f"{label}: the plateau check needs two evaluations, the results have "
                          f"{len(curve)} (config.pretrain_evals)")
    before, last = sorted(curve, key=int)[-2:]
    drop = curve[before]["mean"] - curve[last]["mean"]
    if drop > PLATEAU_NATS:
      falling.append(f"{label} {curve[before]['mean']:.3f} at step {before} -> "
                     f"{curve[last]['mean']:.3f} at {last}")
  if falling:
    return Finding(NOT_MEASURED, "not converged: training-domain loss still falls by more than "
                   f"{PLATEAU_NATS} nats over the last evaluation interval: "
                   + "; ".join(falling))
  return None

"""Q2: mode collapse. Rules read results.json of experiments/gan.py (per-seed values per metric
and per-evaluation records).

Every rule first asks the guard (`gan_guard.check`) whether the run's budget was enough and the
judged generators have settled; otherwise the verdict is "not measured" with the numbers. A
claim about a collapsed generator's samples (collapse, persistence, realism) then asks the
premise (`gan_guard.premise`): its samples lie on the data, else *not measured (premise
absent)*; a generator that never reached the data covers no mode of it, however few cells its
blob falls in. A collapse is counted on cells: the samples nearest each center of a 2D mixture,
or the judge's digit classes on single-digit images (`counts_modes`). "Can" claims
(`Claim.existential`: collapse, realism) are supported by a witness and never contradicted by a
run that fails to show them: such a run reads *inconclusive (not shown)*. Each verdict names its
deciding number with its 95% Student-t interval over seeds (`stats.compare`) and the threshold
that would flip it. The realism rule lives in gan_realism.py.
"""

import dataclasses
import math

from genjax import stats
from genjax.claims import gan_guard
from genjax.claims.combine import NOT_SHOWN
from genjax.claims.gan_realism import (  # noqa: F401 (the realism claim's rule and bars)
  NOT_DIVERSE_RECALL_RATIO,
  REALISTIC_PRECISION_RATIO,
  realistic_but_not_diverse,
)
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
  ResultMissing,
  against,
)
from genjax.gan.methods import Method, matched_control
from genjax.metrics import coverage

EXPERIMENT = "GAN mode coverage (experiments/gan.py)"
VANILLA = "gan"
CONFIDENCE = gan_guard.CONFIDENCE
# Collapse: the vanilla generator occupies at most this fraction of the cells (upper end of the
# interval); PacGAN's and VEEGAN's collapsed GANs cover 1 to 6 of 8 ring modes.
COLLAPSED_FRACTION = 0.5
# "All cells" means more than K - 0.5 on average: counts are integers, so below it most seeds
# miss one.
ALL_MODES_SLACK = 0.5
# Persistence: a seed sits on a cell holding at least half its samples (hopping.SITS_ON_SHARE);
# over consecutive evaluations at which it sits, it hops when that cell changes. The collapse
# persists on the same cells when the mean share of such intervals with a hop stays at most
# PERSISTS_MAX_HOPS (1 in 5); the generator hops, as Metz et al. describe, when it stays at least
# HOPS_MIN (most intervals).
SITS_ON_SHARE = 0.5
PERSISTS_MAX_HOPS = 0.2
HOPS_MIN = 0.5
# Seeds with fewer consecutive sitting evaluations than this say nothing about persistence.
MIN_SITTING_PAIRS = 2


# Image datasets of single digits (genjax.gan.data.SINGLE_SOURCES): a mode is one of the judge's
# 10 digit classes, the count (with a KL over the classes) the published image protocols read.
SINGLE_DIGIT_DATASETS = ("digits", "mnist_full")


def is_mixture(results) -> bool:
  return "uniform_blur" in results


def counts_modes(results) -> bool:
  """Where cells measure the modes a generator covers: 2D mixtures (a cell: the samples nearest
  one true component) and single digits (a cell: one of the judge's classes). On stacked digits a
  cell is a triple of labels, which a generator can cover nearly all of while its images stay
  alike (its recall stays low), so cell counts there do not measure the claim; that run speaks
  through precision and recall (realistic_but_not_diverse)."""
  return is_mixture(results) or results["dataset"] in SINGLE_DIGIT_DATASETS


def has_remedy(results) -> bool:
  return counts_modes(results) and any(Method(**r["method"]).is_remedy
                                       for r in results["methods"].values())


def _cells_named(results, k: int) -> str:
  """'8 cells (>= 6.25% ...)' on a mixture; on digits the classes, with their KL to uniform."""
  share = f">= {100 * coverage.CELL_SHARE_OF_UNIFORM / k:.2f}% of its samples each"
  if is_mixture(results):
    return f"{k} cells ({share})"
  return (f"{k} digit classes, the judge's labels ({share}; reverse KL to uniform over them "
          f"{_summary(results, VANILLA, 'reverse_kl')['mean']:.3f} nats, floor "
          f"{results['floors']['reverse_kl']:.3f})")


def _summary(results, method, metric):
  return results["methods"][method]["summary"][metric]


def _require(results, names):
  missing = [n for n in names if n not in results["methods"]]
  if missing:
    raise ResultMissing(f"no {', '.join(missing)} run in {results['dataset']}")


def _interval(values, threshold: float, name: str, bounds=(0.0, 1.0)) -> Margin:
  """Cells, shares, precision and recall are bounded: their intervals are stated in range."""
  return Margin.of_values(name, values, threshold, bounds=bounds)


def _fmt(m: Margin, digits: int = 1) -> str:
  return m.describe(digits)


def _nearest(m: Margin, thresholds) -> Margin:
  """The margin read against the threshold nearest its value (the one that would flip it)."""
  return dataclasses.replace(m, threshold=min(thresholds, key=lambda t: abs(m.value - t)))


def _guarded(results, names) -> tuple[Finding | None, str]:
  _require(results, names)
  ok, text = gan_guard.check(results, names)
  return (None if ok else Finding(NOT_MEASURED, "not measured: " + text)), text


def collapse(results) -> Finding:
  unmeasured, premise = gan_guard.premise(results, VANILLA)
  if unmeasured:
    return unmeasured
  k = results["num_modes"]
  threshold = COLLAPSED_FRACTION * k
  cells = _interval(_summary(results, VANILLA, "cells")["seeds"], threshold,
                    "vanilla GAN occupied cells", (0, k))
  evidence = (f"{results['dataset']}: vanilla GAN occupies {_fmt(cells)} of "
              f"{_cells_named(results, k)}, its "
              f"fullest cell holds {100 * _summary(results, VANILLA, 'top_share')['mean']:.0f}%, "
              f"sharp modes {_summary(results, VANILLA, 'modes')['mean']:.1f}; collapsed if the "
              f"interval stays <= {threshold:g} cells. Premise: {premise}")
  # The margin is read against the collapse bar, the one threshold that flips the verdict: every
  # reading but a collapse is inconclusive (whether the generator misses cells or none).
  if cells.high <= threshold:
    return Finding(SUPPORTED, evidence, margin=cells)
  if cells.low >= k - ALL_MODES_SLACK:
    return Finding(INCONCLUSIVE, evidence, f"{NOT_SHOWN}: no collapse in this run (the interval "
                   f"stays >= {k - ALL_MODES_SLACK:g} cells); a run without one does not "
                   "contradict that a GAN can collapse", margin=cells)
  if cells.between(threshold, k - ALL_MODES_SLACK):
    return Finding(INCONCLUSIVE, evidence, f"{NOT_SHOWN}: a partial collapse, the generator "
                   f"misses cells but keeps more than {threshold:g} of {k}", margin=cells)
  if cells.low > threshold:
    return Finding(INCONCLUSIVE, evidence, f"{NOT_SHOWN}: the generator keeps more than "
                   f"{threshold:g} of {k} cells (the interval straddles "
                   f"{k - ALL_MODES_SLACK:g}: no collapse or a partial one)", margin=cells)
  return Finding(INCONCLUSIVE, evidence, f"the interval straddles {threshold:g} cells",
                 margin=cells)


def _hop_fractions(results, name) -> tuple[list[float], list[str]]:
  """Per seed with enough sitting evaluations: hops / consecutive sitting pairs; and per seed a
  'sits/pairs/hops' text."""
  history = [h for h in results["methods"][name]["history"] if h["step"] > 0 and "top_cell" in h]
  fractions, texts = [], []
  for seed in range(results["num_seeds"]):
    sat = [h["top_cell"][seed] if h["top_share"][seed] >= SITS_ON_SHARE else None
           for h in history]
    pairs = [(a, b) for a, b in zip(sat[:-1], sat[1:], strict=True)
             if a is not None and b is not None]
    hops = sum(a != b for a, b in pairs)
    texts.append(f"{hops}/{len(pairs)}")
    if len(pairs) >= MIN_SITTING_PAIRS:
      fractions.append(hops / len(pairs))
  return fractions, texts


def persists_on_same_modes(results) -> Finding:
  unmeasured, guard = gan_guard.premise(results, VANILLA)
  if unmeasured:
    return unmeasured
  fractions, texts = _hop_fractions(results, VANILLA)
  evals = sum(1 for h in results["methods"][VANILLA]["history"] if h["step"] > 0)
  per_seed = (f"hops / intervals between consecutive evaluations that sit on one cell (>= "
              f"{100 * SITS_ON_SHARE:g}% of the samples), per seed over {evals} evaluations "
              f"after step 0: {', '.join(texts)}")
  if len(fractions) * 2 <= results["num_seeds"]:
    return Finding(NOT_MEASURED, f"{per_seed}. Premise: {guard}. Most seeds do not sit on one "
                   f"cell at {MIN_SITTING_PAIRS}+ consecutive evaluations: this run has no "
                   "collapse whose persistence could be judged")
  hops = _interval(fractions, HOPS_MIN, "vanilla GAN share of intervals with a hop")
  evidence = (f"{per_seed}; share of intervals with a hop {_fmt(hops, 2)} over the "
              f"{len(fractions)} seeds that sit; the same cells if the interval stays <= "
              f"{PERSISTS_MAX_HOPS:g}, hopping if it stays >= {HOPS_MIN:g}. Premise: {guard}")
  margin = _nearest(hops, (PERSISTS_MAX_HOPS, HOPS_MIN))
  if hops.high <= PERSISTS_MAX_HOPS:
    return Finding(SUPPORTED, evidence, margin=margin)
  if hops.low >= HOPS_MIN:
    return Finding(CONTRADICTED, evidence + ": the collapsed generator hops from cell to cell",
                   margin=margin)
  if hops.between(PERSISTS_MAX_HOPS, HOPS_MIN):
    return Finding(CONDITIONAL, evidence, "on the interval between evaluations: the generator "
                   "stays on its cell in some and hops in others", margin=margin)
  return Finding(INCONCLUSIVE, evidence, f"the interval straddles {margin.threshold:g}",
                 margin=margin)


def remedies_restore_coverage(results) -> Finding:
  methods = results["methods"]
  remedies = [m for m in methods if Method(**methods[m]["method"]).is_remedy]
  if not remedies:
    raise ResultMissing("no remedy (pacgan, unrolled, mbstd, wgan_gp, r1) was run")
  controls = {r: matched_control(methods, r) for r in remedies}
  lacking = [f"{r} ({methods[r]['samples_per_step']} samples per step)"
             for r, c in controls.items() if c is None]
  lacking_text = ("; no matched control for " + ", ".join(lacking) + " (add vanilla at that "
                  "many samples per step, e.g. gan_batch2x)") if lacking else ""
  paired = {r: c for r, c in controls.items() if c is not None}
  if not paired:
    raise ResultMissing("no matched control for " + ", ".join(lacking) + ": run vanilla at the "
                        "same samples per step (e.g. gan_batch2x for pacgan2)")

  def gain(r):
    return _summary(results, r, "cells")["mean"] - _summary(results, paired[r], "cells")["mean"]

  best = max(paired, key=gain)
  control = paired[best]
  unmeasured, guard = _guarded(results, [best, control])
  if unmeasured:
    return Finding(NOT_MEASURED, unmeasured.evidence + lacking_text)
  k = results["num_modes"]
  remedy_cells = _summary(results, best, "cells")
  diff = stats.compare(remedy_cells["seeds"], _summary(results, control, "cells")["seeds"],
                       paired=False, confidence=CONFIDENCE)  # Welch: only G's init is shared
  all_cells = _interval(remedy_cells["seeds"], k - ALL_MODES_SLACK, f"{best} occupied cells",
                        (0, k))
  gain_margin = Margin.from_compare(f"{best} minus {control} occupied cells", diff, 0.0,
                                    CONFIDENCE)
  evidence = (f"{best} (largest gain of {len(paired)} remedies with a matched control) occupies "
              f"{_fmt(all_cells)} of {k} cells (sharp modes "
              f"{_summary(results, best, 'modes')['mean']:.1f}, all sharp on "
              f"{_summary(results, best, 'seeds_all_modes')}/{results['num_seeds']} seeds) vs "
              f"{_summary(results, control, 'cells')['mean']:.1f} cells for its matched control "
              f"{control} ({methods[best]['samples_per_step']} samples per step): gain "
              f"{_gain_text(diff, gain_margin)} (a gain needs the interval above 0; all cells "
              f"needs the cell interval above {k - ALL_MODES_SLACK:g}){lacking_text}. "
              f"Guard: {guard}")
  if not diff["clear"] or diff["diff"] <= 0:
    return Finding(against(gain_margin), evidence, margin=gain_margin)
  if all_cells.low >= k - ALL_MODES_SLACK:
    return Finding(SUPPORTED, evidence, margin=all_cells)
  if all_cells.straddles():
    return Finding(INCONCLUSIVE, evidence, "coverage improves over the matched control; whether "
                   "it reaches all cells is within the seed spread", margin=all_cells)
  return Finding(CONDITIONAL, evidence, "on the budget: coverage improves over the matched "
                 "control, but not to all cells at this budget", margin=all_cells)


def _gain_text(diff: dict, margin: Margin) -> str:
  """A Welch difference (unpaired: seeds share only G's init), in the report's dialect."""
  if diff["sd"] == 0 or (math.isfinite(diff["se"]) and diff["se"] == 0):
    return (f"{diff['diff']:+.1f} on every pair of seeds (Welch, unpaired: each side gives one "
            f"value on all {diff['n']} seeds)")
  return margin.describe(1, signed=True).replace("95% t", "95% Welch t")


ANCHOR = ("PacGAN Table 1 (400k updates): ring GAN 6.3±0.5 modes, PacGAN2 7.9±0.1; grid GAN "
          "17.3±0.8, PacGAN4 24.8±0.2. Stacked MNIST (PacGAN's Stacked MNIST tables; not run "
          "here): DCGAN 99 of 1000, PacDCGAN2 1000")
CLAIMS = [
    Claim("Q2", "A GAN can mode-collapse: its generator covers only a few modes of the data.",
          EXPERIMENT, ANCHOR, collapse, figure="mode_shares_over_training.png",
          applies=counts_modes, sources=("000", "001", "002"), existential=True),
    Claim("Q2", "A collapsed generator keeps producing the same few modes (it does not move on "
          "to others).", EXPERIMENT, "Metz et al. 2017 (Unrolled GAN), Fig. 1: the vanilla GAN "
          "hops from mode to mode", persists_on_same_modes, figure="mode_shares_over_training.png",
          applies=counts_modes, sources=("000", "002")),
    Claim("Q2", "Under mode collapse single samples can still look realistic while diversity "
          "suffers.", EXPERIMENT, "VEEGAN Table 1: GAN ring 1 mode at 99.3% high-quality",
          realistic_but_not_diverse, figure="samples_over_training.png",
          sources=("001", "002"), existential=True,
          disputed="seed 000 says collapse harms quality as well as diversity"),
    Claim("Q2", "Remedies such as packing (PacGAN) restore mode coverage.", EXPERIMENT, ANCHOR,
          remedies_restore_coverage, figure="modes_vs_step.png", applies=has_remedy,
          sources=("ours",)),
]

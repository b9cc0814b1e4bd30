"""Q2's realism claim: under mode collapse single samples can still look realistic while
diversity suffers. Read from results.json of experiments/gan.py.

The claim is existential ("can"): one run that shows it supports it, and a run that fails to
show it never contradicts it (combine.py). Per run, in order:

1. The guard (`gan_guard.check`) on the statistics that measure this claim (`steady_stats`):
   precision and recall where the history records them; else, on a 2D mixture, the cell
   statistics, which measure its diversity there (the data's own components); else none, and
   the evidence says so. Label cells of stacked digits do not measure this claim (a generator
   covers labels while its images stay alike), so their drift never drops a run for it.
2. The premise (`gan_guard.premise`): the samples lie on the data. Else *not measured (premise
   absent)*.
3. A collapse: recall (the share of real data's k-NN support the samples reach) below
   NOT_DIVERSE_RECALL_RATIO of real data's. A run whose recall is clearly not lost has no
   collapse: *not measured (premise absent)*; one whose recall interval straddles the bar is
   *inconclusive*.
4. Realism: precision at least REALISTIC_PRECISION_RATIO of real data's: *supported* (a
   witness). Clearly below: *inconclusive (not shown)*, never contradicted.
"""

from genjax.claims import gan_guard
from genjax.claims.combine import NOT_SHOWN
from genjax.claims.verdicts import (
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  Finding,
  Margin,
)

VANILLA = "gan"
# Realistic samples: precision at least this fraction of real data's (VEEGAN Table 1: the
# collapsed GAN has 99.3% high-quality samples on the ring).
REALISTIC_PRECISION_RATIO = 0.8
# Not diverse: recall (the share of real data's k-NN support the samples reach) below this
# fraction of real data's; a generator on 4 of 8 equal modes reaches about half of it.
NOT_DIVERSE_RECALL_RATIO = 0.5
# What must be steady for this claim where the history records it: the two numbers it reads.
CLAIM_STATS = ("precision", "recall")


def steady_stats(results) -> tuple[str, ...]:
  """The statistics whose drift makes the run unfinished for this claim (see the docstring)."""
  history = results["methods"][VANILLA]["history"]
  recorded = tuple(s for s in CLAIM_STATS if any(s in h for h in history))
  if recorded:
    return recorded
  return gan_guard.STEADY_STATS if "uniform_blur" in results else ()


def _unsteady_note(steady) -> str:
  if steady:
    return ""
  return ("; steadiness not checked: the history records neither precision nor recall, and "
          "label cells do not measure this claim")


def _interval(values, threshold: float, name: str) -> Margin:
  return Margin.of_values(name, values, threshold, bounds=(0.0, 1.0))


def realistic_but_not_diverse(results) -> Finding:
  steady = steady_stats(results) if VANILLA in results["methods"] else ()
  unmeasured, premise = gan_guard.premise(results, VANILLA, steady)
  if unmeasured:
    return Finding(unmeasured.verdict, unmeasured.evidence + _unsteady_note(steady),
                   unmeasured.condition)
  summary, real = results["methods"][VANILLA]["summary"], results["real_data"]
  threshold = REALISTIC_PRECISION_RATIO * real["precision"]
  recall_bar = NOT_DIVERSE_RECALL_RATIO * real["recall"]
  precision = _interval(summary["precision"]["seeds"], threshold, "vanilla GAN precision")
  recall = _interval(summary["recall"]["seeds"], recall_bar, "vanilla GAN recall")
  hq = (f", {100 * summary['hq']['mean']:.1f}% HQ (real data {100 * real['hq']:.1f}%)"
        if "hq" in real else "")
  space = gan_guard.space(results)
  space = "," + space if space else ""
  evidence = (f"{results['dataset']}: vanilla GAN precision (sample quality{space}) "
              f"{precision.describe(3)} vs {real['precision']:.3f} for real data (realistic if "
              f"the interval stays >= {threshold:.3f}){hq}; recall (diversity) "
              f"{recall.describe(3)} vs {real['recall']:.3f} (not diverse if the interval stays "
              f"< {recall_bar:.3f}). Premise: {premise}{_unsteady_note(steady)}")
  if recall.low >= recall_bar:
    return Finding(NOT_MEASURED, evidence + ": diversity is not lost in this run, so it has no "
                   "collapse under which to judge realism", gan_guard.PREMISE_ABSENT)
  if recall.high >= recall_bar:
    return Finding(INCONCLUSIVE, evidence, f"whether diversity is lost: the recall interval "
                   f"straddles {recall_bar:.3f}", margin=recall)
  if precision.low >= threshold:
    return Finding(SUPPORTED, evidence, margin=precision)
  if precision.high < threshold:
    return Finding(INCONCLUSIVE, evidence, f"{NOT_SHOWN}: this collapsed generator's samples lie "
                   f"on the data but below the realism bar {threshold:.3f}; a run that fails to "
                   "show what a GAN can do does not contradict it", margin=precision)
  return Finding(INCONCLUSIVE, evidence, f"the precision interval straddles {threshold:.3f}",
                 margin=precision)

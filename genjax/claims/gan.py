"""Q2: mode collapse. Rules read results.json of experiments/gan.py (per-seed values per metric).

Every rule first checks that the generators it reads are trained; an untrained generator covers
few modes for want of training, not from collapse, so the verdict is then "not measured" with
the numbers. Each verdict names its deciding number with its 95% Student-t interval over seeds
(`seeds.compare`) and the threshold that would flip it.
"""

import math

import numpy as np

from genjax import seeds
from genjax.claims.verdicts import DEPENDS, NOT_MEASURED, NOT_SUPPORTED, SUPPORTED, Claim, Finding
from genjax.gan.step import Method, matched_control

EXPERIMENT = "GAN mode coverage (experiments/gan.py)"
VANILLA = "gan"
CONFIDENCE = 0.95  # of every t interval over seeds
# Trained on a 2D mixture: the typical seed's median nearest-center distance is within the HQ
# radius (3 std), i.e. at least half its samples are high quality. Real data: 1.18 std; a
# uniform blur over the ring's square or an untrained G: tens of std.
MAX_MEDIAN_STD = 3.0
# Trained where no distance exists (stacked digits, or results.json written before the distance
# was recorded): the typical seed's precision is at least half of real data's. A uniform blur
# over the ring's square scores 0.008 against real data's 0.975.
MIN_PRECISION_RATIO = 0.5
# Collapse: the vanilla generator covers at most this fraction of the modes (upper end of the
# interval); PacGAN's and VEEGAN's collapsed GANs cover 1 to 6 of 8 ring modes.
COLLAPSED_FRACTION = 0.5
# "All modes" means more than K - 0.5 on average: mode counts are integers, so below it most
# seeds miss a mode.
ALL_MODES_SLACK = 0.5
# Realistic samples: precision at least this fraction of real data's (VEEGAN Table 1: the
# collapsed GAN has 99.3% high-quality samples on the ring).
REALISTIC_PRECISION_RATIO = 0.8


def _summary(results, method, metric):
  return results["methods"][method]["summary"][metric]


def _interval(values, threshold: float) -> dict:
  """t interval of mean(values), as seeds.compare gives it against a constant threshold."""
  values = np.asarray(values, np.float64)
  result = seeds.compare(values, np.full_like(values, threshold), paired=True,
                         confidence=CONFIDENCE)
  mean = float(values.mean())
  return {"mean": mean, "low": threshold + result["low"], "high": threshold + result["high"],
          "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "n": len(values)}


def _fmt(iv: dict, digits: int = 1) -> str:
  if not math.isfinite(iv["low"]):
    return f"{iv['mean']:.{digits}f} ({iv['n']} seed: no interval)"
  return (f"{iv['mean']:.{digits}f} (95% t interval {iv['low']:.{digits}f} to "
          f"{iv['high']:.{digits}f}, s.d. {iv['sd']:.{digits}f}, {iv['n']} seeds)")


def _untrained(results, names) -> Finding | None:
  """NOT_MEASURED with the numbers if any of the generators `names` is not trained."""
  missing = [n for n in names if n not in results["methods"]]
  if missing:
    return Finding(NOT_MEASURED, f"no {', '.join(missing)} run in {results['dataset']}")
  failed, passed = [], []
  for name in names:
    summary = results["methods"][name]["summary"]
    if "median_distance_std" in summary:
      typical = float(np.median(summary["median_distance_std"]["values"]))
      text = f"{name} median nearest-center distance {typical:.1f} std"
      ok = typical <= MAX_MEDIAN_STD
    else:
      typical = float(np.median(summary["precision"]["values"]))
      text = f"{name} precision {typical:.3f}"
      ok = typical >= MIN_PRECISION_RATIO * results["real_data"]["precision"]
    (passed if ok else failed).append(text)
  if not failed:
    return None
  real = results["real_data"]
  bar = (f"trained: <= {MAX_MEDIAN_STD:g} std (real data "
         f"{real.get('median_distance_std', float('nan')):.2f})" if "median_distance_std" in real
         else f"trained: >= {MIN_PRECISION_RATIO:g} x real data's {real['precision']:.3f}")
  return Finding(NOT_MEASURED, "generators not converged (typical seed): " + "; ".join(failed)
                 + f" ({bar})" + ("; trained: " + "; ".join(passed) if passed else ""))


def collapse(results) -> Finding:
  if (untrained := _untrained(results, [VANILLA])) is not None:
    return untrained
  k = results["num_modes"]
  threshold = COLLAPSED_FRACTION * k
  iv = _interval(_summary(results, VANILLA, "modes")["values"], threshold)
  rkl = _summary(results, VANILLA, "reverse_kl")["mean"]
  evidence = (f"{results['dataset']}: vanilla GAN covers {_fmt(iv)} of {k} modes, reverse KL "
              f"{rkl:.3f} (noise floor {results['floors']['reverse_kl']:.4f}); collapsed if the "
              f"interval stays <= {threshold:g} modes, no collapse if it stays >= "
              f"{k - ALL_MODES_SLACK:g}")
  if iv["high"] <= threshold:
    return Finding(SUPPORTED, evidence)
  if iv["low"] >= k - ALL_MODES_SLACK:
    return Finding(NOT_SUPPORTED, evidence)
  return Finding(DEPENDS, evidence, "partial collapse, or seeds disagree: the interval lies "
                 f"between {threshold:g} and {k - ALL_MODES_SLACK:g} or straddles one of them")


def realistic_but_not_diverse(results) -> Finding:
  if (untrained := _untrained(results, [VANILLA])) is not None:
    return untrained
  k = results["num_modes"]
  real_precision = results["real_data"]["precision"]
  threshold = REALISTIC_PRECISION_RATIO * real_precision
  modes = _summary(results, VANILLA, "modes")
  iv = _interval(_summary(results, VANILLA, "precision")["values"], threshold)
  recall = _summary(results, VANILLA, "recall")["mean"]
  evidence = (f"vanilla GAN: precision (sample quality) {_fmt(iv, 3)} vs {real_precision:.3f} "
              f"for real data (realistic if the interval stays >= {threshold:.3f}), recall "
              f"(diversity) {recall:.3f}, modes {modes['mean']:.1f}/{k}")
  if modes["mean"] >= k - ALL_MODES_SLACK:
    return Finding(DEPENDS, evidence, f"no collapse in this run (modes >= {k - ALL_MODES_SLACK:g})")
  if iv["low"] >= threshold:
    return Finding(SUPPORTED, evidence)
  if iv["high"] < threshold:
    return Finding(NOT_SUPPORTED, evidence + ": the collapsed generator's samples are off the "
                   "data too")
  return Finding(DEPENDS, evidence, f"seeds disagree: the interval straddles {threshold:.3f}")


def remedies_restore_coverage(results) -> Finding:
  methods = results["methods"]
  remedies = [m for m in methods if Method(**methods[m]["method"]).is_remedy]
  if not remedies:
    return Finding(NOT_MEASURED, "no remedy (pacgan, unrolled, mbstd, wgan_gp, r1) was run")
  controls = {r: matched_control(methods, r) for r in remedies}
  lacking = [f"{r} ({methods[r]['samples_per_step']} samples per step)"
             for r, c in controls.items() if c is None]
  lacking_text = ("; no matched control for " + ", ".join(lacking) + " (add vanilla at that "
                  "many samples per step, e.g. gan_batch2x)") if lacking else ""
  paired = {r: c for r, c in controls.items() if c is not None}
  if not paired:
    return Finding(NOT_MEASURED, "no matched control for " + ", ".join(lacking) + ": run vanilla "
                   "at the same samples per step (e.g. gan_batch2x for pacgan2)")

  def gain(r):
    return _summary(results, r, "modes")["mean"] - _summary(results, paired[r], "modes")["mean"]

  best = max(paired, key=gain)
  control = paired[best]
  if (untrained := _untrained(results, [best, control])) is not None:
    blur = results.get("uniform_blur")
    return Finding(NOT_MEASURED, untrained.evidence + (
        f"; a uniform blur covers {blur['modes']:.0f} modes" if blur else "") + lacking_text)
  k = results["num_modes"]
  remedy_modes = _summary(results, best, "modes")
  diff = seeds.compare(remedy_modes["values"], _summary(results, control, "modes")["values"],
                       paired=False, confidence=CONFIDENCE)  # Welch: only G's init is shared
  all_modes = _interval(remedy_modes["values"], k - ALL_MODES_SLACK)
  evidence = (f"{best} (largest gain of {len(paired)} remedies with a matched control) covers "
              f"{_fmt(all_modes)} of {k} modes (all modes on "
              f"{_summary(results, best, 'seeds_all_modes')}/{results['num_seeds']} seeds) vs "
              f"{_summary(results, control, 'modes')['mean']:.1f} for its matched control "
              f"{control} ({methods[best]['samples_per_step']} samples per step): gain "
              f"{diff['diff']:+.1f}, 95% Welch t interval {diff['low']:.1f} to {diff['high']:.1f} "
              f"(t {diff['t_critical']:.2f}, {diff['dof']:.1f} dof; a gain needs the interval "
              f"above 0; all modes needs the mode interval above {k - ALL_MODES_SLACK:g})"
              + lacking_text)
  if not diff["clear"] or diff["diff"] <= 0:
    return Finding(NOT_SUPPORTED, evidence)
  if all_modes["low"] >= k - ALL_MODES_SLACK:
    return Finding(SUPPORTED, evidence)
  return Finding(DEPENDS, evidence, "coverage improves over the matched control, but not to all "
                 "modes on every seed at this budget")


ANCHOR = ("PacGAN Table 1 (400k updates): ring GAN 6.3±0.5 modes, PacGAN2 7.9±0.1; grid GAN "
          "17.3±0.8, PacGAN4 24.8±0.2; Stacked MNIST DCGAN 99, PacDCGAN2 1000 of 1000")
CLAIMS = [
    Claim("Q2", "A GAN can mode-collapse: its generator covers only a few modes of the data.",
          EXPERIMENT, ANCHOR, collapse, figure="modes_over_training.png"),
    Claim("Q2", "Under mode collapse single samples can still look realistic while diversity "
          "suffers.", EXPERIMENT, "VEEGAN Table 1: GAN ring 1 mode at 99.3% high-quality",
          realistic_but_not_diverse, figure="samples_over_training.png"),
    Claim("Q2", "Remedies such as packing (PacGAN) restore mode coverage.", EXPERIMENT, ANCHOR,
          remedies_restore_coverage, figure="modes_vs_step.png"),
]

"""Q2: mode collapse. Rules read the results dict of genjax.gan.train (means over seeds)."""

from genjax.claims.verdicts import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Finding

EXPERIMENT = "GAN mode coverage (experiments/gan.py)"
VANILLA = "gan"


def _summary(results, method, metric):
  return results["methods"][method]["summary"][metric]


def _best_remedy(results) -> str:
  remedies = [m for m in results["methods"] if m != VANILLA]
  return max(remedies, key=lambda m: (_summary(results, m, "modes")["mean"],
                                      -_summary(results, m, "reverse_kl")["mean"]))


def collapse(results) -> Finding:
  k = results["num_modes"]
  modes = _summary(results, VANILLA, "modes")
  rkl = _summary(results, VANILLA, "reverse_kl")["mean"]
  evidence = (f"{results['dataset']}: vanilla GAN covers {modes['mean']:.1f} ± {modes['se']:.1f} "
              f"(s.e., {results['num_seeds']} seeds) of {k} modes, reverse KL {rkl:.3f} "
              f"(noise floor {results['floors']['reverse_kl']:.4f})")
  if modes["mean"] <= k / 2:
    return Finding(SUPPORTED, evidence)
  if modes["mean"] < k - 0.5:
    return Finding(DEPENDS, evidence, "partial collapse: most modes are covered")
  return Finding(NOT_SUPPORTED, evidence)


def realistic_but_not_diverse(results) -> Finding:
  k = results["num_modes"]
  modes = _summary(results, VANILLA, "modes")["mean"]
  precision = _summary(results, VANILLA, "precision")["mean"]
  recall = _summary(results, VANILLA, "recall")["mean"]
  real_precision = results["real_data"]["precision"]
  evidence = (f"vanilla GAN: precision (sample quality) {precision:.3f} vs {real_precision:.3f} "
              f"for real data, recall (diversity) {recall:.3f}, modes {modes:.1f}/{k}")
  if modes >= k - 0.5:
    return Finding(DEPENDS, evidence, "no collapse in this run")
  if precision >= 0.8 * real_precision:
    return Finding(SUPPORTED, evidence)
  return Finding(NOT_SUPPORTED, evidence + ": the collapsed generator's samples are off the "
                 "data too")


def remedies_restore_coverage(results) -> Finding:
  k = results["num_modes"]
  best = _best_remedy(results)
  vanilla, remedy = _summary(results, VANILLA, "modes"), _summary(results, best, "modes")
  evidence = (f"{best} covers {remedy['mean']:.1f} ± {remedy['se']:.1f} of {k} modes "
              f"(reverse KL {_summary(results, best, 'reverse_kl')['mean']:.3f}, all modes on "
              f"{_summary(results, best, 'seeds_all_modes')}/{results['num_seeds']} seeds) vs "
              f"vanilla {vanilla['mean']:.1f}")
  gain_is_real = remedy["mean"] - vanilla["mean"] > 2 * (remedy["se"] + vanilla["se"])
  precision = _summary(results, best, "precision")["mean"]
  real_precision = results["real_data"]["precision"]
  blur = results.get("uniform_blur")
  if gain_is_real and precision < 0.5 * real_precision:
    # A uniform blur over the data's square covers most modes too (all 8 on the ring).
    return Finding(DEPENDS, evidence + f"; precision {precision:.3f} vs {real_precision:.3f} "
                   "for real data" + (f" and {blur['precision']:.3f} for a uniform blur that "
                                      f"covers {blur['modes']:.0f} modes" if blur else ""),
                   "modes are covered, but most samples lie off the data")
  if gain_is_real and remedy["mean"] >= k - 0.5:
    return Finding(SUPPORTED, evidence)
  if gain_is_real:
    return Finding(DEPENDS, evidence, "coverage improves but not to all modes at this budget")
  return Finding(NOT_SUPPORTED, evidence)


ANCHOR = ("PacGAN Table 1 (400k updates): ring GAN 6.3±0.5 modes, PacGAN2 7.9±0.1; grid GAN "
          "17.3±0.8, PacGAN4 24.8±0.2; Stacked MNIST DCGAN 99, PacDCGAN2 1000 of 1000")
CLAIMS = [
    Claim("Q2", "A GAN can mode-collapse: its generator covers only a few modes of the data.",
          EXPERIMENT, ANCHOR, collapse),
    Claim("Q2", "Under mode collapse single samples can still look realistic while diversity "
          "suffers.", EXPERIMENT, "VEEGAN Table 1: GAN ring 1 mode at 99.3% high-quality",
          realistic_but_not_diverse),
    Claim("Q2", "Remedies such as packing (PacGAN) restore mode coverage.", EXPERIMENT, ANCHOR,
          remedies_restore_coverage),
]

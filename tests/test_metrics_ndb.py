"""Number of statistically different bins (Richardson & Weiss 2018): a pooled two-proportion
z-test per bin, counted where its two-sided p-value is below alpha."""

import jax
import numpy as np
import pytest

from genjax.gan import data
from genjax.metrics import ndb

RING = data.Mixture(data.ring_centers(8, 1.0), 0.01)
BINS_1D = np.arange(8.0)[:, None]  # bin k holds the points at k (nearest center)
SEEDS = range(10)


def _points(counts) -> np.ndarray:
  """counts[k] points at k: samples whose bins are known exactly."""
  return np.repeat(np.arange(len(counts), dtype=float), counts)[:, None]


def _draw(rng, probs, size) -> np.ndarray:
  return rng.choice(len(probs), size=size, p=probs).astype(float)[:, None]


def test_two_bins_by_hand():
  # Real 50/50 of 100, generated 70/30 of 100: pooled share 0.6, s.e. sqrt(0.6 * 0.4 * 0.02)
  # = 0.06928, z = 0.2 / 0.06928 = 2.8868 in both bins, two-sided p = erfc(z / sqrt 2) = 0.003892.
  bins = BINS_1D[:2]
  real, fake = _points([50, 50]), _points([70, 30])
  result = ndb.ndb(real, fake, bins)
  assert result["ndb"] == 2 and result["ndb_fraction"] == 1.0
  np.testing.assert_array_equal(result["real_proportions"], [0.5, 0.5])
  np.testing.assert_array_equal(result["fake_proportions"], [0.7, 0.3])
  # The p-value sits between these two levels: a bin differs only when p < alpha.
  assert ndb.ndb(real, fake, bins, alpha=0.00390)["ndb"] == 2
  assert ndb.ndb(real, fake, bins, alpha=0.00389)["ndb"] == 0
  # 55/45: pooled 0.525, z = 0.05 / sqrt(0.525 * 0.475 * 0.02) = 0.708, p = 0.4790.
  assert ndb.ndb(real, _points([55, 45]), bins)["ndb"] == 0
  assert ndb.ndb(real, _points([55, 45]), bins, alpha=0.4789)["ndb"] == 0
  assert ndb.ndb(real, _points([55, 45]), bins, alpha=0.4791)["ndb"] == 2


def test_three_bins_of_unequal_sample_sizes_by_hand():
  # Real 40/30/30 of 100, generated 30/10/10 of 50 (shares 0.6/0.2/0.2).
  # Bin 0: pooled 70/150, s.e. sqrt(0.4667 * 0.5333 * (1/100 + 1/50)) = 0.08641, z = -2.3146,
  # p = 0.0206. Bins 1 and 2: pooled 40/150, s.e. 0.07659, z = 1.3056, p = 0.1917.
  real, fake, bins = _points([40, 30, 30]), _points([30, 10, 10]), BINS_1D[:3]
  np.testing.assert_allclose(ndb.ndb(real, fake, bins)["fake_proportions"], [0.6, 0.2, 0.2])
  assert ndb.ndb(real, fake, bins, alpha=0.05)["ndb"] == 1
  assert ndb.ndb(real, fake, bins, alpha=0.0206)["ndb"] == 0
  assert ndb.ndb(real, fake, bins, alpha=0.0207)["ndb"] == 1
  assert ndb.ndb(real, fake, bins, alpha=0.1916)["ndb"] == 1
  assert ndb.ndb(real, fake, bins, alpha=0.1918)["ndb"] == 3


def test_a_bin_neither_sample_reaches_is_not_different():
  # Bin 2 is empty in both: its pooled share is 0 and there is nothing to test.
  result = ndb.ndb(_points([50, 50]), _points([50, 50]), BINS_1D[:3], alpha=0.99)
  assert result["ndb"] == 0
  assert result["real_proportions"][2] == result["fake_proportions"][2] == 0.0


def test_samples_of_one_distribution_differ_in_about_alpha_of_the_bins():
  """Under the null each bin rejects with probability about alpha; 10 seeds x 8 bins = 80 tests.
  At alpha 0.05 about 4 reject (binomial s.d. 1.9); at alpha 0.5 about 40 (s.d. 4.5). The bounds
  are 4 s.d. out: a test that ignores the pooled s.e., or a one-sided one, falls outside."""
  probs = np.arange(1, 9) / 36  # unequal bins
  totals = {0.05: 0, 0.5: 0}
  for seed in SEEDS:
    rng = np.random.default_rng(seed)
    real, fake = _draw(rng, probs, 4000), _draw(rng, probs, 2000)
    for alpha in totals:
      totals[alpha] += ndb.ndb(real, fake, BINS_1D, alpha)["ndb"]
  assert totals[0.05] <= 12, totals
  assert 22 <= totals[0.5] <= 58, totals


def test_a_perfect_ring_sampler_has_few_different_bins():
  different = [ndb.ndb(np.asarray(RING.sample(jax.random.key(2 * s), 5000)),
                       np.asarray(RING.sample(jax.random.key(2 * s + 1), 5000)),
                       RING.centers)["ndb"] for s in range(5)]
  assert sum(different) <= 6, different  # 40 tests at alpha 0.05: about 2 by chance


def test_a_shifted_distribution_differs_in_every_bin():
  # Each bin's share moves to its neighbour: by at least 1/36 = 0.028 in every bin, against an
  # s.e. of at most 0.0050 with 20,000 and 10,000 samples (z > 5.5).
  probs = np.arange(1, 9) / 36
  for seed in SEEDS:
    rng = np.random.default_rng(seed)
    result = ndb.ndb(_draw(rng, probs, 20000), _draw(rng, np.roll(probs, 1), 10000), BINS_1D)
    assert result["ndb"] == 8, (seed, result)
  # The same shift on 40 samples is within noise in most bins.
  rng = np.random.default_rng(0)
  assert ndb.ndb(_draw(rng, probs, 40), _draw(rng, np.roll(probs, 1), 40), BINS_1D)["ndb"] < 4


def test_a_single_mode_sampler_differs_in_every_bin():
  real = np.asarray(RING.sample(jax.random.key(0), 2500))
  fake = np.repeat(RING.centers[:1], 2500, axis=0)
  result = ndb.ndb(real, fake, RING.centers)
  assert result["ndb"] == 8 and result["ndb_fraction"] == 1.0
  np.testing.assert_array_equal(result["fake_proportions"], [1.0] + [0.0] * 7)


@pytest.mark.parametrize("seed", range(5))
def test_properties_count_fraction_symmetry_and_alpha(seed):
  rng = np.random.default_rng(seed)
  real = _draw(rng, rng.dirichlet(np.ones(8)), 300)
  fake = _draw(rng, rng.dirichlet(np.ones(8)), 170)
  result = ndb.ndb(real, fake, BINS_1D)
  assert 0 <= result["ndb"] <= 8
  assert result["ndb_fraction"] == result["ndb"] / 8
  np.testing.assert_allclose(result["real_proportions"],
                             np.bincount(real[:, 0].astype(int), minlength=8) / 300)
  # The test does not care which sample is called real: swapping them flips every z.
  swapped = ndb.ndb(fake, real, BINS_1D)
  assert swapped["ndb"] == result["ndb"]
  np.testing.assert_array_equal(swapped["real_proportions"], result["fake_proportions"])
  # A larger alpha never finds fewer different bins.
  counts = [ndb.ndb(real, fake, BINS_1D, alpha)["ndb"] for alpha in (0.001, 0.01, 0.05, 0.2)]
  assert counts == sorted(counts)
  # Relabelling the bins does not change the count.
  order = rng.permutation(8)
  assert ndb.ndb(real, fake, BINS_1D[order])["ndb"] == result["ndb"]


def test_kmeans_bins_find_well_separated_clusters():
  centers = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])
  rng = np.random.default_rng(0)
  x = np.concatenate([c + 0.1 * rng.standard_normal((100, 2)) for c in centers])
  found = ndb.kmeans_bins(x, 4, seed=0)
  found = found[np.lexsort((found[:, 1], found[:, 0]))]  # sorted as `centers` is
  np.testing.assert_allclose(found, centers[np.lexsort((centers[:, 1], centers[:, 0]))],
                             atol=0.05)
  # Its bins split a sample of the same clusters evenly: no bin differs.
  y = np.concatenate([c + 0.1 * rng.standard_normal((100, 2)) for c in centers])
  assert ndb.ndb(x, y, found)["ndb"] == 0

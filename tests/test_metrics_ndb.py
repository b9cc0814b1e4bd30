"""Number of statistically different bins on hand-made samplers."""

import math

import jax
import numpy as np

from genjax.gan import data
from genjax.metrics import ndb

RING = data.Mixture(data.ring_centers(8, 1.0), 0.01)


def test_a_perfect_sampler_has_few_different_bins():
  real = np.asarray(RING.sample(jax.random.key(0), 5000))
  fake = np.asarray(RING.sample(jax.random.key(1), 5000))
  assert ndb.ndb(real, fake, RING.centers)["ndb"] <= 2


def test_a_single_mode_sampler_differs_in_every_bin():
  real = np.asarray(RING.sample(jax.random.key(0), 2500))
  fake = np.repeat(RING.centers[:1], 2500, axis=0)
  result = ndb.ndb(real, fake, RING.centers)
  assert result["ndb"] == 8 and result["ndb_fraction"] == 1.0
  assert result["fake_proportions"][0] == 1.0


def test_z_test_by_hand():
  # Two bins; real 50/50 of 100, fake 70/30 of 100: pooled 0.6, se = sqrt(.6*.4*.02) = 0.0693,
  # z = 0.2 / 0.0693 = 2.89, p = 0.0039 < 0.05 in both bins.
  bins = np.array([[0.0], [1.0]])
  real = np.array([[0.0]] * 50 + [[1.0]] * 50)
  fake = np.array([[0.0]] * 70 + [[1.0]] * 30)
  assert ndb.ndb(real, fake, bins)["ndb"] == 2
  z = 0.2 / math.sqrt(0.6 * 0.4 * 0.02)
  assert math.erfc(z / math.sqrt(2)) < 0.05
  # 55/45 is within noise (z = 0.71).
  fake = np.array([[0.0]] * 55 + [[1.0]] * 45)
  assert ndb.ndb(real, fake, bins)["ndb"] == 0


def test_kmeans_bins_are_deterministic():
  x = np.asarray(jax.random.normal(jax.random.key(0), (300, 4)))
  np.testing.assert_array_equal(ndb.kmeans_bins(x, 5, seed=0), ndb.kmeans_bins(x, 5, seed=0))

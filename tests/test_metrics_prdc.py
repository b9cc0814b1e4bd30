"""Improved precision/recall and density/coverage on hand-made sets."""

import jax
import numpy as np

from genjax.metrics import prdc


def _points(seed, n=400, dim=2):
  return np.asarray(jax.random.normal(jax.random.key(seed), (n, dim)))


def test_a_set_against_itself_has_precision_recall_and_coverage_one():
  x = _points(0)
  result = prdc.prdc(x, x)
  assert result["precision"] == 1.0 and result["recall"] == 1.0 and result["coverage"] == 1.0
  # Each point lies in its own ball and, on average, in about k balls in total: density ~ 1.
  assert 0.8 < result["density"] < 1.5


def test_far_away_fakes_score_zero():
  real, fake = _points(0), _points(1) + 100.0
  result = prdc.prdc(real, fake)
  assert result == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_generator_on_one_of_two_clusters_is_precise_but_misses_half():
  left, right = _points(0, 200) * 0.1 - 5, _points(1, 200) * 0.1 + 5
  real = np.concatenate([left, right])
  fake = _points(2, 400) * 0.1 - 5  # all mass on the left cluster
  result = prdc.prdc(real, fake)
  assert result["precision"] > 0.95
  assert abs(result["recall"] - 0.5) < 0.05 and abs(result["coverage"] - 0.5) < 0.05


def test_kth_neighbour_radii_by_hand():
  x = np.array([[0.0], [1.0], [3.0], [7.0]])
  np.testing.assert_allclose(prdc.kth_neighbour_radii(x, 1), [1, 1, 2, 4])
  np.testing.assert_allclose(prdc.kth_neighbour_radii(x, 2), [3, 2, 3, 6])


def test_density_counts_balls_by_hand():
  real = np.array([[0.0], [1.0], [3.0], [7.0]])  # k = 1 radii 1, 1, 2, 4
  fake = np.array([[0.5], [12.0]])  # 0.5 is in the balls of 0 and 1 only; 12 in none
  result = prdc.density_coverage(real, fake, k=1)
  assert result["density"] == 2 / (1 * 2)
  assert result["coverage"] == 2 / 4

"""k-NN sample-quality metrics between real and generated feature sets.

Improved precision/recall (Kynkäänniemi et al. 2019): the real manifold is the union of balls
around each real point with radius its distance to its k-th nearest real neighbour (itself
excluded); precision is the fraction of fakes inside it, recall the fraction of reals inside
the fake manifold built the same way. Density and coverage (Naeem et al. 2020) use only the real
balls: density = (1 / kM) sum_j #{real balls containing fake j}, coverage = fraction of real
balls that contain at least one fake.
"""

import numpy as np


def pairwise_distances(a_NxD, b_MxD, chunk: int = 2048) -> np.ndarray:
  """Euclidean distances [N, M] in float64, computed in row chunks."""
  a = np.asarray(a_NxD, np.float64)
  b = np.asarray(b_MxD, np.float64)
  b2 = (b ** 2).sum(1)
  rows = []
  for start in range(0, len(a), chunk):
    x = a[start:start + chunk]
    d2 = (x ** 2).sum(1)[:, None] + b2[None] - 2 * x @ b.T
    rows.append(np.sqrt(np.maximum(d2, 0)))
  return np.concatenate(rows)


def kth_neighbour_radii(x_NxD, k: int) -> np.ndarray:
  """Distance from every point to its k-th nearest other point of the same set."""
  d = pairwise_distances(x_NxD, x_NxD)
  # Column 0 of the sorted row is the point itself (distance 0), so index k is the k-th other.
  return np.partition(d, k, axis=1)[:, k]


def precision_recall(real_NxD, fake_MxD, k: int = 3) -> dict:
  """Improved precision and recall with k-NN balls (k = 3 as in Kynkäänniemi et al.)."""
  real_radii = kth_neighbour_radii(real_NxD, k)
  fake_radii = kth_neighbour_radii(fake_MxD, k)
  d_NxM = pairwise_distances(real_NxD, fake_MxD)
  precision = (d_NxM <= real_radii[:, None]).any(0).mean()
  recall = (d_NxM <= fake_radii[None, :]).any(1).mean()
  return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real_NxD, fake_MxD, k: int = 5) -> dict:
  """Density and coverage with k-NN balls around real points (k = 5 as in Naeem et al.)."""
  real_radii = kth_neighbour_radii(real_NxD, k)
  inside_NxM = pairwise_distances(real_NxD, fake_MxD) <= real_radii[:, None]
  return {"density": float(inside_NxM.sum() / (k * inside_NxM.shape[1])),
          "coverage": float(inside_NxM.any(1).mean())}


def prdc(real_NxD, fake_MxD, k_pr: int = 3, k_dc: int = 5) -> dict:
  """Precision, recall, density and coverage in one dict."""
  return {**precision_recall(real_NxD, fake_MxD, k_pr),
          **density_coverage(real_NxD, fake_MxD, k_dc)}

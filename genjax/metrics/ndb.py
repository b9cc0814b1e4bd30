"""Number of statistically different bins (Richardson & Weiss 2018).

Samples are assigned to bins (the true modes of a 2D mixture, or k-means centers fitted on real
data); for each bin a two-proportion z-test (pooled proportion) compares the real and generated
shares. NDB is the number of bins where the test rejects at `alpha` (two-sided); NDB/K is the
fraction. A perfect generator still has about alpha * K different bins by chance.
"""

import math

import numpy as np

from genjax.metrics.coverage import nearest_centers


def kmeans_bins(real_NxD, num_bins: int, seed: int = 0) -> np.ndarray:
  """Bin centers from k-means on real data (scikit-learn, fixed seed)."""
  from sklearn.cluster import KMeans

  km = KMeans(n_clusters=num_bins, n_init=3, random_state=seed)
  return km.fit(np.asarray(real_NxD, np.float64)).cluster_centers_


def _two_sided_p(z: np.ndarray) -> np.ndarray:
  return np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z.ravel()]).reshape(z.shape)


def ndb(real_NxD, fake_MxD, bins_KxD, alpha: float = 0.05) -> dict:
  """NDB, NDB/K and the per-bin proportions of real and generated samples."""
  num_bins = len(bins_KxD)
  real_bins = nearest_centers(real_NxD, bins_KxD)[0]
  fake_bins = nearest_centers(fake_MxD, bins_KxD)[0]
  n, m = len(real_bins), len(fake_bins)
  p_real = np.bincount(real_bins, minlength=num_bins) / n
  p_fake = np.bincount(fake_bins, minlength=num_bins) / m
  pooled = (p_real * n + p_fake * m) / (n + m)
  se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
  z = np.where(se > 0, (p_real - p_fake) / np.where(se > 0, se, 1), 0.0)
  different = _two_sided_p(z) < alpha
  return {"ndb": int(different.sum()), "ndb_fraction": float(different.mean()),
          "real_proportions": p_real, "fake_proportions": p_fake}

"""Does a generator copy its training set? Each sample's distance to its nearest training image,
read against the same distance for unseen real images (the test split).

A sample is a *near copy* when it lies closer to a training image than all but NEAR_COPY_QUANTILE
of unseen real images do: real test images are near copies at that rate by construction, so a
generator that memorized shows a near-copy share well above it, and a generator that draws new
images (or blurry ones) shows it at or below it. The median ratio (sample -> train over test ->
train) says the same thing in one number: about 1 for a sampler as close to the training set as
fresh real data, well below 1 for copies, above 1 for images off the data. Used by
bench/memorization_check.py (bench/gan_memorization.py).
"""

import numpy as np

# The test -> train distance quantile that defines a near copy: 1% of unseen real images are that
# close to a training image, so a share of samples well above 0.01 means copying (Meehan et al.
# 2020 use the same test-split reference for their data-copying test).
NEAR_COPY_QUANTILE = 0.01


def nearest(query_NxD, reference_MxD, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
  """(distance, index) of each query row's nearest reference row, Euclidean, in row chunks."""
  ref_MxD = np.asarray(reference_MxD, np.float32)
  ref_sq_M = (ref_MxD ** 2).sum(1)
  distances, indices = [], []
  for start in range(0, len(query_NxD), chunk):
    q_CxD = np.asarray(query_NxD[start:start + chunk], np.float32)
    # |q - r|^2 = |q|^2 + |r|^2 - 2 q.r; the argmin needs only |r|^2 - 2 q.r.
    partial_CxM = ref_sq_M[None] - 2.0 * (q_CxD @ ref_MxD.T)
    index_C = partial_CxM.argmin(1)
    d2_C = (q_CxD ** 2).sum(1) + partial_CxM[np.arange(len(q_CxD)), index_C]
    distances.append(np.sqrt(np.maximum(d2_C, 0.0)))
    indices.append(index_C)
  return np.concatenate(distances), np.concatenate(indices)


def test_distances(test_KxD, train_MxD) -> np.ndarray:
  """Each unseen real image's distance to its nearest training image: the reference every set
  of samples is read against (computed once per run, not per method and seed)."""
  return nearest(test_KxD, train_MxD)[0]


def memorization(samples_NxD, train_MxD, test_d_K, quantile: float = NEAR_COPY_QUANTILE) -> dict:
  """Near-copy share and median distance ratio of samples against unseen real images.

  `test_d_K`: test_distances(test, train). Returns the near-copy threshold (the test -> train
  distance quantile), the share of samples under it (test images: `quantile` by construction),
  the medians of both distances and their ratio, and each sample's nearest training index (for
  the figure)."""
  sample_d_N, sample_index_N = nearest(samples_NxD, train_MxD)
  threshold = float(np.quantile(test_d_K, quantile))
  median_sample, median_test = float(np.median(sample_d_N)), float(np.median(test_d_K))
  return {"near_copy_threshold": threshold,
          "near_copy_share": float((sample_d_N < threshold).mean()),
          "test_near_copy_share": float((test_d_K < threshold).mean()),
          "median_distance": median_sample, "test_median_distance": median_test,
          "median_ratio": median_sample / median_test if median_test > 0 else float("nan"),
          "distance": sample_d_N, "nearest_index": sample_index_N}

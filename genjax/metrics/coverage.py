"""Mode coverage of samples from a mixture with known modes (PacGAN / VEEGAN protocol).

For 2D mixtures: a sample is high-quality (HQ) if it lies within `num_std` std of its nearest
center; a mode is covered if at least one HQ sample has it as nearest center. The reverse KL
compares the histogram q of nearest modes of *all* samples with the uniform p = 1/K:

  rKL = KL(q || p) = sum_{k: q_k > 0} q_k log(q_k K),

with the convention 0 log 0 = 0. No smoothing is needed in this direction (p_k > 0 everywhere);
an empty mode simply contributes 0 and pushes mass onto the others. A perfect sampler still pays
the multinomial noise floor E[rKL] ~ (K - 1) / (2 N).
"""

import numpy as np


def nearest_centers(samples_NxD, centers_KxD, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
  """Index of and Euclidean distance to the nearest center, for every sample."""
  samples_NxD = np.asarray(samples_NxD, np.float64)
  centers_KxD = np.asarray(centers_KxD, np.float64)
  index, distance = [], []
  for start in range(0, len(samples_NxD), chunk):
    x = samples_NxD[start:start + chunk]
    d2_NxK = ((x[:, None, :] - centers_KxD[None]) ** 2).sum(-1)
    nearest = d2_NxK.argmin(1)
    index.append(nearest)
    distance.append(np.sqrt(d2_NxK[np.arange(len(x)), nearest]))
  return np.concatenate(index), np.concatenate(distance)


def reverse_kl_to_uniform(counts_K) -> float:
  """KL(q || uniform) in nats for the histogram `counts_K` (0 log 0 = 0; no smoothing)."""
  counts_K = np.asarray(counts_K, np.float64)
  q = counts_K / counts_K.sum()
  nonzero = q > 0
  return float(np.sum(q[nonzero] * np.log(q[nonzero] * len(q))))


def reverse_kl_floor(num_modes: int, num_samples: int) -> float:
  """Expected rKL of a perfect sampler from multinomial noise alone: (K - 1) / (2 N)."""
  return (num_modes - 1) / (2 * num_samples)


def mixture_coverage(samples_NxD, centers_KxD, std: float, num_std: float = 3.0) -> dict:
  """Modes covered, fraction of HQ samples and rKL for samples of a known mixture."""
  index_N, distance_N = nearest_centers(samples_NxD, centers_KxD)
  num_modes = len(centers_KxD)
  hq_N = distance_N <= num_std * std
  hq_counts_K = np.bincount(index_N[hq_N], minlength=num_modes)
  counts_K = np.bincount(index_N, minlength=num_modes)
  return {
      "modes": int((hq_counts_K > 0).sum()),
      "hq": float(hq_N.mean()),
      "reverse_kl": reverse_kl_to_uniform(counts_K),
      "mode_counts": counts_K,
      "hq_mode_counts": hq_counts_K,
  }


def label_coverage(mode_ids_N, num_modes: int) -> dict:
  """Modes covered and KL to uniform of classifier-assigned modes (stacked digits / MNIST)."""
  counts = np.bincount(np.asarray(mode_ids_N), minlength=num_modes)
  return {"modes": int((counts > 0).sum()), "reverse_kl": reverse_kl_to_uniform(counts),
          "mode_counts": counts}

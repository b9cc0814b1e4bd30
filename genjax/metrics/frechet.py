"""Fréchet distance between Gaussians fitted to two feature sets (FID without Inception)."""

import numpy as np


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
  eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
  return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
  """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), in float64."""
  a = np.asarray(features_a, np.float64)
  b = np.asarray(features_b, np.float64)
  mean_a, mean_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  root_a = _sqrtm_psd(cov_a)
  cross = _sqrtm_psd(root_a @ cov_b @ root_a)
  value = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(cross)
  return float(max(value, 0.0))

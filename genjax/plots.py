"""Matplotlib without a display, and image grids."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def image_grid(images_NxP, shape: tuple[int, int], columns: int) -> np.ndarray:
  """Tiles flat images into one 2-D array with a 1-pixel gap."""
  h, w = shape
  n = len(images_NxP)
  rows = -(-n // columns)
  grid = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), 0.5, np.float32)
  for i, image in enumerate(images_NxP):
    r, c = divmod(i, columns)
    grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = image.reshape(h, w)
  return grid


def save(fig, path: str) -> None:
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)

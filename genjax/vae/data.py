"""The VAE experiment's images: train, validation (held out of train) and test splits."""

import jax
import numpy as np
from ml_collections import ConfigDict

from genjax.data import images
from genjax.errors import UserError

# Tag folded into key(config.seed) for the permutation that carves the validation split.
VALIDATION_SPLIT = 3


def load_data(config: ConfigDict) -> dict:
  """Flat train/validation/test images (binarized as configured) and labels.

  "validation" is `config.validation_fraction` of the train split, drawn by a permutation of
  key(config.seed) and never trained on; "train" is the rest, in its original order.

  "image" is what training reads. "binary" is what evaluation reads: the same images for
  static binarization and none; for dynamic binarization, one fixed Bernoulli draw per image
  (for the test set as in Burda et al. 2016, and for the train set so that train and test
  reconstruction NLLs, the judge classifier and the real-data FD floor see the same kind of
  images as the model's samples).
  """
  data = {}
  for index, split in enumerate(("train", "test")):
    arrays = images.load(config.dataset, split, config.data_dir)
    x = arrays["image"].reshape(len(arrays["image"]), -1)
    if config.binarize == "static":
      x = images.binarize_static(x)
    binary = x
    if config.binarize == "dynamic":
      binary = np.asarray(images.binarize_dynamic(jax.random.key(config.seed + 1 + index), x))
      if split == "test":
        x = binary
    data[split] = {"image": x, "binary": binary, "label": arrays["label"]}
  data["train"], data["validation"] = carve_validation(data["train"], config)
  data["image_shape"] = tuple(arrays["image"].shape[1:3])
  return data


def carve_validation(train: dict, config: ConfigDict) -> tuple[dict, dict]:
  """(rest of train, validation): disjoint rows of `train`, each in its original order."""
  size = len(train["label"])
  num_validation = int(round(config.validation_fraction * size))
  if not 0 < num_validation < size - config.batch_size:
    raise UserError(f"config.validation_fraction={config.validation_fraction} of {size} train "
                    f"images leaves {num_validation} for validation and {size - num_validation} "
                    f"to train on (at least one batch of {config.batch_size})")
  key = jax.random.fold_in(jax.random.key(config.seed), VALIDATION_SPLIT)
  order = np.asarray(jax.random.permutation(key, size))
  held = np.zeros(size, bool)
  held[order[:num_validation]] = True
  return ({k: v[~held] for k, v in train.items()}, {k: v[held] for k, v in train.items()})

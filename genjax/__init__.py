"""genjax: reproducible JAX/Flax experiments on generative models and transformers."""

__version__ = "0.1.0"

# PyPI's `genjax` is an unrelated probabilistic-programming package with the same import name;
# the entry points look for this marker to tell ours from it (experiments/_genjax_check.py).
DISTRIBUTION = "genjax-claims"

# Every jax.random draw on CPU with the threefry hash unrolled: the same bits, 2-5x faster
# (genjax/random_fused.py). Registered here so any use of genjax, scripts or notebooks, gets it.
from genjax import random_fused  # noqa: E402

random_fused.install()

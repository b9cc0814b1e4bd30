"""genjax: reproducible JAX/Flax experiments on generative models and transformers.

Importing it changes nothing in JAX or the process; what an entry point sets up (huge pages,
the fused threefry lowering) it asks for by name (genjax/startup.py, genjax/cli.py).
"""

__version__ = "0.1.0"

# PyPI's `genjax` is an unrelated probabilistic-programming package with the same import name;
# the entry points look for this marker to tell ours from it (experiments/_genjax_check.py).
DISTRIBUTION = "genjax-claims"

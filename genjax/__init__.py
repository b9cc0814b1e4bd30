"""genjax: reproducible JAX/Flax experiments on generative models and transformers."""

__version__ = "0.1.0"

"""Attention variants with one signature, an encoder layer that takes any of them, and sweeps."""

from genjax.attention.variants import EXACT, VARIANTS, attention_weights, get

__all__ = ["EXACT", "VARIANTS", "attention_weights", "get"]

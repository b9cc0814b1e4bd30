"""Attention variants with one signature, an encoder layer that takes any of them, and sweeps.

variants.py (the kernels), encoder.py (a layer taking any of them); the scaling experiment:
experiment.py (validate, run_sweep) -> sweeps.py (scaling, crossover, long n) using measure.py
(programs, compile, XLA memory and FLOPs) and genjax.timing -> slopes.py (slopes, crossovers,
summary) -> writers.py (csv, md, json, plots); the speed table: bench/bench_attention.py.
"""

from genjax.attention.variants import EXACT, VARIANTS, attention_weights, get

__all__ = ["EXACT", "VARIANTS", "attention_weights", "get"]

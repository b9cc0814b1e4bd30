"""The claims report: each seed claim, the experiment testing it, numbers, anchor and verdict.

Verdicts come from measured numbers through the rules in this package, never typed by hand.
"""

"""Metrics shared across experiments, each tested on hand-made cases."""

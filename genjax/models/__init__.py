"""Neural networks shared across experiments."""

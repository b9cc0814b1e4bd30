"""The bench wing: benchmarks and one-off measurement scripts, and the code only they use.

Nothing in genjax/ imports from here (tests/test_bench_results.py checks). See bench/README.md.
"""

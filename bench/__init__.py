"""Benchmarks: each module has main() and prints its figures and ratios."""

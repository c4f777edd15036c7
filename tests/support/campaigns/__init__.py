"""Campaigns run short by the tests and long by the benchmarks."""

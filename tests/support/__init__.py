"""Fixtures shared by tests and benchmarks (kept out of the package: callgate never needs them)."""

"""Benchmarks (not tests): `python -m bench.intake` measures the intake API against a bare baseline."""

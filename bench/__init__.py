"""Reproducible benchmarks (``python -m bench.<name>``); results and the machine they ran on in docs/benchmarks.md."""

"""Benchmarks: scripts that print figures against a baseline (not tests); run them with `make bench-*`."""

"""Benchmarks. Programs, not tests: run them by hand or with `make bench`."""

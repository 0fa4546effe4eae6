"""Benchmarks: how fast, how big, how lean, against the bare stack (`make bench`)."""

"""Benchmarks of the Symbiose API (see README.md, "Benchmarks")."""

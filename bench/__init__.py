"""Benchmarks: ``make bench`` runs them all and prints a Markdown table of results."""

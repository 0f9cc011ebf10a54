"""Hazard physics: pure, seeded, time-stepped models queryable at a map point (metres)."""

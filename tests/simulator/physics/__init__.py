"""Tests of the hazard physics models."""

"""Alembic migrations of the mission store (run by ``Store.migrate()``, no alembic.ini).

A package so that setuptools ships ``env.py`` and the revisions with hazfleet.
"""

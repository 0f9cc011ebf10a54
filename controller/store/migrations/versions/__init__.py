"""Alembic revisions of the mission store, oldest first (``0001_initial`` ...).

A package only so that setuptools ships the files; Alembic loads them by path and skips
this ``__init__``.
"""

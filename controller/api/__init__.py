"""The hazfleet REST API (FastAPI): missions, robots and templates under ``/api/v1``.

:func:`controller.api.app.create_app` builds the application; ``hazfleet serve`` runs it
with uvicorn.  Roles and tokens are in :mod:`controller.api.tokens` (no web framework
needed, so the CLI stays quick to start).  See ``docs/api.md``.
"""

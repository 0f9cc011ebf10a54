"""Errors as HTTP responses: one shape per kind, always naming the problem.

* 422 — a request that does not validate: ``{"detail": [{"loc": [...], "msg": "...",
  "field": "targets.0.id"}]}``; ``field`` is the dotted path inside the body (or the name
  of the query parameter / header), ``loc`` is FastAPI's location including ``body``.
* 401 / 403 — ``{"detail": "..."}`` (see :mod:`controller.api.auth`).
* 404 — no such mission or alert; 409 — the mission's state or the permit-to-work rules
  refuse the action (:class:`LifecycleError`, :class:`PermitError`, or the controller
  refusing a pause/cancel), or the alert was already acknowledged; both
  ``{"detail": "..."}``.
* 503 — the store failed (database down); the request changed nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from controller.alerts import AlertAlreadyAcknowledged, AlertNotFound
from drivers.config_file import field_path
from drivers.errors import HazfleetError, LifecycleError, MissionError, PermitError
from missions.model import MissionValidationError

log = logging.getLogger(__name__)

__all__ = [
    "MissionNotFound",
    "install_handlers",
    "mission_error_item",
    "validation_items",
]

# A MissionError whose message starts "a.b.0.c: problem" carries its own field path.
_PATH_PREFIX = re.compile(r"^(?P<path>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*): (?P<msg>.+)$", re.S)
_LOCATIONS = ("body", "query", "path", "header")


class MissionNotFound(MissionError):
    """The API's 404: no mission with this id."""

    def __init__(self, mission_id: str) -> None:
        self.mission_id = mission_id
        super().__init__(f"no mission {mission_id!r}")


class ActionRefused(MissionError):
    """The service or controller refused an action on an existing mission (409)."""


def _split(path: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in path.split(".") if p)


def _item(loc: Sequence[int | str], msg: str) -> dict[str, Any]:
    parts = tuple(loc)
    inner = parts[1:] if parts and parts[0] in _LOCATIONS else parts
    return {"loc": list(parts), "msg": msg, "field": field_path(inner)}


def validation_items(
    errors: Iterable[Mapping[str, Any]], prefix: Sequence[int | str] = ()
) -> list[dict[str, Any]]:
    """pydantic/FastAPI error dicts as ``{loc, msg, field}`` items."""
    out: list[dict[str, Any]] = []
    for e in errors:
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        loc = (*prefix, *tuple(e.get("loc", ())))
        # a model validator that raised "sub.path: problem" names its own sub-path
        if e.get("type") == "value_error" and (m := _PATH_PREFIX.match(msg)):
            loc = (*loc, *_split(m["path"]))
            msg = m["msg"]
        if e.get("type") == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        out.append(_item(loc, msg))
    return out


def mission_error_item(
    err: MissionError, prefix: Sequence[int | str] = ("body",)
) -> dict[str, Any]:
    """A domain error about the request (bad template params, unknown node) as a 422 item."""
    if isinstance(err, MissionValidationError):
        return _item((*prefix, *_split(err.field)), err.problem)
    text = str(err)
    m = _PATH_PREFIX.match(text)
    if m is None:
        return _item((*prefix,), text)
    return _item((*prefix, *_split(m["path"])), m["msg"])


def unprocessable(items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": items}
    )


def _status_of(err: HazfleetError) -> int:
    if isinstance(err, (MissionNotFound, AlertNotFound)):
        return status.HTTP_404_NOT_FOUND
    if isinstance(err, (LifecycleError, PermitError, ActionRefused, AlertAlreadyAcknowledged)):
        return status.HTTP_409_CONFLICT
    if isinstance(err, MissionError):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    # anything else we raise on purpose comes from below the domain: the store
    return status.HTTP_503_SERVICE_UNAVAILABLE


def install_handlers(app: FastAPI) -> None:
    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return unprocessable(validation_items(exc.errors()))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        return unprocessable(validation_items(exc.errors(include_url=False), ("body",)))

    async def on_hazfleet(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HazfleetError)
        code = _status_of(exc)
        if code == status.HTTP_422_UNPROCESSABLE_CONTENT and isinstance(exc, MissionError):
            return unprocessable([mission_error_item(exc)])
        if code >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        else:
            log.info("%s %s refused (%d): %s", request.method, request.url.path, code, exc)
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(HazfleetError, on_hazfleet)

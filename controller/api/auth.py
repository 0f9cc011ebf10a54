"""Bearer-token authentication and role checks for the REST API.

Tokens are random strings handed out once by ``hazfleet user add``; the store keeps only
their SHA-256 (hex), so a copy of the database cannot be used to call the API.

=================  ==========================================================
role               may
=================  ==========================================================
safety_officer     read; create, approve, reject and cancel missions; acknowledge alerts;
                   clear missions into zones; stop, resume and assemble the fleet
operator           read; pause, resume and cancel missions; acknowledge alerts;
                   clear missions into zones; stop, resume and assemble the fleet
engineer           read (missions, robots, templates, alerts)
viewer             read (missions, robots, templates, alerts)
=================  ==========================================================

No token, a malformed header or an unknown token is 401 with ``WWW-Authenticate:
Bearer``; a known token whose role may not do the action is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.tokens import Role, hash_token, new_token

__all__ = [
    "Action",
    "Principal",
    "Role",
    "allowed",
    "hash_token",
    "new_token",
    "require",
]


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    ACKNOWLEDGE = "acknowledge"
    """an alert"""
    CLEAR = "clear"
    """let a mission's order enter a zone that waits for clearance"""
    STOP = "stop"
    """stop, resume or assemble robots (the fleet, a zone, or named robots)"""


# Who may do what, as a table (the one place to change it).
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.SAFETY_OFFICER: frozenset(
        {
            Action.READ,
            Action.CREATE,
            Action.APPROVE,
            Action.REJECT,
            Action.CANCEL,
            Action.ACKNOWLEDGE,
            Action.CLEAR,
            Action.STOP,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Action.READ,
            Action.PAUSE,
            Action.RESUME,
            Action.CANCEL,
            Action.ACKNOWLEDGE,
            Action.CLEAR,
            Action.STOP,
        }
    ),
    Role.ENGINEER: frozenset({Action.READ}),
    Role.VIEWER: frozenset({Action.READ}),
}


def allowed(role: str, action: Action) -> bool:
    try:
        return action in PERMISSIONS[Role(role)]
    except ValueError:  # a role the API does not know may do nothing
        return False


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str


TokenLookup = Callable[[str], Principal | None]
"""token hash -> the user holding that token, or None"""

_bearer = HTTPBearer(auto_error=False, description="a token from `hazfleet user add`")


def _unauthorized(problem: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=problem,
        headers={"WWW-Authenticate": 'Bearer realm="hazfleet"'},
    )


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    lookup: TokenLookup = request.app.state.token_lookup
    principal = lookup(hash_token(credentials.credentials))
    if principal is None:
        raise _unauthorized("unknown or revoked token")
    return principal


def require(action: Action) -> Callable[..., Principal]:
    """A dependency: the caller, who must be authenticated and allowed ``action``."""

    def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if not allowed(principal.role, action):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role} may not read"
                if action is Action.READ
                else f"role {principal.role} may not acknowledge alerts"
                if action is Action.ACKNOWLEDGE
                else f"role {principal.role} may not {action.value} missions",
            )
        return principal

    return dependency

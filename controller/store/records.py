"""The plain values the mission store takes and returns (no ORM object ever leaks out).

States, priorities and roles are plain strings here (a ``StrEnum`` member is accepted
wherever a ``str`` is): the store keeps them as text and does not judge them; the
lifecycle rules live in ``missions.lifecycle`` and are applied by the mission service.
Every ``datetime`` is timezone-aware; the store returns them in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ReleaseStatus = Literal["released", "missed"]
RELEASE_STATUSES: frozenset[str] = frozenset({"released", "missed"})


@dataclass(frozen=True)
class TransitionRecord:
    """One lifecycle transition: who moved the mission from which state to which, when, why.

    ``from_state`` is None only for a creation that starts from nothing; ``seq`` numbers the
    transitions of one mission from 1 and is assigned by the store (leave it 0).
    """

    mission_id: str
    from_state: str | None
    to_state: str
    by: str
    at: datetime
    reason: str = ""
    seq: int = 0


@dataclass(frozen=True)
class NewMission:
    """What :meth:`Store.create_mission` needs besides the first transition.

    ``request`` is the submitted ``MissionRequest`` as a JSON-compatible dict (for example
    ``model_dump(mode="json")``) so that the store does not depend on the model's shape.
    The new mission's state, ``created_at`` and ``updated_at`` come from the first
    transition.
    """

    id: str
    name: str
    template: str
    site: str
    priority: str
    request: dict[str, Any]
    submitted_by: str
    robot: str | None = None


@dataclass(frozen=True)
class MissionRecord:
    """A stored mission with its history (oldest transition first)."""

    id: str
    name: str
    template: str
    site: str
    priority: str
    state: str
    request: dict[str, Any]
    submitted_by: str
    approved_by: str | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    robot: str | None
    order_id: str | None
    outcome_reason: str | None
    history: list[TransitionRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseRecord:
    """The scheduler's decision about one occurrence of a mission's schedule."""

    mission_id: str
    occurrence: datetime
    status: str  # one of RELEASE_STATUSES
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class UserRecord:
    """An API user; ``token_hash`` is the sha256 hex of the bearer token."""

    name: str
    role: str
    token_hash: str
    created_at: datetime

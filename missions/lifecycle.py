"""The mission lifecycle as an explicit state machine: states over an Enum, a table of
legal transitions, and an audit record per transition.

::

    draft -> submitted -> approved -> scheduled -> dispatched -> active <-> paused
                       \\-> rejected                                  \\-> completed
    (cancelled from any non-terminal state; failed/aborted once running;
     scheduled -> failed when its window or deadline is missed)

Side effects (persisting, dispatching, notifying) are not here: the service checks a
transition with :func:`check_transition`, performs it, and stores the :class:`Transition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from missions.errors import LifecycleError


class MissionState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = MissionState

TRANSITIONS: Mapping[MissionState, frozenset[MissionState]] = MappingProxyType(
    {
        S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
        S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
        S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
        # failed: the start window or the deadline was missed
        S.SCHEDULED: frozenset({S.DISPATCHED, S.CANCELLED, S.FAILED}),
        S.DISPATCHED: frozenset({S.ACTIVE, S.FAILED, S.ABORTED, S.CANCELLED}),
        S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.ABORTED, S.FAILED, S.CANCELLED}),
        S.PAUSED: frozenset({S.ACTIVE, S.ABORTED, S.CANCELLED, S.FAILED}),
        S.REJECTED: frozenset(),
        S.COMPLETED: frozenset(),
        S.ABORTED: frozenset(),
        S.FAILED: frozenset(),
        S.CANCELLED: frozenset(),
    }
)
"""state -> the states it may move to; an empty set marks a terminal state"""

SERIES_RETURN_FROM: frozenset[MissionState] = frozenset({S.DISPATCHED, S.ACTIVE, S.PAUSED})
"""A recurring mission is a series of runs.  When one run ends, the series moves from one of
these states back to ``scheduled`` (the run's outcome recorded as the reason).  This is
the only move outside :data:`TRANSITIONS`, and only recurring missions make it."""

TERMINAL_STATES: frozenset[MissionState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def is_terminal(state: MissionState | str) -> bool:
    """True for rejected, completed, aborted, failed and cancelled."""
    return MissionState(state) in TERMINAL_STATES


def can_transition(current: MissionState | str, target: MissionState | str) -> bool:
    return MissionState(target) in TRANSITIONS[MissionState(current)]


def check_transition(
    mission_id: str, current: MissionState | str, target: MissionState | str
) -> None:
    """Raise :class:`LifecycleError` unless ``current -> target`` is in :data:`TRANSITIONS`.

    Unknown state names are refused the same way (they may come from a request).
    """
    try:
        cur = MissionState(current)
    except ValueError:
        raise LifecycleError(mission_id, str(current), str(target), "unknown state") from None
    try:
        tgt = MissionState(target)
    except ValueError:
        raise LifecycleError(mission_id, cur.value, str(target), "unknown state") from None
    if tgt in TRANSITIONS[cur]:
        return
    if not TRANSITIONS[cur]:
        problem = f"{cur.value} is a final state"
    else:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[cur]))
        problem = f"allowed from {cur.value}: {allowed}"
    raise LifecycleError(mission_id, cur.value, tgt.value, problem)


@dataclass(frozen=True)
class Transition:
    """One audited state change: who moved the mission, when (timezone-aware) and why."""

    mission_id: str
    from_state: MissionState | None
    """None for the record that creates the mission (its first state)"""
    to_state: MissionState
    by: str
    at: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"Transition.at must be timezone-aware, got {self.at!r}")


def make_transition(
    mission_id: str,
    current: MissionState | str,
    target: MissionState | str,
    by: str,
    at: datetime,
    reason: str = "",
) -> Transition:
    """Check ``current -> target`` and return its audit record (raises LifecycleError)."""
    check_transition(mission_id, current, target)
    return Transition(mission_id, MissionState(current), MissionState(target), by, at, reason)

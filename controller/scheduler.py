"""Scheduling arithmetic the mission service needs beyond :mod:`missions.schedule`.

* **Run ids.**  The controller knows a mission run by its ``MissionSpec.id`` and refuses a
  duplicate.  A one-off mission runs once, under its own id.  A recurring mission runs once
  per released occurrence, each run under ``"<mission id>:<occurrence in UTC>"``, e.g.
  ``patrol-1:20260105T060000Z`` (``@`` as separator is not possible: the MissionSpec id
  pattern, which the VDA 5050 orderId inherits, allows only ``A-Za-z0-9_.:-``).  The
  occurrence is kept to the second so that two occurrences never share a run id.
* **Decisions.**  :func:`decide` calls :func:`missions.schedule.due_release` with what the
  store knows: every occurrence already handled (released or reported missed), the
  mission's deadline, and, for recurring missions, the moment the mission was scheduled
  (so a rule whose ``dtstart`` lies far in the past does not report years of misses).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.store import ReleaseRecord, TransitionRecord
from missions.lifecycle import MissionState
from missions.model import MissionRequest, Schedule
from missions.schedule import Due, Missed, Release, due_release

__all__ = [
    "RUN_SEPARATOR",
    "Decision",
    "Due",
    "Missed",
    "Release",
    "decide",
    "describe_schedule",
    "parse_run_id",
    "run_id",
    "scheduled_since",
]

RUN_SEPARATOR = ":"
_OCCURRENCE_FORMAT = "%Y%m%dT%H%M%SZ"
_OCCURRENCE_RE = re.compile(r"^\d{8}T\d{6}Z$")


def run_id(mission_id: str, occurrence: datetime, *, recurring: bool) -> str:
    """The MissionSpec id under which the controller runs this occurrence."""
    if not recurring:
        return mission_id
    if occurrence.tzinfo is None or occurrence.utcoffset() is None:
        raise ValueError(f"occurrence must be timezone-aware, got {occurrence!r}")
    stamp = occurrence.astimezone(UTC).strftime(_OCCURRENCE_FORMAT)
    return f"{mission_id}{RUN_SEPARATOR}{stamp}"


def parse_run_id(run: str) -> tuple[str, datetime | None]:
    """``(mission id, occurrence in UTC)`` of a run id; the occurrence is None for the run
    of a one-off mission (whose run id is the mission id itself)."""
    head, sep, tail = run.rpartition(RUN_SEPARATOR)
    if sep and head and _OCCURRENCE_RE.match(tail):
        return head, datetime.strptime(tail, _OCCURRENCE_FORMAT).replace(tzinfo=UTC)
    return run, None


@dataclass(frozen=True)
class Decision:
    """What to do with one scheduled mission now (``due`` None: nothing)."""

    due: Due | None
    deadline_passed: bool
    """the mission's deadline is behind us: a miss ends the mission whatever its kind"""


def scheduled_since(history: Sequence[TransitionRecord]) -> datetime | None:
    """When the mission last entered ``scheduled`` from ``approved`` (None if never)."""
    times = [
        t.at
        for t in history
        if t.to_state == MissionState.SCHEDULED and t.from_state == MissionState.APPROVED
    ]
    return max(times) if times else None


def decide(
    request: MissionRequest,
    now: datetime,
    releases: Iterable[ReleaseRecord],
    history: Sequence[TransitionRecord],
) -> Decision:
    """Release, report missed, or wait: :func:`due_release` fed from the store's records."""
    handled = {r.occurrence for r in releases}
    since = scheduled_since(history) if request.schedule.kind == "recurring" else None
    due = due_release(request.schedule, now, handled, deadline=request.deadline, since=since)
    deadline_passed = request.deadline is not None and now > request.deadline
    return Decision(due, deadline_passed)


def describe_schedule(schedule: Schedule) -> str:
    """One line for the history ("at 2026-03-02T06:00:00+00:00 (window 900 s)")."""
    if schedule.kind == "asap":
        return "as soon as possible"
    if schedule.kind == "at":
        assert schedule.at is not None
        return f"at {schedule.at.isoformat()} (start window {schedule.window_s:g} s)"
    if schedule.kind == "window":
        assert schedule.window_start is not None and schedule.window_end is not None
        return f"within {schedule.window_start.isoformat()} .. {schedule.window_end.isoformat()}"
    assert schedule.dtstart is not None
    return (
        f"recurring {schedule.rrule} from {schedule.dtstart.isoformat()} "
        f"(start window {schedule.window_s:g} s)"
    )

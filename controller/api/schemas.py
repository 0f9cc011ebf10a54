"""What the REST API sends and accepts, as pydantic models (they are the OpenAPI schema).

Converters from the service's plain values live next to the models so the routes stay
one line each.  Datetimes are ISO 8601 with offset (UTC from the store).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from controller.alerts import Alert
from controller.dispatcher import MissionStatus
from controller.missions_service import MissionView
from controller.registry import RobotStatus
from controller.store import ReleaseRecord
from missions.lifecycle import Transition
from missions.model import MissionRequest

__all__ = [
    "AckBody",
    "AlertDetail",
    "AlertList",
    "AlertSummary",
    "MissionDetail",
    "MissionList",
    "MissionSummary",
    "PermitOut",
    "ReasonBody",
    "RejectBody",
    "RobotOut",
    "TemplateOut",
    "TransitionOut",
    "alert_detail",
    "alert_summary",
    "mission_detail",
    "mission_summary",
    "robot_out",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReasonBody(_In):
    reason: str = Field(default="", max_length=2000)
    """why (recorded in the mission's history)"""


class RejectBody(_In):
    reason: str = Field(min_length=1, max_length=2000)
    """why the mission is refused; required"""


class TransitionOut(_Out):
    from_state: str | None
    to_state: str
    by: str
    at: datetime
    reason: str


class PermitOut(_Out):
    required: bool
    two_person: bool
    zones: list[str]
    reason: str


class MissionSummary(_Out):
    id: str
    name: str
    template: str
    site: str
    state: str
    priority: str
    submitted_by: str
    approved_by: str | None
    robot: str | None
    created_at: datetime
    updated_at: datetime


class ReleaseOut(_Out):
    """A scheduler decision about one occurrence: released, or missed (and why)."""

    occurrence: datetime
    status: str
    at: datetime
    reason: str


class RunOut(_Out):
    """The controller's view of the mission's current run (docs/allocation.md)."""

    id: str
    outcome: str
    robot: str | None
    priority: str
    runs: int
    """orders sent for this run so far (more than 1 after a preemption or a lost robot)"""
    waiting: str | None
    """why no robot has it yet: ``"<waiting|unassignable> (<code>): <sentence>"``"""
    reason: str | None


class MissionDetail(MissionSummary):
    permit: PermitOut | None
    request: MissionRequest
    history: list[TransitionOut]
    releases: list[ReleaseOut] = []
    """every occurrence the scheduler released or found missed, oldest first"""
    run: RunOut | None = None
    """the controller's view of the current run; None when it has none (not released yet,
    or no controller in this process)"""


class ClearBody(_In):
    zones: list[str] | None = Field(default=None, max_length=100)
    """zone ids to clear; null: the zone the mission's order waits at now"""


class ClearOut(_Out):
    cleared: list[str]
    """zones newly cleared"""
    mission: MissionDetail


class ScopeBody(_In):
    """Which robots: the ones named (serial numbers), or those in ``zone``, or (neither
    given) the whole fleet."""

    robots: list[str] | None = Field(default=None, max_length=10_000)
    zone: str | None = Field(default=None, min_length=1, max_length=200)


class ScopeOut(_Out):
    robots: list[str]
    """keys ``manufacturer/serial`` of the robots the command went to"""


class AssembleOut(_Out):
    robots: dict[str, str | None]
    """robot key -> the assembly node it is sent to (null: none reachable or position
    unknown)"""


class MissionList(_Out):
    items: list[MissionSummary]
    limit: int
    offset: int


class RobotOut(_Out):
    manufacturer: str
    serial: str
    availability: str
    connection: str | None
    version: str | None
    last_node_id: str | None
    x_m: float | None
    y_m: float | None
    battery_pct: float | None
    """state of charge in %"""
    charging: bool | None
    """the robot says it is charging (None before its first state)"""
    driving: bool | None
    paused: bool | None
    errors: list[str]
    order_id: str | None
    factsheet_actions: list[str]


class TemplateOut(_Out):
    name: str
    description: str
    params_schema: dict[str, Any]
    """JSON schema of the template's ``params``"""


def _summary_fields(view: MissionView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "template": view.template,
        "site": view.site,
        "state": view.state.value,
        "priority": view.priority.value,
        "submitted_by": view.submitted_by,
        "approved_by": view.approved_by,
        "robot": view.robot,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


def mission_summary(view: MissionView) -> MissionSummary:
    return MissionSummary(**_summary_fields(view))


def _transitions(history: Iterable[Transition]) -> list[TransitionOut]:
    return [
        TransitionOut(
            from_state=None if t.from_state is None else t.from_state.value,
            to_state=t.to_state.value,
            by=t.by,
            at=t.at,
            reason=t.reason,
        )
        for t in history
    ]


def run_out(s: MissionStatus) -> RunOut:
    return RunOut(
        id=s.id,
        outcome=s.outcome.value,
        robot=s.robot,
        priority=s.priority,
        runs=s.runs,
        waiting=s.waiting,
        reason=s.reason,
    )


def mission_detail(
    view: MissionView, releases: Iterable[ReleaseRecord] = (), run: MissionStatus | None = None
) -> MissionDetail:
    permit = view.permit
    return MissionDetail(
        **_summary_fields(view),
        permit=None
        if permit is None
        else PermitOut(
            required=permit.required,
            two_person=permit.two_person,
            zones=list(permit.zones),
            reason=permit.reason,
        ),
        request=view.request,
        history=_transitions(view.history),
        releases=[
            ReleaseOut(occurrence=r.occurrence, status=r.status, at=r.at, reason=r.reason)
            for r in releases
        ],
        run=run_out(run) if run is not None else None,
    )


def robot_out(s: RobotStatus) -> RobotOut:
    return RobotOut(
        manufacturer=s.manufacturer,
        serial=s.serial,
        availability=s.availability,
        connection=None if s.connection is None else s.connection.value,
        version=s.version,
        last_node_id=s.last_node_id,
        x_m=s.x_m,
        y_m=s.y_m,
        battery_pct=s.battery_pct,
        charging=s.charging,
        driving=s.driving,
        paused=s.paused,
        errors=list(s.errors),
        order_id=s.order_id,
        factsheet_actions=list(s.factsheet_actions),
    )


# --------------------------------------------------------------------------- alerts


class AckBody(_In):
    note: str = Field(default="", max_length=2000)
    """what was done about it (kept with the acknowledgement)"""


class LocationOut(_Out):
    x_m: float
    y_m: float
    map_id: str | None


class ReadingOut(_Out):
    at: datetime
    channel: str
    value: float | None
    unit: str
    status: str


class ImageOut(_Out):
    """The image crop of the evidence."""

    media_type: str = "image/jpeg"
    jpeg_base64: str
    bbox: list[int]
    """x, y, width, height in pixels of the camera frame it was cut from"""


class AlertSummary(_Out):
    id: str
    key: str
    """the condition: one alert per episode of it (docs/alerts.md)"""
    severity: str
    """info, warn, error or critical"""
    hazard: str
    title: str
    value: float | None
    unit: str
    threshold: float | None
    """the set point crossed, when there is one"""
    peak: float | None
    location: LocationOut | None
    robot: str | None
    mission: str | None
    raised_at: datetime
    last_seen_at: datetime
    cleared_at: datetime | None
    occurrences: int
    active: bool
    """the condition is present"""
    open: bool
    """active, or cleared but latched until acknowledged (error and critical)"""
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_note: str
    has_image: bool


class AlertDetail(AlertSummary):
    readings: list[ReadingOut]
    image: ImageOut | None


class AlertList(_Out):
    items: list[AlertSummary]
    limit: int
    offset: int


def _alert_fields(a: Alert) -> dict[str, Any]:
    where = a.location
    return {
        "id": a.id,
        "key": a.key,
        "severity": a.severity.value,
        "hazard": a.hazard.value,
        "title": a.title,
        "value": a.value,
        "unit": a.unit,
        "threshold": a.threshold,
        "peak": a.peak,
        "location": None
        if where is None
        else LocationOut(x_m=where.x_m, y_m=where.y_m, map_id=where.map_id),
        "robot": a.robot,
        "mission": a.mission,
        "raised_at": a.raised_at,
        "last_seen_at": a.last_seen_at,
        "cleared_at": a.cleared_at,
        "occurrences": a.occurrences,
        "active": a.active,
        "open": a.open,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at,
        "ack_note": a.ack_note,
        "has_image": a.image is not None,
    }


def alert_summary(a: Alert) -> AlertSummary:
    return AlertSummary(**_alert_fields(a))


def alert_detail(a: Alert) -> AlertDetail:
    return AlertDetail(
        **_alert_fields(a),
        readings=[
            ReadingOut(at=r.at, channel=r.channel, value=r.value, unit=r.unit, status=r.status)
            for r in a.readings
        ],
        image=None
        if a.image is None
        else ImageOut(jpeg_base64=a.image.base64(), bbox=list(a.image.bbox)),
    )

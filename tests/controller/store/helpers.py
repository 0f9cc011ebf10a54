"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.store import MissionRecord, NewMission, Store, TransitionRecord

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``T0`` plus some minutes (UTC)."""
    return T0 + timedelta(minutes=minutes)


def request_json(mission_id: str, **extra: Any) -> dict[str, Any]:
    """A MissionRequest as the service stores it: ``model_dump(mode="json")``."""
    body: dict[str, Any] = {
        "id": mission_id,
        "name": f"gas survey {mission_id}",
        "template": "gas_leak_survey",
        "site": "unit-7",
        "targets": [{"kind": "zone", "id": "pump-bay-zone1"}],
        "params": {"gases": ["CH4", "H2S"], "dwell_s": 45.0},
        "priority": "urgent",
        "schedule": {"kind": "at", "at": "2026-03-02T06:00:00Z", "window_s": 900.0},
        "turn_back": {"lel_pct": 10.0, "gas_ppm": {"H2S": 10.0}},
        "permit_required": None,
        "emergency_override": False,
        "robot": None,
    }
    body.update(extra)
    return body


def new_mission(
    mission_id: str,
    *,
    template: str = "gas_leak_survey",
    site: str = "unit-7",
    priority: str = "urgent",
    submitted_by: str = "alice",
) -> NewMission:
    return NewMission(
        id=mission_id,
        name=f"gas survey {mission_id}",
        template=template,
        site=site,
        priority=priority,
        request=request_json(mission_id, template=template, priority=priority),
        submitted_by=submitted_by,
    )


def submitted(mission_id: str, when: datetime = T0, by: str = "alice") -> TransitionRecord:
    return TransitionRecord(mission_id, "draft", "submitted", by, when, "submitted for approval")


def create(
    store: Store, mission_id: str, *, key: str | None = None, when: datetime = T0, **kw: Any
) -> MissionRecord:
    record, created = store.create_mission(
        new_mission(mission_id, **kw), submitted(mission_id, when), key
    )
    assert created
    return record

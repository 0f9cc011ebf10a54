from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from missions.model import MissionRequest, Priority, Schedule, Target, TurnBackLimits

BASE: dict[str, Any] = {
    "name": "survey",
    "template": "gas_leak_survey",
    "site": "unit-7",
    "targets": [{"kind": "zone", "id": "pump-bay-zone1"}],
}


def test_minimal_request_defaults() -> None:
    r = MissionRequest.model_validate(BASE)
    assert r.id is None and r.priority is Priority.ROUTINE
    assert r.schedule == Schedule(kind="asap")
    assert r.turn_back == TurnBackLimits()
    assert r.permit_required is None and r.emergency_override is False
    assert r.targets == [Target(kind="zone", id="pump-bay-zone1")]


def test_round_trip_through_json() -> None:
    r = MissionRequest.model_validate(
        {
            **BASE,
            "id": "m-1",
            "priority": "emergency",
            "schedule": {"kind": "at", "at": "2026-03-02T06:00:00+01:00"},
            "deadline": "2026-03-02T08:00:00+01:00",
            "turn_back": {"lel_pct": 20, "gas_ppm": {"H2S": 10}, "dose_rate_usv_h": 100},
            "params": {"dwell_s": 45},
        }
    )
    assert MissionRequest.model_validate_json(r.model_dump_json()) == r


def field_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        MissionRequest.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


@pytest.mark.parametrize(
    ("changes", "path", "needle"),
    [
        ({"template": "moon_walk"}, "template", "unknown template 'moon_walk'"),
        ({"targets": []}, "targets", "at least 1"),
        ({"targets": [{"kind": "room", "id": "x"}]}, "targets.0.kind", ""),
        ({"targets": [{"kind": "node", "id": "a b"}]}, "targets.0.id", "pattern"),
        ({"priority": "whenever"}, "priority", ""),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"turn_back": {"lel_pct": 0}}, "turn_back.lel_pct", "greater than 0"),
        ({"turn_back": {"lel_pct": 120}}, "turn_back.lel_pct", "less than or equal to 100"),
        ({"turn_back": {"dose_usv": -1}}, "turn_back.dose_usv", "greater than 0"),
        ({"turn_back": {"gas_ppm": {"H2S": 0}}}, "turn_back.gas_ppm", "H2S"),
        ({"turn_back": {"o2_low_pct": 23.5, "o2_high_pct": 19.5}}, "turn_back", "o2_low_pct"),
        ({"max_duration_s": 0}, "max_duration_s", "greater than 0"),
        ({"deadline": "2026-03-02T06:00:00"}, "deadline", "timezone"),
        ({"params": {"dwell_s": -5}}, "", "params.dwell_s"),
        ({"params": {"colour": "red"}}, "", "params.colour"),
        (
            {
                "schedule": {"kind": "at", "at": "2026-03-02T06:00:00Z"},
                "deadline": "2026-03-02T05:00:00Z",
            },
            "",
            "deadline",
        ),
    ],
)
def test_invalid_requests_name_the_field(changes: dict[str, Any], path: str, needle: str) -> None:
    errors = field_errors({**BASE, **changes})
    assert any(p == path and needle in msg for p, msg in errors), errors


def test_radiation_survey_needs_turn_back_dose_and_rate() -> None:
    data = {**BASE, "template": "radiation_survey", "targets": [{"id": "tank-t3"}]}
    assert any("turn_back.dose_rate_usv_h" in m for _, m in field_errors(data))
    data["turn_back"] = {"dose_rate_usv_h": 100}
    assert any("turn_back.dose_usv" in m for _, m in field_errors(data))
    data["turn_back"] = {"dose_rate_usv_h": 100, "dose_usv": 20}
    MissionRequest.model_validate(data)


def test_request_is_immutable() -> None:
    r = MissionRequest.model_validate(BASE)
    with pytest.raises(ValidationError):
        r.name = "other"  # type: ignore[misc]

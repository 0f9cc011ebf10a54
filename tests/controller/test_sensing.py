"""The controller's sensor stream intake: readings become gas alarm events; bad, stale
and foreign input is refused with a reason and counted, and never reaches the alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from controller.service import ControllerSettings
from drivers.config_file import load_model
from drivers.vda5050.codec import format_timestamp
from missions.alarms import AlarmKind, AlarmPreset
from tests.controller import IFACE, MAKER, Harness

PRESET = load_model(
    Path(__file__).resolve().parents[2] / "config" / "alarms" / "industrial-scientific.yaml",
    AlarmPreset,
)


def harness(**kw: Any) -> Harness:
    h = Harness(serials=("R1", "R2"), settings=ControllerSettings(alarm_preset=PRESET, **kw))
    h.controller.start()
    return h


def send(h: Harness, serial: str, readings: list[dict[str, Any]], *, age_s: float = 0.0) -> None:
    body = {
        "headerId": 1,
        "timestamp": format_timestamp(h.clock.now() - age_s),
        "version": "2.1.0",
        "manufacturer": MAKER,
        "serialNumber": serial,
        "mapId": "m",
        "x": 1.0,
        "y": 2.0,
        "readings": readings,
    }
    h.bus.publish(f"{IFACE}/v2/{MAKER}/{serial}/sensors", json.dumps(body).encode())


def h2s(value: float) -> dict[str, Any]:
    return {"channel": "H2S", "value": value, "unit": "ppm", "status": "ok"}


def alarms(h: Harness) -> list[tuple[str, str]]:
    return [(e.subject, e.detail) for e in h.events if e.kind == "alarm"]


def test_readings_raise_and_clear_alarms_per_robot() -> None:
    h = harness()
    send(h, "R1", [h2s(12.0), {"channel": "O2", "value": 20.9, "unit": "%vol"}])
    send(h, "R2", [h2s(1.0)])
    h.tick(1.0)
    assert alarms(h) == [("acme/R1", "H2S LOW raised: 12 ppm (set point 10 ppm)")]
    send(h, "R1", [h2s(25.0)])
    h.tick(1.0)
    send(h, "R1", [h2s(0.0)])
    h.tick(1.0)
    assert alarms(h)[1:] == [
        ("acme/R1", "H2S HIGH raised: 25 ppm (set point 20 ppm)"),
        ("acme/R1", "H2S LOW cleared"),
    ]
    assert h.controller.active_alarms() == {"acme/R1": ["H2S HIGH"]}  # HIGH latches
    assert h.controller.acknowledge_alarm("acme/R1", "H2S", AlarmKind.HIGH)
    send(h, "R1", [h2s(0.0)])
    h.tick(1.0)
    assert alarms(h)[-1] == ("acme/R1", "H2S HIGH cleared")
    assert h.controller.active_alarms() == {}


def test_lel_is_judged_with_the_oxygen_of_the_same_message() -> None:
    h = harness()
    send(
        h,
        "R1",
        [
            {"channel": "O2", "value": 8.0, "unit": "%vol"},
            {"channel": "LEL", "value": 3.0, "unit": "%LEL"},
        ],
    )
    h.tick(1.0)
    details = [d for _s, d in alarms(h)]
    assert "LEL LEL_INVALID raised: 3 %LEL (set point 10 %LEL)" in details
    assert "O2 LOW raised: 8 %vol (set point 19.5 %vol)" in details


def test_bad_stale_and_foreign_input_is_refused_and_counted() -> None:
    h = harness(sensors_stale_after_s=10.0)
    h.bus.publish(f"{IFACE}/v2/{MAKER}/R1/sensors", b"{oops")
    send(h, "R1", [h2s(50.0)], age_s=60.0)  # a minute old: stale
    send(h, "R1", [h2s(50.0)], age_s=-3600.0)  # an hour ahead: never stale, refused too
    send(h, "X9", [h2s(50.0)])  # not in the fleet
    send(h, "R2", [h2s(50.0), {"channel": "H2S", "value": 50.0}])  # second: no unit
    h.tick(1.0)
    rejected = h.controller.messages_rejected
    assert rejected["bad sensor message"] == 1
    assert rejected["stale sensor message"] == 2
    assert rejected["sensors of an unknown robot"] == 1
    # only R2's good reading reached the alarms; R1's bad and stale input raised nothing
    assert [d.split(" raised")[0] for _s, d in alarms(h)] == ["H2S LOW", "H2S HIGH"]
    assert {s for s, _d in alarms(h)} == {"acme/R2"}
    assert h.controller.sensor_readings_rejected() == {"acme/R2": 1}
    protocol = [e for e in h.events if e.kind == "protocol"]
    assert len(protocol) == 4


def test_without_a_preset_the_stream_is_not_even_subscribed() -> None:
    h = Harness(serials=("R1",))
    h.controller.start()
    send(h, "R1", [h2s(99.0)])
    h.tick(1.0)
    assert alarms(h) == [] and h.controller.active_alarms() == {}
    assert sum(h.controller.messages_rejected.values()) == 0

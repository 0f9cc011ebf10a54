"""Alerts: the de-duplicating book (pure), the gas severity table, and the controller
turning a robot's sensor stream into alerts (InMemoryBus, FakeClock)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.alerts import (
    Alert,
    AlertAlreadyAcknowledged,
    AlertBook,
    AlertChange,
    AlertNotFound,
    AlertQuery,
    ChangeKind,
    Hazard,
    ImageCrop,
    InMemoryAlertSink,
    Location,
    Reading,
    Severity,
    gas_key,
    gas_severity,
)
from controller.service import Controller, ControllerSettings
from drivers.config_file import load_model
from drivers.errors import StoreError
from drivers.vda5050.codec import format_timestamp
from missions.alarms import AlarmKind, AlarmPreset
from tests.controller import IFACE, MAKER, SITE, Harness

PRESET = load_model(
    Path(__file__).resolve().parents[2] / "config" / "alarms" / "industrial-scientific.yaml",
    AlarmPreset,
)
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def book() -> AlertBook:
    counter = itertools.count(1)
    return AlertBook(new_id=lambda: f"al-{next(counter)}", touch_interval_s=5.0)


def fire(b: AlertBook, at_s: float, severity: str = "warn", **kw: Any) -> AlertChange | None:
    return b.raise_("cam/R1/fire", severity=severity, hazard="fire", at=t(at_s), **kw)


# ----------------------------------------------------------------------------- severity


def test_severity_order_and_unknown_is_critical() -> None:
    ranks = [s.rank for s in (Severity.INFO, Severity.WARN, Severity.ERROR, Severity.CRITICAL)]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    assert Severity.parse("WARN") is Severity.WARN
    assert Severity.parse("emergency") is Severity.CRITICAL
    assert Severity.parse("") is Severity.CRITICAL
    assert Hazard.parse("spill") is Hazard.SPILL and Hazard.parse("ufo") is Hazard.OTHER


# ----------------------------------------------------------------------------- the book


def test_one_alert_while_the_condition_persists() -> None:
    b = book()
    new = fire(b, 0, value=3.0, unit="m2", robot="acme/R1", title="fire seen")
    assert new is not None and new.kind is ChangeKind.NEW
    assert (new.alert.id, new.alert.occurrences, new.alert.peak) == ("al-1", 1, 3.0)
    assert fire(b, 1, value=7.0) is None  # within the touch interval: nothing to persist
    assert fire(b, 2, value=5.0) is None
    held = b.get("cam/R1/fire")
    assert held is not None and (held.occurrences, held.peak, held.value) == (3, 7.0, 5.0)
    assert held.last_seen_at == t(2)
    update = fire(b, 6, value=4.0)
    assert update is not None and update.kind is ChangeKind.UPDATED and not update.escalated
    assert update.alert.id == "al-1" and update.alert.occurrences == 4
    assert [a.id for a in b.open_alerts()] == ["al-1"]


def test_escalation_is_reported_at_once_and_lifts_the_acknowledgement() -> None:
    b = book()
    fire(b, 0)
    b.acknowledge("al-1", "olga", t(1), "watching it")
    up = fire(b, 2, severity="critical", title="fire spreading")
    assert up is not None and up.escalated and up.alert.severity is Severity.CRITICAL
    assert up.alert.title == "fire spreading" and not up.alert.acknowledged
    assert "escalated critical alert al-1" in up.text()
    # a lower severity does not de-escalate
    fire(b, 3, severity="info")
    held = b.get("cam/R1/fire")
    assert held is not None and held.severity is Severity.CRITICAL


def test_warn_closes_when_cleared_and_a_new_raise_is_a_new_alert() -> None:
    b = book()
    fire(b, 0)
    cleared = b.clear("cam/R1/fire", t(3))
    assert cleared is not None and cleared.kind is ChangeKind.CLEARED
    assert cleared.alert.cleared_at == t(3) and not cleared.alert.open
    assert b.clear("cam/R1/fire", t(4)) is None  # nothing open any more
    assert b.get("cam/R1/fire") is None
    again = fire(b, 5)
    assert again is not None and again.kind is ChangeKind.NEW and again.alert.id == "al-2"


def test_error_and_critical_latch_until_acknowledged() -> None:
    b = book()
    fire(b, 0, severity="error")
    cleared = b.clear("cam/R1/fire", t(2))
    assert cleared is not None and cleared.alert.latched and cleared.alert.open
    # raised again while latched: the same alert re-opens, no second one
    back = fire(b, 3, severity="error")
    assert back is not None and back.kind is ChangeKind.UPDATED and back.alert.id == "al-1"
    assert back.alert.active and back.alert.occurrences == 2
    b.clear("cam/R1/fire", t(4))
    acked = b.acknowledge("al-1", "olga", t(5), "area closed")
    assert acked.kind is ChangeKind.ACKNOWLEDGED and not acked.alert.open
    assert (acked.alert.acknowledged_by, acked.alert.ack_note) == ("olga", "area closed")
    assert b.get("cam/R1/fire") is None
    assert fire(b, 6, severity="error") is not None and b.open_alerts()[0].id == "al-2"


def test_acknowledged_while_active_closes_when_cleared() -> None:
    b = book()
    fire(b, 0, severity="critical")
    b.acknowledge("al-1", "olga", t(1))
    with pytest.raises(AlertAlreadyAcknowledged, match="olga"):
        b.acknowledge("al-1", "sam", t(2))
    with pytest.raises(AlertNotFound):
        b.acknowledge("al-9", "sam", t(2))
    held = b.get("cam/R1/fire")
    assert held is not None and held.open  # still active
    cleared = b.clear("cam/R1/fire", t(3))
    assert cleared is not None and not cleared.alert.open and b.open_alerts() == []


def test_evidence_is_kept_and_bounded() -> None:
    b = AlertBook(max_readings=3)
    r = [Reading(t(i), "H2S", float(i), "ppm") for i in range(6)]
    crop = ImageCrop(b"\xff\xd8jpeg\xff\xd9", (1, 2, 3, 4))
    fire(b, 0, readings=r[:2], image=crop, location=Location(1.0, 2.0, "plant"))
    fire(b, 1, readings=r[2:5])
    held = b.get("cam/R1/fire")
    assert held is not None and held.readings == tuple(r[:3]) and held.image == crop
    cleared = b.clear("cam/R1/fire", t(2), readings=r[5:])
    assert cleared is not None and cleared.alert.readings == (*r[:3], r[5])
    assert ImageCrop.from_base64(crop.base64(), crop.bbox) == crop


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="naive"):
        book().raise_("k", severity="warn", hazard="fire", at=T0.replace(tzinfo=None))


def test_restore_takes_back_open_alerts_only() -> None:
    sink = InMemoryAlertSink()
    b = book()
    fire(b, 0, severity="error")
    latched = b.clear("cam/R1/fire", t(1))
    assert latched is not None
    closed = Alert("al-x", "k2", Severity.WARN, Hazard.SPILL, "spill", T0, T0, cleared_at=t(1))
    sink.save_alert(latched.alert)
    sink.save_alert(closed)
    restored = AlertBook()
    restored.restore(sink.list_alerts(AlertQuery(open=True)))
    assert [a.id for a in restored.open_alerts()] == ["al-1"]
    assert restored.by_id("al-1") == latched.alert


@pytest.mark.parametrize(
    ("channel", "kind", "severity", "hazard"),
    [
        ("H2S", AlarmKind.LOW, Severity.WARN, Hazard.GAS_TOXIC),
        ("H2S", AlarmKind.HIGH, Severity.ERROR, Hazard.GAS_TOXIC),
        ("CO", AlarmKind.STEL, Severity.ERROR, Hazard.GAS_TOXIC),
        ("CO", AlarmKind.TWA, Severity.WARN, Hazard.GAS_TOXIC),
        ("CO", AlarmKind.CEILING, Severity.CRITICAL, Hazard.GAS_TOXIC),
        ("LEL", AlarmKind.LOW, Severity.WARN, Hazard.FLAMMABLE),
        ("LEL", AlarmKind.HIGH, Severity.CRITICAL, Hazard.FLAMMABLE),
        ("O2", AlarmKind.LOW, Severity.CRITICAL, Hazard.OXYGEN),
        ("O2", AlarmKind.HIGH, Severity.ERROR, Hazard.OXYGEN),
        ("H2S", AlarmKind.OVER_RANGE, Severity.ERROR, Hazard.SENSOR_FAULT),
        ("H2S", AlarmKind.SENSOR_FAULT, Severity.ERROR, Hazard.SENSOR_FAULT),
        ("LEL", AlarmKind.LEL_INVALID, Severity.ERROR, Hazard.SENSOR_FAULT),
        ("CO", AlarmKind.NEGATIVE_DRIFT, Severity.WARN, Hazard.SENSOR_FAULT),
    ],
)
def test_gas_severity_table(
    channel: str, kind: AlarmKind, severity: Severity, hazard: Hazard
) -> None:
    assert gas_severity(channel, kind) == (severity, hazard)


# ----------------------------------------------------------------------------- controller


class FlakySink(InMemoryAlertSink):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def save_alert(self, alert: Alert) -> None:
        if self.down:
            raise StoreError("database down")
        super().save_alert(alert)


def harness(sink: InMemoryAlertSink | None = None, **kw: Any) -> tuple[Harness, list[Any]]:
    seen: list[AlertChange] = []
    # the gas alerts alone: the hazard picture's own alerts (a located leak's info alert)
    # are tested in test_hazard_watch.py
    kw.setdefault("hazard_watch", None)
    h = Harness(serials=("R1", "R2"), settings=ControllerSettings(alarm_preset=PRESET))
    # the harness's controller again, with the sink and listener under test
    h.controller = Controller(
        h.bus,
        h.clock,
        SITE,
        h.fleet,
        ControllerSettings(alarm_preset=PRESET, **kw),
        on_event=h.events.append,
        alerts=sink,
        on_alert=seen.append,
    )
    h.controller.start()
    return h, seen


def send(h: Harness, serial: str, readings: list[dict[str, Any]], x: float = 1.0) -> None:
    body = {
        "headerId": 1,
        "timestamp": format_timestamp(h.clock.now()),
        "version": "2.1.0",
        "manufacturer": MAKER,
        "serialNumber": serial,
        "mapId": "plant",
        "x": x,
        "y": 2.0,
        "readings": readings,
    }
    h.bus.publish(f"{IFACE}/v2/{MAKER}/{serial}/sensors", json.dumps(body).encode())


def h2s(value: float | None, status: str = "ok") -> dict[str, Any]:
    return {"channel": "H2S", "value": value, "unit": "ppm", "status": status}


def test_gas_high_is_one_alert_with_evidence_cleared_when_the_gas_goes() -> None:
    sink = InMemoryAlertSink()
    h, seen = harness(sink)
    for v in (0.0, 2.0, 5.0):
        send(h, "R1", [h2s(v)], x=v)
        h.tick(1.0)
    for i, v in enumerate([25.0, 30.0, 27.0, 26.0, 24.0, 22.0] * 3):
        send(h, "R1", [h2s(v)], x=10.0 + i)
        h.tick(1.0)
    high = sink.list_alerts(AlertQuery(min_severity=Severity.ERROR))
    assert len(high) == 1
    a = high[0]
    assert a.key == gas_key("acme/R1", "H2S", AlarmKind.HIGH) == "gas/acme/R1/H2S/HIGH"
    assert (a.severity, a.hazard, a.unit, a.threshold) == (
        Severity.ERROR,
        Hazard.GAS_TOXIC,
        "ppm",
        20.0,
    )
    assert a.title == "H2S HIGH: 25 ppm (set point 20 ppm)"
    assert a.location == Location(10.0, 2.0, "plant")  # where the crossing was read
    assert a.robot == "acme/R1" and a.mission is None
    assert [r.value for r in a.readings[:4]] == [0.0, 2.0, 5.0, 25.0]  # the lead-up
    assert a.peak == 30.0 and a.active
    # the LOW alarm is a condition of its own: one warn alert, not one per message
    assert sorted(x.key for x in sink.list_alerts()) == [
        "gas/acme/R1/H2S/HIGH",
        "gas/acme/R1/H2S/LOW",
    ]
    writes = len(seen)
    assert writes <= 2 + 2 * (18 // 5 + 1)  # new alerts plus throttled updates
    # alarm events still work as before
    assert ("acme/R1", "H2S HIGH raised: 25 ppm (set point 20 ppm)") in [
        (e.subject, e.detail) for e in h.events if e.kind == "alarm"
    ]

    send(h, "R1", [h2s(12.0)])  # below HIGH, above LOW
    h.tick(1.0)
    cleared = sink.get_alert(a.id)
    assert cleared is not None and cleared.cleared_at is not None and cleared.latched
    assert cleared.occurrences == 18 and cleared.readings[-1].value == 12.0
    assert h.controller.active_alarms() == {"acme/R1": ["H2S HIGH", "H2S LOW"]}  # latched

    acked = h.controller.acknowledge(a.id, "olga", "ventilation on")
    assert acked.acknowledged_by == "olga" and not acked.open
    assert sink.list_alerts(AlertQuery(open=True)) == sink.list_alerts(
        AlertQuery(open=True, robot="acme/R1", hazard=Hazard.GAS_TOXIC)
    )
    assert [x.kind for x in seen[-2:]] == [ChangeKind.CLEARED, ChangeKind.ACKNOWLEDGED]
    with pytest.raises(AlertAlreadyAcknowledged):
        h.controller.acknowledge(a.id, "sam")
    with pytest.raises(AlertNotFound):
        h.controller.acknowledge("al-nope", "sam")
    # acknowledging the alert acknowledged the latched alarm: it clears with the gas
    send(h, "R1", [h2s(0.0)])
    h.tick(1.0)
    assert h.controller.active_alarms() == {}
    assert sink.list_alerts(AlertQuery(open=True)) == []


def test_gas_alert_carries_the_active_mission() -> None:
    h, _ = harness()
    h.controller._active_mission = lambda robot: "m-7" if robot == "acme/R2" else None  # type: ignore[method-assign]
    send(h, "R2", [{"channel": "O2", "value": 17.0, "unit": "%vol"}])
    h.tick(1.0)
    (a,) = h.controller.alerts()
    assert (a.mission, a.severity, a.hazard) == ("m-7", Severity.CRITICAL, Hazard.OXYGEN)
    assert h.controller.alert(a.id) == a


def test_sensor_fault_is_an_error_alert_about_the_instrument() -> None:
    h, _ = harness()
    send(h, "R1", [h2s(None, "fault")])
    h.tick(1.0)
    (a,) = h.controller.alerts()
    assert (a.severity, a.hazard, a.value) == (Severity.ERROR, Hazard.SENSOR_FAULT, None)
    assert a.title == "H2S SENSOR_FAULT: no reading"


def test_other_detectors_raise_and_clear_through_the_controller() -> None:
    h, seen = harness()
    crop = ImageCrop(b"\xff\xd8crop\xff\xd9", (40, 30, 64, 64))
    first = h.controller.raise_alert(
        "camera/acme/R1/fire",
        severity="bogus",
        hazard="fire",
        title="flames at tank T3",
        value=0.93,
        unit="confidence",
        robot="acme/R1",
        location=Location(4.0, 5.0, "plant"),
        image=crop,
    )
    assert first.severity is Severity.CRITICAL and first.image == crop
    again = h.controller.raise_alert(
        "camera/acme/R1/fire", severity="critical", hazard="fire", value=0.97
    )
    assert again.id == first.id and again.occurrences == 2 and again.peak == 0.97
    assert len(h.controller.alerts()) == 1
    cleared = h.controller.clear_alert("camera/acme/R1/fire")
    assert cleared is not None and cleared.latched
    assert h.controller.clear_alert("camera/acme/R1/fire") is None
    assert [c.kind for c in seen] == [ChangeKind.NEW, ChangeKind.CLEARED]


def test_alerts_not_saved_are_retried_and_open_ones_survive_a_restart() -> None:
    sink = FlakySink()
    h, _ = harness(sink)
    sink.down = True
    send(h, "R1", [h2s(25.0)])
    h.tick(1.0)
    assert sink.list_alerts() == []
    sink.down = False
    h.tick(1.0)  # retried by the next step
    assert {a.key for a in sink.list_alerts()} == {"gas/acme/R1/H2S/LOW", "gas/acme/R1/H2S/HIGH"}

    # a new controller on the same sink takes the open alerts back: no duplicates while
    # the gas persists, and the first reading without it clears them
    h2, _ = harness(sink)
    send(h2, "R1", [h2s(26.0)])
    h2.tick(10.0)
    assert len(sink.list_alerts()) == 2
    assert sorted(a.occurrences for a in sink.list_alerts()) == [2, 2]
    h3, _ = harness(sink)
    send(h3, "R1", [h2s(0.0)])
    h3.tick(1.0)
    assert all(not a.active for a in sink.list_alerts())
    high = sink.list_alerts(AlertQuery(open=True))
    assert [a.key for a in high] == ["gas/acme/R1/H2S/HIGH"]  # latched until acknowledged

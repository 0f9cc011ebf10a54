"""The fleet registry: availability, unknown robots, malformed input, versions."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from controller import ControllerSettings
from controller.registry import (
    REASON_BAD_TOPIC,
    REASON_HEADER_MISMATCH,
    REASON_UNKNOWN_ROBOT,
    Ingested,
    Registry,
    Rejection,
)
from drivers.bus import Message
from drivers.vda5050 import ConnectionState
from missions.fleet import RobotRef
from tests.controller import MAKER, Harness, RobotSide


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness(serials=("R1", "R2"))
    harness.controller.start()
    yield harness
    assert harness.schema_problems() == []


def availability(h: Harness, serial: str) -> str:
    return str(h.robot_status(serial).availability)


def robot_events(h: Harness, serial: str) -> list[str]:
    return [e.detail for e in h.events if e.kind == "robot" and e.subject == f"{MAKER}/{serial}"]


def test_unknown_until_heard_then_online_stale_offline(h: Harness) -> None:
    r1 = h.robots["R1"]
    h.tick()
    assert availability(h, "R1") == "unknown"
    r1.connect()
    r1.send_state()
    h.tick()
    assert availability(h, "R1") == "online"
    h.tick(0.1, times=29)  # 2.9 s after the state was taken in: still fresh
    assert availability(h, "R1") == "online"
    h.tick(0.1)  # 3.0 s: stale
    assert availability(h, "R1") == "stale"
    r1.connect("CONNECTIONBROKEN")
    h.tick()
    assert availability(h, "R1") == "offline"
    assert h.robot_status("R1").connection == ConnectionState.CONNECTIONBROKEN
    assert robot_events(h, "R1") == ["online", "stale", "offline"]
    # R2 never spoke
    assert availability(h, "R2") == "unknown"


def test_fresh_state_after_offline_makes_robot_online_again(h: Harness) -> None:
    r1 = h.online("R1")
    r1.connect("OFFLINE")
    h.tick()
    assert availability(h, "R1") == "offline"
    r1.send_state()
    h.tick()
    assert availability(h, "R1") == "online"


def test_connection_online_without_state_goes_stale(h: Harness) -> None:
    h.robots["R1"].connect()
    h.tick()
    assert availability(h, "R1") == "online"
    h.tick(3.0)
    assert availability(h, "R1") == "stale"


def test_states_keep_robot_online(h: Harness) -> None:
    r1 = h.online("R1")
    for _ in range(10):
        h.tick(1.0)
        r1.send_state()
    h.tick()
    assert availability(h, "R1") == "online"
    assert robot_events(h, "R1") == ["online"]


def test_status_reflects_state_and_factsheet(h: Harness) -> None:
    r1 = h.robots["R1"]
    r1.position = (5.0, 0.1)
    r1.last_node_id = "B"
    r1.paused = True
    r1.errors = [{"errorType": "lowBattery", "errorLevel": "WARNING"}]
    r1.version = "2.0.0"
    h.online("R1", factsheet=["measureGas", "captureImage"])
    st = h.robot_status("R1")
    assert (st.manufacturer, st.serial, st.version) == (MAKER, "R1", "2.0.0")
    assert (st.x_m, st.y_m, st.last_node_id, st.battery_pct) == (5.0, 0.1, "B", 77.5)
    assert st.paused is True and st.driving is False
    assert st.errors == ["lowBattery(WARNING)"]
    assert st.order_id == ""
    assert st.factsheet_actions == ("measureGas", "captureImage")
    assert st.last_state_at_s == h.clock.monotonic()
    assert st.connection == ConnectionState.ONLINE


def test_unknown_robot_ignored_and_logged_once(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = RobotSide(h.bus, h.clock, "X9")
    with caplog.at_level(logging.WARNING, logger="controller.registry"):
        stranger.connect()
        stranger.send_state()
        stranger.send_state()
        h.tick()
    assert [r.serial for r in h.controller.robots()] == ["R1", "R2"]
    assert h.controller.messages_rejected[REASON_UNKNOWN_ROBOT] == 3
    assert sum("X9" in rec.getMessage() for rec in caplog.records) == 1
    assert [e.kind for e in h.events] == ["protocol"]


def test_a_vendor_field_is_logged_once_per_robot(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    r1 = RobotSide(h.bus, h.clock, "R1")
    r1.connect()
    state = r1.state_dict()
    state["vendorTemperature"] = 41.5
    with caplog.at_level(logging.INFO, logger="controller.registry"):
        for _ in range(3):
            r1.send_raw("state", json.dumps(state).encode())
            r1.send_state()  # no vendor field: the key scan skips the walk
        h.tick()
    lines = [r.getMessage() for r in caplog.records if "unknown field" in r.getMessage()]
    assert lines == ["robot acme/R1: ignoring unknown field state.vendorTemperature (logged once)"]
    assert h.controller.messages_rejected == {}


def test_unknown_robot_admitted_when_configured() -> None:
    h = Harness(serials=("R1",), settings=ControllerSettings(admit_unknown=True))
    h.controller.start()
    stranger = RobotSide(h.bus, h.clock, "X9")
    stranger.connect()
    stranger.send_state()
    h.tick()
    assert [(r.serial, r.availability) for r in h.controller.robots()] == [
        ("R1", "unknown"),
        ("X9", "online"),
    ]
    assert h.controller.messages_rejected[REASON_UNKNOWN_ROBOT] == 0


def test_malformed_state_counted_logged_and_other_robot_unaffected(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    r1, r2 = h.online("R1"), h.online("R2")
    bad = r1.state_dict()
    bad["batteryState"]["batteryCharge"] = "full"
    with caplog.at_level(logging.ERROR, logger="controller.registry"):
        r1.send_raw("state", json.dumps(bad).encode())
        r1.send_raw("state", b"{not json")
        r1.send_raw("state", b"[1, 2]")
        r2.last_node_id = "C"
        r2.send_state()
        h.tick()
    assert h.controller.messages_rejected["malformed state"] == 3
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert r1.topic("state") in text
    assert "batteryState.batteryCharge" in text
    assert h.robot_status("R2").last_node_id == "C"
    assert h.robot_status("R1").last_node_id == "A"  # last good state kept
    protocol = [e for e in h.events if e.kind == "protocol"]
    assert len(protocol) == 3 and protocol[0].subject == r1.topic("state")


def test_malformed_connection_and_factsheet_are_rejected(h: Harness) -> None:
    r1 = h.robots["R1"]
    r1.send_raw("connection", json.dumps({"connectionState": "MAYBE"}).encode())
    r1.send_raw("factsheet", b"{}")
    h.tick()
    assert h.controller.messages_rejected["malformed connection"] == 1
    assert h.controller.messages_rejected["malformed factsheet"] == 1
    assert availability(h, "R1") == "unknown"


def test_header_serial_must_match_topic(h: Harness) -> None:
    r1 = h.online("R1")
    impostor = r1.state_dict()
    impostor["serialNumber"] = "R2"
    impostor["lastNodeId"] = "D"
    r1.send_raw("state", json.dumps(impostor).encode())
    h.tick()
    assert h.controller.messages_rejected[REASON_HEADER_MISMATCH] == 1
    assert h.robot_status("R1").last_node_id == "A"
    assert h.robot_status("R2").last_node_id is None


def test_unknown_optional_fields_tolerated_and_logged_once(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    r1 = h.robots["R1"]
    r1.connect()
    with caplog.at_level(logging.INFO, logger="controller.registry"):
        for _ in range(3):
            data = r1.state_dict()
            data["vendorTemperature"] = 41.0
            data["batteryState"]["cellCount"] = 12
            del data["paused"]  # missing optional field
            r1.send_raw("state", json.dumps(data).encode())
        h.tick()
    assert availability(h, "R1") == "online"
    assert not h.controller.messages_rejected
    logged = [rec.getMessage() for rec in caplog.records if "unknown field" in rec.getMessage()]
    assert len(logged) == 2
    assert any("state.vendorTemperature" in m for m in logged)
    assert any("state.batteryState.cellCount" in m for m in logged)
    assert h.robot_status("R1").paused is None


# ------------------------------------------------------------------ Registry directly


def make_registry() -> Registry:
    return Registry(
        [RobotRef(manufacturer=MAKER, serial="R1")], interface="uagv", stale_after_s=3.0
    )


def test_bad_topics_are_rejected_not_raised() -> None:
    reg = make_registry()
    for topic in (
        "uagv/v2/acme/R1/state/extra",
        "uagv/v2/acme/R 1/state",
        "other/v2/acme/R1/state",
        "uagv/v2/acme/R1/order",
    ):
        result = reg.ingest(Message(topic, b"{}"), 0.0)
        assert isinstance(result, Rejection) and result.reason == REASON_BAD_TOPIC
    assert reg.rejected[REASON_BAD_TOPIC] == 4


def test_stale_time_is_measured_from_last_state() -> None:
    reg = make_registry()
    robot_side_payload = {
        "headerId": 0,
        "timestamp": "2026-01-01T00:00:00.00Z",
        "version": "2.1.0",
        "manufacturer": MAKER,
        "serialNumber": "R1",
        "connectionState": "ONLINE",
    }
    result = reg.ingest(
        Message("uagv/v2/acme/R1/connection", json.dumps(robot_side_payload).encode()), 10.0
    )
    assert isinstance(result, Ingested)
    assert [c.new for c in reg.refresh(10.0)] == ["online"]
    assert reg.refresh(12.9) == []
    (change,) = reg.refresh(14.0)
    assert change.new == "stale"
    rec = reg.records()[0]
    assert rec.unavailable_since_s == 13.0


@pytest.mark.parametrize(
    ("announced", "sent"),
    [
        ("2.0.0", "2.0.0"),
        ("2.1.0", "2.1.0"),
        ("2.0.4", "2.0.4"),
        ("2.2.0", "2.1.0"),
        ("1.1.0", "2.1.0"),
        ("3.0.0", "2.1.0"),
        (None, "2.1.0"),
    ],
)
def test_version_sent_echoes_supported_announcement(announced: str | None, sent: str) -> None:
    reg = make_registry()
    rec = reg.records()[0]
    rec.announced_version = announced
    assert reg.version_for(rec) == sent


def test_unsupported_version_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    reg = make_registry()
    rec = reg.records()[0]
    rec.announced_version = "1.1.0"
    with caplog.at_level(logging.WARNING, logger="controller.registry"):
        reg.version_for(rec)
        reg.version_for(rec)
    assert sum("1.1.0" in r.getMessage() for r in caplog.records) == 1


def test_duplicate_fleet_entry_is_refused() -> None:
    ref = RobotRef(manufacturer=MAKER, serial="R1")
    with pytest.raises(ValueError, match="twice"):
        Registry([ref, ref], interface="uagv", stale_after_s=3.0)

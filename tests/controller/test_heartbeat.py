"""The controller heartbeat: ONLINE on start and periodically, OFFLINE on shutdown, will."""

from __future__ import annotations

import json
from typing import Any

from controller import Controller, ControllerSettings, controller_will
from drivers.bus import Inbox, InMemoryBus
from drivers.vda5050 import parse_timestamp
from missions.clock import FakeClock
from tests.controller import SITE, Harness

TOPIC = "uagv/hazfleet/hazfleet/heartbeat"


def beats(h: Harness, topic: str = TOPIC) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in h.bus.published if m.topic == topic]


def test_online_on_start_with_contract_fields() -> None:
    h = Harness()
    h.controller.start()
    (msg,) = [m for m in h.bus.published if m.topic == TOPIC]
    assert (msg.qos, msg.retain) == (1, True)
    body = json.loads(msg.payload)
    assert body == {
        "headerId": 0,
        "timestamp": "2026-01-01T00:00:00.00Z",
        "version": "2.1.0",
        "controllerId": "hazfleet",
        "connectionState": "ONLINE",
        "intervalMs": 1000,
    }


def test_repeats_are_qos0_and_the_goodbye_qos1() -> None:
    h = Harness()
    h.controller.start()
    h.tick(0.1, times=25)
    h.controller.shutdown()
    qos = [
        (json.loads(m.payload)["connectionState"], m.qos)
        for m in h.bus.published
        if m.topic == TOPIC
    ]
    assert qos[0] == ("ONLINE", 1) and qos[-1] == ("OFFLINE", 1)
    assert qos[1:-1] and all(q == ("ONLINE", 0) for q in qos[1:-1])
    assert all(m.retain for m in h.bus.published if m.topic == TOPIC)


def test_beats_every_interval_with_increasing_header_ids() -> None:
    h = Harness()
    h.controller.start()
    h.tick(0.1, times=35)
    got = beats(h)
    assert [b["headerId"] for b in got] == [0, 1, 2, 3]
    assert {b["connectionState"] for b in got} == {"ONLINE"}
    times = [parse_timestamp(b["timestamp"]) - h.clock.now() for b in got]
    assert [round(t + 3.5, 2) for t in times] == [0.0, 1.0, 2.0, 3.0]
    assert all(b["timestamp"].endswith("Z") for b in got)


def test_interval_and_ids_from_settings() -> None:
    settings = ControllerSettings(
        interface="plant7", controller_id="mc-2", heartbeat_interval_s=0.5
    )
    h = Harness(settings=settings)
    h.controller.start()
    h.tick(0.1, times=10)
    got = beats(h, "plant7/hazfleet/mc-2/heartbeat")
    assert len(got) == 3
    assert got[0]["intervalMs"] == 500 and got[0]["controllerId"] == "mc-2"


def test_shutdown_publishes_offline_then_stays_quiet() -> None:
    h = Harness()
    h.controller.start()
    h.tick(0.5)
    h.controller.shutdown()
    assert beats(h)[-1]["connectionState"] == "OFFLINE"
    count = len(h.bus.published)
    h.tick(1.0, times=3)
    assert len(h.bus.published) == count


def test_will_is_connectionbroken_retained_qos1() -> None:
    clock = FakeClock()
    will = controller_will("uagv", "hazfleet", clock)
    assert will.topic == TOPIC and will.qos == 1 and will.retain is True
    body = json.loads(will.payload)
    assert body["connectionState"] == "CONNECTIONBROKEN"
    assert body["controllerId"] == "hazfleet" and body["intervalMs"] == 1000
    assert body["timestamp"].endswith("Z") and body["version"] == "2.1.0"


def test_will_reaches_robots_when_controller_vanishes() -> None:
    bus = InMemoryBus()
    clock = FakeClock()
    robot_inbox = Inbox()
    bus.subscribe("uagv/hazfleet/+/heartbeat", robot_inbox)
    client = bus.client(will=controller_will("uagv", "hazfleet", clock))
    controller = Controller(client, clock, SITE, [])
    controller.start()
    client.vanish()
    states = [json.loads(m.payload)["connectionState"] for m in robot_inbox.drain()]
    assert states == ["ONLINE", "CONNECTIONBROKEN"]

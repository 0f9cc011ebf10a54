"""The real path of an alert: a robot's sensor messages over a real MQTT broker (embedded
amqtt always, embedded and external Mosquitto where available) cross the H2S HIGH set
point; the controller keeps exactly one alert for it in the real store (SQLite and
PostgreSQL) across many messages, clears it when the gas falls, keeps it open (latched)
until an operator acknowledges it over HTTP, and a restarted controller takes it back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from controller.alerts import AlertQuery, Severity
from controller.api.app import create_app
from controller.api.tokens import hash_token, new_token
from controller.missions_service import MissionService
from controller.service import Controller, ControllerSettings
from controller.store import Store
from drivers.clock import SystemClock
from drivers.config_file import load_model
from drivers.vda5050.codec import format_timestamp
from drivers.vda5050.sensors import SENSORS_QOS, SensorReading, encode_readings, sensors_topic
from missions.alarms import AlarmPreset
from missions.fleet import RobotRef
from tests.conftest import TransportFactory
from tests.controller import MAKER, SITE
from tests.controller.api.conftest import ServerThread
from tests.databases import KINDS, fresh_database

PRESET = load_model(
    Path(__file__).resolve().parents[2] / "config" / "alarms" / "industrial-scientific.yaml",
    AlarmPreset,
)
HIGH_KEY = "gas/acme/R1/H2S/HIGH"


@pytest.fixture(params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("alerts")
    with fresh_database(request.param, folder, prefix="hz_alerts") as url, Store(url) as opened:
        opened.migrate()
        yield opened


def pump(controller: Controller, done: Callable[[], bool], timeout_s: float = 15.0) -> None:
    """Step the controller (as serve's loop does) until ``done()``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        controller.step()
        if done():
            return
        time.sleep(0.01)
    raise AssertionError("the controller did not get there in time")


@pytest.mark.broker
def test_h2s_high_is_one_persisted_alert_cleared_then_acknowledged(
    transport_factory: TransportFactory, store: Store
) -> None:
    interface = f"t{uuid.uuid4().hex[:12]}"
    clock = SystemClock()
    settings = ControllerSettings(interface=interface, alarm_preset=PRESET)
    fleet = [RobotRef(manufacturer=MAKER, serial="R1")]

    def start_controller() -> Controller:
        bus = transport_factory("controller")
        controller = Controller(bus, clock, SITE, fleet, settings, alerts=store)
        controller.start()
        assert bus.wait_subscribed(10)
        return controller

    controller = start_controller()
    robot = transport_factory("robot")
    sent = 0

    def send(h2s: float, x_m: float = 1.0) -> None:
        nonlocal sent
        sent += 1
        header = {
            "headerId": sent,
            "timestamp": format_timestamp(clock.now()),
            "version": "2.1.0",
            "manufacturer": MAKER,
            "serialNumber": "R1",
        }
        readings = [
            SensorReading("H2S", h2s, "ppm", "ok"),
            SensorReading("O2", 20.9, "%vol", "ok"),
        ]
        payload = encode_readings(header, x_m, 2.0, "plant", readings)
        robot.publish(sensors_topic(interface, MAKER, "R1"), payload, SENSORS_QOS, False)

    def peak() -> float:
        return controller.exposure_peaks().get("acme/R1", {}).get("H2S", -1.0)

    for v in (0.0, 1.0, 3.0):
        send(v)
    high = [24.0, 27.5, 26.0, 22.0, 25.0] * 8 + [31.0]  # 41 messages above HIGH
    for i, v in enumerate(high):
        send(v, x_m=5.0 + i)
    pump(controller, lambda: peak() == 31.0)  # every message handled

    alerts = store.list_alerts()
    highs = [a for a in alerts if a.key == HIGH_KEY]
    assert len(highs) == 1, [a.key for a in alerts]  # one alert for 41 messages
    assert {a.key for a in alerts} <= {HIGH_KEY, "gas/acme/R1/H2S/LOW", "gas/acme/R1/H2S/STEL"}
    a = highs[0]
    assert (a.severity, a.threshold, a.unit, a.robot) == (Severity.ERROR, 20.0, "ppm", "acme/R1")
    assert a.location is not None and (a.location.x_m, a.location.map_id) == (5.0, "plant")
    assert [r.value for r in a.readings[:4]] == [0.0, 1.0, 3.0, 24.0]
    assert a.active and not a.acknowledged

    send(4.0)  # the gas falls below every set point
    pump(controller, lambda: (got := store.get_alert(a.id)) is not None and not got.active)
    cleared = store.get_alert(a.id)
    assert cleared is not None
    assert cleared.occurrences == len(high) and cleared.peak == 31.0
    assert cleared.latched  # error: open until acknowledged
    assert [x.id for x in store.list_alerts(AlertQuery(open=True))] == [a.id]
    assert controller.active_alarms() == {"acme/R1": ["H2S HIGH"]}  # the alarm latched too

    # a restarted controller takes the latched alert back; the operator acknowledges it
    # over HTTP through that controller
    controller.shutdown()
    controller = start_controller()
    token = new_token()
    store.add_user("olga", "operator", hash_token(token))
    service = MissionService(store, clock, {SITE.map_id: SITE})
    app = create_app(service, store, robots=controller.robots, alerts=controller)
    with ServerThread(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        auth = {"Authorization": f"Bearer {token}"}
        listed = http.get("/api/v1/alerts", params={"open": "true"}, headers=auth).json()
        assert [i["id"] for i in listed["items"]] == [a.id]
        r = http.post(
            f"/api/v1/alerts/{a.id}/acknowledge", json={"note": "area ventilated"}, headers=auth
        )
        assert r.status_code == 200, r.text
        assert (r.json()["acknowledged_by"], r.json()["open"]) == ("olga", False)
        again = http.post(f"/api/v1/alerts/{a.id}/acknowledge", headers=auth)
        assert again.status_code == 409
        assert http.get("/api/v1/alerts", params={"open": "true"}, headers=auth).json() == {
            "items": [],
            "limit": 100,
            "offset": 0,
        }
    stored = store.get_alert(a.id)
    assert stored is not None and stored.ack_note == "area ventilated"
    controller.shutdown()

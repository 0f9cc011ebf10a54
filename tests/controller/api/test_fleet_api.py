"""Clearance, stops and assembly over HTTP: roles, scopes, bad input, and what reaches the
robots (a real Controller on an in-memory bus; the same commands through a real broker
with simulated robots are in tests/simulator/test_fleet_commands_mqtt.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.api.app import create_app
from controller.api.tokens import hash_token, new_token
from controller.missions_bridge import ControllerBridge
from controller.missions_service import MissionService
from controller.service import Controller
from controller.store import Store
from drivers.bus import InMemoryBus
from drivers.clock import SystemClock
from missions.fleet import RobotRef
from tests.controller import RobotSide
from tests.controller.api.conftest import DEFAULT_SITE, ServerThread
from tests.controller.api.test_api import patrol

ROLES = {"sofia": "safety_officer", "olga": "operator", "vic": "viewer"}


@dataclass
class Fleet:
    http: httpx.Client
    tokens: dict[str, str]
    bus: InMemoryBus
    controller: Controller
    bridge: ControllerBridge

    def post(self, user: str, path: str, **kw: Any) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.http.post(f"/api/v1{path}", headers=auth, **kw)

    def instant_actions(self) -> list[tuple[str, str]]:
        """(robot serial, actionType) of every instant action published so far."""
        return [
            (json.loads(m.payload)["serialNumber"], a["actionType"])
            for m in self.bus.published
            if m.topic.endswith("/instantActions")
            for a in json.loads(m.payload)["actions"]
        ]


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Store(f"sqlite:///{tmp_path / 'fleet.db'}") as store:
        store.migrate()
        tokens = {}
        for name, role in ROLES.items():
            tokens[name] = new_token()
            store.add_user(name, role, hash_token(tokens[name]))
        clock = SystemClock()
        bus = InMemoryBus()
        service = MissionService(store, clock, {DEFAULT_SITE.map_id: DEFAULT_SITE})
        bridge = ControllerBridge(service, clock, tick_interval_s=0)
        robots = [RobotRef(manufacturer="hazfleet-sim", serial=s) for s in ("sim-01", "sim-02")]
        controller = Controller(bus, clock, DEFAULT_SITE, robots, on_event=bridge.on_event)
        bridge.attach(controller)
        controller.start()
        app = create_app(
            service, store, robots=controller.robots, runs=controller.missions, fleet=controller
        )
        with ServerThread(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            yield Fleet(http, tokens, bus, controller, bridge)
        controller.shutdown()


def test_fleet_stop_and_resume_reach_every_robot(fleet: Fleet) -> None:
    for serial in ("sim-01", "sim-02"):  # online: instant actions go to robots online
        side = RobotSide(fleet.bus, SystemClock(), serial, manufacturer="hazfleet-sim")
        side.connect()
        side.send_state()
    fleet.controller.step()
    r = fleet.post("olga", "/fleet/stop")
    assert r.status_code == 200, r.text
    assert r.json() == {"robots": ["hazfleet-sim/sim-01", "hazfleet-sim/sim-02"]}
    r = fleet.post("sofia", "/fleet/resume", json={"robots": ["sim-02"]})
    assert r.json() == {"robots": ["hazfleet-sim/sim-02"]}
    fleet.controller.step()  # instant actions go out on the controller's step
    assert sorted(fleet.instant_actions()) == [
        ("sim-01", "startPause"),
        ("sim-02", "startPause"),
        ("sim-02", "stopPause"),
    ]


def test_a_viewer_may_not_stop_the_fleet(fleet: Fleet) -> None:
    assert fleet.post("vic", "/fleet/stop").status_code == 403
    assert fleet.post("vic", "/fleet/assemble").status_code == 403
    assert fleet.http.post("/api/v1/fleet/stop").status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"zone": "moon"}, "zone", "no zone 'moon'"),
        ({"robots": ["sim-99"]}, "robots", "'sim-99' not in the fleet"),
        ({"robots": "sim-01"}, "robots", "list"),
        ({"everyone": True}, "everyone", "unknown field"),
    ],
)
def test_a_bad_scope_is_refused_naming_the_field(
    fleet: Fleet, body: dict[str, Any], field: str, words: str
) -> None:
    r = fleet.post("olga", "/fleet/stop", json=body)
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["field"] == field and words in item["msg"], item
    assert fleet.instant_actions() == []


def test_assemble_without_an_assembly_zone_says_so_per_robot(fleet: Fleet) -> None:
    r = fleet.post("sofia", "/fleet/assemble")
    assert r.status_code == 200, r.text
    # unit-7 draws no assembly zone, and the robots have not reported where they are
    assert r.json() == {"robots": {"hazfleet-sim/sim-01": None, "hazfleet-sim/sim-02": None}}


def test_clear_needs_a_released_mission_and_a_known_zone(fleet: Fleet) -> None:
    r = fleet.post("sofia", "/missions", json=patrol())
    mission_id = r.json()["id"]
    r = fleet.post("olga", f"/missions/{mission_id}/clear")
    assert r.status_code in (409, 200), r.text
    for _ in range(3):  # release and submit
        fleet.bridge.step()
        fleet.controller.step()
    r = fleet.post("olga", f"/missions/{mission_id}/clear", json={"zones": ["moon"]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "zones"
    r = fleet.post("olga", f"/missions/{mission_id}/clear")
    assert r.status_code == 409 and "waits for no clearance" in r.json()["detail"]
    r = fleet.post("olga", f"/missions/{mission_id}/clear", json={"zones": ["pump-bay-zone1"]})
    assert r.status_code == 200, r.text
    assert r.json()["cleared"] == ["pump-bay-zone1"]
    assert r.json()["mission"]["run"]["outcome"] == "pending"
    assert fleet.post("vic", f"/missions/{mission_id}/clear").status_code == 403
    assert fleet.post("olga", "/missions/nope/clear").status_code == 404


def test_without_a_controller_the_fleet_endpoints_answer_503(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'nofleet.db'}") as store:
        store.migrate()
        token = new_token()
        store.add_user("olga", "operator", hash_token(token))
        service = MissionService(store, SystemClock(), {DEFAULT_SITE.map_id: DEFAULT_SITE})
        app = create_app(service, store, robots=lambda: [])
        with ServerThread(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            r = http.post("/api/v1/fleet/stop", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and "no controller" in r.json()["detail"]

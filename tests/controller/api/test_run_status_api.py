"""A mission's ``run`` in the API: the controller's view of its current run, with the
allocator's reason when no robot can take it (docs/allocation.md), over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.api.app import create_app
from controller.api.tokens import hash_token, new_token
from controller.missions_bridge import ControllerBridge
from controller.missions_service import MissionService
from controller.service import Controller
from controller.store import Store
from drivers.bus import InMemoryBus
from drivers.clock import SystemClock
from missions.fleet import RobotRef
from tests.controller.api.conftest import DEFAULT_SITE, ServerThread
from tests.controller.api.test_api import patrol


def test_a_mission_no_robot_can_take_shows_why_in_its_run(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        store.migrate()
        token = new_token()
        store.add_user("sofia", "safety_officer", hash_token(token))
        clock = SystemClock()
        service = MissionService(store, clock, {DEFAULT_SITE.map_id: DEFAULT_SITE})
        bridge = ControllerBridge(service, clock, tick_interval_s=0)
        fleet = [RobotRef(manufacturer="hazfleet-sim", serial="sim-01")]  # never online
        controller = Controller(InMemoryBus(), clock, DEFAULT_SITE, fleet, on_event=bridge.on_event)
        bridge.attach(controller)
        controller.start()
        app = create_app(service, store, robots=controller.robots, runs=controller.missions)
        with ServerThread(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            auth = {"Authorization": f"Bearer {token}"}
            r = http.post("/api/v1/missions", json=patrol(), headers=auth)
            assert r.status_code == 201, r.text
            mission_id = r.json()["id"]
            for _ in range(3):  # release, submit, allocate
                bridge.step()
                controller.step()
            shown = http.get(f"/api/v1/missions/{mission_id}", headers=auth).json()
        controller.shutdown()
    run = shown["run"]
    assert run is not None and run["outcome"] == "pending" and run["robot"] is None
    assert run["priority"] == "routine" and run["runs"] == 0
    assert run["waiting"].startswith("unassignable ("), run

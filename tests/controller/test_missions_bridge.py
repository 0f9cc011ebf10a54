"""The mission service driving the real Controller and a simulated robot on the default
site, in memory, with the real store (SQLite file; PostgreSQL where reachable)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.events import ControllerEvent
from controller.missions_bridge import ControllerBridge, parse_mission_event
from controller.missions_service import MissionService
from controller.service import Controller, ControllerSettings
from controller.store import Store
from drivers.bus import InMemoryBus
from drivers.errors import StoreError
from missions.capabilities import HazardRating, RobotConfig
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.fleet_settings import FleetPlanSettings
from missions.lifecycle import MissionState
from missions.mission import MissionOutcome
from missions.model import MissionRequest, Schedule, Target
from simulator.robot import SimRobot, SimRobotSpec
from simulator.scenario import load_scenario
from tests.controller.store.conftest import store_url  # noqa: F401  (fixture)

S = MissionState
SCENARIO = load_scenario(Path(__file__).parents[2] / "config" / "drills" / "default.yaml")
SITE = SCENARIO.site
MANUFACTURER = SCENARIO.robots[0].manufacturer
SERIAL = "sim-01"
IFACE = "t"
MON = datetime(2026, 3, 2, tzinfo=UTC)
DT_S = 0.1


class Plant:
    """One controller (with its service and bridge) and one robot on a shared clock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = FakeClock(MON.timestamp())
        self.bus = InMemoryBus()
        self.robot = SimRobot(
            SimRobotSpec(
                manufacturer=MANUFACTURER, serial=SERIAL, start_node="dock", max_speed_m_s=1.2
            ),
            SITE,
            self.bus.client(),
            self.clock,
            interface=IFACE,
        )
        self.robot.start()
        self.stores: list[Store] = []
        self.boot()

    def boot(self) -> None:
        """(Re)start the controller side: new store handle, service, controller, bridge."""
        store = Store(self.url)
        store.migrate()
        self.stores.append(store)
        self.service = MissionService(store, self.clock, {SITE.map_id: SITE})
        self.bridge, self.controller = ControllerBridge.wire(
            self.service,
            self.clock,
            lambda on_event: Controller(
                self.bus.client(),
                self.clock,
                SITE,
                [RobotRef(manufacturer=MANUFACTURER, serial=SERIAL)],
                ControllerSettings(
                    interface=IFACE,
                    # the pump bay is a zone 1 area: the robot must be rated for it
                    fleet_plan=FleetPlanSettings(
                        robots={f"{MANUFACTURER}/{SERIAL}": RobotConfig(rating=HazardRating.ZONE_1)}
                    ),
                ),
                on_event=on_event,
            ),
        )
        self.controller.start()
        self.resubmitted = self.bridge.start()

    def run(self, seconds: float, dt_s: float = DT_S) -> None:
        for _ in range(round(seconds / dt_s)):
            self.clock.advance(dt_s)
            self.controller.step()
            self.bridge.step()
            self.robot.step()

    def run_until(self, mission_id: str, state: MissionState, limit_s: float = 300) -> None:
        waited = 0.0
        while self.service.get(mission_id).state is not state:
            assert waited < limit_s, f"{mission_id} is {self.service.get(mission_id).state}"
            self.run(1.0)
            waited += 1.0

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def plant(store_url: str) -> Iterator[Plant]:  # noqa: F811
    p = Plant(store_url)
    yield p
    p.close()


def request(template: str, target: str, **extra: Any) -> MissionRequest:
    fields: dict[str, Any] = {
        "name": f"{template} at {target}",
        "template": template,
        "site": SITE.map_id,
        "targets": [Target(kind="node", id=target)],
        "params": {"return_to": "dock"},
    }
    return MissionRequest(**(fields | extra))


def test_submit_approve_tick_complete_end_to_end(plant: Plant) -> None:
    gas = request(
        "gas_leak_survey", "pump-p101", id="gas-1", params={"dwell_s": 10, "return_to": "dock"}
    )
    view, _ = plant.service.create(gas, "alice", idempotency_key="k-1")
    assert view.state is S.SUBMITTED  # pump bay: a permit is required
    plant.run(5)
    assert plant.service.get("gas-1").state is S.SUBMITTED  # nothing moves unapproved
    plant.service.approve("gas-1", "bob", "safety_officer", "gas detector bump-tested")
    plant.run_until("gas-1", S.ACTIVE, limit_s=10)
    assert plant.service.get("gas-1").robot == SERIAL
    plant.run_until("gas-1", S.COMPLETED)
    view = plant.service.get("gas-1")
    assert [t.to_state.value for t in view.history] == [
        "draft",
        "submitted",
        "approved",
        "scheduled",
        "dispatched",
        "active",
        "completed",
    ]
    assert [t.by for t in view.history][-4:] == [
        "scheduler",
        "scheduler",
        "controller",
        "controller",
    ]
    assert plant.robot.snapshot.last_node_id == "dock"
    assert plant.robot.messages_rejected == 0


def test_a_user_cancel_stops_the_robot_and_ends_cancelled(plant: Plant) -> None:
    plant.service.create(request("patrol", "tank-t3", id="p-1"), "alice", idempotency_key=None)
    plant.run_until("p-1", S.ACTIVE, limit_s=10)
    plant.run(5)
    assert plant.robot.snapshot.driving
    assert plant.service.cancel("p-1", "olga", "fire alarm").state is S.CANCELLED
    plant.run(3)
    assert not plant.robot.snapshot.driving
    status = next(m for m in plant.controller.missions() if m.id == "p-1")
    assert status.outcome is MissionOutcome.ABORTED
    view = plant.service.get("p-1")
    assert view.state is S.CANCELLED and view.history[-1].by == "olga"


def test_pause_and_resume_reach_the_robot(plant: Plant) -> None:
    plant.service.create(request("patrol", "tank-t3", id="p-1"), "alice", idempotency_key=None)
    plant.run_until("p-1", S.ACTIVE, limit_s=10)
    plant.run(3)
    plant.service.pause("p-1", "olga", "visitor in the aisle")
    plant.run(2)
    x_m = plant.robot.snapshot.x_m
    plant.run(5)
    assert plant.robot.snapshot.x_m == x_m and plant.robot.snapshot.paused
    plant.service.resume("p-1", "olga")
    plant.run_until("p-1", S.COMPLETED)


def test_restart_resumes_a_released_mission_the_robot_never_got(plant: Plant) -> None:
    plant.service.create(request("patrol", "tank-t3", id="p-1"), "alice", idempotency_key=None)
    plant.bridge.step()  # released and submitted, but the controller never stepped
    assert plant.service.get("p-1").state is S.DISPATCHED
    plant.controller.shutdown()
    plant.boot()  # a new process on the same database
    assert plant.resubmitted == ["p-1"]
    plant.run_until("p-1", S.COMPLETED)
    assert plant.robot.snapshot.last_node_id == "dock"


def test_restart_while_the_robot_runs_the_order(plant: Plant) -> None:
    """The new controller re-sends the run under the same orderId and orderUpdateId (the
    dispatcher numbers orders per run id); the simulated robot takes it for a resend of
    the order it is running, and the mission completes.  (A robot that judges otherwise
    answers orderUpdateError, and the mission fails with that reason.)"""
    plant.service.create(request("patrol", "tank-t3", id="p-1"), "alice", idempotency_key=None)
    plant.run_until("p-1", S.ACTIVE, limit_s=10)
    plant.run(3)
    plant.controller.shutdown()
    plant.boot()
    assert plant.resubmitted == ["p-1"]
    plant.run_until("p-1", S.COMPLETED)
    assert plant.robot.snapshot.last_node_id == "dock"
    assert plant.robot.messages_rejected == 0


def test_recurring_occurrences_each_run_once_and_map_back(plant: Plant) -> None:
    hourly = Schedule(kind="recurring", rrule="FREQ=HOURLY", dtstart=MON + timedelta(minutes=1))
    round_trip = request("patrol", "aisle-2", id="round", schedule=hourly)
    plant.service.create(round_trip, "alice", idempotency_key=None)
    plant.run(50, dt_s=10.0)  # 00:00:50, idle
    plant.run(50)  # the 00:01 occurrence runs (about 22 s there and back)
    assert plant.service.get("round").state is S.SCHEDULED
    plant.run(3540, dt_s=30.0)  # 01:00:40, idle
    plant.run(60)  # the 01:01 occurrence
    view = plant.service.get("round")
    assert view.state is S.SCHEDULED
    statuses = plant.controller.missions()
    assert [m.id for m in statuses] == ["round:20260302T000100Z", "round:20260302T010100Z"]
    assert all(m.outcome is MissionOutcome.COMPLETED for m in statuses)
    completed = [t.reason for t in view.history if "completed" in t.reason]
    assert len(completed) == 2 and "round:20260302T010100Z" in completed[-1]
    assert [r.status for r in plant.service.releases("round")] == ["released", "released"]


def test_mission_events_are_parsed_and_others_ignored() -> None:
    assert parse_mission_event("completed: all nodes reached") == (
        MissionOutcome.COMPLETED,
        "all nodes reached",
    )
    assert parse_mission_event("cancel requested") is None
    assert parse_mission_event("aborted") == (MissionOutcome.ABORTED, "")


def test_the_bridge_keeps_outcomes_it_could_not_store(
    plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant.service.create(request("patrol", "tank-t3", id="p-1"), "alice", idempotency_key=None)
    plant.bridge.step()
    calls: list[str] = []

    def unreachable(run: str, *args: Any, **kwargs: Any) -> None:
        calls.append(run)
        raise StoreError("database unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(plant.service, "on_outcome", unreachable)
        plant.bridge.on_event(ControllerEvent(0.0, "mission", "p-1", "active: acknowledged"))
        plant.bridge.step()
        plant.bridge.step()
    assert calls == ["p-1", "p-1"]  # kept and tried again, in order
    assert plant.service.get("p-1").state is S.DISPATCHED
    plant.bridge.step()  # the database is back: the queued outcome is applied
    assert plant.service.get("p-1").state is S.ACTIVE

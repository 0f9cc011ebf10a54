"""A finished mission's findings reach its history: the real Controller and a simulated
robot on the default site, in memory, with the real store (as in test_missions_bridge)."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controller.dispatcher import MissionStatus
from controller.missions_bridge import ControllerBridge, ordered_results
from controller.missions_service import MissionService
from controller.service import Controller, ControllerSettings
from controller.store import Store
from drivers.bus import InMemoryBus
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.lifecycle import MissionState
from missions.mission import MissionOutcome
from missions.model import MissionRequest, Target
from simulator.environment import CleanAir, Environment
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
COMPRESSOR_XY_M = (12.0, 6.0)
TANK_T3_XY_M = (18.0, 6.0)


class Spot:
    """Clean air, except ``quantity`` reads ``value`` within 1 m of ``(x_m, y_m)``."""

    def __init__(self, quantity: str, value: float, xy_m: tuple[float, float]) -> None:
        self._quantity = quantity
        self._value = value
        self._xy_m = xy_m

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        near = math.dist((x_m, y_m), self._xy_m) <= 1.0
        if quantity == self._quantity and near:
            return self._value
        return CleanAir().sample(quantity, x_m, y_m, t_s)


class Plant:
    """One controller, its mission service and bridge, and one robot on a shared clock."""

    def __init__(self, url: str, environment: Environment | None = None) -> None:
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
            rng=np.random.default_rng(7),
            environment=environment,
        )
        self.robot.start()
        self.store = Store(url)
        self.store.migrate()
        self.service = MissionService(self.store, self.clock, {SITE.map_id: SITE})
        self.bridge, self.controller = ControllerBridge.wire(
            self.service,
            self.clock,
            lambda on_event: Controller(
                self.bus.client(),
                self.clock,
                SITE,
                [RobotRef(manufacturer=MANUFACTURER, serial=SERIAL)],
                ControllerSettings(interface=IFACE),
                on_event=on_event,
            ),
        )
        self.controller.start()
        self.bridge.start()

    def run_until(self, mission_id: str, state: MissionState, limit_s: float = 300) -> None:
        waited_s = 0.0
        while self.service.get(mission_id).state is not state:
            assert waited_s < limit_s, f"{mission_id} is {self.service.get(mission_id).state}"
            for _ in range(round(1.0 / DT_S)):
                self.clock.advance(DT_S)
                self.controller.step()
                self.bridge.step()
                self.robot.step()
            waited_s += 1.0


@pytest.fixture
def make_plant(store_url: str) -> Iterator[Any]:  # noqa: F811
    plants: list[Plant] = []

    def make(environment: Environment | None = None) -> Plant:
        plants.append(Plant(store_url, environment))
        return plants[-1]

    yield make
    for plant in plants:
        plant.store.close()


def confined_space(mission_id: str, sensor_t90_s: float = 1) -> MissionRequest:
    return MissionRequest(
        id=mission_id,
        name="pre-entry test, tank T3",
        template="confined_space_entry",
        site=SITE.map_id,
        targets=[Target(kind="asset", id="tank-t3")],
        params={
            "heights_m": [4.0, 2.0, 0.3],
            "dwell_s": 1,
            "sensor_t90_s": sensor_t90_s,
            "return_to": "dock",
        },
    )


def thermal(mission_id: str, **params: Any) -> MissionRequest:
    return MissionRequest(
        id=mission_id,
        name="thermal inspection, compressor",
        template="thermal_inspection",
        site=SITE.map_id,
        targets=[Target(kind="asset", id="compressor")],
        params={"scan_s": 2, "return_to": "dock", **params},
    )


def test_confined_space_in_clean_air_ends_with_entry_permitted(make_plant: Any) -> None:
    plant: Plant = make_plant()
    plant.service.create(confined_space("cse-1"), "alice", idempotency_key=None)
    plant.run_until("cse-1", S.COMPLETED)
    view = plant.service.get("cse-1")
    last = view.history[-1]
    assert last.to_state is S.COMPLETED and last.by == "controller"
    assert "; entry verdict ENTRY_PERMITTED: 3 test(s) at tank-t3" in last.reason
    assert view.outcome_reason is not None
    assert view.outcome_reason.startswith("completed: ")
    assert "entry verdict ENTRY_PERMITTED" in view.outcome_reason


def test_oxygen_deficient_tank_prohibits_entry_and_warns(
    make_plant: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plant: Plant = make_plant(Spot("O2", 18.0, TANK_T3_XY_M))
    # The robot's O2 cell has t90 = 30 s: a 1 s dwell would read ~20.5 %vol and permit
    # entry into an 18 %vol tank.  The template dwells the t90 it is told, so tell it.
    plant.service.create(confined_space("cse-2", sensor_t90_s=30), "alice", idempotency_key=None)
    with caplog.at_level(logging.INFO, logger="controller.missions_service"):
        plant.run_until("cse-2", S.COMPLETED, limit_s=600)
    view = plant.service.get("cse-2")
    assert view.outcome_reason is not None
    # after t90 the cell still carries 10 % of the 2.9 %vol step: 18.3 %vol, give or take
    # its noise (sd 0.05 %vol)
    assert re.search(
        r"entry verdict ENTRY_PROHIBITED: height 1 \(4 m\): O2 18\.[1-5] %vol is below "
        r"19\.5 %vol",
        view.outcome_reason,
    ), view.outcome_reason
    assert "(+2 more)" in view.outcome_reason  # every height is deficient
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ENTRY_PROHIBITED" in r.getMessage() for r in warnings)


def test_thermal_inspection_carries_the_neta_grade(
    make_plant: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plant: Plant = make_plant(Spot("temperature", 50.0, COMPRESSOR_XY_M))
    plant.service.create(thermal("th-1", ambient_c=20.0), "alice", idempotency_key=None)
    with caplog.at_level(logging.INFO, logger="controller.missions_service"):
        plant.run_until("th-1", S.COMPLETED)
    view = plant.service.get("th-1")
    assert "; thermal: compressor ΔT " in view.history[-1].reason  # 50 °C ± sensor noise
    assert view.outcome_reason is not None
    assert "over ambient 20 °C → NETA class 2 (monitor until corrected)" in view.outcome_reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("NETA class 2" in m and "compressor: max 5" in m for m in warnings)


def test_clean_thermal_inspection_reports_no_deficiency_without_warning(
    make_plant: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plant: Plant = make_plant()
    plant.service.create(thermal("th-2", ambient_c=20.0), "alice", idempotency_key=None)
    with caplog.at_level(logging.INFO, logger="controller.missions_service"):
        plant.run_until("th-2", S.COMPLETED)
    reason = plant.service.get("th-2").outcome_reason
    assert reason is not None and "thermal: no deficiency in 1 scan(s)" in reason
    findings_logs = [r for r in caplog.records if "thermal:" in r.getMessage()]
    assert findings_logs and all(r.levelno == logging.INFO for r in findings_logs)


def test_a_failed_run_records_the_findings_so_far(make_plant: Any) -> None:
    plant: Plant = make_plant()
    plant.service.create(confined_space("cse-3"), "alice", idempotency_key=None)
    plant.run_until("cse-3", S.ACTIVE, limit_s=10)
    first = '{"readings":{"O2":{"value":20.9,"unit":"%vol"},"LEL":{"value":0,"unit":"%LEL"}}}'
    plant.service.on_outcome("cse-3", MissionOutcome.FAILED, "robot lost", results=[first])
    reason = plant.service.get("cse-3").outcome_reason
    assert reason == (
        "failed: robot lost; findings so far: entry verdict ENTRY_PROHIBITED: expected 3 "
        "atmospheric test results (1 target(s) x 3 height(s)), got 1 (+2 more)"
    )


def test_an_old_caller_without_results_never_passes_a_confined_space(make_plant: Any) -> None:
    plant: Plant = make_plant()
    plant.service.create(confined_space("cse-4"), "alice", idempotency_key=None)
    plant.run_until("cse-4", S.ACTIVE, limit_s=10)
    plant.service.on_outcome("cse-4", MissionOutcome.COMPLETED, "all nodes reached")
    reason = plant.service.get("cse-4").outcome_reason
    assert reason is not None
    assert reason.startswith("completed: all nodes reached; entry verdict ENTRY_PROHIBITED")


def test_a_patrol_has_no_findings(make_plant: Any) -> None:
    plant: Plant = make_plant()
    patrol = MissionRequest(
        id="p-1",
        name="patrol",
        template="patrol",
        site=SITE.map_id,
        targets=[Target(kind="node", id="aisle-2")],
        params={"return_to": "dock"},
    )
    plant.service.create(patrol, "alice", idempotency_key=None)
    plant.run_until("p-1", S.COMPLETED)
    assert (
        plant.service.get("p-1").outcome_reason == "completed: reached 'dock', all actions finished"
    )


def _status(order_id: str | None, results: dict[str, str]) -> MissionStatus:
    return MissionStatus(
        id="run",
        robot=SERIAL,
        outcome=MissionOutcome.COMPLETED,
        order_id=order_id,
        order_update_id=0,
        nodes_done=0,
        nodes_total=0,
        actions_finished=0,
        actions_total=0,
        reason=None,
        action_results=results,
        accepted_at_s=0.0,
        sent_at_s=None,
        acknowledged_at_s=None,
        ended_at_s=None,
    )


def test_results_are_ordered_by_step_and_index_as_numbers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results = {
        "r:1-1:10:0": "step 10",
        "r:1-1:2:1": "step 2, second",
        "r:1-1:2:0": "step 2, first",
        "r:1-1:9:0": "step 9",
        "r:1-0:0:0": "an earlier order",
        "r:1-1:x:0": "not ours",
    }
    with caplog.at_level(logging.WARNING, logger="controller.missions_bridge"):
        ordered = ordered_results(_status("r:1-1", results))
    assert ordered == ["step 2, first", "step 2, second", "step 9", "step 10"]
    assert len(caplog.records) == 2
    assert "'r:1-0:0:0' left out" in caplog.records[0].getMessage()
    assert ordered_results(_status(None, {"a:0:0": json.dumps({})})) == []

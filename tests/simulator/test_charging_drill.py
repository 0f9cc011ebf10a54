"""Charging through the real broker: the controller sends a robot low on charge to the
charger, the simulated robot charges there and says so, then works; two low robots do
not share the one bay (simulator/robot_engine.py, missions/allocation.py,
controller/charging.py).  Unit tests: tests/simulator/test_robot_charging.py,
tests/missions/test_allocation.py, tests/controller/test_charging.py."""

from __future__ import annotations

from typing import Any

import pytest

from controller.events import ControllerEvent
from missions.mission import MissionOutcome
from simulator.drill import DrillProgress, DrillResult
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest
from tests.simulator.drill_harness import embedded_drill
from tests.simulator.test_fleet_drills import DRILLS

pytestmark = pytest.mark.broker

RATE = 2.0
"""%/s: fast charging keeps the drill short (20 -> 90 % in 35 s)"""


def low_robot(serial: str, node: str, pct: float) -> dict[str, Any]:
    return {
        "serial": serial,
        "start_node": node,
        "start_battery_pct": pct,
        "charge_pct_per_s": RATE,
        "battery_model": {"charge_pct_per_s": RATE},
    }


def photo(mission_id: str, node: str) -> dict[str, Any]:
    return {"id": mission_id, "steps": [{"node": node, "actions": [{"type": "captureImage"}]}]}


def scenario(robots: list[dict[str, Any]], missions: list[dict[str, Any]]) -> Scenario:
    """robot-lost-short's unit-7 site: its only charger bay is ``dock``."""
    data = load_scenario(DRILLS / "robot-lost-short.yaml").model_dump(mode="json")
    data.update(
        {"robots": robots, "missions": missions, "faults": [], "success": {"timeout_s": 400}}
    )
    return Scenario.model_validate(data)


Sample = tuple[float, float | None, bool | None]


def run(sc: Scenario, broker: BrokerUnderTest) -> tuple[DrillResult, dict[str, list[Sample]]]:
    """The result with every event, and per robot serial (sim s, battery %, charging) as
    the controller saw it each simulated second."""
    events: list[ControllerEvent] = []
    seen: dict[str, list[Sample]] = {}

    def collect(p: DrillProgress) -> None:
        events.extend(p.events)
        for r in p.robots:
            seen.setdefault(r.serial, []).append((p.sim_s, r.battery_pct, r.charging))

    runner = embedded_drill(
        sc, broker, "charging", 0, broker=broker.embedded, on_progress=collect, progress_every_s=1.0
    )
    result = runner.run()
    result.events = events
    return result, seen


def at(result: DrillResult, subject: str, detail: str) -> float:
    """When the first event of ``subject`` starting with ``detail`` came."""
    return next(
        e.at_s for e in result.events if e.subject == subject and e.detail.startswith(detail)
    )


def test_a_low_robot_charges_at_the_charger_then_completes_a_mission(
    broker: BrokerUnderTest,
) -> None:
    sc = scenario([low_robot("low", "aisle-2", 20.0)], [photo("tank-photo", "tank-t3")])
    result, seen = run(sc, broker)
    assert result.passed, result.failures
    (m,) = result.missions
    assert m.outcome == MissionOutcome.COMPLETED and m.robot == "low"
    sent = at(result, "hazfleet-sim/low", "to charger dock")
    samples = seen["low"]
    charging = [(t, b) for t, b, c in samples if c]
    assert charging, "the robot never reported charging"
    levels = [b for _, b in charging if b is not None]
    assert levels == sorted(levels) and levels[-1] > levels[0] + 50  # rising, by a lot
    assert all(t > sent for t, _ in charging)
    # the mission went out once it had charged to charge_to_pct (90 %), not before (a
    # sample is up to 1 s = 2 % old)
    dispatched = at(result, "tank-photo", "dispatched")
    before = [b for t, b, _ in samples if t <= dispatched and b is not None]
    assert before[-1] >= 88.0 and dispatched > charging[0][0]


def test_two_low_robots_and_one_bay_take_turns(broker: BrokerUnderTest) -> None:
    sc = scenario(
        [low_robot("lo-a", "aisle-2", 18.0), low_robot("lo-b", "tank-farm", 20.0)],
        [photo("photo-1", "compressor"), photo("photo-2", "tank-t3")],
    )
    result, seen = run(sc, broker)
    assert result.passed, result.failures
    assert {m.outcome for m in result.missions} == {MissionOutcome.COMPLETED}
    # lo-a, lowest, had the bay; lo-b was told why it waits, and went once lo-a left it
    a_sent = at(result, "hazfleet-sim/lo-a", "to charger dock")
    b_waits = at(result, "hazfleet-sim/lo-b", "low on charge, waiting")
    b_sent = at(result, "hazfleet-sim/lo-b", "to charger dock")
    a_leaves = min(at(result, m.id, "dispatched") for m in result.missions if m.robot == "lo-a")
    assert a_sent <= b_waits < a_leaves <= b_sent
    said = [e.detail for e in result.events if e.subject == "hazfleet-sim/lo-b"]
    why = (
        "low on charge, waiting: its only reachable charger bay is taken: dock (hazfleet-sim/lo-a)"
    )
    assert said.count(why) == 1
    # both charged, one after the other
    for serial in ("lo-a", "lo-b"):
        assert any(c for _, _, c in seen[serial]), serial


def test_a_charged_robot_idle_on_the_only_bay_makes_room_for_a_low_one(
    broker: BrokerUnderTest,
) -> None:
    full = low_robot("full", "dock", 95.0)  # charged, idle on the only bay at the start
    # a late mission for "full" keeps the drill running while "low" charges
    late = {**photo("late-photo", "tank-t3"), "robot": "full", "at_s": 12.0}
    sc = scenario([full, low_robot("low", "aisle-2", 20.0)], [late])
    result, seen = run(sc, broker)
    assert result.passed, result.failures
    moved = at(result, "hazfleet-sim/full", "moved off charger bay dock to free it for")
    sent = at(result, "hazfleet-sim/low", "to charger dock")
    assert moved <= sent
    said = [e.detail for e in result.events if e.subject == "hazfleet-sim/full"]
    assert sum(d.startswith("moved off") for d in said) == 1
    assert not any(d.startswith("to charger") for d in said)  # not sent back: no ping-pong
    charging = [b for t, b, c in seen["low"] if c and t > sent and b is not None]
    assert len(charging) >= 2 and charging == sorted(charging) and charging[-1] > charging[0]

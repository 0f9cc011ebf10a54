"""Allocation over the real broker with simulated robots: preemption, robot loss and
reassignment (controller/fleet_plan.py, docs/allocation.md).  The unit tests with
hand-played robots are in tests/controller/test_allocation_dispatch.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.events import ControllerEvent
from missions.mission import MissionOutcome
from simulator.drill import DrillProgress, DrillResult
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest
from tests.simulator.drill_harness import embedded_drill

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "config" / "drills"

pytestmark = pytest.mark.broker


def run(
    scenario: Scenario,
    broker: BrokerUnderTest,
    seed: int = 0,
    charging: dict[str, list[tuple[float, bool]]] | None = None,
) -> DrillResult:
    """The drill's result, with every controller event in ``result.events``; ``charging``
    gets per robot serial (battery %, charging) as the controller saw it each second."""
    seen: list[ControllerEvent] = []

    def collect(p: DrillProgress) -> None:
        seen.extend(p.events)
        if charging is not None:
            for r in p.robots:
                if r.battery_pct is not None and r.charging is not None:
                    charging.setdefault(r.serial, []).append((r.battery_pct, r.charging))

    runner = embedded_drill(
        scenario,
        broker,
        "fleet",
        seed,
        broker=broker.embedded,
        on_progress=collect,
        progress_every_s=1.0,
    )
    result = runner.run()
    result.events = seen
    return result


def unit7(**changes: Any) -> Scenario:
    """robot-lost-short's site with two zone-1 robots and no fault, missions replaced."""
    data = load_scenario(DRILLS / "robot-lost-short.yaml").model_dump(mode="json")
    for r in data["robots"]:
        r["area_rating"] = "zone_1"
    data.update({"faults": [], "missions": [], **changes})
    return Scenario.model_validate(data)


SURVEY = {
    "id": "survey",
    "steps": [
        {"node": "pump-p101", "actions": [{"type": "measureGas", "params": {"duration_s": 30}}]},
        {"node": "pump-p102", "actions": [{"type": "measureGas", "params": {"duration_s": 30}}]},
        {"node": "dock"},
    ],
}


def mission_events(result: DrillResult, mission_id: str) -> list[str]:
    return [e.detail for e in result.events if e.kind == "mission" and e.subject == mission_id]


def test_a_lost_robots_mission_completes_on_another_robot_and_runs_once(
    broker: BrokerUnderTest,
) -> None:
    # sim-01 (the faster: the allocator's choice) loses its link 12 s in, for 8 s
    sc = unit7(
        missions=[SURVEY],
        faults=[{"kind": "link_loss", "robot": "sim-01", "at_s": 12, "duration_s": 8}],
    )
    result = run(sc, broker, seed=4)
    assert result.passed, result.failures
    (survey,) = result.missions
    assert survey.outcome == MissionOutcome.COMPLETED
    assert survey.robot == "sim-02" and survey.runs == 2
    details = mission_events(result, "survey")
    assert any(
        d.startswith("dispatched: order survey-1 sent to hazfleet-sim/sim-01") for d in details
    )
    assert any("lost (connection CONNECTIONBROKEN); reassigning" in d for d in details)
    # sim-01 came back still holding the first order: it was told to drop it, so the
    # survey never ran on two robots at once
    assert any(
        d.startswith("cleanup: hazfleet-sim/sim-01 still ran order survey-1") for d in details
    )
    assert sum(d.startswith("completed") for d in details) == 1
    sim01 = next(r for r in result.robots if r.serial == "sim-01")
    assert sim01.order_id == "survey-1" and not sim01.driving
    assert result.messages_lost == 0


def test_an_emergency_preempts_a_routine_mission_which_then_completes(
    broker: BrokerUnderTest,
) -> None:
    data = unit7().model_dump(mode="json")
    data["robots"] = data["robots"][:1]  # one robot: the emergency must displace
    fire = {
        "id": "fire",
        "priority": "emergency",
        "at_s": 8,
        "steps": [
            {
                "node": "compressor",
                "actions": [{"type": "thermalScan", "params": {"duration_s": 5}}],
            }
        ],
    }
    data["missions"] = [SURVEY, fire]
    result = run(Scenario.model_validate(data), broker, seed=1)
    assert result.passed, result.failures
    outcome = {m.id: m for m in result.missions}
    assert outcome["fire"].outcome == MissionOutcome.COMPLETED
    assert outcome["survey"].outcome == MissionOutcome.COMPLETED
    assert outcome["survey"].runs == 2 and outcome["fire"].runs == 1
    survey = mission_events(result, "survey")
    assert "pending: displaced from hazfleet-sim/sim-01 by an emergency mission" in survey
    # the emergency finished before the survey ran again
    fire_done = next(
        e.at_s for e in result.events if e.subject == "fire" and e.detail.startswith("completed")
    )
    again = next(
        e.at_s
        for e in result.events
        if e.subject == "survey" and e.detail.startswith("dispatched: order survey-2")
    )
    assert fire_done <= again


def shortened(scenario: Scenario, factor: float) -> Scenario:
    """The drill with every action's ``duration_s`` divided by ``factor`` (a short run of
    the same fleet, missions, priorities and fault)."""
    data = scenario.model_dump(mode="json")
    for mission in data["missions"]:
        for step in mission["steps"]:
            for action in step["actions"]:
                if "duration_s" in action["params"]:
                    action["params"]["duration_s"] = action["params"]["duration_s"] / factor
    return Scenario.model_validate(data)


def test_the_fleet_20_drill_completes_every_mission_once(broker: BrokerUnderTest) -> None:
    bundled = load_scenario(DRILLS / "fleet-20.yaml")
    assert len(bundled.robots) >= 20 and len(bundled.missions) >= 30
    assert {m.priority.value for m in bundled.missions} == {"routine", "urgent", "emergency"}
    batteries: dict[str, list[tuple[float, bool]]] = {}
    result = run(shortened(bundled, 3.0), broker, seed=7, charging=batteries)
    assert result.passed, result.failures
    assert {m.outcome for m in result.missions} == {MissionOutcome.COMPLETED}
    events = [(e.subject, e.detail) for e in result.events]
    # the emergency displaced a routine dose-rate survey, which then ran again
    displaced = [s for s, d in events if d.startswith("pending: displaced from")]
    assert len(displaced) == 1 and displaced[0] in ("dose-s7", "dose-n6")
    # gas-2 failed mid-mission: its mission went back to the queue and ran elsewhere
    lost = [s for s, d in events if "hazfleet-sim/gas-2 lost" in d]
    assert len(lost) == 1
    again = next(m for m in result.missions if m.id == lost[0])
    assert again.robot != "gas-2" and again.runs == 2
    # ... and when gas-2 came back still holding that order, it was told to drop it
    assert any(
        s == lost[0] and d.startswith("cleanup: hazfleet-sim/gas-2 still ran") for s, d in events
    )
    # cam-4 started low and was sent to the charger
    assert ("hazfleet-sim/cam-4", "to charger c0") in events
    # ... where it charged, its charge rising (docs/drills.md)
    charged = [pct for pct, on in batteries["cam-4"] if on]
    assert len(charged) >= 2 and charged == sorted(charged) and charged[-1] > charged[0]
    # none ran twice: one completion each, and the drill checks no given-up order finished
    completions = [
        e.subject for e in result.events if e.kind == "mission" and e.detail.startswith("completed")
    ]
    assert sorted(completions) == sorted(m.id for m in result.missions)

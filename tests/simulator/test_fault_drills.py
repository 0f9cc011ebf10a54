"""Drills with faults on their timeline, over a real broker (simulator/fault_injector.py).

Run on the embedded Mosquitto only: a broker outage needs a broker the drill may stop,
and what is checked here (outcomes, determinism, nothing lost) does not depend on which
broker carries the messages, which test_drill.py already covers on every one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from missions.mission import MissionOutcome
from simulator.drill import DrillProgress, DrillResult
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest
from tests.simulator.drill_harness import embedded_drill

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "config" / "drills"

pytestmark = pytest.mark.broker


def with_faults(scenario: Scenario, faults: list[dict[str, Any]], **changes: Any) -> Scenario:
    data = scenario.model_dump(mode="json")
    data.update(faults=faults, **changes)
    return Scenario.model_validate(data)


def run(
    scenario: Scenario,
    broker: BrokerUnderTest,
    seed: int = 0,
    *,
    on_progress: Any = None,
    embedded: bool = True,
) -> DrillResult:
    runner = embedded_drill(
        scenario,
        broker,
        "fault",
        seed,
        broker=broker.embedded if embedded else None,
        on_progress=on_progress,
    )
    return runner.run()


def outcomes(result: DrillResult) -> dict[str, MissionOutcome]:
    return {m.id: m.outcome for m in result.missions}


def fingerprint(result: DrillResult) -> list[Any]:
    return [
        (m.id, m.outcome, m.reason, m.nodes_done, m.actions_finished, dict(m.action_results))
        for m in result.missions
    ] + [result.sim_seconds, result.faults]


def single_survey() -> Scenario:
    """robot-lost-short without its fault and with sim-01's gas survey only."""
    sc = load_scenario(DRILLS / "robot-lost-short.yaml")
    return with_faults(sc, [], missions=[sc.missions[0].model_dump(mode="json")])


def test_robot_lost_drill_aborts_the_lost_robots_mission_and_completes_the_others(
    broker: BrokerUnderTest,
) -> None:
    result = run(load_scenario(DRILLS / "robot-lost.yaml"), broker, seed=3)
    assert result.passed, result.failures
    assert outcomes(result) == {
        "gas-survey-pump-bay": MissionOutcome.ABORTED,
        "thermal-compressor": MissionOutcome.COMPLETED,
        "tank-round": MissionOutcome.COMPLETED,
    }
    lost = next(m for m in result.missions if m.id == "gas-survey-pump-bay")
    assert lost.reason is not None and "robot lost" in lost.reason
    assert result.messages_lost == 0
    summary = result.summary()
    assert summary["messages"]["lost"] == 0
    (fault,) = summary["faults"]
    assert fault["kind"] == "link_loss" and fault["robot"] == "sim-01"
    assert fault["started_s"] == pytest.approx(12.0)
    # the mission is aborted 30 s into the outage, before the link is back at 52 s;
    # the drill ends once every mission has its outcome
    assert result.sim_seconds >= 42.0


def test_robot_lost_drill_gives_the_same_outcome_for_the_same_seed(
    broker: BrokerUnderTest,
) -> None:
    scenario = load_scenario(DRILLS / "robot-lost.yaml")
    first = run(scenario, broker, seed=11)
    second = run(scenario, broker, seed=11)
    assert first.passed and second.passed, (first.failures, second.failures)
    assert fingerprint(first) == fingerprint(second)


def test_a_short_link_loss_does_not_lose_the_mission(broker: BrokerUnderTest) -> None:
    scenario = load_scenario(DRILLS / "robot-lost-short.yaml")
    seen: set[str] = set()

    def watch(p: DrillProgress) -> None:
        for r in p.robots:
            if r.serial == "sim-01" and r.connection is not None:
                seen.add(r.connection.value)

    result = run(scenario, broker, seed=2, on_progress=watch)
    assert result.passed, result.failures
    assert set(outcomes(result).values()) == {MissionOutcome.COMPLETED}
    assert result.messages_lost == 0
    assert result.faults[0]["ended_s"] == pytest.approx(17.0)
    # the controller saw the last will, and the robot come back
    assert "CONNECTIONBROKEN" in seen and "ONLINE" in seen


def test_battery_failure_fails_the_robots_mission(broker: BrokerUnderTest) -> None:
    scenario = with_faults(
        load_scenario(DRILLS / "robot-lost-short.yaml"),
        [{"kind": "battery_failure", "robot": "sim-01", "at_s": 12}],
    )
    result = run(scenario, broker)
    assert outcomes(result) == {
        "gas-survey-pump-bay": MissionOutcome.FAILED,
        "thermal-compressor": MissionOutcome.COMPLETED,
        "tank-round": MissionOutcome.COMPLETED,
    }
    failed = next(m for m in result.missions if m.id == "gas-survey-pump-bay")
    assert failed.reason is not None and "batteryEmpty" in failed.reason
    assert result.messages_lost == 0
    sim01 = next(r for r in result.robots if r.serial == "sim-01")
    assert sim01.battery_pct == 0.0


def test_a_stall_delays_completion_by_its_duration(broker: BrokerUnderTest) -> None:
    baseline = run(single_survey(), broker)
    errors: set[str] = set()

    def watch(p: DrillProgress) -> None:
        for r in p.robots:
            errors.update(r.errors)

    stalled = run(
        with_faults(
            single_survey(), [{"kind": "stall", "robot": "sim-01", "at_s": 3, "duration_s": 10}]
        ),
        broker,
        on_progress=watch,
    )
    assert baseline.passed and stalled.passed, (baseline.failures, stalled.failures)
    # the robot is driving to its first node at 3 s: it gets there 10 s late
    assert stalled.sim_seconds - baseline.sim_seconds == pytest.approx(10.0, abs=0.25)
    assert any("stalled" in e for e in errors), errors


def test_dropped_messages_are_not_lost_and_the_mission_completes(
    broker: BrokerUnderTest,
) -> None:
    scenario = with_faults(
        single_survey(),
        [
            {
                "kind": "drop_messages",
                "robot": "sim-01",
                "at_s": 2,
                "duration_s": 20,
                "fraction": 0.5,
            }
        ],
    )
    first = run(scenario, broker, seed=4)
    assert first.passed, first.failures
    assert first.messages_lost == 0
    assert fingerprint(first) == fingerprint(run(scenario, broker, seed=4))


def test_a_broker_outage_restarts_the_embedded_broker(broker: BrokerUnderTest) -> None:
    scenario = with_faults(
        single_survey(), [{"kind": "broker_outage", "at_s": 10, "duration_s": 5}]
    )
    result = run(scenario, broker)
    assert result.passed, result.failures
    assert result.messages_lost == 0
    assert result.faults[0]["status"] == "ended"
    assert broker.embedded is not None and broker.embedded.running


def test_a_broker_outage_is_skipped_on_a_broker_the_drill_does_not_own(
    broker: BrokerUnderTest,
) -> None:
    scenario = with_faults(
        single_survey(), [{"kind": "broker_outage", "at_s": 10, "duration_s": 5}]
    )
    result = run(scenario, broker, embedded=False)
    assert result.passed, result.failures
    (fault,) = result.faults
    assert fault["status"] == "skipped"
    assert "faults.0.kind: broker_outage needs the embedded broker" in fault["note"]

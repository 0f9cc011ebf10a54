"""Faults on a timeline without a broker: the scenario section, the timeline, the link
switches of the delivery barrier and the robot's own faults (simulator/faults.py,
simulator/delivery.py, SimRobot.inject)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from drivers.bus import Inbox, InMemoryBus
from drivers.config_file import validation_to_config_error
from drivers.vda5050.messages import ErrorLevel
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.faults import FaultPhase, FaultTimeline, LinkLoss
from simulator.robot_faults import RobotFault
from simulator.scenario import Scenario
from tests.simulator.harness import Harness, act, action_state, errors_of, make_order


def scenario(faults: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "t",
        "site": {
            "map_id": "m",
            "nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "b", "x": 5, "y": 0}],
            "edges": [{"start": "a", "end": "b"}],
        },
        "robots": [{"serial": "r1", "start_node": "a"}, {"serial": "r2", "start_node": "a"}],
        "faults": faults,
    }


def problem(faults: list[dict[str, Any]]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as err:
        Scenario.model_validate(scenario(faults))
    e = validation_to_config_error("drill.yaml", err.value)
    return e.field, e.problem


# ------------------------------------------------------------------ the scenario section


def test_every_kind_is_accepted_with_its_fields() -> None:
    sc = Scenario.model_validate(
        scenario(
            [
                {"kind": "link_loss", "robot": "r1", "at_s": 10, "duration_s": 40},
                {"kind": "broker_outage", "at_s": 60, "duration_s": 5},
                {"kind": "battery_failure", "robot": "r2", "at_s": 3},
                {"kind": "stuck_sensor", "robot": "r2", "at_s": 0, "duration_s": 20},
                {"kind": "stall", "robot": "r1", "at_s": 1, "duration_s": 2},
                {
                    "kind": "drop_messages",
                    "robot": "r1",
                    "at_s": 0,
                    "duration_s": 9,
                    "fraction": 0.3,
                },
            ]
        )
    )
    assert [f.kind for f in sc.faults] == [
        "link_loss",
        "broker_outage",
        "battery_failure",
        "stuck_sensor",
        "stall",
        "drop_messages",
    ]
    assert isinstance(sc.faults[0], LinkLoss) and sc.faults[0].end_s == 50.0
    assert sc.faults[2].end_s is None  # a dead battery stays dead


LINK = {"kind": "link_loss", "robot": "r1", "at_s": 1, "duration_s": 1}
STALL = {"kind": "stall", "robot": "r1", "at_s": 1, "duration_s": 1}
DROP = {"kind": "drop_messages", "robot": "r1", "at_s": 1, "duration_s": 1}


@pytest.mark.parametrize(
    ("faults", "path", "words"),
    [
        ([{**LINK, "duration_s": 0}], "faults.0.duration_s", "greater than 0"),
        ([{**LINK, "at_s": -1}], "faults.0.at_s", "greater than or equal to 0"),
        ([{"kind": "link_loss", "at_s": 1, "duration_s": 1}], "faults.0.robot", "required"),
        ([{"kind": "meteor", "at_s": 1}], "faults.0.kind", "unknown kind"),
        ([{"at_s": 1}], "faults.0.kind", "missing kind"),
        ([{**STALL, "colour": "red"}], "faults.0.colour", "unknown field"),
        ([{**DROP, "fraction": 1.5}], "faults.0.fraction", "less than or equal to 1"),
        ([STALL, {**STALL, "robot": "r9", "at_s": 5}], "faults.1.robot", "no robot 'r9'"),
    ],
)
def test_bad_faults_name_their_field_path(
    faults: list[dict[str, Any]], path: str, words: str
) -> None:
    field, text = problem(faults)
    assert field == path
    assert words in text


def test_overlapping_faults_of_one_kind_on_one_robot_are_refused() -> None:
    field, text = problem(
        [
            {"kind": "stall", "robot": "r1", "at_s": 10, "duration_s": 10},
            {"kind": "stall", "robot": "r2", "at_s": 12, "duration_s": 10},  # other robot: fine
            {"kind": "stall", "robot": "r1", "at_s": 19, "duration_s": 1},
        ]
    )
    assert field == "faults.2.at_s"
    assert "overlaps faults.0 (stall, 10..20 s)" in text


def test_a_broker_outage_may_not_overlap_a_link_loss() -> None:
    field, text = problem(
        [
            {"kind": "link_loss", "robot": "r2", "at_s": 0, "duration_s": 30},
            {"kind": "broker_outage", "at_s": 29, "duration_s": 5},
        ]
    )
    assert field == "faults.1.at_s"
    assert "overlaps faults.0 (link_loss" in text


def test_back_to_back_faults_do_not_overlap() -> None:
    sc = Scenario.model_validate(
        scenario(
            [
                {"kind": "link_loss", "robot": "r1", "at_s": 0, "duration_s": 10},
                {"kind": "link_loss", "robot": "r1", "at_s": 10, "duration_s": 10},
                {"kind": "battery_failure", "robot": "r1", "at_s": 5},
            ]
        )
    )
    assert len(sc.faults) == 3


# ------------------------------------------------------------------ the timeline


def test_timeline_orders_by_time_then_ends_before_starts_then_scenario_order() -> None:
    sc = Scenario.model_validate(
        scenario(
            [
                {"kind": "stall", "robot": "r1", "at_s": 20, "duration_s": 5},
                {"kind": "link_loss", "robot": "r1", "at_s": 10, "duration_s": 10},
                {"kind": "battery_failure", "robot": "r2", "at_s": 20},
                {"kind": "stuck_sensor", "robot": "r2", "at_s": 0, "duration_s": 20},
            ]
        )
    )
    timeline = FaultTimeline(sc.faults)
    got = [(e.t_s, e.phase, e.index) for e in timeline.events]
    assert got == [
        (0.0, FaultPhase.START, 3),
        (10.0, FaultPhase.START, 1),
        (20.0, FaultPhase.END, 1),
        (20.0, FaultPhase.END, 3),
        (20.0, FaultPhase.START, 0),
        (20.0, FaultPhase.START, 2),
        (25.0, FaultPhase.END, 0),
    ]
    assert timeline.events[1].label == "faults.1 link_loss on r1 start"


def test_due_hands_out_each_event_once_even_with_summed_ticks() -> None:
    sc = Scenario.model_validate(
        scenario([{"kind": "link_loss", "robot": "r1", "at_s": 1, "duration_s": 0.5}])
    )
    timeline = FaultTimeline(sc.faults)
    handed: list[tuple[float, FaultPhase]] = []
    sim_s = 0.0
    for _ in range(20):
        handed += [(sim_s, e.phase) for e in timeline.due(sim_s)]
        sim_s += 0.1  # 10 x 0.1 sums to 0.9999999999999999: still due at "1 s"
    assert [(round(t, 6), p) for t, p in handed] == [
        (1.0, FaultPhase.START),
        (1.5, FaultPhase.END),
    ]
    assert timeline.pending == 0
    assert timeline.due(100.0) == []


# ------------------------------------------------------------------ links on the barrier

ORDER = "uagv/v2/acme/r1/order"
STATE = "uagv/v2/acme/r1/state"


def wired() -> tuple[InMemoryBus, DeliveryTracker, TrackedBus, TrackedBus, Inbox, Inbox]:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    controller = TrackedBus(broker.client(), tracker)
    robot = TrackedBus(broker.client(), tracker)
    c_in, r_in = Inbox(), Inbox()
    controller.subscribe("uagv/v2/+/+/state", c_in)
    robot.subscribe(ORDER, r_in)
    return broker, tracker, controller, robot, c_in, r_in


def test_a_down_link_sends_nothing_and_is_expected_to_receive_nothing() -> None:
    broker, tracker, controller, robot, c_in, r_in = wired()
    robot.set_down(True)
    robot.publish(STATE, b"s1")
    controller.publish(ORDER, b"o1")  # the broker still delivers it: the link drops it
    assert tracker.outstanding == 0
    assert tracker.wait_idle(0.0) and tracker.lost == 0
    assert c_in.drain() == [] and r_in.drain() == []
    assert [m.topic for m in broker.published] == [ORDER]
    assert robot.discarded_out == 1 and robot.discarded_in == 1


def test_a_link_back_up_takes_only_messages_counted_after_it_came_back() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    robot = TrackedBus(broker.client(), tracker)
    r_in = Inbox()
    robot.subscribe(ORDER, r_in)
    sender = broker.client()  # a late copy from the broker: never counted by the tracker
    robot.set_down(True)
    robot.set_down(False)
    sender.publish(ORDER, b"late")
    controller = TrackedBus(broker.client(), tracker)
    controller.publish(ORDER, b"fresh")
    assert [m.payload for m in r_in.drain()] == [b"fresh"]
    assert tracker.outstanding == 0 and tracker.lost == 0


def test_dropping_is_seeded_uncounted_and_stops() -> None:
    def kept(seed: int) -> list[int]:
        _, tracker, _, robot, c_in, _ = wired()
        robot.drop_outgoing(0.5, np.random.default_rng(seed))
        for i in range(40):
            robot.publish(STATE, str(i).encode())
        robot.drop_outgoing(0.0, None)
        robot.publish(STATE, b"after")
        assert tracker.outstanding == 0 and tracker.lost == 0
        got = [m.payload for m in c_in.drain()]
        assert got[-1] == b"after"
        assert robot.discarded_out == 40 - (len(got) - 1)
        return [int(p) for p in got[:-1]]

    first = kept(7)
    assert first == kept(7)
    assert 8 < len(first) < 32
    with pytest.raises(ValueError, match="seeded"):
        TrackedBus(InMemoryBus().client(), DeliveryTracker()).drop_outgoing(0.5, None)


# ------------------------------------------------------------------ the robot's own faults


def test_stall_stops_the_robot_reports_a_warning_and_ends_on_time() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(10)  # 1 s: 1 m along A->B at 1 m/s
    x0 = h.robot.snapshot.x_m
    h.robot.inject(RobotFault.STALL, until_s=h.clock.monotonic() + 2.0)
    h.step(10)
    assert h.robot.snapshot.x_m == pytest.approx(x0 + 0.1)  # the step that carried the inject
    stalled = errors_of(h.state, "stalled")
    assert len(stalled) == 1 and stalled[0].errorLevel == ErrorLevel.WARNING
    assert not h.state.driving
    h.step(10)  # the stall ends with the step that reaches its end time
    assert errors_of(h.state, "stalled") == []
    assert h.robot.snapshot.x_m == pytest.approx(x0 + 0.1)
    h.step(10)
    assert h.robot.snapshot.x_m == pytest.approx(x0 + 1.1)


def test_battery_failure_empties_the_battery_with_a_fatal_error() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(5)
    h.robot.inject(RobotFault.BATTERY_FAILURE, until_s=None)
    h.step(2)
    assert h.state.batteryState.batteryCharge == 0.0
    fatal = errors_of(h.state, "batteryEmpty")
    assert len(fatal) == 1 and fatal[0].errorLevel == ErrorLevel.FATAL
    x = h.robot.snapshot.x_m
    h.step(10)
    assert h.robot.snapshot.x_m == x


class Leak:
    """H2S growing by 1 ppm per second everywhere."""

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        return {"H2S": t_s, "O2": 20.9, "LEL": 0.0, "CO": 0.0, "CH4": 0.0}.get(quantity)


def h2s_reading(h: Harness, action_id: str) -> float:
    """Run an instant measureGas of 0.2 s and return its H2S reading (ppm)."""
    h.send_instant(act("measureGas", action_id, duration_s=0.2))
    h.step(4)
    result = action_state(h.state, action_id).resultDescription
    assert result is not None, action_id
    value = json.loads(result)["readings"]["H2S"]["value"]
    assert isinstance(value, float)
    return value


def test_stuck_sensor_freezes_gas_readings_until_it_ends() -> None:
    h = Harness(environment=Leak())
    h.step(50)  # 5 s
    h.robot.inject(RobotFault.STUCK_SENSOR, until_s=h.clock.monotonic() + 10.0)
    first = h2s_reading(h, "g1")
    h.step(80)  # 13.5 s: the leak is at 13 ppm, the cell still says what it said at 5 s
    assert h2s_reading(h, "g2") == first
    assert first < 5.0
    h.step(500)  # 64 s: the fault is over, the cell follows the leak again
    assert h2s_reading(h, "g3") > first + 20.0

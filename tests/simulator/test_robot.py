"""SimRobot: start-up, driving, actions and their blocking types."""

from __future__ import annotations

import json
import math

import pytest

from drivers.vda5050.codec import decode
from drivers.vda5050.messages import ActionStatus, Connection, ConnectionState, Visualization
from drivers.vda5050.topics import TopicName
from simulator.robot_spec import HAZARD_ACTIONS, SimRobotSpec
from tests.simulator.harness import (
    SITE,
    Harness,
    act,
    action_state,
    make_order,
    status_history,
)

S = ActionStatus


def test_start_publishes_connection_factsheet_and_state() -> None:
    h = Harness()
    (conn_msg,) = h.published(TopicName.CONNECTION)
    assert (conn_msg.qos, conn_msg.retain) == (1, True)
    conn = decode(Connection, conn_msg.payload, source=conn_msg.topic)
    assert conn.connectionState is ConnectionState.ONLINE
    assert (conn.manufacturer, conn.serialNumber, conn.version) == ("acme", "r1", "2.1.0")

    (fs_msg,) = h.published(TopicName.FACTSHEET)
    assert fs_msg.retain
    (fs,) = h.factsheets()
    announced = {a.actionType for a in fs.protocolFeatures.agvActions}
    assert set(HAZARD_ACTIONS) <= announced
    assert {"startPause", "stopPause", "cancelOrder", "factsheetRequest"} <= announced
    assert fs.physicalParameters.speedMax == 1.0

    state = h.state
    assert state.lastNodeId == "A"
    assert state.agvPosition is not None
    assert (state.agvPosition.x, state.agvPosition.y) == (0.0, 0.0)
    assert state.agvPosition.mapId == "plant"
    assert state.agvPosition.positionInitialized
    assert (state.orderId, state.nodeStates, state.driving) == ("", [], False)
    assert state.safetyState.eStop.value == "NONE"
    assert state.operatingMode.value == "AUTOMATIC"


def test_start_node_must_be_on_the_site_map() -> None:
    with pytest.raises(ValueError, match="start_node 'Z'"):
        Harness(SimRobotSpec("acme", "r1", "Z"))


def test_order_with_two_actions_drives_and_runs_them() -> None:
    h = Harness()
    order = make_order(
        ["A", "B", "C"],
        node_actions={
            1: [act("measureGas", "gas", duration_s=1.0)],
            2: [act("captureImage", "img")],
        },
    )
    h.send_order(order)
    h.step()  # accepted at t=0.1 s
    accepted = h.state
    assert accepted.orderId == "o1"
    assert [n.nodeId for n in accepted.nodeStates] == ["B", "C"]
    assert [e.edgeId for e in accepted.edgeStates] == ["A-B", "B-C"]
    assert action_state(accepted, "gas").actionStatus is S.WAITING

    h.step(30)  # 3.0 s of driving at 1 m/s: no teleporting
    assert h.robot.snapshot.x_m == pytest.approx(3.0)
    assert h.robot.snapshot.y_m == pytest.approx(0.0)
    s = h.state  # the last periodic state, published on the way
    assert s.driving
    assert s.agvPosition is not None and 0 < s.agvPosition.x <= 3.0
    assert s.distanceSinceLastNode == pytest.approx(s.agvPosition.x)

    h.step(70)  # reaches B at 10 m
    at_b = h.state
    assert at_b.lastNodeId == "B"
    assert at_b.lastNodeSequenceId == 2
    assert [n.nodeId for n in at_b.nodeStates] == ["C"]
    assert [e.edgeId for e in at_b.edgeStates] == ["B-C"]

    h.step(200)
    final = h.state
    assert final.nodeStates == [] and final.edgeStates == []
    assert final.lastNodeId == "C" and not final.driving
    assert final.agvPosition is not None
    assert (final.agvPosition.x, final.agvPosition.y) == pytest.approx((10.0, 10.0))
    states = h.states()
    for action_id in ("gas", "img"):
        assert status_history(states, action_id) == [
            S.WAITING,
            S.INITIALIZING,
            S.RUNNING,
            S.FINISHED,
        ]
    gas = json.loads(action_state(final, "gas").resultDescription or "")
    assert list(gas["readings"]) == ["O2", "LEL", "H2S", "CO"]
    assert gas["readings"]["O2"]["unit"] == "%vol"
    assert gas["readings"]["O2"]["value"] == pytest.approx(20.9, abs=0.3)
    assert (gas["x_m"], gas["y_m"]) == (10.0, 0.0)
    image = json.loads(action_state(final, "img").resultDescription or "")
    assert image["imageId"]


def test_hard_action_stops_driving_while_it_runs() -> None:
    h = Harness()
    h.send_order(
        make_order(["A", "B", "C"], node_actions={1: [act("measureGas", "gas", duration_s=2.0)]})
    )
    running = []
    for _ in range(300):
        h.step()
        snap = h.robot.snapshot
        if snap.action_states.get("gas") is S.RUNNING:
            running.append(snap)
    assert len(running) >= 19  # about 2 s at 0.1 s per step
    for snap in running:
        assert not snap.driving
        assert (snap.x_m, snap.y_m) == pytest.approx((10.0, 0.0))
    for s in h.states("o1"):
        if action_state(s, "gas").actionStatus in (S.INITIALIZING, S.RUNNING):
            assert not s.driving
    assert h.state.lastNodeId == "C"


def test_none_action_runs_while_driving() -> None:
    h = Harness()
    h.send_order(
        make_order(["A", "B"], node_actions={0: [act("measureGas", "gas", "NONE", duration_s=3.0)]})
    )
    h.step(20)
    s = h.state
    assert action_state(s, "gas").actionStatus is S.RUNNING
    assert s.driving
    assert h.robot.snapshot.x_m == pytest.approx(1.9)
    h.step(30)
    assert action_state(h.state, "gas").actionStatus is S.FINISHED
    assert h.state.driving


def test_soft_actions_run_together_and_hard_ones_alone() -> None:
    h = Harness()
    soft = [act("measureGas", "s1", "SOFT", duration_s=1.0), act("thermalScan", "s2", "SOFT")]
    hard = [act("measureGas", "h1", duration_s=1.0), act("captureImage", "h2", duration_s=1.0)]
    h.send_order(make_order(["A", "B"], node_actions={0: soft, 1: hard}))
    h.step(200)
    states = h.states("o1")
    both_soft = [
        s
        for s in states
        if action_state(s, "s1").actionStatus is S.RUNNING
        and action_state(s, "s2").actionStatus is S.RUNNING
    ]
    assert both_soft, "SOFT actions should run in parallel"
    assert all(not s.driving for s in both_soft)
    for s in states:
        h1, h2 = action_state(s, "h1").actionStatus, action_state(s, "h2").actionStatus
        assert not (h1 in (S.INITIALIZING, S.RUNNING) and h2 in (S.INITIALIZING, S.RUNNING))
    assert action_state(h.state, "h2").actionStatus is S.FINISHED


def test_edge_max_speed_is_respected() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "B"))
    order = make_order(["B", "D"])
    limited = order.model_copy(
        update={"edges": [order.edges[0].model_copy(update={"maxSpeed": 0.5})]}
    )
    h.send_order(limited)
    h.step(41)
    assert h.robot.snapshot.x_m == pytest.approx(12.0)
    assert h.state.velocity is not None and h.state.velocity.vx == pytest.approx(0.5)


def test_theta_follows_the_edge() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "B"))
    h.send_order(make_order(["B", "C"]))
    h.step(5)
    assert h.robot.snapshot.theta == pytest.approx(math.pi / 2)


def test_edge_action_runs_on_its_edge_and_ends_when_the_edge_is_left() -> None:
    h = Harness()
    h.send_order(
        make_order(
            ["A", "B"], edge_actions={0: [act("measureDoseRate", "dose", "NONE", duration_s=60.0)]}
        )
    )
    h.step(50)
    assert action_state(h.state, "dose").actionStatus is S.RUNNING
    assert h.state.driving
    h.step(60)
    final = h.state
    assert final.lastNodeId == "B"
    assert action_state(final, "dose").actionStatus is S.FINISHED
    reading = json.loads(action_state(final, "dose").resultDescription or "")
    assert reading["readings"]["doseRate"]["unit"] == "µSv/h"


def test_simulate_failure_ends_the_action_failed() -> None:
    h = Harness()
    h.send_order(
        make_order(["A"], node_actions={0: [act("collectSample", "smp", simulateFailure=True)]})
    )
    h.step(100)
    final = action_state(h.state, "smp")
    assert final.actionStatus is S.FAILED
    assert "simulateFailure" in (final.resultDescription or "")


class _Hot:
    """H2S only east of x = 5 m; O2 drops over time (to see phases sampled in order)."""

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        if quantity == "H2S":
            return 50.0 if x_m > 5 else 0.0
        if quantity == "O2":
            return 20.9 - t_s / 10.0
        if quantity == "temperature":
            return 80.0 if math.hypot(x_m - 12.0, y_m) < 0.5 else 20.0
        return 0.0


def test_measurements_come_from_the_environment_at_the_robot() -> None:
    h = Harness(environment=_Hot())
    h.send_order(
        make_order(
            ["A", "B"],
            node_actions={
                0: [act("measureGas", "gasA", duration_s=0.5)],
                # dwell 2 x t90 (30 s): the H2S cell's lag has settled to within 1 %
                1: [act("measureGas", "gasB", duration_s=60.0), act("thermalScan", "th")],
            },
        )
    )
    h.step(900)
    readings = {
        a: json.loads(action_state(h.state, a).resultDescription or "")["readings"]
        for a in ("gasA", "gasB", "th")
    }
    assert readings["gasA"]["H2S"]["value"] < 1.0
    assert readings["gasB"]["H2S"]["value"] == pytest.approx(50.0, abs=5.0)
    assert readings["th"]["temperatureMax"]["value"] == pytest.approx(80.0, abs=1.0)
    assert readings["th"]["temperatureMax"]["unit"] == "°C"


def test_atmospheric_test_reads_o2_then_lel_then_toxics() -> None:
    h = Harness(environment=_Hot())
    h.send_order(
        make_order(["A"], node_actions={0: [act("atmosphericTest", "at", duration_s=30.0)]})
    )
    h.step(400)
    result = json.loads(action_state(h.state, "at").resultDescription or "")
    assert list(result["readings"]) == ["O2", "LEL", "H2S", "CO", "NH3", "Cl2", "SO2", "NO2"]
    # O2 is read a third of the way in (t ~ 10 s), not at the end (t ~ 30 s).  The O2 cell
    # (t90 30 s) trails a ramp of -0.1 %vol/s by 0.1 * tau * (1 - exp(-t / tau)): ~20.6 %vol
    # at 10 s, ~19.1 %vol at 30 s.
    tau_s = 30.0 / math.log(10.0)
    lagged = 20.9 - 1.0 + 0.1 * tau_s * (1.0 - math.exp(-10.0 / tau_s))
    assert result["readings"]["O2"]["value"] == pytest.approx(lagged, abs=0.3)
    assert result["readings"]["O2"]["status"] == "ok"


def test_same_seed_same_measurements() -> None:
    import numpy as np

    def run(seed: int) -> str:
        h = Harness(rng=np.random.default_rng(seed))
        h.send_order(
            make_order(["A"], node_actions={0: [act("atmosphericTest", "at", duration_s=1)]})
        )
        h.step(30)
        return action_state(h.state, "at").resultDescription or ""

    assert run(7) == run(7)


def test_instant_hazard_action_runs() -> None:
    h = Harness()
    h.send_instant(act("measureGas", "ia", "NONE", duration_s=0.5))
    h.step(20)
    assert status_history(h.states(), "ia") == [S.INITIALIZING, S.RUNNING, S.FINISHED]


def test_state_is_periodic_and_header_ids_count_per_topic() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "A", version="2.0.0"), state_interval_s=1.0)
    h.step(50)  # idle: only the periodic state
    states = h.states()
    assert 5 <= len(states) <= 7
    assert [s.headerId for s in states] == list(range(len(states)))
    assert {s.version for s in states} == {"2.0.0"}
    assert h.factsheets()[0].headerId == 0


def test_visualization_when_asked_for() -> None:
    h = Harness(visualization_interval_s=0.2)
    h.step(10)
    vis = [
        decode(Visualization, m.payload, source=m.topic)
        for m in h.published(TopicName.VISUALIZATION)
    ]
    assert len(vis) >= 5
    assert vis[-1].agvPosition is not None and vis[-1].agvPosition.mapId == SITE.map_id


def test_shutdown_publishes_offline_and_stops() -> None:
    h = Harness()
    h.robot.shutdown()
    last = h.published(TopicName.CONNECTION)[-1]
    assert decode(Connection, last.payload, source="t").connectionState is ConnectionState.OFFLINE
    n = len(h.robot_messages())
    h.step(20)
    assert len(h.robot_messages()) == n


def test_hard_action_waits_for_running_actions_to_finish() -> None:
    h = Harness()
    node_b = [act("measureGas", "n", "NONE", duration_s=2.0), act("captureImage", "h")]
    h.send_order(make_order(["A", "B", "C"], node_actions={1: node_b}))
    seen: list[tuple[ActionStatus | None, ActionStatus | None, bool]] = []
    for _ in range(300):
        h.step()
        snap = h.robot.snapshot
        seen.append((snap.action_states.get("n"), snap.action_states.get("h"), snap.driving))
    h_started = [n for n, hh, _ in seen if hh in (S.INITIALIZING, S.RUNNING)]
    assert h_started and all(n is S.FINISHED for n in h_started)
    # the queued HARD action keeps the robot at B while the NONE one runs
    assert not any(drv for n, _, drv in seen if n in (S.INITIALIZING, S.RUNNING))
    assert h.robot.snapshot.last_node_id == "C"

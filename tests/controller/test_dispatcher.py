"""Dispatch, acknowledgement, progress and outcomes, played against a hand-driven robot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller import ControllerSettings
from drivers.errors import MissionError
from missions.mission import MissionOutcome, MissionSpec
from tests.controller import MAKER, Harness, RobotSide

GAS = {"type": "measureGas", "params": {"gas": "CH4"}}
IMAGE = {"type": "captureImage"}


def mission(
    mission_id: str = "m1", robot: str | None = "R1", steps: list[dict[str, Any]] | None = None
) -> MissionSpec:
    return MissionSpec.model_validate(
        {
            "id": mission_id,
            "robot": robot,
            "steps": steps or [{"node": "B", "actions": [GAS]}, {"node": "D", "actions": [IMAGE]}],
        }
    )


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness(serials=("R1", "R2"))
    harness.controller.start()
    yield harness
    assert harness.schema_problems() == []


def dispatch(h: Harness, m: MissionSpec | None = None, serial: str = "R1") -> dict[str, Any]:
    """Bring the robot online, submit, step; the one order it received."""
    robot = (
        h.online(serial) if h.robot_status(serial).availability != "online" else h.robots[serial]
    )
    h.controller.submit(m or mission(robot=serial))
    h.tick()
    (order,) = robot.take_orders()
    return order


def acknowledge(h: Harness, order: dict[str, Any], serial: str = "R1") -> RobotSide:
    robot = h.robots[serial]
    robot.accept(order)
    robot.send_state()
    h.tick()
    return robot


def outcome(h: Harness, mission_id: str = "m1") -> MissionOutcome:
    return MissionOutcome(h.mission(mission_id).outcome)


# ------------------------------------------------------------------ dispatch and the order


def test_order_starts_at_the_robots_current_node(h: Harness) -> None:
    h.robots["R1"].last_node_id = "B"
    order = dispatch(h)
    assert [n["nodeId"] for n in order["nodes"]] == ["B", "C", "D"]
    assert order["nodes"][0]["actions"][0]["actionType"] == "measureGas"  # step 0 is B itself


def test_order_starts_at_nearest_node_when_robot_reports_no_last_node(h: Harness) -> None:
    r1 = h.robots["R1"]
    r1.last_node_id = ""
    r1.position = (10.2, 0.1)
    order = dispatch(h)
    assert [n["nodeId"] for n in order["nodes"]] == ["C", "B", "C", "D"]


def test_order_envelope_echoes_robot_version_and_uses_utc(h: Harness) -> None:
    h.robots["R1"].version = "2.0.0"
    order = dispatch(h)
    assert order["version"] == "2.0.0"
    assert order["timestamp"] == "2026-01-01T00:00:00.10Z"
    assert (order["manufacturer"], order["serialNumber"]) == (MAKER, "R1")
    assert order["headerId"] == 0
    assert order["orderId"] == "m1-1" and order["orderUpdateId"] == 0
    (msg,) = [m for m in h.bus.published if m.topic == "uagv/v2/acme/R1/order"]
    assert (msg.qos, msg.retain) == (0, False)
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.DISPATCHED
    assert (st.robot, st.order_id, st.order_update_id) == ("R1", "m1-1", 0)
    assert (st.nodes_total, st.actions_total, st.nodes_done) == (4, 2, 0)
    assert st.sent_at_s == pytest.approx(0.1) and st.acknowledged_at_s is None


def test_unsupported_robot_version_gets_default(h: Harness) -> None:
    h.robots["R1"].version = "1.1.0"
    assert dispatch(h)["version"] == "2.1.0"


def test_order_resent_until_acknowledged_and_not_after(h: Harness) -> None:
    first = dispatch(h)
    r1 = h.robots["R1"]
    h.tick(0.1, times=25)  # 2.5 s: resends at +1 s and +2 s
    resent = r1.take_orders()
    assert len(resent) == 2
    assert [o["headerId"] for o in resent] == [1, 2]
    assert {o["orderId"] for o in resent} == {"m1-1"}
    assert all(o["nodes"] == first["nodes"] for o in resent)
    # a state still showing the old order is not an acknowledgement
    r1.send_state()
    h.tick(0.6)
    assert len(r1.take_orders()) == 1
    acknowledge(h, first)
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.ACTIVE
    assert st.acknowledged_at_s == pytest.approx(h.clock.monotonic())
    h.tick(0.5, times=10)
    assert r1.take_orders() == []


def test_state_echoing_order_id_with_other_update_id_is_not_an_ack(h: Harness) -> None:
    order = dispatch(h)
    r1 = h.robots["R1"]
    r1.accept(order)
    r1.order_update_id = 3
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.DISPATCHED


def test_no_resend_while_robot_offline(h: Harness) -> None:
    dispatch(h)
    r1 = h.robots["R1"]
    r1.connect("CONNECTIONBROKEN")
    h.tick(0.5, times=6)
    assert r1.take_orders() == []
    r1.connect()
    r1.send_state()
    h.tick()
    assert len(r1.take_orders()) == 1


def test_order_id_never_repeats_the_one_the_robot_holds(h: Harness) -> None:
    h.robots["R1"].order_id = "m1-1"  # e.g. from before a controller restart
    assert dispatch(h)["orderId"] == "m1-2"


def test_missions_go_in_submission_order_one_per_robot(h: Harness) -> None:
    r1 = h.online("R1")
    h.controller.submit(mission("m1"))
    h.controller.submit(mission("m2"))
    h.tick()
    (order,) = r1.take_orders()
    assert order["orderId"] == "m1-1"
    assert outcome(h, "m2") == MissionOutcome.PENDING
    acknowledge(h, order)
    r1.finish_all()
    r1.send_state()
    h.tick()
    assert outcome(h, "m1") == MissionOutcome.COMPLETED
    h.tick()
    (order2,) = r1.take_orders()
    assert order2["orderId"] == "m2-1"
    assert order2["nodes"][0]["nodeId"] == "D"  # starts where m1 ended


@pytest.mark.parametrize(
    "make_busy",
    [
        lambda r: setattr(r, "node_states", [{"nodeId": "B", "sequenceId": 2, "released": True}]),
        lambda r: setattr(r, "paused", True),
        lambda r: setattr(r, "operating_mode", "MANUAL"),
        lambda r: setattr(r, "errors", [{"errorType": "laser", "errorLevel": "FATAL"}]),
        lambda r: setattr(r, "action_states", [{"actionId": "x", "actionStatus": "RUNNING"}]),
    ],
    ids=["driving-an-order", "paused", "manual-mode", "fatal-error", "running-action"],
)
def test_not_dispatched_to_a_robot_that_is_not_ready(h: Harness, make_busy: Any) -> None:
    r1 = h.robots["R1"]
    make_busy(r1)
    h.online("R1")
    h.controller.submit(mission())
    h.tick(0.5, times=4)
    assert r1.take_orders() == []
    assert outcome(h) == MissionOutcome.PENDING
    fresh = RobotSide(h.bus, h.clock, "R1")  # same robot, now idle
    fresh.send_state()
    h.tick()
    assert len(r1.take_orders()) == 1
    assert outcome(h) == MissionOutcome.DISPATCHED


def test_not_dispatched_to_offline_or_unknown_robot(h: Harness) -> None:
    h.controller.submit(mission())
    h.tick(0.5, times=4)
    assert outcome(h) == MissionOutcome.PENDING
    r1 = h.robots["R1"]
    r1.send_state()
    r1.connect("OFFLINE")
    h.tick(0.5, times=4)
    assert outcome(h) == MissionOutcome.PENDING
    assert r1.take_orders() == []


def test_after_reconnect_dispatch_waits_for_a_fresh_state(h: Harness) -> None:
    r1 = h.online("R1")
    r1.connect("CONNECTIONBROKEN")
    h.tick()
    h.controller.submit(mission())
    r1.connect()  # back, but its last state is from before
    h.tick(0.5, times=2)
    assert r1.take_orders() == []
    r1.last_node_id = "C"
    r1.send_state()
    h.tick()
    (order,) = r1.take_orders()
    assert order["nodes"][0]["nodeId"] == "C"


def test_auto_pick_first_ready_robot_with_the_needed_actions(h: Harness) -> None:
    r1 = h.online("R1", factsheet=["measureGas"])  # no captureImage
    r2 = h.online("R2", factsheet=["measureGas", "captureImage", "startPause"])
    h.controller.submit(mission(robot=None))
    h.tick()
    assert r1.take_orders() == []
    (order,) = r2.take_orders()
    assert order["serialNumber"] == "R2"
    assert h.mission("m1").robot == "R2"


def test_auto_pick_prefers_fleet_order_and_skips_busy_robots(h: Harness) -> None:
    r1 = h.online("R1", factsheet=["measureGas", "captureImage"])
    r2 = h.online("R2", factsheet=["measureGas", "captureImage"])
    h.controller.submit(mission("a", robot=None))
    h.controller.submit(mission("b", robot=None))
    h.tick()
    assert [o["orderId"] for o in r1.take_orders()] == ["a-1"]
    assert [o["orderId"] for o in r2.take_orders()] == ["b-1"]


def test_auto_pick_without_actions_needs_no_factsheet(h: Harness) -> None:
    r1 = h.online("R1")
    h.controller.submit(mission(robot=None, steps=[{"node": "C"}]))
    h.tick()
    assert len(r1.take_orders()) == 1


def test_auto_pick_waits_for_a_factsheet_when_actions_are_needed(h: Harness) -> None:
    r1 = h.online("R1")
    h.controller.submit(mission(robot=None))
    h.tick(0.5, times=3)
    assert r1.take_orders() == []
    r1.send_factsheet(["measureGas", "captureImage"])
    h.tick()
    assert len(r1.take_orders()) == 1


def test_robot_too_far_from_any_node_fails_the_mission(h: Harness) -> None:
    r1 = h.robots["R1"]
    r1.last_node_id = ""
    r1.position = (30.0, 30.0)
    h.online("R1")
    h.controller.submit(mission())
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason is not None and "start node" in st.reason
    assert r1.take_orders() == []


# ------------------------------------------------------------------ submit validation


def test_submit_rejects_unknown_node_unknown_robot_duplicate_and_no_route(h: Harness) -> None:
    with pytest.raises(MissionError, match="not on site map"):
        h.controller.submit(mission(steps=[{"node": "Z"}]))
    with pytest.raises(MissionError, match="not in the fleet"):
        h.controller.submit(mission(robot="R9"))
    with pytest.raises(MissionError, match="no route"):
        h.controller.submit(mission(steps=[{"node": "A"}, {"node": "E"}]))
    h.controller.submit(mission())
    with pytest.raises(MissionError, match="already exists"):
        h.controller.submit(mission())
    assert [m.id for m in h.controller.missions()] == ["m1"]


# ------------------------------------------------------------------ progress and outcomes


def test_progress_then_completed(h: Harness) -> None:
    order = dispatch(h)
    r1 = acknowledge(h, order)
    st = h.mission("m1")
    assert (st.outcome, st.nodes_done, st.actions_finished) == (MissionOutcome.ACTIVE, 1, 0)
    r1.reach_next_node()  # B
    r1.set_action("m1-1:0:0", "FINISHED", "CH4 12 ppm")
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert (st.nodes_done, st.actions_finished) == (2, 1)
    assert st.action_results == {"m1-1:0:0": "CH4 12 ppm"}
    assert st.outcome == MissionOutcome.ACTIVE
    r1.reach_next_node()  # C
    r1.reach_next_node()  # D: all nodes done, image still running
    r1.set_action("m1-1:1:0", "RUNNING")
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ACTIVE
    assert h.mission("m1").nodes_done == 4
    r1.set_action("m1-1:1:0", "FINISHED", "img-001.png")
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.COMPLETED
    assert st.actions_finished == 2 and st.reason is not None
    assert st.action_results["m1-1:1:0"] == "img-001.png"
    assert st.ended_at_s == pytest.approx(h.clock.monotonic())


def test_mission_without_actions_completes_on_arrival(h: Harness) -> None:
    order = dispatch(h, mission(steps=[{"node": "C"}]))
    r1 = acknowledge(h, order)
    r1.finish_all()
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.COMPLETED


def test_failed_action_fails_the_mission_when_the_order_ends(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.reach_next_node()
    r1.set_action("m1-1:0:0", "FAILED", "sensor saturated")
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ACTIVE  # the robot carries on with the order
    r1.finish_all()  # leaves the failed action failed
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason == "action measureGas (m1-1:0:0) failed: sensor saturated"


def test_fatal_error_fails_the_mission(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.errors = [
        {"errorType": "laserScannerDirty", "errorLevel": "FATAL", "errorDescription": "clean me"}
    ]
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason == "robot fatal error: laserScannerDirty: clean me"


def test_fatal_error_mid_order_also_cancels_the_order_on_the_robot(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.errors = [{"errorType": "motorFault", "errorLevel": "FATAL"}]
    r1.send_state()  # nodeStates still pending: the robot holds our order
    h.tick()
    assert outcome(h) == MissionOutcome.FAILED
    assert [k for k, _ in instant(r1)] == ["cancelOrder"]


def test_order_ending_elsewhere_fails(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h, mission(steps=[{"node": "D"}])))
    r1.reach_next_node()
    r1.node_states, r1.edge_states = [], []  # robot dropped the rest (e.g. manual reset)
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason is not None and "ended at node 'B'" in st.reason


def test_robot_reporting_another_order_fails_the_mission(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.order_id = "someone-else"
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason is not None and "dropped the order" in st.reason


# ------------------------------------------------------------------ rejection


def test_rejection_referencing_our_order_id(h: Harness) -> None:
    dispatch(h)
    r1 = h.robots["R1"]
    r1.errors = [
        {
            "errorType": "orderError",
            "errorLevel": "WARNING",
            "errorDescription": "action measureGas unknown",
            "errorReferences": [{"referenceKey": "orderId", "referenceValue": "m1-1"}],
        }
    ]
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason == "rejected by robot: orderError: action measureGas unknown"
    h.tick(0.5, times=6)
    assert r1.take_orders() == []  # no resend after rejection


def test_rejection_of_another_order_is_not_ours(h: Harness) -> None:
    dispatch(h)
    r1 = h.robots["R1"]
    r1.errors = [
        {
            "errorType": "validationError",
            "errorLevel": "WARNING",
            "errorReferences": [{"referenceKey": "orderId", "referenceValue": "old-7"}],
        }
    ]
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.DISPATCHED


def test_unreferenced_rejection_appearing_after_our_order_is_ours(h: Harness) -> None:
    dispatch(h)
    r1 = h.robots["R1"]
    r1.errors = [{"errorType": "validationError", "errorLevel": "WARNING"}]
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.FAILED
    assert st.reason == "rejected by robot: validationError: no description"


def test_unreferenced_rejection_present_before_our_order_is_not_attributed(h: Harness) -> None:
    r1 = h.robots["R1"]
    old = {"errorType": "orderError", "errorLevel": "WARNING", "errorDescription": "bad old"}
    r1.errors = [old]
    order = dispatch(h)
    r1.send_state()
    h.tick(1.0)
    assert outcome(h) == MissionOutcome.DISPATCHED
    assert len(r1.take_orders()) == 1  # still resending
    # the robot accepts: the old warning goes away, the mission is active
    r1.errors = []
    acknowledge(h, order)
    assert outcome(h) == MissionOutcome.ACTIVE


def test_warning_after_many_unacknowledged_sends(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    dispatch(h)
    with caplog.at_level("WARNING", logger="controller.dispatcher"):
        for _ in range(12):
            h.robots["R1"].send_state()  # alive, but never takes the order
            h.tick(1.0)
    assert sum("has not acknowledged" in r.getMessage() for r in caplog.records) == 1


# ------------------------------------------------------------------ cancel


def instant(robot: RobotSide) -> list[tuple[str, str]]:
    return [(a["actionType"], a["actionId"]) for a in robot.take_instant_actions()]


def test_cancel_active_mission_aborts_when_the_robot_confirms(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    h.controller.cancel("m1")
    h.tick()
    ((kind, cancel_id),) = instant(r1)
    assert kind == "cancelOrder"
    h.tick(1.0)
    assert instant(r1) == [("cancelOrder", cancel_id)]  # resent: not yet in actionStates
    # robot cancels: our actions fail, nodes cleared, cancelOrder RUNNING then FINISHED
    r1.node_states, r1.edge_states = [], []
    for a in r1.action_states:
        a["actionStatus"] = "FAILED"
    r1.set_action(cancel_id, "RUNNING")
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ACTIVE  # not FAILED: the failures are the cancel
    h.tick(1.0, times=2)
    assert instant(r1) == []  # acknowledged: no more resends
    r1.set_action(cancel_id, "FINISHED")
    r1.send_state()
    h.tick()
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.ABORTED and st.reason == "cancelled"
    assert st.nodes_done == 1  # cleared nodeStates are not progress


def test_cancel_pending_mission_aborts_at_once(h: Harness) -> None:
    h.controller.submit(mission())
    h.controller.cancel("m1")
    assert outcome(h) == MissionOutcome.ABORTED
    r1 = h.online("R1")
    h.tick(0.5, times=3)
    assert r1.take_orders() == [] and instant(r1) == []


def test_cancel_before_the_robot_took_the_order(h: Harness) -> None:
    dispatch(h)
    r1 = h.robots["R1"]
    h.controller.cancel("m1")
    h.tick()
    ((_, cancel_id),) = instant(r1)
    h.tick(1.0, times=3)
    assert r1.take_orders() == []  # the order is no longer resent
    r1.set_action(cancel_id, "FAILED")  # noOrderToCancel
    r1.errors = [
        {
            "errorType": "noOrderToCancel",
            "errorLevel": "WARNING",
            "errorReferences": [{"referenceKey": "actionId", "referenceValue": cancel_id}],
        }
    ]
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ABORTED


def test_cancel_refused_mission_continues(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    h.controller.cancel("m1")
    h.tick()
    ((_, cancel_id),) = instant(r1)
    r1.set_action(cancel_id, "FAILED")
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ACTIVE
    assert any(e.detail == "cancel refused by robot" for e in h.events)
    r1.finish_all()
    r1.set_action(cancel_id, "FAILED")
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.COMPLETED


def test_cancel_ended_or_unknown_mission_raises(h: Harness) -> None:
    with pytest.raises(MissionError, match="no mission"):
        h.controller.cancel("nope")
    h.controller.submit(mission())
    h.controller.cancel("m1")
    with pytest.raises(MissionError, match="already ended"):
        h.controller.cancel("m1")


# ------------------------------------------------------------------ robot lost


def test_robot_offline_too_long_aborts_the_mission(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.connect("CONNECTIONBROKEN")
    h.tick()
    t_gone = h.clock.monotonic()
    h.tick(1.0, times=29)
    assert outcome(h) == MissionOutcome.ACTIVE
    h.tick(1.0)
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.ABORTED
    assert st.reason is not None and st.reason.startswith("robot lost: offline")
    assert st.ended_at_s == pytest.approx(t_gone + 30.0)


def test_robot_silent_too_long_aborts_the_mission(h: Harness) -> None:
    acknowledge(h, dispatch(h))
    t_state = h.clock.monotonic()
    h.tick(0.5, times=100)  # 50 s of silence: stale after 3 s, lost 30 s after that
    st = h.mission("m1")
    assert st.outcome == MissionOutcome.ABORTED
    assert st.reason is not None and "stale" in st.reason
    assert st.ended_at_s == pytest.approx(t_state + 33.0)


def test_robot_back_in_time_keeps_the_mission(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.connect("CONNECTIONBROKEN")
    h.tick(1.0, times=20)
    r1.connect()
    r1.send_state()
    h.tick(1.0, times=20)
    r1.send_state()
    h.tick()
    assert outcome(h) == MissionOutcome.ACTIVE


def test_lost_robot_coming_back_with_our_order_is_told_to_cancel_it(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.connect("CONNECTIONBROKEN")
    h.tick(1.0, times=31)
    assert outcome(h) == MissionOutcome.ABORTED
    r1.connect()
    r1.send_state()  # still executing m1-1
    h.tick()
    ((kind, cancel_id),) = instant(r1)
    assert kind == "cancelOrder"
    r1.set_action(cancel_id, "FINISHED")
    r1.node_states, r1.edge_states = [], []
    r1.send_state()
    h.tick(1.0, times=3)
    assert instant(r1) == []  # sent once, acknowledged
    assert outcome(h) == MissionOutcome.ABORTED


# ------------------------------------------------------------------ pause, resume, factsheet


def test_pause_and_resume_send_instant_actions_until_acknowledged(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    h.controller.pause("m1")
    h.tick()
    ((kind, pause_id),) = instant(r1)
    assert kind == "startPause" and pause_id.startswith("m1:startPause:")
    h.tick(1.0)
    assert instant(r1) == [("startPause", pause_id)]
    r1.set_action(pause_id, "FINISHED")
    r1.paused = True
    r1.send_state()
    h.tick(1.0, times=3)
    assert instant(r1) == []
    assert h.robot_status("R1").paused is True
    h.controller.resume("m1")
    h.tick()
    ((kind, resume_id),) = instant(r1)
    assert kind == "stopPause" and resume_id != pause_id
    r1.set_action(resume_id, "FINISHED")
    r1.send_state()
    h.tick(1.0, times=3)
    assert instant(r1) == []
    assert outcome(h) == MissionOutcome.ACTIVE


def test_instant_actions_wait_while_the_robot_is_offline(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.connect("OFFLINE")
    h.tick()
    h.controller.pause("m1")
    h.tick(1.0, times=3)
    assert instant(r1) == []
    r1.connect()
    r1.send_state()
    h.tick()
    assert [k for k, _ in instant(r1)] == ["startPause"]


def test_pause_needs_a_running_mission(h: Harness) -> None:
    h.controller.submit(mission())
    with pytest.raises(MissionError, match="not running"):
        h.controller.pause("m1")
    with pytest.raises(MissionError, match="never sent"):
        h.controller.resume("m1")


def test_instant_action_id_not_reused_from_robot_state(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.set_action("m1:startPause:1", "FINISHED")  # left over from an earlier controller
    r1.send_state()
    h.tick()
    h.controller.pause("m1")
    h.tick()
    ((_, pause_id),) = instant(r1)
    assert pause_id != "m1:startPause:1"


def test_request_factsheet_until_answered(h: Harness) -> None:
    r1 = h.online("R1")
    h.controller.request_factsheet("R1")
    h.tick()
    assert [k for k, _ in instant(r1)] == ["factsheetRequest"]
    h.tick(1.0)
    assert [k for k, _ in instant(r1)] == ["factsheetRequest"]
    r1.send_factsheet(["measureGas"])
    h.tick(1.0, times=3)
    assert instant(r1) == []
    assert h.robot_status("R1").factsheet_actions == ("measureGas",)
    with pytest.raises(MissionError, match="not in the fleet"):
        h.controller.request_factsheet("R9")


# ------------------------------------------------------------------ events


def test_mission_and_robot_events(h: Harness) -> None:
    r1 = acknowledge(h, dispatch(h))
    r1.finish_all()
    r1.send_state()
    h.tick()
    mission_events = [e.detail for e in h.events if e.kind == "mission"]
    assert mission_events == [
        "pending: accepted",
        "dispatched: order m1-1 sent to acme/R1",
        "active: acknowledged by acme/R1",
        "completed: reached 'D', all actions finished",
    ]
    assert [e.detail for e in h.events if e.kind == "robot"] == ["online"]
    assert all(e.subject == "m1" for e in h.events if e.kind == "mission")


def test_a_failing_listener_does_not_stop_the_controller() -> None:
    h = Harness()

    def boom(_: object) -> None:
        raise RuntimeError("listener bug")

    h.controller._events._listener = boom  # the only way to swap it after construction
    h.controller.start()
    r1 = h.online("R1")
    h.controller.submit(mission())
    h.tick()
    assert len(r1.take_orders()) == 1


def test_settings_change_resend_and_lost_timing() -> None:
    h = Harness(settings=ControllerSettings(resend_interval_s=0.3, lost_after_s=2.0))
    h.controller.start()
    r1 = h.online("R1")
    h.controller.submit(mission())
    h.tick(0.1, times=10)  # sent at 0.1, resent at 0.4, 0.7, 1.0
    assert len(r1.take_orders()) == 4
    r1.connect("OFFLINE")
    h.tick(0.1, times=21)
    assert outcome(h) == MissionOutcome.ABORTED

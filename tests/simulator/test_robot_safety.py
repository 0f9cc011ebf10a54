"""SimRobot: pause, cancel, controller-heartbeat fail-safe and battery."""

from __future__ import annotations

import pytest

from drivers.vda5050.messages import ActionStatus, ErrorLevel
from drivers.vda5050.topics import TopicName
from simulator.robot_spec import SimRobotSpec
from tests.simulator.harness import Harness, act, action_state, errors_of, make_order

S = ActionStatus


def drive_with_gas(h: Harness, steps: int = 30) -> None:
    """Order A->B with a long NONE measurement from A; drive ``steps`` steps."""
    h.send_order(
        make_order(["A", "B"], node_actions={0: [act("measureGas", "g", "NONE", duration_s=60)]})
    )
    h.step(steps)


def test_start_and_stop_pause() -> None:
    h = Harness()
    drive_with_gas(h)
    assert h.robot.snapshot.driving
    h.send_instant(act("startPause", "p1", "NONE"))
    h.step()
    paused = h.state
    assert paused.paused and not paused.driving
    assert action_state(paused, "p1").actionStatus is S.FINISHED
    assert action_state(paused, "g").actionStatus is S.PAUSED
    x_paused = h.robot.snapshot.x_m
    h.step(20)
    assert h.robot.snapshot.x_m == x_paused
    assert h.robot.snapshot.action_states["g"] is S.PAUSED

    h.send_instant(act("stopPause", "p2", "NONE"))
    h.step(2)
    resumed = h.state
    assert not resumed.paused and resumed.driving
    assert action_state(resumed, "p2").actionStatus is S.FINISHED
    assert action_state(resumed, "g").actionStatus is S.RUNNING
    assert h.robot.snapshot.x_m > x_paused


def test_cancel_order_stops_and_fails_remaining_actions() -> None:
    h = Harness()
    h.send_order(
        make_order(
            ["A", "B", "C"],
            node_actions={
                0: [act("measureGas", "g", "NONE", duration_s=60)],
                2: [act("captureImage", "img")],
            },
        )
    )
    h.step(30)
    h.send_instant(act("cancelOrder", "c1", "NONE"))
    h.step()
    state = h.state
    assert action_state(state, "c1").actionStatus is S.FINISHED
    assert action_state(state, "g").actionStatus is S.FAILED
    assert action_state(state, "img").actionStatus is S.FAILED
    assert state.nodeStates == [] and state.edgeStates == []
    assert not state.driving
    assert (state.orderId, state.orderUpdateId) == ("o1", 0), "kept after a cancel (6.6.3)"
    x_stopped = h.robot.snapshot.x_m
    h.step(20)
    assert h.robot.snapshot.x_m == x_stopped

    # An update to the cancelled order is refused; a new order is accepted (6.6.3.1).
    h.send_order(make_order(["B", "C"], update_id=1, first_seq=2))
    h.step()
    assert errors_of(h.state, "orderUpdateError")
    h.send_order(make_order(["A", "B"], order_id="o2", deviation_m=x_stopped + 1.0))
    h.step()
    assert h.state.orderId == "o2"


def test_cancel_order_without_an_order_fails_with_no_order_to_cancel() -> None:
    h = Harness()
    h.send_instant(act("cancelOrder", "c1", "NONE"))
    h.step()
    state = h.state
    assert action_state(state, "c1").actionStatus is S.FAILED
    (err,) = errors_of(state, "noOrderToCancel")
    assert err.errorLevel is ErrorLevel.WARNING
    assert [(r.referenceKey, r.referenceValue) for r in err.errorReferences] == [("actionId", "c1")]


def test_second_cancel_after_a_cancel_fails() -> None:
    h = Harness()
    drive_with_gas(h)
    h.send_instant(act("cancelOrder", "c1", "NONE"), act("cancelOrder", "c2", "NONE"))
    h.step()
    assert action_state(h.state, "c1").actionStatus is S.FINISHED
    assert action_state(h.state, "c2").actionStatus is S.FAILED


def test_unknown_instant_action_fails_with_a_warning() -> None:
    h = Harness()
    h.send_instant(act("selfDestruct", "x", "NONE"))
    h.step()
    assert action_state(h.state, "x").actionStatus is S.FAILED
    (err,) = errors_of(h.state, "instantActionError")
    assert err.errorLevel is ErrorLevel.WARNING


def test_factsheet_request_republishes_the_factsheet() -> None:
    h = Harness()
    h.send_instant(act("factsheetRequest", "f1", "NONE"))
    h.step()
    assert [f.headerId for f in h.factsheets()] == [0, 1]
    assert action_state(h.state, "f1").actionStatus is S.FINISHED


def test_malformed_instant_actions_never_crash() -> None:
    h = Harness()
    h.send(TopicName.INSTANT_ACTIONS, b'{"actions": 5}')
    h.step()
    assert h.robot.messages_rejected == 1
    assert errors_of(h.state, "validationError")


# ---------------------------------------------------------------------- heartbeat


def test_heartbeat_loss_pauses_and_recovery_resumes() -> None:
    h = Harness(beating=False)
    h.beat()
    drive_with_gas(h, steps=20)
    assert h.robot.snapshot.driving
    assert not h.robot.snapshot.paused
    h.step(11)  # 3.1 s after the only beat
    lost = h.state
    assert lost.paused and not lost.driving
    (err,) = errors_of(lost, "controllerHeartbeatLost")
    assert err.errorLevel is ErrorLevel.WARNING
    assert action_state(lost, "g").actionStatus is S.RUNNING, "running actions go on"
    x_lost = h.robot.snapshot.x_m
    h.step(10)
    assert h.robot.snapshot.x_m == x_lost

    h.beat()
    h.step()
    back = h.state
    assert not back.paused
    assert errors_of(back, "controllerHeartbeatLost") == []
    h.step()
    assert h.robot.snapshot.driving and h.robot.snapshot.x_m > x_lost


def test_controller_offline_pauses_at_once() -> None:
    h = Harness(beating=False)
    h.beat()
    drive_with_gas(h, steps=5)
    h.beat("OFFLINE")
    h.step()
    assert h.state.paused
    assert errors_of(h.state, "controllerHeartbeatLost")


def test_heartbeat_interval_from_the_payload() -> None:
    h = Harness(beating=False)
    h.beat(interval_ms=200)
    drive_with_gas(h, steps=5)
    assert not h.robot.snapshot.paused
    h.step(3)  # received at 0.1 s; at 0.8 s silent 0.7 s > 3 x 0.2 s
    assert h.robot.snapshot.paused


def test_an_order_arms_the_watch_even_without_heartbeats() -> None:
    h = Harness(beating=False)
    h.step(50)
    assert not h.robot.snapshot.paused, "never saw a controller: nothing to lose"
    drive_with_gas(h, steps=29)
    assert not h.robot.snapshot.paused
    h.step(3)
    assert h.robot.snapshot.paused


def test_start_pause_survives_heartbeat_recovery() -> None:
    h = Harness(beating=False)
    h.beat()
    drive_with_gas(h, steps=5)
    h.send_instant(act("startPause", "p1", "NONE"))
    h.step(40)  # heartbeat lost as well
    assert errors_of(h.state, "controllerHeartbeatLost")
    h.beat()
    h.step()
    assert errors_of(h.state, "controllerHeartbeatLost") == []
    assert h.state.paused, "the controller's startPause holds until stopPause"
    x = h.robot.snapshot.x_m
    h.beating = True
    h.step(10)
    assert h.robot.snapshot.x_m == x
    h.send_instant(act("stopPause", "p2", "NONE"))
    h.step(3)
    assert not h.state.paused and h.robot.snapshot.x_m > x


def test_stop_pause_does_not_override_a_heartbeat_pause() -> None:
    h = Harness(beating=False)
    h.beat()
    drive_with_gas(h, steps=5)
    h.step(35)
    h.send_instant(act("stopPause", "p2", "NONE"))
    h.step()
    assert h.state.paused
    assert not h.robot.snapshot.driving


# ---------------------------------------------------------------------- battery


def test_battery_drains_with_idle_and_drive_power() -> None:
    h = Harness()
    h.step(360, dt_s=10.0)  # one hour idle at 20 W out of 500 Wh: 4 %
    assert h.robot.snapshot.battery_pct == pytest.approx(96.0)
    assert h.state.batteryState.batteryCharge == pytest.approx(96.0, abs=0.01)
    assert not h.state.batteryState.charging
    assert h.state.batteryState.batteryVoltage is not None

    before = h.robot.snapshot.battery_pct
    h.send_order(make_order(["A", "B"]))
    h.step(150)  # 15 s: 10 s driving at 150 W + 15 s idle at 20 W
    used_wh = (150 * 10 + 20 * 15) / 3600
    assert h.robot.snapshot.battery_pct == pytest.approx(before - 100 * used_wh / 500, abs=1e-3)


def test_action_power_is_drawn_while_an_action_runs() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "A", idle_power_w=0.0, action_power_w=36.0))
    h.send_order(make_order(["A"], node_actions={0: [act("measureGas", "g", duration_s=100)]}))
    h.step(50, dt_s=1.0)
    # 36 W for about 49 s out of 500 Wh
    assert h.robot.snapshot.battery_pct == pytest.approx(100 - 100 * 36 * 49 / 3600 / 500, abs=0.01)


def test_empty_battery_stops_the_robot_with_a_fatal_error() -> None:
    # 0.01 % of 500 Wh = 180 J: 1.06 s of driving at 170 W
    h = Harness(SimRobotSpec("acme", "r1", "A", start_battery_pct=0.01))
    h.send_order(
        make_order(["A", "B"], node_actions={0: [act("measureGas", "g", "NONE", duration_s=60)]})
    )
    h.step(30)
    state = h.state
    (err,) = errors_of(state, "batteryEmpty")
    assert err.errorLevel is ErrorLevel.FATAL
    assert state.batteryState.batteryCharge == 0.0
    assert not state.driving
    assert action_state(state, "g").actionStatus is S.FAILED
    x = h.robot.snapshot.x_m
    assert 0.5 < x < 1.5
    h.step(20)
    assert h.robot.snapshot.x_m == x


def test_malformed_heartbeat_is_counted_and_ignored() -> None:
    h = Harness(beating=False)
    h.bus.publish("uagv/hazfleet/hazfleet/heartbeat", b'{"connectionState": "MAYBE"}', 1, True)
    h.step()
    assert h.robot.messages_rejected == 1
    assert errors_of(h.state, "validationError")
    assert not h.state.paused, "garbage does not arm the watch"


def test_repeated_instant_action_id_is_ignored() -> None:
    h = Harness()
    drive_with_gas(h, steps=5)
    h.send_instant(act("startPause", "p1", "NONE"))
    h.step()
    h.send_instant(act("stopPause", "p2", "NONE"))
    h.send_instant(act("startPause", "p1", "NONE"))  # a resend of the old one
    h.step()
    assert not h.state.paused
    h.send_instant(act("cancelOrder", "c1", "NONE"))
    h.step()
    h.send_order(make_order(["A", "B"], order_id="o2", deviation_m=5.0))
    h.step()
    assert h.state.orderId == "o2"
    assert "p1" not in h.robot.snapshot.action_states, "dropped with the new order"
    h.send_instant(act("startPause", "p1", "NONE"))  # a very late duplicate
    h.step()
    assert not h.state.paused


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_speed_m_s": 0.0},
        {"battery_capacity_wh": -1.0},
        {"start_battery_pct": 101.0},
        {"idle_power_w": -5.0},
        {"serial": "r/1"},
        {"action_durations_s": {"measureGas": -1.0}},
    ],
)
def test_spec_rejects_nonsense(kwargs: dict[str, object]) -> None:
    values: dict[str, object] = {"manufacturer": "acme", "serial": "r1", "start_node": "A"}
    values.update(kwargs)
    with pytest.raises(ValueError):
        SimRobotSpec(**values)  # type: ignore[arg-type]

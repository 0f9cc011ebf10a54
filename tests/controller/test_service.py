"""The Controller facade: lifecycle, subscriptions, robustness, schema-valid output."""

from __future__ import annotations

import dataclasses

import pytest

from controller import Controller, ControllerSettings, MissionStatus, RobotStatus
from controller.service import REASON_INTERNAL
from drivers.vda5050 import Visualization, encode
from missions.mission import MissionOutcome, MissionSpec
from tests.controller import SITE, Harness
from tests.vda5050_schemas import SKIP_REASON, schemas_available


def spec(mission_id: str = "m1", robot: str | None = "R1") -> MissionSpec:
    return MissionSpec.model_validate(
        {
            "id": mission_id,
            "robot": robot,
            "steps": [
                {"node": "B", "actions": [{"type": "measureGas", "params": {"gas": "CO"}}]},
                {"node": "D", "actions": [{"type": "captureImage", "blocking": "SOFT"}]},
            ],
        }
    )


def test_step_before_start_does_nothing() -> None:
    h = Harness()
    h.robots["R1"].send_state()
    h.tick(1.0, times=3)
    assert h.bus.published[-1].topic.endswith("/state")  # only the robot's own message
    assert h.robot_status("R1").availability == "unknown"


def test_retained_connection_and_factsheet_are_read_on_start() -> None:
    h = Harness()
    r1 = h.robots["R1"]
    r1.connect()
    r1.send_factsheet(["measureGas"])
    h.controller.start()
    h.controller.step()
    st = h.robot_status("R1")
    assert st.availability == "online" and st.factsheet_actions == ("measureGas",)


def test_start_twice_subscribes_once() -> None:
    h = Harness()
    h.controller.start()
    h.controller.start()
    h.robots["R1"].send_state()
    h.controller.step()
    assert h.robot_status("R1").last_state_at_s == 0.0
    assert len([m for m in h.bus.published if "heartbeat" in m.topic]) == 1


def test_restart_after_shutdown_resumes_without_duplicate_delivery() -> None:
    h = Harness()
    h.controller.start()
    h.controller.shutdown()
    h.controller.start()
    beats = [m for m in h.bus.published if "heartbeat" in m.topic]
    assert [b.payload.count(b'"ONLINE"') for b in beats] == [1, 0, 1]
    # white-box: a second set of subscriptions would deliver every message twice
    # (state, connection, factsheet and the camera frames of the hazard watch)
    assert sum(1 for sub in h.bus._subs if sub.sink is h.controller._inbox) == 4
    r1 = h.online("R1")
    h.controller.submit(spec())
    h.tick()
    assert len(r1.take_orders()) == 1


def test_visualization_is_not_subscribed() -> None:
    h = Harness()
    h.controller.start()
    r1 = h.robots["R1"]
    vis = Visualization.model_validate(r1.state_dict() | {"agvPosition": None})
    h.bus.publish(r1.topic("visualization"), encode(vis))
    h.tick()
    assert h.robot_status("R1").availability == "unknown"
    assert not h.controller.messages_rejected


def test_internal_error_on_one_message_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(serials=("R1", "R2"))
    h.controller.start()
    real = h.controller._dispatcher.on_state

    def flaky(robot, state, now_s):  # type: ignore[no-untyped-def]
        if robot.serial == "R1":
            raise RuntimeError("bug")
        real(robot, state, now_s)

    monkeypatch.setattr(h.controller._dispatcher, "on_state", flaky)
    h.robots["R1"].send_state()
    h.robots["R2"].send_state()
    h.tick()
    assert h.controller.messages_rejected[REASON_INTERNAL] == 1
    assert h.robot_status("R2").availability == "online"


def test_status_snapshots_are_frozen() -> None:
    h = Harness()
    h.controller.start()
    h.online("R1")
    h.controller.submit(spec())
    (m,) = h.controller.missions()
    (r,) = h.controller.robots()
    assert isinstance(m, MissionStatus) and isinstance(r, RobotStatus)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.outcome = MissionOutcome.COMPLETED  # type: ignore[misc]
    assert m.accepted_at_s == 0.0


def test_invalid_settings_are_refused() -> None:
    h = Harness()
    with pytest.raises(ValueError):
        Controller(h.bus, h.clock, SITE, h.fleet, ControllerSettings(resend_interval_s=0.0))
    with pytest.raises(ValueError):
        Controller(h.bus, h.clock, SITE, h.fleet, ControllerSettings(heartbeat_interval_s=-1.0))


@pytest.mark.schemas
@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
def test_everything_sent_in_a_full_mission_is_schema_valid() -> None:
    h = Harness(serials=("R1", "R2"))
    h.robots["R1"].version = "2.0.0"
    h.controller.start()
    r1 = h.online("R1", factsheet=["measureGas", "captureImage"])
    h.controller.submit(spec())
    h.controller.submit(spec("m2", robot=None))
    h.tick(0.5, times=3)  # order + resend
    (order, *_) = r1.take_orders()
    r1.accept(order)
    r1.send_state()
    h.controller.pause("m1")
    h.controller.resume("m1")
    h.controller.request_factsheet("R1")
    h.tick()
    h.controller.cancel("m1")
    h.tick(1.0, times=2)
    published = h.published("order") + h.published("instantActions")
    assert len(published) >= 6
    assert {p["version"] for p in h.published("order")} == {"2.0.0"}
    assert h.schema_problems() == []

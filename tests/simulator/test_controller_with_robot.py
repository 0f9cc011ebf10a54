"""The production controller driving a simulated robot, in memory (logic across both
sides; the same pairing over real brokers is in test_drill.py and test_failsafe_mqtt.py)."""

from __future__ import annotations

import json

from controller.service import Controller, ControllerSettings
from drivers.bus import InMemoryBus
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.mission import MissionOutcome, MissionSpec, MissionStep
from missions.site import Edge, Node, SiteMap
from simulator.robot import SimRobot, SimRobotSpec

SITE = SiteMap(
    map_id="yard",
    nodes=[Node(id="a", x=0, y=0), Node(id="b", x=20, y=0), Node(id="c", x=20, y=10)],
    edges=[Edge(start="a", end="b"), Edge(start="b", end="c")],
)


def setup() -> tuple[FakeClock, Controller, SimRobot, InMemoryBus]:
    clock = FakeClock()
    bus = InMemoryBus()
    controller = Controller(
        bus.client(),
        clock,
        SITE,
        [RobotRef(manufacturer="sim", serial="r1")],
        ControllerSettings(interface="t"),
    )
    robot = SimRobot(
        SimRobotSpec(manufacturer="sim", serial="r1", start_node="a", max_speed_m_s=1.0),
        SITE,
        bus.client(),
        clock,
        interface="t",
    )
    controller.start()
    robot.start()
    return clock, controller, robot, bus


def run(clock: FakeClock, controller: Controller, robot: SimRobot, seconds: float) -> None:
    for _ in range(int(seconds / 0.1)):
        clock.advance(0.1)
        controller.step()
        robot.step()


def outcome(controller: Controller, mission_id: str) -> MissionOutcome:
    return next(m for m in controller.missions() if m.id == mission_id).outcome


def test_new_order_after_a_cancel_between_nodes_starts_where_the_robot_stopped() -> None:
    clock, controller, robot, bus = setup()
    controller.submit(MissionSpec(id="m1", robot="r1", steps=[MissionStep(node="c")]))
    run(clock, controller, robot, 8)  # 8 m along the 20 m edge a-b
    assert robot.snapshot.driving
    controller.cancel("m1")
    run(clock, controller, robot, 2)
    assert outcome(controller, "m1") is MissionOutcome.ABORTED
    stopped_x = robot.snapshot.x_m
    assert 5 < stopped_x < 15 and robot.snapshot.last_node_id == "a"

    controller.submit(MissionSpec(id="m2", robot="r1", steps=[MissionStep(node="a")]))
    run(clock, controller, robot, 3)
    order = json.loads(
        next(m for m in reversed(bus.published) if m.topic.endswith("/order")).payload
    )
    # a temporary node where it stands, then back to the node it last passed (6.6.3.1)
    first, second = order["nodes"][0], order["nodes"][1]
    assert first["nodePosition"]["x"] == stopped_x
    assert second["nodeId"] == "a"
    assert order["edges"][0]["endNodeId"] == "a"
    run(clock, controller, robot, 20)
    assert outcome(controller, "m2") is MissionOutcome.COMPLETED
    assert robot.snapshot.x_m == 0 and robot.snapshot.last_node_id == "a"
    assert robot.messages_rejected == 0

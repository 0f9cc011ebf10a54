"""Operator commands through a real broker: horizon gating waits for clearance, fleet /
zone / robot stops and the move to the safe assembly zone.

One controller and simulated robots, each on its own :class:`MqttTransport`, lock-stepped
on a shared :class:`FakeClock` with the delivery barrier (as test_failsafe_mqtt.py).
Each test uses its own VDA 5050 interface name and clears what it retained.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest

from controller.heartbeat import heartbeat_topic
from controller.service import Controller, ControllerSettings, MissionStatus, controller_will
from drivers.errors import MissionError
from drivers.vda5050 import Topic, TopicName
from missions.capabilities import HazardRating, RobotConfig
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome, MissionSpec
from missions.site import Edge, Node, SiteMap, Zone, ZoneKind
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.robot import SimRobot, SimRobotSpec, robot_will
from tests.conftest import BrokerUnderTest, TransportFactory, fast_settings

pytestmark = pytest.mark.broker

MANUFACTURER = "acme"
CONTROLLER_ID = "hazfleet"
TICK_S = 0.1
WAIT_S = 5.0
BARRIER_S = 2.0

# dock(0,0) -- gate(6,0) -- vault-1(12,0) -- vault-2(18,0)      muster(0,8) in "assembly"
#    |                      (vault-1 and vault-2 inside zone "vault")
#  yard(0,4) -- muster(0,8)
SITE = SiteMap(
    map_id="gated",
    nodes=[
        Node(id="dock", x=0.0, y=0.0),
        Node(id="gate", x=6.0, y=0.0),
        Node(id="vault-1", x=12.0, y=0.0),
        Node(id="vault-2", x=18.0, y=0.0),
        Node(id="yard", x=0.0, y=4.0),
        Node(id="muster", x=0.0, y=8.0),
    ],
    edges=[
        Edge(start="dock", end="gate"),
        Edge(start="gate", end="vault-1"),
        Edge(start="vault-1", end="vault-2"),
        Edge(start="dock", end="yard"),
        Edge(start="yard", end="muster"),
    ],
    zones=[
        Zone(id="vault", kind=ZoneKind.GENERAL, polygon=[(9, -2), (21, -2), (21, 2), (9, 2)]),
        Zone(id="muster-area", kind=ZoneKind.ASSEMBLY, polygon=[(-2, 7), (2, 7), (2, 9), (-2, 9)]),
    ],
)


@dataclass
class Rig:
    clock: FakeClock
    tracker: DeliveryTracker
    controller: Controller
    robots: dict[str, SimRobot]

    def tick(self) -> None:
        self.clock.advance(TICK_S)
        self.controller.step()
        self.tracker.wait_idle(BARRIER_S)
        for robot in self.robots.values():
            robot.step()
        self.tracker.wait_idle(BARRIER_S)

    def tick_until(self, cond: Callable[[], bool], max_ticks: int) -> None:
        for _ in range(max_ticks):
            self.tick()
            if cond():
                return
        raise AssertionError(f"not within {max_ticks} ticks ({max_ticks * TICK_S:g} s simulated)")

    def ticks(self, n: int) -> None:
        for _ in range(n):
            self.tick()

    def mission(self, mission_id: str) -> MissionStatus:
        return next(m for m in self.controller.missions() if m.id == mission_id)


@pytest.fixture
def make_rig(
    broker: BrokerUnderTest, transport_factory: TransportFactory
) -> Iterator[Callable[..., Rig]]:
    made: list[tuple[str, list[str]]] = []

    def make(starts: Sequence[tuple[str, str]], plan: FleetPlanSettings) -> Rig:
        iface = f"t{uuid.uuid4().hex[:10]}"
        clock = FakeClock()
        tracker = DeliveryTracker()
        ctransport = transport_factory("ctl", will=controller_will(iface, CONTROLLER_ID, clock))
        cbus = TrackedBus(ctransport, tracker, held=True)
        settings = ControllerSettings(
            interface=iface, controller_id=CONTROLLER_ID, fleet_plan=plan, hazard_watch=None
        )
        fleet = [RobotRef(manufacturer=MANUFACTURER, serial=s) for s, _ in starts]
        controller = Controller(cbus, clock, SITE, fleet, settings)
        robots: dict[str, SimRobot] = {}
        buses = [cbus]
        transports = [ctransport]
        for serial, node in starts:
            spec = SimRobotSpec(MANUFACTURER, serial, node, max_speed_m_s=1.0)
            rt = transport_factory(
                f"robot-{serial}",
                will=robot_will(spec, iface, clock),
                settings=fast_settings(broker.url),
            )
            rbus = TrackedBus(rt, tracker, held=True)
            robots[serial] = SimRobot(spec, SITE, rbus, clock, interface=iface)
            buses.append(rbus)
            transports.append(rt)
        made.append((iface, [s for s, _ in starts]))
        controller.start()
        for robot in robots.values():
            robot.start()
        for t in transports:
            assert t.wait_subscribed(WAIT_S), f"no SUBACK for {t.client_id}"
        for b in buses:
            b.release()
        assert tracker.wait_idle(BARRIER_S)
        rig = Rig(clock, tracker, controller, robots)
        rig.tick_until(
            lambda: all(
                r.availability == "online" and r.factsheet_actions for r in controller.robots()
            ),
            50,
        )
        return rig

    yield make

    cleaner = transport_factory("cleaner")
    for iface, serials in made:
        cleaner.publish(heartbeat_topic(iface, CONTROLLER_ID), b"", qos=1, retain=True)
        for serial in serials:
            for name in (TopicName.CONNECTION, TopicName.FACTSHEET):
                cleaner.publish(
                    str(Topic(iface, MANUFACTURER, serial, name)), b"", qos=1, retain=True
                )
    cleaner.flush(WAIT_S)


ZONE1 = RobotConfig(rating=HazardRating.ZONE_1)


def test_the_robot_waits_at_the_zone_boundary_until_the_operator_clears_it(
    make_rig: Callable[..., Rig],
) -> None:
    plan = FleetPlanSettings(robots={"acme/r1": ZONE1}, clearance_zones=frozenset({"vault"}))
    rig = make_rig([("r1", "dock")], plan)
    robot = rig.robots["r1"]
    rig.controller.submit(
        MissionSpec.model_validate(
            {"id": "m1", "steps": [{"node": "vault-2", "actions": [{"type": "captureImage"}]}]}
        )
    )
    rig.tick_until(
        lambda: robot.snapshot.last_node_id == "gate" and not robot.snapshot.driving, 150
    )
    rig.ticks(100)  # 10 s: it stays at the boundary
    snap = robot.snapshot
    assert (snap.last_node_id, snap.driving, snap.x_m) == ("gate", False, 6.0)
    m = rig.mission("m1")
    assert m.outcome == MissionOutcome.ACTIVE
    assert m.waiting == "waiting (clearance): zone vault from node gate"

    assert rig.controller.clear("m1") == ["vault"]
    rig.tick_until(lambda: rig.mission("m1").outcome.terminal, 300)
    m = rig.mission("m1")
    assert m.outcome == MissionOutcome.COMPLETED, m.reason
    assert (m.order_id, m.order_update_id) == ("m1-1", 1)
    assert robot.snapshot.last_node_id == "vault-2"
    assert robot.messages_rejected == 0


def survey(mission_id: str, node: str) -> MissionSpec:
    return MissionSpec.model_validate(
        {"id": mission_id, "steps": [{"node": node, "actions": [{"type": "captureImage"}]}]}
    )


def test_fleet_stop_pauses_every_robot_and_resume_lets_the_missions_finish(
    make_rig: Callable[..., Rig],
) -> None:
    plan = FleetPlanSettings(robots={"acme/r1": ZONE1, "acme/r2": ZONE1})
    rig = make_rig([("r1", "dock"), ("r2", "yard")], plan)
    rig.controller.submit(survey("m1", "vault-2"))
    rig.controller.submit(survey("m2", "muster"))
    rig.tick_until(lambda: all(r.snapshot.driving for r in rig.robots.values()), 50)

    assert sorted(rig.controller.stop()) == ["acme/r1", "acme/r2"]
    rig.tick_until(lambda: all(r.snapshot.paused for r in rig.robots.values()), 30)
    where = {s: r.snapshot.x_m + r.snapshot.y_m for s, r in rig.robots.items()}
    rig.ticks(50)  # 5 s: nobody moves
    assert {s: r.snapshot.x_m + r.snapshot.y_m for s, r in rig.robots.items()} == where
    assert all(not r.snapshot.driving for r in rig.robots.values())
    assert {m.outcome for m in rig.controller.missions()} == {MissionOutcome.ACTIVE}

    rig.controller.resume_robots()
    rig.tick_until(lambda: rig.controller.all_missions_ended(), 400)
    assert {m.outcome for m in rig.controller.missions()} == {MissionOutcome.COMPLETED}


def test_a_zone_stop_pauses_only_the_robots_in_the_zone(make_rig: Callable[..., Rig]) -> None:
    plan = FleetPlanSettings(robots={"acme/r1": ZONE1, "acme/r2": ZONE1})
    rig = make_rig([("r1", "vault-1"), ("r2", "dock")], plan)
    assert rig.controller.stop(zone="vault") == ["acme/r1"]
    assert rig.controller.stop(robots=["r2"]) == ["acme/r2"]
    rig.tick_until(lambda: all(r.snapshot.paused for r in rig.robots.values()), 30)
    assert rig.controller.resume_robots(robots=["r2"]) == ["acme/r2"]
    rig.tick_until(lambda: not rig.robots["r2"].snapshot.paused, 30)
    rig.ticks(10)
    assert rig.robots["r1"].snapshot.paused
    with pytest.raises(MissionError, match="no zone 'moon'"):
        rig.controller.stop(zone="moon")
    with pytest.raises(MissionError, match="'r9' not in the fleet"):
        rig.controller.stop(robots=["r9"])


def test_assemble_cancels_the_missions_and_brings_every_robot_to_the_assembly_zone(
    make_rig: Callable[..., Rig],
) -> None:
    plan = FleetPlanSettings(robots={"acme/r1": ZONE1, "acme/r2": ZONE1})
    rig = make_rig([("r1", "dock"), ("r2", "gate")], plan)
    rig.controller.submit(survey("m1", "vault-2"))
    rig.tick_until(lambda: any(r.snapshot.driving for r in rig.robots.values()), 50)
    rig.ticks(20)

    assert rig.controller.assemble() == {"acme/r1": "muster", "acme/r2": "muster"}
    rig.tick_until(
        lambda: all(
            r.snapshot.last_node_id == "muster" and not r.snapshot.driving
            for r in rig.robots.values()
        ),
        600,
    )
    m1 = rig.mission("m1")
    assert m1.outcome == MissionOutcome.ABORTED
    assert m1.reason == "fleet sent to the safe assembly zone"
    # nothing new is dispatched until the fleet is resumed
    rig.controller.submit(survey("m2", "gate"))
    rig.ticks(20)
    assert rig.mission("m2").outcome == MissionOutcome.PENDING
    assert rig.mission("m2").waiting is not None
    assert rig.mission("m2").waiting.startswith("waiting (suspended)")
    rig.controller.resume_robots()
    rig.tick_until(lambda: rig.mission("m2").outcome.terminal, 300)
    assert rig.mission("m2").outcome == MissionOutcome.COMPLETED

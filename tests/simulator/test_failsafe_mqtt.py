"""Fail-safe behaviour through a real broker: last wills and the controller heartbeat.

One controller and one simulated robot, each on its own :class:`MqttTransport`, stepped
by hand on a shared :class:`FakeClock`.  While both links are healthy a tick is
lock-stepped like a drill (controller, delivery barrier, robot, delivery barrier; see
:mod:`simulator.delivery`); while a link is down the test polls, bounded in wall time,
for what the broker's last will must bring about.

Each test uses its own VDA 5050 interface name (the brokers are shared by the session)
and clears the retained messages it left behind.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from controller.heartbeat import heartbeat_topic
from controller.service import Controller, ControllerSettings, RobotStatus, controller_will
from drivers.bus import Inbox
from drivers.mqtt import MqttSettings, MqttTransport
from drivers.vda5050 import ConnectionState, ErrorLevel, State, Topic, TopicName, decode
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.mission import MissionOutcome, MissionSpec
from missions.site import Edge, Node, SiteMap
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.robot import SimRobot, SimRobotSpec, robot_will
from tests.conftest import BrokerUnderTest, TransportFactory, fast_settings

pytestmark = pytest.mark.broker

MANUFACTURER = "acme"
SERIAL = "r1"
CONTROLLER_ID = "hazfleet"
HEARTBEAT_LOST = "controllerHeartbeatLost"
TICK_S = 0.1
WAIT_S = 5.0
"""wall seconds any single poll may take"""
BARRIER_S = 2.0
"""wall seconds a tick waits for its messages before counting them lost"""

# dock(0,0) ---- 8 m ---- far(8,0): at 1 m/s the robot is on the edge for 8 s.
SITE = SiteMap(
    map_id="failsafe",
    nodes=[Node(id="dock", x=0.0, y=0.0), Node(id="far", x=8.0, y=0.0)],
    edges=[Edge(start="dock", end="far")],
)
SPEC = SimRobotSpec(MANUFACTURER, SERIAL, "dock", max_speed_m_s=1.0)
MISSION = MissionSpec.model_validate({"id": "m1", "robot": SERIAL, "steps": [{"node": "far"}]})


def until(
    cond: Callable[[], bool], step: Callable[[], None] | None = None, timeout_s: float = WAIT_S
) -> bool:
    """Call ``step`` and check ``cond`` until it holds or ``timeout_s`` wall seconds pass."""
    deadline = time.monotonic() + timeout_s
    while True:
        if step is not None:
            step()
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


@dataclass
class Rig:
    iface: str
    clock: FakeClock
    tracker: DeliveryTracker
    controller: Controller
    ctransport: MqttTransport
    robot: SimRobot
    rtransport: MqttTransport
    spy: MqttTransport
    """a plain client outside the drill, recording the heartbeat and the robot's state"""
    beats: Inbox = field(default_factory=Inbox)
    states: Inbox = field(default_factory=Inbox)
    beat_history: list[str] = field(default_factory=list)
    """connectionState of every heartbeat the spy received so far, in order"""

    def tick(self) -> None:
        """One lock-stepped tick: both links must be up."""
        self.clock.advance(TICK_S)
        self.controller.step()
        self.tracker.wait_idle(BARRIER_S)
        self.robot.step()
        self.tracker.wait_idle(BARRIER_S)

    def tick_until(self, cond: Callable[[], bool], max_ticks: int) -> int:
        for n in range(1, max_ticks + 1):
            self.tick()
            if cond():
                return n
        raise AssertionError(f"not within {max_ticks} ticks ({max_ticks * TICK_S:g} s simulated)")

    def status(self) -> RobotStatus:
        (status,) = self.controller.robots()
        return status

    def outcome(self) -> MissionOutcome:
        (mission,) = self.controller.missions()
        return mission.outcome

    def beat_states(self) -> list[str]:
        """Every heartbeat's connectionState the spy has received by now, in order."""
        self.beat_history.extend(
            json.loads(m.payload)["connectionState"] for m in self.beats.drain() if m.payload
        )
        return self.beat_history

    def wire_states(self) -> list[State]:
        return [decode(State, m.payload, source=m.topic) for m in self.states.drain()]


@pytest.fixture
def make_rig(
    broker: BrokerUnderTest, transport_factory: TransportFactory
) -> Iterator[Callable[..., Rig]]:
    """``make_rig(robot_settings=None, lost_after_s=30.0)`` -> a started, online rig."""
    rigs: list[Rig] = []

    def make(robot_settings: MqttSettings | None = None, lost_after_s: float = 30.0) -> Rig:
        iface = f"t{uuid.uuid4().hex[:10]}"
        clock = FakeClock()
        tracker = DeliveryTracker()
        ctransport = transport_factory("ctl", will=controller_will(iface, CONTROLLER_ID, clock))
        rtransport = transport_factory(
            "robot",
            will=robot_will(SPEC, iface, clock),
            settings=robot_settings or fast_settings(broker.url),
        )
        spy = transport_factory("spy")
        # Held until every subscription is acknowledged, as in a drill: no start-up
        # message can miss a subscriber.
        cbus = TrackedBus(ctransport, tracker, held=True)
        rbus = TrackedBus(rtransport, tracker, held=True)
        settings = ControllerSettings(
            interface=iface, controller_id=CONTROLLER_ID, lost_after_s=lost_after_s
        )
        controller = Controller(
            cbus, clock, SITE, [RobotRef(manufacturer=MANUFACTURER, serial=SERIAL)], settings
        )
        robot = SimRobot(SPEC, SITE, rbus, clock, interface=iface)
        rig = Rig(iface, clock, tracker, controller, ctransport, robot, rtransport, spy)
        rigs.append(rig)
        spy.subscribe(heartbeat_topic(iface, CONTROLLER_ID), rig.beats, 1)
        spy.subscribe(str(Topic(iface, MANUFACTURER, SERIAL, TopicName.STATE)), rig.states)
        controller.start()
        robot.start()
        for t in (ctransport, rtransport, spy):
            assert t.wait_subscribed(WAIT_S), f"no SUBACK for {t.client_id}"
        cbus.release()
        rbus.release()
        assert tracker.wait_idle(BARRIER_S)
        rig.tick_until(lambda: rig.status().availability == "online", 20)
        assert rig.status().connection is ConnectionState.ONLINE
        return rig

    yield make

    # Clear what these tests retained (the system Mosquitto keeps it across runs).
    cleaner = transport_factory("cleaner")
    for rig in rigs:
        cleaner.publish(heartbeat_topic(rig.iface, CONTROLLER_ID), b"", qos=1, retain=True)
        for name in (TopicName.CONNECTION, TopicName.FACTSHEET):
            topic = Topic(rig.iface, MANUFACTURER, SERIAL, name)
            cleaner.publish(str(topic), b"", qos=1, retain=True)
    cleaner.flush(WAIT_S)


# ------------------------------------------------------------------ the controller vanishes


def test_robot_pauses_on_controller_last_will_and_resumes_on_its_heartbeat(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig()
    robot = rig.robot
    rig.controller.submit(MISSION)
    rig.tick_until(lambda: robot.snapshot.driving, 30)
    rig.tick_until(lambda: robot.snapshot.x_m >= 1.0, 30)
    assert rig.outcome() is MissionOutcome.ACTIVE
    assert rig.tracker.lost == 0
    assert until(lambda: rig.beat_states()[-1:] == ["ONLINE"]), rig.beat_states()

    rig.ctransport.drop_connection_for_test()

    # The clock stands still: only the broker's last will can make the robot stop now,
    # not three missed beats.
    assert until(lambda: robot.snapshot.paused, robot.step), "robot did not pause itself"
    assert not robot.snapshot.driving
    assert HEARTBEAT_LOST in robot.snapshot.errors
    # (the spy is another client: the broker may deliver the will to it a bit later)
    assert until(lambda: rig.beat_states()[-1:] == ["CONNECTIONBROKEN"]), rig.beat_states()
    # ... and it says so on the wire (a WARNING, per the heartbeat contract)
    paused: list[State] = []

    def saw_paused_state() -> bool:
        paused.extend(s for s in rig.wire_states() if s.paused)
        return bool(paused)

    assert until(saw_paused_state), "no state with paused: true reached the spy"
    (lost,) = [e for e in paused[0].errors if e.errorType == HEARTBEAT_LOST]
    assert lost.errorLevel is ErrorLevel.WARNING

    # Paused means stopped: the clock runs on, the robot stays where it is.
    x_m, y_m = robot.snapshot.x_m, robot.snapshot.y_m
    t0_s = rig.clock.monotonic()
    for _ in range(30):
        rig.clock.advance(TICK_S)
        robot.step()
        assert (robot.snapshot.x_m, robot.snapshot.y_m) == (x_m, y_m)
        assert robot.snapshot.paused and not robot.snapshot.driving
    assert rig.clock.monotonic() - t0_s == pytest.approx(3.0)

    # The transport reconnects by itself, but without a heartbeat the robot stays paused.
    assert until(lambda: rig.ctransport.connected), "controller did not reconnect"
    assert rig.ctransport.wait_subscribed(WAIT_S)
    rig.tracker.wait_idle(0.5)  # write off what was sent into the gap (QoS 0 states)
    lost_in_gap = rig.tracker.lost
    rig.clock.advance(TICK_S)
    robot.step()
    assert robot.snapshot.paused

    # The controller steps again: ONLINE heartbeats, the robot resumes by itself.
    resumed_after = rig.tick_until(lambda: not robot.snapshot.paused, 10)
    assert resumed_after <= 2
    assert HEARTBEAT_LOST not in robot.snapshot.errors
    assert until(lambda: rig.beat_states()[-1:] == ["ONLINE"]), rig.beat_states()
    rig.tick_until(lambda: robot.snapshot.x_m > x_m, 5)

    rig.tick_until(lambda: rig.outcome().terminal, 150)
    assert rig.outcome() is MissionOutcome.COMPLETED
    assert robot.snapshot.last_node_id == "far"
    assert rig.tracker.lost == lost_in_gap  # nothing lost once both links were up again


# ------------------------------------------------------------------ the robot vanishes


def test_controller_sees_robot_last_will_and_aborts_its_mission(
    broker: BrokerUnderTest, make_rig: Callable[..., Rig]
) -> None:
    # A robot link that does not come back within the test: reconnect after 60 s.
    no_reconnect = fast_settings(broker.url, reconnect_min_s=60.0, reconnect_max_s=60.0)
    rig = make_rig(robot_settings=no_reconnect, lost_after_s=5.0)
    rig.controller.submit(MISSION)
    rig.tick_until(lambda: rig.robot.snapshot.driving, 30)
    assert rig.outcome() is MissionOutcome.ACTIVE

    rig.rtransport.drop_connection_for_test()

    # The robot is not stepped any more (it is "gone"); the clock stands still.
    assert until(
        lambda: rig.status().connection is ConnectionState.CONNECTIONBROKEN,
        rig.controller.step,
    ), f"controller never saw the robot's last will: {rig.status()}"
    assert rig.status().availability == "offline"
    # the premise: the robot's link stays down (its own thread may notice a bit later)
    assert until(lambda: not rig.rtransport.connected)

    # Offline for lost_after_s (5 s) with an active mission: the mission is given up,
    # not before.
    for n in range(1, 61):
        rig.clock.advance(TICK_S)
        rig.controller.step()
        assert rig.status().availability == "offline"
        expected = MissionOutcome.ACTIVE if n < 50 else MissionOutcome.ABORTED
        assert rig.outcome() is expected, f"after {n * TICK_S:.1f} s offline"
    assert rig.rtransport.stats.reconnects == 0
    (mission,) = rig.controller.missions()
    assert mission.reason is not None and mission.reason.startswith("robot lost: offline")


# ------------------------------------------------------------------ the robot says goodbye


def test_clean_robot_shutdown_is_offline_not_broken(
    transport_factory: TransportFactory, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig()

    rig.robot.shutdown()
    assert rig.tracker.wait_idle(BARRIER_S)  # the OFFLINE reached the controller's inbox
    rig.rtransport.close()  # clean DISCONNECT: the broker discards the last will

    rig.controller.step()
    status = rig.status()
    assert status.connection is ConnectionState.OFFLINE
    assert status.availability == "offline"

    # No CONNECTIONBROKEN follows: the retained connection state stays OFFLINE.
    late = transport_factory("late")
    retained = Inbox()
    late.subscribe(str(Topic(rig.iface, MANUFACTURER, SERIAL, TopicName.CONNECTION)), retained, 1)
    assert late.wait_subscribed(WAIT_S)
    message = retained.get(WAIT_S)
    assert message is not None and message.retain
    assert json.loads(message.payload)["connectionState"] == "OFFLINE"
    rig.clock.advance(TICK_S)
    rig.controller.step()
    assert rig.status().connection is ConnectionState.OFFLINE

    # A robot that has shut down publishes nothing more (not even into a closed link).
    before = rig.rtransport.stats
    rig.clock.advance(TICK_S)
    rig.robot.step()
    assert rig.rtransport.stats == before

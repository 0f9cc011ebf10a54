"""The simulated VDA 5050 v2.1 robot, speaking over a :class:`drivers.bus.Bus`.

:class:`SimRobot` is stepped, never threaded (contracts.md): ``start()`` subscribes and
announces the robot, every ``step()`` advances it to ``clock.monotonic()``, handles what
arrived, and publishes; ``shutdown()`` says goodbye.  The behaviour lives in
:mod:`simulator.robot_engine` (motion, actions, battery) and
:mod:`simulator.robot_orders` (accepting or rejecting orders); this module is the wire:
decoding, the heartbeat watch, and what is published when.

Published (QoS/retain from ``TOPIC_QOS_RETAIN``): ``connection`` ONLINE on start and
OFFLINE on shutdown (CONNECTIONBROKEN is the last will, see :func:`robot_will`),
``factsheet`` on start and on ``factsheetRequest``, ``state`` on every event and at
least every ``state_interval_s``, ``visualization`` every ``visualization_interval_s``
when set.  Malformed input is logged with its topic, field and problem, counted in
``messages_rejected`` and reported as a ``validationError`` warning; it never raises.
"""

from __future__ import annotations

import logging
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from pydantic import JsonValue

from drivers.bus import Bus, Inbox, Message, Will, topic_matches
from drivers.errors import ProtocolError
from drivers.vda5050.camera import CAMERA_QOS, CAMERA_RETAIN, CAMERA_TOPIC_NAME, camera_topic
from drivers.vda5050.codec import HeaderCounter, decode, encode, format_timestamp
from drivers.vda5050.heartbeat import HEARTBEAT_QOS, heartbeat_filter
from drivers.vda5050.messages import (
    ActionScope,
    ActionStatus,
    ConnectionState,
    ErrorLevel,
    InstantActions,
    Order,
    VdaMessage,
)
from drivers.vda5050.sensors import (
    SENSORS_QOS,
    SENSORS_RETAIN,
    SENSORS_TOPIC_NAME,
    SensorReading,
    encode_readings,
    sensors_topic,
)
from drivers.vda5050.topics import TOPIC_QOS_RETAIN, Topic, TopicName
from missions.clock import Clock
from missions.site import SiteMap
from simulator.camera import encode_frame
from simulator.environment import QUANTITY_UNITS, CleanAir, Environment
from simulator.robot_actions import Where
from simulator.robot_engine import RobotEngine
from simulator.robot_faults import FaultyInstruments, RobotFault
from simulator.robot_heartbeat import HeartbeatWatch, parse_beat
from simulator.robot_orders import Accepted, Ignored, Rejection, check_action, decide, plan_action
from simulator.robot_plan import RobotError
from simulator.robot_sensors import Measurement
from simulator.robot_spec import SimRobotSpec, action_catalogue
from simulator.robot_wire import (
    Header,
    StateLists,
    build_connection,
    build_factsheet,
    build_state,
    build_visualization,
)

__all__ = ["RobotSnapshot", "SimRobot", "SimRobotSpec", "robot_will"]

log = logging.getLogger(__name__)

_EPS_S = 1e-6  # FakeClock ticks of 0.1 s sum to 0.999999...; do not slip a period
_DOSE_WINDOW_S = 10.0
"""the counter's dose rate on the sensor stream is averaged over this long"""
_CLEAN_AIR: dict[str, tuple[float, float]] = {
    "O2": (20.5, 21.3),
    "LEL": (-2.0, 2.0),
    "CH4": (-0.1, 0.1),
    "Cl2": (-0.2, 0.2),
    "doseRate": (0.0, 0.5),
}
"""readings inside these bounds are clean air: a cell's noise and drift around zero
(every other channel: within ±1 ppm), well below every alarm set point (Cl2's lowest,
0.5 ppm)"""
_CLEAN_TOXIC_PPM = (-1.0, 1.0)


def _clean(quantity: str, m: Measurement) -> bool:
    if m.status != "ok" or m.value is None:
        return m.status == "unavailable"
    low, high = _CLEAN_AIR.get(quantity, _CLEAN_TOXIC_PPM)
    return low <= m.value <= high


_SEEN_INSTANT_IDS = 1000


@dataclass(frozen=True)
class RobotSnapshot:
    """What the robot is doing, for drill runners and tests (no wire decoding needed)."""

    serial: str
    manufacturer: str
    x_m: float
    y_m: float
    theta: float
    """rad"""
    last_node_id: str
    driving: bool
    paused: bool
    battery_pct: float
    charging: bool
    order_id: str
    errors: list[str]
    """errorType of every active error"""
    action_states: dict[str, ActionStatus]
    """actionId -> actionStatus"""


def robot_will(spec: SimRobotSpec, interface: str, clock: Clock) -> Will:
    """The robot's MQTT last will: connection CONNECTIONBROKEN, retained, QoS 1 (6.14).

    Set at connect time, so its headerId (0) and timestamp are outdated when sent.
    """
    topic = Topic(interface, spec.manufacturer, spec.serial, TopicName.CONNECTION)
    header = Header(0, format_timestamp(clock.now()), spec.version, spec.manufacturer, spec.serial)
    qos, retain = TOPIC_QOS_RETAIN[TopicName.CONNECTION]
    payload = encode(build_connection(ConnectionState.CONNECTIONBROKEN, header))
    return Will(str(topic), payload, qos, retain)


class SimRobot:
    """One simulated VDA 5050 robot."""

    def __init__(
        self,
        spec: SimRobotSpec,
        site: SiteMap,
        bus: Bus,
        clock: Clock,
        *,
        interface: str = "uagv",
        rng: np.random.Generator | None = None,
        environment: Environment | None = None,
        state_interval_s: float = 1.0,
        visualization_interval_s: float | None = None,
        sensors_interval_s: float | None = 1.0,
        sensors_idle_interval_s: float = 10.0,
    ) -> None:
        """``sensors_interval_s``: how often the detector's readings go out on the
        sensors topic while any reading is away from clean air or not ``ok``;
        ``sensors_idle_interval_s`` while all read clean air (report by exception, as
        industrial telemetry does); None publishes none."""
        if not site.has_node(spec.start_node):
            raise ValueError(
                f"robot {spec.serial}: start_node {spec.start_node!r} is not on site map "
                f"{site.map_id!r}"
            )
        if not state_interval_s > 0:
            raise ValueError(f"state_interval_s must be > 0, got {state_interval_s}")
        if visualization_interval_s is not None and not visualization_interval_s > 0:
            raise ValueError(
                f"visualization_interval_s must be > 0, got {visualization_interval_s}"
            )
        self._spec = spec
        self._site = site
        self._bus = bus
        self._clock = clock
        self._interface = interface
        self._state_interval_s = state_interval_s
        self._state_lists = StateLists()
        """the node, edge, action and error states last sent, validated"""
        self._visualization_interval_s = visualization_interval_s
        if sensors_interval_s is not None and not 0 < sensors_interval_s <= sensors_idle_interval_s:
            raise ValueError(
                f"sensors_interval_s must be > 0 and <= sensors_idle_interval_s, got "
                f"{sensors_interval_s} and {sensors_idle_interval_s}"
            )
        self._sensors_interval_s = sensors_interval_s
        self._sensors_idle_interval_s = sensors_idle_interval_s
        self._last_sensors_s: float | None = None
        self._catalogue = action_catalogue(spec)
        if rng is None:
            # Reproducible without a seed: derived from the robot's identity.
            rng = np.random.default_rng(zlib.crc32(f"{spec.manufacturer}/{spec.serial}".encode()))
        # FaultyInstruments: Instruments that a drill's stuck_sensor fault can freeze
        instruments = FaultyInstruments(environment or CleanAir(), rng, spec.serial, site.map_id)
        self._instruments = instruments
        start = site.node(spec.start_node)
        self._engine = RobotEngine(
            spec,
            instruments,
            x_m=start.x,
            y_m=start.y,
            theta=start.theta or 0.0,
            last_node_id=start.id,
            chargers=site.charger_node_ids,
        )
        self._topics = {
            name: str(Topic(interface, spec.manufacturer, spec.serial, name)) for name in TopicName
        }
        self._heartbeat_filter = heartbeat_filter(interface)
        self._camera_topic = camera_topic(interface, spec.manufacturer, spec.serial)
        self._sensors_topic = sensors_topic(interface, spec.manufacturer, spec.serial)
        self._headers = HeaderCounter()
        self._inbox = Inbox()
        self._watch = HeartbeatWatch()
        # Instant action ids seen, kept after their states are dropped (new order, pruning)
        # so that a late duplicate of e.g. startPause is not run a second time.
        self._seen_instant_ids: OrderedDict[str, None] = OrderedDict()
        self._started = False
        self._stopped = False
        self._last_step_s = 0.0
        self._last_state_s = 0.0
        self._last_visualization_s = 0.0
        self.messages_rejected = 0
        """malformed messages received (undecodable, or a validationError order)"""
        self._faults_due: list[tuple[RobotFault, float | None]] = []
        self._faults_until: dict[RobotFault, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Subscribe order, instantActions and the controller heartbeat; announce."""
        if self._started:
            return
        self._started = True
        now = self._clock.monotonic()
        self._last_step_s = now
        for name in (TopicName.ORDER, TopicName.INSTANT_ACTIONS):
            self._bus.subscribe(self._topics[name], self._inbox, TOPIC_QOS_RETAIN[name][0])
        self._bus.subscribe(self._heartbeat_filter, self._inbox, HEARTBEAT_QOS)
        self._publish_connection(ConnectionState.ONLINE)
        self._publish_factsheet()
        self._publish_state(now)
        if self._visualization_interval_s is not None:
            self._publish_visualization(now)
        log.info(
            "robot %s/%s online at %s on %s",
            self._spec.manufacturer,
            self._spec.serial,
            self._spec.start_node,
            self._interface,
        )

    def step(self) -> None:
        """Advance to the clock's time, handle the inbox, publish what is due:
        :meth:`advance` then :meth:`respond`."""
        self.advance()
        self.respond()

    def advance(self) -> None:
        """The first half of a step: sensors, motion, actions and faults move on to the
        clock's time.  Reads nothing that arrived, so a drill may run it while the
        controller is still stepping (:mod:`simulator.robot_host`)."""
        if not self._started or self._stopped:
            return
        now = self._clock.monotonic()
        self._observe(now)
        self._engine.advance(now - self._last_step_s, now)
        self._last_step_s = now
        self._publish_frames()
        self._update_faults(now)

    def respond(self) -> None:
        """The second half of a step: handle what arrived, publish what is due."""
        if not self._started or self._stopped:
            return
        now = self._clock.monotonic()
        for message in self._inbox.drain():
            self._handle(message, now)
        lost = self._watch.lost(now)
        self._engine.set_heartbeat_lost(lost is not None, lost or "")
        if self._engine.take_dirty() or now - self._last_state_s >= self._state_interval_s - _EPS_S:
            self._publish_state(now)
        if (
            self._visualization_interval_s is not None
            and now - self._last_visualization_s >= self._visualization_interval_s - _EPS_S
        ):
            self._publish_visualization(now)
        self._maybe_publish_sensors(now)

    def shutdown(self) -> None:
        """Publish connection OFFLINE and stop (the owner of the bus closes it)."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self._publish_connection(ConnectionState.OFFLINE)
        log.info("robot %s/%s offline", self._spec.manufacturer, self._spec.serial)

    @property
    def snapshot(self) -> RobotSnapshot:
        e = self._engine
        return RobotSnapshot(
            serial=self._spec.serial,
            manufacturer=self._spec.manufacturer,
            x_m=e.x_m,
            y_m=e.y_m,
            theta=e.theta,
            last_node_id=e.last_node_id,
            driving=e.driving,
            paused=e.paused,
            battery_pct=e.battery_pct,
            charging=e.charging,
            order_id=e.order_id,
            errors=[err.error_type for err in e.errors],
            action_states={r.action_id: r.status for r in e.runs},
        )

    # ------------------------------------------------------------------ faults (drills)

    def inject(self, fault: RobotFault, until_s: float | None) -> None:
        """Give the robot ``fault`` (:mod:`simulator.robot_faults`) until clock time
        ``until_s`` (s of ``clock.monotonic()``; None: for good).

        It takes effect with the next :meth:`step`, after the robot has moved up to that
        step's time, so a fault injected at time t acts on what happens after t."""
        self._faults_due.append((fault, until_s))

    def announce(self) -> None:
        """Connection ONLINE and a fresh state, as a robot does when its link is back."""
        if not self._started or self._stopped:
            return
        now = self._clock.monotonic()
        self._publish_connection(ConnectionState.ONLINE)
        self._publish_state(now)
        log.info("robot %s/%s back online", self._spec.manufacturer, self._spec.serial)

    def _update_faults(self, now: float) -> None:
        for fault, until_s in self._faults_due:
            log.warning("robot %s: fault %s until %s s", self._spec.serial, fault, until_s)
            if fault is RobotFault.BATTERY_FAILURE:
                self._engine.fail_battery()
            elif fault is RobotFault.STALL:
                self._engine.set_stalled(True)
            elif fault is RobotFault.STUCK_SENSOR:
                stuck_until = until_s if until_s is not None else float("inf")
                self._instruments.stick(self._engine.where(), stuck_until)
            if until_s is not None:
                self._faults_until[fault] = until_s
        self._faults_due.clear()
        for fault, until_s in list(self._faults_until.items()):
            if now + _EPS_S < until_s:
                continue
            del self._faults_until[fault]
            log.info("robot %s: fault %s over", self._spec.serial, fault)
            if fault is RobotFault.STALL:
                self._engine.set_stalled(False)
            elif fault is RobotFault.STUCK_SENSOR:
                self._instruments.unstick()

    # ------------------------------------------------------------------ sensors, camera

    def _observe(self, now: float) -> None:
        """Step the detector to ``now`` where the robot stands at the start of this step
        (its readings then match the position actions read them at)."""
        w = self._engine.where()
        self._instruments.observe(Where(w.x_m, w.y_m, w.theta, now))

    def _publish_frames(self) -> None:
        """Publish the frames the finished captureImage / thermalScan actions took
        (hazfleet camera extension, docs/protocol.md): QoS 0, not retained."""
        for captured in self._instruments.take_frames():
            header: dict[str, JsonValue] = {
                "headerId": self._headers.next(CAMERA_TOPIC_NAME),
                "timestamp": format_timestamp(self._clock.now()),
                "version": self._spec.version,
                "manufacturer": self._spec.manufacturer,
                "serialNumber": self._spec.serial,
            }
            self._bus.publish(
                self._camera_topic, encode_frame(captured, header), CAMERA_QOS, CAMERA_RETAIN
            )

    def _maybe_publish_sensors(self, now: float) -> None:
        """The detector's readings on the sensors topic (docs/protocol.md): every
        ``sensors_interval_s`` while any is away from clean air, else every
        ``sensors_idle_interval_s``."""
        last = self._last_sensors_s
        if self._sensors_interval_s is None or (
            last is not None and now - last < self._sensors_interval_s - _EPS_S
        ):
            return  # not due at any rate: skip reading the detector
        readings = self._instruments.stream(dose_window_s=_DOSE_WINDOW_S)
        if not readings:
            return
        quiet = all(_clean(q, m) for q, m in readings)
        every = self._sensors_idle_interval_s if quiet else self._sensors_interval_s
        if last is not None and now - last < every - _EPS_S:
            return
        self._last_sensors_s = now
        w = self._engine.where()
        # the wind where the robot stands: what a source estimate needs beside the gas
        readings += self._instruments.anemometer(Where(w.x_m, w.y_m, w.theta, now))
        header: dict[str, JsonValue] = {
            "headerId": self._headers.next(SENSORS_TOPIC_NAME),
            "timestamp": format_timestamp(self._clock.now()),
            "version": self._spec.version,
            "manufacturer": self._spec.manufacturer,
            "serialNumber": self._spec.serial,
        }
        payload = encode_readings(
            header,
            w.x_m,
            w.y_m,
            self._site.map_id,
            [SensorReading(q, m.value, QUANTITY_UNITS[q], m.status) for q, m in readings],
        )
        self._bus.publish(self._sensors_topic, payload, SENSORS_QOS, SENSORS_RETAIN)

    # ------------------------------------------------------------------ inbound

    def _handle(self, message: Message, now: float) -> None:
        if message.topic == self._topics[TopicName.ORDER]:
            self._on_order(message, now)
        elif message.topic == self._topics[TopicName.INSTANT_ACTIONS]:
            self._on_instant_actions(message)
        elif topic_matches(self._heartbeat_filter, message.topic):
            self._on_heartbeat(message, now)
        else:
            log.warning(
                "robot %s: ignoring message on unexpected topic %s",
                self._spec.serial,
                message.topic,
            )

    def _on_order(self, message: Message, now: float) -> None:
        try:
            order = decode(Order, message.payload, source=message.topic)
        except ProtocolError as exc:
            self._malformed(exc.topic, exc.field, exc.problem)
            return
        self._watch.arm(now)
        decision = decide(order, self._engine, self._spec, self._site, self._catalogue)
        if isinstance(decision, Ignored):
            log.info("robot %s: %s; ignored", self._spec.serial, decision.reason)
            # A resend means the controller may have missed our state: send one now.
            self._engine.mark_dirty()
        elif isinstance(decision, Rejection):
            if decision.error_type == "validationError":
                self.messages_rejected += 1
            log.warning(
                "robot %s: rejected order %s/%d from %s: %s: %s",
                self._spec.serial,
                order.orderId,
                order.orderUpdateId,
                message.topic,
                decision.error_type,
                decision.problem,
            )
            self._engine.report(
                RobotError(
                    decision.error_type, ErrorLevel.WARNING, decision.problem, decision.references
                )
            )
        elif isinstance(decision, Accepted):
            if decision.update:
                self._engine.accept_update(order.orderUpdateId, decision.nodes, decision.edges)
            else:
                self._engine.accept_new_order(
                    order.orderId, order.orderUpdateId, decision.nodes, decision.edges
                )

    def _on_instant_actions(self, message: Message) -> None:
        try:
            msg = decode(InstantActions, message.payload, source=message.topic)
        except ProtocolError as exc:
            self._malformed(exc.topic, exc.field, exc.problem)
            return
        if msg.manufacturer != self._spec.manufacturer or msg.serialNumber != self._spec.serial:
            self._malformed(
                message.topic,
                "serialNumber",
                f"addressed to {msg.manufacturer}/{msg.serialNumber}, "
                f"not {self._spec.manufacturer}/{self._spec.serial}",
            )
            return
        for action in msg.actions:
            planned = plan_action(action)
            if (
                action.actionId in self._seen_instant_ids
                or action.actionId in self._engine.known_action_ids()
            ):
                log.info(
                    "robot %s: instant action %s already received; ignored",
                    self._spec.serial,
                    action.actionId,
                )
                continue
            self._seen_instant_ids[action.actionId] = None
            if len(self._seen_instant_ids) > _SEEN_INSTANT_IDS:
                self._seen_instant_ids.popitem(last=False)
            why = check_action(action, ActionScope.INSTANT, self._catalogue)
            if why is not None:
                log.warning("robot %s: instant action rejected: %s", self._spec.serial, why[0])
                self._engine.reject_instant(planned, "instantActionError", why[0])
                continue
            log.info(
                "robot %s: instant action %s (%s)",
                self._spec.serial,
                action.actionType,
                action.actionId,
            )
            kind = action.actionType
            if kind == "startPause":
                self._engine.start_pause(planned)
            elif kind == "stopPause":
                self._engine.stop_pause(planned)
            elif kind == "cancelOrder":
                self._engine.cancel_order(planned)
            elif kind == "factsheetRequest":
                self._engine.record_instant(planned, "factsheet published")
                self._publish_factsheet()
            elif kind == "stateRequest":
                self._engine.record_instant(planned, "state published")
            else:
                self._engine.queue_instant(planned)

    def _on_heartbeat(self, message: Message, now: float) -> None:
        try:
            beat = parse_beat(message.payload, source=message.topic)
        except ProtocolError as exc:
            self._malformed(message.topic, exc.field, exc.problem)
            return
        self._watch.beat(beat, now)

    def _malformed(self, topic: str, field: str, problem: str) -> None:
        self.messages_rejected += 1
        where = f"{topic}: {field}" if field else topic
        log.warning(
            "robot %s: rejected malformed message from %s: %s", self._spec.serial, where, problem
        )
        refs = (("topic", topic), ("field", field)) if field else (("topic", topic),)
        self._engine.report(
            RobotError("validationError", ErrorLevel.WARNING, f"{where}: {problem}", refs)
        )

    # ------------------------------------------------------------------ outbound

    def _header(self, name: TopicName) -> Header:
        return Header(
            self._headers.next(name.value),
            format_timestamp(self._clock.now()),
            self._spec.version,
            self._spec.manufacturer,
            self._spec.serial,
        )

    def _publish(self, name: TopicName, msg: VdaMessage) -> None:
        qos, retain = TOPIC_QOS_RETAIN[name]
        self._bus.publish(self._topics[name], encode(msg), qos, retain)

    def _publish_state(self, now: float) -> None:
        header = self._header(TopicName.STATE)
        self._publish(
            TopicName.STATE,
            build_state(self._engine, self._spec, self._site.map_id, header, self._state_lists),
        )
        self._last_state_s = now

    def _publish_visualization(self, now: float) -> None:
        header = self._header(TopicName.VISUALIZATION)
        msg = build_visualization(self._engine, self._site.map_id, header)
        self._publish(TopicName.VISUALIZATION, msg)
        self._last_visualization_s = now

    def _publish_connection(self, state: ConnectionState) -> None:
        header = self._header(TopicName.CONNECTION)
        self._publish(TopicName.CONNECTION, build_connection(state, header))

    def _publish_factsheet(self) -> None:
        msg = build_factsheet(
            self._spec,
            self._catalogue,
            self._header(TopicName.FACTSHEET),
            state_interval_s=self._state_interval_s,
            visualization_interval_s=self._visualization_interval_s,
        )
        self._publish(TopicName.FACTSHEET, msg)

"""The :class:`Controller` facade: VDA 5050 master control for one site and one fleet.

Wires the registry (what robots report), the dispatcher (missions -> orders -> outcomes)
and the heartbeat onto one :class:`drivers.bus.Bus` and one :class:`missions.clock.Clock`.
It has no thread of its own: ``step()`` drains the inbox, handles every message, does the
periodic work for the current clock time and publishes (see ``docs/architecture.md``).

Public methods take an internal lock, so a REST API thread may call ``submit``/``cancel``
/``missions()`` while another thread steps the controller.  Instant actions requested by
those calls are sent by the next ``step()``.

Alerts (:mod:`controller.alerts`, docs/alerts.md): gas alarms of the sensor stream become
alerts, and any detector may raise and clear its own with :meth:`Controller.raise_alert`
/ :meth:`Controller.clear_alert`.  They are kept by the alert sink given (the store in
``hazfleet serve``; in memory otherwise), which is read again on construction so that an
alert still open survives a restart of the controller.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from numpy.typing import NDArray

from controller.alerts import (
    Alert,
    AlertAlreadyAcknowledged,
    AlertBook,
    AlertChange,
    AlertQuery,
    AlertSink,
    ChangeKind,
    GasAlerts,
    Hazard,
    ImageCrop,
    InMemoryAlertSink,
    Location,
    Reading,
    Severity,
)
from controller.dispatcher import Dispatcher, MissionStatus
from controller.events import ControllerEvent, EventEmitter, EventListener
from controller.fleet_plan import FleetPlanner
from controller.hazard_watch import (
    REASON_BAD_FRAME,
    REASON_FRAME_UNKNOWN_ROBOT,
    HazardWatch,
    WatchSettings,
)
from controller.heartbeat import Heartbeat, controller_will
from controller.picture import FirstSeen, HazardPicture
from controller.registry import (
    Ingested,
    Registry,
    Rejection,
    RobotRecord,
    RobotStatus,
)
from controller.sensing import SensorIntake, SensorsRefused
from controller.vision.intake import FrameInfo
from drivers.bus import Bus, Inbox, Message
from drivers.errors import HazfleetError, MissionError, ProtocolError
from drivers.vda5050.camera import CAMERA_QOS, CAMERA_TOPIC_NAME
from drivers.vda5050.codec import Envelope, encode, format_timestamp
from drivers.vda5050.messages import State, VdaMessage
from drivers.vda5050.sensors import SENSORS_QOS, SENSORS_TOPIC_NAME
from drivers.vda5050.topics import TOPIC_QOS_RETAIN, Topic, TopicName
from missions.alarms import AlarmChange, AlarmKind, AlarmPreset
from missions.clock import Clock
from missions.fleet import RobotRef
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome, MissionSpec
from missions.site import SiteMap

log = logging.getLogger(__name__)

# The facade's whole public surface, importable from here or from ``controller``.
__all__ = [
    "Controller",
    "ControllerEvent",
    "ControllerSettings",
    "MissionStatus",
    "RobotStatus",
    "controller_will",
]

REASON_INTERNAL = "internal error"
_PICTURE_DIGEST_MAX_AGE_S = 1.0

AlertListener = Callable[[AlertChange], None]
"""told of every alert change (new, updated, cleared, acknowledged); must be cheap"""


@dataclass(frozen=True)
class ControllerSettings:
    interface: str = "uagv"
    controller_id: str = "hazfleet"
    admit_unknown: bool = False
    """robots not in the fleet list are ignored (logged once) unless True"""
    heartbeat_interval_s: float = 1.0
    stale_after_s: float = 3.0
    """no state for this long -> robot "stale" """
    lost_after_s: float = 30.0
    """offline/stale this long with a mission pinned to it -> mission aborted "robot lost" """
    state_interval_s: float = 1.0
    """how often robots are expected to send a state (s)"""
    lost_after_missed_states: int = 5
    """a robot with no state for this many intervals, or whose connection is
    OFFLINE/CONNECTIONBROKEN, is lost: missions the allocator gave it are reassigned"""
    fleet_plan: FleetPlanSettings = field(default_factory=FleetPlanSettings)
    """robot ratings, battery models, area classes, clearance zones (docs/allocation.md)"""
    resend_interval_s: float = 1.0
    """resend an unacknowledged order / instant action this often"""
    allowed_deviation_xy_m: float = 0.5
    """nodePosition.allowedDeviationXY of every order node, and how far a robot with no
    lastNodeId may be from a node to start an order there"""
    alarm_preset: AlarmPreset | None = None
    """gas alarm set points for the robots' sensor stream (docs/alarms.md); None: the
    controller does not subscribe to the stream"""
    sensors_stale_after_s: float = 30.0
    """a sensors message older than this (by its timestamp) is refused as stale"""
    hazard_watch: WatchSettings | None = field(default_factory=WatchSettings)
    """the live hazard picture and camera detectors (controller/hazard_watch.py); None:
    the controller neither subscribes to camera frames nor keeps a picture"""


def _alarm_text(c: AlarmChange) -> str:
    """``H2S HIGH raised: 25 ppm (set point 20 ppm)`` / ``H2S HIGH cleared``."""
    if not c.active:
        return f"{c.channel} {c.kind.value} cleared"
    value = "no reading" if c.value is None else f"{c.value:g} {c.unit}"
    limit = "" if c.threshold is None else f" (set point {c.threshold:g} {c.unit})"
    return f"{c.channel} {c.kind.value} raised: {value}{limit}"


class _Outbox:
    """The dispatcher's Sender: headers, topics, QoS and encoding for messages to robots."""

    def __init__(self, bus: Bus, clock: Clock, registry: Registry, interface: str) -> None:
        self._bus = bus
        self._clock = clock
        self._registry = registry
        self._interface = interface

    def envelope(self, robot: RobotRecord, topic: TopicName) -> Envelope:
        return Envelope(
            header_id=robot.headers.next(topic.value),
            timestamp=format_timestamp(self._clock.now()),
            version=self._registry.version_for(robot),
            manufacturer=robot.manufacturer,
            serial=robot.serial,
        )

    def send(self, robot: RobotRecord, topic: TopicName, message: VdaMessage) -> None:
        qos, retain = TOPIC_QOS_RETAIN[topic]
        where = Topic(self._interface, robot.manufacturer, robot.serial, topic.value)
        self._bus.publish(str(where), encode(message), qos, retain)


class Controller:
    """Master control: fleet registry, dispatcher and heartbeat, stepped by its owner."""

    def __init__(
        self,
        bus: Bus,
        clock: Clock,
        site: SiteMap,
        fleet: Sequence[RobotRef],
        settings: ControllerSettings = ControllerSettings(),
        *,
        on_event: EventListener | None = None,
        alerts: AlertSink | None = None,
        on_alert: AlertListener | None = None,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._lock = threading.RLock()
        self._inbox = Inbox()
        self._events = EventEmitter(clock, on_event)
        self._registry = Registry(
            fleet,
            interface=settings.interface,
            stale_after_s=settings.stale_after_s,
            admit_unknown=settings.admit_unknown,
        )
        self._dispatcher = Dispatcher(
            site,
            self._registry,
            _Outbox(bus, clock, self._registry, settings.interface),
            self._events,
            resend_interval_s=settings.resend_interval_s,
            lost_after_s=settings.lost_after_s,
            allowed_deviation_xy_m=settings.allowed_deviation_xy_m,
            lost_after_silent_s=settings.state_interval_s * settings.lost_after_missed_states,
            planner=FleetPlanner(site, settings.fleet_plan),
        )
        self._heartbeat = Heartbeat(
            bus, clock, settings.interface, settings.controller_id, settings.heartbeat_interval_s
        )
        self._sensing = (
            SensorIntake(settings.alarm_preset, settings.sensors_stale_after_s)
            if settings.alarm_preset is not None
            else None
        )
        self._alert_sink: AlertSink = alerts if alerts is not None else InMemoryAlertSink()
        self._alert_book = AlertBook()
        self._alert_book.restore(self._alert_sink.list_alerts(AlertQuery(open=True, limit=100_000)))
        self._alerts_unsaved: dict[str, Alert] = {}
        """alerts the sink failed to save: retried every step"""
        self._on_alert = on_alert
        self._gas_alerts = (
            GasAlerts(settings.alarm_preset, self._alert_book)
            if settings.alarm_preset is not None
            else None
        )
        self._watch = (
            HazardWatch(
                HazardPicture.for_site(site, settings.hazard_watch.picture),
                self,
                settings.hazard_watch,
                on_first_seen=self._hazard_seen,
                map_id=site.map_id,
            )
            if settings.hazard_watch is not None
            else None
        )
        self._picture_digest: tuple[float, dict[str, Any]] | None = None
        self.messages_rejected: Counter[str] = self._registry.rejected
        """reason -> count of received messages the controller refused"""
        self._running = False
        self._subscribed = False

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Subscribe to the robots' state, connection and factsheet topics; heartbeat ONLINE."""
        with self._lock:
            if self._running:
                return
            if not self._subscribed:  # a restart after shutdown() keeps the subscriptions
                for name in (TopicName.CONNECTION, TopicName.FACTSHEET, TopicName.STATE):
                    qos, _ = TOPIC_QOS_RETAIN[name]
                    self._bus.subscribe(
                        Topic.filter(self._settings.interface, name.value), self._inbox, qos
                    )
                if self._sensing is not None:
                    self._bus.subscribe(
                        Topic.filter(self._settings.interface, SENSORS_TOPIC_NAME),
                        self._inbox,
                        SENSORS_QOS,
                    )
                if self._watch is not None:
                    self._bus.subscribe(
                        Topic.filter(self._settings.interface, CAMERA_TOPIC_NAME),
                        self._inbox,
                        CAMERA_QOS,
                    )
                self._subscribed = True
            self._heartbeat.start()
            self._running = True
            log.info(
                "controller %s started on interface %s",
                self._settings.controller_id,
                self._settings.interface,
            )

    def step(self) -> None:
        """Handle what arrived, then do the periodic work for the clock's current time.

        Does nothing before start() or after shutdown().
        """
        with self._lock:
            if not self._running:
                return
            # first: it depends on nothing below, and robots can read it meanwhile
            self._heartbeat.tick()
            for message in self._inbox.drain():
                self._handle(message)
            now_s = self._clock.monotonic()
            for change in self._registry.refresh(now_s):
                self._events.emit("robot", change.robot.key, change.new)
            self._dispatcher.tick(now_s)
            if self._watch is not None:
                self._watch.tick(now_s)
            if self._alerts_unsaved:
                self._save_alerts(list(self._alerts_unsaved.values()))

    def shutdown(self) -> None:
        """Heartbeat OFFLINE (robots pause themselves); stop stepping."""
        with self._lock:
            if not self._running:
                return
            self._heartbeat.stop()
            if self._watch is not None:
                self._watch.picture.close()
            self._running = False
            log.info("controller %s shut down", self._settings.controller_id)

    # ----------------------------------------------------------------------- commands

    def submit(self, mission: MissionSpec) -> None:
        """Queue a mission.

        Raises:
            MissionError: unknown step node, no route between steps, robot not in the
                fleet, or duplicate mission id.
        """
        with self._lock:
            self._dispatcher.submit(mission, self._clock.monotonic())

    def cancel(self, mission_id: str) -> None:
        """cancelOrder; the mission becomes ABORTED when the robot confirms.

        Raises:
            MissionError: unknown or already ended mission.
        """
        with self._lock:
            self._dispatcher.cancel(mission_id, self._clock.monotonic())

    def pause(self, mission_id: str) -> None:
        """startPause to the mission's robot.  Raises MissionError if it is not running."""
        with self._lock:
            self._dispatcher.pause(mission_id)

    def resume(self, mission_id: str) -> None:
        """stopPause to the mission's robot.  Raises MissionError if it never had one."""
        with self._lock:
            self._dispatcher.resume(mission_id)

    def clear(self, mission_id: str, zones: Sequence[str] | None = None) -> list[str]:
        """An operator's clearance for the mission to enter ``zones`` (None: the zone its
        order now waits at); the order's horizon is then released by an order update.
        Returns the zones newly cleared.  Raises MissionError (unknown or ended mission,
        unknown zone, nothing to clear)."""
        with self._lock:
            return self._dispatcher.clear(mission_id, zones)

    def stop(self, robots: Sequence[str] | None = None, zone: str | None = None) -> list[str]:
        """``startPause`` to the robots named (serial numbers), or standing in ``zone``, or
        the whole fleet; their keys.  Raises MissionError for an unknown robot or zone."""
        with self._lock:
            return self._dispatcher.stop(robots, zone)

    def resume_robots(
        self, robots: Sequence[str] | None = None, zone: str | None = None
    ) -> list[str]:
        """``stopPause`` to the same kinds of scope as :meth:`stop`; for the whole fleet it
        also lets allocation run again after :meth:`assemble`."""
        with self._lock:
            return self._dispatcher.resume_robots(robots, zone)

    def assemble(self) -> dict[str, str | None]:
        """Every robot to its nearest reachable node of a safe assembly zone (missions
        cancelled, allocation suspended until the fleet is resumed): key -> node (None:
        none reachable or position unknown)."""
        with self._lock:
            return self._dispatcher.assemble(self._clock.monotonic())

    def request_factsheet(self, serial: str) -> None:
        """factsheetRequest to the robot with this serial number.

        Raises:
            MissionError: no (or more than one) robot with that serial number.
        """
        with self._lock:
            matches = self._registry.by_serial(serial)
            if len(matches) != 1:
                problem = "is not in the fleet" if not matches else "is ambiguous"
                raise MissionError(f"robot {serial!r} {problem}")
            self._dispatcher.request_factsheet(matches[0])

    def _handle_sensors(self, sensing: SensorIntake, message: Message, now_s: float) -> None:
        try:
            topic = Topic.parse(message.topic)
            robot = self._registry.get(f"{topic.manufacturer}/{topic.serial}")
        except ProtocolError:
            robot = None
        got = sensing.ingest(
            message, robot.key if robot is not None else None, self._clock.now(), now_s
        )
        if isinstance(got, SensorsRefused):
            self.messages_rejected[got.reason] += 1
            log.warning("refused %s: %s (%s)", got.topic, got.reason, got.detail)
            self._events.emit("protocol", got.topic, f"{got.reason}: {got.detail}")
            return
        assert robot is not None
        for change in got.changes:
            self._events.emit("alarm", robot.key, _alarm_text(change))
        msg = got.message
        if self._watch is not None:
            self._watch.on_sensors(robot.key, msg, now_s, self._now())
        if self._gas_alerts is not None:
            self._announce_alerts(
                self._gas_alerts.feed(
                    robot.key, msg, now_s, self._now(), lambda: self._active_mission(robot.key)
                )
            )

    def _handle_camera(self, watch: HazardWatch, message: Message, now_s: float) -> None:
        try:
            topic = Topic.parse(message.topic)
            robot = self._registry.get(f"{topic.manufacturer}/{topic.serial}")
        except ProtocolError:
            robot = None
        if robot is None:
            reason, detail = REASON_FRAME_UNKNOWN_ROBOT, "not in the fleet"
        else:
            refused = watch.on_frame(message, robot.key, now_s, self._now())
            if refused is None:
                return
            reason, detail = REASON_BAD_FRAME, refused
        self.messages_rejected[reason] += 1
        log.warning("refused %s: %s (%s)", message.topic, reason, detail)
        self._events.emit("protocol", message.topic, f"{reason}: {detail}")

    def local_frame(self, robot_key: str, info: FrameInfo, image: NDArray[Any]) -> None:
        """A frame from a camera read on the controller's host (a fixed camera, or a robot
        whose frames arrive another way than the camera topic): ``robot_key`` names the
        robot or camera in the fleet, ``info`` where the frame looks (its view on the map),
        ``image`` as :class:`~drivers.camera_capture.CameraCapture` reads it.  Raises
        ValueError for a robot not in the fleet or without a hazard watch."""
        with self._lock:
            if self._watch is None:
                raise ValueError("this controller has no hazard watch (hazard_watch: null)")
            if self._registry.get(robot_key) is None:
                raise ValueError(f"robot {robot_key!r} is not in the fleet")
            self._watch.on_local_frame(robot_key, info, image, self._clock.monotonic())

    def _hazard_seen(self, first: FirstSeen) -> None:
        self._events.emit(
            "hazard",
            first.hazard,
            f"first seen by {first.robot} at ({first.x_m:.1f}, {first.y_m:.1f}): "
            f"{first.value:g} {first.unit}",
        )

    def hazard_picture(self) -> dict[str, Any] | None:
        """The live hazard picture's digest (controller/picture.py), None without one."""
        with self._lock:
            if self._watch is None:
                return None
            now_s = self._clock.monotonic()
            cached = self._picture_digest
            # a dashboard polling the API must not convolve the maps under the
            # controller's lock more than once a second
            if cached is None or now_s - cached[0] >= _PICTURE_DIGEST_MAX_AGE_S:
                cached = self._picture_digest = (now_s, self._watch.picture.summary(now_s))
            return cached[1]

    # ----------------------------------------------------------------------- alerts

    def raise_alert(
        self,
        key: str,
        *,
        severity: Severity | str,
        hazard: Hazard | str,
        title: str = "",
        value: float | None = None,
        unit: str = "",
        threshold: float | None = None,
        robot: str | None = None,
        mission: str | None = None,
        location: Location | None = None,
        readings: Sequence[Reading] = (),
        image: ImageCrop | None = None,
    ) -> Alert:
        """A detector reports that condition ``key`` holds now (call again while it
        persists: one alert per episode, docs/alerts.md).  ``robot`` is a robot key
        ``manufacturer/serial``; ``mission`` defaults to that robot's active mission.
        An unknown ``severity`` counts as critical.  Returns the alert as it is now."""
        with self._lock:
            if mission is None and robot is not None and self._alert_book.get(key) is None:
                mission = self._active_mission(robot)
            change = self._alert_book.raise_(
                key,
                severity=severity,
                hazard=hazard,
                at=self._now(),
                title=title,
                value=value,
                unit=unit,
                threshold=threshold,
                location=location,
                robot=robot,
                mission=mission,
                readings=readings,
                image=image,
            )
            self._announce_alerts([change] if change is not None else [])
            alert = self._alert_book.get(key)
            assert alert is not None  # just raised
            return alert

    def clear_alert(self, key: str, *, readings: Sequence[Reading] = ()) -> Alert | None:
        """Condition ``key`` no longer holds; its alert (None if it had no active one)."""
        with self._lock:
            change = self._alert_book.clear(key, self._now(), readings=readings)
            if change is None:
                return None
            self._announce_alerts([change])
            return change.alert

    def alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        """Alerts kept by the sink, newest first, filtered by ``query``."""
        return self._alert_sink.list_alerts(query)

    def alert(self, alert_id: str) -> Alert | None:
        """One alert with its evidence, or None."""
        return self._alert_sink.get_alert(alert_id)

    def acknowledge(self, alert_id: str, who: str, note: str = "") -> Alert:
        """An operator acknowledged an alert (a gas alert also acknowledges its latched
        alarm).  Raises AlertNotFound, or AlertAlreadyAcknowledged."""
        with self._lock:
            at = self._now()
            held = self._alert_book.by_id(alert_id)
            if held is not None and held.acknowledged:
                raise AlertAlreadyAcknowledged(held)
            if self._alerts_unsaved:
                self._save_alerts(list(self._alerts_unsaved.values()))
            acked = self._alert_sink.acknowledge_alert(alert_id, who, at, note)
            if held is not None:
                # the book's copy may be newer than the stored one (updates are throttled)
                acked = self._alert_book.acknowledge(alert_id, who, at, note).alert
                self._save_alerts([acked])
            self._acknowledge_gas_alarm(acked.key)
            self._announce_alerts([AlertChange(ChangeKind.ACKNOWLEDGED, acked)], save=False)
            return acked

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    def _active_mission(self, robot_key: str) -> str | None:
        robot = self._registry.get(robot_key)
        if robot is None:
            return None
        for status in self._dispatcher.statuses():
            running = status.outcome in (MissionOutcome.DISPATCHED, MissionOutcome.ACTIVE)
            if running and status.robot == robot.serial:
                return status.id
        return None

    def _acknowledge_gas_alarm(self, key: str) -> None:
        parts = key.split("/")  # gas/<manufacturer>/<serial>/<channel>/<kind>
        if len(parts) == 5 and parts[0] == "gas" and parts[4] in AlarmKind.__members__:
            self.acknowledge_alarm(f"{parts[1]}/{parts[2]}", parts[3], AlarmKind(parts[4]))

    def _announce_alerts(self, changes: Sequence[AlertChange], *, save: bool = True) -> None:
        if save:
            self._save_alerts([c.alert for c in changes])
        for change in changes:
            if change.kind is not ChangeKind.UPDATED or change.escalated:
                log.info("%s", change.text())
                self._events.emit("alert", change.alert.key, change.text())
            if self._on_alert is not None:
                try:
                    self._on_alert(change)
                except Exception:
                    log.exception("alert listener failed on %s", change.text())

    def _save_alerts(self, alerts: Sequence[Alert]) -> None:
        """Persist; what the sink refuses (database down) is retried every step."""
        for alert in alerts:
            try:
                self._alert_sink.save_alert(alert)
            except HazfleetError as exc:
                if alert.id not in self._alerts_unsaved:
                    log.error("alert %s not saved, will retry: %s", alert.id, exc)
                self._alerts_unsaved[alert.id] = alert
            else:
                self._alerts_unsaved.pop(alert.id, None)

    # ----------------------------------------------------------------------- queries

    def active_alarms(self) -> dict[str, list[str]]:
        """robot key -> ``"<channel> <kind>"`` of every gas alarm on now (latched ones
        included); empty without an alarm preset."""
        with self._lock:
            return self._sensing.active() if self._sensing is not None else {}

    def exposure_peaks(self) -> dict[str, dict[str, float]]:
        """robot key -> channel -> highest reading its sensor stream brought so far."""
        with self._lock:
            if self._sensing is None:
                return {}
            out: dict[str, dict[str, float]] = {}
            for (robot, channel), m in sorted(self._sensing.monitors.items()):
                out.setdefault(robot, {})[channel] = m.exposure.peak
            return out

    def sensor_readings_rejected(self) -> dict[str, int]:
        """robot key -> readings dropped from its otherwise good sensors messages."""
        with self._lock:
            return dict(self._sensing.readings_rejected) if self._sensing is not None else {}

    def acknowledge_alarm(self, robot_key: str, channel: str, kind: AlarmKind) -> bool:
        """An operator acknowledged a latched alarm; False if it was not latched."""
        with self._lock:
            if self._sensing is None:
                return False
            monitor = self._sensing.monitors.get((robot_key, channel))
            return monitor is not None and monitor.acknowledge(kind)

    def missions(self) -> list[MissionStatus]:
        with self._lock:
            return self._dispatcher.statuses()

    def all_missions_ended(self) -> bool:
        """True when every mission submitted so far has a terminal outcome."""
        with self._lock:
            return self._dispatcher.all_terminal()

    def missions_run_twice(self) -> list[str]:
        """Missions a robot completed under an order the controller had given up (the
        mission was reassigned and ran elsewhere).  Empty unless the orphan cleanup
        failed: a drill fails on any."""
        with self._lock:
            return list(self._dispatcher.runs_twice)

    def robots(self) -> list[RobotStatus]:
        with self._lock:
            return [self._registry.status(r) for r in self._registry.records()]

    # ----------------------------------------------------------------------- internals

    def _handle(self, message: Message) -> None:
        now_s = self._clock.monotonic()
        try:
            if self._sensing is not None and message.topic.endswith("/" + SENSORS_TOPIC_NAME):
                self._handle_sensors(self._sensing, message, now_s)
                return
            if self._watch is not None and message.topic.endswith("/" + CAMERA_TOPIC_NAME):
                self._handle_camera(self._watch, message, now_s)
                return
            result = self._registry.ingest(message, now_s)
            if isinstance(result, Rejection):
                self._events.emit("protocol", result.topic, f"{result.reason}: {result.detail}")
            elif isinstance(result, Ingested):
                if isinstance(result.message, State):
                    self._dispatcher.on_state(result.robot, result.message, now_s)
                elif result.name == TopicName.FACTSHEET:
                    self._dispatcher.on_factsheet(result.robot)
        except Exception:
            # A bug triggered by one message must not stop supervision of the fleet.
            self.messages_rejected[REASON_INTERNAL] += 1
            log.exception("internal error while handling a message on %s", message.topic)

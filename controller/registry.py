"""The fleet registry: what the controller knows about each robot.  Pure logic, no bus.

The registry reads the three topics a robot publishes (``connection``, ``factsheet``,
``state``), keeps the latest of each per robot, and derives the robot's availability:

============  ================================================================
availability  when
============  ================================================================
unknown       nothing heard yet
online        heard from (connection ONLINE or a state) less than
              ``stale_after_s`` ago, and no OFFLINE/CONNECTIONBROKEN since
stale         heard from before, but nothing for ``stale_after_s`` or longer
offline       connection OFFLINE/CONNECTIONBROKEN, and no state since
============  ================================================================

The ``connection`` topic only reports the MQTT link (VDA 5050 section 6.14 says not to
use it for vehicle health), so liveness is judged by states: a state arriving after an
OFFLINE makes the robot online again.  Liveness uses ``clock.monotonic()`` seconds at
reception, never the robot's own timestamps (robot clocks drift).

Malformed input is a :class:`Rejection`: logged with topic, field path and problem,
counted in :attr:`Registry.rejected` by reason, never raised, and never touches another
robot's record.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from drivers.bus import Message
from drivers.errors import ProtocolError
from drivers.vda5050.codec import (
    DEFAULT_VERSION,
    HeaderCounter,
    decode,
    has_unknown_fields,
    is_supported_version,
    unknown_fields,
)
from drivers.vda5050.messages import (
    Connection,
    ConnectionState,
    Error,
    ErrorLevel,
    Factsheet,
    State,
    VdaMessage,
)
from drivers.vda5050.topics import DEFAULT_MAJOR, Topic, TopicName
from missions.fleet import RobotRef

log = logging.getLogger(__name__)

Availability = Literal["online", "offline", "stale", "unknown"]

# Counter keys of Registry.rejected (stable: dashboards and tests use them).
REASON_BAD_TOPIC = "bad topic"
REASON_UNKNOWN_ROBOT = "unknown robot"
REASON_HEADER_MISMATCH = "header mismatch"

# FakeClock ticks of 0.1 s add up to 2.9999999...; without slack "3 s" becomes 3.1 s.
_EPSILON_S = 1e-6
_MAX_CLEAN_SHAPES = 256
"""a bound on the shapes remembered per robot (a state's key count grows with its order)"""


def reason_malformed(name: str) -> str:
    return f"malformed {name}"


@dataclass(frozen=True)
class RobotStatus:
    """A snapshot of one robot as the controller sees it."""

    manufacturer: str
    serial: str
    version: str | None
    """protocol version the robot announced in its last accepted header"""
    connection: ConnectionState | None
    availability: Availability
    last_node_id: str | None
    x_m: float | None
    y_m: float | None
    battery_pct: float | None
    driving: bool | None
    paused: bool | None
    errors: list[str]
    """active errors as ``"errorType(level)"``"""
    order_id: str | None
    factsheet_actions: tuple[str, ...]
    """action types from the factsheet; empty until a factsheet arrived"""
    last_state_at_s: float | None
    """clock.monotonic() when the last state arrived"""
    charging: bool | None = None
    """the last state's ``batteryState.charging``; None before a state arrived"""


@dataclass
class RobotRecord:
    """Mutable per-robot bookkeeping, owned by the registry (read by the dispatcher)."""

    ref: RobotRef
    headers: HeaderCounter = field(default_factory=HeaderCounter)
    """headerIds of what the controller sends to this robot, per topic"""
    announced_version: str | None = None
    connection: ConnectionState | None = None
    online_at_s: float | None = None
    """last connection ONLINE"""
    offline_at_s: float | None = None
    """last OFFLINE/CONNECTIONBROKEN not yet superseded by ONLINE or a state"""
    state: State | None = None
    last_state_at_s: float | None = None
    factsheet_actions: tuple[str, ...] | None = None
    """None until a factsheet arrived"""
    factsheet_speed_max_m_s: float | None = None
    """the factsheet's physicalParameters.speedMax; None until a factsheet arrived"""
    availability: Availability = "unknown"
    unavailable_since_s: float | None = None
    """when the robot stopped being online (None while online or never seen)"""
    _logged_fields: set[str] = field(default_factory=set)
    _clean_shapes: set[tuple[TopicName, int]] = field(default_factory=set)
    """(topic, number of keys) of messages whose keys were all known"""
    _warned_versions: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def manufacturer(self) -> str:
        return self.ref.manufacturer

    @property
    def serial(self) -> str:
        return self.ref.serial

    @property
    def has_fatal_error(self) -> bool:
        return self.state is not None and any(
            e.errorLevel == ErrorLevel.FATAL for e in self.state.errors
        )


@dataclass(frozen=True)
class Ingested:
    """A message accepted for ``robot``."""

    robot: RobotRecord
    name: TopicName
    message: VdaMessage


@dataclass(frozen=True)
class Rejection:
    topic: str
    reason: str
    """the Counter key"""
    detail: str
    """field path and problem"""


@dataclass(frozen=True)
class AvailabilityChange:
    robot: RobotRecord
    old: Availability
    new: Availability


_MODELS: dict[TopicName, type[State] | type[Connection] | type[Factsheet]] = {
    TopicName.STATE: State,
    TopicName.CONNECTION: Connection,
    TopicName.FACTSHEET: Factsheet,
}


class Registry:
    """All robots the controller tracks, in fleet order (admitted strangers last)."""

    def __init__(
        self,
        fleet: Sequence[RobotRef],
        *,
        interface: str,
        stale_after_s: float,
        admit_unknown: bool = False,
    ) -> None:
        if stale_after_s <= 0:
            raise ValueError(f"stale_after_s must be positive, got {stale_after_s}")
        self._interface = interface
        self._stale_after_s = stale_after_s
        self._admit_unknown = admit_unknown
        self._robots: dict[str, RobotRecord] = {}
        for ref in fleet:
            if ref.key in self._robots:
                raise ValueError(f"fleet lists robot {ref.key!r} twice")
            self._robots[ref.key] = RobotRecord(ref)
        self._ignored: set[str] = set()
        self.rejected: Counter[str] = Counter()

    # ----------------------------------------------------------------------- lookups

    def records(self) -> list[RobotRecord]:
        return list(self._robots.values())

    def get(self, key: str) -> RobotRecord | None:
        return self._robots.get(key)

    def by_serial(self, serial: str) -> list[RobotRecord]:
        return [r for r in self._robots.values() if r.serial == serial]

    # ----------------------------------------------------------------------- input

    def ingest(self, message: Message, now_s: float) -> Ingested | Rejection | None:
        """Take one received message; None when it was ignored (an unknown robot, again).

        ``now_s`` is clock.monotonic().
        """
        try:
            topic = Topic.parse(message.topic)
        except ProtocolError as exc:
            return self._reject(message.topic, REASON_BAD_TOPIC, _where(exc))
        name = topic.kind
        if (
            name not in _MODELS
            or topic.interface != self._interface
            or topic.major != DEFAULT_MAJOR
        ):
            return self._reject(
                message.topic,
                REASON_BAD_TOPIC,
                f"topic: not a {self._interface}/{DEFAULT_MAJOR} state, connection or "
                "factsheet topic",
            )
        assert name is not None  # for mypy: name in _MODELS
        robot = self._robot_for(topic)
        if robot is None:
            return self._ignore(topic)
        try:
            msg = decode(_MODELS[name], message.payload, source=message.topic)
        except ProtocolError as exc:
            return self._reject(message.topic, reason_malformed(name), _where(exc))
        for path, got, want in (
            ("manufacturer", msg.manufacturer, topic.manufacturer),
            ("serialNumber", msg.serialNumber, topic.serial),
        ):
            if got != want:
                # Two robots publishing on one topic would corrupt each other's records;
                # the topic decides whose message it is, so a mismatch is refused.
                return self._reject(
                    message.topic,
                    REASON_HEADER_MISMATCH,
                    f"{path}: {got!r} does not match the topic's {want!r}",
                )
        self._check_keys(robot, name, message.payload, msg)
        robot.announced_version = msg.version
        if isinstance(msg, State):
            robot.state = msg
            robot.last_state_at_s = now_s
            robot.offline_at_s = None  # a fresh state proves the robot is alive
        elif isinstance(msg, Connection):
            robot.connection = msg.connectionState
            if msg.connectionState == ConnectionState.ONLINE:
                robot.online_at_s = now_s
                robot.offline_at_s = None
            else:
                robot.offline_at_s = now_s
            log.info("robot %s: connection %s", robot.key, msg.connectionState.value)
        else:
            robot.factsheet_actions = tuple(a.actionType for a in msg.protocolFeatures.agvActions)
            robot.factsheet_speed_max_m_s = msg.physicalParameters.speedMax
            log.info(
                "robot %s: factsheet with actions %s",
                robot.key,
                ", ".join(robot.factsheet_actions) or "(none)",
            )
        return Ingested(robot, name, msg)

    def _robot_for(self, topic: Topic) -> RobotRecord | None:
        ref_key = f"{topic.manufacturer}/{topic.serial}"
        robot = self._robots.get(ref_key)
        if robot is None and self._admit_unknown:
            robot = RobotRecord(RobotRef(manufacturer=topic.manufacturer, serial=topic.serial))
            self._robots[ref_key] = robot
            log.warning("robot %s is not in the fleet list; admitted (admit_unknown)", ref_key)
        return robot

    def _ignore(self, topic: Topic) -> Rejection | None:
        key = f"{topic.manufacturer}/{topic.serial}"
        self.rejected[REASON_UNKNOWN_ROBOT] += 1
        if key in self._ignored:
            return None
        self._ignored.add(key)
        log.warning(
            "robot %s is not in the fleet list: ignoring its messages (first on %s)",
            key,
            topic,
        )
        return Rejection(str(topic), REASON_UNKNOWN_ROBOT, f"robot {key} is not in the fleet")

    def _reject(self, topic: str, reason: str, detail: str) -> Rejection:
        self.rejected[reason] += 1
        log.error("rejected message on %s (%s): %s", topic, reason, detail)
        return Rejection(topic, reason, detail)

    def _check_keys(
        self, robot: RobotRecord, name: TopicName, payload: bytes, msg: VdaMessage
    ) -> None:
        """Log the unknown fields of ``msg`` once per robot and field.  A robot sends the
        same shape of message again and again, so a shape (topic and number of keys) that
        held no unknown field once is not walked again (counting its keys costs a tenth of
        the walk).  Unknown fields are kept in the message either way; only the log line of
        one that replaces a known key in an already-seen shape is skipped."""
        shape = (name, payload.count(b'":'))
        if shape in robot._clean_shapes:
            return
        if not has_unknown_fields(msg):
            if len(robot._clean_shapes) < _MAX_CLEAN_SHAPES:
                robot._clean_shapes.add(shape)
            return
        self._note_unknown_fields(robot, name, msg)

    def _note_unknown_fields(self, robot: RobotRecord, name: TopicName, msg: VdaMessage) -> None:
        for path in unknown_fields(msg, indices=False):
            tag = f"{name}.{path}"
            if tag not in robot._logged_fields:
                robot._logged_fields.add(tag)
                log.info("robot %s: ignoring unknown field %s (logged once)", robot.key, tag)

    # ----------------------------------------------------------------------- liveness

    def refresh(self, now_s: float) -> list[AvailabilityChange]:
        """Recompute every robot's availability at ``now_s`` (monotonic); the changes."""
        changes = []
        for robot in self._robots.values():
            new = self._availability(robot, now_s)
            old = robot.availability
            if new == "online":
                robot.unavailable_since_s = None
            elif new in ("offline", "stale") and robot.unavailable_since_s is None:
                robot.unavailable_since_s = self._went_away_at(robot, now_s)
            if new != old:
                robot.availability = new
                changes.append(AvailabilityChange(robot, old, new))
                log.info("robot %s: %s -> %s", robot.key, old, new)
        return changes

    def _last_heard_s(self, robot: RobotRecord) -> float | None:
        heard = [t for t in (robot.last_state_at_s, robot.online_at_s) if t is not None]
        return max(heard) if heard else None

    def _availability(self, robot: RobotRecord, now_s: float) -> Availability:
        if robot.offline_at_s is not None:
            return "offline"
        heard = self._last_heard_s(robot)
        if heard is None:
            return "unknown"
        if now_s - heard >= self._stale_after_s - _EPSILON_S:
            return "stale"
        return "online"

    def _went_away_at(self, robot: RobotRecord, now_s: float) -> float:
        if robot.offline_at_s is not None:
            return robot.offline_at_s
        heard = self._last_heard_s(robot)
        return now_s if heard is None else min(now_s, heard + self._stale_after_s)

    # ----------------------------------------------------------------------- output

    def version_for(self, robot: RobotRecord) -> str:
        """The protocol version to put in messages to ``robot``: the one it announced
        when supported, else DEFAULT_VERSION (warned once per robot and version)."""
        announced = robot.announced_version
        if announced is None:
            return DEFAULT_VERSION
        if is_supported_version(announced):
            # 2.0.x / 2.1.x (SUPPORTED_VERSIONS and their patch releases): echo it, so the
            # robot reads messages in the dialect it speaks (docs/protocol.md).
            return announced
        if announced not in robot._warned_versions:
            robot._warned_versions.add(announced)
            log.warning(
                "robot %s announces unsupported protocol version %r; sending %s",
                robot.key,
                announced,
                DEFAULT_VERSION,
            )
        return DEFAULT_VERSION

    def status(self, robot: RobotRecord) -> RobotStatus:
        s = robot.state
        pos = s.agvPosition if s is not None else None
        return RobotStatus(
            manufacturer=robot.manufacturer,
            serial=robot.serial,
            version=robot.announced_version,
            connection=robot.connection,
            availability=robot.availability,
            last_node_id=s.lastNodeId if s is not None else None,
            x_m=pos.x if pos is not None else None,
            y_m=pos.y if pos is not None else None,
            battery_pct=s.batteryState.batteryCharge if s is not None else None,
            charging=s.batteryState.charging if s is not None else None,
            driving=s.driving if s is not None else None,
            paused=s.paused if s is not None else None,
            errors=_error_labels(s.errors) if s is not None else [],
            order_id=s.orderId if s is not None else None,
            factsheet_actions=robot.factsheet_actions or (),
            last_state_at_s=robot.last_state_at_s,
        )


def _where(exc: ProtocolError) -> str:
    return f"{exc.field}: {exc.problem}" if exc.field else exc.problem


def _error_labels(errors: Iterable[Error]) -> list[str]:
    return [f"{e.errorType}({e.errorLevel.value})" for e in errors]

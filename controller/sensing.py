"""The controller's side of the sensor stream: readings in, gas alarms out.

Every ``sensors`` message (:mod:`drivers.vda5050.sensors`) of a robot in the fleet is
decoded; each reading feeds that robot's :class:`~missions.alarms.ChannelMonitor` for its
channel, with the set points of the configured :class:`~missions.alarms.AlarmPreset`.
The alarms raised and cleared come back as :class:`~missions.alarms.AlarmChange` for the
controller to announce.

Bad input never reaches a monitor: a message that cannot be decoded, from a robot not
in the fleet, or older (or further ahead) than ``stale_after_s`` on the controller's
clock is refused whole
(reason counted in the controller's ``messages_rejected``); a bad reading inside a good
message is dropped on its own and counted per robot, logged once per robot and field.
An LEL reading is judged with the O2 of the same message (a catalytic bead needs 10 %vol).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from drivers.bus import Message
from drivers.errors import ProtocolError
from drivers.vda5050.codec import parse_timestamp
from drivers.vda5050.sensors import SensorReadings, decode_readings
from missions.alarms import AlarmChange, AlarmPreset, ChannelMonitor

log = logging.getLogger(__name__)

REASON_BAD_READINGS = "bad sensor message"
REASON_STALE_READINGS = "stale sensor message"
REASON_SENSORS_UNKNOWN_ROBOT = "sensors of an unknown robot"


@dataclass(frozen=True)
class SensorsRefused:
    topic: str
    reason: str
    detail: str


@dataclass(frozen=True)
class SensorsAccepted:
    """A message taken: the alarms it raised or cleared, and the message itself (for the
    alerts and the hazard picture, so nothing decodes it twice)."""

    changes: list[AlarmChange]
    message: SensorReadings


@dataclass
class SensorIntake:
    preset: AlarmPreset
    stale_after_s: float = 30.0
    monitors: dict[tuple[str, str], ChannelMonitor] = field(default_factory=dict)
    """(robot key, channel) -> its alarms"""
    readings_rejected: Counter[str] = field(default_factory=Counter)
    """robot key -> readings dropped from otherwise good messages"""
    readings_accepted: int = 0
    _logged: set[tuple[str, str]] = field(default_factory=set)

    def ingest(
        self, message: Message, robot_key: str | None, now_epoch_s: float, now_s: float
    ) -> SensorsAccepted | SensorsRefused:
        """One sensors message of ``robot_key`` (None: not in the fleet) received at
        ``now_epoch_s`` (wall clock, for staleness) and ``now_s`` (monotonic)."""
        if robot_key is None:
            return SensorsRefused(message.topic, REASON_SENSORS_UNKNOWN_ROBOT, "not in the fleet")
        try:
            msg = decode_readings(message.payload, message.topic)
            sent = parse_timestamp(msg.timestamp)
        except (ProtocolError, ValueError) as exc:
            return SensorsRefused(message.topic, REASON_BAD_READINGS, str(exc))
        age = now_epoch_s - sent
        if age > self.stale_after_s:
            return SensorsRefused(
                message.topic,
                REASON_STALE_READINGS,
                f"{age:.1f} s old (limit {self.stale_after_s:g} s)",
            )
        if -age > self.stale_after_s:  # a robot clock far ahead would never go stale
            return SensorsRefused(
                message.topic,
                REASON_STALE_READINGS,
                f"{-age:.1f} s in the future (limit {self.stale_after_s:g} s)",
            )
        self._count_rejected(robot_key, msg)
        return SensorsAccepted(self._feed(robot_key, msg, now_s), msg)

    def _count_rejected(self, robot_key: str, msg: SensorReadings) -> None:
        for line in msg.rejected:
            self.readings_rejected[robot_key] += 1
            where = line.split(":", 1)[0].split(".", 2)[-1]
            if (robot_key, where) not in self._logged:
                self._logged.add((robot_key, where))
                log.warning("robot %s: sensor reading dropped: %s (logged once)", robot_key, line)

    def _feed(self, robot_key: str, msg: SensorReadings, now_s: float) -> list[AlarmChange]:
        o2 = next((r.value for r in msg.readings if r.channel == "O2" and r.status == "ok"), None)
        changes: list[AlarmChange] = []
        for r in msg.readings:
            setpoints = self.preset.channels.get(r.channel)
            if setpoints is None or r.status == "unavailable":
                continue  # a channel the preset has no alarms for (temperature, dose rate)
            key = (robot_key, r.channel)
            monitor = self.monitors.get(key)
            if monitor is None:
                monitor = self.monitors[key] = ChannelMonitor(r.channel, setpoints, self.preset)
            self.readings_accepted += 1
            changes.extend(
                monitor.feed(
                    now_s, r.value, r.status, o2_percent=o2 if r.channel == "LEL" else None
                )
            )
        return changes

    def active(self) -> dict[str, list[str]]:
        """robot key -> ``"<channel> <kind>"`` of every alarm on now."""
        out: dict[str, list[str]] = {}
        for (robot, channel), m in sorted(self.monitors.items()):
            for kind in sorted(m.active):
                out.setdefault(robot, []).append(f"{channel} {kind.value}")
        return out


__all__ = [
    "REASON_BAD_READINGS",
    "REASON_SENSORS_UNKNOWN_ROBOT",
    "REASON_STALE_READINGS",
    "SensorIntake",
    "SensorsAccepted",
    "SensorsRefused",
]

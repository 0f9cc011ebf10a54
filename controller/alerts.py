"""Alerts: what an operator must see about a hazard, de-duplicated, acknowledged, kept.

Pure (no I/O, no clock of its own: every time is an argument).  docs/alerts.md has the
rules; in short:

* An :class:`Alert` is one episode of one *condition*, named by a condition key (gas:
  ``gas/<robot>/<channel>/<alarm kind>``; other detectors choose their own).  It carries
  a :class:`Severity`, a :class:`Hazard`, the value and unit, the threshold crossed,
  where, which robot and mission, and evidence (readings, an optional image crop).
* :class:`AlertBook` de-duplicates: :meth:`AlertBook.raise_` opens a new alert only when
  the key has no *open* alert; otherwise it updates that one (last seen, peak,
  occurrences, severity escalated).  :meth:`AlertBook.clear` ends the condition.
* An alert of severity ``error`` or ``critical`` *latches*: once cleared it stays open
  until acknowledged, as a latched gas alarm does; ``info``/``warn`` close when cleared.
  A condition raised again while its alert is still open (latched) re-opens that alert
  rather than adding another; after the alert closed, a raise opens a new one.
* Acknowledging records who, when and a note; an alert escalated above what was
  acknowledged loses its acknowledgement (the operator saw a lesser alert).

Every method returns an :class:`AlertChange` (new / updated / cleared / acknowledged) or
None, for the caller to persist (:class:`AlertSink`) and announce.  Ongoing updates are
reported at most every ``touch_interval_s`` (the book's copy is always current), so a
detector reporting at 10 Hz does not write to the database at 10 Hz.

:class:`GasAlerts` turns a robot's sensor stream into alerts with the severity table of
:data:`GAS_SEVERITY`, using alarm monitors of its own that do not latch (the alert does).
"""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from drivers.errors import HazfleetError
from drivers.vda5050.sensors import SensorReadings
from missions.alarms import AlarmKind, AlarmPreset, ChannelMonitor

log = logging.getLogger(__name__)

__all__ = [
    "GAS_HAZARD",
    "GAS_SEVERITY",
    "LATCHING",
    "Alert",
    "AlertAlreadyAcknowledged",
    "AlertBook",
    "AlertChange",
    "AlertNotFound",
    "AlertQuery",
    "AlertSink",
    "ChangeKind",
    "GasAlerts",
    "Hazard",
    "ImageCrop",
    "InMemoryAlertSink",
    "Location",
    "Reading",
    "Severity",
    "gas_key",
    "gas_severity",
]


class Severity(StrEnum):
    """info < warn < error < critical; :meth:`parse` of anything else is critical."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: str | Severity) -> Severity:
        """A severity from text; an unknown one counts as critical (fail-safe)."""
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            return cls.CRITICAL


_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}

LATCHING = frozenset({Severity.ERROR, Severity.CRITICAL})
"""severities whose alert stays open after clearing until acknowledged"""


class Hazard(StrEnum):
    GAS_TOXIC = "gas_toxic"
    FLAMMABLE = "flammable"
    OXYGEN = "oxygen"
    HEAT = "heat"
    FIRE = "fire"
    SMOKE = "smoke"
    RADIATION = "radiation"
    SPILL = "spill"
    SENSOR_FAULT = "sensor_fault"
    OTHER = "other"

    @classmethod
    def parse(cls, text: str | Hazard) -> Hazard:
        """A hazard type from text; an unknown one is ``other``."""
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            return cls.OTHER


class AlertNotFound(HazfleetError):
    """No alert with this id (the API's 404)."""

    def __init__(self, alert_id: str) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert {alert_id!r}")


class AlertAlreadyAcknowledged(HazfleetError):
    """The alert was acknowledged before (the API's 409)."""

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        super().__init__(
            f"alert {alert.id} was already acknowledged by {alert.acknowledged_by}"
            f" at {alert.acknowledged_at.isoformat() if alert.acknowledged_at else '?'}"
        )


@dataclass(frozen=True)
class Location:
    x_m: float
    y_m: float
    map_id: str | None = None


@dataclass(frozen=True)
class Reading:
    """One sensor reading kept as evidence."""

    at: datetime
    channel: str
    value: float | None
    unit: str
    status: str = "ok"


@dataclass(frozen=True)
class ImageCrop:
    """The part of a camera frame that shows the hazard: JPEG bytes and where it was cut
    from, ``bbox`` = (x, y, width, height) in pixels of the source frame."""

    jpeg: bytes
    bbox: tuple[int, int, int, int]

    def base64(self) -> str:
        return base64.b64encode(self.jpeg).decode("ascii")

    @classmethod
    def from_base64(cls, text: str, bbox: tuple[int, int, int, int]) -> ImageCrop:
        return cls(base64.b64decode(text, validate=True), bbox)


@dataclass(frozen=True)
class Alert:
    """One episode of a condition (module docstring).  Times are aware UTC datetimes."""

    id: str
    key: str
    severity: Severity
    hazard: Hazard
    title: str
    """one line for people: ``H2S HIGH: 25 ppm (set point 20 ppm)``"""
    raised_at: datetime
    last_seen_at: datetime
    value: float | None = None
    unit: str = ""
    threshold: float | None = None
    location: Location | None = None
    robot: str | None = None
    """robot key ``manufacturer/serial``"""
    mission: str | None = None
    readings: tuple[Reading, ...] = ()
    image: ImageCrop | None = None
    cleared_at: datetime | None = None
    occurrences: int = 1
    """how many times the condition was reported during this episode"""
    peak: float | None = None
    """highest value reported during the episode"""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_note: str = ""

    @property
    def active(self) -> bool:
        """The condition is present (not cleared)."""
        return self.cleared_at is None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def latched(self) -> bool:
        """Cleared, but kept open until someone acknowledges it."""
        return not self.active and not self.acknowledged and self.severity in LATCHING

    @property
    def open(self) -> bool:
        """Still needs attention: the condition is present, or it latched."""
        return self.active or self.latched


class ChangeKind(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class AlertChange:
    kind: ChangeKind
    alert: Alert
    """the alert after the change"""
    escalated: bool = False
    """its severity went up with this change"""

    def text(self) -> str:
        """``new critical alert al-3f2a: O2 LOW: 17 %vol (set point 19.5 %vol)``"""
        a = self.alert
        what = "escalated" if self.escalated else self.kind.value
        by = f" by {a.acknowledged_by}" if self.kind is ChangeKind.ACKNOWLEDGED else ""
        return f"{what} {a.severity.value} alert {a.id}{by}: {a.title}"


@dataclass(frozen=True)
class AlertQuery:
    """Filters of a listing; every given one must hold.  Newest first."""

    open: bool = False
    """only alerts still open (active, or latched and unacknowledged)"""
    unacknowledged: bool = False
    min_severity: Severity | None = None
    robot: str | None = None
    hazard: Hazard | None = None
    since: datetime | None = None
    """raised at or after"""
    limit: int = 100
    offset: int = 0

    def matches(self, a: Alert) -> bool:
        return (
            (not self.open or a.open)
            and (not self.unacknowledged or not a.acknowledged)
            and (self.min_severity is None or a.severity.rank >= self.min_severity.rank)
            and (self.robot is None or a.robot == self.robot)
            and (self.hazard is None or a.hazard == self.hazard)
            and (self.since is None or a.raised_at >= self.since)
        )


class AlertSink(Protocol):
    """Where alerts are kept (the port): :class:`InMemoryAlertSink`, or the store."""

    def save_alert(self, alert: Alert) -> None:
        """Insert or replace the whole alert (evidence included), atomically."""

    def get_alert(self, alert_id: str) -> Alert | None: ...

    def list_alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        """Matching alerts (all without a query), newest first (``raised_at``, then id)."""

    def acknowledge_alert(self, alert_id: str, who: str, at: datetime, note: str = "") -> Alert:
        """Record the acknowledgement if there is none yet, atomically.

        Raises:
            AlertNotFound: no such alert.
            AlertAlreadyAcknowledged: someone acknowledged it before.
        """


class InMemoryAlertSink:
    """An :class:`AlertSink` in a dict: for tests and for a controller without a store."""

    def __init__(self) -> None:
        self._alerts: dict[str, Alert] = {}
        self._lock = threading.Lock()

    def save_alert(self, alert: Alert) -> None:
        with self._lock:
            self._alerts[alert.id] = alert

    def get_alert(self, alert_id: str) -> Alert | None:
        with self._lock:
            return self._alerts.get(alert_id)

    def list_alerts(self, query: AlertQuery | None = None) -> list[Alert]:
        query = query if query is not None else AlertQuery()
        with self._lock:
            found = [a for a in self._alerts.values() if query.matches(a)]
        found.sort(key=lambda a: (a.raised_at, a.id), reverse=True)
        return found[query.offset : query.offset + query.limit]

    def acknowledge_alert(self, alert_id: str, who: str, at: datetime, note: str = "") -> Alert:
        with self._lock:
            alert = self._alerts.get(alert_id)
            if alert is None:
                raise AlertNotFound(alert_id)
            if alert.acknowledged:
                raise AlertAlreadyAcknowledged(alert)
            acked = replace(alert, acknowledged_by=who, acknowledged_at=at, ack_note=note)
            self._alerts[alert_id] = acked
            return acked


def _new_id() -> str:
    return f"al-{uuid.uuid4().hex[:12]}"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: alerts need a time zone")
    return at


def _peak(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


class AlertBook:
    """The open alerts, one per condition key (module docstring).  Not thread-safe: the
    controller calls it under its lock."""

    def __init__(
        self,
        *,
        new_id: Callable[[], str] = _new_id,
        touch_interval_s: float = 5.0,
        max_readings: int = 30,
    ) -> None:
        self._new_id = new_id
        self._touch_interval_s = touch_interval_s
        self._max_readings = max_readings
        self._open: dict[str, Alert] = {}
        """condition key -> its open alert"""
        self._keys: dict[str, str] = {}
        """alert id -> condition key, for the open ones"""
        self._reported: dict[str, datetime] = {}
        """condition key -> when its alert last produced a change"""

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Take back open alerts from storage (after a restart)."""
        for a in alerts:
            if a.open and a.key not in self._open:
                self._open[a.key] = a
                self._keys[a.id] = a.key
                self._reported[a.key] = a.last_seen_at

    def get(self, key: str) -> Alert | None:
        """The open alert of a condition key."""
        return self._open.get(key)

    def by_id(self, alert_id: str) -> Alert | None:
        key = self._keys.get(alert_id)
        return None if key is None else self._open[key]

    def open_alerts(self) -> list[Alert]:
        return sorted(self._open.values(), key=lambda a: (a.raised_at, a.id), reverse=True)

    def raise_(
        self,
        key: str,
        *,
        severity: Severity | str,
        hazard: Hazard | str,
        at: datetime,
        title: str = "",
        value: float | None = None,
        unit: str = "",
        threshold: float | None = None,
        location: Location | None = None,
        robot: str | None = None,
        mission: str | None = None,
        readings: Sequence[Reading] = (),
        image: ImageCrop | None = None,
    ) -> AlertChange | None:
        """The condition ``key`` is present at ``at``: a new alert, or an update of its
        open one (None when that update is not yet worth reporting)."""
        _aware(at)
        level = Severity.parse(severity)
        current = self._open.get(key)
        if current is None:
            alert = Alert(
                id=self._new_id(),
                key=key,
                severity=level,
                hazard=Hazard.parse(hazard),
                title=title or key,
                raised_at=at,
                last_seen_at=at,
                value=value,
                unit=unit,
                threshold=threshold,
                location=location,
                robot=robot,
                mission=mission,
                readings=tuple(readings)[-self._max_readings :],
                image=image,
                peak=value,
            )
            self._remember(alert)
            self._reported[key] = at
            return AlertChange(ChangeKind.NEW, alert)
        escalated = level.rank > current.severity.rank
        reopened = not current.active
        changed = replace(
            current,
            severity=level if escalated else current.severity,
            last_seen_at=max(at, current.last_seen_at),
            value=value if value is not None else current.value,
            occurrences=current.occurrences + 1,
            peak=_peak(current.peak, value),
            readings=(current.readings + tuple(readings))[: self._max_readings]
            if readings and len(current.readings) < self._max_readings
            else current.readings,
            image=image
            if image is not None and (escalated or current.image is None)
            else current.image,
            cleared_at=None,
            mission=current.mission or mission,
            location=current.location or location,
        )
        if escalated:
            changed = replace(
                changed,
                title=title or changed.title,
                threshold=threshold if threshold is not None else changed.threshold,
                acknowledged_by=None,
                acknowledged_at=None,
                ack_note="",
            )
        self._open[key] = changed
        last = self._reported.get(key, current.raised_at)
        due = (at - last).total_seconds() >= self._touch_interval_s
        if escalated or reopened or due:
            self._reported[key] = at
            return AlertChange(ChangeKind.UPDATED, changed, escalated=escalated)
        return None

    def clear(
        self, key: str, at: datetime, *, readings: Sequence[Reading] = ()
    ) -> AlertChange | None:
        """The condition ``key`` is gone at ``at``; None if it had no active alert."""
        _aware(at)
        current = self._open.get(key)
        if current is None or not current.active:
            return None
        # the readings that cleared it always fit, even after a long episode
        evidence = (current.readings + tuple(readings))[: self._max_readings + len(readings)]
        cleared = replace(
            current,
            cleared_at=at,
            last_seen_at=max(at, current.last_seen_at),
            readings=evidence,
        )
        self._keep_or_close(cleared)
        self._reported[key] = at
        return AlertChange(ChangeKind.CLEARED, cleared)

    def acknowledge(self, alert_id: str, who: str, at: datetime, note: str = "") -> AlertChange:
        """Acknowledge an open alert of this book.

        Raises:
            AlertNotFound: the book has no open alert with this id (it may be in storage).
            AlertAlreadyAcknowledged: it was acknowledged before.
        """
        _aware(at)
        current = self.by_id(alert_id)
        if current is None:
            raise AlertNotFound(alert_id)
        if current.acknowledged:
            raise AlertAlreadyAcknowledged(current)
        acked = replace(current, acknowledged_by=who, acknowledged_at=at, ack_note=note)
        self._keep_or_close(acked)
        return AlertChange(ChangeKind.ACKNOWLEDGED, acked)

    def _remember(self, alert: Alert) -> None:
        self._open[alert.key] = alert
        self._keys[alert.id] = alert.key

    def _keep_or_close(self, alert: Alert) -> None:
        if alert.open:
            self._remember(alert)
        else:
            self._open.pop(alert.key, None)
            self._keys.pop(alert.id, None)
            self._reported.pop(alert.key, None)


# ---------------------------------------------------------------------------- gas alarms

GAS_HAZARD: dict[str, Hazard] = {
    "O2": Hazard.OXYGEN,
    "LEL": Hazard.FLAMMABLE,
    "CH4": Hazard.FLAMMABLE,
    "H2S": Hazard.GAS_TOXIC,
    "CO": Hazard.GAS_TOXIC,
    "NH3": Hazard.GAS_TOXIC,
    "Cl2": Hazard.GAS_TOXIC,
    "SO2": Hazard.GAS_TOXIC,
    "NO2": Hazard.GAS_TOXIC,
    "temperature": Hazard.HEAT,
    "doseRate": Hazard.RADIATION,
}
"""channel -> the hazard its gas alarms are about"""

GAS_SEVERITY: dict[AlarmKind, Severity] = {
    AlarmKind.LOW: Severity.WARN,
    AlarmKind.HIGH: Severity.ERROR,
    AlarmKind.CEILING: Severity.CRITICAL,
    AlarmKind.STEL: Severity.ERROR,
    AlarmKind.TWA: Severity.WARN,
    AlarmKind.OVER_RANGE: Severity.ERROR,
    AlarmKind.NEGATIVE_DRIFT: Severity.WARN,
    AlarmKind.SENSOR_FAULT: Severity.ERROR,
    AlarmKind.LEL_INVALID: Severity.ERROR,
}
"""alarm kind -> severity of its alert, before the per-channel exceptions of
:func:`gas_severity` (docs/alerts.md has the table and the reasons)"""

_INSTRUMENT_KINDS = frozenset(
    {AlarmKind.OVER_RANGE, AlarmKind.NEGATIVE_DRIFT, AlarmKind.SENSOR_FAULT, AlarmKind.LEL_INVALID}
)
"""alarms about the instrument rather than the gas: hazard ``sensor_fault``"""


def gas_severity(channel: str, kind: AlarmKind) -> tuple[Severity, Hazard]:
    """Severity and hazard of the alert for a gas alarm (docs/alerts.md)."""
    if kind in _INSTRUMENT_KINDS:
        return GAS_SEVERITY[kind], Hazard.SENSOR_FAULT
    hazard = GAS_HAZARD.get(channel, Hazard.OTHER)
    if channel == "O2":
        # LOW is deficiency (≤ 19.5 %vol): asphyxiation, immediately dangerous to life;
        # HIGH is enrichment (≥ 23.5 %vol): everything burns more readily.
        return (Severity.CRITICAL if kind is AlarmKind.LOW else Severity.ERROR), hazard
    if hazard is Hazard.FLAMMABLE and kind is AlarmKind.HIGH:
        return Severity.CRITICAL, hazard  # half-way to an explosive mixture or closer
    return GAS_SEVERITY[kind], hazard


def gas_key(robot: str, channel: str, kind: AlarmKind) -> str:
    """The condition key of a gas alarm: ``gas/acme/R1/H2S/HIGH``."""
    return f"gas/{robot}/{channel}/{kind.value}"


def _gas_title(
    channel: str, kind: AlarmKind, value: float | None, unit: str, threshold: float | None
) -> str:
    shown = "no reading" if value is None else f"{value:g} {unit}"
    limit = "" if threshold is None else f" (set point {threshold:g} {unit})"
    return f"{channel} {kind.value}: {shown}{limit}"


@dataclass
class _Channel:
    monitor: ChannelMonitor
    recent: deque[Reading]
    thresholds: dict[AlarmKind, float | None] = field(default_factory=dict)


class GasAlerts:
    """A robot's sensor stream -> gas alerts in an :class:`AlertBook`.

    Keeps its own :class:`ChannelMonitor` per robot and channel with the preset's set
    points but no latching: the alert follows the condition itself (it clears when the
    gas is gone) and latches on its own (:data:`LATCHING`).  The last ``evidence_before``
    readings of the channel become the new alert's evidence; readings while it is open
    are added (up to the book's ``max_readings``), as is the one that cleared it.
    """

    def __init__(self, preset: AlarmPreset, book: AlertBook, evidence_before: int = 10) -> None:
        self._preset = preset.model_copy(update={"latching": frozenset()})
        self._book = book
        self._evidence_before = evidence_before
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._unverified: set[str] = {
            a.key for a in book.open_alerts() if a.key.startswith("gas/") and a.active
        }
        """gas alerts restored active from storage: cleared by the first reading that
        does not show their condition"""

    def feed(
        self,
        robot: str,
        msg: SensorReadings,
        now_s: float,
        at: datetime,
        mission: Callable[[], str | None],
    ) -> list[AlertChange]:
        """One decoded sensors message of ``robot`` at ``now_s`` (monotonic, for the
        averages) and ``at`` (calendar time of the alerts); ``mission`` is asked for the
        robot's active mission when an alert is new."""
        o2 = next((r.value for r in msg.readings if r.channel == "O2" and r.status == "ok"), None)
        where = (
            Location(msg.x_m, msg.y_m, msg.map_id)
            if msg.x_m is not None and msg.y_m is not None
            else None
        )
        out: list[AlertChange] = []
        for r in msg.readings:
            setpoints = self._preset.channels.get(r.channel)
            if setpoints is None or r.status == "unavailable":
                continue
            ch = self._channels.get((robot, r.channel))
            if ch is None:
                ch = self._channels[(robot, r.channel)] = _Channel(
                    ChannelMonitor(r.channel, setpoints, self._preset),
                    deque(maxlen=self._evidence_before),
                )
            reading = Reading(at, r.channel, r.value, r.unit, r.status)
            ch.recent.append(reading)
            changes = ch.monitor.feed(
                now_s, r.value, r.status, o2_percent=o2 if r.channel == "LEL" else None
            )
            value = None if r.value is None else r.value * ch.monitor.lel_factor
            for c in changes:
                if c.active:
                    ch.thresholds[c.kind] = c.threshold
                else:
                    got = self._book.clear(
                        gas_key(robot, c.channel, c.kind), at, readings=(reading,)
                    )
                    if got is not None:
                        out.append(got)
            for kind in sorted(ch.monitor.active):
                got = self._raise(robot, ch, kind, reading, value, where, at, mission)
                if got is not None:
                    out.append(got)
            if self._unverified:
                out.extend(self._verify(robot, r.channel, ch, at, reading))
        return out

    def _raise(
        self,
        robot: str,
        ch: _Channel,
        kind: AlarmKind,
        reading: Reading,
        value: float | None,
        where: Location | None,
        at: datetime,
        mission: Callable[[], str | None],
    ) -> AlertChange | None:
        key = gas_key(robot, reading.channel, kind)
        severity, hazard = gas_severity(reading.channel, kind)
        threshold = ch.thresholds.get(kind)
        if self._book.get(key) is None:
            return self._book.raise_(
                key,
                severity=severity,
                hazard=hazard,
                at=at,
                title=_gas_title(reading.channel, kind, value, reading.unit, threshold),
                value=value,
                unit=reading.unit,
                threshold=threshold,
                location=where,
                robot=robot,
                mission=mission(),
                readings=tuple(ch.recent),
            )
        return self._book.raise_(
            key, severity=severity, hazard=hazard, at=at, value=value, readings=(reading,)
        )

    def _verify(
        self, robot: str, channel: str, ch: _Channel, at: datetime, reading: Reading
    ) -> list[AlertChange]:
        out: list[AlertChange] = []
        prefix = f"gas/{robot}/{channel}/"
        for key in [k for k in self._unverified if k.startswith(prefix)]:
            self._unverified.discard(key)
            kind = key.removeprefix(prefix)
            if kind not in {k.value for k in ch.monitor.active}:
                got = self._book.clear(key, at, readings=(reading,))
                if got is not None:
                    out.append(got)
        return out

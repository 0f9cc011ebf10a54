"""The sensor-reading extension topic (docs/protocol.md, "Sensor readings").

VDA 5050 carries no measurements; a hazfleet robot publishes its detector's readings on
``{interface}/v2/{manufacturer}/{serial}/sensors`` (QoS 0, not retained: a stale reading
must never pass for a current one), one message holding one sample of every channel it
has, each with its unit, time and status, and the robot's position when sampled.

Inbound tolerance is per reading: a message that is not a JSON object with the header
fields and a ``readings`` list is rejected whole; inside it, a reading with an unknown
channel, a missing or wrong unit, a value that is not a number or lies outside what the
channel can physically read, or an unknown status is rejected on its own, with the
reason, and the others are kept (:func:`decode_readings`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from drivers.errors import ProtocolError
from missions.alarms import CHANNEL_UNITS

SENSORS_TOPIC_NAME = "sensors"
SENSORS_QOS = 0
SENSORS_RETAIN = False


PLAUSIBLE: dict[str, tuple[float, float]] = {
    "O2": (0.0, 100.0),
    "LEL": (-100.0, 200.0),
    "CH4": (-100.0, 100.0),
    "temperature": (-100.0, 2000.0),
    "doseRate": (0.0, 1e9),
    "windSpeed": (0.0, 100.0),
    "windDirection": (0.0, 360.0),
}
"""what a channel can physically read (toxics: −1,000 to 1,000,000 ppm); a value outside
is a broken message, not a measurement"""
_TOXIC_RANGE = (-1000.0, 1e6)

MAX_READINGS = 64
"""a message carries one sample per channel: more than this is not a sensor message"""

ReadingStatus = Literal["ok", "warmup", "over_range", "dropout", "fault", "unavailable"]
STATUSES: tuple[str, ...] = ("ok", "warmup", "over_range", "dropout", "fault", "unavailable")


def sensors_topic(interface: str, manufacturer: str, serial: str) -> str:
    return f"{interface}/v2/{manufacturer}/{serial}/{SENSORS_TOPIC_NAME}"


@dataclass(frozen=True)
class SensorReading:
    channel: str
    value: float | None
    unit: str
    status: ReadingStatus


@dataclass(frozen=True)
class SensorReadings:
    """One decoded message: the header, where the robot was, and the readings kept."""

    header_id: int
    timestamp: str
    manufacturer: str
    serial: str
    map_id: str | None
    x_m: float | None
    y_m: float | None
    readings: tuple[SensorReading, ...]
    rejected: tuple[str, ...]
    """one line per reading dropped: ``readings.3.unit: expected 'ppm', got 'mg/m3'``"""


def encode_readings(
    header: dict[str, Any],
    x_m: float,
    y_m: float,
    map_id: str,
    readings: list[SensorReading],
) -> bytes:
    """The JSON payload: ``header`` (headerId, timestamp, version, manufacturer,
    serialNumber) first, then position and readings."""
    body: dict[str, Any] = {
        **header,
        "mapId": map_id,
        "x": round(x_m, 4),
        "y": round(y_m, 4),
        "readings": [
            {"channel": r.channel, "value": r.value, "unit": r.unit, "status": r.status}
            for r in readings
        ],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_readings(payload: bytes, source: str) -> SensorReadings:
    """Decode a sensors message; ProtocolError (naming ``source`` and the field) when the
    message as a whole is unusable."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(source, "", f"not JSON ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise ProtocolError(source, "", f"not a JSON object but {type(body).__name__}")
    header_id = body.get("headerId")
    if not isinstance(header_id, int) or isinstance(header_id, bool) or header_id < 0:
        raise ProtocolError(source, "headerId", "missing or not a non-negative integer")
    for name in ("timestamp", "manufacturer", "serialNumber"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise ProtocolError(source, name, "missing or not a non-empty string")
    raw = body.get("readings")
    if not isinstance(raw, list) or not raw:
        raise ProtocolError(source, "readings", "missing, empty or not a list")
    if len(raw) > MAX_READINGS:
        raise ProtocolError(source, "readings", f"{len(raw)} readings (at most {MAX_READINGS})")
    x, y = body.get("x"), body.get("y")
    kept: list[SensorReading] = []
    rejected: list[str] = []
    for i, item in enumerate(raw):
        reading, problem = _reading(item)
        if reading is None:
            rejected.append(f"readings.{i}{problem}")
        else:
            kept.append(reading)
    map_id = body.get("mapId")
    return SensorReadings(
        header_id=header_id,
        timestamp=body["timestamp"],
        manufacturer=body["manufacturer"],
        serial=body["serialNumber"],
        map_id=map_id if isinstance(map_id, str) else None,
        x_m=float(x) if isinstance(x, int | float) and _number(x) else None,
        y_m=float(y) if isinstance(y, int | float) and _number(y) else None,
        readings=tuple(kept),
        rejected=tuple(rejected),
    )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _reading(item: Any) -> tuple[SensorReading | None, str]:
    if not isinstance(item, dict):
        return None, f": not an object but {type(item).__name__}"
    channel = item.get("channel")
    if channel not in CHANNEL_UNITS:
        return None, f".channel: unknown channel {channel!r}"
    unit = item.get("unit")
    if unit is None:
        return None, f".unit: missing (expected {CHANNEL_UNITS[channel]!r})"
    if unit != CHANNEL_UNITS[channel]:
        return None, f".unit: expected {CHANNEL_UNITS[channel]!r} for {channel}, got {unit!r}"
    status = item.get("status", "ok")
    if status not in STATUSES:
        return None, f".status: unknown status {status!r}"
    value = item.get("value")
    if value is not None:
        if not _number(value):
            return None, f".value: not a finite number ({value!r})"
        low, high = PLAUSIBLE.get(channel, _TOXIC_RANGE)
        if not low <= value <= high:
            return None, f".value: {value} {unit} is outside what {channel} can read"
        value = float(value)
    return SensorReading(channel, value, unit, status), ""


__all__ = [
    "CHANNEL_UNITS",
    "MAX_READINGS",
    "SENSORS_QOS",
    "SENSORS_RETAIN",
    "SENSORS_TOPIC_NAME",
    "SensorReading",
    "SensorReadings",
    "decode_readings",
    "encode_readings",
    "sensors_topic",
]

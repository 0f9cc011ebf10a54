"""The controller heartbeat: hazfleet's extension topic that lets robots fail safe.

Topic ``{interface}/hazfleet/{controllerId}/heartbeat``, QoS 1, retained (wire format in
:mod:`drivers.vda5050.heartbeat`, specified in ``docs/protocol.md``).  Payload::

    {"headerId": 7, "timestamp": "2026-01-01T00:00:07.00Z", "version": "2.1.0",
     "controllerId": "hazfleet", "connectionState": "ONLINE", "intervalMs": 1000}

ONLINE on start and every ``intervalMs``; OFFLINE on a clean stop; CONNECTIONBROKEN as the
MQTT last will.  Robots pause themselves after 3 x intervalMs without an ONLINE beat.
"""

from __future__ import annotations

import logging

from drivers.bus import Bus, Will
from drivers.vda5050.codec import DEFAULT_VERSION, HeaderCounter, format_timestamp
from drivers.vda5050.heartbeat import (
    BEAT_QOS,
    HEARTBEAT_QOS,
    HEARTBEAT_RETAIN,
    heartbeat_topic,
)
from drivers.vda5050.heartbeat import Heartbeat as HeartbeatMessage
from drivers.vda5050.messages import ConnectionState
from missions.clock import Clock

log = logging.getLogger(__name__)

__all__ = ["Heartbeat", "controller_will", "heartbeat_payload", "heartbeat_topic"]

_TOPIC_NAME = "heartbeat"
# FakeClock ticks of 0.1 s add up to 0.9999999...; without slack a 1 s beat slips a tick.
_EPSILON_S = 1e-6


def heartbeat_payload(
    *,
    header_id: int,
    timestamp: str,
    controller_id: str,
    state: ConnectionState,
    interval_ms: int,
) -> bytes:
    beat = HeartbeatMessage(
        headerId=header_id,
        timestamp=timestamp,
        version=DEFAULT_VERSION,
        controllerId=controller_id,
        connectionState=state,
        intervalMs=interval_ms,
    )
    return beat.model_dump_json().encode("utf-8")


def _interval_ms(interval_s: float) -> int:
    return max(1, round(interval_s * 1000))


def controller_will(
    interface: str, controller_id: str, clock: Clock, *, interval_s: float = 1.0
) -> Will:
    """The MQTT last will of the controller: heartbeat CONNECTIONBROKEN, retained, QoS 1.

    Set at connect time, so its headerId (0) and timestamp are necessarily outdated when
    the broker sends it (as for the VDA 5050 connection topic, section 6.14).
    """
    payload = heartbeat_payload(
        header_id=0,
        timestamp=format_timestamp(clock.now()),
        controller_id=controller_id,
        state=ConnectionState.CONNECTIONBROKEN,
        interval_ms=_interval_ms(interval_s),
    )
    return Will(heartbeat_topic(interface, controller_id), payload, HEARTBEAT_QOS, HEARTBEAT_RETAIN)


class Heartbeat:
    """Publishes the controller's heartbeat; stepped by the controller."""

    def __init__(
        self, bus: Bus, clock: Clock, interface: str, controller_id: str, interval_s: float
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"heartbeat interval must be positive, got {interval_s} s")
        self._bus = bus
        self._clock = clock
        self._controller_id = controller_id
        self._interval_s = interval_s
        self._topic = heartbeat_topic(interface, controller_id)
        self._headers = HeaderCounter()
        self._last_beat_s: float | None = None

    @property
    def topic(self) -> str:
        return self._topic

    def start(self) -> None:
        self._publish(ConnectionState.ONLINE, HEARTBEAT_QOS)
        log.info("heartbeat ONLINE on %s every %.3f s", self._topic, self._interval_s)

    def tick(self) -> None:
        """Publish ONLINE when an interval has passed since the last beat."""
        if self._last_beat_s is None:
            return
        if self._clock.monotonic() - self._last_beat_s >= self._interval_s - _EPSILON_S:
            self._publish(ConnectionState.ONLINE, BEAT_QOS)

    def stop(self) -> None:
        self._publish(ConnectionState.OFFLINE, HEARTBEAT_QOS)
        self._last_beat_s = None
        log.info("heartbeat OFFLINE on %s", self._topic)

    def _publish(self, state: ConnectionState, qos: int) -> None:
        payload = heartbeat_payload(
            header_id=self._headers.next(_TOPIC_NAME),
            timestamp=format_timestamp(self._clock.now()),
            controller_id=self._controller_id,
            state=state,
            interval_ms=_interval_ms(self._interval_s),
        )
        self._bus.publish(self._topic, payload, qos, HEARTBEAT_RETAIN)
        self._last_beat_s = self._clock.monotonic()

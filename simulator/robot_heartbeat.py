"""The robot's side of the controller heartbeat (wire format in
:mod:`drivers.vda5050.heartbeat`).

Topic ``{interface}/hazfleet/{controllerId}/heartbeat``; the robot subscribes
``{interface}/hazfleet/+/heartbeat``.  Once armed (by a first heartbeat or a first order)
the watch reports the link lost when no ONLINE beat arrived for 3 x ``intervalMs`` of the
robot's monotonic clock, or at once on OFFLINE / CONNECTIONBROKEN.  Arrival time, not the
payload's timestamp, counts: clocks of different hosts are not compared.
"""

from __future__ import annotations

from drivers.vda5050.codec import decode
from drivers.vda5050.heartbeat import DEFAULT_INTERVAL_MS, MISSED_BEATS, Heartbeat
from drivers.vda5050.messages import ConnectionState

_last_beat: tuple[bytes, Heartbeat] | None = None
"""the last payload decoded and its (frozen) heartbeat: every robot of a process gets
the same beat from the controller each interval, and decodes it once"""


def parse_beat(payload: bytes, *, source: str) -> Heartbeat:
    """Decode a heartbeat payload; unknown extra fields are ignored.

    Raises:
        ProtocolError: naming the source, the field and the problem.
    """
    global _last_beat
    last = _last_beat
    if last is not None and last[0] == payload:
        return last[1]
    beat = decode(Heartbeat, payload, source=source)
    _last_beat = (payload, beat)
    return beat


class HeartbeatWatch:
    """Tracks the controller's liveness on the robot's monotonic clock (seconds)."""

    def __init__(self) -> None:
        self._armed = False
        self._last_online_s = 0.0
        self._interval_s = DEFAULT_INTERVAL_MS / 1000.0
        self._goodbye: str | None = None
        """the controller's last state if it said OFFLINE / CONNECTIONBROKEN"""

    @property
    def armed(self) -> bool:
        return self._armed

    def arm(self, now_s: float) -> None:
        """Start watching (on the first order), counting from now."""
        if not self._armed:
            self._armed = True
            self._last_online_s = now_s

    def beat(self, beat: Heartbeat, now_s: float) -> None:
        self._armed = True
        self._interval_s = beat.intervalMs / 1000.0
        if beat.connectionState is ConnectionState.ONLINE:
            self._last_online_s = now_s
            self._goodbye = None
        else:
            self._goodbye = f"controller {beat.controllerId!r} is {beat.connectionState.value}"

    def lost(self, now_s: float) -> str | None:
        """Why the link counts as lost now, or None while it is alive (or not armed)."""
        if not self._armed:
            return None
        if self._goodbye is not None:
            return self._goodbye
        silent_s = now_s - self._last_online_s
        if silent_s > MISSED_BEATS * self._interval_s:
            return f"no ONLINE heartbeat for {silent_s:.1f} s"
        return None

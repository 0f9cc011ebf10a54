"""The robot's side of the controller heartbeat (hazfleet extension, contracts.md).

Topic ``{interface}/hazfleet/{controllerId}/heartbeat``; the robot subscribes
``{interface}/hazfleet/+/heartbeat``.  Once armed (by a first heartbeat or a first order)
the watch reports the link lost when no ONLINE beat arrived for 3 x ``intervalMs`` of the
robot's monotonic clock, or at once on OFFLINE / CONNECTIONBROKEN.  Arrival time, not the
payload's timestamp, counts: clocks of different hosts are not compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

HEARTBEAT_QOS = 1
MISSED_BEATS = 3
DEFAULT_INTERVAL_MS = 1000
_STATES = ("ONLINE", "OFFLINE", "CONNECTIONBROKEN")


def heartbeat_filter(interface: str) -> str:
    return f"{interface}/hazfleet/+/heartbeat"


@dataclass(frozen=True)
class Beat:
    controller_id: str
    connection_state: str
    interval_ms: int


def parse_beat(payload: bytes) -> Beat:
    """Decode a heartbeat payload; unknown extra fields are ignored.

    Raises:
        ValueError: naming the field and the problem.
    """
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"payload is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("payload must be a JSON object")
    state = data.get("connectionState")
    if state not in _STATES:
        raise ValueError(f"connectionState: must be one of {', '.join(_STATES)}, got {state!r}")
    interval = data.get("intervalMs", DEFAULT_INTERVAL_MS)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise ValueError(f"intervalMs: must be a positive integer, got {interval!r}")
    controller = data.get("controllerId", "")
    if not isinstance(controller, str):
        raise ValueError(f"controllerId: must be a string, got {controller!r}")
    return Beat(controller, state, interval)


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

    def beat(self, beat: Beat, now_s: float) -> None:
        self._armed = True
        self._interval_s = beat.interval_ms / 1000.0
        if beat.connection_state == "ONLINE":
            self._last_online_s = now_s
            self._goodbye = None
        else:
            self._goodbye = f"controller {beat.controller_id!r} is {beat.connection_state}"

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

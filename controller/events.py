"""What the controller tells its listeners: robot, mission and protocol events.

Events are plain data.  The controller calls its ``on_event`` listener synchronously from
``step()``, so a listener must be cheap (append to a list, put on a queue).  A listener
that raises is logged and otherwise ignored: a broken dashboard must never stop the
controller from supervising robots.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from missions.clock import Clock

log = logging.getLogger(__name__)

EventKind = Literal["robot", "mission", "protocol", "alarm", "alert", "hazard", "charge", "fleet"]


@dataclass(frozen=True)
class ControllerEvent:
    at_s: float
    """clock.monotonic() when the controller noticed it"""
    kind: str
    """"robot" (availability change), "mission" (outcome change), "protocol" (rejection),
    "alarm" (a gas alarm raised or cleared), "alert" (an alert new, escalated, cleared or
    acknowledged), "hazard" (the hazard picture registered a hazard for the first time),
    "charge" (a robot's drive to a charger) or "fleet" (a fleet-wide, zone or robot
    command: stop, resume, assemble)"""
    subject: str
    """robot key "manufacturer/serial" (robot, alarm), mission id, the MQTT topic of a
    rejected message, an alert's condition key, or a hazard (``gas:H2S``, ``fire``)"""
    detail: str


EventListener = Callable[[ControllerEvent], None]


class EventEmitter:
    """Stamps events with the clock and hands them to the (optional) listener."""

    def __init__(self, clock: Clock, listener: EventListener | None) -> None:
        self._clock = clock
        self._listener = listener

    def emit(self, kind: EventKind, subject: str, detail: str) -> None:
        if self._listener is None:
            return
        event = ControllerEvent(self._clock.monotonic(), kind, subject, detail)
        try:
            self._listener(event)
        except Exception:
            log.exception("event listener failed on %s event for %s", kind, subject)

"""The dispatcher's charging desk (issue 6; docs/allocation.md, "Charging").

Between the dispatcher and :class:`controller.fleet_plan.FleetPlanner`, for charging only:

* whether a robot reports charging: once a robot has said ``batteryState.charging: true``
  in any state, its flag is trusted (:meth:`ChargingDesk.reported`); a robot that never
  did gets None and the planner falls back to "stands on a charger node";
* the bays its own drives to a charger hold (:meth:`ChargingDesk.trips`);
* what to say when a robot low on charge gets no bay: an event and a log line when the
  reason changes, not every batch (:meth:`ChargingDesk.waiting`).

No bus, no clock: the dispatcher calls it with what it already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from controller.events import EventEmitter
from drivers.vda5050.messages import State
from missions.allocation import ChargeDecision

log = logging.getLogger(__name__)


class ChargingDesk:
    def __init__(self, events: EventEmitter) -> None:
        self._events = events
        self._reporters: set[str] = set()
        """robot keys that have reported ``charging: true`` at least once"""
        self._waiting: dict[str, str] = {}
        """robot key -> why it waits for a bay, as last said"""

    def note_state(self, key: str, state: State) -> None:
        """Follow one state of robot ``key``."""
        if state.batteryState.charging:
            self._reporters.add(key)

    def reported(self, key: str, state: State | None) -> bool | None:
        """The robot's charging flag, or None while it has never reported charging (a robot
        that does not fill the field in: the planner decides by where it stands)."""
        if state is None or key not in self._reporters:
            return None
        return state.batteryState.charging

    @staticmethod
    def trips(drives: Iterable[tuple[str | None, str]]) -> Mapping[str, str]:
        """robot key -> bay node of the unfinished drives to a charger given as
        (robot key, last node of the drive)."""
        return {key: node for key, node in drives if key is not None}

    def waiting(self, decision: ChargeDecision) -> None:
        """A robot low on charge got no bay: say why once per reason."""
        text = f"low on charge, waiting: {decision.reason or 'no charger'}"
        if self._waiting.get(decision.robot) == text:
            return
        self._waiting[decision.robot] = text
        log.warning("robot %s %s", decision.robot, text)
        self._events.emit("charge", decision.robot, text)

    def sent(self, key: str) -> None:
        """Robot ``key`` was sent to a bay: a later wait is news again."""
        self._waiting.pop(key, None)

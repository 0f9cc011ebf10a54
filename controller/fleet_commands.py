"""The dispatcher's fleet, zone and robot commands (docs/allocation.md, "Stops and
assembly").

* :meth:`FleetCommands.in_scope`: the robots named, standing in a zone, or the fleet;
* :meth:`FleetCommands.stop` and :meth:`FleetCommands.resume_robots`: ``startPause`` and
  ``stopPause`` to the robots in scope (orders kept, resumable);
* :meth:`FleetCommands.assemble`: every robot to the nearest safe assembly node, its
  mission cancelled, allocation suspended until the whole fleet is resumed.

Mixed into :class:`controller.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from controller.dispatch_base import DispatcherBase
from controller.mission_record import ASSEMBLE_PREFIX, _scope_text, _where
from controller.registry import RobotRecord
from drivers.errors import MissionError
from missions.mission import MissionOutcome

# One logger for every part of the dispatcher, as before the split (log configuration and
# tests select "controller.dispatcher").
log = logging.getLogger("controller.dispatcher")


class FleetCommands(DispatcherBase):
    """Fleet, zone and robot commands of the dispatcher (see the module docstring)."""

    # -- fleet, zone and robot commands (docs/allocation.md, "Stops and assembly")

    def in_scope(self, serials: Iterable[str] | None, zone: str | None) -> list[RobotRecord]:
        """The robots named (serial numbers), or standing in ``zone`` (by reported
        position, else last node), or the whole fleet when neither is given.

        Raises:
            MissionError: an unknown serial number or zone.
        """
        robots = self._registry.records()
        if serials is not None:
            wanted = list(dict.fromkeys(serials))
            by_serial = {r.serial: r for r in robots}
            unknown = [s for s in wanted if s not in by_serial]
            if unknown:
                raise MissionError(f"robots: {', '.join(map(repr, unknown))} not in the fleet")
            robots = [by_serial[s] for s in wanted]
        if zone is not None:
            found = next((z for z in self._site.zones if z.id == zone), None)
            if found is None:
                raise MissionError(f"zone: no zone {zone!r} on site {self._site.map_id!r}")
            inside = []
            for r in robots:
                at = _where(self._site, r)
                if at is not None and found.contains(*at):
                    inside.append(r)
            robots = inside
        return robots

    def stop(self, serials: Iterable[str] | None = None, zone: str | None = None) -> list[str]:
        """``startPause`` to every robot in scope (:meth:`in_scope`); keys of those robots.

        A pause, not ``cancelOrder``: the robots halt where they are and keep their orders,
        so ``resume_robots`` lets every mission carry on; paused robots get no new order.
        """
        robots = self.in_scope(serials, zone)
        for robot in robots:
            self._queue_instant(robot, "startPause", "stop", None)
        what = _scope_text(serials, zone)
        log.warning("stop (%s): startPause to %d robot(s)", what, len(robots))
        self._events.emit("fleet", what, f"stop: startPause to {len(robots)} robot(s)")
        return [r.key for r in robots]

    def resume_robots(
        self, serials: Iterable[str] | None = None, zone: str | None = None
    ) -> list[str]:
        """``stopPause`` to every robot in scope; keys of those robots.  Without a scope it
        also ends the suspension of allocation that :meth:`assemble` began."""
        robots = self.in_scope(serials, zone)
        for robot in robots:
            self._queue_instant(robot, "stopPause", "release", None)
        if serials is None and zone is None and self._suspended is not None:
            self._suspended = None
            self._alloc_key = None
        what = _scope_text(serials, zone)
        log.warning("resume (%s): stopPause to %d robot(s)", what, len(robots))
        self._events.emit("fleet", what, f"resume: stopPause to {len(robots)} robot(s)")
        return [r.key for r in robots]

    def assemble(self, now_s: float) -> dict[str, str | None]:
        """Every robot to the nearest node of a safe assembly zone it may reach at its
        rating: its mission (if any) is cancelled (ABORTED, "fleet sent to the assembly
        zone"), a paused robot is released (``stopPause``), and allocation is suspended
        until :meth:`resume_robots` for the whole fleet.  Robot key -> the node it is sent
        to, None when it has none (no assembly zone reachable, or no position known).
        """
        self._suspended = "the fleet was sent to the safe assembly zone; resume the fleet"
        out: dict[str, str | None] = {}
        for m in self._missions.values():
            if m.kind == "fleet" and m.outcome == MissionOutcome.PENDING:
                self._end(m, MissionOutcome.ABORTED, "superseded by a new assembly", now_s)
        for robot in self._registry.records():
            running = self._missions.get(self._busy.get(robot.key, ""))
            if running is not None:
                running.cancel_note = "fleet sent to the safe assembly zone"
                running.requeue_on_cancel = False  # not even a preempted one runs again
                if not running.cancel_requested:
                    self.cancel(running.spec.id, now_s)
            state = robot.state
            node = None
            if state is not None and self._site.has_node(state.lastNodeId):
                node = self._planner.nearest_assembly(robot.key, state.lastNodeId)
            out[robot.key] = node
            if node is None:
                log.error("robot %s: no safe assembly node to send it to", robot.key)
                continue
            if state is not None and state.paused:
                self._queue_instant(robot, "stopPause", "release", None)
            if state is not None and state.lastNodeId == node and not self._busy.get(robot.key):
                continue  # already there
            self._own_drive(ASSEMBLE_PREFIX, f"assemble {robot.key}", robot, node, "fleet", now_s)
        for m in self._missions.values():
            if m.outcome == MissionOutcome.PENDING and m.kind == "mission" and not m.pinned:
                m.robot_key = None  # held robots are released: allocation is suspended
        log.warning("assemble: %s", out)
        self._events.emit("fleet", "fleet", f"assemble: {len(out)} robot(s) to the assembly zone")
        return out

"""The dispatcher's allocation: which robots are ready, and allocation batches carried
out (controller/fleet_plan.py, docs/allocation.md).

* :meth:`Allocating._not_ready_because`: why a new order must not go to a robot now;
* :meth:`Allocating._robot_views`: the fleet as the planner sees it;
* :meth:`Allocating._allocate`: one batch when something changed (or every
  ``reallocate_every_s``), suspended while the fleet is at the assembly zone;
* :meth:`Allocating._apply`: its decisions carried out: preemptions, assignments, drives
  to a charger (:meth:`Allocating._send_to_charger`), missions left waiting with their
  reason, and drives off a charger bay (:meth:`Allocating._vacate`).

Mixed into :class:`controller.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import logging

from controller.charging import Vacate, bays_to_free
from controller.dispatch_base import DispatcherBase
from controller.fleet_plan import RobotView
from controller.mission_record import (
    _CONTROLLABLE_MODES,
    _TERMINAL_ACTION,
    CHARGE_PREFIX,
    VACATE_PREFIX,
    _due,
    _Mission,
)
from controller.orders import resolve_start_node
from controller.registry import RobotRecord
from drivers.errors import MissionError
from missions.allocation import AllocationResult
from missions.mission import MissionOutcome, MissionSpec

# One logger for every part of the dispatcher, as before the split (log configuration and
# tests select "controller.dispatcher").
log = logging.getLogger("controller.dispatcher")


class Allocating(DispatcherBase):
    """Readiness and allocation batches (see the module docstring)."""

    # -- readiness

    def _not_ready_because(self, robot: RobotRecord) -> str | None:
        """Why a new order must not go to ``robot`` now; None when it may."""
        s = robot.state
        if s is None:
            return "no state yet"
        if robot.availability != "online":
            return f"robot is {robot.availability}"
        if robot.key in self._busy:
            return f"robot runs mission {self._busy[robot.key]!r}"
        if robot.online_at_s is not None and (
            robot.last_state_at_s is None or robot.last_state_at_s < robot.online_at_s
        ):
            # Reconnected: the state we hold predates the reconnect and may be outdated.
            return "waiting for a state after reconnecting"
        if s.nodeStates or s.edgeStates:
            return f"robot still executes order {s.orderId!r}"
        if any(a.actionStatus not in _TERMINAL_ACTION for a in s.actionStates):
            return "robot still has unfinished actions"
        if s.paused:
            return "robot is paused"
        if robot.has_fatal_error:
            return "robot has a FATAL error"
        if s.operatingMode not in _CONTROLLABLE_MODES:
            return f"robot is in operating mode {s.operatingMode.value}"
        return None

    # -- allocation (controller/fleet_plan.py, docs/allocation.md)

    def _robot_views(self) -> list[RobotView]:
        held = {
            m.robot_key
            for m in self._missions.values()
            if m.outcome == MissionOutcome.PENDING and m.robot_key is not None
        }
        views = []
        for robot in self._registry.records():
            s = robot.state
            battery = s.batteryState.batteryCharge if s is not None else 0.0
            ready = robot.key not in held and self._not_ready_because(robot) is None
            node: str | None = None
            running: tuple[str, MissionSpec] | None = None
            if s is not None and ready:
                try:
                    node = resolve_start_node(
                        self._site, s.lastNodeId, s.agvPosition, self._deviation_m
                    )
                except MissionError:
                    ready = False
            elif s is not None and self._site.has_node(s.lastNodeId):
                node = s.lastNodeId
                busy = self._missions.get(self._busy.get(robot.key, ""))
                if (
                    busy is not None
                    and busy.kind == "mission"
                    and not busy.cancel_requested
                    and robot.availability == "online"
                ):
                    running = (busy.spec.id, busy.spec)
            trip = self._missions.get(self._busy.get(robot.key, ""))
            to_charger = trip is not None and trip.to_charger and robot.availability == "online"
            views.append(
                RobotView(
                    key=robot.key,
                    node=node,
                    battery_pct=battery,
                    actions=robot.factsheet_actions,
                    speed_max_m_s=robot.factsheet_speed_max_m_s,
                    ready=ready,
                    running=running,
                    charging=self._charging.reported(robot.key, s),
                    to_charger=to_charger,
                )
            )
        return views

    def _allocate(self, free: list[_Mission], now_s: float) -> None:
        """One allocation batch when something changed: the missions waiting for a robot,
        the robots free to take one, or (with missions waiting, or a robot low on charge)
        ``reallocate_every_s`` has passed (charge drifts without any event)."""
        if self._suspended is not None:
            for m in free:
                self._note_waiting(m, f"waiting (suspended): {self._suspended}")
            return
        period = self._planner.settings.reallocate_every_s
        if not free:
            # nothing waits: only a robot low on charge could need a decision, and charge
            # drifts slowly, so look at the fleet once a period, not every tick
            if not _due(now_s, self._low_checked_at_s, period):
                return
            self._low_checked_at_s = now_s
        views = self._robot_views()
        ready = [v for v in views if v.ready]
        low = any(
            v.battery_pct < self._planner.config(v.key).battery.charge_below_pct for v in ready
        )
        if not free and not low:
            self._alloc_key = None
            return
        key = (tuple(m.spec.id for m in free), tuple((v.key, v.node) for v in ready))
        if key == self._alloc_key and not _due(now_s, self._alloc_at_s, period):
            return
        self._alloc_key, self._alloc_at_s = key, now_s
        try:
            trips = self._charging.trips(
                (m.robot_key, m.spec.steps[-1].node)
                for m in self._missions.values()
                if m.to_charger
            )
            result = self._planner.allocate(views, [m.spec for m in free], trips)
            vacate = bays_to_free(self._planner, views, result, trips)
        except (ValueError, KeyError) as exc:
            # a bug or a site/config mismatch must not stop supervision; say so loudly
            log.error("allocation failed: %s", exc)
            return
        self._apply(result, now_s)
        for order in vacate:
            self._vacate(order, now_s)

    def _apply(self, result: AllocationResult, now_s: float) -> None:
        for p in result.preemptions:
            old = self._missions[p.cancel_mission]
            new = self._missions[p.assignment.mission]
            new.robot_key = p.robot  # held: dispatched once the cancel is confirmed
            self._note_waiting(
                new, f"waiting (preempting): robot {p.robot} cancels routine mission {old.spec.id}"
            )
            log.warning(
                "emergency mission %s preempts routine mission %s on %s",
                new.spec.id,
                old.spec.id,
                p.robot,
            )
            self.cancel(old.spec.id, now_s)
            old.requeue_on_cancel = True
        for a in result.assignments:
            m = self._missions[a.mission]
            robot = self._registry.get(a.robot)
            assert robot is not None, "the allocator only names robots of the registry"
            m.waiting = None
            log.info(
                "mission %s (%s) -> %s: cost %.0f s (travel %.0f s, task %.0f s, battery %.0f s)",
                a.mission,
                a.priority.value,
                a.robot,
                a.cost_s,
                a.travel_s,
                a.task_s,
                a.battery_penalty_s,
            )
            self._dispatch(m, robot, now_s)
        for c in result.charging:
            robot = self._registry.get(c.robot)
            assert robot is not None
            if c.charger_node is None:
                self._charging.waiting(c)
                continue
            self._charging.sent(c.robot)
            self._send_to_charger(robot, c.charger_node, c.ready_in_s, now_s)
        for u in result.unassigned:
            word = "unassignable" if u.code.infeasible else "waiting"
            self._note_waiting(self._missions[u.mission], f"{word} ({u.code.value}): {u.reason}")

    def _send_to_charger(
        self, robot: RobotRecord, charger_node: str, ready_in_s: float, now_s: float
    ) -> None:
        m = self._own_drive(
            CHARGE_PREFIX, f"charge {robot.key}", robot, charger_node, "charge", now_s
        )
        log.info(
            "robot %s low on charge: to charger %s (back in about %.0f s)",
            robot.key,
            charger_node,
            ready_in_s,
        )
        self._events.emit("charge", robot.key, f"to charger {charger_node}")
        self._dispatch(m, robot, now_s)

    def _vacate(self, order: Vacate, now_s: float) -> None:
        robot = self._registry.get(order.robot)
        assert robot is not None, "bays_to_free only names robots of the registry"
        m = self._own_drive(
            VACATE_PREFIX, f"free charger bay {order.bay}", robot, order.to_node, "charge", now_s
        )
        self._charging.vacating(order)
        self._dispatch(m, robot, now_s)

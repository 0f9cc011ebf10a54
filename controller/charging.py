"""The dispatcher's charging desk (issue 6; docs/allocation.md, "Charging").

Between the dispatcher and :class:`controller.fleet_plan.FleetPlanner`, for charging only:

* whether a robot reports charging: once a robot has said ``batteryState.charging: true``
  in any state, its flag is trusted (:meth:`ChargingDesk.reported`); a robot that never
  did gets None and the planner falls back to "stands on a charger node";
* the bays its own drives to a charger hold (:meth:`ChargingDesk.trips`);
* what to say when a robot low on charge gets no bay: an event and a log line when the
  reason changes, not every batch (:meth:`ChargingDesk.waiting`);
* which charged robots idling on a bay to move off it, so that a robot low on charge
  waiting for a bay gets one (:func:`bays_to_free`, said by :meth:`ChargingDesk.vacating`).

No bus, no clock: the dispatcher calls it with what it already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from controller.events import EventEmitter
from controller.fleet_plan import FleetPlanner, RobotView
from drivers.vda5050.messages import State
from missions.allocation import AllocationResult, ChargeDecision
from missions.site_graph import NO_GO_LEVEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Vacate:
    """Drive ``robot``, charged and idle on ``bay``, to ``to_node`` so ``waiting`` gets it."""

    robot: str
    bay: str
    to_node: str
    waiting: str


def bays_to_free(
    planner: FleetPlanner,
    robots: Sequence[RobotView],
    result: AllocationResult,
    charge_trips: Mapping[str, str],
) -> list[Vacate]:
    """For each robot of ``result`` low on charge that got no bay, lowest charge first: the
    bay, among those it may reach at its rating, nearest to it that a robot holds while
    idle (ready, no mission, not given one in ``result``, not driving to a charger) with
    at least its ``charge_to_pct``, and where to move that robot: the nearest node, in the
    graph of its rating, that is not a bay, lies in no no-go zone and in no zone needing
    clearance, preferring a node no robot stands on.  Robots still below
    ``charge_to_pct`` keep their bay.  Pure: the dispatcher sends the drives."""
    waiting = [d.robot for d in result.charging if d.charger_node is None]
    if not waiting:
        return []
    graph = planner.graph
    leaving = {a.robot for a in result.assignments} | {p.robot for p in result.preemptions}
    movable: dict[str, RobotView] = {}
    for v in robots:
        if (
            v.ready
            and v.running is None
            and v.node is not None
            and v.node in graph.index
            and planner.on_charger(v.node)
            and v.key not in leaving
            and v.key not in charge_trips
            and v.battery_pct >= planner.config(v.key).battery.charge_to_pct
        ):
            movable[v.node] = v
    if not movable:
        return []
    views = {v.key: v for v in robots}
    occupied = {v.node for v in robots if v.node is not None}
    out: list[Vacate] = []
    for key in sorted(waiting, key=lambda k: views[k].battery_pct if k in views else 0.0):
        view = views.get(key)
        if view is None or view.node is None or view.node not in graph.index or not movable:
            continue
        level = planner.rating(key).level
        bays = [b for b in movable if graph.node_level[graph.index[b]] <= level]
        dist = graph.distances([graph.index[view.node]], graph.indexes(bays), level)[0]
        for k in np.argsort(dist, kind="stable").tolist():
            if not np.isfinite(dist[k]):
                break
            holder = movable[bays[k]]
            to_node = _parking(planner, holder.key, bays[k], occupied)
            if to_node is None:
                continue
            out.append(Vacate(holder.key, bays[k], to_node, key))
            occupied.add(to_node)
            del movable[bays[k]]
            break
    return out


def _parking(planner: FleetPlanner, key: str, bay: str, occupied: set[str]) -> str | None:
    """The node nearest to ``bay`` that robot ``key`` may drive to and wait on (see
    :func:`bays_to_free`); None when there is none."""
    graph = planner.graph
    level = planner.rating(key).level
    dist = graph.distances([graph.index[bay]], np.arange(graph.n_nodes), level)[0]
    best: tuple[bool, float, str] | None = None
    for i in np.flatnonzero(np.isfinite(dist)).tolist():
        node = graph.node_ids[i]
        if (
            graph.node_level[i] > level
            or graph.node_level[i] >= NO_GO_LEVEL
            or planner.on_charger(node)
            or any(planner.needs_clearance(z) for z in graph.node_zones(node))
        ):
            continue
        rank = (node in occupied, float(dist[i]), node)
        if best is None or rank < best:
            best = rank
    return best[2] if best is not None else None


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

    def vacating(self, order: Vacate) -> None:
        """A charged robot is moved off its bay for a robot waiting for one."""
        text = (
            f"moved off charger bay {order.bay} to free it for {order.waiting} (to {order.to_node})"
        )
        log.warning("robot %s %s", order.robot, text)
        self._events.emit("charge", order.robot, text)

    def sent(self, key: str) -> None:
        """Robot ``key`` was sent to a bay: a later wait is news again."""
        self._waiting.pop(key, None)

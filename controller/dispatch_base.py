"""The dispatcher's shared state and the primitives every part of it uses.

:class:`DispatcherBase` declares, typed, every attribute of
:class:`controller.dispatcher.Dispatcher` (set in its ``__init__``), so the parts mixed
into it (:mod:`controller.allocating`, :mod:`controller.fleet_commands`,
:mod:`controller.robot_loss`, :mod:`controller.mission_tracking`) are checked against them;
the two methods they call that :class:`~controller.dispatcher.Dispatcher` itself defines
(``cancel``, ``_dispatch``) are declared here.  It owns the primitives they
all call: looking up a mission and its robot, changing and ending an outcome, noting why a
mission waits, putting a mission back in the queue, and instant actions (queued, then
resent until the robot reports them).
"""

from __future__ import annotations

import logging

from controller.charging import ChargingDesk
from controller.events import EventEmitter
from controller.fleet_plan import FleetPlanner
from controller.mission_record import Kind, Purpose, Sender, _due, _InstantRequest, _Mission
from controller.orders import build_instant_actions, instant_action
from controller.registry import Registry, RobotRecord
from drivers.errors import MissionError
from drivers.vda5050.messages import Order
from drivers.vda5050.topics import TopicName
from missions.mission import MissionAction, MissionOutcome, MissionSpec, MissionStep
from missions.site import SiteMap

# One logger for every part of the dispatcher, as before the split (log configuration and
# tests select "controller.dispatcher").
log = logging.getLogger("controller.dispatcher")


class DispatcherBase:
    """State and primitives shared by the dispatcher's parts (see the module docstring)."""

    _site: SiteMap
    _registry: Registry
    _sender: Sender
    _events: EventEmitter
    _resend_interval_s: float
    _lost_after_s: float
    _deviation_m: float
    _missions: dict[str, _Mission]
    _busy: dict[str, str]
    """robot key -> id of its DISPATCHED/ACTIVE mission"""
    _order_owner: dict[str, str]
    """orderId -> mission id"""
    _cleaned_orders: set[str]
    _instant: list[_InstantRequest]
    _instant_seq: int
    _lost_after_silent_s: float
    _planner: FleetPlanner
    _alloc_key: object
    _alloc_at_s: float | None
    _low_checked_at_s: float | None
    _charge_seq: int
    _charging: ChargingDesk
    _superseded: dict[str, tuple[str, Order, dict[str, MissionAction]]]
    """orderId of a run given up (requeued) -> (mission id, that order, its actions)"""
    runs_twice: list[str]
    """missions completed under two orders (must stay empty)"""
    _suspended: str | None
    """why allocation is suspended (the fleet was sent to the assembly zone); None: not"""

    def cancel(self, mission_id: str, now_s: float) -> None:
        """Implemented by :class:`controller.dispatcher.Dispatcher`."""
        raise NotImplementedError

    def _dispatch(self, m: _Mission, robot: RobotRecord, now_s: float) -> None:
        """Implemented by :class:`controller.dispatcher.Dispatcher`."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- internals

    def _own_drive(
        self, prefix: str, name: str, robot: RobotRecord, node: str, kind: Kind, now_s: float
    ) -> _Mission:
        """A drive of the dispatcher's own (to a charger, off a charger bay, to the safe
        assembly zone): one step to ``node``, id ``<prefix><serial>:<n>``, registered and
        returned for the caller to dispatch or leave to the next batch."""
        self._charge_seq += 1
        spec = MissionSpec(
            id=f"{prefix}{robot.serial}:{self._charge_seq}",
            name=name,
            robot=robot.serial,
            steps=[MissionStep(node=node)],
        )
        m = _Mission(spec, now_s, robot.key, kind=kind)
        self._missions[spec.id] = m
        return m

    def _mission(self, mission_id: str) -> _Mission:
        try:
            return self._missions[mission_id]
        except KeyError:
            raise MissionError(f"no mission {mission_id!r}") from None

    def _robot(self, m: _Mission) -> RobotRecord:
        assert m.robot_key is not None, "only missions with a robot reach here"
        robot = self._registry.get(m.robot_key)
        assert robot is not None, "robots are never removed from the registry"
        return robot

    def _set(self, m: _Mission, outcome: MissionOutcome, note: str) -> None:
        """Change the outcome; the event detail is ``"<outcome>: <note>"``."""
        m.outcome = outcome
        self._events.emit(m.kind, m.spec.id, f"{outcome.value}: {note}")

    def _end(self, m: _Mission, outcome: MissionOutcome, reason: str, now_s: float) -> None:
        m.reason = reason
        m.ended_at_s = now_s
        if m.robot_key is not None and self._busy.get(m.robot_key) == m.spec.id:
            del self._busy[m.robot_key]
        level = logging.INFO if outcome == MissionOutcome.COMPLETED else logging.WARNING
        log.log(level, "mission %s %s: %s", m.spec.id, outcome.value, reason)
        self._set(m, outcome, reason)

    def _note_waiting(self, m: _Mission, text: str) -> None:
        if m.waiting == text:
            return
        m.waiting = text
        log.log(
            logging.WARNING if text.startswith("unassignable") else logging.INFO,
            "mission %s: %s",
            m.spec.id,
            text,
        )
        self._events.emit(m.kind, m.spec.id, text)

    def _requeue(self, m: _Mission, note: str) -> None:
        """Back to PENDING, for the allocator to give to a robot again (a new order with
        a new orderId: the old one is cancelled on the robot if it ever runs it again)."""
        if m.robot_key is not None and self._busy.get(m.robot_key) == m.spec.id:
            del self._busy[m.robot_key]
        self._instant = [
            r
            for r in self._instant
            if not (r.mission_id == m.spec.id and r.purpose in ("cancel", "pause"))
        ]
        if m.full is not None:
            self._superseded[m.full.orderId] = (m.spec.id, m.full, dict(m.actions))
        if not m.pinned:
            m.robot_key = None
        m.order = m.full = None
        m.route = []
        m.horizon_at = m.held_zone = None
        m.update_acked = 0
        m.extend_due = False
        m.sent_at_s = m.last_sent_s = m.acknowledged_at_s = None
        m.sends = 0
        m.actions = {}
        m.action_status = {}
        m.action_results = {}
        m.nodes_done = 0
        m.cancel_requested = False
        m.cancel_action_id = None
        m.requeue_on_cancel = False
        m.errors_before = frozenset()
        m.warned_unacked = False
        m.reason = note
        self._alloc_key = None
        log.warning("mission %s back in the queue: %s", m.spec.id, note)
        self._set(m, MissionOutcome.PENDING, note)

    # -- instant actions

    def _queue_instant(
        self, robot: RobotRecord, action_type: str, purpose: Purpose, mission_id: str | None
    ) -> str:
        in_state = {a.actionId for a in robot.state.actionStates} if robot.state else set()
        prefix = mission_id or robot.serial
        while True:
            self._instant_seq += 1
            action_id = f"{prefix}:{action_type}:{self._instant_seq}"
            # An id the robot already reports (from before a controller restart) would
            # look acknowledged at once.
            if action_id not in in_state:
                break
        self._instant.append(
            _InstantRequest(robot.key, instant_action(action_type, action_id), purpose, mission_id)
        )
        log.info("robot %s: %s %s queued", robot.key, action_type, action_id)
        return action_id

    def _send_instant(self, now_s: float) -> None:
        keep = []
        for req in self._instant:
            m = self._missions.get(req.mission_id) if req.mission_id else None
            if m is not None and m.outcome.terminal and req.purpose in ("cancel", "pause"):
                continue  # nothing left to cancel or pause
            keep.append(req)
            robot = self._registry.get(req.robot_key)
            if robot is None or robot.availability != "online":
                continue
            if not _due(now_s, req.last_sent_s, self._resend_interval_s):
                continue
            env = self._sender.envelope(robot, TopicName.INSTANT_ACTIONS)
            self._sender.send(
                robot, TopicName.INSTANT_ACTIONS, build_instant_actions([req.action], env)
            )
            req.last_sent_s = now_s
            req.sends += 1
            log.log(
                logging.INFO if req.sends == 1 else logging.DEBUG,
                "robot %s: sent %s %s (send %d)",
                robot.key,
                req.action.actionType,
                req.action.actionId,
                req.sends,
            )
        self._instant = keep

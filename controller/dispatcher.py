"""The dispatcher: missions in, orders and instant actions out, outcomes from states.

Mission lifecycle (``missions.mission.MissionOutcome``)::

    PENDING ──dispatch──> DISPATCHED ──state echoes orderId+orderUpdateId──> ACTIVE
       │  ▲                   │                                              │
       │  └─ preempted or robot lost (allocated missions) ◄──────────────────┤
       │ cancel               ├─ rejection error ────────> FAILED            ├─> COMPLETED
       v                      ├─ cancelOrder answered ───> ABORTED           ├─> FAILED
    ABORTED                   └─ robot lost (pinned) ────> ABORTED           └─> ABORTED

* **Dispatch**: a pending mission pinned to a robot (``spec.robot``) goes to it when it is
  ready; the others are allocated in batches by :class:`controller.fleet_plan.FleetPlanner`
  (docs/allocation.md): capabilities, hazardous-area rating, battery, priorities,
  preemption and charging.  A batch runs when the missions waiting or the ready robots
  changed, or every ``reallocate_every_s`` while missions wait or a robot is low.  A
  mission no robot can take keeps its reason in ``MissionStatus.waiting`` and an event
  says it whenever it changes.  Routes keep to the robot's rating.  A robot is *ready*
  when it is online, state received, no mission of ours on it, no
  nodeStates/edgeStates, no action still WAITING/INITIALIZING/RUNNING/PAUSED, not paused,
  no FATAL error, and operatingMode AUTOMATIC or SEMIAUTOMATIC (in the other modes master
  control "doesn't send driving orders", section 6.10.6).  Missions go in submission order.
* **Acknowledgement**: orders are QoS 0, so an order is resent (new headerId and
  timestamp, same content) every ``resend_interval_s`` until a state echoes its orderId
  and orderUpdateId; a robot ignores a duplicate (section 6.6.4.3).  Nothing is resent to
  a robot that is not online.  Instant actions are resent until their actionId shows up
  in ``actionStates``.
* **Rejection**: the robot reports ``orderError``, ``validationError``,
  ``orderUpdateError`` or ``noRouteError`` (section 6.6.4).  An error whose
  ``errorReferences`` carry ``orderId`` is ours exactly when the value is our orderId.
  HEURISTIC for robots that send no orderId reference: while our order is not yet
  acknowledged, an unreferenced rejection error that was NOT in the robot's state when we
  first sent the order (compared by type, description and references) is taken as the
  rejection of our order.  The robot keeps reporting a rejection until it accepts a new
  order, so an error identical to one present before we sent cannot be told apart from
  the old one; in that case we keep resending and log a warning after
  ``_UNACKED_WARN_AFTER_SENDS`` sends rather than guess.
* **Completion**: once acknowledged, COMPLETED when nodeStates and edgeStates are empty,
  lastNodeId is the order's last node and all our actions are FINISHED; FAILED when the
  order ends with any of our actions FAILED, when a FATAL error appears, or when the robot
  stops reporting our orderId (it dropped the order).
* **Cancel**: instant action ``cancelOrder``; ABORTED when the robot reports it FINISHED
  (or FAILED with our order never accepted: it had nothing to cancel).  While a cancel is
  pending, order ends are not judged, because cancelling fails the remaining actions.
* **Preemption**: an emergency that takes a robot running a routine mission cancels that
  mission (``cancelOrder``); once the robot confirms, the routine mission is PENDING again
  (same mission, a new order id for its next run) and the robot, held meanwhile, gets the
  emergency.
* **Lost**: a robot whose connection is OFFLINE/CONNECTIONBROKEN (no state since), or that
  sent no state for ``lost_after_silent_s``, is lost for allocated missions: they go back
  to PENDING and are reassigned.  A mission pinned to a robot is ABORTED ("robot lost")
  when its robot stays offline/stale for ``lost_after_s`` (it cannot run elsewhere).
* **Charging**: an idle robot below its ``charge_below_pct`` gets an order to its nearest
  free charger bay (a dispatcher-internal mission, ``_charge:...``, not listed in
  ``statuses()``); with every bay taken it waits, and a ``charge`` event says why
  (:mod:`controller.charging`).  It is back in the pool at ``charge_to_pct``.  A robot
  charged to ``charge_to_pct`` and idle on the bay such a robot waits for is driven off
  it to the nearest node that is no bay (``_vacate:...``, also internal).
* **Orphans**: if a robot later reports that it is still executing the order of a mission
  we have already FAILED or ABORTED, or an order the mission no longer runs (a lost robot
  coming back after its mission was reassigned, a FATAL error cleared by hand), we send it
  ``cancelOrder`` once: the controller no longer supervises that order, so the robot must
  not carry on with it and nothing runs twice.

Modules: this one holds :class:`Dispatcher` (mission commands, state input, the periodic
tick, statuses, dispatch, order resends and updates); its parts are mixed in from
:mod:`controller.allocating` (readiness, allocation batches, drives to and off chargers),
:mod:`controller.fleet_commands` (stops, resume, assembly), :mod:`controller.robot_loss`
(lost robots, orphan orders, missions run twice) and :mod:`controller.mission_tracking`
(following a mission through the states), over the shared state and primitives of
:mod:`controller.dispatch_base`.  The records and pure helpers are in
:mod:`controller.mission_record`; the public ones are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from controller.allocating import Allocating
from controller.charging import ChargingDesk
from controller.dispatch_base import DispatcherBase
from controller.events import EventEmitter
from controller.fleet_commands import FleetCommands
from controller.fleet_plan import FleetPlanner
from controller.mission_record import (
    _FINISHED,
    _UNACKED_WARN_AFTER_SENDS,
    ASSEMBLE_PREFIX,
    CHARGE_PREFIX,
    REJECTION_ERROR_TYPES,
    RESERVED_PREFIX,
    VACATE_PREFIX,
    Kind,
    MissionStatus,
    Purpose,
    Sender,
    _due,
    _error_key,
    _InstantRequest,
    _Mission,
)
from controller.mission_tracking import MissionTracking
from controller.orders import (
    build_order,
    off_node_position,
    order_action_id,
    order_update,
    plan_route,
    resolve_start_node,
    without_horizon_actions,
)
from controller.registry import Registry, RobotRecord
from controller.robot_loss import RobotLoss
from drivers.errors import MissionError
from drivers.vda5050.messages import Order, State
from drivers.vda5050.topics import TopicName
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionAction, MissionOutcome, MissionSpec
from missions.site import SiteMap

__all__ = [
    "ASSEMBLE_PREFIX",
    "CHARGE_PREFIX",
    "REJECTION_ERROR_TYPES",
    "RESERVED_PREFIX",
    "VACATE_PREFIX",
    "Dispatcher",
    "Kind",
    "MissionStatus",
    "Purpose",
    "Sender",
]

log = logging.getLogger(__name__)


class Dispatcher(Allocating, FleetCommands, RobotLoss, MissionTracking, DispatcherBase):
    """Turns missions into orders and follows them through the robots' states."""

    def __init__(
        self,
        site: SiteMap,
        registry: Registry,
        sender: Sender,
        events: EventEmitter,
        *,
        resend_interval_s: float,
        lost_after_s: float,
        allowed_deviation_xy_m: float,
        lost_after_silent_s: float = 5.0,
        planner: FleetPlanner | None = None,
    ) -> None:
        """``lost_after_s``: a robot offline or stale this long loses a mission pinned to
        it (ABORTED).  ``lost_after_silent_s``: a robot whose connection is
        OFFLINE/CONNECTIONBROKEN, or that sent no state for this long, is lost for the
        missions the allocator gave it: they go back to the queue and run elsewhere."""
        if (
            resend_interval_s <= 0
            or lost_after_s <= 0
            or lost_after_silent_s <= 0
            or allowed_deviation_xy_m < 0
        ):
            raise ValueError(
                "resend_interval_s, lost_after_s and lost_after_silent_s must be positive "
                "and allowed_deviation_xy_m non-negative"
            )
        self._site = site
        self._registry = registry
        self._sender = sender
        self._events = events
        self._resend_interval_s = resend_interval_s
        self._lost_after_s = lost_after_s
        self._deviation_m = allowed_deviation_xy_m
        self._missions: dict[str, _Mission] = {}
        self._busy: dict[str, str] = {}  # robot key -> id of its DISPATCHED/ACTIVE mission
        self._order_owner: dict[str, str] = {}  # orderId -> mission id
        self._cleaned_orders: set[str] = set()
        self._instant: list[_InstantRequest] = []
        self._instant_seq = 0
        self._lost_after_silent_s = lost_after_silent_s
        self._planner = planner if planner is not None else FleetPlanner(site, FleetPlanSettings())
        self._alloc_key: object = None
        self._alloc_at_s: float | None = None
        self._low_checked_at_s: float | None = None
        self._charge_seq = 0
        self._charging = ChargingDesk(events)
        self._superseded: dict[str, tuple[str, Order, dict[str, MissionAction]]] = {}
        """orderId of a run given up (requeued) -> (mission id, that order, its actions)"""
        self.runs_twice: list[str] = []
        """missions completed under two orders (must stay empty)"""
        self._suspended: str | None = None
        """why allocation is suspended (the fleet was sent to the assembly zone); None: not"""

    # ----------------------------------------------------------------------- commands

    def submit(self, spec: MissionSpec, now_s: float) -> None:
        """Accept a mission (PENDING).

        Raises:
            MissionError: duplicate id, unknown step node, no route between steps, or a
                robot that is not in the fleet.
        """
        if spec.id in self._missions:
            raise MissionError(f"mission {spec.id!r} already exists")
        if spec.id.startswith(RESERVED_PREFIX):
            raise MissionError(f"mission {spec.id!r}: ids starting with '_' are reserved")
        # Checks the steps' nodes and the legs between them; the leg from the robot's
        # position is only known at dispatch.
        plan_route(spec, self._site, spec.steps[0].node)
        robot_key = None
        if spec.robot is not None:
            matches = self._registry.by_serial(spec.robot)
            if not matches:
                raise MissionError(f"mission {spec.id!r}: robot {spec.robot!r} is not in the fleet")
            if len(matches) > 1:
                keys = ", ".join(r.key for r in matches)
                raise MissionError(
                    f"mission {spec.id!r}: serial {spec.robot!r} is ambiguous ({keys})"
                )
            robot_key = matches[0].key
        self._missions[spec.id] = _Mission(spec, now_s, robot_key, cleared=set(spec.cleared_zones))
        log.info(
            "mission %s (%s) accepted for %s",
            spec.id,
            spec.priority.value,
            spec.robot or "any capable robot",
        )
        self._events.emit("mission", spec.id, f"{MissionOutcome.PENDING.value}: accepted")

    def cancel(self, mission_id: str, now_s: float) -> None:
        """Cancel: at once if not yet sent, else via cancelOrder (ABORTED once confirmed).

        Raises:
            MissionError: unknown mission, or one that has already ended.
        """
        m = self._mission(mission_id)
        if m.outcome.terminal:
            raise MissionError(f"mission {mission_id!r} has already ended ({m.outcome.value})")
        if m.outcome == MissionOutcome.PENDING:
            self._end(m, MissionOutcome.ABORTED, "cancelled before dispatch", now_s)
            return
        if m.requeue_on_cancel:
            m.requeue_on_cancel = False  # the user's cancel wins over the preemption's requeue
            log.info("mission %s: cancel by the user; it will not be requeued", mission_id)
            return
        if m.cancel_requested:
            log.info("mission %s: cancel already requested", mission_id)
            return
        m.cancel_requested = True  # also stops order resends
        robot = self._robot(m)
        m.cancel_action_id = self._queue_instant(robot, "cancelOrder", "cancel", mission_id)
        self._events.emit("mission", mission_id, "cancel requested")

    def pause(self, mission_id: str) -> None:
        """Send startPause to the mission's robot.

        Raises:
            MissionError: unknown mission, or one that is not running.
        """
        m = self._mission(mission_id)
        if not m.running:
            raise MissionError(f"mission {mission_id!r} is {m.outcome.value}, not running")
        self._queue_instant(self._robot(m), "startPause", "pause", mission_id)

    def resume(self, mission_id: str) -> None:
        """Send stopPause to the mission's robot (also after the mission ended, as long as
        the robot has not been given another mission, so a paused robot can be released).

        Raises:
            MissionError: unknown mission, never sent, or its robot now runs another one.
        """
        m = self._mission(mission_id)
        if m.robot_key is None or m.order is None:
            raise MissionError(f"mission {mission_id!r} was never sent to a robot")
        busy_with = self._busy.get(m.robot_key)
        if busy_with is not None and busy_with != mission_id:
            raise MissionError(
                f"robot {m.robot_key} now runs mission {busy_with!r}; resume that one"
            )
        self._queue_instant(self._robot(m), "stopPause", "resume", mission_id)

    def clear(self, mission_id: str, zones: Iterable[str] | None = None) -> list[str]:
        """An operator's clearance for the mission to enter ``zones`` (None: the zone its
        order waits at now).  The order's horizon is released up to the next zone still
        waiting, by an order update, as soon as the robot has acknowledged the order.
        Returns the zones newly cleared.

        Raises:
            MissionError: unknown or ended mission, a zone not on the site, or None while
                the mission waits at no zone.
        """
        m = self._mission(mission_id)
        if m.outcome.terminal:
            raise MissionError(f"mission {mission_id!r} has already ended ({m.outcome.value})")
        if zones is None:
            if m.held_zone is None:
                raise MissionError(f"mission {mission_id!r} waits for no clearance")
            wanted = [m.held_zone]
        else:
            wanted = list(zones)
            known = {z.id for z in self._site.zones}
            unknown = [z for z in wanted if z not in known]
            if unknown:
                raise MissionError(
                    f"zones: no zone {', '.join(map(repr, unknown))} on site {self._site.map_id!r}"
                )
        new = [z for z in dict.fromkeys(wanted) if z not in m.cleared]
        m.cleared.update(new)
        if new:
            m.extend_due = m.horizon_at is not None
            log.info("mission %s: cleared to enter %s", mission_id, ", ".join(new))
            self._events.emit(m.kind, mission_id, f"cleared: {', '.join(new)}")
        return new

    def request_factsheet(self, robot: RobotRecord) -> None:
        self._queue_instant(robot, "factsheetRequest", "factsheet", None)

    # ----------------------------------------------------------------------- input

    def on_state(self, robot: RobotRecord, state: State, now_s: float) -> None:
        """Follow one state message of ``robot`` (already stored in the registry)."""
        self._charging.note_state(robot.key, state)
        seen = {a.actionId for a in state.actionStates}
        for req in [r for r in self._instant if r.robot_key == robot.key]:
            if req.action.actionId in seen:
                self._instant.remove(req)
                log.info(
                    "robot %s acknowledged %s %s",
                    robot.key,
                    req.action.actionType,
                    req.action.actionId,
                )
        mission_id = self._busy.get(robot.key)
        if mission_id is not None:
            self._track(self._missions[mission_id], robot, state, now_s)
        self._clean_orphan(robot, state)
        self._check_twice(robot, state, now_s)

    def on_factsheet(self, robot: RobotRecord) -> None:
        """A factsheet arrived: it answers any factsheetRequest still being resent."""
        self._alloc_key = None  # capabilities may have changed: allocate again
        self._instant = [
            r for r in self._instant if not (r.robot_key == robot.key and r.purpose == "factsheet")
        ]

    # ----------------------------------------------------------------------- periodic

    def tick(self, now_s: float) -> None:
        """Lost checks, dispatch, resends.  ``now_s`` is clock.monotonic()."""
        self._check_lost(now_s)
        self._dispatch_pending(now_s)
        self._extend_cleared(now_s)
        self._resend_orders(now_s)
        self._send_instant(now_s)

    # ----------------------------------------------------------------------- output

    def all_terminal(self) -> bool:
        """True when every mission submitted so far has ended (cheap: no statuses)."""
        return all(m.outcome.terminal for m in self._missions.values() if m.kind == "mission")

    def statuses(self) -> list[MissionStatus]:
        out = []
        for m in self._missions.values():
            if m.kind != "mission":
                continue
            robot = self._registry.get(m.robot_key) if m.robot_key else None
            out.append(
                MissionStatus(
                    id=m.spec.id,
                    robot=robot.serial if robot is not None else None,
                    outcome=m.outcome,
                    order_id=m.order_id,
                    order_update_id=m.order.orderUpdateId if m.order is not None else None,
                    nodes_done=m.nodes_done,
                    nodes_total=len(m.full.nodes) if m.full is not None else 0,
                    actions_finished=list(m.action_status.values()).count(_FINISHED),
                    actions_total=m.actions_total,
                    reason=m.reason,
                    waiting=m.waiting,
                    priority=m.spec.priority.value,
                    runs=m.runs,
                    action_results=dict(m.action_results),
                    accepted_at_s=m.accepted_at_s,
                    sent_at_s=m.sent_at_s,
                    acknowledged_at_s=m.acknowledged_at_s,
                    ended_at_s=m.ended_at_s,
                )
            )
        return out

    # ----------------------------------------------------------------------- internals

    # -- dispatch

    def _dispatch_pending(self, now_s: float) -> None:
        free: list[_Mission] = []
        for m in list(self._missions.values()):
            if m.outcome != MissionOutcome.PENDING:
                continue
            if m.robot_key is None:
                free.append(m)
                continue
            # pinned by its spec, a charge trip, or held for an emergency by a preemption
            robot = self._robot(m)
            if self._not_ready_because(robot) is None:
                self._dispatch(m, robot, now_s)
        self._allocate(free, now_s)

    def _dispatch(self, m: _Mission, robot: RobotRecord, now_s: float) -> None:
        state = robot.state
        assert state is not None, "ready robots have a state"
        m.robot_key = robot.key
        if robot.factsheet_actions is not None and not m.action_types <= set(
            robot.factsheet_actions
        ):
            missing = sorted(m.action_types - set(robot.factsheet_actions))
            log.warning(
                "mission %s: robot %s does not list %s in its factsheet; sending anyway",
                m.spec.id,
                robot.key,
                ", ".join(missing),
            )
        n = m.dispatches + 1
        # A robot ignores an order whose id and update id equal its current one (6.6.4.3),
        # e.g. after a controller restart; never reuse the id the robot still holds.
        while f"{m.spec.id}-{n}" == state.orderId or f"{m.spec.id}-{n}" in self._order_owner:
            n += 1
        order_id = f"{m.spec.id}-{n}"
        # Routes keep to the robot's hazardous-area rating (docs/allocation.md).  A mission
        # pinned to a robot the fleet configuration does not describe keeps the zone-blind
        # route: the officer chose that robot, and no rating is known to hold it to.
        zone_blind = m.kind == "mission" and m.pinned and not self._planner.configured(robot.key)
        path = None if zone_blind else self._planner.path_fn(robot.key)
        try:
            start = resolve_start_node(
                self._site, state.lastNodeId, state.agvPosition, self._deviation_m
            )
            # fail before a headerId is used up
            route, _ = plan_route(m.spec, self._site, start, path)
            gate = self._planner.gate(route, m.cleared)
            rejoin = off_node_position(self._site, start, state.agvPosition, self._deviation_m)
            env = self._sender.envelope(robot, TopicName.ORDER)
            order = build_order(
                m.spec,
                self._site,
                start,
                order_id,
                version=env.version,
                manufacturer=env.manufacturer,
                serial=env.serial,
                header_id=env.header_id,
                timestamp=env.timestamp,
                allowed_deviation_xy_m=self._deviation_m,
                rejoin_from=rejoin,
                path=path,
                horizon_from=gate[0] if gate is not None else None,
            )
        except MissionError as exc:
            self._end(m, MissionOutcome.FAILED, f"cannot plan for robot {robot.key}: {exc}", now_s)
            return
        m.dispatches = n
        m.runs += 1
        m.full = order
        m.order = order = without_horizon_actions(order)
        m.route = route
        m.offset = 0 if rejoin is None else 1
        m.horizon_at = None if gate is None else gate[0] + m.offset
        m.held_zone = None if gate is None else gate[1]
        m.update_acked = 0
        m.extend_due = False
        m.actions = {
            order_action_id(order_id, step_no, i): action
            for step_no, step in enumerate(m.spec.steps)
            for i, action in enumerate(step.actions)
        }
        m.errors_before = frozenset(
            _error_key(e) for e in state.errors if e.errorType in REJECTION_ERROR_TYPES
        )
        self._order_owner[order_id] = m.spec.id
        self._busy[robot.key] = m.spec.id
        self._sender.send(robot, TopicName.ORDER, order)
        m.sent_at_s = m.last_sent_s = now_s
        m.sends = 1
        log.info(
            "mission %s: order %s to %s from %s (%d nodes, %d actions)",
            m.spec.id,
            order_id,
            robot.key,
            start,
            len(order.nodes),
            len(m.actions),
        )
        self._set(m, MissionOutcome.DISPATCHED, f"order {order_id} sent to {robot.key}")
        if gate is not None:
            self._note_waiting(
                m, f"waiting (clearance): zone {gate[1]} from node {route[gate[0] - 1]}"
            )

    def _resend_orders(self, now_s: float) -> None:
        for m in self._missions.values():
            if m.cancel_requested or m.order is None:
                continue
            if m.outcome != MissionOutcome.DISPATCHED and not (
                m.outcome == MissionOutcome.ACTIVE and m.update_acked < m.order.orderUpdateId
            ):
                continue
            robot = self._robot(m)
            if robot.availability != "online" or not _due(
                now_s, m.last_sent_s, self._resend_interval_s
            ):
                continue
            env = self._sender.envelope(robot, TopicName.ORDER)
            m.order = m.order.model_copy(
                update={
                    "headerId": env.header_id,
                    "timestamp": env.timestamp,
                    "version": env.version,
                }
            )
            self._sender.send(robot, TopicName.ORDER, m.order)
            m.last_sent_s = now_s
            m.sends += 1
            log.debug("mission %s: resent order %s (send %d)", m.spec.id, m.order_id, m.sends)
            if m.sends >= _UNACKED_WARN_AFTER_SENDS and not m.warned_unacked:
                m.warned_unacked = True
                pending = [
                    f"{e.errorType}: {e.errorDescription}"
                    for e in (robot.state.errors if robot.state else [])
                    if e.errorType in REJECTION_ERROR_TYPES
                ]
                log.warning(
                    "mission %s: robot %s has not acknowledged order %s after %d sends%s",
                    m.spec.id,
                    robot.key,
                    m.order_id,
                    m.sends,
                    f"; it reports {'; '.join(pending)}" if pending else "",
                )

    def _extend_cleared(self, now_s: float) -> None:
        """Release the horizon of missions cleared since (VDA 5050 6.6.2: same orderId,
        orderUpdateId + 1, the update starts at the current base end)."""
        for m in self._missions.values():
            if not m.extend_due or m.full is None or m.order is None or m.horizon_at is None:
                continue
            if m.outcome != MissionOutcome.ACTIVE or m.cancel_requested:
                continue  # an update only continues an order the robot holds
            if m.update_acked < m.order.orderUpdateId:
                continue  # one update in flight at a time
            robot = self._robot(m)
            if robot.availability != "online":
                continue
            m.extend_due = False
            stitch = m.horizon_at - 1
            gate = self._planner.gate(m.route, m.cleared, start=stitch - m.offset)
            horizon = None if gate is None else gate[0] + m.offset
            if horizon == m.horizon_at:
                continue
            env = self._sender.envelope(robot, TopicName.ORDER)
            update = without_horizon_actions(order_update(m.full, stitch, horizon, env))
            m.full = m.full.model_copy(update={"orderUpdateId": update.orderUpdateId})
            m.order = update
            m.horizon_at = horizon
            m.held_zone = None if gate is None else gate[1]
            state = robot.state
            m.errors_before = frozenset(
                _error_key(e)
                for e in (state.errors if state is not None else [])
                if e.errorType in REJECTION_ERROR_TYPES
            )
            self._sender.send(robot, TopicName.ORDER, update)
            m.last_sent_s = now_s
            m.sends = 1
            m.warned_unacked = False
            until = m.full.nodes[-1 if horizon is None else horizon - 1].nodeId
            log.info(
                "mission %s: order update %s/%d releases the route up to %s",
                m.spec.id,
                update.orderId,
                update.orderUpdateId,
                until,
            )
            self._events.emit(
                m.kind,
                m.spec.id,
                f"extended: order {update.orderId} update {update.orderUpdateId} "
                f"releases the route up to node {until}",
            )
            if gate is None:
                m.waiting = None
            else:
                self._note_waiting(
                    m, f"waiting (clearance): zone {gate[1]} from node {m.route[gate[0] - 1]}"
                )

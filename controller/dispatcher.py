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
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from controller.charging import ChargingDesk, Vacate, bays_to_free
from controller.events import EventEmitter
from controller.fleet_plan import FleetPlanner, RobotView
from controller.orders import (
    build_instant_actions,
    build_order,
    instant_action,
    off_node_position,
    order_action_id,
    order_update,
    plan_route,
    resolve_start_node,
    without_horizon_actions,
)
from controller.registry import Registry, RobotRecord
from drivers.errors import MissionError
from drivers.vda5050.codec import Envelope
from drivers.vda5050.messages import (
    Action,
    ActionStatus,
    Error,
    ErrorLevel,
    OperatingMode,
    Order,
    State,
    VdaMessage,
)
from drivers.vda5050.topics import TopicName
from missions.allocation import AllocationResult
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionAction, MissionOutcome, MissionSpec, MissionStep
from missions.site import SiteMap

log = logging.getLogger(__name__)

REJECTION_ERROR_TYPES = frozenset(
    {"orderError", "validationError", "orderUpdateError", "noRouteError"}
)
_TERMINAL_ACTION = frozenset({ActionStatus.FINISHED, ActionStatus.FAILED})
_FINISHED = ActionStatus.FINISHED
_CONTROLLABLE_MODES = frozenset({OperatingMode.AUTOMATIC, OperatingMode.SEMIAUTOMATIC})
# FakeClock ticks of 0.1 s add up to 0.9999999...; without slack a 1 s resend slips a tick.
_EPSILON_S = 1e-6
_UNACKED_WARN_AFTER_SENDS = 10

Purpose = Literal["cancel", "pause", "resume", "factsheet", "cleanup", "stop", "release"]
Kind = Literal["mission", "charge", "fleet"]
"""a mission; a drive to a charger or off a charger bay; a drive to the safe assembly
zone"""
CHARGE_PREFIX = "_charge:"
"""ids of the dispatcher's own drives to a charger (never a user's mission id)"""
VACATE_PREFIX = "_vacate:"
"""ids of its drives off a charger bay, to free the bay (kind ``charge`` too)"""
RESERVED_PREFIX = "_"
"""no user mission id starts with it: the dispatcher's own drives do (above)"""
ASSEMBLE_PREFIX = "_assemble:"
"""ids of its drives to the safe assembly zone"""
_ErrorKey = tuple[str, str | None, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class MissionStatus:
    """A snapshot of one mission.  Times are clock.monotonic() seconds."""

    id: str
    robot: str | None
    """serial number of the robot (fixed or assigned at dispatch)"""
    outcome: MissionOutcome
    order_id: str | None
    order_update_id: int | None
    nodes_done: int
    nodes_total: int
    actions_finished: int
    actions_total: int
    reason: str | None
    """why it ended (terminal), or why it went back to the queue"""
    action_results: dict[str, str]
    """actionId -> resultDescription, for our actions that reported one"""
    accepted_at_s: float
    sent_at_s: float | None
    acknowledged_at_s: float | None
    ended_at_s: float | None
    waiting: str | None = None
    """while pending without a robot: ``"<waiting|unassignable> (<code>): <sentence>"``
    from the allocator (docs/allocation.md, "Reasons")"""
    priority: str = "routine"
    runs: int = 0
    """orders sent for it so far (a preempted or reassigned mission runs again)"""


class Sender(Protocol):
    """How the dispatcher gets messages out (implemented by the Controller)."""

    def envelope(self, robot: RobotRecord, topic: TopicName) -> Envelope:
        """Header fields for the next message on ``topic`` to ``robot`` (advances headerId)."""

    def send(self, robot: RobotRecord, topic: TopicName, message: VdaMessage) -> None:
        """Publish ``message`` on the robot's ``topic`` with that topic's QoS/retain."""


@dataclass
class _InstantRequest:
    robot_key: str
    action: Action
    purpose: Purpose
    mission_id: str | None
    last_sent_s: float | None = None
    sends: int = 0


@dataclass
class _Mission:
    spec: MissionSpec
    accepted_at_s: float
    robot_key: str | None
    """fixed at submit when the spec names a robot, else set at dispatch"""
    outcome: MissionOutcome = MissionOutcome.PENDING
    order: Order | None = None
    dispatches: int = 0
    sent_at_s: float | None = None
    last_sent_s: float | None = None
    sends: int = 0
    acknowledged_at_s: float | None = None
    ended_at_s: float | None = None
    reason: str | None = None
    actions: dict[str, MissionAction] = field(default_factory=dict)
    """our actionIds in order -> the mission action"""
    action_status: dict[str, ActionStatus] = field(default_factory=dict)
    action_results: dict[str, str] = field(default_factory=dict)
    nodes_done: int = 0
    cancel_requested: bool = False
    cancel_action_id: str | None = None
    errors_before: frozenset[_ErrorKey] = frozenset()
    warned_unacked: bool = False
    kind: Kind = "mission"
    waiting: str | None = None
    requeue_on_cancel: bool = False
    """the cancel is a preemption's: ABORTED becomes PENDING again"""
    cancel_note: str = "cancelled"
    """the reason recorded when the cancel is confirmed"""
    runs: int = 0
    cleared: set[str] = field(default_factory=set)
    """zones it may enter without waiting (its permit's, and the operator's clearances)"""
    full: Order | None = None
    """the whole order (every node, the orderUpdateId last sent); ``order`` is the last
    message, an update holding only the nodes from the stitching node on"""
    route: list[str] = field(default_factory=list)
    """site nodes of the order from its start (without a rejoin node)"""
    offset: int = 0
    """1 when the order starts with a rejoin node, else 0"""
    horizon_at: int | None = None
    """index in ``full.nodes`` of the first node not released; None: all released"""
    held_zone: str | None = None
    """the zone whose clearance the horizon waits for"""
    update_acked: int = 0
    """highest orderUpdateId the robot has echoed"""
    extend_due: bool = False

    @property
    def to_charger(self) -> bool:
        """an unfinished drive of ours to a charger bay"""
        return (
            self.kind == "charge"
            and self.spec.id.startswith(CHARGE_PREFIX)
            and not self.outcome.terminal
        )

    @property
    def pinned(self) -> bool:
        """the spec names its robot: never reassigned"""
        return self.spec.robot is not None

    @property
    def order_id(self) -> str | None:
        return self.order.orderId if self.order is not None else None

    @property
    def running(self) -> bool:
        return self.outcome in (MissionOutcome.DISPATCHED, MissionOutcome.ACTIVE)

    @functools.cached_property
    def actions_total(self) -> int:
        return sum(len(step.actions) for step in self.spec.steps)

    @property
    def action_types(self) -> set[str]:
        return {a.type for step in self.spec.steps for a in step.actions}


def _error_key(e: Error) -> _ErrorKey:
    refs = tuple((r.referenceKey, r.referenceValue) for r in e.errorReferences)
    return (e.errorType, e.errorDescription, refs)


def _due(now_s: float, last_s: float | None, interval_s: float) -> bool:
    return last_s is None or now_s - last_s >= interval_s - _EPSILON_S


class Dispatcher:
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
            self._charge_seq += 1
            spec = MissionSpec(
                id=f"{ASSEMBLE_PREFIX}{robot.serial}:{self._charge_seq}",
                name=f"assemble {robot.key}",
                robot=robot.serial,
                steps=[MissionStep(node=node)],
            )
            self._missions[spec.id] = _Mission(spec, now_s, robot.key, kind="fleet")
        for m in self._missions.values():
            if m.outcome == MissionOutcome.PENDING and m.kind == "mission" and not m.pinned:
                m.robot_key = None  # held robots are released: allocation is suspended
        log.warning("assemble: %s", out)
        self._events.emit("fleet", "fleet", f"assemble: {len(out)} robot(s) to the assembly zone")
        return out

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

    def _check_twice(self, robot: RobotRecord, state: State, now_s: float) -> None:
        """A robot reports that it finished an order we gave up (it lost its link, was
        reassigned, and worked on before its fail-safe pause).  The mission's work is done:
        if its new run has not completed, that run is cancelled and the mission completes
        with the late robot's results; if it has, the mission ran twice, which is recorded
        in :attr:`runs_twice` and logged as an error."""
        given_up = self._superseded.get(state.orderId)
        if given_up is None or state.nodeStates or state.edgeStates:
            return
        mission_id, order, actions = given_up
        finished = {a.actionId for a in state.actionStates if a.actionStatus == _FINISHED}
        if state.lastNodeId != order.nodes[-1].nodeId or not set(actions) <= finished:
            return
        del self._superseded[state.orderId]
        m = self._missions[mission_id]
        if m.outcome == MissionOutcome.COMPLETED:
            text = f"mission {mission_id}: robot {robot.key} also completed order {order.orderId}"
            log.error("%s, which had been given up: the mission ran twice", text)
            self.runs_twice.append(text)
            self._events.emit(m.kind, mission_id, f"ran twice: {text}")
            return
        if m.outcome.terminal:
            return  # cancelled or failed meanwhile: the late work changes nothing
        rerun = m.order_id
        if m.running and m.robot_key is not None:
            other = self._robot(m)
            if self._busy.get(other.key) == mission_id:
                del self._busy[other.key]
            if rerun is not None:
                self._cleaned_orders.add(rerun)
            self._queue_instant(other, "cancelOrder", "cleanup", None)
        m.order = m.full = order
        m.actions = actions
        m.action_results = {
            a.actionId: a.resultDescription
            for a in state.actionStates
            if a.actionId in actions and a.resultDescription is not None
        }
        m.action_status = {aid: _FINISHED for aid in actions}
        m.nodes_done = len(order.nodes)
        m.robot_key = robot.key
        m.waiting = None
        note = f"completed by {robot.key} under order {order.orderId} after it came back"
        if rerun is not None:
            note += f"; the rerun {rerun} was cancelled"
        self._end(m, MissionOutcome.COMPLETED, note, now_s)

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

    # -- readiness and dispatch

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

    def _send_to_charger(
        self, robot: RobotRecord, charger_node: str, ready_in_s: float, now_s: float
    ) -> None:
        self._charge_seq += 1
        spec = MissionSpec(
            id=f"{CHARGE_PREFIX}{robot.serial}:{self._charge_seq}",
            name=f"charge {robot.key}",
            robot=robot.serial,
            steps=[MissionStep(node=charger_node)],
        )
        m = _Mission(spec, now_s, robot.key, kind="charge")
        self._missions[spec.id] = m
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
        self._charge_seq += 1
        spec = MissionSpec(
            id=f"{VACATE_PREFIX}{robot.serial}:{self._charge_seq}",
            name=f"free charger bay {order.bay}",
            robot=robot.serial,
            steps=[MissionStep(node=order.to_node)],
        )
        m = _Mission(spec, now_s, robot.key, kind="charge")
        self._missions[spec.id] = m
        self._charging.vacating(order)
        self._dispatch(m, robot, now_s)

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

    # -- following a mission through the states

    def _lost_because(self, robot: RobotRecord, now_s: float) -> str | None:
        """Why ``robot`` counts as lost for the missions the allocator gave it, or None:
        its connection says OFFLINE/CONNECTIONBROKEN (and no state came since), or no
        state for ``lost_after_silent_s``."""
        if robot.availability == "offline":
            conn = robot.connection.value if robot.connection is not None else "OFFLINE"
            return f"connection {conn}"
        heard = robot.last_state_at_s
        if heard is not None and now_s - heard >= self._lost_after_silent_s - _EPSILON_S:
            return f"no state for {now_s - heard:.1f} s"
        return None

    def _check_lost(self, now_s: float) -> None:
        for m in list(self._missions.values()):
            if m.outcome == MissionOutcome.PENDING:
                if m.robot_key is not None and not m.pinned and m.kind == "mission":
                    # held for an emergency by a preemption: let it go if the robot is lost
                    why = self._lost_because(self._robot(m), now_s)
                    if why is not None:
                        m.robot_key = None
                        self._note_waiting(m, f"waiting: robot lost ({why}); allocating again")
                continue
            if not m.running:
                continue
            robot = self._robot(m)
            if not m.pinned or m.kind != "mission":
                why = self._lost_because(robot, now_s)
                if why is None:
                    continue
                if m.kind != "mission":
                    self._end(m, MissionOutcome.ABORTED, f"robot lost: {why}", now_s)
                else:
                    self._requeue(m, f"robot {robot.key} lost ({why}); reassigning")
                continue
            since = robot.unavailable_since_s
            if robot.availability in ("offline", "stale") and since is not None:
                away_s = now_s - since
                if away_s >= self._lost_after_s - _EPSILON_S:
                    self._end(
                        m,
                        MissionOutcome.ABORTED,
                        f"robot lost: {robot.availability} for {away_s:.1f} s",
                        now_s,
                    )

    def _track(self, m: _Mission, robot: RobotRecord, state: State, now_s: float) -> None:
        assert m.order is not None
        ours = state.orderId == m.order.orderId
        if ours:
            m.update_acked = max(m.update_acked, state.orderUpdateId)
        if m.outcome == MissionOutcome.DISPATCHED:
            if ours and state.orderUpdateId == m.order.orderUpdateId:
                m.acknowledged_at_s = now_s
                self._set(m, MissionOutcome.ACTIVE, f"acknowledged by {robot.key}")
            else:
                self._track_unacknowledged(m, state, now_s)
                return
        if ours and m.update_acked < m.order.orderUpdateId:
            rejection = self._rejection(m, state)
            if rejection is not None:
                self._end(m, MissionOutcome.FAILED, f"update rejected by robot: {rejection}", now_s)
                return
        if not ours:
            self._end(
                m,
                MissionOutcome.FAILED,
                f"robot dropped the order: it reports orderId {state.orderId!r}",
                now_s,
            )
            return
        self._update_progress(m, state)
        if m.cancel_action_id is not None:
            cancel = self._action_status(state, m.cancel_action_id)
            if cancel == ActionStatus.FINISHED:
                if m.requeue_on_cancel:
                    self._requeue(m, f"displaced from {robot.key} by an emergency mission")
                else:
                    self._end(m, MissionOutcome.ABORTED, m.cancel_note, now_s)
                return
            if cancel == ActionStatus.FAILED:
                # The robot could not cancel (or its order had already ended): judge the
                # order on its own from here.
                m.cancel_action_id = None
                m.cancel_requested = False
                log.warning("mission %s: robot %s refused cancelOrder", m.spec.id, robot.key)
                self._events.emit("mission", m.spec.id, "cancel refused by robot")
        fatal = [e for e in state.errors if e.errorLevel == ErrorLevel.FATAL]
        if fatal:
            self._end(m, MissionOutcome.FAILED, f"robot fatal error: {_describe(fatal)}", now_s)
            return
        if m.cancel_action_id is None:
            self._judge_end(m, state, now_s)

    def _track_unacknowledged(self, m: _Mission, state: State, now_s: float) -> None:
        rejection = self._rejection(m, state)
        if rejection is not None:
            self._end(m, MissionOutcome.FAILED, f"rejected by robot: {rejection}", now_s)
            return
        if m.cancel_action_id is not None:
            cancel = self._action_status(state, m.cancel_action_id)
            if cancel is not None and cancel in _TERMINAL_ACTION:
                # FAILED means it had no order to cancel: ours never arrived (and is no
                # longer resent).  Should it arrive late, _clean_orphan cancels it.
                if m.requeue_on_cancel:
                    self._requeue(m, "displaced by an emergency mission before it started")
                else:
                    self._end(
                        m, MissionOutcome.ABORTED, "cancelled before the robot accepted it", now_s
                    )
                return
        fatal = [e for e in state.errors if e.errorLevel == ErrorLevel.FATAL]
        if fatal:
            self._end(m, MissionOutcome.FAILED, f"robot fatal error: {_describe(fatal)}", now_s)

    def _rejection(self, m: _Mission, state: State) -> str | None:
        for e in state.errors:
            if e.errorType not in REJECTION_ERROR_TYPES:
                continue
            order_refs = [
                r.referenceValue for r in e.errorReferences if r.referenceKey == "orderId"
            ]
            if order_refs:
                if m.order_id in order_refs:
                    return _describe([e])
                continue  # about some other order
            if _error_key(e) not in m.errors_before:
                log.info(
                    "mission %s: attributing unreferenced %s to order %s (new since sent)",
                    m.spec.id,
                    e.errorType,
                    m.order_id,
                )
                return _describe([e])
        return None

    def _update_progress(self, m: _Mission, state: State) -> None:
        assert m.full is not None
        nodes = m.full.nodes
        total = len(nodes)
        done = 0
        seq = state.lastNodeSequenceId
        if seq % 2 == 0 and seq // 2 < total and nodes[seq // 2].nodeId == state.lastNodeId:
            done = seq // 2 + 1
        if state.nodeStates:
            # Only while the order runs: a cancelled order also has no nodeStates left.
            done = max(done, total - len(state.nodeStates))
        m.nodes_done = max(m.nodes_done, min(done, total))
        for a in state.actionStates:
            if a.actionId in m.actions:
                m.action_status[a.actionId] = a.actionStatus
                if a.resultDescription is not None:
                    m.action_results[a.actionId] = a.resultDescription

    def _judge_end(self, m: _Mission, state: State, now_s: float) -> None:
        assert m.order is not None
        if state.nodeStates or state.edgeStates:
            return
        statuses = [m.action_status.get(aid) for aid in m.actions]
        if any(s not in _TERMINAL_ACTION for s in statuses):
            return  # actions at the last node still running (or not yet reported)
        failed = [
            aid for aid, s in zip(m.actions, statuses, strict=True) if s == ActionStatus.FAILED
        ]
        if failed:
            reason = "; ".join(
                f"action {m.actions[aid].type} ({aid}) failed: "
                f"{m.action_results.get(aid, 'no result description')}"
                for aid in failed
            )
            self._end(m, MissionOutcome.FAILED, reason, now_s)
            return
        assert m.full is not None
        final = m.full.nodes[-1].nodeId
        if state.lastNodeId != final:
            self._end(
                m,
                MissionOutcome.FAILED,
                f"order ended at node {state.lastNodeId!r}, not at its last node {final!r}",
                now_s,
            )
            return
        m.nodes_done = len(m.full.nodes)
        self._end(m, MissionOutcome.COMPLETED, f"reached {final!r}, all actions finished", now_s)

    def _clean_orphan(self, robot: RobotRecord, state: State) -> None:
        owner = self._order_owner.get(state.orderId)
        if owner is None or state.orderId in self._cleaned_orders:
            return
        m = self._missions[owner]
        superseded = m.order_id != state.orderId  # requeued: it runs (or will) elsewhere
        if m.outcome not in (MissionOutcome.FAILED, MissionOutcome.ABORTED) and not superseded:
            return
        executing = bool(state.nodeStates or state.edgeStates) or any(
            a.actionId in m.actions and a.actionStatus not in _TERMINAL_ACTION
            for a in state.actionStates
        )
        if executing:
            self._cleaned_orders.add(state.orderId)
            log.warning(
                "robot %s still executes order %s of mission %s (%s): cancelling it",
                robot.key,
                state.orderId,
                m.spec.id,
                "superseded" if superseded else m.outcome.value,
            )
            self._queue_instant(robot, "cancelOrder", "cleanup", None)
            self._events.emit(
                m.kind,
                m.spec.id,
                f"cleanup: {robot.key} still ran order {state.orderId}; cancelOrder sent",
            )

    @staticmethod
    def _action_status(state: State, action_id: str) -> ActionStatus | None:
        for a in state.actionStates:
            if a.actionId == action_id:
                return a.actionStatus
        return None


def _where(site: SiteMap, robot: RobotRecord) -> tuple[float, float] | None:
    """Where the robot is (x, y in metres): its reported position on this map, else its
    last node; None when unknown."""
    s = robot.state
    if s is None:
        return None
    pos = s.agvPosition
    if pos is not None and pos.positionInitialized and pos.mapId == site.map_id:
        return (pos.x, pos.y)
    if site.has_node(s.lastNodeId):
        node = site.node(s.lastNodeId)
        return (node.x, node.y)
    return None


def _scope_text(serials: Iterable[str] | None, zone: str | None) -> str:
    parts = []
    if serials is not None:
        parts.append("robots " + ", ".join(serials))
    if zone is not None:
        parts.append(f"zone {zone}")
    return "; ".join(parts) or "fleet"


def _describe(errors: Iterable[Error]) -> str:
    return "; ".join(f"{e.errorType}: {e.errorDescription or 'no description'}" for e in errors)

"""The dispatcher's records: what it keeps per mission and per instant action, and the
small pure helpers it uses on them.

* :class:`MissionStatus`, the snapshot :meth:`controller.dispatcher.Dispatcher.statuses`
  gives out, and :class:`Sender`, how the dispatcher gets messages out;
* the id prefixes of the dispatcher's own drives (``_charge:``, ``_vacate:``,
  ``_assemble:``) and the :data:`Kind` and :data:`Purpose` literals;
* ``_Mission`` (one mission's run: order, acknowledgement, progress, cancel, horizon) and
  ``_InstantRequest`` (an instant action resent until acknowledged);
* pure helpers: error keys and descriptions, resend timing, a robot's position, the text
  of a command's scope.

No state, no bus, no clock.  The names are re-exported by :mod:`controller.dispatcher`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from controller.registry import RobotRecord
from drivers.vda5050.codec import Envelope
from drivers.vda5050.messages import Action, ActionStatus, Error, OperatingMode, Order, VdaMessage
from drivers.vda5050.topics import TopicName
from missions.mission import MissionAction, MissionOutcome, MissionSpec
from missions.site import SiteMap

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

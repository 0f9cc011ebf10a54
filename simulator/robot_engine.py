"""The simulated robot's core: order progress, motion, pause, cancel and battery.

Pure logic: no bus, no clock, no wire models beyond the enumerations.  The wire layer
(:mod:`simulator.robot`) validates messages, turns them into
:class:`~simulator.robot_plan.PlannedNode` / ``PlannedEdge`` / ``PlannedAction`` and calls
the ``accept_*`` and instant-action methods; :meth:`RobotEngine.advance` moves time on.

Motion: straight lines between node positions at ``min(spec.max_speed_m_s, edge
maxSpeed)``, no acceleration, rotation in no time.  Time left over after reaching a node
within one step carries on to the next edge, so progress does not depend on the step size.
Only released nodes and edges are driven; the robot stops at the end of the base.

Battery: the robot draws ``idle_power_w`` always, ``drive_power_w`` on top while driving
and ``action_power_w`` while an action runs.  Standing still on a charger node (a node in
a ``charging`` zone of the site, handed in as ``chargers``; not between nodes), the
charger carries that draw and the battery gains ``charge_pct_per_s`` percent of its
capacity per second, up to full; a step in which the robot drove and then stopped on a
charger drains for its driving time and charges for the rest.  A battery that went empty
(or failed) stays empty: ``batteryEmpty`` is FATAL and needs recovery by hand.

Actions (section 6.10.2): a node's actions are triggered when the node is traversed, an
edge's when the robot starts to drive on it; :class:`~simulator.robot_board.ActionBoard`
decides which may start.  Pause (startPause) stops driving and pauses running actions;
the heartbeat self-pause stops driving and starting actions but lets running ones finish.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from drivers.vda5050.messages import ErrorLevel
from simulator.robot_actions import ActionRun, Instruments, Origin, PlannedAction, Where
from simulator.robot_board import ActionBoard
from simulator.robot_plan import PlannedEdge, PlannedNode, RobotError, wrap_angle
from simulator.robot_spec import SimRobotSpec

log = logging.getLogger(__name__)

MAX_ORDER_WARNINGS = 10
"""Rejection warnings kept at once; older ones are dropped so a flood cannot grow state."""
_EPS_S = 1e-9
_EPS_M = 1e-9  # summed float steps must not leave the robot a nanometre short of a node
HEARTBEAT_LOST = "controllerHeartbeatLost"
STALLED = "stalled"


class RobotEngine:
    """State and behaviour of one simulated robot, advanced in steps."""

    def __init__(
        self,
        spec: SimRobotSpec,
        instruments: Instruments,
        *,
        x_m: float,
        y_m: float,
        theta: float,
        last_node_id: str,
        chargers: frozenset[str] = frozenset(),
    ) -> None:
        """``chargers``: ids of the site's nodes where the robot charges (see above)."""
        self._spec = spec
        self._chargers = chargers
        self._board = ActionBoard(spec, instruments)
        self._x_m = x_m
        self._y_m = y_m
        self._theta = wrap_angle(theta)
        self._t_s = 0.0
        self._tick = 0
        self.last_node_id = last_node_id
        self.last_node_sequence_id = 0
        self.distance_since_last_node_m = 0.0
        self.order_id = ""
        self.order_update_id = 0
        self.order_cancelled = False
        self.base_end: tuple[str, int] | None = None
        """(nodeId, sequenceId) of the last released node of the current order"""
        self._nodes: list[PlannedNode] = []
        self._edges: list[PlannedEdge] = []
        self._edge_entered = False
        self._errors: list[RobotError] = []
        self._paused_by_command = False
        self._paused_by_heartbeat = False
        self._moving = False
        self._speed_m_s = 0.0
        self._battery_wh = spec.battery_capacity_wh * spec.start_battery_pct / 100.0
        self.battery_empty = False
        self._charging = False
        self._stalled = False
        self._dirty = True
        if self._battery_wh <= 0:
            self._on_battery_empty()

    # ------------------------------------------------------------------ read side

    @property
    def x_m(self) -> float:
        return self._x_m

    @property
    def y_m(self) -> float:
        return self._y_m

    @property
    def theta(self) -> float:
        """rad, within [-pi, pi]"""
        return self._theta

    @property
    def nodes(self) -> tuple[PlannedNode, ...]:
        """Nodes still to traverse (base and horizon), as in ``nodeStates``."""
        return tuple(self._nodes)

    @property
    def edges(self) -> tuple[PlannedEdge, ...]:
        return tuple(self._edges)

    @property
    def runs(self) -> tuple[ActionRun, ...]:
        return self._board.runs

    @property
    def errors(self) -> tuple[RobotError, ...]:
        return tuple(self._errors)

    @property
    def paused(self) -> bool:
        return self._paused_by_command or self._paused_by_heartbeat

    @property
    def driving(self) -> bool:
        """True while the robot moves (it moved in the last step and may go on)."""
        return self._moving and self._can_drive()

    @property
    def speed_m_s(self) -> float:
        return self._speed_m_s if self.driving else 0.0

    @property
    def battery_wh(self) -> float:
        return self._battery_wh

    @property
    def battery_pct(self) -> float:
        return 100.0 * self._battery_wh / self._spec.battery_capacity_wh

    @property
    def charging(self) -> bool:
        """True when the battery gained charge in the last step."""
        return self._charging

    @property
    def on_charger(self) -> bool:
        """Standing on a charger node (not between nodes, not driving)."""
        return (
            self.last_node_id in self._chargers
            and self.distance_since_last_node_m <= _EPS_M
            and not self._moving
        )

    @property
    def executing(self) -> bool:
        """Section 6.6.2 step 3: nodes left, or an action neither FINISHED nor FAILED."""
        return bool(self._nodes) or self._board.unfinished()

    def known_action_ids(self) -> set[str]:
        return self._board.ids()

    def where(self) -> Where:
        return Where(self._x_m, self._y_m, self._theta, self._t_s)

    def mark_dirty(self) -> None:
        """Ask for a state message this step."""
        self._dirty = True

    def take_dirty(self) -> bool:
        """True once after anything worth a state message happened."""
        dirty, self._dirty = self._dirty, False
        return dirty

    # ------------------------------------------------------------------ orders

    def accept_new_order(
        self,
        order_id: str,
        order_update_id: int,
        nodes: Sequence[PlannedNode],
        edges: Sequence[PlannedEdge],
    ) -> None:
        """Take over a validated new order whose first node the robot stands on."""
        self._clear_order_warnings()
        self._board.keep_unfinished_instants()
        self.order_id = order_id
        self.order_update_id = order_update_id
        self.order_cancelled = False
        self._nodes = list(nodes)
        self._edges = list(edges)
        self._edge_entered = False
        self._register(nodes, edges)
        self.base_end = _base_end(nodes)
        self._reach(self._nodes.pop(0))
        log.info("%s accepted order %s/%d", self._spec.serial, order_id, order_update_id)

    def accept_update(
        self, order_update_id: int, nodes: Sequence[PlannedNode], edges: Sequence[PlannedEdge]
    ) -> None:
        """Stitch a validated order update onto the current order (section 6.6.2).

        ``nodes[0]`` is the current base end; its content stays as first received, so
        only ``nodes[1:]`` and ``edges`` are added.  The old horizon is replaced.
        """
        self._clear_order_warnings()
        while self._nodes and not self._nodes[-1].released:
            self._board.drop_waiting(self._nodes.pop().actions)
        while self._edges and not self._edges[-1].released:
            self._board.drop_waiting(self._edges.pop().actions)
        self._nodes.extend(nodes[1:])
        self._edges.extend(edges)
        self._register(nodes[1:], edges)
        self.order_update_id = order_update_id
        self.base_end = _base_end(nodes) or self.base_end
        self._dirty = True
        log.info(
            "%s accepted order update %s/%d", self._spec.serial, self.order_id, order_update_id
        )

    def report(self, error: RobotError) -> None:
        """Add an error to the state (rejection warnings are capped)."""
        if error.until_new_order:
            warnings = [e for e in self._errors if e.until_new_order]
            if len(warnings) >= MAX_ORDER_WARNINGS:
                self._errors.remove(warnings[0])
        self._errors.append(error)
        self._dirty = True

    # ------------------------------------------------------------------ instant actions

    def record_instant(self, action: PlannedAction, result: str) -> None:
        """An instant action done on receipt (factsheetRequest, stateRequest)."""
        self._board.register_instant(action).finish_now(result, self._tick)
        self._dirty = True

    def reject_instant(self, action: PlannedAction, error_type: str, problem: str) -> None:
        self._board.register_instant(action).fail(problem, self._tick)
        refs = (("actionId", action.action_id), ("actionType", action.action_type))
        self.report(RobotError(error_type, ErrorLevel.WARNING, problem, refs))

    def queue_instant(self, action: PlannedAction) -> None:
        """An instant action that runs like a node action (e.g. measureGas)."""
        self._board.enqueue(self._board.register_instant(action))
        self._schedule()
        self._dirty = True

    def start_pause(self, action: PlannedAction) -> None:
        run = self._board.register_instant(action)
        self._paused_by_command = True
        self._moving = False
        self._board.pause_all(self._tick)
        run.finish_now("paused", self._tick)
        self._dirty = True

    def stop_pause(self, action: PlannedAction) -> None:
        run = self._board.register_instant(action)
        self._paused_by_command = False
        self._board.resume_all(self._tick)
        run.finish_now("heartbeat pause still active" if self.paused else "resumed", self._tick)
        self._schedule()
        self._dirty = True

    def cancel_order(self, action: PlannedAction) -> None:
        """Section 6.6.3: stop where it is, fail every unfinished action, drop the order."""
        had_order = self.executing
        run = self._board.register_instant(action)
        self._dirty = True
        if not had_order:
            run.fail("no order to cancel", self._tick)
            self.report(
                RobotError(
                    "noOrderToCancel",
                    ErrorLevel.WARNING,
                    "cancelOrder received but the robot has no order to cancel",
                    (("actionId", action.action_id),),
                )
            )
            return
        self._board.fail_unfinished(
            f"cancelled by cancelOrder {action.action_id}", self._tick, spare=run
        )
        self._nodes.clear()
        self._edges.clear()
        self._edge_entered = False
        self._moving = False
        self.order_cancelled = True
        run.finish_now(f"order {self.order_id} cancelled", self._tick)
        log.info("%s cancelled order %s", self._spec.serial, self.order_id)

    def set_heartbeat_lost(self, lost: bool, detail: str = "") -> None:
        """Fail-safe self-pause (contracts.md): stop driving, start no new actions."""
        if lost == self._paused_by_heartbeat:
            return
        self._paused_by_heartbeat = lost
        self._dirty = True
        if lost:
            self._moving = False
            self.report(
                RobotError(
                    HEARTBEAT_LOST,
                    ErrorLevel.WARNING,
                    f"paused: controller heartbeat lost ({detail})",
                    hint="check the controller and its MQTT link; resumes on the next beat",
                    until_new_order=False,
                )
            )
            log.warning("%s paused itself: heartbeat lost (%s)", self._spec.serial, detail)
        else:
            self._errors = [e for e in self._errors if e.error_type != HEARTBEAT_LOST]
            self._schedule()
            log.info("%s resumed: controller heartbeat back", self._spec.serial)

    # ------------------------------------------------------------------ faults

    @property
    def stalled(self) -> bool:
        return self._stalled

    def set_stalled(self, stalled: bool) -> None:
        """A drive fault (drill): stalled, the robot does not advance and reports a WARNING
        ``stalled`` error; actions go on.  Cleared, it drives on from where it stood."""
        if stalled == self._stalled:
            return
        self._stalled = stalled
        self._dirty = True
        if stalled:
            self._moving = False
            self.report(
                RobotError(
                    STALLED,
                    ErrorLevel.WARNING,
                    "stalled: the drive does not move the robot",
                    hint="check the wheels and the floor; it drives on once free",
                    until_new_order=False,
                )
            )
            log.warning("%s stalled", self._spec.serial)
        else:
            self._errors = [e for e in self._errors if e.error_type != STALLED]
            self._schedule()
            log.info("%s free again after a stall", self._spec.serial)

    def fail_battery(self) -> None:
        """A battery failure (drill): the charge drops to 0 %, as if it had drained."""
        self._battery_wh = 0.0
        self._dirty = True
        if not self.battery_empty:
            self._on_battery_empty()

    # ------------------------------------------------------------------ time

    def advance(self, dt_s: float, t_s: float) -> None:
        """Move time on by ``dt_s`` seconds; ``t_s`` is the monotonic time after it."""
        dt_s = max(0.0, dt_s)
        self._tick += 1
        action_running = self._board.any_running()
        self._t_s = t_s
        where = self.where()  # readings: position at the start of the step, time at its end
        for run in self._board.progress(dt_s, self._tick, where):
            self._dirty = True
            if run.final:
                log.info(
                    "%s action %s (%s) %s",
                    self._spec.serial,
                    run.action_id,
                    run.action.action_type,
                    run.status.value,
                )
        self._schedule()
        was_moving = self._moving
        moving_s = self._drive(dt_s)
        if self._moving != was_moving:
            self._dirty = True
        self._drain(dt_s, moving_s, action_running)

    # ------------------------------------------------------------------ internals

    def _register(self, nodes: Sequence[PlannedNode], edges: Sequence[PlannedEdge]) -> None:
        for node in nodes:
            for a in node.actions:
                self._board.register(a, Origin.NODE, node.sequence_id)
        for edge in edges:
            for a in edge.actions:
                self._board.register(a, Origin.EDGE, edge.sequence_id)

    def _clear_order_warnings(self) -> None:
        self._errors = [e for e in self._errors if not e.until_new_order]

    def _schedule(self) -> None:
        # Paused either way: start nothing new.  An empty battery has failed the queue.
        if not self.paused and not self.battery_empty and self._board.schedule(self._tick):
            self._dirty = True

    def _reach(self, node: PlannedNode) -> None:
        """The robot traverses ``node``: report it and trigger its actions (6.10.2)."""
        self.last_node_id = node.node_id
        self.last_node_sequence_id = node.sequence_id
        self.distance_since_last_node_m = 0.0
        self._board.trigger(node.actions)
        self._schedule()
        self._dirty = True

    def _can_drive(self) -> bool:
        return (
            not self.battery_empty
            and not self.paused
            and not self._stalled
            and bool(self._edges)
            and self._edges[0].released
            and self._nodes[0].released
            and not self._board.blocks_driving()
        )

    def _ready_to_drive(self) -> bool:
        if not self._can_drive():
            return False
        if not self._edge_entered:
            # Entering the edge triggers its actions; a SOFT/HARD one keeps us here.
            self._edge_entered = True
            self._board.trigger(self._edges[0].actions)
            self._schedule()
            return self._can_drive()
        return True

    def _drive(self, dt_s: float) -> float:
        """Drive for up to ``dt_s`` seconds; returns the seconds spent moving."""
        remaining_s = dt_s
        moving_s = 0.0
        while remaining_s > _EPS_S and self._ready_to_drive():
            edge, target = self._edges[0], self._nodes[0]
            speed = self._spec.max_speed_m_s
            if edge.max_speed_m_s is not None:
                speed = min(speed, edge.max_speed_m_s)
            self._speed_m_s = speed
            dx, dy = target.x_m - self._x_m, target.y_m - self._y_m
            dist_m = math.hypot(dx, dy)
            if dist_m > 0:
                self._theta = math.atan2(dy, dx)
            if dist_m <= speed * remaining_s + _EPS_M:
                self._x_m, self._y_m = target.x_m, target.y_m
                remaining_s = max(0.0, remaining_s - dist_m / speed)
                moving_s += dist_m / speed
                self.distance_since_last_node_m += dist_m
                self._arrive()
            else:
                step_m = speed * remaining_s
                self._x_m += dx * step_m / dist_m
                self._y_m += dy * step_m / dist_m
                self.distance_since_last_node_m += step_m
                moving_s += remaining_s
                remaining_s = 0.0
        self._moving = moving_s > 0 and self._can_drive()
        return moving_s

    def _arrive(self) -> None:
        node = self._nodes.pop(0)
        edge = self._edges.pop(0)
        self._edge_entered = False
        self._board.leave_edge(edge.sequence_id, self.where(), self._tick)
        if node.theta is not None:
            self._theta = wrap_angle(node.theta)
        log.debug("%s reached node %s/%d", self._spec.serial, node.node_id, node.sequence_id)
        self._reach(node)

    def _drain(self, dt_s: float, moving_s: float, action_running: bool) -> None:
        """Battery over one step: drain while powered by it, charge while on a charger."""
        spec = self._spec
        # on a charger at the end of the step: it stood there for the part it did not drive
        chargeable = spec.charge_pct_per_s > 0 and not self.battery_empty
        charge_s = dt_s - moving_s if chargeable and self.on_charger else 0.0
        powered_s = dt_s - charge_s
        joules = spec.idle_power_w * powered_s + spec.drive_power_w * moving_s
        if action_running:
            joules += spec.action_power_w * powered_s
        wh = max(0.0, self._battery_wh - joules / 3600.0)
        charging = False
        if charge_s > 0 and wh < spec.battery_capacity_wh:
            gain = spec.battery_capacity_wh * spec.charge_pct_per_s / 100.0 * charge_s
            wh = min(spec.battery_capacity_wh, wh + gain)
            charging = True
        self._battery_wh = wh
        if charging != self._charging:
            self._charging = charging
            self._dirty = True
        if self._battery_wh <= 0 and not self.battery_empty:
            self._on_battery_empty()

    def _on_battery_empty(self) -> None:
        self.battery_empty = True
        self._charging = False
        self._moving = False
        self._board.fail_started("battery empty", self._tick)
        self.report(
            RobotError(
                "batteryEmpty",
                ErrorLevel.FATAL,
                "battery empty: the robot stopped",
                hint="recover the robot and charge it",
                until_new_order=False,
            )
        )
        log.error("%s battery empty: stopped", self._spec.serial)


def _base_end(nodes: Sequence[PlannedNode]) -> tuple[str, int] | None:
    released = [n for n in nodes if n.released]
    return (released[-1].node_id, released[-1].sequence_id) if released else None

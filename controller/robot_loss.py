"""The dispatcher's handling of lost robots and of orders it no longer supervises.

* :meth:`RobotLoss._check_lost`: a robot offline or silent loses the missions the allocator
  gave it (back to PENDING, reassigned); a mission pinned to a robot away for
  ``lost_after_s`` is ABORTED;
* :meth:`RobotLoss._clean_orphan`: a robot still executing an order of a mission that ended
  or moved on gets ``cancelOrder`` once;
* :meth:`RobotLoss._check_twice`: a robot that comes back having finished an order given up
  completes the mission (its rerun cancelled), or the mission is recorded as run twice.

Mixed into :class:`controller.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import logging

from controller.dispatch_base import DispatcherBase
from controller.mission_record import _EPSILON_S, _FINISHED, _TERMINAL_ACTION
from controller.registry import RobotRecord
from drivers.vda5050.messages import State
from missions.mission import MissionOutcome

# One logger for every part of the dispatcher, as before the split (log configuration and
# tests select "controller.dispatcher").
log = logging.getLogger("controller.dispatcher")


class RobotLoss(DispatcherBase):
    """Robot loss and orphan orders (see the module docstring)."""

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

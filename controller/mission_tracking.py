"""The dispatcher following a mission through its robot's states.

:meth:`MissionTracking._track` takes one state of the robot running the mission:
acknowledgement (DISPATCHED -> ACTIVE), rejections of the order or of an order update,
a dropped order, progress (nodes, actions and their results), the answer to a
``cancelOrder``, FATAL errors, and the end of the order (COMPLETED or FAILED).  The rules
are in the docstring of :mod:`controller.dispatcher` ("Acknowledgement", "Rejection",
"Completion", "Cancel", "Preemption").

Mixed into :class:`controller.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import logging

from controller.dispatch_base import DispatcherBase
from controller.mission_record import (
    _TERMINAL_ACTION,
    REJECTION_ERROR_TYPES,
    _describe,
    _error_key,
    _Mission,
)
from controller.registry import RobotRecord
from drivers.vda5050.messages import ActionStatus, ErrorLevel, State
from missions.mission import MissionOutcome

# One logger for every part of the dispatcher, as before the split (log configuration and
# tests select "controller.dispatcher").
log = logging.getLogger("controller.dispatcher")


class MissionTracking(DispatcherBase):
    """Following missions through the states (see the module docstring)."""

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

    @staticmethod
    def _action_status(state: State, action_id: str) -> ActionStatus | None:
        for a in state.actionStates:
            if a.actionId == action_id:
                return a.actionStatus
        return None

"""Every action state of the robot, and which triggered action may start (section 6.12).

The board keeps the ``actionStates`` (insertion order = report order) and the queue of
triggered actions that have not started yet.  Rules, after figure 17 of the standard:

* triggered actions start in list order;
* nothing starts while a HARD action runs, and a HARD action starts only when nothing
  runs, so a HARD action always runs alone;
* SOFT and NONE actions start at once otherwise and run side by side;
* a SOFT or HARD action, queued or running, keeps the robot standing.
"""

from __future__ import annotations

from collections.abc import Iterable

from drivers.vda5050.messages import ActionStatus, BlockingType
from simulator.robot_actions import ActionRun, Instruments, Origin, PlannedAction, Where
from simulator.robot_spec import DURATION_PARAM, FAILURE_PARAM, SimRobotSpec

MAX_FINAL_INSTANT_STATES = 50
"""Finished/failed instant action states kept until the next order (oldest dropped), so
a controller polling with stateRequest cannot grow the state message without bound."""


class ActionBoard:
    def __init__(self, spec: SimRobotSpec, instruments: Instruments) -> None:
        self._spec = spec
        self._instruments = instruments
        self._runs: dict[str, ActionRun] = {}
        self._queue: list[ActionRun] = []

    # ------------------------------------------------------------------ queries

    @property
    def runs(self) -> tuple[ActionRun, ...]:
        return tuple(self._runs.values())

    def ids(self) -> set[str]:
        return set(self._runs)

    def unfinished(self) -> bool:
        return any(not r.final for r in self._runs.values())

    def any_running(self) -> bool:
        return any(r.status is ActionStatus.RUNNING for r in self._runs.values())

    def blocks_driving(self) -> bool:
        return any(r.blocking is not BlockingType.NONE for r in self._queue) or any(
            r.active and r.blocking is not BlockingType.NONE for r in self._runs.values()
        )

    # ------------------------------------------------------------------ registering

    def register(self, action: PlannedAction, origin: Origin, seq: int | None) -> ActionRun:
        """A new action state, WAITING until triggered."""
        duration = action.params.get(DURATION_PARAM)
        duration_s = (
            float(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool)
            else self._spec.duration_s(action.action_type)
        )
        run = ActionRun(
            action,
            origin,
            duration_s=duration_s,
            simulate_failure=action.params.get(FAILURE_PARAM) is True,
            scope_sequence_id=seq,
        )
        self._runs[action.action_id] = run
        return run

    def register_instant(self, action: PlannedAction) -> ActionRun:
        finals = [k for k, r in self._runs.items() if r.origin is Origin.INSTANT and r.final]
        for key in finals[: max(0, len(finals) - MAX_FINAL_INSTANT_STATES + 1)]:
            del self._runs[key]
        return self.register(action, Origin.INSTANT, None)

    def keep_unfinished_instants(self) -> None:
        """Section 6.10.6: a new order drops every action state but running instant ones."""
        self._runs = {
            k: r for k, r in self._runs.items() if r.origin is Origin.INSTANT and not r.final
        }
        self._queue = [r for r in self._queue if r.action_id in self._runs]

    def drop_waiting(self, actions: Iterable[PlannedAction]) -> None:
        """Forget the states of replaced horizon actions."""
        for a in actions:
            run = self._runs.get(a.action_id)
            if run is not None and run.status is ActionStatus.WAITING:
                del self._runs[a.action_id]

    # ------------------------------------------------------------------ running

    def trigger(self, actions: Iterable[PlannedAction]) -> None:
        """The node is traversed / the edge entered: queue its WAITING actions in order."""
        for a in actions:
            run = self._runs.get(a.action_id)
            if run is not None and run.status is ActionStatus.WAITING and run not in self._queue:
                self._queue.append(run)

    def enqueue(self, run: ActionRun) -> None:
        self._queue.append(run)

    def schedule(self, tick: int) -> bool:
        """Start queued actions as far as blocking types allow; True if any started."""
        started = False
        while self._queue:
            run = self._queue[0]
            active = [r for r in self._runs.values() if r.active]
            if any(r.blocking is BlockingType.HARD for r in active):
                break
            if run.blocking is BlockingType.HARD and active:
                break
            self._queue.pop(0)
            run.start(tick)
            started = True
        return started

    def progress(self, dt_s: float, tick: int, where: Where) -> list[ActionRun]:
        """Advance running actions; returns those whose status changed."""
        return [
            r for r in list(self._runs.values()) if r.progress(dt_s, tick, where, self._instruments)
        ]

    def pause_all(self, tick: int) -> None:
        for r in self._runs.values():
            r.pause(tick)

    def resume_all(self, tick: int) -> None:
        for r in self._runs.values():
            r.resume(tick)

    def fail_unfinished(self, reason: str, tick: int, *, spare: ActionRun | None = None) -> None:
        """Fail every action not yet FINISHED/FAILED (cancelOrder)."""
        for r in self._runs.values():
            if r is not spare:
                r.fail(reason, tick)
        self._queue.clear()

    def fail_started(self, reason: str, tick: int) -> None:
        """Fail running and triggered actions; not-yet-reached ones stay WAITING."""
        for r in self._runs.values():
            if r.active or r in self._queue:
                r.fail(reason, tick)
        self._queue.clear()

    def leave_edge(self, edge_sequence_id: int, where: Where, tick: int) -> None:
        """An edge action lives only while the robot is on its edge (6.6.6)."""
        for r in self._runs.values():
            if r.origin is Origin.EDGE and r.scope_sequence_id == edge_sequence_id:
                if r.active:
                    r.complete(where, self._instruments, tick)
                elif not r.final:
                    r.fail("edge left before the action could start", tick)
        self._queue = [r for r in self._queue if not r.final]

"""The mission service: lifecycle, permits, scheduling and outcomes over the mission store.

Everything a safety officer does to a mission, and everything the scheduler and the
controller report about it, goes through :class:`MissionService`, which

* checks every state change against :mod:`missions.lifecycle` (an illegal one raises
  :class:`LifecycleError`) and records it in the store with who, when and why; the store
  does the change atomically (compare-and-set on state and version), so of two
  concurrent writers (an API thread and the scheduler, or two processes) one wins and the
  other gets a LifecycleError;
* applies the permit to work (:mod:`missions.permits`): a mission is approved by the
  ``"system"`` user automatically only when no permit is required; otherwise a safety
  officer approves it, under the two-person rule where the zones or an emergency
  override demand it;
* releases due missions (:meth:`tick`): ``approved -> scheduled``, then for each scheduled
  mission (emergencies first, then urgent, then routine, oldest first)
  :func:`controller.scheduler.decide`; a release is ``scheduled -> dispatched`` followed
  by ``dispatch(plan(request, site))``, and is recorded in the store's release table so
  that no occurrence is ever released twice, also across restarts; a missed window is
  recorded there too and reported (a one-off mission fails with reason
  ``"missed window: ..."``, a recurring one stays scheduled for its next occurrence); a
  passed deadline fails the mission (``"missed deadline: ..."``); a run longer than the
  request's ``max_duration_s`` (counted from the robot taking the order) is aborted;
* follows the controller's outcomes (:meth:`on_outcome`): ACTIVE -> active, COMPLETED ->
  completed, FAILED -> failed, ABORTED -> aborted; when a run ends it draws the template's
  findings from the actions' results (:func:`missions.templates.findings`: the
  confined-space entry verdict, the NETA grade of a thermal inspection) and records their
  summary in the transition's reason and in ``outcome_reason``, logged at WARNING when
  the safety officer must act (entry prohibited, NETA priority 1 or 2, unreadable
  results);
* resumes after a restart (:meth:`resume_after_restart`).

Recurring missions.  The lifecycle table has no way back from a run to ``scheduled``, but
a recurring mission is a series of runs: each released occurrence runs as its own
controller mission (run id ``"<id>:<occurrence>"``, see :mod:`controller.scheduler`) and
the series goes ``scheduled -> dispatched -> active (<-> paused)`` like a one-off mission.
When the run ends the series goes back to ``scheduled`` with the run's outcome as the
reason (:data:`missions.lifecycle.SERIES_RETURN_FROM`); this is the one move the
service makes outside the lifecycle table, made only by the service itself, only for
recurring missions, and recorded in the history like every other.  Cancelling a
recurring mission cancels the whole series (and its running occurrence).

Cancel.  A user's cancel moves the mission to ``cancelled`` at once (so the decision is
stored before anything else happens and a restart never re-runs it) and then asks the
controller for cancelOrder; the robot's confirmation (ABORTED) then finds the mission
already cancelled and is only logged.  An ABORTED that nobody asked for (robot lost, a
cancel from elsewhere) makes the mission ``aborted``.

Restart limitation.  After a restart the new controller does not know the orders the old
one sent.  :meth:`resume_after_restart` re-submits every dispatched or active mission to
the controller under the same run id (pinned to the robot it ran on).  A robot that is
idle takes the new order.  A robot still running the old order gets an order with the
same orderId and orderUpdateId (the dispatcher numbers orders per run id): the bundled
simulator takes it for a resend and the mission completes; a robot that judges otherwise
refuses it (VDA 5050 orderUpdateError) and the mission fails with that reason.  Nothing
fancier (adopting a running order from the robot's state) is attempted.  Paused missions
are not re-submitted (a paused mission must not start moving by itself); :meth:`resume`
submits them again.

Threading: API threads and the loop that steps the controller may call in concurrently.
The service never holds its own lock while calling the controller or the store, so it
cannot deadlock with the controller's lock.  The controller's events must reach
:meth:`on_outcome` from outside ``Controller.step()`` (see
:class:`controller.missions_bridge.ControllerBridge`).
"""

from __future__ import annotations

import builtins
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from controller.scheduler import (
    Missed,
    Release,
    decide,
    describe_schedule,
    parse_run_id,
    run_id,
)
from controller.store import (
    MissionRecord,
    NewMission,
    ReleaseRecord,
    Store,
    TransitionRecord,
)
from drivers.errors import LifecycleError, MissionError, StoreError
from missions.clock import Clock
from missions.lifecycle import (
    SERIES_RETURN_FROM,
    MissionState,
    Transition,
    check_transition,
    is_terminal,
)
from missions.mission import MissionOutcome, MissionSpec
from missions.model import MissionRequest, MissionValidationError, Priority
from missions.permits import PermitRequirement, check_approval, permit_requirement
from missions.site import SiteMap
from missions.templates import Findings, findings, plan

log = logging.getLogger(__name__)

__all__ = [
    "CONTROLLER_USER",
    "SCHEDULER_USER",
    "SERIES_RETURN_FROM",
    "SYSTEM_USER",
    "MissionService",
    "MissionView",
    "RunControl",
]

S = MissionState

SYSTEM_USER = "system"
"""who approves missions that need no permit"""
SCHEDULER_USER = "scheduler"
"""who schedules, releases and fails missions for missed windows and deadlines"""
CONTROLLER_USER = "controller"
"""who moves missions on the controller's outcomes"""


RUNNING: frozenset[MissionState] = frozenset({S.DISPATCHED, S.ACTIVE, S.PAUSED})

_MAX_MISSES_PER_TICK = 1000
"""missed occurrences of one mission reported per tick (the rest on the next ones)"""

_REQUEST_CACHE_SIZE = 50_000

_URGENCY: dict[str, int] = {
    Priority.EMERGENCY.value: -2,
    Priority.URGENT.value: -1,
    Priority.ROUTINE.value: 0,
}

_RETRIES = 3
"""re-reads after losing a race with another writer before giving up"""


class RunControl(Protocol):
    """What the service needs from the controller (``Controller`` fits as it is)."""

    def submit(self, mission: MissionSpec) -> None: ...

    def cancel(self, mission_id: str) -> None: ...

    def pause(self, mission_id: str) -> None: ...

    def resume(self, mission_id: str) -> None: ...


@dataclass(frozen=True)
class MissionView:
    """A mission as the API and the CLI show it (plain data, no store objects)."""

    id: str
    name: str
    template: str
    site: str
    state: MissionState
    priority: Priority
    request: MissionRequest
    submitted_by: str
    approved_by: str | None
    permit: PermitRequirement | None
    """None only when the mission's site is no longer configured"""
    robot: str | None
    """serial number of the robot the mission is pinned to or last ran on"""
    history: list[Transition]
    """oldest first"""
    created_at: datetime
    updated_at: datetime
    run_id: str | None = None
    """the controller's id of the current (or last) run"""
    outcome_reason: str | None = None
    """why the last run ended (or why the mission failed)"""
    idempotency_key: str | None = None
    version: int = 0

    @property
    def recurring(self) -> bool:
        return self.request.schedule.kind == "recurring"


_ENDED = {
    MissionOutcome.COMPLETED: "completed",
    MissionOutcome.FAILED: "failed",
    MissionOutcome.ABORTED: "aborted",
}
"""controller outcome -> the lifecycle state a one-off mission ends in"""

_ALARM_VERDICTS = frozenset({"ENTRY_PROHIBITED", "NETA-1", "NETA-2"})


def _log_findings(mission_id: str, run: str, found: Findings) -> None:
    """Findings the safety officer must act on are a WARNING, the rest INFO."""
    urgent = found.attention or found.verdict in _ALARM_VERDICTS
    log.log(
        logging.WARNING if urgent else logging.INFO,
        "mission %s (run %s): %s [%s]",
        mission_id,
        run,
        found.summary,
        "; ".join(found.details),
    )


class MissionService:
    """Missions of safety officers, from submission to outcome (see the module doc)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        sites: Mapping[str, SiteMap],
        dispatch: Callable[[MissionSpec], None] | None = None,
        *,
        runs: RunControl | None = None,
    ) -> None:
        """``sites``: site id (the map id) -> site map.  ``dispatch`` hands a released
        mission to the controller (default ``runs.submit``); ``runs`` forwards cancel,
        pause and resume of running missions.  Both may be connected later."""
        self._store = store
        self._clock = clock
        self._sites = dict(sites)
        self._dispatch = dispatch
        self._runs = runs
        self._lock = threading.Lock()
        self._submitted: set[str] = set()
        """run ids handed to the controller by this process"""
        self._warned_no_dispatch = False
        self._requests: dict[str, MissionRequest] = {}
        """mission id -> its parsed request (stored requests never change)"""

    def connect(
        self, runs: RunControl, dispatch: Callable[[MissionSpec], None] | None = None
    ) -> None:
        """Wire the controller in after construction (see ControllerBridge); replaces
        both ``runs`` and ``dispatch`` (None: released missions go to ``runs.submit``)."""
        self._runs = runs
        self._dispatch = dispatch

    # ------------------------------------------------------------------ officers' acts

    def create(
        self,
        request: MissionRequest,
        submitted_by: str,
        *,
        idempotency_key: str | None = None,
        submit: bool = True,
    ) -> tuple[MissionView, bool]:
        """Store a new mission (draft), submit it, approve it if no permit is required.

        Returns ``(view, created)``; ``created`` is False when ``idempotency_key`` was used
        before: nothing is written and the mission created then is returned.

        Raises:
            MissionValidationError: unknown site, targets or parameters that do not fit
                the site (with the field path), or a mission id that is taken.
        """
        if not submitted_by:
            raise MissionValidationError("submitted_by", "a mission needs a submitter")
        site = self._site(request.site)
        mission_id = request.id or f"m-{uuid.uuid4().hex[:8]}"
        request = request.model_copy(update={"id": mission_id})
        plan(request, site)  # the targets and parameters must fit the site: fail now
        now = self._now()
        record = NewMission(
            id=mission_id,
            name=request.name,
            template=request.template,
            site=request.site,
            priority=request.priority.value,
            request=request.model_dump(mode="json"),
            submitted_by=submitted_by,
            robot=request.robot,
        )
        first = TransitionRecord(mission_id, None, S.DRAFT, submitted_by, now, "created")
        try:
            stored, created = self._store.create_mission(record, first, idempotency_key)
        except StoreError as exc:
            if self._store.get_mission(mission_id) is not None:
                raise MissionValidationError(
                    "id", f"mission {mission_id!r} already exists"
                ) from exc
            raise
        if not created:
            return self._view(stored), False
        if submit:
            stored = self._submit(stored, submitted_by)
        return self._view(stored), True

    def submit(self, mission_id: str, by: str, reason: str = "") -> MissionView:
        """draft -> submitted (then approved by "system" if no permit is required)."""
        return self._view(self._submit(self._record(mission_id), by, reason))

    def approve(self, mission_id: str, approver: str, role: str, reason: str = "") -> MissionView:
        """submitted -> approved.

        Raises:
            PermitError: the approver's role, or the two-person rule, forbids it.
            LifecycleError: the mission is not waiting for approval.
        """
        rec = self._record(mission_id)
        check_transition(mission_id, rec.state, S.APPROVED)
        permit = permit_requirement(self._request(rec), self._site(rec.site))
        check_approval(permit, rec.submitted_by, approver, role)
        why = reason or f"approved by {approver} ({role})"
        rec = self._move(rec, S.APPROVED, approver, why, approved_by=approver)
        return self._view(rec)

    def reject(self, mission_id: str, by: str, reason: str) -> MissionView:
        """submitted -> rejected; a reason is required."""
        if not reason.strip():
            raise MissionValidationError("reason", "a rejection needs a reason")
        rec = self._record(mission_id)
        return self._view(self._move(rec, S.REJECTED, by, reason))

    def cancel(self, mission_id: str, by: str, reason: str = "") -> MissionView:
        """Any non-final state -> cancelled; a running mission's robot gets cancelOrder.

        The state changes first (the decision is stored even if the controller cannot be
        reached); the robot's confirmation is then only logged.
        """
        rec = self._record(mission_id)
        why = reason or f"cancelled by {by}"
        was = S(rec.state)
        rec = self._move(rec, S.CANCELLED, by, why, outcome_reason=why)
        if was in RUNNING and rec.order_id is not None:
            self._forward_cancel(rec.order_id)
        return self._view(rec)

    def pause(self, mission_id: str, by: str, reason: str = "") -> MissionView:
        """active -> paused, after the controller accepted startPause for the robot."""
        rec = self._record(mission_id)
        check_transition(mission_id, rec.state, S.PAUSED)
        if rec.order_id is None:  # pragma: no cover - active missions always have a run
            raise MissionError(f"mission {mission_id} has no run to pause")
        self._require_runs().pause(rec.order_id)
        return self._view(self._move(rec, S.PAUSED, by, reason or f"paused by {by}"))

    def resume(self, mission_id: str, by: str, reason: str = "") -> MissionView:
        """paused -> active: stopPause to the robot, or, if the controller no longer knows
        the run (a restart in between), the mission is submitted again."""
        rec = self._record(mission_id)
        check_transition(mission_id, rec.state, S.ACTIVE)
        run = rec.order_id
        if run is None:  # pragma: no cover - paused missions always have a run
            raise MissionError(f"mission {mission_id} has no run to resume")
        with self._lock:
            known = run in self._submitted
        if known:
            self._require_runs().resume(run)
        else:
            self._hand_over(self._spec(rec, run))
        return self._view(self._move(rec, S.ACTIVE, by, reason or f"resumed by {by}"))

    # ------------------------------------------------------------------------- queries

    def get(self, mission_id: str) -> MissionView:
        """The mission with its history; MissionError "no mission X" if there is none."""
        return self._view(self._record(mission_id))

    def list(
        self,
        *,
        state: str | None = None,
        priority: str | None = None,
        template: str | None = None,
        site: str | None = None,
        limit: int = 100,
        offset: int = 0,
        history: bool = True,
    ) -> builtins.list[MissionView]:
        """Missions matching every given filter, oldest first."""
        records = self._store.list_missions(
            state=state,
            priority=priority,
            template=template,
            site=site,
            limit=limit,
            offset=offset,
            history=history,
        )
        return [self._view(r) for r in records]

    def releases(self, mission_id: str) -> builtins.list[ReleaseRecord]:
        """Every occurrence the scheduler released or reported missed, by occurrence."""
        self._record(mission_id)
        return self._store.releases(mission_id)

    # ----------------------------------------------------------------------- scheduler

    def tick(self) -> builtins.list[str]:
        """Schedule approved missions; release due ones; report missed ones.

        Returns the ids of the missions released (dispatched) by this call.  One
        mission's trouble (a bad stored request, a lost race) is logged and never stops
        the others.
        """
        now = self._now()
        for rec in self._by_urgency(self._store.missions_in([S.APPROVED], history=False)):
            try:
                schedule = self._request(rec).schedule
                self._move(rec, S.SCHEDULED, SCHEDULER_USER, describe_schedule(schedule))
            except LifecycleError as exc:
                log.info("mission %s changed while scheduling: %s", rec.id, exc)
            except (MissionError, StoreError, ValueError):
                log.exception("mission %s: cannot schedule", rec.id)
        released: builtins.list[str] = []
        # emergencies first: the controller hands robots to missions in submission order
        for rec in self._by_urgency(self._store.missions_in([S.SCHEDULED])):
            try:
                if self._schedule_one(rec, now):
                    released.append(rec.id)
            except LifecycleError as exc:
                log.info("mission %s changed while scheduling: %s", rec.id, exc)
            except (MissionError, StoreError, ValueError):
                log.exception("mission %s: scheduling failed", rec.id)
        self._enforce_max_duration(now)
        return released

    def _by_urgency(self, records: builtins.list[MissionRecord]) -> builtins.list[MissionRecord]:
        return sorted(records, key=lambda r: (_URGENCY.get(r.priority, 0), r.created_at))

    def _enforce_max_duration(self, now: datetime) -> None:
        """A run longer than the request's ``max_duration_s`` (counted from the robot
        taking the order) is aborted: state first, then cancelOrder to the robot."""
        for rec in self._store.missions_in([S.ACTIVE, S.PAUSED]):
            try:
                request = self._request(rec)
                limit_s = request.max_duration_s
                started = _active_since(rec.history)
                if limit_s is None or started is None or rec.order_id is None:
                    continue
                if (now - started).total_seconds() <= limit_s:
                    continue
                why = f"maximum duration {limit_s:g} s exceeded"
                recurring = request.schedule.kind == "recurring"
                self._run_ended(rec, rec.order_id, "aborted", why, recurring, by=SCHEDULER_USER)
            except LifecycleError as exc:
                log.info("mission %s changed while checking its duration: %s", rec.id, exc)
                continue
            except (MissionError, StoreError, ValueError):
                log.exception("mission %s: duration check failed", rec.id)
                continue
            log.warning("mission %s aborted: %s", rec.id, why)
            self._forward_cancel(rec.order_id)

    def _schedule_one(self, rec: MissionRecord, now: datetime) -> bool:
        request = self._request(rec)
        recurring = request.schedule.kind == "recurring"
        first = request.schedule.first_time()
        if first is not None and now < first:
            # nothing can be due or missed yet (a deadline lies after the first start):
            # spare the store a query per waiting mission
            return False
        decision = decide(request, now, self._store.releases(rec.id), rec.history)
        # after a stop, a recurring mission may have missed several occurrences: report
        # them all now, then release the current one in the same tick
        for _ in range(_MAX_MISSES_PER_TICK):
            due = decision.due
            if not isinstance(due, Missed):
                break
            self._missed(rec, due, recurring=recurring, deadline=decision.deadline_passed)
            if not recurring or decision.deadline_passed:
                return False
            decision = decide(request, now, self._store.releases(rec.id), rec.history)
        due = decision.due
        if isinstance(due, Release):
            if self._dispatch is None and self._runs is None:
                if not self._warned_no_dispatch:
                    log.warning("no dispatcher connected: due missions wait (%s)", rec.id)
                    self._warned_no_dispatch = True
                return False
            return self._release(rec, request, due.occurrence, now, recurring=recurring)
        return False

    def _missed(self, rec: MissionRecord, due: Missed, *, recurring: bool, deadline: bool) -> None:
        when = due.occurrence.isoformat()
        if recurring and not deadline:
            # the series goes on: the miss is reported (log, release table), not dropped
            if self._store.record_release(
                rec.id, due.occurrence, "missed", self._now(), due.reason
            ):
                log.warning("mission %s: occurrence %s missed: %s", rec.id, when, due.reason)
            return
        why = f"missed deadline: {due.reason}" if deadline else f"missed window: {due.reason}"
        # state first: a one-off mission must not stay scheduled if we stop in between
        self._move(rec, S.FAILED, SCHEDULER_USER, f"{why} (occurrence {when})", outcome_reason=why)
        self._store.record_release(rec.id, due.occurrence, "missed", self._now(), due.reason)
        log.warning("mission %s failed: %s", rec.id, why)

    def _release(
        self,
        rec: MissionRecord,
        request: MissionRequest,
        occurrence: datetime,
        now: datetime,
        *,
        recurring: bool,
    ) -> bool:
        run = run_id(rec.id, occurrence, recurring=recurring)
        try:
            spec = plan(request, self._site(rec.site), run)
        except MissionError as exc:
            why = f"cannot plan: {exc}"
            self._move(rec, S.FAILED, SCHEDULER_USER, why, outcome_reason=why)
            return False
        # 1. The state change is the claim: it carries the version we read, so of two
        #    schedulers only one gets it.  2. The release record makes the occurrence
        #    "handled" for good.  3. Only then the controller hears of it.  A stop between
        #    1 and 3 leaves a dispatched mission that resume_after_restart() completes.
        reason = f"released occurrence {occurrence.isoformat()} as run {run}"
        rec = self._move(rec, S.DISPATCHED, SCHEDULER_USER, reason, order_id=run)
        try:
            fresh = self._store.record_release(rec.id, occurrence, "released", now, f"run {run}")
        except StoreError:
            # the state change holds the claim; the record is written again when the run
            # ends (recurring) or at the next start (resume_after_restart)
            log.exception("mission %s: release of %s not recorded yet", rec.id, occurrence)
            fresh = True
        if not fresh:
            log.error("mission %s: occurrence %s was already released", rec.id, occurrence)
            why = "occurrence already released"
            self._run_ended(rec, run, "failed", why, recurring, by=SCHEDULER_USER)
            return False
        try:
            self._hand_over(spec)
        except MissionError as exc:
            why = f"dispatch refused: {exc}"
            self._run_ended(rec, run, "failed", why, recurring, by=SCHEDULER_USER)
            return False
        log.info("mission %s released (run %s)", rec.id, run)
        return True

    # ------------------------------------------------------------------------ outcomes

    def on_outcome(
        self,
        run: str,
        outcome: MissionOutcome,
        reason: str = "",
        *,
        robot: str | None = None,
        results: Sequence[str] = (),
    ) -> None:
        """Follow the controller's report about a run (its MissionSpec id).

        ACTIVE -> active, COMPLETED -> completed, FAILED -> failed, ABORTED -> aborted;
        PENDING and DISPATCHED change nothing.  Reports about runs that are not the
        mission's current run, or about missions that have already ended (for instance
        the confirmation of a user's cancel), are logged and ignored.

        ``results``: the run's action results (``resultDescription``) in mission order.  On
        completion (and on a failed or aborted run that produced any) the template's
        findings are drawn from them and their summary is appended to the reason; a
        completed confined-space run without results is thus recorded as entry
        prohibited, never as silently passed.
        """
        mission_id, _ = parse_run_id(run)
        # a one-off mission's run id is its own id; a recurring one's carries the occurrence
        candidates = [run] if mission_id == run else [run, mission_id]
        for _attempt in range(_RETRIES):
            rec = next(
                (
                    r
                    for r in map(self._store.get_mission, candidates)
                    if r is not None and r.order_id == run
                ),
                None,
            )
            if rec is None:
                log.info("run %s (%s): no mission is running it", run, outcome.value)
                return
            try:
                self._apply_outcome(rec, run, outcome, reason, robot, results)
                return
            except LifecycleError as exc:  # another writer moved it meanwhile: look again
                log.info("mission %s: %s; reading it again", rec.id, exc)
        log.error("mission %s: gave up applying %s of run %s", mission_id, outcome.value, run)

    def _apply_outcome(
        self,
        rec: MissionRecord,
        run: str,
        outcome: MissionOutcome,
        reason: str,
        robot: str | None,
        results: Sequence[str] = (),
    ) -> None:
        state = S(rec.state)
        if is_terminal(state) or state not in RUNNING:
            log.info("mission %s is %s; %s of run %s noted", rec.id, state, outcome.value, run)
            return
        recurring = self._request(rec).schedule.kind == "recurring"
        robot_field = {"robot": robot} if robot else {}
        if outcome == MissionOutcome.ACTIVE:
            if state == S.DISPATCHED:
                on = f" on {robot}" if robot else ""
                self._move(
                    rec, S.ACTIVE, CONTROLLER_USER, f"robot{on} took the order", **robot_field
                )
            elif robot and rec.robot != robot:
                log.info("mission %s runs on %s", rec.id, robot)
            return
        how = _ENDED.get(outcome)
        if how is None:
            return  # PENDING / DISPATCHED: nothing to record
        found = self._findings(rec, outcome, results)
        why = reason or how
        if found is not None:
            text = found.summary if isinstance(found, Findings) else found
            # a run that did not complete may have left tests undone: say so
            so_far = "" if outcome == MissionOutcome.COMPLETED else "findings so far: "
            why = f"{why}; {so_far}{text}"
        self._run_ended(rec, run, how, why, recurring, robot)
        if isinstance(found, Findings):
            _log_findings(rec.id, run, found)

    def _findings(
        self, rec: MissionRecord, outcome: MissionOutcome, results: Sequence[str]
    ) -> Findings | str | None:
        """The template's findings for an ended run; a text when they cannot be drawn.

        A failed or aborted run without results has nothing to judge; a completed one is
        judged even without results (the template then says what is missing).
        """
        if outcome != MissionOutcome.COMPLETED and not results:
            return None
        try:
            return findings(self._request(rec), results)
        except Exception as exc:  # a bad result must never lose the outcome itself
            log.exception("mission %s: cannot draw findings from %d results", rec.id, len(results))
            return f"findings unavailable ({type(exc).__name__}: {exc})"

    def _run_ended(
        self,
        rec: MissionRecord,
        run: str,
        how: str,
        reason: str,
        recurring: bool,
        robot: str | None = None,
        *,
        by: str = CONTROLLER_USER,
    ) -> MissionRecord:
        """A run is over: one-off -> completed/failed/aborted; recurring -> scheduled.

        ``by``: the controller for its outcomes, the scheduler for its own decisions.
        """
        fields: dict[str, str | None] = {"outcome_reason": f"{how}: {reason}"}
        if robot:
            fields["robot"] = robot
        if recurring:
            return self._series_return(rec, run, how, reason, fields, by)
        target = S(how)
        if S(rec.state) == S.PAUSED and target == S.COMPLETED:
            # the robot finished before the pause took effect: paused -> active -> completed
            rec = self._move(rec, S.ACTIVE, CONTROLLER_USER, "robot kept going", **fields)
        if S(rec.state) == S.DISPATCHED and target == S.COMPLETED:
            rec = self._move(rec, S.ACTIVE, CONTROLLER_USER, "robot took the order", **fields)
        return self._move(rec, target, by, reason, **fields)

    def _series_return(
        self,
        rec: MissionRecord,
        run: str,
        how: str,
        reason: str,
        fields: dict[str, str | None],
        by: str,
    ) -> MissionRecord:
        if S(rec.state) not in SERIES_RETURN_FROM:
            raise LifecycleError(rec.id, rec.state, S.SCHEDULED, "no run to end")
        # back in ``scheduled`` the occurrence must count as handled, whatever happened
        self._ensure_release_recorded(rec, run)
        why = f"run {run} {how}: {reason}; waiting for the next occurrence"
        log.log(
            logging.INFO if how == "completed" else logging.WARNING,
            "mission %s: %s",
            rec.id,
            why,
        )
        return self._store.transition(
            rec.id,
            rec.state,
            S.SCHEDULED,
            by,
            self._now(),
            why,
            expected_version=rec.version,
            **fields,
        )

    # ------------------------------------------------------------------------- restart

    def resume_after_restart(self) -> builtins.list[str]:
        """Hand dispatched and active missions found in the store to the controller again.

        Each is re-submitted under its run id, pinned to the robot it ran on.  Paused
        missions stay paused until :meth:`resume`.  Returns the run ids submitted.  See the
        module doc for what a robot still running the old order does.
        """
        resubmitted: builtins.list[str] = []
        for rec in self._store.missions_in([S.DISPATCHED, S.ACTIVE]):
            run = rec.order_id
            if run is None:  # pragma: no cover - a dispatched mission always has a run
                log.error("mission %s is %s without a run id", rec.id, rec.state)
                continue
            with self._lock:
                if run in self._submitted:
                    continue  # this process handed it over already
            try:
                self._ensure_release_recorded(rec, run)
                self._hand_over(self._spec(rec, run))
            except MissionError as exc:
                why = f"cannot resume after restart: {exc}"
                recurring = self._request(rec).schedule.kind == "recurring"
                try:
                    self._run_ended(rec, run, "failed", why, recurring, by=SYSTEM_USER)
                except LifecycleError:
                    log.info("mission %s changed while resuming", rec.id)
                continue
            log.info(
                "mission %s re-submitted after restart (run %s, robot %s)", rec.id, run, rec.robot
            )
            resubmitted.append(run)
        return resubmitted

    def _ensure_release_recorded(self, rec: MissionRecord, run: str) -> None:
        """A stop between the release's state change and its record leaves no record:
        write it now so the occurrence is never released again."""
        _, occurrence = parse_run_id(run)
        if occurrence is None:
            return  # one-off: it left ``scheduled`` for good, nothing can release it again
        self._store.record_release(rec.id, occurrence, "released", self._now(), f"run {run}")

    # ----------------------------------------------------------------------- internals

    def _submit(self, rec: MissionRecord, by: str, reason: str = "") -> MissionRecord:
        permit = self._permit(rec)
        rec = self._move(rec, S.SUBMITTED, by, reason or "submitted for approval")
        if permit is not None and not permit.required:
            rec = self._move(
                rec,
                S.APPROVED,
                SYSTEM_USER,
                f"no permit required ({permit.reason})",
                approved_by=SYSTEM_USER,
            )
        return rec

    def _move(
        self, rec: MissionRecord, target: MissionState, by: str, reason: str, **fields: str | None
    ) -> MissionRecord:
        """Check ``rec.state -> target`` against the lifecycle and store it atomically."""
        check_transition(rec.id, rec.state, target)
        return self._store.transition(
            rec.id,
            rec.state,
            target,
            by,
            self._now(),
            reason,
            expected_version=rec.version,
            **fields,
        )

    def _hand_over(self, spec: MissionSpec) -> None:
        """Give a run to the controller (MissionError if it refuses)."""
        if self._dispatch is not None:
            self._dispatch(spec)
        else:
            self._require_runs().submit(spec)
        with self._lock:
            self._submitted.add(spec.id)

    def _forward_cancel(self, run: str) -> None:
        """cancelOrder for a run; a run the controller no longer has is only logged."""
        if self._runs is None:
            log.warning("no controller connected: cancel of run %s not forwarded", run)
            return
        try:
            self._runs.cancel(run)
        except MissionError as exc:
            log.info("controller: cancel of run %s: %s", run, exc)

    def _require_runs(self) -> RunControl:
        if self._runs is None:
            raise MissionError("no controller connected")
        return self._runs

    def _spec(self, rec: MissionRecord, run: str) -> MissionSpec:
        spec = plan(self._request(rec), self._site(rec.site), run)
        if rec.robot and spec.robot != rec.robot:
            spec = spec.model_copy(update={"robot": rec.robot})
        return spec

    def _record(self, mission_id: str) -> MissionRecord:
        rec = self._store.get_mission(mission_id)
        if rec is None:
            raise MissionError(f"no mission {mission_id}")
        return rec

    def _site(self, site_id: str) -> SiteMap:
        try:
            return self._sites[site_id]
        except KeyError:
            known = ", ".join(sorted(self._sites)) or "none"
            raise MissionValidationError(
                "site", f"unknown site {site_id!r}; configured: {known}"
            ) from None

    def _request(self, rec: MissionRecord) -> MissionRequest:
        # a stored request never changes, and validating one (an RRULE included) is not
        # free: the scheduler reads every waiting mission on every tick
        cached = self._requests.get(rec.id)
        if cached is not None:
            return cached
        try:
            request = MissionRequest.model_validate(rec.request)
        except ValidationError as exc:
            raise MissionError(f"mission {rec.id}: stored request is invalid: {exc}") from exc
        if len(self._requests) >= _REQUEST_CACHE_SIZE:
            self._requests.clear()
        self._requests[rec.id] = request
        return request

    def _permit(self, rec: MissionRecord) -> PermitRequirement | None:
        site = self._sites.get(rec.site)
        if site is None:
            return None
        return permit_requirement(self._request(rec), site)

    def _view(self, rec: MissionRecord) -> MissionView:
        request = self._request(rec)
        site = self._sites.get(rec.site)
        return MissionView(
            id=rec.id,
            name=rec.name,
            template=rec.template,
            site=rec.site,
            state=S(rec.state),
            priority=Priority(rec.priority),
            request=request,
            submitted_by=rec.submitted_by,
            approved_by=rec.approved_by,
            permit=permit_requirement(request, site) if site is not None else None,
            robot=rec.robot,
            history=[_transition(t) for t in rec.history],
            created_at=rec.created_at,
            updated_at=rec.updated_at,
            run_id=rec.order_id,
            outcome_reason=rec.outcome_reason,
            idempotency_key=rec.idempotency_key,
            version=rec.version,
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), tz=UTC)


def _transition(t: TransitionRecord) -> Transition:
    return Transition(
        mission_id=t.mission_id,
        from_state=S(t.from_state) if t.from_state is not None else None,
        to_state=S(t.to_state),
        by=t.by,
        at=t.at,
        reason=t.reason,
    )


def _active_since(history: Sequence[TransitionRecord]) -> datetime | None:
    """When the robot last took the order (the last ``dispatched -> active``)."""
    times = [t.at for t in history if t.from_state == S.DISPATCHED and t.to_state == S.ACTIVE]
    return max(times) if times else None

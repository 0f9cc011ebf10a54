"""MissionService on the real store (SQLite file, and PostgreSQL where reachable), a fake
clock and a recording stand-in for the controller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.missions_service import MissionService, MissionView
from controller.store import Store
from drivers.errors import LifecycleError, MissionError, PermitError
from missions.clock import FakeClock
from missions.lifecycle import MissionState
from missions.mission import MissionOutcome, MissionSpec
from missions.model import MissionRequest, MissionValidationError, Schedule, Target
from missions.site import Zone
from simulator.scenario import load_scenario
from tests.controller.store.conftest import store_url  # noqa: F401  (fixture)

S = MissionState
SITE = load_scenario(Path(__file__).parents[2] / "config" / "drills" / "default.yaml").site
MON = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
WEEKDAYS_6 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0;BYSECOND=0"


class FakeRuns:
    """Records what the service asks of the controller; can refuse submissions."""

    def __init__(self) -> None:
        self.submitted: list[MissionSpec] = []
        self.calls: list[tuple[str, str]] = []
        self.refuse: str | None = None

    def submit(self, mission: MissionSpec) -> None:
        if self.refuse is not None:
            raise MissionError(self.refuse)
        self.submitted.append(mission)

    def cancel(self, mission_id: str) -> None:
        self.calls.append(("cancel", mission_id))

    def pause(self, mission_id: str) -> None:
        self.calls.append(("pause", mission_id))

    def resume(self, mission_id: str) -> None:
        self.calls.append(("resume", mission_id))


class World:
    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = FakeClock(MON.timestamp())
        self.store = Store(url)
        self.store.migrate()
        self.runs = FakeRuns()
        self.service = self.new_service()

    def new_service(self, runs: FakeRuns | None = None) -> MissionService:
        """A service as after a restart: new in-memory state, same store and clock."""
        return MissionService(self.store, self.clock, {"unit-7": SITE}, runs=runs or self.runs)

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta).total_seconds())


@pytest.fixture
def world(store_url: str) -> Iterator[World]:  # noqa: F811
    w = World(store_url)
    yield w
    w.store.close()


def patrol(**extra: Any) -> MissionRequest:
    fields: dict[str, Any] = {
        "name": "tank round",
        "template": "patrol",
        "site": "unit-7",
        "targets": [Target(kind="node", id="tank-t3")],
    }
    return MissionRequest(**(fields | extra))


def gas_survey(**extra: Any) -> MissionRequest:
    """Targets pump-p101 inside the hazardous zone pump-bay-zone1: a permit is required."""
    fields: dict[str, Any] = {
        "name": "pump bay survey",
        "template": "gas_leak_survey",
        "site": "unit-7",
        "targets": [Target(kind="node", id="pump-p101")],
    }
    return MissionRequest(**(fields | extra))


def states(view: MissionView) -> list[str]:
    return [t.to_state.value for t in view.history]


# --------------------------------------------------------------------------- permits


def test_a_mission_without_permit_is_approved_by_system(world: World) -> None:
    view, created = world.service.create(patrol(), "alice", idempotency_key=None)
    assert created and view.id.startswith("m-")
    assert view.state is S.APPROVED and view.approved_by == "system"
    assert view.permit is not None and not view.permit.required
    assert states(view) == ["draft", "submitted", "approved"]
    assert [t.by for t in view.history] == ["alice", "alice", "system"]
    assert "no permit required" in view.history[-1].reason
    assert all(t.at == MON for t in view.history)


def test_a_hazardous_zone_needs_a_safety_officer(world: World) -> None:
    view, _ = world.service.create(gas_survey(), "alice", idempotency_key=None)
    assert view.state is S.SUBMITTED
    assert view.permit is not None and view.permit.required and not view.permit.two_person
    assert view.permit.zones == ("pump-bay-zone1",)
    with pytest.raises(PermitError, match="safety_officer"):
        world.service.approve(view.id, "olga", "operator")
    assert world.service.get(view.id).state is S.SUBMITTED
    # without the two-person rule the submitter may approve
    approved = world.service.approve(view.id, "alice", "safety_officer", "area checked")
    assert approved.state is S.APPROVED and approved.approved_by == "alice"
    assert approved.history[-1].reason == "area checked"


def test_emergency_override_needs_a_second_person(world: World) -> None:
    view, _ = world.service.create(
        patrol(emergency_override=True, priority="emergency"), "alice", idempotency_key=None
    )
    assert view.state is S.SUBMITTED and view.permit is not None and view.permit.two_person
    with pytest.raises(PermitError, match="two-person"):
        world.service.approve(view.id, "alice", "safety_officer")
    assert world.service.approve(view.id, "bob", "safety_officer").approved_by == "bob"


def test_an_idlh_zone_needs_a_second_person(world: World) -> None:
    idlh = SITE.model_copy(
        update={
            "zones": [
                Zone(
                    id="tank-idlh",
                    kind="hazardous",
                    atmosphere="idlh",
                    polygon=[(17, 5), (19, 5), (19, 7), (17, 7)],
                ),
            ]
        }
    )
    service = MissionService(world.store, world.clock, {"unit-7": idlh}, runs=world.runs)
    view, _ = service.create(patrol(), "alice", idempotency_key=None)
    assert view.permit is not None and view.permit.two_person
    assert view.permit.zones == ("tank-idlh",)
    with pytest.raises(PermitError):
        service.approve(view.id, "Alice ", "safety_officer")
    assert service.approve(view.id, "bob", "safety_officer").state is S.APPROVED


def test_reject_needs_a_reason_and_only_a_submitted_mission(world: World) -> None:
    view, _ = world.service.create(gas_survey(), "alice", idempotency_key=None)
    with pytest.raises(MissionValidationError) as err:
        world.service.reject(view.id, "bob", "  ")
    assert err.value.field == "reason"
    rejected = world.service.reject(view.id, "bob", "wind from the east")
    assert rejected.state is S.REJECTED and rejected.history[-1].by == "bob"
    with pytest.raises(LifecycleError, match="rejected is a final state"):
        world.service.approve(view.id, "bob", "safety_officer")


def test_a_draft_is_stored_unsubmitted_and_submitted_later(world: World) -> None:
    view, _ = world.service.create(patrol(id="d-1"), "alice", idempotency_key=None, submit=False)
    assert view.state is S.DRAFT
    assert world.service.tick() == []
    assert world.service.submit("d-1", "alice").state is S.APPROVED


# ------------------------------------------------------------------ validation, idempotency


def test_the_same_idempotency_key_creates_one_mission(world: World) -> None:
    first, created = world.service.create(patrol(), "alice", idempotency_key="k-1")
    again, created_again = world.service.create(patrol(), "alice", idempotency_key="k-1")
    assert created and not created_again
    assert again.id == first.id and again.idempotency_key == "k-1"
    assert len(world.service.list()) == 1


def test_a_taken_mission_id_is_refused_with_its_field(world: World) -> None:
    world.service.create(patrol(id="round-1"), "alice", idempotency_key=None)
    with pytest.raises(MissionValidationError) as err:
        world.service.create(patrol(id="round-1"), "bob", idempotency_key=None)
    assert err.value.field == "id"
    assert world.service.get("round-1").submitted_by == "alice"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"site": "unit-9"}, "site"),
        ({"targets": [Target(kind="node", id="nowhere")]}, "targets.0.id"),
    ],
)
def test_a_request_that_does_not_fit_the_site_saves_nothing(
    world: World, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(MissionValidationError) as err:
        world.service.create(patrol(**change), "alice", idempotency_key="k")
    assert err.value.field == field
    assert world.service.list() == []


def test_get_names_a_missing_mission(world: World) -> None:
    with pytest.raises(MissionError, match="no mission nope"):
        world.service.get("nope")


# ------------------------------------------------------------------------ scheduling


def test_asap_mission_is_released_once(world: World) -> None:
    world.service.create(patrol(id="r-1"), "alice", idempotency_key=None)
    assert world.service.tick() == ["r-1"]
    assert [s.id for s in world.runs.submitted] == ["r-1"]
    assert world.runs.submitted[0].steps[0].node == "tank-t3"
    now = world.service.get("r-1")
    assert now.state is S.DISPATCHED and now.run_id == "r-1"
    assert states(now)[-2:] == ["scheduled", "dispatched"]
    assert [t.by for t in now.history[-2:]] == ["scheduler", "scheduler"]
    world.advance(seconds=5)
    assert world.service.tick() == []
    assert world.new_service().tick() == []  # nor after a restart
    assert len(world.runs.submitted) == 1
    assert [r.status for r in world.service.releases("r-1")] == ["released"]


def test_an_at_mission_waits_for_its_time(world: World) -> None:
    at = MON + timedelta(hours=6)
    world.service.create(
        patrol(id="r-1", schedule=Schedule(kind="at", at=at)), "a", idempotency_key=None
    )
    world.advance(hours=5, minutes=59)
    assert world.service.tick() == []
    assert world.service.get("r-1").state is S.SCHEDULED
    world.advance(minutes=1)
    assert world.service.tick() == ["r-1"]


def test_a_missed_window_fails_a_one_off_mission_and_is_reported(world: World) -> None:
    at = MON + timedelta(hours=6)
    world.service.create(
        patrol(id="r-1", schedule=Schedule(kind="at", at=at, window_s=600)),
        "a",
        idempotency_key=None,
    )
    world.service.tick()
    world.advance(hours=6, minutes=11)  # nobody ticked during the window
    assert world.service.tick() == []
    view = world.service.get("r-1")
    assert view.state is S.FAILED
    assert view.history[-1].reason.startswith("missed window")
    assert view.outcome_reason is not None and view.outcome_reason.startswith("missed window")
    assert [(r.occurrence, r.status) for r in world.service.releases("r-1")] == [(at, "missed")]
    assert world.runs.submitted == []


def test_a_passed_deadline_fails_the_mission(world: World) -> None:
    world.service.create(
        patrol(
            id="r-1",
            schedule=Schedule(
                kind="window",
                window_start=MON + timedelta(hours=1),
                window_end=MON + timedelta(hours=9),
            ),
            deadline=MON + timedelta(hours=2),
        ),
        "a",
        idempotency_key=None,
    )
    world.service.tick()
    world.advance(hours=3)
    world.service.tick()
    view = world.service.get("r-1")
    assert view.state is S.FAILED and view.history[-1].reason.startswith("missed deadline")
    assert world.runs.submitted == []


def test_a_refused_dispatch_fails_the_mission_with_the_reason(world: World) -> None:
    world.runs.refuse = "robot 'x' is not in the fleet"
    world.service.create(patrol(id="r-1", robot="x"), "a", idempotency_key=None)
    assert world.service.tick() == []
    view = world.service.get("r-1")
    assert view.state is S.FAILED and view.history[-1].by == "scheduler"
    assert view.outcome_reason == "failed: dispatch refused: robot 'x' is not in the fleet"


def test_weekday_rrule_releases_each_occurrence_once_even_across_restarts(world: World) -> None:
    schedule = Schedule(kind="recurring", rrule=WEEKDAYS_6, dtstart=MON - timedelta(days=30))
    world.service.create(patrol(id="round", schedule=schedule), "alice", idempotency_key=None)
    assert world.service.tick() == []  # Monday 00:00: scheduled, nothing due
    world.advance(hours=6)
    assert world.service.tick() == ["round"]
    run = world.runs.submitted[-1].id
    assert run == "round:20260302T060000Z"
    world.service.on_outcome(run, MissionOutcome.ACTIVE, "order taken", robot="sim-01")
    assert world.service.get("round").state is S.ACTIVE
    world.service.on_outcome(run, MissionOutcome.COMPLETED, "all nodes reached")
    view = world.service.get("round")
    assert view.state is S.SCHEDULED and view.robot == "sim-01"
    assert "run round:20260302T060000Z completed" in view.history[-1].reason
    # the same occurrence is not released again, neither now nor by a restarted service
    world.advance(minutes=1)
    assert world.service.tick() == []
    assert world.new_service().tick() == []
    # Tuesday's occurrence is missed (nobody ticked), Wednesday's released; a restarted
    # service sees the same history
    world.advance(days=2, minutes=2)  # Wednesday 06:03
    restarted = world.new_service()
    assert restarted.tick() == ["round"]  # Tuesday reported missed on the way
    assert world.runs.submitted[-1].id == "round:20260304T060000Z"
    assert restarted.tick() == []
    releases = [(r.occurrence.day, r.status) for r in world.service.releases("round")]
    assert releases == [(2, "released"), (3, "missed"), (4, "released")]
    assert world.service.get("round").state is S.DISPATCHED
    # a failed run does not end the series
    restarted.on_outcome("round:20260304T060000Z", MissionOutcome.FAILED, "action failed")
    view = world.service.get("round")
    assert view.state is S.SCHEDULED and view.outcome_reason == "failed: action failed"
    # Saturday and Sunday have no occurrence
    world.advance(days=3)  # Saturday 06:03: Thursday and Friday missed
    assert restarted.tick() == []
    world.advance(days=2)  # Monday 06:03
    assert restarted.tick() == ["round"]
    assert len(world.runs.submitted) == 3
    days = [(r.occurrence.day, r.status) for r in world.service.releases("round")][3:]
    assert days == [(5, "missed"), (6, "missed"), (9, "released")]


def test_concurrent_schedulers_on_one_store_release_each_mission_once(world: World) -> None:
    ids = [f"r-{i}" for i in range(5)]
    for mid in ids:
        world.service.create(patrol(id=mid), "a", idempotency_key=None)
    controllers = [FakeRuns() for _ in range(4)]
    schedulers = [world.new_service(runs) for runs in controllers]
    barrier = threading.Barrier(len(schedulers))
    results: list[list[str]] = []

    def run(service: MissionService) -> None:
        barrier.wait()  # all read the same versions, all try to move the same missions
        results.append(service.tick())

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(mid for r in results for mid in r) == ids
    assert sorted(spec.id for runs in controllers for spec in runs.submitted) == ids
    for mid in ids:
        assert states(world.service.get(mid)).count("dispatched") == 1


# ------------------------------------------------------------------------- outcomes


def released(world: World, **extra: Any) -> str:
    view, _ = world.service.create(patrol(**extra), "alice", idempotency_key=None)
    assert world.service.tick() == [view.id]
    return view.id


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        (MissionOutcome.COMPLETED, S.COMPLETED),
        (MissionOutcome.FAILED, S.FAILED),
        (MissionOutcome.ABORTED, S.ABORTED),
    ],
)
def test_controller_outcomes_end_the_mission(
    world: World, outcome: MissionOutcome, state: MissionState
) -> None:
    mid = released(world)
    world.service.on_outcome(mid, MissionOutcome.PENDING, "accepted")
    world.service.on_outcome(mid, MissionOutcome.DISPATCHED, "order sent")
    assert world.service.get(mid).state is S.DISPATCHED
    world.service.on_outcome(mid, MissionOutcome.ACTIVE, "order acknowledged", robot="sim-02")
    assert world.service.get(mid).state is S.ACTIVE
    world.service.on_outcome(mid, outcome, "the reason")
    view = world.service.get(mid)
    assert view.state is state and view.robot == "sim-02"
    assert view.history[-1].by == "controller" and view.history[-1].reason == "the reason"
    assert view.outcome_reason == f"{state.value}: the reason"


def test_a_completion_seen_before_acknowledgement_passes_through_active(world: World) -> None:
    mid = released(world)
    world.service.on_outcome(mid, MissionOutcome.COMPLETED, "done")
    assert states(world.service.get(mid))[-3:] == ["dispatched", "active", "completed"]


def test_a_user_cancel_is_cancelled_not_aborted(world: World) -> None:
    mid = released(world)
    world.service.on_outcome(mid, MissionOutcome.ACTIVE, "", robot="sim-01")
    view = world.service.cancel(mid, "olga", "gas alarm in the area")
    assert view.state is S.CANCELLED and view.history[-1].by == "olga"
    assert world.runs.calls == [("cancel", mid)]
    world.service.on_outcome(mid, MissionOutcome.ABORTED, "cancelled by the robot")
    assert world.service.get(mid).state is S.CANCELLED
    with pytest.raises(LifecycleError, match="final state"):
        world.service.cancel(mid, "olga")


def test_cancel_before_release_does_not_reach_the_controller(world: World) -> None:
    view, _ = world.service.create(gas_survey(), "alice", idempotency_key=None)
    assert world.service.cancel(view.id, "alice").state is S.CANCELLED
    assert world.runs.calls == []
    assert world.service.tick() == []


def test_pause_and_resume_are_forwarded_and_recorded(world: World) -> None:
    mid = released(world)
    with pytest.raises(LifecycleError):
        world.service.pause(mid, "olga")  # not active yet
    world.service.on_outcome(mid, MissionOutcome.ACTIVE, "")
    assert world.service.pause(mid, "olga", "visitor on site").state is S.PAUSED
    assert world.service.resume(mid, "olga").state is S.ACTIVE
    assert world.runs.calls == [("pause", mid), ("resume", mid)]
    assert states(world.service.get(mid))[-2:] == ["paused", "active"]


def test_reports_about_other_runs_are_ignored(world: World) -> None:
    mid = released(world)
    world.service.on_outcome("unknown-run", MissionOutcome.COMPLETED, "")
    world.service.on_outcome(f"{mid}:20260302T060000Z", MissionOutcome.COMPLETED, "")
    assert world.service.get(mid).state is S.DISPATCHED


# -------------------------------------------------------------------------- restart


def test_restart_resubmits_running_missions_to_the_same_robot(world: World) -> None:
    active = released(world, id="a-1")
    world.service.on_outcome(active, MissionOutcome.ACTIVE, "", robot="sim-02")
    assert released(world, id="d-1") == "d-1"
    paused = released(world, id="p-1")
    world.service.on_outcome(paused, MissionOutcome.ACTIVE, "", robot="sim-01")
    world.service.pause(paused, "olga")

    runs = FakeRuns()
    restarted = world.new_service(runs)
    assert restarted.resume_after_restart() == ["a-1", "d-1"]
    assert [(s.id, s.robot) for s in runs.submitted] == [("a-1", "sim-02"), ("d-1", None)]
    assert restarted.resume_after_restart() == []  # once per process
    # the paused one starts again only when resumed (as a new submission)
    assert restarted.resume(paused, "olga").state is S.ACTIVE
    assert [(s.id, s.robot) for s in runs.submitted][-1] == ("p-1", "sim-01")
    assert runs.calls == []
    # outcomes then flow as before
    restarted.on_outcome(active, MissionOutcome.COMPLETED, "done")
    assert restarted.get(active).state is S.COMPLETED


def test_a_robot_refusing_the_resubmitted_order_fails_the_mission(world: World) -> None:
    mid = released(world)
    restarted = world.new_service()
    restarted.resume_after_restart()
    restarted.on_outcome(mid, MissionOutcome.FAILED, "orderUpdateError: order r-1-1 is running")
    view = restarted.get(mid)
    assert view.state is S.FAILED and "orderUpdateError" in (view.outcome_reason or "")


def test_a_resubmission_the_controller_refuses_fails_the_mission(world: World) -> None:
    mid = released(world)
    runs = FakeRuns()
    runs.refuse = "robot 'sim-09' is not in the fleet"
    world.new_service(runs).resume_after_restart()
    view = world.service.get(mid)
    assert view.state is S.FAILED
    assert "cannot resume after restart" in (view.outcome_reason or "")


def test_restart_completes_an_interrupted_recurring_release(world: World) -> None:
    schedule = Schedule(kind="recurring", rrule=WEEKDAYS_6, dtstart=MON)
    world.service.create(patrol(id="round", schedule=schedule), "a", idempotency_key=None)
    world.service.tick()
    world.advance(hours=6)
    # a stop right after the release's state change: no release record, nothing submitted
    run = "round:20260302T060000Z"
    rec = world.store.get_mission("round")
    assert rec is not None
    at = datetime.fromtimestamp(world.clock.now(), UTC)
    world.store.transition(
        "round", "scheduled", "dispatched", "scheduler", at, "released", order_id=run
    )
    assert world.store.releases("round") == []

    runs = FakeRuns()
    restarted = world.new_service(runs)
    assert restarted.resume_after_restart() == [run]
    assert [s.id for s in runs.submitted] == [run]
    assert [r.status for r in world.store.releases("round")] == ["released"]
    restarted.on_outcome(run, MissionOutcome.COMPLETED, "done")
    world.advance(minutes=1)
    assert restarted.tick() == []  # the occurrence is not released a second time
    assert len(runs.submitted) == 1


def test_emergencies_are_released_first(world: World) -> None:
    world.service.create(patrol(id="routine-1"), "alice", idempotency_key=None)
    world.service.create(patrol(id="urgent-1", priority="urgent"), "alice", idempotency_key=None)
    view, _ = world.service.create(
        patrol(id="emergency-1", priority="emergency", emergency_override=True),
        "alice",
        idempotency_key=None,
    )
    world.service.approve(view.id, "bob", "safety_officer")
    assert world.service.tick() == ["emergency-1", "urgent-1", "routine-1"]


def test_a_run_over_its_maximum_duration_is_aborted(world: World) -> None:
    mid = released(world, max_duration_s=600)
    world.advance(minutes=30)  # waiting for a robot does not count
    world.service.tick()
    world.service.on_outcome(mid, MissionOutcome.ACTIVE, "", robot="sim-01")
    world.advance(minutes=10)
    world.service.tick()
    assert world.service.get(mid).state is S.ACTIVE
    world.advance(seconds=1)
    world.service.tick()
    view = world.service.get(mid)
    assert view.state is S.ABORTED and view.history[-1].by == "scheduler"
    assert view.outcome_reason == "aborted: maximum duration 600 s exceeded"
    assert world.runs.calls == [("cancel", mid)]
    world.service.on_outcome(mid, MissionOutcome.ABORTED, "order cancelled")
    assert world.service.get(mid).state is S.ABORTED

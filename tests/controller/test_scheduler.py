"""Run ids and the scheduler's decisions from stored records (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.scheduler import (
    Missed,
    Release,
    decide,
    describe_schedule,
    parse_run_id,
    run_id,
    scheduled_since,
)
from controller.store import ReleaseRecord, TransitionRecord
from missions.mission import MissionSpec, MissionStep
from missions.model import MissionRequest, Schedule, Target

WEEKDAYS_6 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
MON = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def request(schedule: Schedule, deadline: datetime | None = None) -> MissionRequest:
    return MissionRequest(
        id="round-1",
        name="round",
        template="patrol",
        site="unit-7",
        targets=[Target(kind="node", id="tank-t3")],
        schedule=schedule,
        deadline=deadline,
    )


def scheduled_at(when: datetime) -> list[TransitionRecord]:
    return [
        TransitionRecord("round-1", None, "draft", "alice", when),
        TransitionRecord("round-1", "draft", "submitted", "alice", when),
        TransitionRecord("round-1", "submitted", "approved", "system", when),
        TransitionRecord("round-1", "approved", "scheduled", "scheduler", when),
    ]


def test_one_off_runs_under_the_mission_id() -> None:
    assert run_id("m-1", MON, recurring=False) == "m-1"
    assert parse_run_id("m-1") == ("m-1", None)


def test_recurring_run_id_names_the_occurrence_in_utc_and_parses_back() -> None:
    local = datetime(2026, 3, 2, 6, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    run = run_id("round:a", local, recurring=True)
    assert run == "round:a:20260302T050000Z"
    assert parse_run_id(run) == ("round:a", datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    # the controller must accept it as a MissionSpec id (and so as a VDA 5050 orderId)
    MissionSpec(id=run, steps=[MissionStep(node="a")])


def test_a_mission_id_that_merely_contains_the_separator_is_not_a_recurring_run() -> None:
    assert parse_run_id("area:north") == ("area:north", None)
    assert parse_run_id(":20260302T050000Z") == (":20260302T050000Z", None)


def test_run_id_refuses_a_naive_occurrence() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_id("m", datetime(2026, 3, 2, 6, 0), recurring=True)


def test_recurring_decision_starts_at_the_time_the_mission_was_scheduled() -> None:
    # dtstart a year back: the occurrences before scheduling are not reported as missed
    sched = Schedule(kind="recurring", rrule=WEEKDAYS_6, dtstart=MON - timedelta(days=364))
    now = MON + timedelta(hours=6, minutes=5)
    decision = decide(request(sched), now, [], scheduled_at(MON))
    assert decision.due == Release(MON + timedelta(hours=6))
    assert not decision.deadline_passed


def test_handled_occurrences_are_not_released_again() -> None:
    sched = Schedule(kind="recurring", rrule=WEEKDAYS_6, dtstart=MON)
    occ = MON + timedelta(hours=6)
    done = [ReleaseRecord("round-1", occ, "released", occ)]
    assert decide(request(sched), occ + timedelta(minutes=1), done, scheduled_at(MON)).due is None


def test_a_late_occurrence_is_missed_and_a_passed_deadline_is_flagged() -> None:
    at = MON + timedelta(hours=6)
    sched = Schedule(kind="at", at=at, window_s=600)
    late = decide(request(sched), at + timedelta(minutes=11), [], scheduled_at(MON))
    assert isinstance(late.due, Missed) and "window closed" in late.due.reason
    deadline = at + timedelta(minutes=5)
    decision = decide(request(sched, deadline), at + timedelta(minutes=6), [], scheduled_at(MON))
    assert isinstance(decision.due, Missed) and "deadline" in decision.due.reason
    assert decision.deadline_passed


def test_scheduled_since_ignores_a_recurring_series_returning_from_a_run() -> None:
    history = [
        *scheduled_at(MON),
        TransitionRecord("round-1", "active", "scheduled", "controller", MON + timedelta(days=1)),
    ]
    assert scheduled_since(history) == MON
    assert scheduled_since(history[:3]) is None


def test_schedules_are_described_for_the_history() -> None:
    at = MON + timedelta(hours=6)
    assert describe_schedule(Schedule()) == "as soon as possible"
    assert "2026-03-02T06:00:00+00:00" in describe_schedule(Schedule(kind="at", at=at))
    assert WEEKDAYS_6 in describe_schedule(
        Schedule(kind="recurring", rrule=WEEKDAYS_6, dtstart=MON)
    )
    assert "within" in describe_schedule(
        Schedule(kind="window", window_start=at, window_end=at + timedelta(hours=1))
    )

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from missions.model import Schedule
from missions.schedule import (
    Missed,
    Release,
    due_release,
    next_occurrence,
    occurrences,
    parse_rrule,
)

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_0600 = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0;BYSECOND=0"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def weekdays(**kw: Any) -> Schedule:
    data: dict[str, Any] = {
        "kind": "recurring",
        "rrule": WEEKDAYS_0600,
        "dtstart": datetime(2026, 1, 5, 6, 0, tzinfo=BERLIN),
    }
    data.update(kw)
    return Schedule.model_validate(data)


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"kind": "at"}, "at is required"),
        ({"kind": "at", "at": "2026-03-02T06:00:00"}, "timezone"),  # naive
        ({"kind": "asap", "at": "2026-03-02T06:00:00Z"}, "not used"),
        ({"kind": "window", "window_start": "2026-03-02T06:00:00Z"}, "window_end is required"),
        (
            {
                "kind": "window",
                "window_start": "2026-03-02T06:00:00Z",
                "window_end": "2026-03-02T05:00:00Z",
            },
            "after window_start",
        ),
        ({"kind": "recurring", "rrule": "FREQ=DAILY"}, "dtstart is required"),
        ({"kind": "recurring", "rrule": "BYHOUR=6", "dtstart": "2026-03-02T06:00:00Z"}, "FREQ"),
        ({"kind": "recurring", "rrule": "FREQ=SOMETIMES", "dtstart": "2026-03-02T06:00Z"}, "rrule"),
        (
            {
                "kind": "recurring",
                "rrule": "FREQ=DAILY",
                "dtstart": "2026-03-02T06:00:00Z",
                "timezone": "Mars/Olympus",
            },
            "unknown time zone",
        ),
        ({"kind": "at", "at": "2026-03-02T06:00:00Z", "window_s": 0}, "greater than 0"),
        ({"kind": "sometimes"}, "kind"),
    ],
)
def test_invalid_schedules(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Schedule.model_validate(data)


def test_rrule_body_may_not_carry_its_own_dtstart() -> None:
    with pytest.raises(ValueError, match="dtstart"):
        parse_rrule("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY", utc(2026, 1, 1))
    parse_rrule("RRULE:FREQ=DAILY", utc(2026, 1, 1))  # the property name is tolerated


# --- occurrences ---------------------------------------------------------------------


def test_every_weekday_at_six_over_a_week() -> None:
    s = weekdays()
    got = occurrences(s, utc(2026, 3, 9), utc(2026, 3, 16, 5))  # Mon 9 .. Mon 16 06:00, inclusive
    local = [o.astimezone(BERLIN) for o in got]
    assert [d.day for d in local] == [9, 10, 11, 12, 13, 16]
    assert all((d.hour, d.minute) == (6, 0) for d in local)
    assert got[0] == utc(2026, 3, 9, 5)  # CET = UTC+1


def test_local_six_oclock_survives_daylight_saving() -> None:
    # Europe/Berlin goes to summer time on Sunday 29 March 2026
    got = occurrences(weekdays(), utc(2026, 3, 26), utc(2026, 4, 1, 12))
    assert got == [
        utc(2026, 3, 26, 5),
        utc(2026, 3, 27, 5),
        utc(2026, 3, 30, 4),  # CEST = UTC+2: still 06:00 on the plant's clock
        utc(2026, 3, 31, 4),
        utc(2026, 4, 1, 4),
    ]


def test_timezone_field_makes_a_fixed_offset_dtstart_dst_safe() -> None:
    # a mission file can only write "+01:00"; the zone name keeps 06:00 local in summer
    fixed = weekdays(dtstart="2026-01-05T06:00:00+01:00")
    zoned = weekdays(dtstart="2026-01-05T06:00:00+01:00", timezone="Europe/Berlin")
    assert occurrences(fixed, utc(2026, 3, 30), utc(2026, 3, 31)) == [utc(2026, 3, 30, 5)]
    assert occurrences(zoned, utc(2026, 3, 30), utc(2026, 3, 31)) == [utc(2026, 3, 30, 4)]


def test_one_off_occurrences_and_next() -> None:
    at = Schedule(kind="at", at=utc(2026, 3, 2, 6))
    assert occurrences(at, utc(2026, 3, 1), utc(2026, 3, 3)) == [utc(2026, 3, 2, 6)]
    assert occurrences(at, utc(2026, 3, 3), utc(2026, 3, 4)) == []
    assert occurrences(Schedule(), utc(2026, 3, 1), utc(2026, 3, 3)) == []
    assert next_occurrence(at, utc(2026, 3, 1)) == utc(2026, 3, 2, 6)
    assert next_occurrence(at, utc(2026, 3, 2, 6)) is None
    assert next_occurrence(weekdays(), utc(2026, 3, 13, 6)) == utc(2026, 3, 16, 5)  # Fri -> Mon
    limited = weekdays(rrule=WEEKDAYS_0600 + ";COUNT=2")
    assert next_occurrence(limited, utc(2026, 1, 6, 6)) is None


# --- due_release -----------------------------------------------------------------------


def test_asap_is_due_once() -> None:
    now = utc(2026, 3, 2, 8)
    assert due_release(Schedule(), now, set()) == Release(now)
    assert due_release(Schedule(), now + timedelta(seconds=1), {now}) is None


def test_at_due_then_missed() -> None:
    s = Schedule(kind="at", at=utc(2026, 3, 2, 6), window_s=600)
    assert due_release(s, utc(2026, 3, 2, 5, 59), set()) is None
    assert due_release(s, utc(2026, 3, 2, 6), set()) == Release(utc(2026, 3, 2, 6))
    assert due_release(s, utc(2026, 3, 2, 6, 10), set()) == Release(utc(2026, 3, 2, 6))
    missed = due_release(s, utc(2026, 3, 2, 6, 10, 1), set())
    assert isinstance(missed, Missed) and missed.occurrence == utc(2026, 3, 2, 6)
    assert "window closed" in missed.reason
    # handled occurrences are not answered again
    assert due_release(s, utc(2026, 3, 2, 7), {utc(2026, 3, 2, 6)}) is None


def test_window_due_inside_missed_after() -> None:
    s = Schedule(kind="window", window_start=utc(2026, 3, 2, 6), window_end=utc(2026, 3, 2, 10))
    assert due_release(s, utc(2026, 3, 2, 5), set()) is None
    assert due_release(s, utc(2026, 3, 2, 9, 59), set()) == Release(utc(2026, 3, 2, 6))
    assert due_release(s, utc(2026, 3, 2, 10), set()) == Release(utc(2026, 3, 2, 6))
    missed = due_release(s, utc(2026, 3, 2, 10, 0, 1), set())
    assert isinstance(missed, Missed) and "window closed" in missed.reason


def test_recurring_releases_the_current_occurrence() -> None:
    s = weekdays()  # window 900 s
    six = utc(2026, 3, 10, 5)  # Tue 06:00 Berlin
    assert due_release(s, six - timedelta(seconds=1), {utc(2026, 3, 9, 5)}, since=six) is None
    assert due_release(s, six + timedelta(minutes=14), set(), since=six) == Release(six)
    assert due_release(s, six + timedelta(minutes=14), {six}, since=six) is None


def test_recurring_reports_every_missed_occurrence_before_releasing() -> None:
    s = weekdays()
    since = utc(2026, 3, 9)  # approved Monday 01:00 Berlin; controller down until Wed 06:05
    now = utc(2026, 3, 11, 5, 5)
    handled: set[datetime] = set()
    answers = []
    while (due := due_release(s, now, handled, since=since)) is not None:
        answers.append(due)
        handled.add(due.occurrence)
        if isinstance(due, Release):
            break
    assert [(type(a), a.occurrence) for a in answers] == [
        (Missed, utc(2026, 3, 9, 5)),
        (Missed, utc(2026, 3, 10, 5)),
        (Release, utc(2026, 3, 11, 5)),
    ]
    assert all("window closed" in a.reason for a in answers if isinstance(a, Missed))


def test_recurring_does_not_report_history_before_since() -> None:
    s = weekdays()  # dtstart in January
    now = utc(2026, 3, 11, 5, 5)
    assert due_release(s, now, set(), since=utc(2026, 3, 11)) == Release(utc(2026, 3, 11, 5))


def test_deadline_passed_is_missed() -> None:
    deadline = utc(2026, 3, 2, 7)
    late = utc(2026, 3, 2, 7, 1)
    asap = due_release(Schedule(), late, set(), deadline=deadline)
    assert isinstance(asap, Missed) and asap.reason.startswith("deadline")
    s = Schedule(kind="window", window_start=utc(2026, 3, 2, 6), window_end=utc(2026, 3, 2, 10))
    due = due_release(s, late, set(), deadline=deadline)
    assert isinstance(due, Missed) and "deadline" in due.reason
    assert due_release(s, utc(2026, 3, 2, 6, 30), set(), deadline=deadline) == Release(
        utc(2026, 3, 2, 6)
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_release(Schedule(), datetime(2026, 3, 2, 6), set())


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("FREQ=MINUTELY;INTERVAL=30", "FREQ=HOURLY"),
        ("FREQ=SECONDLY", "finer"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never falls"),
        ("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", "BYSETPOS"),
        ("FREQ=YEARLY;BYMONTH=1;BYYEARDAY=60", "BYYEARDAY"),
        ("FREQ=DAILY;UNTIL=20250101T000000Z", "no occurrence"),
        ("FREQ=DAILY;BYHOUR", "NAME=VALUE"),
        ("FREQ=DAILY;BYMONTH=13", "not a month"),
    ],
)
def test_rules_without_useful_occurrences_are_refused_quickly(body: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_rrule(body, utc(2026, 1, 1))


def test_leap_day_rule_is_accepted() -> None:
    rule = parse_rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", utc(2026, 1, 1))
    assert rule.after(utc(2026, 1, 1)) == utc(2028, 2, 29)

"""When scheduled missions fall due: pure arithmetic over :class:`~missions.model.Schedule`.

The scheduler (in the controller) calls :func:`due_release` on every tick with the
current time and the occurrences it has already handled (released *or* reported
missed).  The answer is one of:

- :class:`Release` -- start the mission for this occurrence now;
- :class:`Missed` -- this occurrence can no longer start (its window closed, or the
  deadline passed); record it and report it, never drop it silently;
- ``None`` -- nothing to do now.

For recurring schedules several occurrences may be pending after a stop of the
controller: they are answered one per call, earliest first, so every missed one is
reported before the current one is released.  All datetimes are timezone-aware;
recurrences are computed in ``dtstart``'s zone, so "every weekday at 06:00" stays
06:00 local time across daylight-saving changes (use a ``zoneinfo.ZoneInfo`` dtstart).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from dateutil.rrule import rrule, rrulestr

from missions.model import Schedule

MAX_OCCURRENCES = 100_000
"""guard against a rule that would enumerate without end in :func:`occurrences`"""


@dataclass(frozen=True)
class Release:
    occurrence: datetime
    """the scheduled time this release answers (for asap: when it was released)"""


@dataclass(frozen=True)
class Missed:
    occurrence: datetime
    reason: str


Due = Release | Missed


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def parse_rrule(body: str, dtstart: datetime) -> rrule:
    """Parse an RFC 5545 RRULE body (``FREQ=...;...``) anchored at ``dtstart``.

    Raises ValueError with the reason.  DTSTART belongs in ``dtstart``, not in the body,
    and a rule must be a single RRULE (no RDATE/EXDATE sets).
    """
    _aware("dtstart", dtstart)
    text = body.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise ValueError("rrule is empty")
    if "\n" in text or "DTSTART" in text.upper():
        raise ValueError("rrule must be a single RRULE body; give dtstart separately")
    if "FREQ=" not in text.upper():
        raise ValueError("rrule needs FREQ (e.g. FREQ=DAILY)")
    parts = _rule_parts(text)
    _refuse_endless(parts)
    try:
        rule = rrulestr(text, dtstart=dtstart, cache=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid rrule {body!r}: {exc}") from exc
    if not isinstance(rule, rrule):  # pragma: no cover - rrulestr of one RRULE is an rrule
        raise ValueError(f"rrule {body!r} is not a single rule")
    if rule.after(dtstart, inc=True) is None:
        raise ValueError(f"rrule {body!r} has no occurrence at or after dtstart")
    return rule


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: leap years


def _rule_parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"rrule part {item!r} is not NAME=VALUE")
        parts[name.strip().upper()] = value.strip()
    return parts


def _ints(parts: dict[str, str], name: str) -> list[int]:
    try:
        return [int(v) for v in parts[name].split(",")] if name in parts else []
    except ValueError:
        raise ValueError(f"rrule {name}={parts[name]} must be a list of integers") from None


def _refuse_endless(parts: dict[str, str]) -> None:
    """Refuse rules that dateutil would search for seconds before finding no occurrence.

    dateutil walks an impossible rule (e.g. 30 February) period by period up to the
    year 9999: ~10 s at minute resolution, long enough to stall the scheduler's tick.
    Rules finer than hourly are refused (a mission every few minutes is a mistake; use
    FREQ=HOURLY;BYMINUTE=0,30), and so are day combinations that never exist.
    """
    freq = parts.get("FREQ", "").upper()
    if freq in ("SECONDLY", "MINUTELY"):
        raise ValueError(f"FREQ={freq} is finer than a mission can recur; use FREQ=HOURLY")
    if "BYSETPOS" in parts:
        raise ValueError("BYSETPOS is not supported; use e.g. BYDAY=-1FR for the last Friday")
    months = _ints(parts, "BYMONTH") or list(range(1, 13))
    for month in months:
        if not 1 <= month <= 12:
            raise ValueError(f"BYMONTH={month} is not a month")
    monthdays = _ints(parts, "BYMONTHDAY")
    if monthdays and not any(abs(d) <= _DAYS_IN_MONTH[m - 1] for d in monthdays for m in months):
        raise ValueError("BYMONTHDAY never falls in the BYMONTH months")
    if "BYMONTH" in parts and ("BYYEARDAY" in parts or "BYWEEKNO" in parts):
        raise ValueError("BYYEARDAY/BYWEEKNO cannot be combined with BYMONTH")


@lru_cache(maxsize=4096)
def _cached_rule(body: str, dtstart: datetime, zone_key: str) -> rrule:
    # The scheduler asks for the same few rules on every tick for every stored mission;
    # a cached rule (cache=True) also remembers its occurrences.  Iterating an rrule does
    # not change it, so sharing is safe.  ``zone_key`` is part of the key because equal
    # datetimes in different zones hash alike but recur differently across DST.
    return parse_rrule(body, dtstart)


def _rule(schedule: Schedule) -> rrule:
    assert schedule.rrule is not None  # checked by Schedule
    dtstart = schedule.local_dtstart()
    return _cached_rule(schedule.rrule, dtstart, repr(dtstart.tzinfo))


def occurrences(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """Scheduled start times in [``after``, ``until``] (both inclusive).

    ``asap`` has no times ([]); ``at`` has one; ``window`` has its start; ``recurring``
    the rule's occurrences (at most :data:`MAX_OCCURRENCES`).
    """
    _aware("after", after)
    _aware("until", until)
    if until < after:
        return []
    if schedule.kind == "recurring":
        out: list[datetime] = []
        for occ in _rule(schedule).xafter(after, inc=True):
            if occ > until or len(out) >= MAX_OCCURRENCES:
                break
            out.append(occ)
        return out
    first = schedule.first_time()
    if first is None or not after <= first <= until:
        return []
    return [first]


def next_occurrence(schedule: Schedule, after: datetime) -> datetime | None:
    """The first scheduled time strictly after ``after``; None when there is none
    (asap, a past one-off, an exhausted rule)."""
    _aware("after", after)
    if schedule.kind == "recurring":
        return _rule(schedule).after(after, inc=False)
    first = schedule.first_time()
    return first if first is not None and first > after else None


def due_release(
    schedule: Schedule,
    now: datetime,
    released: Set[datetime],
    *,
    deadline: datetime | None = None,
    since: datetime | None = None,
) -> Due | None:
    """What the scheduler must do for one mission at ``now``.

    ``released``: occurrences already handled (released or recorded as missed).
    ``deadline``: latest start of the mission; past it, a pending occurrence is
    ``Missed("deadline ...")``.  ``since``: recurring only -- ignore occurrences before
    this moment (e.g. when the mission was approved), so a rule whose dtstart lies in the
    past does not report years of misses; default ``dtstart``.

    - asap: due now (``Release(now)``) unless already released.
    - at: due when ``now >= at``; missed once ``now > at + window_s``.
    - window: due within [window_start, window_end]; missed after window_end.
    - recurring: the earliest unhandled occurrence in [since, now] is released if
      ``now <= occurrence + window_s``, else reported missed (one per call).
    """
    _aware("now", now)
    window = timedelta(seconds=schedule.window_s)
    late = deadline is not None and now > deadline

    def deadline_missed(occ: datetime) -> Missed:
        assert deadline is not None
        return Missed(occ, f"deadline {deadline.isoformat()} passed")

    if schedule.kind == "asap":
        if released:
            return None
        return deadline_missed(now) if late else Release(now)

    if schedule.kind == "at":
        assert schedule.at is not None
        occ = schedule.at
        if occ in released or now < occ:
            return None
        if now > occ + window:
            return Missed(occ, f"start window closed at {(occ + window).isoformat()}")
        return deadline_missed(occ) if late else Release(occ)

    if schedule.kind == "window":
        assert schedule.window_start is not None and schedule.window_end is not None
        occ = schedule.window_start
        if occ in released or now < occ:
            return None
        if now > schedule.window_end:
            return Missed(occ, f"window closed at {schedule.window_end.isoformat()}")
        return deadline_missed(occ) if late else Release(occ)

    # recurring
    assert schedule.dtstart is not None
    lower = schedule.dtstart if since is None else max(since, schedule.dtstart)
    # occurrences handled earlier cannot come back; start after the newest one handled
    handled = [r for r in released if r >= lower]
    if handled:
        lower = max(handled)
    for occ in _rule(schedule).xafter(lower, inc=True):
        if occ > now:
            return None
        if occ in released:
            continue
        if now > occ + window:
            return Missed(occ, f"start window closed at {(occ + window).isoformat()}")
        return deadline_missed(occ) if late else Release(occ)
    return None

"""What a safety officer submits: the mission request, its targets, limits and schedule.

A :class:`MissionRequest` is the *intent* (mission file YAML or API JSON).  A template
(:mod:`missions.templates`) expands it, against a site map, into the executable
:class:`~missions.mission.MissionSpec` the controller dispatches.  Parsing files is not
done here (no I/O in ``missions``): the CLI and the API read YAML/JSON and call
``MissionRequest.model_validate``.

Validation happens in two stages:

1. *Site-free* (here, on ``model_validate``): field types, limits, schedule consistency,
   the template name and the template's own parameters.  Errors are pydantic
   ``ValidationError`` with the field path.
2. *Against a site* (``Template.expand`` / :func:`missions.templates.plan`): targets exist,
   zones contain nodes, nodes are reachable.  Errors are :class:`MissionValidationError`
   carrying the field path.

All datetimes must be timezone-aware; a naive datetime is refused because "06:00"
without a zone is ambiguous for a schedule that must fire at the right moment.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from missions.errors import MissionError

ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
DEFAULT_WINDOW_S = 900.0
"""How long after a scheduled time a mission may still start, in s (15 min)."""


class MissionValidationError(MissionError):
    """A mission request that cannot be planned, with the field path that is wrong.

    ``field`` is a dotted path into the request (``targets.1.id``, ``params.dwell_s``).
    The API maps it to HTTP 422, the CLI to exit code 2.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Target(_Strict):
    """Where the mission works.

    ``node``: a site node id.  ``zone``: a site zone id; templates that sample an area use
    every node inside the zone polygon.  ``asset``: a piece of plant (pump, tank); for now
    an asset is identified by the id of the site node in front of it.
    """

    kind: Literal["node", "zone", "asset"] = "node"
    id: str = Field(min_length=1, pattern=ID_PATTERN)


class TurnBackLimits(_Strict):
    """Readings at which the robot turns back (hazards.md §1.2 for gases, §1.5 for dose).

    Every limit is optional and, when given, strictly positive.
    """

    lel_pct: float | None = Field(default=None, gt=0, le=100)
    """flammable gas in %LEL (a typical HIGH alarm is 20 %LEL, hazards.md §1.2)"""
    gas_ppm: dict[str, float] = Field(default_factory=dict)
    """toxic gas -> limit in ppm, e.g. {"H2S": 10, "CO": 35}"""
    o2_low_pct: float | None = Field(default=None, gt=0, le=100)
    """oxygen deficiency in %vol (19.5 in 29 CFR 1910.146)"""
    o2_high_pct: float | None = Field(default=None, gt=0, le=100)
    """oxygen enrichment in %vol (23.5 in 29 CFR 1910.146)"""
    dose_rate_usv_h: float | None = Field(default=None, gt=0)
    """turn-back dose rate in µSv/h (hazards.md §1.5)"""
    dose_usv: float | None = Field(default=None, gt=0)
    """turn-back integrated dose in µSv (hazards.md §1.5)"""
    temperature_c: float | None = Field(default=None, gt=0)
    """turn-back air/surface temperature in °C"""

    @field_validator("gas_ppm")
    @classmethod
    def _positive_gas(cls, value: dict[str, float]) -> dict[str, float]:
        for gas, ppm in value.items():
            if not gas:
                raise ValueError("gas names must not be empty")
            if not ppm > 0:
                raise ValueError(f"{gas}: limit must be > 0 ppm, got {ppm}")
        return value

    @model_validator(mode="after")
    def _o2_band(self) -> TurnBackLimits:
        if (
            self.o2_low_pct is not None
            and self.o2_high_pct is not None
            and self.o2_low_pct >= self.o2_high_pct
        ):
            raise ValueError(
                f"o2_low_pct ({self.o2_low_pct}) must be below o2_high_pct ({self.o2_high_pct})"
            )
        return self


class Schedule(_Strict):
    """When a mission may start.

    - ``asap``: as soon as it is approved.
    - ``at``: at ``at``; it may still start up to ``window_s`` later, then it is missed.
    - ``window``: any time in [``window_start``, ``window_end``]; missed after the end.
    - ``recurring``: at every occurrence of ``rrule`` (RFC 5545 RRULE body, e.g.
      ``FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0;BYSECOND=0``) counted from
      ``dtstart``; each occurrence may start up to ``window_s`` later.  Occurrences are
      computed in ``dtstart``'s time zone, so "06:00" stays 06:00 local across DST.
    """

    kind: Literal["asap", "at", "window", "recurring"] = "asap"
    at: AwareDatetime | None = None
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    rrule: str | None = None
    dtstart: AwareDatetime | None = None
    window_s: float = Field(default=DEFAULT_WINDOW_S, gt=0)
    """s after each scheduled time during which the mission may still start"""
    timezone: str | None = None
    """recurring only: IANA zone (e.g. ``Europe/Berlin``) whose wall clock the rule
    follows; a file can only give ``dtstart`` a fixed UTC offset, and a fixed offset
    would move "06:00" by an hour at every DST change.  None: dtstart's own zone."""

    @model_validator(mode="after")
    def _per_kind(self) -> Schedule:
        used = {
            "at": self.at is not None,
            "window_start": self.window_start is not None,
            "window_end": self.window_end is not None,
            "rrule": self.rrule is not None,
            "dtstart": self.dtstart is not None,
            "timezone": self.timezone is not None,
        }
        allowed: dict[str, set[str]] = {
            "asap": set(),
            "at": {"at"},
            "window": {"window_start", "window_end"},
            "recurring": {"rrule", "dtstart", "timezone"},
        }
        optional = {"timezone"}
        for name, present in used.items():
            if present and name not in allowed[self.kind]:
                raise ValueError(f"{name} is not used by a schedule of kind {self.kind!r}")
        for name in sorted(allowed[self.kind] - optional):
            if not used[name]:
                raise ValueError(f"{name} is required for a schedule of kind {self.kind!r}")
        if (
            self.kind == "window"
            and self.window_start is not None
            and self.window_end is not None
            and self.window_end <= self.window_start
        ):
            raise ValueError("window_end must be after window_start")
        if self.kind == "recurring":
            # imported here: the rule parser lives with the scheduling arithmetic
            from missions.schedule import parse_rrule

            parse_rrule(self.rrule or "", self.local_dtstart())  # ValueError with the reason
        return self

    def local_dtstart(self) -> datetime:
        """``dtstart`` in ``timezone`` (recurring schedules); raises ValueError if unset
        or the zone is unknown."""
        if self.dtstart is None:
            raise ValueError("dtstart is not set")
        if self.timezone is None:
            return self.dtstart
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self.dtstart.astimezone(zone)

    def first_time(self) -> datetime | None:
        """The earliest moment the schedule allows a start (None for asap)."""
        if self.kind == "at":
            return self.at
        if self.kind == "window":
            return self.window_start
        if self.kind == "recurring":
            return self.dtstart
        return None


class MissionRequest(_Strict):
    """A mission as a safety officer writes it (mission file or API JSON)."""

    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID_PATTERN)
    """None: the server assigns ``m-<8 hex digits>``"""
    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1)
    """a name in :data:`missions.templates.TEMPLATES`"""
    site: str = Field(min_length=1)
    """site id (the map id of the site, e.g. ``unit-7``)"""
    targets: list[Target] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    """template parameters, validated by the template's params model"""
    required_capabilities: list[str] = Field(default_factory=list)
    """action types needed in addition to those the template uses"""
    priority: Priority = Priority.ROUTINE
    schedule: Schedule = Field(default_factory=Schedule)
    deadline: AwareDatetime | None = None
    """latest start; a mission not released by then is reported missed"""
    max_duration_s: float | None = Field(default=None, gt=0)
    turn_back: TurnBackLimits = Field(default_factory=TurnBackLimits)
    permit_required: bool | None = None
    """None: derived from the zones the targets lie in (:mod:`missions.permits`)"""
    emergency_override: bool = False
    """forces a permit to work under the two-person rule (:mod:`missions.permits`), whatever
    the zones say; it does not bypass the schedule or change the release order (use
    ``priority: emergency`` for that)"""
    robot: str | None = Field(default=None, min_length=1, pattern=ID_PATTERN)
    """serial number of the robot to use; None lets the controller choose"""

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        from missions.templates import TEMPLATES  # the registry imports this module

        if value not in TEMPLATES:
            raise ValueError(f"unknown template {value!r}; known: {', '.join(sorted(TEMPLATES))}")
        return value

    @field_validator("required_capabilities")
    @classmethod
    def _capability_names(cls, value: list[str]) -> list[str]:
        for cap in value:
            if not cap:
                raise ValueError("capability names must not be empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MissionRequest:
        first = self.schedule.first_time()
        if self.deadline is not None and first is not None and self.deadline <= first:
            raise ValueError(
                f"deadline {self.deadline.isoformat()} is not after the scheduled start "
                f"{first.isoformat()}"
            )
        from missions.templates import TEMPLATES

        try:
            TEMPLATES[self.template].check(self)
        except MissionValidationError as exc:
            # pydantic reports ValueError with the path in the message; the site-free
            # template checks are thereby part of model validation (API 422, CLI exit 2)
            raise ValueError(str(exc)) from exc
        return self

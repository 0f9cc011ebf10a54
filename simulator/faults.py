"""The ``faults:`` section of a drill scenario, and its timeline (see docs/drills.md).

Pure: pydantic models of the six fault kinds, the checks that need the rest of the
scenario (:func:`check_faults`, failing with the dotted field path of the offending
value) and :class:`FaultTimeline`, which turns the faults into start and end events in
simulated seconds.  Applying them (cutting a robot's MQTT link, stopping the broker,
emptying a battery) is the drill runner's job (:mod:`simulator.drill`).

Kinds and what they do:

==================  =====================================================================
``link_loss``       the robot's MQTT connection drops abruptly (its last will
                    CONNECTIONBROKEN fires) and stays down for ``duration_s``
``broker_outage``   the embedded broker stops and starts again after ``duration_s``
``battery_failure`` the robot's battery drops to 0 %: FATAL ``batteryEmpty``
``stuck_sensor``    the robot's gas readings freeze at their value at onset for
                    ``duration_s``
``stall``           the robot stops advancing for ``duration_s`` and reports a WARNING
                    ``stalled`` error
``drop_messages``   a seeded ``fraction`` of the robot's outgoing messages is dropped for
                    ``duration_s``
==================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_FAULT_DURATION_S = 86_400.0
"""a fault lasting longer than a simulated day is a typo"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Fault(_Strict):
    at_s: float = Field(ge=0)
    """simulated seconds after the drill starts at which the fault begins"""


class _Timed(_Fault):
    duration_s: float = Field(gt=0, le=MAX_FAULT_DURATION_S)
    """simulated seconds the fault lasts"""

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s


class LinkLoss(_Timed):
    kind: Literal["link_loss"]
    robot: str = Field(min_length=1)


class BrokerOutage(_Timed):
    kind: Literal["broker_outage"]


class BatteryFailure(_Fault):
    kind: Literal["battery_failure"]
    robot: str = Field(min_length=1)

    @property
    def end_s(self) -> None:
        """a dead battery does not come back within a drill"""
        return None


class StuckSensor(_Timed):
    kind: Literal["stuck_sensor"]
    robot: str = Field(min_length=1)


class Stall(_Timed):
    kind: Literal["stall"]
    robot: str = Field(min_length=1)


class DropMessages(_Timed):
    kind: Literal["drop_messages"]
    robot: str = Field(min_length=1)
    fraction: float = Field(default=0.5, gt=0, le=1)
    """share of the robot's outgoing messages dropped, each one drawn from the seed"""


Fault = LinkLoss | BrokerOutage | BatteryFailure | StuckSensor | Stall | DropMessages
FaultEntry = Annotated[Fault, Field(discriminator="kind")]

FAULT_KINDS: tuple[str, ...] = (
    "link_loss",
    "broker_outage",
    "battery_failure",
    "stuck_sensor",
    "stall",
    "drop_messages",
)


def fault_list_error(err: ValidationError) -> ValueError:
    """The first error of validating the ``faults`` list as ``"<index>.<field>: problem"``.

    pydantic puts the tag of the tried union member into the error location
    (``0.link_loss.duration_s``); the path a user wrote has no such level."""
    errors = err.errors(include_url=False)
    first = errors[0]
    parts = [str(p) for p in first["loc"] if not (isinstance(p, str) and p in FAULT_KINDS)]
    problem = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        problem = "unknown field (check the spelling)"
    elif first["type"] == "union_tag_invalid":
        problem = f"unknown kind; expected one of {', '.join(FAULT_KINDS)}"
        parts.append("kind")
    elif first["type"] == "union_tag_not_found":
        problem = f"missing kind; expected one of {', '.join(FAULT_KINDS)}"
        parts.append("kind")
    if len(errors) > 1:
        more = len(errors) - 1
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ValueError(f"{'.'.join(parts)}: {problem}")


def check_faults(faults: Sequence[Fault], serials: Iterable[str]) -> tuple[str, str] | None:
    """The first problem as ``(field path, problem)``, or None.

    Robots must be in the scenario; two faults of one kind on one robot (or two broker
    outages) must not overlap in time, nor may a robot's link loss overlap a broker
    outage: each would end the other's outage early or twice."""
    known = set(serials)
    windows: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    for i, f in enumerate(faults):
        robot = getattr(f, "robot", None)
        if robot is not None and robot not in known:
            return f"faults.{i}.robot", f"no robot {robot!r} in this scenario"
        end = f.end_s
        stop = end if end is not None else float("inf")
        group = "link" if f.kind in ("link_loss", "broker_outage") else f.kind
        key = (group, robot or "") if f.kind != "broker_outage" else (group, "*")
        for other_key in _overlapping_keys(key, windows):
            for start, other_stop, j in windows[other_key]:
                if f.at_s < other_stop and start < stop:
                    return (
                        f"faults.{i}.at_s",
                        f"{f.kind} overlaps faults.{j} ({faults[j].kind}, "
                        f"{start:g}..{_shown(other_stop)} s); one at a time",
                    )
        windows.setdefault(key, []).append((f.at_s, stop, i))
    return None


def _overlapping_keys(
    key: tuple[str, str], windows: dict[tuple[str, str], list[tuple[float, float, int]]]
) -> list[tuple[str, str]]:
    group, who = key
    if group != "link":
        return [key] if key in windows else []
    # a broker outage cuts every link: it conflicts with every robot's link loss
    return [k for k in windows if k[0] == "link" and (who == "*" or k[1] in (who, "*"))]


def _shown(stop_s: float) -> str:
    return "end" if stop_s == float("inf") else f"{stop_s:g}"


class FaultPhase(IntEnum):
    """Order of events at the same moment: a fault ends before the next one starts."""

    END = 0
    START = 1


@dataclass(frozen=True)
class FaultEvent:
    t_s: float
    """simulated seconds after the drill's start"""
    phase: FaultPhase
    index: int
    """position of the fault in the scenario's ``faults`` list"""
    fault: Fault

    @property
    def label(self) -> str:
        who = getattr(self.fault, "robot", None)
        where = f" on {who}" if who else ""
        return f"faults.{self.index} {self.fault.kind}{where} {self.phase.name.lower()}"


class FaultTimeline:
    """The faults' start and end events in time order; :meth:`due` hands them out once.

    Events at the same moment come ends first, then starts, each in scenario order, so
    the result does not depend on how the YAML list happens to be sorted beyond that."""

    _EPS_S = 1e-9  # summed ticks of 0.1 s fall a hair short of the round second

    def __init__(self, faults: Sequence[Fault]) -> None:
        events: list[FaultEvent] = []
        for i, f in enumerate(faults):
            events.append(FaultEvent(f.at_s, FaultPhase.START, i, f))
            end = f.end_s
            if end is not None:
                events.append(FaultEvent(end, FaultPhase.END, i, f))
        self._events = sorted(events, key=lambda e: (e.t_s, e.phase, e.index))
        self._next = 0

    @property
    def events(self) -> tuple[FaultEvent, ...]:
        return tuple(self._events)

    @property
    def pending(self) -> int:
        """events not handed out yet"""
        return len(self._events) - self._next

    def due(self, sim_s: float) -> list[FaultEvent]:
        """Every event at or before ``sim_s`` not handed out before, in order."""
        start = self._next
        while self._next < len(self._events) and self._events[self._next].t_s <= (
            sim_s + self._EPS_S
        ):
            self._next += 1
        return self._events[start : self._next]

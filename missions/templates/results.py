"""What a finished mission found: :class:`Findings`, and reading action results.

A robot reports each action's result as text in VDA 5050 ``resultDescription``.  The
bundled simulator (and the robots we integrate) write compact JSON there; a sensing
action's measurements look like::

    {"readings": {"O2": {"value": 20.9, "unit": "%vol"}, "LEL": {...}, ...},
     "x_m": 3.0, "y_m": 4.0, "mapId": "site"}

with the readings in measurement order and ``value`` null when the sensor gave nothing.
Parsing is pure and never raises on bad text: :func:`parse_readings` returns the reason
it could not read a result, so a template can judge it fail-safe (an unreadable
pre-entry test prohibits entry).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from missions.model import MissionRequest


@dataclass(frozen=True)
class Findings:
    """The verdict a template draws from a mission's action results."""

    summary: str
    """one line for the mission's history, e.g. ``entry verdict ENTRY_PERMITTED: ...``"""
    verdict: str | None
    """``ENTRY_PERMITTED`` / ``ENTRY_PROHIBITED``, ``NETA-1`` .. ``NETA-4``; None: no grade"""
    details: tuple[str, ...] = ()
    """one line per measurement or reason, for the record"""
    attention: bool = False
    """the safety officer must act on it (entry prohibited, NETA priority 1 or 2, results
    that could not be judged)"""


@runtime_checkable
class EvaluatesResults(Protocol):
    """A template that draws :class:`Findings` from its mission's action results.

    Kept apart from :class:`~missions.templates.base.Template` so that templates written
    against the original protocol still satisfy it.
    """

    def evaluate(self, request: MissionRequest, results: Sequence[str]) -> Findings | None:
        """Findings from ``results`` (the actions' ``resultDescription`` in mission order);
        None when this template draws none."""
        ...


Readings = dict[str, float | None]
"""quantity -> value, in the order the robot measured them"""


def parse_object(result: str) -> dict[str, object] | str:
    """The JSON object in ``result``, or the reason it is not one."""
    if not result.strip():
        return "empty result"
    try:
        value = json.loads(result)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at char {exc.pos})"
    except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
        return f"not JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__}"
    return value


def parse_readings(
    result: str, units: Mapping[str, str] | None = None
) -> tuple[Readings, dict[str, str]] | str:
    """(quantity -> value, quantity -> unit) from a sensing action's result, or the reason
    it cannot be read (naming the field path).

    ``units`` (quantity, any case -> expected unit): a reading that states a different
    unit makes the whole result unreadable, since judging 19 ppm as 19 %vol would be
    worse than not judging at all.  A missing unit is taken as the expected one.
    """
    obj = parse_object(result)
    if isinstance(obj, str):
        return obj
    raw = obj.get("readings")
    if not isinstance(raw, dict):
        return "readings: missing or not an object"
    expected = {k.upper(): v for k, v in (units or {}).items()}
    values: Readings = {}
    stated: dict[str, str] = {}
    for quantity, entry in raw.items():
        where = f"readings.{quantity}"
        if not isinstance(entry, dict):
            return f"{where}: not an object with value and unit"
        value = entry.get("value")
        # bool is an int subclass; a sensor never reports true/false as a concentration
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{where}.value: {value!r} is not a number"
        if value is not None and not math.isfinite(value):
            return f"{where}.value: {value!r} is not finite"
        unit = entry.get("unit")
        if unit is not None and not isinstance(unit, str):
            return f"{where}.unit: {unit!r} is not text"
        want = expected.get(quantity.upper())
        if unit is not None and want is not None and unit != want:
            return f"{where}.unit: {unit!r}, expected {want!r}"
        values[quantity] = None if value is None else float(value)
        stated[quantity] = unit if unit is not None else (want or "")
    return values, stated


def describe_readings(readings: Readings, units: Mapping[str, str]) -> str:
    """``O2 20.9 %vol, LEL 0 %LEL, NH3 -`` (``-``: the sensor gave nothing)."""
    parts = []
    for quantity, value in readings.items():
        unit = units.get(quantity, "")
        shown = "-" if value is None else f"{value:g}{' ' + unit if unit else ''}"
        parts.append(f"{quantity} {shown}")
    return ", ".join(parts) if parts else "no readings"


def target_labels(request: MissionRequest) -> list[str]:
    """The request's target ids in order, without repeats (as the templates visit them)."""
    out: list[str] = []
    for target in request.targets:
        if target.id not in out:
            out.append(target.id)
    return out

"""Confined-space pre-entry atmospheric test and the entry verdict.

29 CFR 1910.146 (permit-required confined spaces) asks for the atmosphere to be tested
before entry in this order: oxygen first (a catalytic LEL sensor reads wrong without
enough oxygen, hazards.md §1.2), then flammable gases, then toxic gases.  Gases
stratify, so the test is repeated at several heights (top, middle, bottom).

The verdict (hazards.md §1.1, notes on 1910.146): an atmosphere is *hazardous* when
O2 < 19.5 %vol or > 23.5 %vol, flammable gas > 10 %LFL, or any substance above its PEL
(or IDLH).  OSHA accepts 50 % of the hazardous value as *safe for entry*: so entry is
permitted only with O2 in [19.5, 23.5] %vol, flammables <= 5 %LEL and every measured
toxic gas <= 50 % of its PEL, at every height, with the tests done in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field, field_validator

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, dwell_s, target_nodes
from missions.templates.results import (
    Findings,
    describe_readings,
    parse_readings,
    target_labels,
)

# --- thresholds (hazards.md §1.1) ------------------------------------------------------

O2_MIN_PCT = 19.5
"""%vol; below: oxygen-deficient (29 CFR 1910.146)"""
O2_MAX_PCT = 23.5
"""%vol; above: oxygen-enriched (29 CFR 1910.146)"""
LEL_HAZARDOUS_PCT = 10.0
"""%LEL; above: hazardous atmosphere (flammable gas > 10 % LFL)"""
SAFE_FRACTION = 0.5
"""OSHA accepts 50 % of the hazardous value as safe for entry"""
LEL_SAFE_PCT = LEL_HAZARDOUS_PCT * SAFE_FRACTION
"""%LEL; methane <= 0.25 %vol = 5 %LEL"""
O2_MIN_FOR_LEL_PCT = 10.0
"""%vol; a catalytic-bead LEL reading is invalid below this (hazards.md §1.2)"""

PEL_PPM: Mapping[str, float] = {
    "H2S": 20.0,  # ceiling, 29 CFR 1910.1000 Table Z-2
    "CO": 50.0,
    "NH3": 50.0,
    "CL2": 1.0,  # ceiling
    "SO2": 5.0,
    "NO2": 5.0,  # ceiling
}
"""OSHA PEL in ppm, by upper-case gas name (hazards.md §1.1)"""

IDLH_PPM: Mapping[str, float] = {
    "H2S": 100.0,
    "CO": 1200.0,
    "NH3": 300.0,
    "CL2": 10.0,
    "SO2": 100.0,
    "NO2": 13.0,  # the 2017 NIOSH IDLH profile (1994 value: 20); the lower one is safer
}
"""NIOSH IDLH in ppm, by upper-case gas name (hazards.md §1.1)"""

OXYGEN = "O2"
FLAMMABLE = "LEL"
DEFAULT_TOXICS = ("H2S", "CO")

ENTRY_UNITS: Mapping[str, str] = {
    OXYGEN: "%vol",
    FLAMMABLE: "%LEL",
    **dict.fromkeys(PEL_PPM, "ppm"),
}
"""the unit each quantity of an atmosphericTest result must be in (upper-case names)"""


class EntryVerdict(StrEnum):
    ENTRY_PERMITTED = "ENTRY_PERMITTED"
    ENTRY_PROHIBITED = "ENTRY_PROHIBITED"


@dataclass(frozen=True)
class Verdict:
    verdict: EntryVerdict
    reasons: tuple[str, ...] = ()
    """why entry is prohibited (empty when permitted)"""

    @property
    def permitted(self) -> bool:
        return self.verdict is EntryVerdict.ENTRY_PERMITTED


Readings = Mapping[str, float | None]
"""quantity -> value (O2 in %vol, LEL in %LEL, toxics in ppm), in measurement order"""


def _phase(quantity: str) -> int:
    q = quantity.upper()
    return 0 if q == OXYGEN else 1 if q == FLAMMABLE else 2


def _check_level(
    readings: Readings, required: Sequence[str], label: str, reasons: list[str]
) -> None:
    upper = {k.upper(): (k, v) for k, v in readings.items()}
    for gas in required:
        if gas.upper() not in upper or upper[gas.upper()][1] is None:
            reasons.append(f"{label}{gas} not measured")
    # 1910.146 order: oxygen, then flammables, then toxics
    phases = [_phase(q) for q, v in readings.items() if v is not None]
    if phases != sorted(phases):
        order = ", ".join(q for q, v in readings.items() if v is not None)
        reasons.append(f"{label}tests out of order ({order}); must be O2, then LEL, then toxics")

    o2 = upper.get(OXYGEN, ("", None))[1]
    if o2 is not None:
        if o2 < O2_MIN_PCT:
            reasons.append(f"{label}O2 {o2:g} %vol is below {O2_MIN_PCT:g} %vol (oxygen-deficient)")
        elif o2 > O2_MAX_PCT:
            reasons.append(f"{label}O2 {o2:g} %vol is above {O2_MAX_PCT:g} %vol (oxygen-enriched)")
    lel = upper.get(FLAMMABLE, ("", None))[1]
    if lel is not None:
        if o2 is not None and o2 < O2_MIN_FOR_LEL_PCT:
            reasons.append(
                f"{label}LEL reading invalid: O2 {o2:g} %vol < {O2_MIN_FOR_LEL_PCT:g} %vol"
            )
        if lel > LEL_HAZARDOUS_PCT:
            reasons.append(
                f"{label}LEL {lel:g} % is above {LEL_HAZARDOUS_PCT:g} % (hazardous atmosphere)"
            )
        elif lel > LEL_SAFE_PCT:
            reasons.append(f"{label}LEL {lel:g} % is above the safe-for-entry {LEL_SAFE_PCT:g} %")
    for key, (name, value) in upper.items():
        if key in (OXYGEN, FLAMMABLE) or value is None:
            continue
        pel = PEL_PPM.get(key)
        if pel is None:
            reasons.append(f"{label}{name}: no exposure limit known, cannot clear it for entry")
            continue
        idlh = IDLH_PPM[key]
        if value >= idlh:
            reasons.append(f"{label}{name} {value:g} ppm is at or above IDLH {idlh:g} ppm")
        elif value > pel:
            reasons.append(f"{label}{name} {value:g} ppm is above the PEL {pel:g} ppm")
        elif value > pel * SAFE_FRACTION:
            reasons.append(
                f"{label}{name} {value:g} ppm is above the safe-for-entry "
                f"{pel * SAFE_FRACTION:g} ppm (50 % of PEL)"
            )


def entry_verdict(
    readings: Readings | Sequence[Readings],
    required: Sequence[str] = (OXYGEN, FLAMMABLE, *DEFAULT_TOXICS),
) -> Verdict:
    """The pre-entry verdict from one height's readings or a list of heights (top first).

    Entry is permitted only if every height passes and every ``required`` quantity was
    measured; a reading of ``None`` (sensor gave nothing) counts as not measured.
    Thresholds: hazards.md §1.1 (1910.146 notes) and §1.2 (O2 needed for LEL).
    """
    levels: Sequence[Readings] = [readings] if isinstance(readings, Mapping) else readings
    reasons: list[str] = []
    if not levels:
        reasons.append("no readings")
    for i, level in enumerate(levels):
        label = f"height {i + 1}: " if len(levels) > 1 else ""
        _check_level(level, required, label, reasons)
    if reasons:
        return Verdict(EntryVerdict.ENTRY_PROHIBITED, tuple(reasons))
    return Verdict(EntryVerdict.ENTRY_PERMITTED)


def atmospheric_sequence(toxics: Sequence[str]) -> str:
    """The atmosphericTest sequence parameter, in 1910.146 order: ``O2,LEL,<toxics>``."""
    return ",".join((OXYGEN, FLAMMABLE, *toxics))


# --- the template ----------------------------------------------------------------------


class ConfinedSpaceEntryParams(TemplateParams):
    heights_m: list[float] = Field(min_length=1, max_length=10)
    """m above the floor of the space at which to test, top first (e.g. [3.0, 1.5, 0.2])"""
    toxics: list[str] = Field(default_factory=lambda: list(DEFAULT_TOXICS), min_length=1)
    """toxic gases tested after O2 and LEL"""
    dwell_s: float = Field(default=30.0, gt=0, le=3600)
    """s per test phase (O2, flammables, toxics); raised to sensor_t90_s when shorter"""
    sensor_t90_s: float = Field(default=30.0, gt=0, le=600)
    """s; hazards.md §4.5"""

    @field_validator("heights_m")
    @classmethod
    def _heights(cls, value: list[float]) -> list[float]:
        for h in value:
            if not 0 <= h <= 100:
                raise ValueError(f"height {h} m is outside 0..100 m")
        return value

    @field_validator("toxics")
    @classmethod
    def _toxics(cls, value: list[str]) -> list[str]:
        for gas in value:
            if gas.upper() in (OXYGEN, FLAMMABLE):
                raise ValueError(f"{gas} is always tested first; list only toxic gases here")
            if gas.upper() not in PEL_PPM:
                known = ", ".join(sorted(PEL_PPM))
                raise ValueError(f"no exposure limit known for {gas!r} (known: {known})")
        return value


class ConfinedSpaceEntry(BaseTemplate[ConfinedSpaceEntryParams]):
    name = "confined_space_entry"
    description = (
        "confined-space pre-entry atmospheric test (O2, then LEL, then toxics, "
        "29 CFR 1910.146) at several heights, ending in an entry verdict"
    )
    actions = frozenset({"atmosphericTest"})

    def __init__(self) -> None:
        super().__init__(ConfinedSpaceEntryParams)

    def build(
        self, request: MissionRequest, site: SiteMap, params: ConfinedSpaceEntryParams
    ) -> list[MissionStep]:
        # three phases, each given time for the sensors to settle (hazards.md §4.5)
        duration_s = 3 * dwell_s(params.dwell_s, params.sensor_t90_s)
        sequence = atmospheric_sequence(params.toxics)
        steps = []
        for node in target_nodes(request, site, zones=False):
            acts = [
                action(
                    "atmosphericTest",
                    f"pre-entry test at {node}, {h:g} m ({sequence})",
                    duration_s=duration_s,
                    height_m=h,
                    sequence=sequence,
                )
                for h in params.heights_m
            ]
            steps.append(MissionStep(node=node, actions=acts))
        return steps

    def evaluate(self, request: MissionRequest, results: Sequence[str]) -> Findings:
        """The entry verdict from the atmosphericTest results, in mission order (each
        target's heights, top first).

        Fail-safe: a result that cannot be read, or a test missing (fewer results than
        targets x heights), prohibits entry.  Each test is judged with
        :func:`entry_verdict` against O2, LEL and the requested toxics.
        """
        params = self.parse_params(request)
        required = (OXYGEN, FLAMMABLE, *params.toxics)
        targets = target_labels(request)
        heights = params.heights_m
        expected = len(targets) * len(heights)
        reasons: list[str] = []
        details: list[str] = []
        if len(results) != expected:
            reasons.append(
                f"expected {expected} atmospheric test results ({len(targets)} target(s) "
                f"x {len(heights)} height(s)), got {len(results)}"
            )
        for i, result in enumerate(results):
            if len(results) == expected:
                where = f"height {i % len(heights) + 1} ({heights[i % len(heights)]:g} m)"
                label = f"{targets[i // len(heights)]} {where}" if len(targets) > 1 else where
            else:  # cannot tell which height a result belongs to
                label = f"test {i + 1}"
            parsed = parse_readings(result, ENTRY_UNITS)
            if isinstance(parsed, str):
                reasons.append(f"{label}: unreadable result ({parsed})")
                continue
            readings, units = parsed
            details.append(f"{label}: {describe_readings(readings, units)}")
            reasons.extend(f"{label}: {r}" for r in entry_verdict(readings, required).reasons)
        if not results and not reasons:  # pragma: no cover - a request has >= 1 target
            reasons.append("no atmospheric test results")
        if reasons:
            more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
            return Findings(
                summary=f"entry verdict {EntryVerdict.ENTRY_PROHIBITED}: {reasons[0]}{more}",
                verdict=EntryVerdict.ENTRY_PROHIBITED.value,
                details=(*details, *(f"prohibits entry: {r}" for r in reasons)),
                attention=True,
            )
        limits = (
            f"O2 {O2_MIN_PCT:g}-{O2_MAX_PCT:g} %vol, LEL <= {LEL_SAFE_PCT:g} %LEL, "
            f"{', '.join(params.toxics)} <= 50 % of PEL"
        )
        return Findings(
            summary=(
                f"entry verdict {EntryVerdict.ENTRY_PERMITTED}: {len(results)} test(s) at "
                f"{', '.join(targets)} within the entry limits ({limits})"
            ),
            verdict=EntryVerdict.ENTRY_PERMITTED.value,
            details=tuple(details),
        )

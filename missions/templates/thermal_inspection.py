"""Thermal inspection of listed assets, graded with the NETA ΔT criteria.

At each asset the robot runs a thermal scan (hottest point within ``radius_m``) and
takes a photograph for the record.  :func:`neta_severity` grades a hotspot from its
temperature rise ΔT (hazards.md §1.4, NETA Maintenance Testing Specifications):

========  =========================  ================  =====================================
Priority  ΔT over similar component  ΔT over ambient   action
========  =========================  ================  =====================================
4         1-3 °C                     1-10 °C           possible deficiency, investigate
3         4-15 °C                    11-20 °C          probable deficiency, repair as time permits
2         -                          21-40 °C          monitor until corrected
1         > 15 °C                    > 40 °C           major discrepancy, repair immediately
========  =========================  ================  =====================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, target_nodes
from missions.templates.results import (
    Findings,
    parse_object,
    parse_readings,
    target_labels,
)

Reference = Literal["similar", "ambient"]

# (upper bound of ΔT in °C, priority); the table lists whole degrees, so a value between
# two rows (e.g. 3.5 °C over a similar component) takes the more severe row
_SIMILAR: tuple[tuple[float, int], ...] = ((3.0, 4), (15.0, 3), (math.inf, 1))
_AMBIENT: tuple[tuple[float, int], ...] = ((10.0, 4), (20.0, 3), (40.0, 2), (math.inf, 1))
MIN_DELTA_T_C = 1.0
"""°C; below this rise the table grades nothing"""
NETA_ACTION: Mapping[int, str] = {
    1: "major discrepancy, repair immediately",
    2: "monitor until corrected",
    3: "probable deficiency, repair as time permits",
    4: "possible deficiency, investigate",
}
"""NETA priority -> the action the table asks for"""
SCAN_READING = "temperatureMax"
"""the thermalScan result's reading: the hottest point within the radius, in °C"""


def neta_severity(delta_t_c: float, reference: Reference = "similar") -> int | None:
    """NETA priority 1 (repair immediately) .. 4 (investigate) for a rise of ``delta_t_c``
    °C over a similar component or over ambient; None below 1 °C (no deficiency).

    hazards.md §1.4.  Between similar components there is no priority 2.
    """
    if math.isnan(delta_t_c):
        raise ValueError("delta_t_c is NaN")
    if reference not in ("similar", "ambient"):
        raise ValueError(f"reference must be 'similar' or 'ambient', not {reference!r}")
    if delta_t_c < MIN_DELTA_T_C:
        return None
    table = _SIMILAR if reference == "similar" else _AMBIENT
    for upper_c, priority in table:
        if delta_t_c <= upper_c:
            return priority
    raise AssertionError("unreachable: the last row is unbounded")


class ThermalInspectionParams(TemplateParams):
    reference: Reference = "ambient"
    """how ΔT is taken when grading with :func:`neta_severity`"""
    ambient_c: float | None = Field(default=None, ge=-60, le=80)
    """°C; the ambient temperature for ΔT over ambient (None: measured by the robot)"""
    radius_m: float = Field(default=2.0, gt=0, le=20)
    """m; the scan reports the hottest point within this radius"""
    scan_s: float = Field(default=10.0, gt=0, le=600)
    """s per thermal scan"""


class ThermalInspection(BaseTemplate[ThermalInspectionParams]):
    name = "thermal_inspection"
    description = "thermal inspection of listed assets, hotspots graded by NETA ΔT severity"
    actions = frozenset({"thermalScan", "captureImage"})

    def __init__(self) -> None:
        super().__init__(ThermalInspectionParams)

    def build(
        self, request: MissionRequest, site: SiteMap, params: ThermalInspectionParams
    ) -> list[MissionStep]:
        return [
            MissionStep(
                node=node,
                actions=[
                    action(
                        "thermalScan",
                        f"thermal scan of {node} (NETA ΔT over {params.reference})",
                        duration_s=params.scan_s,
                        radius_m=params.radius_m,
                    ),
                    action("captureImage", f"photograph {node}", blocking="SOFT"),
                ],
            )
            for node in target_nodes(request, site, zones=False)
        ]

    def evaluate(self, request: MissionRequest, results: Sequence[str]) -> Findings:
        """NETA grading of the thermalScan results (the photographs are skipped).

        ΔT over ambient is the scan's maximum minus ``params.ambient_c``.  ΔT over a
        similar component compares each scan with the coolest other scan of the mission
        (the targets are the similar components; the coolest one gives the largest ΔT,
        the safe side).  Results that cannot be read or graded are listed and flag the
        findings for attention, so a failed scan never reads as a clean one.
        """
        params = self.parse_params(request)
        targets = target_labels(request)
        problems: list[str] = []
        values: list[float | None] = []
        for i, result in enumerate(results):
            obj = parse_object(result)
            if isinstance(obj, str):
                problems.append(f"result {i + 1}: unreadable ({obj})")
                continue
            if "readings" not in obj and "imageId" in obj:
                continue  # the photograph for the record
            parsed = parse_readings(result, {SCAN_READING: "°C"})
            if isinstance(parsed, str):
                problems.append(f"result {i + 1}: unreadable ({parsed})")
            elif SCAN_READING not in parsed[0]:
                problems.append(f"result {i + 1}: unreadable (readings.{SCAN_READING} missing)")
            else:
                values.append(parsed[0][SCAN_READING])
        if len(values) == len(targets):
            labels = targets
        else:  # a scan missing or extra: which asset is which cannot be told
            labels = [f"scan {k + 1}" for k in range(len(values))]
            problems.append(
                f"expected {len(targets)} thermal scan(s), one per target, got {len(values)}"
            )
        graded: list[_Graded] = []
        for k, (label, value) in enumerate(zip(labels, values, strict=True)):
            if value is None:
                problems.append(f"{label}: the scan reported no temperature")
                continue
            base = self._reference(params, labels, values, k)
            if isinstance(base, str):
                problems.append(f"{label}: not graded ({base})")
                continue
            over, base_c = base
            delta_c = value - base_c
            graded.append(
                _Graded(label, value, delta_c, over, neta_severity(delta_c, params.reference))
            )
        return _thermal_findings(graded, problems)

    @staticmethod
    def _reference(
        params: ThermalInspectionParams,
        labels: Sequence[str],
        values: Sequence[float | None],
        k: int,
    ) -> tuple[str, float] | str:
        """(what ΔT is taken over, its temperature in °C) for scan ``k``, or why none."""
        if params.reference == "ambient":
            if params.ambient_c is None:
                # the robots report no ambient temperature (only the scan's maximum)
                return "no ambient temperature: params.ambient_c is not set"
            return f"ambient {params.ambient_c:g} °C", params.ambient_c
        others = [(v, labels[j]) for j, v in enumerate(values) if j != k and v is not None]
        if not others:
            return "no similar component scanned to compare with"
        coolest_c, coolest = min(others)
        return f"similar {coolest} {coolest_c:g} °C", coolest_c


@dataclass(frozen=True)
class _Graded:
    label: str
    max_c: float
    delta_t_c: float
    over: str
    severity: int | None

    def describe(self) -> str:
        if self.severity is None:
            grade = f"no deficiency (ΔT < {MIN_DELTA_T_C:g} °C)"
        else:
            grade = f"NETA class {self.severity} ({NETA_ACTION[self.severity]})"
        return (
            f"{self.label}: max {self.max_c:g} °C, ΔT {self.delta_t_c:.1f} °C over "
            f"{self.over} → {grade}"
        )


def _thermal_findings(graded: Sequence[_Graded], problems: Sequence[str]) -> Findings:
    details = (*(g.describe() for g in graded), *problems)
    unjudged = f"; {len(problems)} problem(s): {problems[0]}" if problems else ""
    found = [g for g in graded if g.severity is not None]
    if found:
        # priority 1 is the most severe; among equals the largest rise
        worst = min(found, key=lambda g: (g.severity, -g.delta_t_c))
        assert worst.severity is not None
        summary = (
            f"thermal: {worst.label} ΔT {worst.delta_t_c:.1f} °C over {worst.over} → "
            f"NETA class {worst.severity} ({NETA_ACTION[worst.severity]}); "
            f"{len(found)} of {len(graded)} graded scan(s) deficient{unjudged}"
        )
        return Findings(
            summary=summary,
            verdict=f"NETA-{worst.severity}",
            details=details,
            attention=worst.severity <= 2 or bool(problems),
        )
    if graded:
        hottest = max(graded, key=lambda g: g.delta_t_c)
        summary = (
            f"thermal: no deficiency in {len(graded)} scan(s), highest ΔT "
            f"{hottest.delta_t_c:.1f} °C ({hottest.label} over {hottest.over}){unjudged}"
        )
    else:
        first = problems[0] if problems else "no thermal scan results"
        summary = f"thermal: not graded: {first}" + (
            f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        )
    return Findings(
        summary=summary, verdict=None, details=details, attention=bool(problems) or not graded
    )

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
from typing import Literal

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, target_nodes

Reference = Literal["similar", "ambient"]

# (upper bound of ΔT in °C, priority); the table lists whole degrees, so a value between
# two rows (e.g. 3.5 °C over a similar component) takes the more severe row
_SIMILAR: tuple[tuple[float, int], ...] = ((3.0, 4), (15.0, 3), (math.inf, 1))
_AMBIENT: tuple[tuple[float, int], ...] = ((10.0, 4), (20.0, 3), (40.0, 2), (math.inf, 1))
MIN_DELTA_T_C = 1.0
"""°C; below this rise the table grades nothing"""


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

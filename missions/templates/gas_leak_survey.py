"""Gas-leak survey over an area: a multi-gas reading at every sampling point.

Sampling points come from the targets: node and asset targets directly, zone targets
as every node inside the zone polygon.  At each point the robot stands still for
``max(dwell_s, sensor_t90_s)``: a reading taken before the sensor's t90 under-reports a
leak (hazards.md §4.5, first-order lag; electrochemical t90 is typically 15-30 s).
"""

from __future__ import annotations

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, dwell_s, target_nodes

DEFAULT_GASES = ["O2", "LEL", "H2S", "CO"]
DEFAULT_T90_S = 30.0
"""s; catalytic LEL and O2 cells of a portable detector (hazards.md §4.5, MSA ALTAIR 4)"""


class GasLeakSurveyParams(TemplateParams):
    gases: list[str] = Field(default_factory=lambda: list(DEFAULT_GASES), min_length=1)
    """quantities to read: O2 in %vol, LEL in %LEL, toxics in ppm"""
    dwell_s: float = Field(default=DEFAULT_T90_S, gt=0, le=3600)
    """s to stand at each point; raised to sensor_t90_s when shorter"""
    sensor_t90_s: float = Field(default=DEFAULT_T90_S, gt=0, le=600)
    """s for the slowest sensor to reach 90 % of a step change"""
    capture_image: bool = False
    """also photograph each sampling point"""


class GasLeakSurvey(BaseTemplate[GasLeakSurveyParams]):
    name = "gas_leak_survey"
    description = "gas-leak survey over an area: multi-gas readings at sampling points"
    actions = frozenset({"measureGas"})

    def __init__(self) -> None:
        super().__init__(GasLeakSurveyParams)

    def capabilities(self, request: MissionRequest) -> set[str]:
        caps = set(self.actions)
        if self.parse_params(request).capture_image:
            caps.add("captureImage")
        return caps

    def build(
        self, request: MissionRequest, site: SiteMap, params: GasLeakSurveyParams
    ) -> list[MissionStep]:
        duration_s = dwell_s(params.dwell_s, params.sensor_t90_s)
        steps = []
        for node in target_nodes(request, site):
            acts = [
                action(
                    "measureGas",
                    f"gas reading at {node}, dwell {duration_s:g} s (>= t90)",
                    duration_s=duration_s,
                    gases=list(params.gases),
                )
            ]
            if params.capture_image:
                acts.append(action("captureImage", f"photograph {node}", blocking="SOFT"))
            steps.append(MissionStep(node=node, actions=acts))
        return steps

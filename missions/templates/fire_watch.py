"""Fire watch / post-incident reconnaissance.

At each point: a photograph (what is there), a thermal scan (what is still hot:
re-ignition risk) and a CO reading (smouldering combustion produces CO, hazards.md
§1.1-1.2), with the CO sensor given its t90 to settle (hazards.md §4.5).
"""

from __future__ import annotations

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, dwell_s, target_nodes


class FireWatchParams(TemplateParams):
    rounds: int = Field(default=1, ge=1, le=20)
    """how many times to go round the points"""
    dwell_s: float = Field(default=15.0, gt=0, le=3600)
    """s for the CO reading; raised to sensor_t90_s when shorter"""
    sensor_t90_s: float = Field(default=15.0, gt=0, le=600)
    """s; electrochemical CO cell, Alphasense CO-B4 t90 < 15 s (hazards.md §4.5)"""
    radius_m: float = Field(default=2.0, gt=0, le=20)
    """m; thermal scan radius"""
    scan_s: float = Field(default=4.0, gt=0, le=600)
    """s per thermal scan"""


class FireWatch(BaseTemplate[FireWatchParams]):
    name = "fire_watch"
    description = (
        "fire watch / post-incident reconnaissance: photograph, thermal scan and CO reading "
        "at each point"
    )
    actions = frozenset({"captureImage", "thermalScan", "measureGas"})

    def __init__(self) -> None:
        super().__init__(FireWatchParams)

    def build(
        self, request: MissionRequest, site: SiteMap, params: FireWatchParams
    ) -> list[MissionStep]:
        co_s = dwell_s(params.dwell_s, params.sensor_t90_s)
        nodes = target_nodes(request, site)
        return [
            MissionStep(
                node=node,
                actions=[
                    action("captureImage", f"round {r + 1}: photograph {node}"),
                    action(
                        "thermalScan",
                        f"round {r + 1}: hot spots at {node}",
                        duration_s=params.scan_s,
                        radius_m=params.radius_m,
                    ),
                    action(
                        "measureGas",
                        f"round {r + 1}: CO at {node}",
                        duration_s=co_s,
                        gases=["CO"],
                    ),
                ],
            )
            for r in range(params.rounds)
            for node in nodes
        ]

"""Spill sampling: approach the spill, photograph it, take a sample, retreat.

The retreat point (``safe_node``) must lie outside every hazardous and no-go zone:
a robot carrying a sample of an unknown liquid does not wait inside the hazard.
"""

from __future__ import annotations

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import (
    BaseTemplate,
    TemplateParams,
    action,
    require_node,
    require_safe_node,
    target_nodes,
)


class SpillSamplingParams(TemplateParams):
    safe_node: str = Field(min_length=1)
    """node to retreat to with the sample, outside hazardous zones"""
    sample_s: float = Field(default=8.0, gt=0, le=600)
    """s the arm takes to collect a sample"""


class SpillSampling(BaseTemplate[SpillSamplingParams]):
    name = "spill_sampling"
    description = "spill sampling: approach, photograph, collect a sample, retreat to a safe node"
    actions = frozenset({"captureImage", "collectSample"})

    def __init__(self) -> None:
        super().__init__(SpillSamplingParams)

    def build(
        self, request: MissionRequest, site: SiteMap, params: SpillSamplingParams
    ) -> list[MissionStep]:
        require_node(site, params.safe_node, "params.safe_node")
        require_safe_node(site, params.safe_node, "params.safe_node")
        steps = [
            MissionStep(
                node=node,
                actions=[
                    action("captureImage", f"photograph the spill at {node}"),
                    action(
                        "collectSample",
                        f"collect a sample at {node}",
                        duration_s=params.sample_s,
                    ),
                ],
            )
            for node in target_nodes(request, site, zones=False)
        ]
        steps.append(MissionStep(node=params.safe_node))
        return steps

"""Recurring inspection round (patrol): visit the targets in order and photograph each.

Usually scheduled with a recurring schedule (e.g. every weekday at 06:00).
"""

from __future__ import annotations

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, target_nodes


class PatrolParams(TemplateParams):
    laps: int = Field(default=1, ge=1, le=20)
    """how many times to go round the targets"""


class Patrol(BaseTemplate[PatrolParams]):
    name = "patrol"
    description = "recurring inspection round: visit the targets in order, photograph each"
    actions = frozenset({"captureImage"})

    def __init__(self) -> None:
        super().__init__(PatrolParams)

    def build(
        self, request: MissionRequest, site: SiteMap, params: PatrolParams
    ) -> list[MissionStep]:
        nodes = target_nodes(request, site)
        return [
            MissionStep(
                node=node,
                actions=[action("captureImage", f"round {lap + 1}: photograph {node}")],
            )
            for lap in range(params.laps)
            for node in nodes
        ]

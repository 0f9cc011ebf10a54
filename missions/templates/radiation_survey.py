"""Radiation survey with a turn-back dose rate and a turn-back integrated dose.

hazards.md §1.5: a survey party has its turn-back dose rate and turn-back dose set by
command before it leaves, and turns back when either is reached.  Both are therefore
required (``turn_back.dose_rate_usv_h`` in µSv/h and ``turn_back.dose_usv`` in µSv)
and travel with every ``measureDoseRate`` action so the robot can act on them.
"""

from __future__ import annotations

from pydantic import Field

from missions.mission import MissionStep
from missions.model import MissionRequest, MissionValidationError
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, TemplateParams, action, target_nodes


class RadiationSurveyParams(TemplateParams):
    dwell_s: float = Field(default=10.0, gt=0, le=3600)
    """s of counting at each point (longer counts, less Poisson noise: hazards.md §4.6)"""


class RadiationSurvey(BaseTemplate[RadiationSurveyParams]):
    name = "radiation_survey"
    description = (
        "radiation survey: dose-rate readings at survey points with turn-back dose rate "
        "(µSv/h) and turn-back integrated dose (µSv)"
    )
    actions = frozenset({"measureDoseRate"})

    def __init__(self) -> None:
        super().__init__(RadiationSurveyParams)

    def check(self, request: MissionRequest) -> None:
        super().check(request)
        if request.turn_back.dose_rate_usv_h is None:
            raise MissionValidationError(
                "turn_back.dose_rate_usv_h", "a radiation survey needs a turn-back dose rate"
            )
        if request.turn_back.dose_usv is None:
            raise MissionValidationError(
                "turn_back.dose_usv", "a radiation survey needs a turn-back integrated dose"
            )

    def build(
        self, request: MissionRequest, site: SiteMap, params: RadiationSurveyParams
    ) -> list[MissionStep]:
        self.check(request)
        return [
            MissionStep(
                node=node,
                actions=[
                    action(
                        "measureDoseRate",
                        f"dose rate at {node}",
                        duration_s=params.dwell_s,
                        turn_back_dose_rate_usv_h=request.turn_back.dose_rate_usv_h,
                        turn_back_dose_usv=request.turn_back.dose_usv,
                    )
                ],
            )
            for node in target_nodes(request, site)
        ]

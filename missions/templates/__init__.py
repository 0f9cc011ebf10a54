"""Mission templates for the hazardous tasks, and planning a request into a MissionSpec.

:data:`TEMPLATES` maps a template name to its :class:`Template`.  :func:`plan` expands a
:class:`~missions.model.MissionRequest` on a site into the executable
:class:`~missions.mission.MissionSpec` the controller dispatches.  :func:`findings` draws a
finished mission's :class:`Findings` (the confined-space entry verdict, the NETA grade of a
thermal inspection) from its action results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from missions.errors import MissionError
from missions.mission import MissionSpec
from missions.model import MissionRequest, MissionValidationError
from missions.permits import permit_requirement
from missions.site import SiteMap
from missions.templates.base import BaseTemplate, Template, TemplateParams
from missions.templates.confined_space_entry import (
    ConfinedSpaceEntry,
    EntryVerdict,
    Verdict,
    entry_verdict,
)
from missions.templates.fire_watch import FireWatch
from missions.templates.gas_leak_survey import GasLeakSurvey
from missions.templates.patrol import Patrol
from missions.templates.radiation_survey import RadiationSurvey
from missions.templates.results import EvaluatesResults, Findings
from missions.templates.spill_sampling import SpillSampling
from missions.templates.thermal_inspection import ThermalInspection, neta_severity

_ALL: tuple[Template, ...] = (
    GasLeakSurvey(),
    ConfinedSpaceEntry(),
    ThermalInspection(),
    SpillSampling(),
    RadiationSurvey(),
    FireWatch(),
    Patrol(),
)

TEMPLATES: Mapping[str, Template] = MappingProxyType({t.name: t for t in _ALL})
"""template name -> template (read-only)"""


def get_template(name: str) -> Template:
    """The template called ``name``; MissionValidationError("template", ...) otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise MissionValidationError(
            "template", f"unknown template {name!r}; known: {known}"
        ) from None


def required_capabilities(request: MissionRequest) -> set[str]:
    """Action types a robot needs for ``request``: the template's plus the request's extras."""
    return get_template(request.template).capabilities(request) | set(request.required_capabilities)


def findings(request: MissionRequest, results: Sequence[str]) -> Findings | None:
    """What ``request``'s finished mission found, from its actions' results (pure).

    ``results``: the robot's ``resultDescription`` of each of the mission's actions, in
    mission order (step, then action within the step).  None when the template draws no
    findings (patrol, sampling, ...).  Raises :class:`MissionValidationError` for an
    unknown template or parameters it refuses.
    """
    template = get_template(request.template)
    if not isinstance(template, EvaluatesResults):
        return None  # a template written before findings existed
    return template.evaluate(request, results)


def plan(request: MissionRequest, site: SiteMap, mission_id: str | None = None) -> MissionSpec:
    """The executable MissionSpec for ``request`` on ``site`` (pure).

    ``mission_id`` overrides ``request.id`` (e.g. one id per occurrence of a recurring
    mission).  Raises :class:`MissionValidationError` with a field path when the site
    does not match, the template is unknown, or targets/params are wrong.
    """
    if request.site != site.map_id:
        raise MissionValidationError(
            "site", f"request is for site {request.site!r}, not {site.map_id!r}"
        )
    spec_id = mission_id or request.id
    if spec_id is None:
        raise MissionValidationError("id", "a mission needs an id before it can be planned")
    steps = get_template(request.template).expand(request, site)
    if not steps:
        raise MissionValidationError("targets", "the template produced no steps")
    try:
        return MissionSpec(
            id=spec_id,
            name=request.name,
            robot=request.robot,
            steps=steps,
            priority=request.priority,
            # the mission is released only once approved: its permit covers these
            cleared_zones=list(permit_requirement(request, site).zones),
        )
    except ValueError as exc:  # pydantic ValidationError: an id the wire would refuse
        raise MissionValidationError("id", str(exc)) from exc


__all__ = [
    "TEMPLATES",
    "BaseTemplate",
    "ConfinedSpaceEntry",
    "EntryVerdict",
    "EvaluatesResults",
    "Findings",
    "FireWatch",
    "GasLeakSurvey",
    "MissionError",
    "Patrol",
    "RadiationSurvey",
    "SpillSampling",
    "Template",
    "TemplateParams",
    "ThermalInspection",
    "Verdict",
    "entry_verdict",
    "findings",
    "get_template",
    "neta_severity",
    "plan",
    "required_capabilities",
]

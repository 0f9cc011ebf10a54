"""What every mission template is, and the helpers they share.

A template turns a :class:`~missions.model.MissionRequest` into the steps of an
executable :class:`~missions.mission.MissionSpec`: which nodes to visit, in which order,
and which VDA 5050 actions to run at each.  Templates are pure: same request and site,
same steps.  Bad parameters or targets raise :class:`MissionValidationError` with the
field path (``params.dwell_s``, ``targets.2.id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from missions.mission import MissionAction, MissionStep
from missions.model import MissionRequest, MissionValidationError
from missions.site import SiteMap, ZoneKind
from missions.templates.results import Findings


@runtime_checkable
class Template(Protocol):
    """The contract of a mission template (see :data:`missions.templates.TEMPLATES`)."""

    @property
    def name(self) -> str:
        """registry key, e.g. ``gas_leak_survey``"""
        ...

    @property
    def description(self) -> str: ...

    @property
    def params_model(self) -> type[BaseModel]:
        """pydantic model of ``request.params`` (its JSON schema documents the parameters)"""
        ...

    def capabilities(self, request: MissionRequest) -> set[str]:
        """VDA 5050 action types the expanded mission uses (not the request's extras)."""
        ...

    def check(self, request: MissionRequest) -> None:
        """Site-free checks (parameters, turn-back limits); raises MissionValidationError."""
        ...

    def expand(self, request: MissionRequest, site: SiteMap) -> list[MissionStep]:
        """The mission's steps on ``site``; raises MissionValidationError."""
        ...


class TemplateParams(BaseModel):
    """Parameters every template accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    return_to: str | None = Field(default=None, min_length=1)
    """node to drive to when the work is done (e.g. ``dock``); None: stay at the last point"""


P = TypeVar("P", bound=TemplateParams)


def field_path(loc: Iterable[int | str]) -> str:
    return ".".join(str(p) for p in loc)


class BaseTemplate(Generic[P]):
    """Shared machinery: parameter parsing with field paths and target resolution."""

    name: ClassVar[str]
    description: ClassVar[str]
    params_model: type[P]
    actions: ClassVar[frozenset[str]]
    """action types this template emits"""

    def __init__(self, params_model: type[P]) -> None:
        self.params_model = params_model

    # --- protocol -------------------------------------------------------------------

    def capabilities(self, request: MissionRequest) -> set[str]:
        return set(self.actions)

    def check(self, request: MissionRequest) -> None:
        self.parse_params(request)

    def expand(self, request: MissionRequest, site: SiteMap) -> list[MissionStep]:
        params = self.parse_params(request)
        steps = self.build(request, site, params)
        if params.return_to is not None:
            require_node(site, params.return_to, "params.return_to")
            require_safe_node(site, params.return_to, "params.return_to")
            if not steps or steps[-1].node != params.return_to:
                steps.append(MissionStep(node=params.return_to))
        check_reachable(site, steps)
        return steps

    def evaluate(self, request: MissionRequest, results: Sequence[str]) -> Findings | None:
        """Findings from the actions' results in mission order (see
        :class:`~missions.templates.results.EvaluatesResults`); by default none."""
        return None

    # --- for subclasses ---------------------------------------------------------------

    def build(self, request: MissionRequest, site: SiteMap, params: P) -> list[MissionStep]:
        raise NotImplementedError

    def parse_params(self, request: MissionRequest) -> P:
        try:
            return self.params_model.model_validate(request.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise MissionValidationError(
                field_path(("params", *first["loc"])), first["msg"]
            ) from exc


def action(
    action_type: str,
    description: str,
    blocking: str = "HARD",
    **params: Any,
) -> MissionAction:
    """A MissionAction with its params; None-valued params are left out."""
    clean = {k: v for k, v in params.items() if v is not None}
    return MissionAction.model_validate(
        {"type": action_type, "params": clean, "blocking": blocking, "description": description}
    )


def require_node(site: SiteMap, node_id: str, field: str) -> None:
    if not site.has_node(node_id):
        raise MissionValidationError(field, f"no node {node_id!r} on site {site.map_id!r}")


def require_safe_node(site: SiteMap, node_id: str, field: str) -> None:
    """A place to retreat to must not be in a hazardous or no-go zone."""
    node = site.node(node_id)
    for zone in site.zones_at(node.x, node.y):
        if zone.kind in (ZoneKind.HAZARDOUS, ZoneKind.NO_GO) or zone.atmosphere != "none":
            raise MissionValidationError(
                field, f"node {node_id!r} lies in zone {zone.id!r} ({zone.kind.value})"
            )


def _check_not_no_go(site: SiteMap, node_id: str, field: str) -> None:
    node = site.node(node_id)
    for zone in site.zones_at(node.x, node.y):
        if zone.kind is ZoneKind.NO_GO:
            raise MissionValidationError(field, f"node {node_id!r} lies in no-go zone {zone.id!r}")


def target_nodes(request: MissionRequest, site: SiteMap, *, zones: bool = True) -> list[str]:
    """The nodes the targets name, in target order, without repeats.

    Node and asset targets name a node directly (an asset is the node in front of it).
    A zone target stands for every node inside the zone polygon, in site order; with
    ``zones=False`` zone targets are refused (templates that need a single point).
    """
    out: list[str] = []
    for i, target in enumerate(request.targets):
        field = f"targets.{i}.id"
        if target.kind == "zone":
            if not zones:
                raise MissionValidationError(
                    f"targets.{i}.kind", "this template needs node or asset targets, not zones"
                )
            zone = next((z for z in site.zones if z.id == target.id), None)
            if zone is None:
                raise MissionValidationError(
                    field, f"no zone {target.id!r} on site {site.map_id!r}"
                )
            inside = [n.id for n in site.nodes if zone.contains(n.x, n.y)]
            if not inside:
                raise MissionValidationError(field, f"zone {target.id!r} contains no node")
            nodes = inside
        else:
            require_node(site, target.id, field)
            nodes = [target.id]
        for node_id in nodes:
            _check_not_no_go(site, node_id, field)
            if node_id not in out:
                out.append(node_id)
    return out


def check_reachable(site: SiteMap, steps: Sequence[MissionStep]) -> None:
    """Consecutive steps must be joined by the graph (the controller plans the legs)."""
    for i in range(1, len(steps)):
        if site.shortest_path(steps[i - 1].node, steps[i].node) is None:
            raise MissionValidationError(
                "targets",
                f"node {steps[i].node!r} cannot be reached from {steps[i - 1].node!r}",
            )


def dwell_s(dwell: float, sensor_t90_s: float) -> float:
    """A reading is only trustworthy after the sensor has settled: dwell at least t90.

    hazards.md §4.5: a first-order sensor reaches 90 % of a step after t90 = τ·ln 10;
    reading earlier under-reports the concentration.
    """
    return max(dwell, sensor_t90_s)

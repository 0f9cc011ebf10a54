"""Permit to work: who must approve a mission before a robot goes.

- A mission whose targets lie in a zone classified hazardous (``Zone.atmosphere`` is
  ``hazardous`` or ``idlh``; a zone of kind ``hazardous`` is at least ``hazardous``), or
  whose request says ``permit_required: true``, needs the approval of a safety officer.
- For a zone at or above IDLH, or an emergency override, the approver must be a
  different person from the submitter (two-person rule).

A request with ``permit_required: false`` cannot waive a permit the zones require: the
zones are the facts on the ground, the flag can only add a permit.
"""

from __future__ import annotations

from dataclasses import dataclass

from missions.errors import PermitError
from missions.model import MissionRequest
from missions.site import SiteMap, Zone

APPROVER_ROLE = "safety_officer"


@dataclass(frozen=True)
class PermitRequirement:
    required: bool
    two_person: bool
    zones: tuple[str, ...]
    """ids of the hazardous zones the targets lie in, in site order"""
    reason: str


def _target_zones(request: MissionRequest, site: SiteMap) -> list[Zone]:
    """Zones the targets touch: a zone target itself, and every zone around a target node
    (for a zone target: around every node inside it).

    Unknown targets are skipped here (planning reports them with their field path).
    """
    hit: set[str] = set()
    for target in request.targets:
        if target.kind == "zone":
            hit.add(target.id)
            # the robot works at the nodes inside: a zone drawn over part of a hazardous
            # area must not hide it
            zone = next((z for z in site.zones if z.id == target.id), None)
            nodes = [n for n in site.nodes if zone is not None and zone.contains(n.x, n.y)]
        else:
            nodes = [site.node(target.id)] if site.has_node(target.id) else []
        for node in nodes:
            hit.update(z.id for z in site.zones_at(node.x, node.y))
    return [z for z in site.zones if z.id in hit]


def permit_requirement(request: MissionRequest, site: SiteMap) -> PermitRequirement:
    """What approval ``request`` needs on ``site`` (pure)."""
    hazardous = [z for z in _target_zones(request, site) if z.is_hazardous]
    idlh = [z.id for z in hazardous if z.atmosphere == "idlh"]
    zone_ids = tuple(z.id for z in hazardous)
    reasons: list[str] = []
    if zone_ids:
        reasons.append(f"targets lie in hazardous zone(s) {', '.join(zone_ids)}")
    if request.permit_required:
        reasons.append("permit requested by the submitter")
    if idlh:
        reasons.append(f"zone(s) {', '.join(idlh)} at or above IDLH: two-person rule")
    if request.emergency_override:
        reasons.append("emergency override: two-person rule")
    required = bool(zone_ids) or bool(request.permit_required) or request.emergency_override
    two_person = bool(idlh) or request.emergency_override
    return PermitRequirement(
        required=required,
        two_person=two_person,
        zones=zone_ids,
        reason="; ".join(reasons) if reasons else "no hazardous zone, no permit requested",
    )


def check_approval(
    requirement: PermitRequirement, submitted_by: str, approver: str, approver_role: str
) -> None:
    """Raise :class:`PermitError` unless ``approver`` may approve under ``requirement``.

    Only a safety officer approves a mission (with or without a permit: approving is
    their act); under the two-person rule the approver must not be the submitter.
    """
    if not approver:
        raise PermitError("an approval needs the name of the approver")
    if approver_role != APPROVER_ROLE:
        raise PermitError(
            f"{approver} has role {approver_role!r}; only a {APPROVER_ROLE} may approve"
        )
    if requirement.two_person and approver.strip().casefold() == submitted_by.strip().casefold():
        raise PermitError(
            f"two-person rule ({requirement.reason}): {approver} submitted this mission "
            "and cannot also approve it"
        )

from __future__ import annotations

import pytest
from pydantic import ValidationError

from missions.errors import PermitError
from missions.permits import PermitRequirement, check_approval, permit_requirement
from missions.site import SiteMap, Zone
from tests.missions import asset, default_site, node, request, zone


def idlh_site() -> SiteMap:
    """The default site with the tank farm declared IDLH (e.g. H2S above 100 ppm)."""
    site = default_site()
    tank_zone = Zone(
        id="tank-farm-idlh",
        kind="hazardous",
        atmosphere="idlh",
        polygon=[(16.0, -2.0), (20.0, -2.0), (20.0, 8.0), (16.0, 8.0)],
    )
    return site.model_copy(update={"zones": [*site.zones, tank_zone]})


def test_zone_atmosphere_defaults_and_kind_implies_hazardous() -> None:
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    assert Zone(id="z", polygon=square).atmosphere == "none"
    assert Zone(id="z", kind="hazardous", polygon=square).atmosphere == "hazardous"
    assert Zone(id="z", kind="hazardous", atmosphere="idlh", polygon=square).atmosphere == "idlh"
    # a general zone may carry an atmosphere class of its own
    general = Zone(id="z", kind="general", atmosphere="hazardous", polygon=square)
    assert general.is_hazardous
    with pytest.raises(ValidationError, match="atmosphere"):
        Zone.model_validate(
            {"id": "z", "kind": "hazardous", "atmosphere": "toxic", "polygon": square}
        )
    # the default drill's pump bay zone is hazardous without saying so explicitly
    assert {z.id: z.atmosphere for z in default_site().zones} == {
        "pump-bay-zone1": "hazardous",
        "dock-charging": "none",
    }


def test_no_permit_outside_hazardous_zones() -> None:
    req = permit_requirement(
        request("patrol", [node("aisle-1"), asset("compressor")]), default_site()
    )
    assert req == PermitRequirement(False, False, (), req.reason)


@pytest.mark.parametrize(
    "target", [node("pump-p101"), asset("pump-bay"), zone("pump-bay-zone1")], ids=str
)
def test_target_in_hazardous_zone_needs_a_permit(target: dict[str, str]) -> None:
    req = permit_requirement(request("patrol", [node("aisle-1"), target]), default_site())
    assert req.required and not req.two_person
    assert req.zones == ("pump-bay-zone1",)
    assert "pump-bay-zone1" in req.reason


def test_submitter_can_ask_for_a_permit_but_not_waive_one() -> None:
    asked = permit_requirement(
        request("patrol", [node("aisle-1")], permit_required=True), default_site()
    )
    assert asked.required and asked.zones == ()
    waived = permit_requirement(
        request("patrol", [node("pump-p101")], permit_required=False), default_site()
    )
    assert waived.required


def test_idlh_zone_and_emergency_override_need_two_persons() -> None:
    site = idlh_site()
    idlh = permit_requirement(request("patrol", [node("tank-t3")]), site)
    assert idlh.required and idlh.two_person and idlh.zones == ("tank-farm-idlh",)
    override = permit_requirement(
        request("patrol", [node("aisle-1")], emergency_override=True), site
    )
    assert override.required and override.two_person and override.zones == ()


def test_unknown_targets_are_left_to_planning() -> None:
    req = permit_requirement(request("patrol", [node("nowhere")]), default_site())
    assert not req.required


PERMIT = PermitRequirement(True, False, ("pump-bay-zone1",), "hazardous zone")
TWO_PERSON = PermitRequirement(True, True, ("tank-farm-idlh",), "IDLH")


def test_safety_officer_may_approve_own_permit_when_one_person_suffices() -> None:
    check_approval(PERMIT, "ben", "ben", "safety_officer")
    check_approval(TWO_PERSON, "ben", "carla", "safety_officer")


@pytest.mark.parametrize("role", ["operator", "engineer", "viewer", ""])
def test_only_safety_officers_approve(role: str) -> None:
    with pytest.raises(PermitError, match="only a safety_officer"):
        check_approval(PERMIT, "ben", "carla", role)


@pytest.mark.parametrize("approver", ["ben", " Ben "])
def test_two_person_rule_refuses_the_submitter(approver: str) -> None:
    with pytest.raises(PermitError, match="two-person rule"):
        check_approval(TWO_PERSON, "ben", approver, "safety_officer")


def test_approver_must_be_named() -> None:
    with pytest.raises(PermitError, match="name"):
        check_approval(PERMIT, "ben", "", "safety_officer")


def test_general_zone_over_a_hazardous_area_does_not_hide_it() -> None:
    site = default_site()
    unit = Zone(id="whole-unit", polygon=[(-2.0, -2.0), (20.0, -2.0), (20.0, 12.0), (-2.0, 12.0)])
    site = site.model_copy(update={"zones": [*site.zones, unit]})
    req = permit_requirement(request("patrol", [zone("whole-unit")]), site)
    assert req.required and req.zones == ("pump-bay-zone1",)

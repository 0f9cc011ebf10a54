from __future__ import annotations

from typing import Any

import pytest

from missions.mission import MissionSpec, MissionStep
from missions.model import MissionValidationError
from missions.site import Zone
from missions.templates import TEMPLATES, Template, get_template, plan, required_capabilities
from tests.missions import asset, default_site, node, request, zone

# one valid request per template on the default site
EXAMPLES: dict[str, dict[str, Any]] = {
    "gas_leak_survey": {"targets": [zone("pump-bay-zone1")], "params": {"return_to": "dock"}},
    "confined_space_entry": {
        "targets": [asset("tank-t3")],
        "params": {"heights_m": [4.0, 2.0, 0.3]},
    },
    "thermal_inspection": {"targets": [asset("compressor"), asset("pump-p101")]},
    "spill_sampling": {"targets": [node("pump-p102")], "params": {"safe_node": "aisle-1"}},
    "radiation_survey": {
        "targets": [node("tank-farm"), asset("tank-t3")],
        "turn_back": {"dose_rate_usv_h": 100, "dose_usv": 20},
    },
    "fire_watch": {"targets": [asset("compressor"), node("aisle-2")]},
    "patrol": {"targets": [node("aisle-1"), asset("tank-t3")], "params": {"return_to": "dock"}},
}


def example(name: str, **changes: Any) -> Any:
    fields = {**EXAMPLES[name], **changes}
    targets = fields.pop("targets")
    return request(name, targets, **fields)


def actions_of(steps: list[MissionStep]) -> list[tuple[str, list[str]]]:
    return [(s.node, [a.type for a in s.actions]) for s in steps]


def test_registry_has_the_seven_templates() -> None:
    assert set(TEMPLATES) == set(EXAMPLES)
    for name, template in TEMPLATES.items():
        assert isinstance(template, Template)
        assert template.name == name and template.description


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_template_expands_on_the_default_site(name: str) -> None:
    req = example(name)
    template = TEMPLATES[name]
    steps = template.expand(req, default_site())
    assert steps
    used = {a.type for s in steps for a in s.actions}
    assert used and used <= template.capabilities(req)
    spec = plan(req, default_site())
    assert isinstance(spec, MissionSpec) and spec.id == "m-test" and spec.steps == steps


def test_gas_survey_samples_every_node_of_a_zone_for_at_least_t90() -> None:
    steps = TEMPLATES["gas_leak_survey"].expand(
        example("gas_leak_survey", params={"dwell_s": 10, "sensor_t90_s": 30, "gases": ["CO"]}),
        default_site(),
    )
    assert actions_of(steps) == [
        ("pump-bay", ["measureGas"]),
        ("pump-p101", ["measureGas"]),
        ("pump-p102", ["measureGas"]),
    ]
    assert {a.params["duration_s"] for s in steps for a in s.actions} == {30.0}  # max(10, 30)
    assert steps[0].actions[0].params["gases"] == ["CO"]
    longer = TEMPLATES["gas_leak_survey"].expand(
        example("gas_leak_survey", params={"dwell_s": 45}), default_site()
    )
    assert longer[0].actions[0].params["duration_s"] == 45.0


def test_gas_survey_node_targets_keep_their_order_without_repeats() -> None:
    req = example(
        "gas_leak_survey",
        targets=[node("pump-p102"), zone("pump-bay-zone1")],
        params={"capture_image": True},
    )
    steps = TEMPLATES["gas_leak_survey"].expand(req, default_site())
    assert [s.node for s in steps] == ["pump-p102", "pump-bay", "pump-p101"]
    assert steps[0].actions[1].type == "captureImage"
    assert TEMPLATES["gas_leak_survey"].capabilities(req) == {"measureGas", "captureImage"}


def test_confined_space_tests_each_height_in_osha_order() -> None:
    req = example(
        "confined_space_entry",
        params={"heights_m": [4.0, 2.0, 0.3], "toxics": ["H2S", "CO", "NH3"], "dwell_s": 20},
    )
    (step,) = TEMPLATES["confined_space_entry"].expand(req, default_site())
    assert step.node == "tank-t3"
    assert [a.params["height_m"] for a in step.actions] == [4.0, 2.0, 0.3]
    assert {a.params["sequence"] for a in step.actions} == {"O2,LEL,H2S,CO,NH3"}
    # three phases (O2, flammables, toxics), each at least the 30 s default t90
    assert {a.params["duration_s"] for a in step.actions} == {90.0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.heights_m"),
        ({"heights_m": []}, "params.heights_m"),
        ({"heights_m": [1.0], "toxics": ["O2"]}, "params.toxics"),
        ({"heights_m": [1.0], "toxics": ["Kryptonite"]}, "params.toxics"),
        ({"heights_m": [-1.0]}, "params.heights_m"),
    ],
)
def test_confined_space_bad_params(params: dict[str, Any], field: str) -> None:
    template = TEMPLATES["confined_space_entry"]
    # model_copy skips model validation: expand must re-check the params by itself
    req = example("confined_space_entry").model_copy(update={"params": params})
    with pytest.raises(MissionValidationError) as info:
        template.expand(req, default_site())
    assert info.value.field == field


def test_confined_space_needs_a_point_not_a_zone() -> None:
    req = example("confined_space_entry", targets=[zone("pump-bay-zone1")])
    with pytest.raises(MissionValidationError) as info:
        TEMPLATES["confined_space_entry"].expand(req, default_site())
    assert info.value.field == "targets.0.kind"


def test_thermal_inspection_scans_and_photographs_each_asset() -> None:
    steps = TEMPLATES["thermal_inspection"].expand(
        example("thermal_inspection", params={"radius_m": 3.0}), default_site()
    )
    assert actions_of(steps) == [
        ("compressor", ["thermalScan", "captureImage"]),
        ("pump-p101", ["thermalScan", "captureImage"]),
    ]
    assert steps[0].actions[0].params["radius_m"] == 3.0


def test_spill_sampling_approaches_images_samples_and_retreats() -> None:
    steps = TEMPLATES["spill_sampling"].expand(example("spill_sampling"), default_site())
    assert actions_of(steps) == [
        ("pump-p102", ["captureImage", "collectSample"]),
        ("aisle-1", []),
    ]
    assert steps[0].actions[1].blocking == "HARD"  # the arm needs the robot standing still


@pytest.mark.parametrize(
    ("safe_node", "needle"),
    [("pump-bay", "pump-bay-zone1"), ("atlantis", "no node 'atlantis'")],
)
def test_spill_retreat_must_be_a_safe_existing_node(safe_node: str, needle: str) -> None:
    req = example("spill_sampling", params={"safe_node": safe_node})
    with pytest.raises(MissionValidationError, match=needle) as info:
        plan(req, default_site())
    assert info.value.field == "params.safe_node"


def test_radiation_survey_carries_turn_back_limits() -> None:
    steps = TEMPLATES["radiation_survey"].expand(example("radiation_survey"), default_site())
    assert actions_of(steps) == [
        ("tank-farm", ["measureDoseRate"]),
        ("tank-t3", ["measureDoseRate"]),
    ]
    params = steps[0].actions[0].params
    assert params["turn_back_dose_rate_usv_h"] == 100.0 and params["turn_back_dose_usv"] == 20.0


def test_fire_watch_images_scans_and_reads_co_each_round() -> None:
    steps = TEMPLATES["fire_watch"].expand(
        example("fire_watch", params={"rounds": 2}), default_site()
    )
    assert [s.node for s in steps] == ["compressor", "aisle-2", "compressor", "aisle-2"]
    assert all(
        [a.type for a in s.actions] == ["captureImage", "thermalScan", "measureGas"] for s in steps
    )
    co = steps[0].actions[2]
    assert co.params["gases"] == ["CO"] and co.params["duration_s"] == 15.0


def test_patrol_visits_in_order_and_returns() -> None:
    steps = TEMPLATES["patrol"].expand(
        example("patrol", params={"laps": 2, "return_to": "dock"}), default_site()
    )
    assert actions_of(steps) == [
        ("aisle-1", ["captureImage"]),
        ("tank-t3", ["captureImage"]),
        ("aisle-1", ["captureImage"]),
        ("tank-t3", ["captureImage"]),
        ("dock", []),
    ]


@pytest.mark.parametrize(
    ("targets", "field", "needle"),
    [
        ([node("aisle-1"), node("nowhere")], "targets.1.id", "no node 'nowhere'"),
        ([zone("nowhere")], "targets.0.id", "no zone"),
    ],
)
def test_unknown_targets_name_the_field(
    targets: list[dict[str, str]], field: str, needle: str
) -> None:
    req = example("patrol", targets=targets)
    with pytest.raises(MissionValidationError, match=needle) as info:
        plan(req, default_site())
    assert info.value.field == field


def test_zone_without_nodes_and_no_go_zones_are_refused() -> None:
    site = default_site()
    empty = Zone(id="empty", polygon=[(50.0, 50.0), (51.0, 50.0), (51.0, 51.0)])
    no_go = Zone(id="keep-out", kind="no_go", polygon=[(17.0, 5.0), (19.0, 5.0), (19.0, 7.0)])
    site = site.model_copy(update={"zones": [*site.zones, empty, no_go]})
    with pytest.raises(MissionValidationError, match="contains no node"):
        plan(example("patrol", targets=[zone("empty")]), site)
    with pytest.raises(MissionValidationError, match="no-go zone 'keep-out'"):
        plan(example("patrol", targets=[node("tank-t3")]), site)


def test_unreachable_target_is_refused() -> None:
    site = default_site()
    island = site.model_copy(
        update={
            "nodes": [*site.nodes, site.nodes[0].model_copy(update={"id": "island", "x": 40.0})]
        }
    )
    with pytest.raises(MissionValidationError, match="cannot be reached"):
        plan(example("patrol", targets=[node("aisle-1"), node("island")]), island)


def test_plan_checks_site_and_id() -> None:
    req = example("patrol")
    assert plan(req, default_site(), mission_id="m-test.20260302T0600").id == "m-test.20260302T0600"
    other = default_site().model_copy(update={"map_id": "unit-9"})
    with pytest.raises(MissionValidationError) as info:
        plan(req, other)
    assert info.value.field == "site"
    with pytest.raises(MissionValidationError) as info:
        plan(req.model_copy(update={"id": None}), default_site())
    assert info.value.field == "id"


def test_plan_carries_name_and_robot_pin() -> None:
    spec = plan(example("patrol", robot="sim-02"), default_site())
    assert (spec.name, spec.robot) == ("test patrol", "sim-02")


def test_required_capabilities_add_the_request_extras() -> None:
    req = example("thermal_inspection", required_capabilities=["measureGas"])
    assert required_capabilities(req) == {"thermalScan", "captureImage", "measureGas"}


def test_get_template_names_the_unknown() -> None:
    with pytest.raises(MissionValidationError, match="unknown template 'x'"):
        get_template("x")

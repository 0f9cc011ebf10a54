"""Capabilities, requirements and the site graph the allocator works on (issue 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from missions.capabilities import (
    AreaClass,
    BatteryModel,
    HazardRating,
    MissionRequirements,
    RobotCapabilities,
    RobotConfig,
    RobotSnapshot,
    RobotStatus,
    estimate_task_duration_s,
)
from missions.mission import MissionSpec
from missions.model import Priority
from missions.site import Edge, Node, SiteMap, Zone
from missions.site_graph import SiteGraph


def square(zid: str, kind: str, x0: float, y0: float, x1: float, y1: float) -> Zone:
    return Zone.model_validate(
        {"id": zid, "kind": kind, "polygon": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]}
    )


def corridor() -> SiteMap:
    """dock - a - b - c - d along y=0; a branch up from a into a zone 1 room, from c into
    a zone 2 bay, from d into a no-go zone; e - f along y=20 crossing a zone 1 pipe rack
    with no node inside it, and a detour e - g - h - f around it; an island."""
    nodes = [
        Node(id="dock", x=0, y=0),
        Node(id="a", x=10, y=0),
        Node(id="b", x=20, y=0),
        Node(id="c", x=30, y=0),
        Node(id="d", x=40, y=0),
        Node(id="pump", x=10, y=10),
        Node(id="tank", x=30, y=10),
        Node(id="reactor", x=40, y=10),
        Node(id="e", x=0, y=20),
        Node(id="f", x=20, y=20),
        Node(id="g", x=0, y=30),
        Node(id="h", x=20, y=30),
        Node(id="island", x=100, y=100),
    ]
    pairs = [
        ("dock", "a"),
        ("a", "b"),
        ("b", "c"),
        ("c", "d"),
        ("a", "pump"),
        ("c", "tank"),
        ("d", "reactor"),
        ("dock", "e"),
        ("e", "f"),
        ("e", "g"),
        ("g", "h"),
        ("h", "f"),
    ]
    zones = [
        square("pump-room", "hazardous", 5, 5, 15, 15),
        square("tank-bay", "hazardous", 25, 5, 35, 15),
        square("reactor-hall", "no_go", 35, 5, 45, 15),
        square("pipe-rack", "hazardous", 8, 18, 12, 22),
        square("dock-charging", "charging", -1, -1, 1, 1),
    ]
    return SiteMap(
        map_id="corridor",
        nodes=nodes,
        edges=[Edge(start=a, end=b) for a, b in pairs],
        zones=zones,
    )


CLASSES = {"tank-bay": "zone_2"}  # pump-room and pipe-rack: unlisted, so zone 1


def graph() -> SiteGraph:
    return SiteGraph(corridor(), CLASSES)


# ------------------------------------------------------------------ capabilities


def caps(**kw: object) -> RobotCapabilities:
    base: dict[str, object] = {"key": "acme/r1", "actions": ["captureImage"], "max_speed_m_s": 1}
    return RobotCapabilities.model_validate({**base, **kw})


def test_ratings_cover_their_class_and_the_milder_one() -> None:
    assert HazardRating.ZONE_1.covers(AreaClass.ZONE_1)
    assert HazardRating.ZONE_1.covers(AreaClass.ZONE_2)
    assert HazardRating.ZONE_2.covers(AreaClass.ZONE_2)
    assert not HazardRating.ZONE_2.covers(AreaClass.ZONE_1)
    assert not HazardRating.NONE.covers(AreaClass.ZONE_2)


_R: dict[str, object] = {"key": "r", "actions": [], "max_speed_m_s": 1}
_M: dict[str, object] = {"id": "m", "nodes": ["a"], "task_duration_s": 1}


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (RobotCapabilities, {**_R, "max_speed_m_s": 0}, "max_speed_m_s"),
        (RobotCapabilities, {**_R, "actions": [""]}, "actions"),
        (RobotCapabilities, {**_R, "x": 1}, "x"),
        (RobotCapabilities, {**_R, "rating": "zone_0"}, "rating"),
        (BatteryModel, {"reserve_pct": -1}, "reserve_pct"),
        (BatteryModel, {"charge_below_pct": 50, "charge_to_pct": 40}, "charge_to_pct"),
        (MissionRequirements, {**_M, "nodes": []}, "nodes"),
        (MissionRequirements, {**_M, "task_duration_s": -1}, "task_duration_s"),
        (MissionRequirements, {**_M, "priority": "high"}, "priority"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    model: type[RobotCapabilities | BatteryModel | MissionRequirements],
    data: dict[str, object],
    field: str,
) -> None:
    with pytest.raises(ValidationError) as err:
        model.model_validate(data)
    assert field in str(err.value)


def test_snapshot_battery_range_and_busy_needs_its_mission() -> None:
    with pytest.raises(ValidationError, match="battery_pct"):
        RobotSnapshot(capabilities=caps(), node="a", battery_pct=120)
    with pytest.raises(ValidationError, match="mission"):
        RobotSnapshot(capabilities=caps(), node="a", battery_pct=50, status=RobotStatus.BUSY)
    with pytest.raises(ValidationError, match="mission"):
        RobotSnapshot(capabilities=caps(), node="a", battery_pct=50, mission="m1")
    busy = RobotSnapshot(
        capabilities=caps(),
        node="a",
        battery_pct=50,
        status=RobotStatus.BUSY,
        mission="m1",
        mission_priority=Priority.ROUTINE,
    )
    assert busy.key == "acme/r1"


def test_capabilities_from_a_factsheet_and_the_fleet_config() -> None:
    config = RobotConfig(
        rating=HazardRating.ZONE_1, extra_actions=frozenset({"measureGas"}), speed_limit_m_s=0.8
    )
    got = RobotCapabilities.from_factsheet("acme/r7", ["captureImage", "thermalScan"], 1.5, config)
    assert got.actions == {"captureImage", "thermalScan", "measureGas"}
    assert got.rating is HazardRating.ZONE_1
    assert got.max_speed_m_s == 0.8
    plain = RobotCapabilities.from_factsheet("acme/r8", ["captureImage"], 1.5)
    assert plain.rating is HazardRating.NONE and plain.max_speed_m_s == 1.5


def test_requirements_from_a_spec_estimate_the_working_time() -> None:
    spec = MissionSpec.model_validate(
        {
            "id": "gas-1",
            "steps": [
                {"node": "a", "actions": [{"type": "measureGas", "params": {"duration_s": 30}}]},
                {"node": "b", "actions": [{"type": "captureImage"}]},
                {"node": "dock"},
            ],
        }
    )
    assert estimate_task_duration_s(spec) == 40.0  # 30 s + the 10 s default
    assert estimate_task_duration_s(spec, {"captureImage": 2}) == 32.0
    req = MissionRequirements.from_spec(spec, Priority.EMERGENCY)
    assert req.nodes == ("a", "b", "dock") and req.start == "a" and req.end == "dock"
    assert req.actions == {"measureGas", "captureImage"}
    assert req.task_duration_s == 40.0 and req.priority is Priority.EMERGENCY


# ------------------------------------------------------------------ site graph


def test_area_levels_of_nodes_follow_the_zones() -> None:
    g = graph()
    level = {nid: int(g.node_level[g.index[nid]]) for nid in ("a", "pump", "tank", "reactor")}
    assert level == {"a": 0, "pump": 2, "tank": 1, "reactor": 3}
    assert g.area_class == {
        "pump-room": AreaClass.ZONE_1,
        "tank-bay": AreaClass.ZONE_2,
        "pipe-rack": AreaClass.ZONE_1,
    }


def test_routes_avoid_areas_above_the_rating_and_never_enter_no_go() -> None:
    g = graph()
    assert g.path("dock", "pump", HazardRating.ZONE_1) == ["dock", "a", "pump"]
    assert g.path("dock", "pump", HazardRating.ZONE_2) is None
    assert g.path("b", "tank", HazardRating.ZONE_2) == ["b", "c", "tank"]
    assert g.path("b", "tank", HazardRating.NONE) is None
    for rating in HazardRating:
        assert g.path("d", "reactor", rating) is None


def test_an_edge_crossing_a_zone_counts_without_a_node_inside() -> None:
    g = graph()
    # e - f passes through the pipe rack: only a zone 1 robot may take it
    assert g.path("e", "f", HazardRating.ZONE_1) == ["e", "f"]
    assert g.path("e", "f", HazardRating.NONE) == ["e", "g", "h", "f"]
    assert g.route_zones(["e", "f"]) == ["pipe-rack"]
    assert g.route_zones(["e", "f"], HazardRating.NONE) == []
    assert g.route_zones(["dock", "pump"]) == ["dock-charging", "pump-room"]


def test_distances_per_level_and_the_nearest_charger() -> None:
    g = graph()
    e, f, dock = g.index["e"], g.index["f"], g.index["dock"]
    assert g.distances([e], [f], 2)[0, 0] == pytest.approx(20.0)
    assert g.distances([e], [f], 0)[0, 0] == pytest.approx(40.0)
    assert g.pair_distances([e, dock], [f, dock], 0).tolist() == pytest.approx([40.0, 0.0])
    assert g.charger_dist_m[0, g.index["b"]] == pytest.approx(20.0)
    assert g.node_ids[g.charger_of[0, g.index["b"]]] == "dock"
    assert math.isinf(g.charger_dist_m[0, g.index["island"]])
    assert g.charger_of[0, g.index["island"]] == -1
    assert math.isinf(g.charger_dist_m[1, g.index["pump"]])  # zone 2 robots cannot be there
    assert g.charger_dist_m[2, g.index["pump"]] == pytest.approx(20.0)


def test_the_distance_table_gives_what_dijkstra_gives() -> None:
    site = corridor()
    cached, plain = SiteGraph(site, CLASSES), SiteGraph(site, CLASSES, table_max_nodes=0)
    nodes = np.arange(len(site.nodes))
    for level in range(3):
        a = cached.distances(nodes[:5], nodes, level)
        b = plain.distances(nodes[:5], nodes, level)
        np.testing.assert_allclose(a, b)
        assert cached.cached_rows(level) >= 5
    cached.precompute()
    assert cached.cached_rows(0) == len(site.nodes)
    assert plain.cached_rows(0) == 0


def test_directed_edges_are_driven_one_way() -> None:
    site = SiteMap(
        nodes=[Node(id="a", x=0, y=0), Node(id="b", x=5, y=0), Node(id="c", x=5, y=5)],
        edges=[
            Edge(start="a", end="b", directed=True),
            Edge(start="b", end="c"),
            Edge(start="c", end="a", directed=True),
        ],
    )
    g = SiteGraph(site)
    a, b = g.index["a"], g.index["b"]
    assert g.distances([a], [b], 0)[0, 0] == pytest.approx(5.0)
    assert g.distances([b], [a], 0)[0, 0] == pytest.approx(5.0 + math.hypot(5, 5))
    assert g.path("b", "a") == ["b", "c", "a"]


def test_parallel_edges_keep_the_shorter_and_coincident_nodes_join() -> None:
    site = SiteMap(
        nodes=[Node(id="a", x=0, y=0), Node(id="a2", x=0, y=0), Node(id="b", x=3, y=4)],
        edges=[Edge(start="a", end="a2"), Edge(start="a2", end="b"), Edge(start="b", end="a2")],
    )
    g = SiteGraph(site)
    assert g.distances([g.index["a"]], [g.index["b"]], 0)[0, 0] == pytest.approx(5.0)


def test_area_classes_must_name_zones_and_classes() -> None:
    with pytest.raises(ValueError, match=r"area_classes\.nowhere"):
        SiteGraph(corridor(), {"nowhere": "zone_1"})
    with pytest.raises(ValueError, match=r"area_classes\.tank-bay: 'zone_0'"):
        SiteGraph(corridor(), {"tank-bay": "zone_0"})
    with pytest.raises(KeyError, match="no node 'zz'"):
        graph().path("a", "zz")

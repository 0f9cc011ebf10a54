"""build_order / resolve_start_node: pure functions from mission + site to a VDA 5050 order."""

from __future__ import annotations

import math
from typing import Any

import pytest

from controller.orders import (
    build_instant_actions,
    build_order,
    instant_action,
    off_node_position,
)
from controller.orders import resolve_start_node as start_node
from drivers.errors import MissionError
from drivers.vda5050 import AgvPosition, BlockingType, Order
from drivers.vda5050.codec import Envelope
from missions.mission import MissionSpec
from missions.site import Edge, Node, SiteMap
from tests.controller import SITE
from tests.vda5050_schemas import SKIP_REASON, schema_errors, schemas_available

TS = "2026-01-01T00:00:00.00Z"


def spec(*steps: dict[str, Any], mission_id: str = "m1") -> MissionSpec:
    return MissionSpec.model_validate({"id": mission_id, "steps": list(steps)})


def order_for(mission: MissionSpec, start: str = "A", **kw: Any) -> Order:
    args: dict[str, Any] = {
        "version": "2.0.0",
        "manufacturer": "acme",
        "serial": "R1",
        "header_id": 7,
        "timestamp": TS,
        "allowed_deviation_xy_m": 0.5,
    }
    args.update(kw)
    return build_order(mission, SITE, start, "m1-1", **args)


def test_route_starts_at_start_node_and_numbers_sequence_ids() -> None:
    order = order_for(spec({"node": "C"}, {"node": "D"}))
    assert [n.nodeId for n in order.nodes] == ["A", "B", "C", "D"]
    assert [n.sequenceId for n in order.nodes] == [0, 2, 4, 6]
    assert [e.sequenceId for e in order.edges] == [1, 3, 5]
    assert [(e.startNodeId, e.endNodeId) for e in order.edges] == [
        ("A", "B"),
        ("B", "C"),
        ("C", "D"),
    ]
    assert all(n.released for n in order.nodes) and all(e.released for e in order.edges)
    assert order.orderId == "m1-1" and order.orderUpdateId == 0


def test_header_fields_come_from_arguments() -> None:
    order = order_for(spec({"node": "B"}), start="A")
    assert (order.headerId, order.timestamp, order.version) == (7, TS, "2.0.0")
    assert (order.manufacturer, order.serialNumber) == ("acme", "R1")


def test_node_positions_edges_ids_and_speed_limits() -> None:
    order = order_for(spec({"node": "C"}), allowed_deviation_xy_m=0.25)
    a, b, _ = order.nodes
    assert b.nodePosition is not None
    assert (b.nodePosition.x, b.nodePosition.y, b.nodePosition.theta) == (5.0, 0.0, 1.5)
    assert b.nodePosition.mapId == "plant"
    assert b.nodePosition.allowedDeviationXY == 0.25
    assert a.nodePosition is not None and a.nodePosition.theta is None
    # edge ids from the site, generated "start--end" for edges without one
    assert [e.edgeId for e in order.edges] == ["e-ab", "B--C"]
    assert order.edges[0].maxSpeed == 0.8
    assert order.edges[1].maxSpeed is None


def test_reverse_traversal_of_undirected_edge_keeps_its_id() -> None:
    order = order_for(spec({"node": "A"}), start="C")
    assert [n.nodeId for n in order.nodes] == ["C", "B", "A"]
    assert [e.edgeId for e in order.edges] == ["B--C", "e-ab"]
    assert order.edges[1].startNodeId == "B" and order.edges[1].endNodeId == "A"


def test_actions_attach_to_the_node_where_their_step_is_reached() -> None:
    order = order_for(
        spec(
            {"node": "B", "actions": [{"type": "measureGas", "params": {"gas": "CH4", "s": 5}}]},
            {
                "node": "D",
                "actions": [
                    {"type": "captureImage", "blocking": "SOFT", "description": "valve"},
                    {"type": "measureGas", "blocking": "NONE", "params": {"gases": ["CO", "H2S"]}},
                ],
            },
        )
    )
    by_node = {n.nodeId: n.actions for n in order.nodes}
    assert by_node["A"] == [] and by_node["C"] == []
    (gas,) = by_node["B"]
    assert gas.actionId == "m1-1:0:0" and gas.actionType == "measureGas"
    assert gas.blockingType == BlockingType.HARD
    assert [(p.key, p.value) for p in gas.actionParameters] == [("gas", "CH4"), ("s", 5)]
    cam, gas2 = by_node["D"]
    assert (cam.actionId, cam.blockingType, cam.actionDescription) == (
        "m1-1:1:0",
        BlockingType.SOFT,
        "valve",
    )
    assert gas2.actionId == "m1-1:1:1" and gas2.blockingType == BlockingType.NONE
    assert gas2.actionParameters[0].value == ["CO", "H2S"]


def test_step_at_the_start_node_puts_its_actions_on_the_first_node() -> None:
    order = order_for(spec({"node": "A", "actions": [{"type": "captureImage"}]}), start="A")
    assert [n.nodeId for n in order.nodes] == ["A"]
    assert order.edges == []
    assert [a.actionId for a in order.nodes[0].actions] == ["m1-1:0:0"]


def test_repeated_and_consecutive_steps_keep_actions_apart() -> None:
    order = order_for(
        spec(
            {"node": "B", "actions": [{"type": "x"}]},
            {"node": "B", "actions": [{"type": "y"}]},  # same node again: joins that node
            {"node": "C", "actions": [{"type": "z"}]},
            {"node": "B", "actions": [{"type": "w"}]},  # back: a new visit of B
        )
    )
    assert [n.nodeId for n in order.nodes] == ["A", "B", "C", "B"]
    assert [[a.actionType for a in n.actions] for n in order.nodes] == [
        [],
        ["x", "y"],
        ["z"],
        ["w"],
    ]
    ids = [a.actionId for n in order.nodes for a in n.actions]
    assert len(set(ids)) == len(ids) == 4


def test_action_ids_are_deterministic() -> None:
    mission = spec({"node": "D", "actions": [{"type": "x"}, {"type": "y"}]})
    assert order_for(mission) == order_for(mission)


def test_unknown_step_node_is_a_mission_error() -> None:
    with pytest.raises(MissionError, match=r"steps\.1\.node 'Z' is not on site map"):
        order_for(spec({"node": "B"}, {"node": "Z"}))


def test_no_route_is_a_mission_error_naming_the_leg() -> None:
    with pytest.raises(MissionError, match=r"no route from 'C' to steps\.1\.node 'E'"):
        order_for(spec({"node": "C"}, {"node": "E"}))


def test_directed_edge_is_not_driven_backwards() -> None:
    site = SiteMap(
        nodes=[Node(id="P", x=0, y=0), Node(id="Q", x=1, y=0)],
        edges=[Edge(start="P", end="Q", directed=True)],
    )
    mission = spec({"node": "P"})
    kw: dict[str, Any] = {
        "version": "2.1.0",
        "manufacturer": "acme",
        "serial": "R1",
        "header_id": 0,
        "timestamp": TS,
        "allowed_deviation_xy_m": 0.5,
    }
    with pytest.raises(MissionError, match="no route"):
        build_order(mission, site, "Q", "o", **kw)
    assert [n.nodeId for n in build_order(spec({"node": "Q"}), site, "P", "o", **kw).nodes] == [
        "P",
        "Q",
    ]


def test_node_theta_is_wrapped_into_minus_pi_to_pi() -> None:
    site = SiteMap(nodes=[Node(id="P", x=0, y=0, theta=3 * math.pi / 2)])
    order = build_order(
        spec({"node": "P"}),
        site,
        "P",
        "o",
        version="2.1.0",
        manufacturer="acme",
        serial="R1",
        header_id=0,
        timestamp=TS,
        allowed_deviation_xy_m=0.5,
    )
    pos = order.nodes[0].nodePosition
    assert pos is not None and pos.theta == pytest.approx(-math.pi / 2)


# ------------------------------------------------------------------ start node


def pos(x: float, y: float, map_id: str = "plant", init: bool = True) -> AgvPosition:
    return AgvPosition(x=x, y=y, theta=0.0, mapId=map_id, positionInitialized=init)


def test_start_node_is_last_node_id_when_known() -> None:
    assert start_node(SITE, "C", pos(0.0, 0.0), 0.5) == "C"


def test_start_node_falls_back_to_nearest_node_within_deviation() -> None:
    assert start_node(SITE, "", pos(5.3, 0.2), 0.5) == "B"
    assert start_node(SITE, "not-on-map", pos(9.8, 0.0), 0.5) == "C"


def test_start_node_too_far_from_any_node() -> None:
    with pytest.raises(MissionError, match=r"2\.50 m from the nearest node 'A'"):
        start_node(SITE, "", pos(2.5, 0.0), 0.5)


@pytest.mark.parametrize(
    ("position", "problem"),
    [
        (None, "no initialised position"),
        (pos(0.0, 0.0, init=False), "no initialised position"),
        (pos(0.0, 0.0, map_id="other"), "on map 'other'"),
    ],
)
def test_start_node_needs_a_usable_position(position: AgvPosition | None, problem: str) -> None:
    with pytest.raises(MissionError, match=problem):
        start_node(SITE, "", position, 0.5)


# ------------------------------------------------------------------ instant actions and schema


def test_instant_actions_message() -> None:
    env = Envelope(3, TS, "2.0.0", "acme", "R1")
    msg = build_instant_actions([instant_action("cancelOrder", "m1:cancelOrder:1")], env)
    assert msg.headerId == 3 and msg.version == "2.0.0" and msg.serialNumber == "R1"
    assert msg.actions[0].actionType == "cancelOrder"
    assert msg.actions[0].blockingType == BlockingType.NONE


@pytest.mark.schemas
@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
def test_built_messages_validate_against_official_schemas() -> None:
    order = order_for(
        spec(
            {"node": "B", "actions": [{"type": "measureGas", "params": {"a": 1.5, "b": True}}]},
            {"node": "D", "actions": [{"type": "captureImage", "params": {"l": ["x", 2]}}]},
        )
    )
    assert schema_errors("order", order.model_dump(mode="json", exclude_none=True)) == []
    env = Envelope(0, TS, "2.1.0", "acme", "R1")
    ia = build_instant_actions([instant_action("startPause", "p1")], env)
    assert schema_errors("instantActions", ia.model_dump(mode="json", exclude_none=True)) == []


def test_robot_between_nodes_rejoins_from_a_temporary_node() -> None:
    # stopped 3 m past B on the way to C after a cancel: lastNodeId is still B
    where = off_node_position(SITE, "B", pos(8.0, 0.0), 0.5)
    assert where == (8.0, 0.0)
    order = order_for(
        spec({"node": "B", "actions": [{"type": "measureGas"}]}), start="B", rejoin_from=where
    )
    assert [n.nodeId for n in order.nodes] == ["m1-1:rejoin", "B"]
    assert [n.sequenceId for n in order.nodes] == [0, 2]
    assert order.nodes[0].nodePosition is not None and order.nodes[0].nodePosition.x == 8.0
    assert (order.edges[0].startNodeId, order.edges[0].endNodeId) == ("m1-1:rejoin", "B")
    assert order.edges[0].sequenceId == 1
    # the measurement is taken at B itself, not where the robot stopped
    assert [a.actionType for a in order.nodes[1].actions] == ["measureGas"]
    assert order.nodes[0].actions == []
    if schemas_available():
        assert schema_errors("order", order.model_dump(mode="json", exclude_none=True)) == []


def test_robot_on_its_node_needs_no_rejoin() -> None:
    assert off_node_position(SITE, "B", pos(5.2, 0.1), 0.5) is None
    assert off_node_position(SITE, "B", None, 0.5) is None
    assert off_node_position(SITE, "B", pos(8.0, 0.0, map_id="other"), 0.5) is None

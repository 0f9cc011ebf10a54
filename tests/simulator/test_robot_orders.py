"""SimRobot: accepting, ignoring and rejecting orders (VDA 5050 6.6.2 and 6.6.4)."""

from __future__ import annotations

import pytest

from drivers.vda5050.messages import (
    ActionStatus,
    Edge,
    Error,
    ErrorLevel,
    Node,
    NodePosition,
    Trajectory,
)
from simulator.robot_spec import SimRobotSpec
from tests.simulator.harness import Harness, act, action_state, errors_of, make_order

S = ActionStatus


def refs(error: Error) -> dict[str, str]:
    return {r.referenceKey: r.referenceValue for r in error.errorReferences}


def test_first_node_far_away_is_rejected_with_no_route_error() -> None:
    h = Harness()
    h.send_order(make_order(["B", "C"]))
    h.step()
    state = h.state
    assert state.orderId == "" and state.nodeStates == []
    (err,) = errors_of(state, "noRouteError")
    assert err.errorLevel is ErrorLevel.WARNING
    assert refs(err)["orderId"] == "o1"
    assert refs(err)["nodeId"] == "B"
    h.step(20)
    assert h.robot.snapshot.x_m == 0.0
    assert errors_of(h.state, "noRouteError"), "warning reported until a new order is accepted"


def test_first_node_within_allowed_deviation_is_accepted() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "A"))
    # B is 10 m away: a 10.5 m deviation makes it trivially reachable (6.6.1)
    h.send_order(make_order(["B", "C"], deviation_m=10.5))
    h.step()
    assert h.state.orderId == "o1"
    assert h.state.lastNodeId == "B"


def test_unknown_action_is_an_order_error_naming_the_action() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"], node_actions={1: [act("launchRocket", "x1")]}))
    h.step()
    (err,) = errors_of(h.state, "orderError")
    assert refs(err)["actionId"] == "x1"
    assert refs(err)["orderId"] == "o1"
    assert h.state.orderId == ""


def test_action_with_a_blocking_type_it_cannot_use_is_an_order_error() -> None:
    h = Harness()
    h.send_order(make_order(["A"], node_actions={0: [act("collectSample", "c1", "NONE")]}))
    h.step()
    (err,) = errors_of(h.state, "orderError")
    assert refs(err)["actionId"] == "c1"


def test_bad_action_parameter_is_an_order_error() -> None:
    h = Harness()
    h.send_order(make_order(["A"], node_actions={0: [act("measureGas", "g", duration_s="long")]}))
    h.step()
    (err,) = errors_of(h.state, "orderError")
    assert refs(err)["actionParameter"] == "duration_s"


def test_trajectory_is_an_unusable_field() -> None:
    h = Harness()
    order = make_order(["A", "B"])
    curve = Trajectory(degree=1, knotVector=[0, 0, 1, 1], controlPoints=[])
    edge = order.edges[0].model_copy(update={"trajectory": curve})
    h.send_order(order.model_copy(update={"edges": [edge]}))
    h.step()
    (err,) = errors_of(h.state, "orderError")
    assert refs(err)["edgeId"] == "A-B"


def test_node_not_on_the_site_map_is_a_no_route_error() -> None:
    h = Harness()
    order = make_order(["A", "B"])
    ghost = Node(nodeId="Q", sequenceId=2, released=True, actions=[])
    edge = order.edges[0].model_copy(update={"endNodeId": "Q"})
    h.send_order(order.model_copy(update={"nodes": [order.nodes[0], ghost], "edges": [edge]}))
    h.step()
    (err,) = errors_of(h.state, "noRouteError")
    assert refs(err)["nodeId"] == "Q"


def test_edge_missing_from_the_site_map_is_a_no_route_error() -> None:
    h = Harness()
    h.send_order(make_order(["A", "C"]))  # no A-C edge on the site
    h.step()
    assert errors_of(h.state, "noRouteError")


def test_wrong_map_is_an_order_error() -> None:
    h = Harness()
    order = make_order(["A"])
    node = order.nodes[0].model_copy(
        update={"nodePosition": NodePosition(x=0.0, y=0.0, mapId="other")}
    )
    h.send_order(order.model_copy(update={"nodes": [node]}))
    h.step()
    (err,) = errors_of(h.state, "orderError")
    assert refs(err)["mapId"] == "other"


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b'{"headerId": 1}',
        b"[]",
        b"",
    ],
    ids=["bad-json", "missing-fields", "not-an-object", "empty"],
)
def test_malformed_order_is_a_validation_error_and_never_crashes(payload: bytes) -> None:
    h = Harness()
    h.send_order(payload)
    h.step()
    assert h.robot.messages_rejected == 1
    (err,) = errors_of(h.state, "validationError")
    assert err.errorLevel is ErrorLevel.WARNING
    h.send_order(make_order(["A", "B"]))
    h.step()
    assert h.state.orderId == "o1"
    assert errors_of(h.state, "validationError") == [], "cleared by accepting a new order"


def test_inconsistent_order_structure_is_a_validation_error() -> None:
    h = Harness()
    order = make_order(["A", "B", "C"])
    bad_seq = order.model_copy(
        update={"edges": [order.edges[0].model_copy(update={"sequenceId": 7}), order.edges[1]]}
    )
    h.send_order(bad_seq)
    wrong_edge = order.model_copy(
        update={"edges": [order.edges[0].model_copy(update={"endNodeId": "C"}), order.edges[1]]}
    )
    h.send_order(wrong_edge)
    too_few = order.model_copy(update={"edges": order.edges[:1]})
    h.send_order(too_few)
    h.step()
    assert len(errors_of(h.state, "validationError")) == 3
    assert h.robot.messages_rejected == 3
    assert h.state.orderId == ""


def test_order_for_another_robot_is_rejected() -> None:
    h = Harness()
    h.send_order(make_order(["A"], serial="r2"))
    h.step()
    assert errors_of(h.state, "validationError")


def test_identical_resend_is_ignored() -> None:
    h = Harness()
    order = make_order(["A", "B"], node_actions={0: [act("measureGas", "g", duration_s=1.0)]})
    h.send_order(order)
    h.step(15)
    before = h.robot.snapshot
    n_states = len(h.states())
    h.send_order(order)
    h.step()
    after = h.state
    assert len(h.states()) == n_states + 1, "a resend is answered with a state"
    assert after.errors == []
    assert action_state(after, "g").actionStatus is before.action_states["g"]
    assert before.action_states["g"] is S.FINISHED, "not restarted by the resend"
    assert h.robot.snapshot.x_m == pytest.approx(before.x_m + 0.1), "drives on, no restart"


def test_lower_order_update_id_is_rejected_and_the_order_goes_on() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "B"))
    h.send_order(make_order(["B", "D", "F"], update_id=3, released=2))
    h.step(10)
    h.send_order(make_order(["B", "D"], update_id=2))
    h.step()
    state = h.state
    (err,) = errors_of(state, "orderUpdateError")
    assert refs(err)["orderUpdateId"] == "2"
    assert state.orderUpdateId == 3
    assert [n.nodeId for n in state.nodeStates] == ["D", "F"]
    h.step(10)
    assert h.robot.snapshot.driving


def test_new_order_while_one_runs_is_rejected() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(5)
    h.send_order(make_order(["A", "B"], order_id="o2"))
    h.step()
    assert errors_of(h.state, "orderUpdateError")
    assert h.state.orderId == "o1"


def test_new_order_after_the_previous_one_finished_is_accepted() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(120)
    assert h.state.nodeStates == []
    h.send_order(make_order(["B", "C"], order_id="o2"))
    h.step()
    assert h.state.orderId == "o2"
    assert h.state.orderUpdateId == 0


def test_order_update_extends_the_base() -> None:
    h = Harness()
    # base A-B, horizon B-C: the robot stops at the decision point B
    h.send_order(make_order(["A", "B", "C"], released=2))
    h.step(150)
    waiting = h.state
    assert waiting.lastNodeId == "B" and not waiting.driving
    assert [(n.nodeId, n.released) for n in waiting.nodeStates] == [("C", False)]
    assert [(e.edgeId, e.released) for e in waiting.edgeStates] == [("B-C", False)]
    assert h.robot.snapshot.x_m == pytest.approx(10.0)

    update = make_order(
        ["B", "C"], update_id=1, first_seq=2, node_actions={1: [act("captureImage", "img")]}
    )
    h.send_order(update)
    h.step()
    assert h.state.orderUpdateId == 1
    assert [(n.nodeId, n.released) for n in h.state.nodeStates] == [("C", True)]
    h.step(150)
    final = h.state
    assert final.lastNodeId == "C" and final.lastNodeSequenceId == 4
    assert final.nodeStates == []
    assert action_state(final, "img").actionStatus is S.FINISHED


def test_order_update_while_driving_is_stitched_at_the_base_end() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(30)
    h.send_order(make_order(["B", "C"], update_id=1, first_seq=2))
    h.step()
    assert [n.nodeId for n in h.state.nodeStates] == ["B", "C"]
    h.step(250)
    assert h.state.lastNodeId == "C"


def test_order_update_not_starting_at_the_base_end_is_rejected() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(30)
    h.send_order(make_order(["A", "B"], update_id=1, first_seq=0))
    h.step()
    (err,) = errors_of(h.state, "orderUpdateError")
    assert refs(err)["nodeId"] == "A"
    assert h.state.orderUpdateId == 0


def test_temporary_start_node_where_the_robot_stands_is_accepted() -> None:
    h = Harness()
    h.send_order(make_order(["A", "B"]))
    h.step(40)  # about 3.9 m along A-B
    h.send_instant(act("cancelOrder", "c1", "NONE"))
    h.step()
    x_m = h.robot.snapshot.x_m
    here = Node(
        nodeId="tmp-1",
        sequenceId=0,
        released=True,
        actions=[],
        nodePosition=NodePosition(x=x_m, y=0.0, mapId="plant"),
    )
    order = make_order(["A", "B"], order_id="o2")
    to_b = Edge(
        edgeId="tmp-B", sequenceId=1, released=True, startNodeId="tmp-1", endNodeId="B", actions=[]
    )
    h.send_order(order.model_copy(update={"nodes": [here, order.nodes[1]], "edges": [to_b]}))
    h.step()
    assert h.state.orderId == "o2"
    h.step(100)
    assert h.state.lastNodeId == "B"

"""Deciding about an incoming order: accept (new or update), ignore, or reject.

Follows figure 8 and section 6.6.4 of VDA 5050 2.1:

1. malformed (structure the schema cannot express)       -> ``validationError``
2. new orderId while the previous order still runs        -> ``orderUpdateError``
   same orderId, lower orderUpdateId                      -> ``orderUpdateError``
   same orderId and orderUpdateId                         -> ignored (a resend)
3. actions it cannot perform, fields it cannot use        -> ``orderError``
4. nodes or edges not on the robot's site map             -> ``noRouteError``
5. new order: first node not trivially reachable          -> ``noRouteError``
   update: first node is not the end of the current base  -> ``orderUpdateError``

Decisions of our own, where the 2.1 text is silent:

* an update to a cancelled order is rejected (``orderUpdateError``): after a cancel the
  controller must send a new orderId (VDA 5050 3.0 adopts the same rule);
* node positions come from the robot's own site map; a ``nodePosition`` that disagrees
  with it by more than :data:`NODE_POSITION_TOLERANCE_M` is an ``orderError``.  Only the
  first node of a new order may be off the map (a temporary node where the robot stands,
  section 6.6.3.1), and then it needs a ``nodePosition``;
* edge ``trajectory`` is an unusable field (straight lines only): ``orderError``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drivers.vda5050.codec import is_supported_version
from drivers.vda5050.messages import Action, ActionScope, Edge, Node, Order, ValueDataType
from missions.site import SiteMap
from simulator.robot_actions import PlannedAction
from simulator.robot_engine import RobotEngine
from simulator.robot_plan import PlannedEdge, PlannedNode
from simulator.robot_spec import DURATION_PARAM, RADIUS_PARAM, ActionDef, SimRobotSpec

POSITION_TOLERANCE_M = 0.05
"""How close the robot must be to a node with allowedDeviationXY 0 to stand on it."""
NODE_POSITION_TOLERANCE_M = 0.05
"""How far an order's nodePosition may be from the site map's position of that node."""

Refs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Rejection:
    error_type: str
    problem: str
    references: Refs = ()


@dataclass(frozen=True)
class Accepted:
    update: bool
    """False: a new order; True: an update stitched onto the current one"""
    nodes: tuple[PlannedNode, ...]
    edges: tuple[PlannedEdge, ...]


@dataclass(frozen=True)
class Ignored:
    reason: str


Decision = Accepted | Ignored | Rejection


def decide(
    order: Order,
    engine: RobotEngine,
    spec: SimRobotSpec,
    site: SiteMap,
    catalogue: Mapping[str, ActionDef],
) -> Decision:
    refs: Refs = (("orderId", order.orderId), ("orderUpdateId", str(order.orderUpdateId)))
    problem = _malformed(order, spec)
    if problem is not None:
        return Rejection("validationError", problem[0], refs + problem[1])

    if order.orderId != engine.order_id:
        if engine.executing:
            return Rejection(
                "orderUpdateError",
                f"new order {order.orderId!r} while order {engine.order_id!r} is still "
                "running; cancel it first or wait until it is done",
                refs,
            )
        update = False
    elif order.orderUpdateId < engine.order_update_id:
        return Rejection(
            "orderUpdateError",
            f"orderUpdateId {order.orderUpdateId} is lower than the current "
            f"{engine.order_update_id}; keeping the current order",
            refs,
        )
    elif order.orderUpdateId == engine.order_update_id:
        return Ignored(f"order {order.orderId}/{order.orderUpdateId} already received")
    else:
        update = True

    for check in (_unusable(order, site, catalogue), _off_map(order, site, update)):
        if check is not None:
            return Rejection(check[0], check[1], refs + check[2])

    first = order.nodes[0]
    if update:
        stitch = (first.nodeId, first.sequenceId)
        expected = (
            engine.base_end
            if engine.executing
            else (
                engine.last_node_id,
                engine.last_node_sequence_id,
            )
        )
        if engine.order_cancelled and not engine.executing:
            return Rejection(
                "orderUpdateError",
                f"order {order.orderId!r} was cancelled; send a new orderId",
                refs,
            )
        if stitch != expected:
            return Rejection(
                "orderUpdateError",
                f"first node {stitch[0]}/{stitch[1]} of the update is not the end of the "
                f"current base {expected}",
                (*refs, ("nodeId", first.nodeId), ("sequenceId", str(first.sequenceId))),
            )
    else:
        x_m, y_m = _node_xy(first, site)
        deviation = first.nodePosition.allowedDeviationXY if first.nodePosition else None
        allowed_m = max(deviation or 0.0, POSITION_TOLERANCE_M)
        distance_m = math.hypot(x_m - engine.x_m, y_m - engine.y_m)
        if distance_m > allowed_m:
            return Rejection(
                "noRouteError",
                f"first node {first.nodeId!r} is {distance_m:.2f} m away, beyond the allowed "
                f"deviation of {allowed_m:.2f} m: not trivially reachable",
                (*refs, ("nodeId", first.nodeId)),
            )

    taken = (
        engine.known_action_ids() if update else {r.action_id for r in engine.runs if not r.final}
    )
    new_nodes = order.nodes[1:] if update else order.nodes
    for action in _all_actions(new_nodes, order.edges):
        if action.actionId in taken:
            return Rejection(
                "validationError",
                f"actionId {action.actionId!r} is already used by an action on the robot",
                (*refs, ("actionId", action.actionId)),
            )
    return Accepted(
        update,
        tuple(_plan_node(n, site) for n in order.nodes),
        tuple(_plan_edge(e) for e in order.edges),
    )


def plan_action(action: Action) -> PlannedAction:
    return PlannedAction(
        action.actionId,
        action.actionType,
        action.blockingType,
        {p.key: p.value for p in action.actionParameters},
        action.actionDescription,
    )


def check_action(
    action: Action, scope: ActionScope, catalogue: Mapping[str, ActionDef]
) -> tuple[str, Refs] | None:
    """Why the robot cannot perform ``action`` in ``scope``, or None if it can."""
    refs: Refs = (("actionId", action.actionId), ("actionType", action.actionType))
    definition = catalogue.get(action.actionType)
    if definition is None:
        return f"action type {action.actionType!r} is not supported by this robot", refs
    if scope not in definition.scopes:
        return f"action type {action.actionType!r} cannot be used as {scope.value} action", refs
    if action.blockingType not in definition.blocking_types:
        allowed = ", ".join(b.value for b in definition.blocking_types)
        return (
            f"action type {action.actionType!r} cannot run with blockingType "
            f"{action.blockingType.value} (allowed: {allowed})",
            refs,
        )
    kinds = {p.key: p.data_type for p in definition.params}
    for param in action.actionParameters:
        kind = kinds.get(param.key)
        value = param.value
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        bad = (
            (kind in (ValueDataType.NUMBER, ValueDataType.FLOAT) and number is None)
            or (kind is ValueDataType.BOOL and not isinstance(value, bool))
            or (kind is ValueDataType.STRING and not isinstance(value, str))
            or (param.key == DURATION_PARAM and number is not None and not 0 <= number < math.inf)
            or (param.key == RADIUS_PARAM and number is not None and not 0 < number < math.inf)
        )
        if bad:
            return (
                f"action parameter {param.key!r} has an unusable value {value!r}",
                (*refs, ("actionParameter", param.key)),
            )
    return None


# ---------------------------------------------------------------------- checks


def _malformed(order: Order, spec: SimRobotSpec) -> tuple[str, Refs] | None:
    if order.manufacturer != spec.manufacturer or order.serialNumber != spec.serial:
        return (
            f"order is addressed to {order.manufacturer}/{order.serialNumber}, "
            f"not {spec.manufacturer}/{spec.serial}",
            (("serialNumber", order.serialNumber),),
        )
    if not is_supported_version(order.version):
        return f"protocol version {order.version!r} is not supported", (("version", order.version),)
    if not order.orderId:
        return "orderId must not be empty", ()
    if not order.nodes:
        return "nodes: an order needs at least one node", ()
    if len(order.edges) != len(order.nodes) - 1:
        return (
            f"edges: {len(order.edges)} edges for {len(order.nodes)} nodes "
            "(must be one fewer than nodes)",
            (),
        )
    chain: list[Node | Edge] = []
    for i, node in enumerate(order.nodes):
        chain.append(node)
        if i < len(order.edges):
            chain.append(order.edges[i])
    for prev, cur in itertools.pairwise(chain):
        if cur.sequenceId <= prev.sequenceId:
            return (
                f"sequenceId {cur.sequenceId} of {_name(cur)} does not follow "
                f"{prev.sequenceId} of {_name(prev)}",
                (("sequenceId", str(cur.sequenceId)),),
            )
        if cur.released and not prev.released:
            return (
                f"{_name(cur)} is released after the unreleased {_name(prev)}",
                (("sequenceId", str(cur.sequenceId)),),
            )
    if not order.nodes[0].released:
        return "nodes.0.released: the first node must be released", (
            ("nodeId", order.nodes[0].nodeId),
        )
    for i, edge in enumerate(order.edges):
        start, end = order.nodes[i], order.nodes[i + 1]
        if edge.startNodeId != start.nodeId or edge.endNodeId != end.nodeId:
            return (
                f"edges.{i} {edge.edgeId!r} runs {edge.startNodeId}->{edge.endNodeId}, "
                f"not {start.nodeId}->{end.nodeId}",
                (("edgeId", edge.edgeId),),
            )
        if edge.released and not end.released:
            return f"edges.{i} is released but its end node is not", (("edgeId", edge.edgeId),)
        if edge.maxSpeed is not None and not edge.maxSpeed > 0:
            return f"edges.{i}.maxSpeed must be > 0, got {edge.maxSpeed}", (
                ("edgeId", edge.edgeId),
            )
    for node in order.nodes:
        if not node.nodeId:
            return "nodeId must not be empty", (("sequenceId", str(node.sequenceId)),)
    for edge in order.edges:
        if not edge.edgeId:
            return "edgeId must not be empty", (("sequenceId", str(edge.sequenceId)),)
    seen: set[str] = set()
    for action in _all_actions(order.nodes, order.edges):
        if not action.actionId or action.actionId in seen:
            return (
                f"actionId {action.actionId!r} is empty or not unique in the order",
                (("actionId", action.actionId),),
            )
        seen.add(action.actionId)
    return None


def _unusable(
    order: Order, site: SiteMap, catalogue: Mapping[str, ActionDef]
) -> tuple[str, str, Refs] | None:
    for node in order.nodes:
        for action in node.actions:
            why = check_action(action, ActionScope.NODE, catalogue)
            if why is not None:
                return "orderError", why[0], why[1]
        pos = node.nodePosition
        if pos is None:
            continue
        if pos.mapId != site.map_id:
            return (
                "orderError",
                f"node {node.nodeId!r} is on map {pos.mapId!r}, the robot knows only "
                f"{site.map_id!r}",
                (("nodeId", node.nodeId), ("mapId", pos.mapId)),
            )
        if site.has_node(node.nodeId):
            known = site.node(node.nodeId)
            off_m = math.hypot(known.x - pos.x, known.y - pos.y)
            if off_m > NODE_POSITION_TOLERANCE_M:
                return (
                    "orderError",
                    f"nodePosition of {node.nodeId!r} is {off_m:.2f} m from where the "
                    "robot's map has it",
                    (("nodeId", node.nodeId),),
                )
    for edge in order.edges:
        for action in edge.actions:
            why = check_action(action, ActionScope.EDGE, catalogue)
            if why is not None:
                return "orderError", why[0], why[1]
        if edge.trajectory is not None:
            return (
                "orderError",
                f"edge {edge.edgeId!r}: trajectory is not supported (straight edges only)",
                (("edgeId", edge.edgeId), ("field", "trajectory")),
            )
    return None


def _off_map(order: Order, site: SiteMap, update: bool) -> tuple[str, str, Refs] | None:
    for i, node in enumerate(order.nodes):
        if site.has_node(node.nodeId):
            continue
        temporary_start = i == 0 and not update and node.nodePosition is not None
        if not temporary_start:
            return (
                "noRouteError",
                f"node {node.nodeId!r} is not on the robot's site map {site.map_id!r}",
                (("nodeId", node.nodeId),),
            )
    for i, edge in enumerate(order.edges):
        if i == 0 and not site.has_node(edge.startNodeId):
            continue  # leaves a temporary start node: a straight line is all we know
        try:
            site.edge_id(edge.startNodeId, edge.endNodeId)
        except KeyError:
            return (
                "noRouteError",
                f"edge {edge.edgeId!r}: the site map has no way from {edge.startNodeId!r} "
                f"to {edge.endNodeId!r}",
                (("edgeId", edge.edgeId),),
            )
    return None


# ---------------------------------------------------------------------- conversion


def _node_xy(node: Node, site: SiteMap) -> tuple[float, float]:
    if site.has_node(node.nodeId):
        known = site.node(node.nodeId)
        return known.x, known.y
    assert node.nodePosition is not None  # checked by _off_map
    return node.nodePosition.x, node.nodePosition.y


def _plan_node(node: Node, site: SiteMap) -> PlannedNode:
    x_m, y_m = _node_xy(node, site)
    theta = node.nodePosition.theta if node.nodePosition is not None else None
    if theta is None and site.has_node(node.nodeId):
        theta = site.node(node.nodeId).theta
    return PlannedNode(
        node.nodeId,
        node.sequenceId,
        node.released,
        x_m,
        y_m,
        site.map_id,
        theta,
        tuple(plan_action(a) for a in node.actions),
        node.nodeDescription,
    )


def _plan_edge(edge: Edge) -> PlannedEdge:
    return PlannedEdge(
        edge.edgeId,
        edge.sequenceId,
        edge.released,
        edge.startNodeId,
        edge.endNodeId,
        edge.maxSpeed,
        tuple(plan_action(a) for a in edge.actions),
        edge.edgeDescription,
    )


def _all_actions(nodes: Sequence[Node], edges: Sequence[Edge]) -> list[Action]:
    return [a for n in nodes for a in n.actions] + [a for e in edges for a in e.actions]


def _name(element: Node | Edge) -> str:
    return f"node {element.nodeId!r}" if isinstance(element, Node) else f"edge {element.edgeId!r}"

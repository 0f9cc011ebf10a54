"""Turning a mission into VDA 5050 messages: pure functions, no bus, no clock.

The caller supplies everything that varies per send (header id, timestamp, protocol
version, robot identity), so the same inputs always give the same order.  An order:

* starts at the robot's current node (see :func:`resolve_start_node`), because the first
  node of an order must be trivially reachable (VDA 5050 section 6.6.1);
* follows the shortest route through each step's node in turn (as
  :meth:`missions.site.SiteMap.route_through` does, leg by leg so we know at which node
  each step is reached);
* numbers nodes 0, 2, 4, ... and edges 1, 3, 5, ... (section 6.6.2);
* releases every node and edge up to ``horizon_from`` (the first node past the boundary
  of a zone that waits for a permit or an operator's clearance); the rest is the horizon
  (``released: false``), released later by :func:`order_update` (section 6.6.2);
* attaches each step's actions to the node where that step is reached, with ids
  ``f"{order_id}:{step}:{i}"`` that are unique within the order and deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from drivers.errors import MissionError
from drivers.vda5050.codec import Envelope
from drivers.vda5050.messages import (
    Action,
    ActionParameter,
    AgvPosition,
    BlockingType,
    Edge,
    InstantActions,
    Node,
    NodePosition,
    Order,
)
from missions.mission import MissionAction, MissionSpec
from missions.site import Edge as SiteEdge
from missions.site import SiteMap


def order_action_id(order_id: str, step: int, index: int) -> str:
    """The actionId of the ``index``-th action of mission step ``step`` in order ``order_id``."""
    return f"{order_id}:{step}:{index}"


def resolve_start_node(
    site: SiteMap,
    last_node_id: str,
    position: AgvPosition | None,
    allowed_deviation_xy_m: float,
) -> str:
    """The node an order for this robot must start at.

    The robot's ``lastNodeId`` when it is a node of ``site``; otherwise the node nearest to
    its reported position, if the position is initialised, on ``site.map_id`` and within
    ``allowed_deviation_xy_m`` metres of that node (so the robot counts it as reached).

    Raises:
        MissionError: when neither gives a node.
    """
    if last_node_id and site.has_node(last_node_id):
        return last_node_id
    if position is None or not position.positionInitialized:
        where = "reports no initialised position"
    elif position.mapId != site.map_id:
        where = f"is on map {position.mapId!r}, not {site.map_id!r}"
    else:
        nearest = site.nearest_node(position.x, position.y)
        distance_m = math.hypot(nearest.x - position.x, nearest.y - position.y)
        if distance_m <= allowed_deviation_xy_m:
            return nearest.id
        where = (
            f"is {distance_m:.2f} m from the nearest node {nearest.id!r} "
            f"(allowed deviation {allowed_deviation_xy_m:.2f} m)"
        )
    if last_node_id:
        last = f"lastNodeId {last_node_id!r} is not on site map {site.map_id!r}"
    else:
        last = "it reports no lastNodeId"
    raise MissionError(f"cannot find the robot's start node: {last} and it {where}")


def off_node_position(
    site: SiteMap, start_node_id: str, position: AgvPosition | None, allowed_deviation_xy_m: float
) -> tuple[float, float] | None:
    """Where the robot stands, in metres, when that is farther than the deviation range
    from ``start_node_id`` (it stopped between nodes after ``cancelOrder``); else None.

    The next order then begins with a temporary node at that position (VDA 5050 6.6.3.1,
    first option), so the robot drives back to its last node instead of counting it as
    reached from metres away, which would run the mission's first actions in the wrong
    place.
    """
    if position is None or not position.positionInitialized or position.mapId != site.map_id:
        return None
    node = site.node(start_node_id)
    if math.hypot(node.x - position.x, node.y - position.y) <= allowed_deviation_xy_m:
        return None
    return (position.x, position.y)


PathFn = Callable[[str, str], list[str] | None]
"""(start node, goal node) -> the node path, None when there is none"""


def plan_route(
    mission: MissionSpec, site: SiteMap, start_node_id: str, path: PathFn | None = None
) -> tuple[list[str], list[int]]:
    """(route node ids from ``start_node_id``, route index at which each step is reached).

    ``path`` finds each leg (the allocator's graph at the robot's rating,
    :meth:`controller.fleet_plan.FleetPlanner.path_fn`); default the zone-blind
    :meth:`SiteMap.shortest_path`.

    Raises:
        MissionError: a node is unknown or a leg has no route.
    """
    if not site.has_node(start_node_id):
        raise MissionError(
            f"mission {mission.id!r}: start node {start_node_id!r} is not on site map "
            f"{site.map_id!r}"
        )
    find = path if path is not None else site.shortest_path
    route = [start_node_id]
    reached_at: list[int] = []
    for i, step in enumerate(mission.steps):
        if not site.has_node(step.node):
            raise MissionError(
                f"mission {mission.id!r}: steps.{i}.node {step.node!r} is not on site map "
                f"{site.map_id!r}"
            )
        leg = find(route[-1], step.node)
        if leg is None:
            within = "" if path is None else " within the robot's hazardous-area rating"
            raise MissionError(
                f"mission {mission.id!r}: no route from {route[-1]!r} to steps.{i}.node "
                f"{step.node!r} on site map {site.map_id!r}{within}"
            )
        # A step on the node we are already at adds no leg: its actions join that node.
        route.extend(leg[1:])
        reached_at.append(len(route) - 1)
    return route, reached_at


def _site_edge(site: SiteMap, start: str, end: str) -> SiteEdge | None:
    return site.edge_between.get((start, end))


def to_wire_action(action: MissionAction, action_id: str) -> Action:
    return Action(
        actionType=action.type,
        actionId=action_id,
        blockingType=BlockingType(action.blocking),
        actionDescription=action.description,
        actionParameters=[ActionParameter(key=k, value=v) for k, v in action.params.items()],
    )


def _wrap_angle(theta_rad: float) -> float:
    """Same orientation, within [-pi, pi] as the order schema demands."""
    return max(-math.pi, min(math.pi, math.remainder(theta_rad, 2 * math.pi)))


def build_order(
    mission: MissionSpec,
    site: SiteMap,
    start_node_id: str,
    order_id: str,
    *,
    version: str,
    manufacturer: str,
    serial: str,
    header_id: int,
    timestamp: str,
    allowed_deviation_xy_m: float,
    rejoin_from: tuple[float, float] | None = None,
    path: PathFn | None = None,
    horizon_from: int | None = None,
) -> Order:
    """The VDA 5050 order (orderUpdateId 0) that runs ``mission`` from ``start_node_id``.

    ``rejoin_from`` (x, y in metres, see :func:`off_node_position`) prepends a temporary
    node where the robot stands and an edge from there to ``start_node_id``.
    ``horizon_from``: index in the route (from ``start_node_id``, see :func:`plan_route`)
    of the first node not released; None releases everything.  At least 1: the first
    node is always released.

    Raises:
        MissionError: unknown node, no route, or a value the wire format cannot carry.
    """
    route, reached_at = plan_route(mission, site, start_node_id, path)
    if horizon_from is not None and horizon_from < 1:
        raise ValueError(f"horizon_from must be at least 1, got {horizon_from}")
    release_below = len(route) if horizon_from is None else horizon_from
    actions_at: list[list[Action]] = [[] for _ in route]
    for step_no, (step, idx) in enumerate(zip(mission.steps, reached_at, strict=True)):
        for i, action in enumerate(step.actions):
            actions_at[idx].append(to_wire_action(action, order_action_id(order_id, step_no, i)))
    off = 0 if rejoin_from is None else 1
    try:
        nodes = []
        for i, node_id in enumerate(route):
            site_node = site.node(node_id)
            nodes.append(
                Node(
                    nodeId=node_id,
                    sequenceId=2 * (i + off),
                    released=i < release_below,
                    actions=actions_at[i],
                    nodePosition=NodePosition(
                        x=float(site_node.x),
                        y=float(site_node.y),
                        theta=None if site_node.theta is None else _wrap_angle(site_node.theta),
                        mapId=site.map_id,
                        allowedDeviationXY=allowed_deviation_xy_m,
                    ),
                )
            )
        edges = []
        for i, (a, b) in enumerate(itertools.pairwise(route)):
            site_edge = _site_edge(site, a, b)
            edges.append(
                Edge(
                    edgeId=site.edge_id(a, b),
                    sequenceId=2 * (i + off) + 1,
                    released=i + 1 < release_below,
                    startNodeId=a,
                    endNodeId=b,
                    actions=[],
                    maxSpeed=None if site_edge is None else site_edge.max_speed_m_s,
                )
            )
        if rejoin_from is not None:
            nodes.insert(
                0,
                Node(
                    nodeId=f"{order_id}:rejoin",
                    sequenceId=0,
                    released=True,
                    actions=[],
                    nodePosition=NodePosition(
                        x=float(rejoin_from[0]),
                        y=float(rejoin_from[1]),
                        mapId=site.map_id,
                        allowedDeviationXY=allowed_deviation_xy_m,
                    ),
                ),
            )
            edges.insert(
                0,
                Edge(
                    edgeId=f"{order_id}:rejoin--{start_node_id}",
                    sequenceId=1,
                    released=True,
                    startNodeId=f"{order_id}:rejoin",
                    endNodeId=start_node_id,
                    actions=[],
                ),
            )
        return Order(
            headerId=header_id,
            timestamp=timestamp,
            version=version,
            manufacturer=manufacturer,
            serialNumber=serial,
            orderId=order_id,
            orderUpdateId=0,
            nodes=nodes,
            edges=edges,
        )
    except ValidationError as exc:
        raise MissionError(f"mission {mission.id!r}: cannot encode as an order: {exc}") from exc


def base_end(order: Order) -> int:
    """Index in ``order.nodes`` of its last released node (the end of the base)."""
    return max(i for i, n in enumerate(order.nodes) if n.released)


def order_update(full: Order, stitch: int, horizon_from: int | None, envelope: Envelope) -> Order:
    """The update (VDA 5050 6.6.2) that releases ``full``'s nodes up to ``horizon_from``.

    ``full`` is the whole order (every node, as first sent, with the orderUpdateId of the
    last message sent); ``stitch`` the index in ``full.nodes`` of the current base end,
    which the update starts with, unchanged (the robot keeps its first instructions for
    it); ``horizon_from`` the index of the first node still held back, None for none.
    The update's orderUpdateId is ``full``'s plus one.
    """
    end = len(full.nodes) if horizon_from is None else horizon_from
    if not stitch < end <= len(full.nodes):
        raise ValueError(f"horizon_from {horizon_from} must lie after the base end {stitch}")
    nodes = [
        n.model_copy(update={"released": i < end}) for i, n in enumerate(full.nodes) if i >= stitch
    ]
    edges = [
        e.model_copy(update={"released": i + 1 < end})
        for i, e in enumerate(full.edges)
        if i >= stitch
    ]
    return full.model_copy(
        update={
            **envelope.fields(),
            "orderUpdateId": full.orderUpdateId + 1,
            "nodes": nodes,
            "edges": edges,
        }
    )


def without_horizon_actions(order: Order) -> Order:
    """``order`` as sent: no actions on unreleased nodes and edges.  They come with the
    update that releases them; sent earlier, the robot would hold their actionIds already
    and could refuse the update that repeats them (a robot may check that actionIds are
    unique over the order)."""
    if all(n.released for n in order.nodes):
        return order
    return order.model_copy(
        update={
            "nodes": [
                n if n.released else n.model_copy(update={"actions": []}) for n in order.nodes
            ],
            "edges": [
                e if e.released else e.model_copy(update={"actions": []}) for e in order.edges
            ],
        }
    )


def instant_action(action_type: str, action_id: str) -> Action:
    """A parameterless control instant action (cancelOrder, startPause, ...).

    blockingType NONE: these are commands about the robot's mode, and must take effect
    while other actions run rather than queue behind them.
    """
    return Action(actionType=action_type, actionId=action_id, blockingType=BlockingType.NONE)


def build_instant_actions(actions: Sequence[Action], envelope: Envelope) -> InstantActions:
    return InstantActions(
        **envelope.fields(),
        actions=list(actions),
    )

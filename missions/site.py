"""Site maps: the graph robots drive on, and the zones drawn over it.

Coordinates are metres in the map frame; angles in radians.  A site has one ``map_id``
(VDA 5050 ``mapId``).  Edges are undirected unless ``directed`` is set.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Node(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    x: float
    """metres"""
    y: float
    """metres"""
    theta: float | None = None
    """radians, or None when the robot may arrive in any orientation"""


class Edge(_Strict):
    id: str | None = None
    start: str
    end: str
    directed: bool = False
    max_speed_m_s: float | None = Field(default=None, gt=0)


class ZoneKind(StrEnum):
    HAZARDOUS = "hazardous"
    NO_GO = "no_go"
    CHARGING = "charging"
    ASSEMBLY = "assembly"
    GENERAL = "general"


Atmosphere = Literal["none", "hazardous", "idlh"]
"""Permit classification of a zone's atmosphere: ``hazardous`` needs a permit to work,
``idlh`` (at or above Immediately Dangerous to Life or Health) also the two-person rule."""

_ATMOSPHERE_RANK: dict[str, int] = {"none": 0, "hazardous": 1, "idlh": 2}


class Zone(_Strict):
    id: str
    kind: ZoneKind = ZoneKind.GENERAL
    polygon: list[tuple[float, float]] = Field(min_length=3)
    """vertices in metres, in order"""
    atmosphere: Atmosphere = "none"
    """permit classification; a zone of kind ``hazardous`` is at least ``hazardous``"""

    @model_validator(mode="before")
    @classmethod
    def _kind_implies_atmosphere(cls, data: Any) -> Any:
        # a hazardous zone drawn without an atmosphere class still needs a permit
        if isinstance(data, dict) and str(data.get("kind", "")) == ZoneKind.HAZARDOUS.value:
            current = data.get("atmosphere", "none")
            # an unknown value is left for the field validator to refuse
            if isinstance(current, str) and _ATMOSPHERE_RANK.get(current, 1) < 1:
                data = {**data, "atmosphere": "hazardous"}
        return data

    def contains(self, x: float, y: float) -> bool:
        """Even-odd ray casting; points on the boundary count as inside for horizontal edges."""
        inside = False
        pts = self.polygon
        j = len(pts) - 1
        for i, (xi, yi) in enumerate(pts):
            xj, yj = pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    @property
    def is_hazardous(self) -> bool:
        """True when work in this zone needs a permit (atmosphere hazardous or idlh)."""
        return self.atmosphere != "none"


_CACHED = ("node_index", "edge_index", "edge_between", "adjacency", "charger_node_ids")


class SiteMap(_Strict):
    map_id: str = Field(default="site", min_length=1)
    nodes: list[Node] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_graph(self) -> SiteMap:
        ids = [n.id for n in self.nodes]
        seen: set[str] = set()
        for i, nid in enumerate(ids):
            if nid in seen:
                raise ValueError(f"nodes.{i}.id: duplicate node id {nid!r}")
            seen.add(nid)
        for i, e in enumerate(self.edges):
            for end in ("start", "end"):
                ref = getattr(e, end)
                if ref not in seen:
                    raise ValueError(f"edges.{i}.{end}: unknown node {ref!r}")
            if e.start == e.end:
                raise ValueError(f"edges.{i}: an edge must join two different nodes")
        return self

    # The map is frozen, so its indexes are computed once, on first use.  Without them
    # every lookup scanned all nodes and every route rebuilt the adjacency: the simulator
    # speed benchmark spent 5.2 of 5.9 s there on a 961-node site.

    @cached_property
    def node_index(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @cached_property
    def edge_index(self) -> dict[tuple[str, str], str]:
        """(start, end) -> edge id, both directions for undirected edges (first edge wins)."""
        index: dict[tuple[str, str], str] = {}
        for e in self.edges:
            eid = e.id or f"{e.start}--{e.end}"
            index.setdefault((e.start, e.end), eid)
            if not e.directed:
                index.setdefault((e.end, e.start), eid)
        return index

    @cached_property
    def edge_between(self) -> dict[tuple[str, str], Edge]:
        """(start, end) -> the edge joining them, both directions for undirected edges
        (first edge wins, as in :attr:`edge_index`)."""
        index: dict[tuple[str, str], Edge] = {}
        for e in self.edges:
            index.setdefault((e.start, e.end), e)
            if not e.directed:
                index.setdefault((e.end, e.start), e)
        return index

    @cached_property
    def adjacency(self) -> dict[str, list[tuple[str, float]]]:
        """node id -> [(neighbour id, edge length in metres)]"""
        adj: dict[str, list[tuple[str, float]]] = {n.id: [] for n in self.nodes}
        for e in self.edges:
            d = self.length(e.start, e.end)
            adj[e.start].append((e.end, d))
            if not e.directed:
                adj[e.end].append((e.start, d))
        return adj

    @cached_property
    def charger_node_ids(self) -> frozenset[str]:
        """Nodes where a robot charges: inside a ``charging`` zone and in no ``no_go``
        zone (as :class:`missions.site_graph.SiteGraph` counts chargers)."""
        out: set[str] = set()
        for node in self.nodes:
            kinds = {z.kind for z in self.zones_at(node.x, node.y)}
            if ZoneKind.CHARGING in kinds and ZoneKind.NO_GO not in kinds:
                out.add(node.id)
        return frozenset(out)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; the indexes are rebuilt for it (pydantic would copy them stale)."""
        copy = super().model_copy(update=update, deep=deep)
        for name in _CACHED:
            copy.__dict__.pop(name, None)
        return copy

    def node(self, node_id: str) -> Node:
        return self.node_index[node_id]

    def has_node(self, node_id: str) -> bool:
        return node_id in self.node_index

    def edge_id(self, start: str, end: str) -> str:
        return self.edge_index[(start, end)]

    def length(self, start: str, end: str) -> float:
        a, b = self.node(start), self.node(end)
        return math.hypot(b.x - a.x, b.y - a.y)

    def nearest_node(self, x: float, y: float) -> Node:
        return min(self.nodes, key=lambda n: math.hypot(n.x - x, n.y - y))

    def zones_at(self, x: float, y: float) -> list[Zone]:
        return [z for z in self.zones if z.contains(x, y)]

    def shortest_path(self, start: str, goal: str) -> list[str] | None:
        """Dijkstra by Euclidean edge length; None when ``goal`` is unreachable."""
        if start == goal:
            return [start]
        adj = self.adjacency
        if start not in adj or goal not in adj:
            return None
        dist = {start: 0.0}
        prev: dict[str, str] = {}
        heap = [(0.0, start)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == goal:
                break
            if d > dist.get(u, math.inf):
                continue
            for v, w in adj[u]:
                nd = d + w
                if nd < dist.get(v, math.inf):
                    dist[v] = nd
                    prev[v] = u
                    heapq.heappush(heap, (nd, v))
        if goal not in dist:
            return None
        path = [goal]
        while path[-1] != start:
            path.append(prev[path[-1]])
        return path[::-1]

    def route_through(self, start: str, waypoints: Sequence[str]) -> list[str] | None:
        """Shortest route from ``start`` visiting ``waypoints`` in order (nodes repeat
        when a waypoint is visited twice); None when any leg is unreachable."""
        route = [start]
        for wp in waypoints:
            leg = self.shortest_path(route[-1], wp)
            if leg is None:
                return None
            route.extend(leg[1:])
        return route

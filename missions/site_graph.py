"""Travel model over a site graph for allocation: shortest paths for thousands of nodes.

A :class:`SiteGraph` is built once per :class:`~missions.site.SiteMap` (it is static
while the map is) and holds one sparse graph per robot rating level:

* level 0 (unrated robots): no edge that touches a no-go zone or any hazardous area;
* level 1 (zone 2 rated): also the edges in zone 2 areas;
* level 2 (zone 1 rated): every edge except those touching a no-go zone.

An edge *touches* a zone when either end node lies inside its polygon or the segment
crosses one of its sides, so the zones a route crosses are decided per edge; a route in
the graph of a robot's rating therefore never enters an area it is not certified for, and
no route ever enters a no-go zone.  Edge weights are Euclidean lengths in metres (as
:meth:`SiteMap.length`); travel time is distance divided by the robot's speed, so edge
speed limits are not modelled (optimistic for robots faster than a limit).

Which zones are hazardous areas, and of which class: every zone of kind ``hazardous``,
classified by ``area_classes`` (zone id -> :class:`AreaClass`), zone 1 when not listed
(the cautious reading: an unclassified hazardous area admits only the robots rated for
the worse class).  A zone of another kind listed in ``area_classes`` is a hazardous area
too.

Shortest paths use :func:`scipy.sparse.csgraph.dijkstra` from many sources at once
(C code, a binary heap: O(k (E + N log N)) for k sources).  Rows of distances are kept in
a float32 table per level once computed (sources repeat from batch to batch: where robots
park, mission nodes), and :meth:`SiteGraph.precompute` fills the whole table when the site
is loaded.  The nearest charger of every node, per level, is one multi-source run from
the charger nodes (``min_only``) done at construction.

Pure: no I/O, no clock.  The table fills as distances are asked for, so a SiteGraph is
not thread-safe: the controller allocates on its one stepping thread.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from missions.capabilities import AreaClass, HazardRating
from missions.site import SiteMap, Zone, ZoneKind

LEVELS = 3
"""rating levels 0 (none), 1 (zone 2), 2 (zone 1)"""
NO_GO_LEVEL = 3
"""the level of an edge or node in a no-go zone: above every rating"""

_MIN_WEIGHT_M = 1e-9
"""scipy reads a stored 0 as "no edge": two nodes at the same spot are joined by this"""
_NO_NODE = -9999
"""scipy's predecessor value for "none" """

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class RouteTable:
    """Driving distance of each mission's own route (first step to last), per level.

    ``length_m[m, level]``: metres, ``inf`` when a leg cannot be driven in that level's
    graph.  ``start``/``end``: node indexes.  ``node_level[m]``: the highest area level of
    the mission's step nodes (a robot must be rated at least this to work there, even
    when it already stands on the node).
    """

    ids: tuple[str, ...]
    start: IntArray
    end: IntArray
    length_m: FloatArray
    node_level: IntArray


def _inside(zone: Zone, x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
    """Vectorised :meth:`Zone.contains` (even-odd rule, same arithmetic)."""
    inside = np.zeros(x.shape, dtype=bool)
    pts = zone.polygon
    j = len(pts) - 1
    for i, (xi, yi) in enumerate(pts):
        xj, yj = pts[j]
        if yi != yj:
            straddles = (yi > y) != (yj > y)
            x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
            inside ^= straddles & (x < x_cross)
        j = i
    return inside


def _orient(
    ax: FloatArray | float,
    ay: FloatArray | float,
    bx: FloatArray | float,
    by: FloatArray | float,
    cx: FloatArray | float,
    cy: FloatArray | float,
) -> FloatArray:
    return np.asarray((bx - ax) * (cy - ay) - (by - ay) * (cx - ax), dtype=np.float64)


def _segments_cross(
    zone: Zone, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray
) -> NDArray[np.bool_]:
    """True where segment (x0,y0)-(x1,y1) meets a side of the polygon (touching counts)."""
    hit = np.zeros(x0.shape, dtype=bool)
    pts = zone.polygon
    for k in range(len(pts)):
        ax, ay = pts[k - 1]
        bx, by = pts[k]
        o1 = _orient(x0, y0, x1, y1, ax, ay)
        o2 = _orient(x0, y0, x1, y1, bx, by)
        o3 = _orient(ax, ay, bx, by, x0, y0)
        o4 = _orient(ax, ay, bx, by, x1, y1)
        boxes = (
            (np.minimum(x0, x1) <= max(ax, bx))
            & (min(ax, bx) <= np.maximum(x0, x1))
            & (np.minimum(y0, y1) <= max(ay, by))
            & (min(ay, by) <= np.maximum(y0, y1))
        )
        hit |= (o1 * o2 <= 0) & (o3 * o4 <= 0) & boxes
    return hit


class SiteGraph:
    """Sparse per-rating graphs of a site, node and edge zone membership, chargers."""

    def __init__(
        self,
        site: SiteMap,
        area_classes: Mapping[str, AreaClass | str] | None = None,
        *,
        table_max_nodes: int = 4000,
    ) -> None:
        """``table_max_nodes``: keep a distance table (float32, one row per source node
        computed so far, per rating level) on sites up to this many nodes; on larger sites
        every call runs Dijkstra afresh.  Memory: 4 bytes x nodes x rows computed, at most
        nodes² per level (16 MB at 2,025 nodes; 64 MB at 4,000)."""
        zone_ids = {z.id for z in site.zones}
        classes: dict[str, AreaClass] = {}
        for zid, value in (area_classes or {}).items():
            if zid not in zone_ids:
                raise ValueError(f"area_classes.{zid}: no zone {zid!r} on site {site.map_id!r}")
            try:
                classes[zid] = AreaClass(value)
            except ValueError:
                known = ", ".join(c.value for c in AreaClass)
                raise ValueError(
                    f"area_classes.{zid}: {value!r} is not an area class ({known})"
                ) from None
        self.site = site
        self.node_ids: tuple[str, ...] = tuple(n.id for n in site.nodes)
        self.index: dict[str, int] = {nid: i for i, nid in enumerate(self.node_ids)}
        n = len(self.node_ids)
        self.n_nodes = n
        xs = np.array([nd.x for nd in site.nodes], dtype=np.float64)
        ys = np.array([nd.y for nd in site.nodes], dtype=np.float64)

        # zone levels: 1/2 hazardous area class, 3 no-go; other zones matter only as
        # chargers or names on a route
        self.zone_level: dict[str, int] = {}
        self.area_class: dict[str, AreaClass] = {}
        for zone in site.zones:
            if zone.kind is ZoneKind.NO_GO:
                self.zone_level[zone.id] = NO_GO_LEVEL
            elif zone.kind is ZoneKind.HAZARDOUS or zone.id in classes:
                cls = classes.get(zone.id, AreaClass.ZONE_1)
                self.area_class[zone.id] = cls
                self.zone_level[zone.id] = cls.level
            else:
                self.zone_level[zone.id] = 0

        # directed edges (undirected ones both ways), duplicates kept at their shortest
        starts: list[int] = []
        ends: list[int] = []
        directed = False
        for e in site.edges:
            a, b = self.index[e.start], self.index[e.end]
            starts.append(a)
            ends.append(b)
            directed = directed or e.directed
        self.directed = directed
        ea = np.array(starts, dtype=np.int64)
        eb = np.array(ends, dtype=np.int64)
        both = np.array([not e.directed for e in site.edges], dtype=bool)
        length = np.maximum(np.hypot(xs[eb] - xs[ea], ys[eb] - ys[ea]), _MIN_WEIGHT_M)

        node_level = np.zeros(n, dtype=np.int64)
        edge_level = np.zeros(len(ea), dtype=np.int64)
        self._node_zones: dict[int, list[str]] = {}
        self._edge_zones: dict[tuple[int, int], list[str]] = {}
        for zone in site.zones:
            inside = _inside(zone, xs, ys)
            lvl = self.zone_level[zone.id]
            node_level[inside] = np.maximum(node_level[inside], lvl)
            for i in np.flatnonzero(inside).tolist():
                self._node_zones.setdefault(i, []).append(zone.id)
            if len(ea) == 0:
                continue
            touch = inside[ea] | inside[eb] | _segments_cross(zone, xs[ea], ys[ea], xs[eb], ys[eb])
            edge_level[touch] = np.maximum(edge_level[touch], lvl)
            for k in np.flatnonzero(touch).tolist():
                a, b = int(ea[k]), int(eb[k])
                self._edge_zones.setdefault((a, b), []).append(zone.id)
                if both[k]:
                    self._edge_zones.setdefault((b, a), []).append(zone.id)
        self.node_level: IntArray = node_level
        self.xs, self.ys = xs, ys

        # one graph per rating level: undirected sites store each edge once and let
        # scipy walk it both ways (measured twice as fast as a symmetric matrix)
        if directed:
            ga = np.concatenate([ea, eb[both]])
            gb = np.concatenate([eb, ea[both]])
            gw = np.concatenate([length, length[both]])
            gl = np.concatenate([edge_level, edge_level[both]])
        else:
            ga, gb, gw, gl = ea, eb, length, edge_level
        self._graphs: list[csr_matrix] = []
        self._reverse: list[csr_matrix] = []
        for level in range(LEVELS):
            keep = gl <= level
            self._graphs.append(self._matrix(ga[keep], gb[keep], gw[keep]))
            self._reverse.append(
                self._matrix(gb[keep], ga[keep], gw[keep]) if directed else self._graphs[-1]
            )

        # distance rows cached per level: sources repeat from batch to batch (chargers,
        # mission nodes, where robots park), and on a 2,000-node site the whole table is
        # 16 MB a level, built once in under a second instead of every batch
        self._table_on = n <= table_max_nodes
        self._table: list[NDArray[np.float32] | None] = [None] * LEVELS
        self._have: list[NDArray[np.bool_]] = [np.zeros(n, dtype=bool) for _ in range(LEVELS)]

        # nearest charger: charging-zone nodes a robot may stand on at that level
        charging = np.zeros(n, dtype=bool)
        for zone in site.zones:
            if zone.kind is ZoneKind.CHARGING:
                charging |= _inside(zone, xs, ys)
        self.chargers: IntArray = np.flatnonzero(charging & (node_level < NO_GO_LEVEL))
        # a site with no charging zone at all (robots charged or swapped by hand) has no
        # trip to a charger to plan for: 0 m, so the battery check covers the mission and
        # the reserve only; with chargers drawn, one out of reach is a real obstacle (inf)
        self.charger_dist_m: FloatArray = np.full(
            (LEVELS, n), np.inf if len(self.chargers) else 0.0
        )
        """[level, node]: metres from the node to its nearest charger (inf: none reachable;
        0 everywhere when the site has no charging zone)"""
        self.charger_of: IntArray = np.full((LEVELS, n), -1, dtype=np.int64)
        """[level, node]: index of that charger, -1 when none is reachable"""
        for level in range(LEVELS):
            usable = self.chargers[node_level[self.chargers] <= level]
            if len(usable) == 0:
                continue
            dist, _, src = dijkstra(
                self._reverse[level],
                directed=directed,
                indices=usable,
                return_predecessors=True,
                min_only=True,
            )
            self.charger_dist_m[level] = dist
            self.charger_of[level] = np.where(src < 0, -1, src)

    def _matrix(self, a: IntArray, b: IntArray, w: FloatArray) -> csr_matrix:
        n = self.n_nodes
        if not self.directed:
            # one stored entry per node pair, the shorter of any parallel edges
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            a, b = lo, hi
        order = np.lexsort((w, b, a))
        a, b, w = a[order], b[order], w[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        return csr_matrix((w[first], (a[first], b[first])), shape=(n, n))

    # ------------------------------------------------------------------ lookups

    def node_index(self, node_id: str) -> int:
        try:
            return self.index[node_id]
        except KeyError:
            raise KeyError(f"no node {node_id!r} on site {self.site.map_id!r}") from None

    def indexes(self, node_ids: Iterable[str]) -> IntArray:
        return np.array([self.node_index(nid) for nid in node_ids], dtype=np.int64)

    def node_zones(self, node_id: str) -> list[str]:
        """ids of the zones whose polygon holds the node"""
        return list(self._node_zones.get(self.node_index(node_id), []))

    def edge_zones(self, start: str, end: str) -> list[str]:
        """ids of the zones the edge from ``start`` to ``end`` touches (an end node inside,
        or the segment meeting a side); empty for node pairs without an edge"""
        key = (self.node_index(start), self.node_index(end))
        return list(self._edge_zones.get(key, []))

    def no_go_zone_of(self, node_id: str) -> str | None:
        """the no-go zone the node lies in, if any"""
        for zid in self.node_zones(node_id):
            if self.zone_level[zid] == NO_GO_LEVEL:
                return zid
        return None

    # ------------------------------------------------------------------ distances

    def cached_rows(self, level: int) -> int:
        """how many source rows of level ``level`` the distance table holds"""
        return int(self._have[level].sum())

    def precompute(self, levels: Iterable[int] = range(LEVELS)) -> None:
        """Fill the distance table (all pairs) for ``levels``: one Dijkstra per node.  For a
        site loaded once and allocated on many times; a no-op without a table."""
        for level in levels:
            self._ensure_rows(np.arange(self.n_nodes, dtype=np.int64), level)

    def _ensure_rows(self, sources: IntArray, level: int) -> NDArray[np.float32] | None:
        """The level's table with the rows of ``sources`` filled in; None without a table."""
        if not self._table_on:
            return None
        table = self._table[level]
        if table is None:
            # np.empty reserves address space; the OS commits a page when a row is written
            table = np.empty((self.n_nodes, self.n_nodes), dtype=np.float32)
            self._table[level] = table
        have = self._have[level]
        missing = np.unique(sources[~have[sources]])
        if len(missing):
            table[missing] = dijkstra(self._graphs[level], directed=self.directed, indices=missing)
            have[missing] = True
        return table

    def _missing(self, nodes: IntArray, level: int) -> int:
        if not self._table_on:
            return len(np.unique(nodes))
        return len(np.unique(nodes[~self._have[level][nodes]]))

    def distances(
        self, sources: IntArray | Sequence[int], targets: IntArray | Sequence[int], level: int
    ) -> NDArray[np.float32]:
        """``[len(sources), len(targets)]`` metres (float32) from each source node index to each
        target node index in the graph of rating ``level`` (inf: unreachable).

        Dijkstra runs from the distinct sources whose rows are not in the table yet, or,
        on an undirected site, from the targets when that means fewer runs.
        """
        src = np.asarray(sources, dtype=np.int64)
        tgt = np.asarray(targets, dtype=np.int64)
        if len(src) == 0 or len(tgt) == 0:
            return np.zeros((len(src), len(tgt)), dtype=np.float32)
        if not self.directed and self._missing(tgt, level) < self._missing(src, level):
            return self.distances(tgt, src, level).T
        table = self._ensure_rows(src, level)
        if table is not None:
            return table[np.ix_(src, tgt)]
        unique, row = np.unique(src, return_inverse=True)
        rows = dijkstra(self._graphs[level], directed=self.directed, indices=unique)
        rows = np.asarray(rows, dtype=np.float32).reshape(len(unique), self.n_nodes)
        return rows[:, tgt][row]

    def pair_distances(
        self, sources: IntArray | Sequence[int], targets: IntArray | Sequence[int], level: int
    ) -> FloatArray:
        """``[k]`` metres from ``sources[i]`` to ``targets[i]`` at rating ``level``."""
        src = np.asarray(sources, dtype=np.int64)
        tgt = np.asarray(targets, dtype=np.int64)
        if len(src) == 0:
            return np.zeros(0)
        table = self._ensure_rows(src, level)
        if table is not None:
            return np.asarray(table[src, tgt], dtype=np.float64)
        unique, row = np.unique(src, return_inverse=True)
        rows = dijkstra(self._graphs[level], directed=self.directed, indices=unique)
        rows = np.asarray(rows, dtype=np.float64).reshape(len(unique), self.n_nodes)
        return rows[row, tgt]

    def path(
        self, start: str, goal: str, rating: HazardRating = HazardRating.ZONE_1
    ) -> list[str] | None:
        """Shortest node path a robot of ``rating`` may drive; None when it has none."""
        a, b = self.node_index(start), self.node_index(goal)
        if a == b:
            return [start]
        _, pred = dijkstra(
            self._graphs[rating.level], directed=self.directed, indices=a, return_predecessors=True
        )
        if pred[b] == _NO_NODE:
            return None
        out = [b]
        while out[-1] != a:
            out.append(int(pred[out[-1]]))
        return [self.node_ids[i] for i in reversed(out)]

    def route_zones(
        self, nodes: Sequence[str], rating: HazardRating = HazardRating.ZONE_1
    ) -> list[str] | None:
        """Zones (any kind but no-go) that the route through ``nodes`` in order crosses,
        in route order without repeats; None when a leg cannot be driven at ``rating``."""
        seen: list[str] = [*self.node_zones(nodes[0])]
        for a, b in itertools.pairwise(nodes):
            leg = self.path(a, b, rating)
            if leg is None:
                return None
            for u, v in itertools.pairwise(leg):
                key = (self.index[u], self.index[v])
                for zid in self._edge_zones.get(key, []):
                    if zid not in seen:
                        seen.append(zid)
        return seen

    def route_table(self, missions: Sequence[tuple[str, Sequence[str]]]) -> RouteTable:
        """Length of each mission's own route (``(id, step nodes)``) at each rating level.

        One multi-source Dijkstra per level from the distinct leg start nodes.  Missions
        wait for robots across batches while their routes stay the same, so the caller
        may keep this table with its pending missions and compute it once per mission.
        Unknown nodes raise KeyError naming the node.
        """
        count = len(missions)
        start = np.zeros(count, dtype=np.int64)
        end = np.zeros(count, dtype=np.int64)
        node_level = np.zeros(count, dtype=np.int64)
        leg_m: list[int] = []
        leg_a: list[int] = []
        leg_b: list[int] = []
        for m, (_, nodes) in enumerate(missions):
            idx = [self.node_index(nid) for nid in nodes]
            start[m], end[m] = idx[0], idx[-1]
            node_level[m] = max(int(self.node_level[i]) for i in idx)
            for a, b in itertools.pairwise(idx):
                if a != b:
                    leg_m.append(m)
                    leg_a.append(a)
                    leg_b.append(b)
        length = np.zeros((count, LEVELS))
        if leg_m:
            lm = np.array(leg_m, dtype=np.int64)
            la = np.array(leg_a, dtype=np.int64)
            lb = np.array(leg_b, dtype=np.int64)
            for level in range(LEVELS):
                np.add.at(length[:, level], lm, self.pair_distances(la, lb, level))
        return RouteTable(
            ids=tuple(mid for mid, _ in missions),
            start=start,
            end=end,
            length_m=length,
            node_level=node_level,
        )

    def travel_time_s(self, distance_m: float, speed_m_s: float) -> float:
        return distance_m / speed_m_s if math.isfinite(distance_m) else math.inf

    def describe(self) -> dict[str, Any]:
        """counts for logs and benchmarks"""
        return {
            "nodes": self.n_nodes,
            "edges": int(self._graphs[LEVELS - 1].nnz),
            "chargers": len(self.chargers),
            "hazardous_areas": len(self.area_class),
        }

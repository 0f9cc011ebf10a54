"""Allocation at fleet scale (issue 6): robots x missions on a generated 2,025-node site.

For N in 10, 100, 1000 (N robots and N pending missions), each run draws a new fleet and
a new batch of missions (seeded) on the same site and times, with ``time.perf_counter``:

* **end to end, cold**: the missions' own routes (:meth:`SiteGraph.route_table`, one
  Dijkstra per rating level from their leg nodes), the approach distances from the
  robots (Dijkstra per rating level), feasibility and cost matrices, the three priority
  batches of ``linear_sum_assignment``, preemption, charging and the reason of every
  mission left over: ``allocate(graph, robots, missions)``;
* **batch**: the same with the route table kept from when the missions were queued
  (``routes=``), which is how the controller calls it on every batch after the first;
* **greedy**: the nearest-robot baseline on the same instance and route table.

Total cost (seconds: travel + task + battery penalty, summed over assignments) of the
optimal and the greedy allocation come from the same run and instance.  The site graph
itself is built once per site and timed separately.

Run: ``python -m bench.allocation [--runs R] [--sizes 10,100,1000]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from missions.allocation import allocate, greedy_allocate
from missions.capabilities import (
    BatteryModel,
    HazardRating,
    MissionRequirements,
    RobotCapabilities,
    RobotSnapshot,
    RobotStatus,
)
from missions.model import Priority
from missions.site import Edge, Node, SiteMap, Zone
from missions.site_graph import NO_GO_LEVEL, SiteGraph

SIDE = 45
"""45 x 45 = 2,025 nodes"""
SPACING_M = 4.0
ACTIONS = (
    "captureImage",
    "measureGas",
    "thermalScan",
    "measureDoseRate",
    "collectSample",
    "atmosphericTest",
)


def _rect(zid: str, kind: str, x0: float, y0: float, x1: float, y1: float) -> Zone:
    return Zone.model_validate(
        {"id": zid, "kind": kind, "polygon": [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]}
    )


def make_site(side: int = SIDE, seed: int = 1) -> SiteMap:
    """A grid of ``side`` x ``side`` nodes ``SPACING_M`` apart, 8 % of the edges missing
    (pipe racks, walls), some diagonals; six hazardous areas (zone 1 and 2), two no-go
    zones and four charging bays."""
    rng = np.random.default_rng(seed)
    nodes = [
        Node(id=f"n{r}-{c}", x=c * SPACING_M, y=r * SPACING_M)
        for r in range(side)
        for c in range(side)
    ]
    edges: list[Edge] = []
    for r in range(side):
        for c in range(side):
            here = f"n{r}-{c}"
            if c + 1 < side and rng.random() > 0.08:
                edges.append(Edge(start=here, end=f"n{r}-{c + 1}"))
            if r + 1 < side and rng.random() > 0.08:
                edges.append(Edge(start=here, end=f"n{r + 1}-{c}"))
            if r + 1 < side and c + 1 < side and rng.random() < 0.05:
                edges.append(Edge(start=here, end=f"n{r + 1}-{c + 1}"))
    span = (side - 1) * SPACING_M
    zones = []
    for i in range(6):
        x0, y0 = rng.uniform(0.1, 0.75, size=2) * span
        w, h = rng.uniform(0.06, 0.15, size=2) * span
        zones.append(_rect(f"haz-{i}", "hazardous", x0, y0, x0 + w, y0 + h))
    for i in range(2):
        x0, y0 = rng.uniform(0.2, 0.7, size=2) * span
        zones.append(_rect(f"nogo-{i}", "no_go", x0, y0, x0 + 10.0, y0 + 10.0))
    for i, (cx, cy) in enumerate([(0, 0), (span, 0), (0, span), (span, span)]):
        zones.append(_rect(f"charge-{i}", "charging", cx - 5, cy - 5, cx + 5, cy + 5))
    return SiteMap(map_id=f"bench-{side}x{side}", nodes=nodes, edges=edges, zones=zones)


def area_classes(site: SiteMap) -> dict[str, Any]:
    """haz-0..2 zone 1, haz-3..5 zone 2"""
    return {
        z.id: ("zone_1" if int(z.id.split("-")[1]) < 3 else "zone_2")
        for z in site.zones
        if z.id.startswith("haz-")
    }


def make_instance(
    graph: SiteGraph, n: int, seed: int
) -> tuple[list[RobotSnapshot], list[MissionRequirements]]:
    """``n`` robots (ratings 40 % none, 30 % zone 2, 30 % zone 1; 2-5 action types;
    battery 30-100 %; 90 % idle, 5 % busy on routine missions, 5 % charging) and ``n``
    missions (1-3 steps on nodes outside no-go zones, 1-2 action types, 30-300 s of
    work, 5 % emergency, 15 % urgent)."""
    rng = np.random.default_rng(seed)
    allowed = np.flatnonzero(graph.node_level < NO_GO_LEVEL)
    ids = graph.node_ids
    ratings = (HazardRating.NONE, HazardRating.ZONE_2, HazardRating.ZONE_1)
    battery = BatteryModel()
    robots = []
    for i in range(n):
        k = int(rng.integers(2, 6))
        acts = {"captureImage", *rng.choice(ACTIONS, size=k, replace=False).tolist()}
        caps = RobotCapabilities(
            key=f"bench/r{i:04d}",
            actions=frozenset(acts),
            rating=ratings[int(rng.choice(3, p=[0.4, 0.3, 0.3]))],
            max_speed_m_s=float(rng.uniform(0.8, 1.5)),
            battery=battery,
        )
        draw = rng.random()
        status = (
            RobotStatus.IDLE
            if draw < 0.9
            else RobotStatus.BUSY
            if draw < 0.95
            else RobotStatus.CHARGING
        )
        busy = status is RobotStatus.BUSY
        robots.append(
            RobotSnapshot(
                capabilities=caps,
                node=ids[int(rng.choice(allowed))],
                battery_pct=float(rng.uniform(30, 100)),
                status=status,
                mission=f"running-{i}" if busy else None,
                mission_priority=Priority.ROUTINE if busy else None,
            )
        )
    missions = []
    for j in range(n):
        steps = int(rng.integers(1, 4))
        acts = rng.choice(ACTIONS[:4], size=int(rng.integers(1, 3)), replace=False).tolist()
        draw = rng.random()
        prio = (
            Priority.EMERGENCY
            if draw < 0.05
            else Priority.URGENT
            if draw < 0.2
            else Priority.ROUTINE
        )
        missions.append(
            MissionRequirements(
                id=f"m{j:04d}",
                nodes=tuple(ids[int(x)] for x in rng.choice(allowed, size=steps)),
                actions=frozenset(acts),
                task_duration_s=float(rng.uniform(30, 300)),
                priority=prio,
            )
        )
    return robots, missions


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (as ``bench.stats``, which imports the simulator and the
    controller; this benchmark needs only the domain)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _ms(values: list[float]) -> tuple[float, float]:
    ms = [v * 1000.0 for v in values]
    return statistics.median(ms), percentile(ms, 99)


def run(sizes: Sequence[int], runs: int) -> None:
    t0 = time.perf_counter()
    site = make_site()
    t1 = time.perf_counter()
    classes = area_classes(site)
    graph = SiteGraph(site, classes)
    t2 = time.perf_counter()
    graph.precompute()
    t3 = time.perf_counter()
    info = graph.describe()
    print(
        f"site {site.map_id}: {info['nodes']} nodes, {info['edges']} edges, "
        f"{info['hazardous_areas']} hazardous areas, {info['chargers']} charger nodes; "
        f"SiteMap {(t1 - t0) * 1000:.0f} ms, SiteGraph {(t2 - t1) * 1000:.0f} ms, its "
        f"distance table for the 3 rating levels {(t3 - t2) * 1000:.0f} ms "
        f"({3 * info['nodes'] ** 2 * 4 / 1e6:.0f} MB), once per site; {runs} runs per size; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n"
    )
    print(
        "| robots x missions | end to end, site table built: median / p99 ms "
        "| end to end, no table (Dijkstra in the batch): median / p99 ms "
        "| greedy, site table built: median ms | assigned (optimal / greedy) "
        "| total cost greedy / optimal | travel + battery cost greedy / optimal |"
    )
    print("|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for n in sizes:
        warm: list[float] = []
        cold: list[float] = []
        greedy: list[float] = []
        cost_opt = cost_greedy = obj_opt = obj_greedy = 0.0
        n_opt = n_greedy = 0
        codes: dict[str, int] = {}
        for k in range(runs):
            robots, missions = make_instance(graph, n, seed=1000 * n + k)
            fresh = SiteGraph(site, classes)
            a = time.perf_counter()
            result = allocate(graph, robots, missions)
            b = time.perf_counter()
            again = allocate(fresh, robots, missions)
            c = time.perf_counter()
            base = greedy_allocate(graph, robots, missions)
            d = time.perf_counter()
            warm.append(b - a)
            cold.append(c - b)
            greedy.append(d - c)
            # float32 table rows vs float64 Dijkstra rows: the same pairs, costs equal to
            # rounding
            assert [x.robot for x in again.assignments] == [x.robot for x in result.assignments]
            cost_opt += result.total_cost_s
            cost_greedy += base.total_cost_s
            obj_opt += _objective(result)
            obj_greedy += _objective(base)
            n_opt += len(result.assignments) + len(result.preemptions)
            n_greedy += len(base.assignments) + len(base.preemptions)
            for u in result.unassigned:
                codes[u.code.value] = codes.get(u.code.value, 0) + 1
        wm, wp = _ms(warm)
        cm, cp = _ms(cold)
        gm, _ = _ms(greedy)
        print(
            f"| {n} x {n} | {wm:.1f} / {wp:.1f} | {cm:.1f} / {cp:.1f} | {gm:.1f} "
            f"| {n_opt / runs:.1f} / {n_greedy / runs:.1f} "
            f"| {cost_greedy / cost_opt:.3f} | {obj_greedy / obj_opt:.3f} |"
        )
        reasons = ", ".join(f"{c} {v / runs:.1f}" for c, v in sorted(codes.items()))
        notes.append(f"* {n} x {n}: missions left per run (optimal), by reason: {reasons}")
    print()
    print("\n".join(notes))


def _objective(result: Any) -> float:
    """what the assignment minimises: cost without task durations"""
    pairs = [*result.assignments, *(p.assignment for p in result.preemptions)]
    return float(sum(a.cost_s - a.task_s for a in pairs))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.allocation", description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--sizes", default="10,100,1000")
    args = ap.parse_args(argv)
    run([int(s) for s in args.sizes.split(",")], args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which robot does which mission: optimal batch allocation with priorities (issue 6).

Pure and synchronous: robots and pending missions in, decisions out (no I/O, no clock).
The controller applies the decisions: orders for :class:`Assignment`, ``cancelOrder`` then
a new order for :class:`Preemption`, a drive to the charger for :class:`ChargeDecision`,
and shows every :class:`Unassigned` with its reason.  ``docs/allocation.md`` describes the
model; in short:

* **Cost** of robot r doing mission m, in seconds::

      travel_s  = (approach_m + route_m) / speed_m_s
      cost_s    = travel_s + task_duration_s + battery_weight_s * energy_pct / battery_pct

  ``approach_m``: shortest drive from the robot's node to the mission's first node, and
  ``route_m`` along the mission's steps, both in the graph of the robot's rating
  (:mod:`missions.site_graph`).  ``energy_pct``: charge for the mission plus the trip
  from its last node to the nearest charger (:class:`~missions.capabilities.BatteryModel`).
* **Feasible** when the robot has every action type the mission needs, its rating admits
  every area on both routes (they are planned in the graph of its rating) and on every
  step node, both routes exist, and ``battery_pct >= energy_pct + reserve_pct``.
* **Priorities** by separate batches: emergency missions are assigned first, then urgent
  ("high"), then routine, each batch with the robots the previous ones left.  A batch is
  one :func:`scipy.optimize.linear_sum_assignment` on the rectangular cost matrix of its
  missions and free robots; infeasible pairs get a cost above any sum of feasible costs,
  so the number of assigned missions is maximal first and the cost minimal among those,
  and the infeasible pairs it returns are dropped.
* **Preemption**: an emergency mission still unassigned may take a robot that runs a
  routine mission (one assignment problem over those robots); the result says which
  mission to cancel on which robot.  The displaced mission is listed in
  ``AllocationResult.requeue`` for the next batch.
* **Charging**: an idle robot below its ``charge_below_pct`` is offered only to emergency
  missions; if none takes it, it gets a :class:`ChargeDecision` to its nearest free
  charger bay, with the time it will be back (drive plus charge to ``charge_to_pct``).
  Every charger node is one bay; a bay named in ``bays_taken`` (a robot stands there or
  drives there to charge) or given to another robot in this batch is not free, unless
  the robot holding it got a mission in this batch; lowest charge chooses first.  With
  every reachable bay taken the decision has no charger and says why (the robot waits).
  A charging robot is offered only to emergencies.
* **Reasons**: every mission not assigned gets an :class:`Unassigned` with a code and a
  sentence ("no robot has action measureDoseRate", "needs zone-1 rating for zone
  pump-room", "battery: needs 64 %, best robot has 40 %", ...).

:func:`greedy_allocate` is the baseline: same feasibility, same batches, but each mission
in turn takes the nearest free feasible robot.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from missions.capabilities import (
    PRIORITY_ORDER,
    RATINGS_BY_LEVEL,
    AreaClass,
    MissionRequirements,
    RobotSnapshot,
    RobotStatus,
)
from missions.model import Priority
from missions.site_graph import LEVELS, NO_GO_LEVEL, RouteTable, SiteGraph

FloatArray = NDArray[np.floating[Any]]
"""float32 for the [M, R] matrices, float64 for per-robot and per-mission vectors"""
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
Method = Literal["optimal", "greedy"]


@dataclass(frozen=True)
class AllocationParams:
    battery_weight_s: float = 60.0
    """seconds of cost for a mission that would use the robot's whole remaining charge;
    steers missions towards robots with charge to spare"""
    preempt: bool = True
    """let emergency missions displace routine ones"""


class ReasonCode(StrEnum):
    UNREACHABLE = "unreachable"
    NO_CAPABILITY = "no_capability"
    RATING = "rating"
    BATTERY = "battery"
    UNAVAILABLE = "unavailable"
    """only robots that are lost, faulted or paused could do it"""
    CHARGING = "charging"
    """only robots that are charging or driving to a charger could do it (short of charge
    now, or not free): it waits for them"""
    BUSY = "busy"
    """feasible robots exist but all are busy, charging or low on charge"""
    OUTBID = "outbid"
    """feasible robots were free, but went to missions of higher priority or lower cost"""

    @property
    def infeasible(self) -> bool:
        """True when no robot of the fleet, as it stands, can do the mission"""
        return self not in (ReasonCode.BUSY, ReasonCode.OUTBID, ReasonCode.CHARGING)


@dataclass(frozen=True)
class Assignment:
    mission: str
    robot: str
    priority: Priority
    cost_s: float
    travel_s: float
    """approach plus the mission's own route"""
    task_s: float
    battery_penalty_s: float
    approach_m: float
    route_m: float
    energy_pct: float
    """charge used including the trip to the nearest charger afterwards (reserve excluded)"""


@dataclass(frozen=True)
class Preemption:
    """Cancel ``cancel_mission`` on ``robot``, then run ``assignment`` (an emergency);
    ``cancel_mission`` goes back to the queue (it is in ``AllocationResult.requeue``)."""

    robot: str
    cancel_mission: str
    assignment: Assignment


@dataclass(frozen=True)
class ChargeDecision:
    robot: str
    charger_node: str | None
    """None when no charger is reachable for this robot (reported, not driven)"""
    distance_m: float
    travel_s: float
    charge_s: float
    """time on the charger from the charge on arrival to ``charge_to_pct``"""
    ready_in_s: float
    """travel plus charging: when the robot is back in the pool"""
    reason: str = ""
    """why ``charger_node`` is None: no charger reachable, or every reachable bay taken"""


@dataclass(frozen=True)
class Unassigned:
    mission: str
    priority: Priority
    code: ReasonCode
    reason: str


@dataclass(frozen=True)
class AllocationResult:
    assignments: tuple[Assignment, ...]
    preemptions: tuple[Preemption, ...]
    charging: tuple[ChargeDecision, ...]
    unassigned: tuple[Unassigned, ...]
    requeue: tuple[str, ...] = ()
    """missions cancelled by a preemption, to allocate again"""
    method: Method = "optimal"

    @property
    def total_cost_s(self) -> float:
        """sum of the costs of every assignment, preemptions included"""
        return sum(a.cost_s for a in self.assignments) + sum(
            p.assignment.cost_s for p in self.preemptions
        )

    def robot_of(self, mission: str) -> str | None:
        for a in self.assignments:
            if a.mission == mission:
                return a.robot
        for p in self.preemptions:
            if p.assignment.mission == mission:
                return p.robot
        return None

    def reason_of(self, mission: str) -> Unassigned | None:
        return next((u for u in self.unassigned if u.mission == mission), None)


@dataclass
class Problem:
    """Feasibility and cost of every (mission, robot) pair; rows missions, columns robots.

    Built by :func:`build_problem` (the shortest paths and the arithmetic), solved by
    :func:`solve`.  Arrays are ``[M, R]`` unless noted.
    """

    graph: SiteGraph
    robots: tuple[RobotSnapshot, ...]
    missions: tuple[MissionRequirements, ...]
    routes: RouteTable
    params: AllocationParams
    act_ok: BoolArray
    reach_ok: BoolArray
    """both routes exist at the robot's rating and every step node admits it"""
    batt_ok: BoolArray
    feasible: BoolArray
    """act_ok & reach_ok & batt_ok & robot neither unavailable nor driving to a charger"""
    approach_m: FloatArray
    route_m: FloatArray
    travel_s: FloatArray
    needed_pct: FloatArray
    """energy plus reserve (inf when no charger can be reached afterwards)"""
    energy_pct: FloatArray
    penalty_s: FloatArray
    cost_s: FloatArray
    rank_s: FloatArray
    """what the assignment minimises: cost without the task duration.  The duration is
    the mission's own, the same for every robot; leaving it out changes nothing when
    every mission is served, and keeps short tasks from being preferred when robots are
    scarce"""
    level: IntArray
    """[R] rating level of each robot"""
    battery: FloatArray
    """[R] battery charge in percent"""
    task_s: FloatArray
    """[M] task duration in seconds"""
    available: BoolArray
    """[R] robot neither unavailable nor driving to a charger"""
    action_bits: dict[str, int] = field(default_factory=dict)
    bays_taken: dict[int, str] = field(default_factory=dict)
    """charger node index -> key of the robot standing there or driving there to charge"""

    @functools.cached_property
    def held_actions(self) -> frozenset[str]:
        """every action type some robot of the fleet has"""
        return frozenset().union(*(r.capabilities.actions for r in self.robots))


def _unique_ids(ids: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ValueError(f"{what}.{i}: duplicate id {value!r}")
        seen.add(value)


def _bitmasks(
    sets: Sequence[frozenset[str]], bits: dict[str, int], words: int
) -> NDArray[np.uint64]:
    out = np.zeros((len(sets), words), dtype=np.uint64)
    for i, names in enumerate(sets):
        for name in names:
            b = bits[name]
            out[i, b // 64] |= np.uint64(1) << np.uint64(b % 64)
    return out


def build_problem(
    graph: SiteGraph,
    robots: Sequence[RobotSnapshot],
    missions: Sequence[MissionRequirements],
    *,
    routes: RouteTable | None = None,
    params: AllocationParams | None = None,
    bays_taken: Mapping[str, str] | None = None,
) -> Problem:
    """Feasibility and cost matrices (see the module docstring).

    ``routes``: :meth:`SiteGraph.route_table` of ``missions`` in the same order, when the
    caller keeps one with its pending missions; computed here otherwise.
    ``bays_taken``: charger node -> key of the robot that stands there or drives there to
    charge (other nodes are ignored).  Raises ValueError for duplicate ids, a mismatched
    route table or a node not on the site (naming ``robots.3.node``, ``missions.7.nodes``
    or ``bays_taken.x``).
    """
    prm = params or AllocationParams()
    robots = tuple(robots)
    missions = tuple(missions)
    _unique_ids([r.key for r in robots], "robots")
    _unique_ids([m.id for m in missions], "missions")
    for i, r in enumerate(robots):
        if r.node not in graph.index:
            raise ValueError(f"robots.{i}.node: no node {r.node!r} on site {graph.site.map_id!r}")
    for i, m in enumerate(missions):
        for j, nid in enumerate(m.nodes):
            if nid not in graph.index:
                raise ValueError(
                    f"missions.{i}.nodes.{j}: no node {nid!r} on site {graph.site.map_id!r}"
                )
    taken: dict[int, str] = {}
    for nid, key in (bays_taken or {}).items():
        if nid not in graph.index:
            raise ValueError(f"bays_taken.{nid}: no node {nid!r} on site {graph.site.map_id!r}")
        taken[graph.index[nid]] = key
    if routes is None:
        routes = graph.route_table([(m.id, m.nodes) for m in missions])
    elif routes.ids != tuple(m.id for m in missions):
        raise ValueError("routes: the route table is not for these missions in this order")

    n_m, n_r = len(missions), len(robots)
    f32 = np.float32
    level = np.array([r.capabilities.rating.level for r in robots], dtype=np.int64)
    speed = np.array([r.capabilities.max_speed_m_s for r in robots])
    battery = np.array([r.battery_pct for r in robots])
    per_m = np.array([r.capabilities.battery.drive_pct_per_m for r in robots])
    per_s = np.array([r.capabilities.battery.base_pct_per_s for r in robots])
    reserve = np.array([r.capabilities.battery.reserve_pct for r in robots])
    away = (RobotStatus.UNAVAILABLE, RobotStatus.TO_CHARGER)
    available = np.array([r.status not in away for r in robots], dtype=bool)
    robot_node = np.array([graph.index[r.node] for r in robots], dtype=np.int64)
    task_s = np.array([m.task_duration_s for m in missions])

    # actions: one bit per action type, robots' sets against missions' sets
    names = sorted({a for m in missions for a in m.actions})
    bits = {name: i for i, name in enumerate(names)}
    words = max(1, math.ceil(len(names) / 64))
    need = _bitmasks([m.actions for m in missions], bits, words)
    have = _bitmasks([r.capabilities.actions & bits.keys() for r in robots], bits, words)
    act_ok = np.ones((n_m, n_r), dtype=bool)
    for w in range(words):
        act_ok &= (need[:, w : w + 1] & ~have[None, :, w]) == 0

    # approach: per rating level, from the robots' nodes to the missions' starts
    approach = np.empty((n_m, n_r), dtype=f32)
    for lvl in range(LEVELS):
        cols = np.flatnonzero(level == lvl)
        if len(cols) and n_m:
            approach[:, cols] = graph.distances(robot_node[cols], routes.start, lvl).T

    # [M, R] arithmetic in float32 (half the memory traffic of float64; costs are
    # seconds, distances metres: 7 significant digits are plenty).  Energy per metre
    # driven, driving time included: per_m + per_s / speed.
    route_m = routes.length_m.astype(f32)[:, level]
    after_m = (routes.length_m + graph.charger_dist_m[:, routes.end].T).astype(f32)[:, level]
    total_m = approach + route_m
    reach_ok = np.isfinite(total_m)
    reach_ok &= routes.node_level[:, None] <= level[None, :]
    with np.errstate(invalid="ignore"):
        travel_s = total_m * (1.0 / speed).astype(f32)[None, :]
        energy = (approach + after_m) * (per_m + per_s / speed).astype(f32)[None, :]
        energy += (task_s[:, None] * per_s[None, :]).astype(f32)
        needed = energy + reserve.astype(f32)[None, :]
        batt_ok = needed <= battery.astype(f32)[None, :]
        penalty = energy * (prm.battery_weight_s / np.maximum(battery, 1e-9)).astype(f32)[None, :]
        rank = travel_s + penalty
        cost = rank + task_s.astype(f32)[:, None]
    feasible = act_ok & reach_ok
    feasible &= batt_ok
    feasible &= available[None, :]
    return Problem(
        graph=graph,
        robots=robots,
        missions=missions,
        routes=routes,
        params=prm,
        act_ok=act_ok,
        reach_ok=reach_ok,
        batt_ok=batt_ok,
        feasible=feasible,
        approach_m=approach,
        route_m=route_m,
        travel_s=travel_s,
        needed_pct=needed,
        energy_pct=energy,
        penalty_s=penalty,
        cost_s=cost,
        rank_s=rank,
        level=level,
        available=available,
        battery=battery,
        task_s=task_s,
        action_bits=bits,
        bays_taken=taken,
    )


# ---------------------------------------------------------------------- solvers


def _optimal(cost: FloatArray, feasible: BoolArray) -> list[tuple[int, int]]:
    """Max-cardinality, min-cost matching of rows to columns over feasible pairs."""
    if cost.size == 0 or not feasible.any():
        return []
    rows = np.flatnonzero(feasible.any(axis=1))
    cols = np.flatnonzero(feasible.any(axis=0))
    sub_cost = cost[np.ix_(rows, cols)]
    sub_ok = feasible[np.ix_(rows, cols)]
    finite = sub_cost[sub_ok]
    # forbidden: above the sum of any set of feasible pairs, so cardinality comes first
    big = (float(finite.max()) + 1.0) * (min(len(rows), len(cols)) + 1)
    matrix = np.where(sub_ok, sub_cost, big)
    # imported here: scipy.optimize takes ~0.3 s to import, paid otherwise by every
    # process that imports the controller (each simulator worker, every CLI command)
    from scipy.optimize import linear_sum_assignment

    r_idx, c_idx = linear_sum_assignment(matrix)
    keep = sub_ok[r_idx, c_idx]
    return list(zip(rows[r_idx[keep]].tolist(), cols[c_idx[keep]].tolist(), strict=True))


def _greedy(key: FloatArray, feasible: BoolArray) -> list[tuple[int, int]]:
    """Rows in order, each takes its feasible column with the smallest key."""
    out: list[tuple[int, int]] = []
    taken = np.zeros(feasible.shape[1], dtype=bool)
    masked = np.where(feasible, key, np.inf)
    for i in range(feasible.shape[0]):
        row = np.where(taken, np.inf, masked[i])
        j = int(np.argmin(row)) if row.size else 0
        if row.size and math.isfinite(row[j]):
            out.append((i, j))
            taken[j] = True
    return out


def _assignment(p: Problem, m: int, r: int) -> Assignment:
    mission = p.missions[m]
    return Assignment(
        mission=mission.id,
        robot=p.robots[r].key,
        priority=mission.priority,
        cost_s=float(p.cost_s[m, r]),
        travel_s=float(p.travel_s[m, r]),
        task_s=float(p.task_s[m]),
        battery_penalty_s=float(p.penalty_s[m, r]),
        approach_m=float(p.approach_m[m, r]),
        route_m=float(p.route_m[m, r]),
        energy_pct=float(p.energy_pct[m, r]),
    )


def solve(problem: Problem, method: Method = "optimal") -> AllocationResult:
    """Decisions for a built problem (see the module docstring)."""
    p = problem
    n_r = len(p.robots)
    status = [r.status for r in p.robots]
    low = np.array(
        [r.battery_pct < r.capabilities.battery.charge_below_pct for r in p.robots], dtype=bool
    )
    idle = np.array([s is RobotStatus.IDLE for s in status], dtype=bool)
    charging = np.array([s is RobotStatus.CHARGING for s in status], dtype=bool)
    used = np.zeros(n_r, dtype=bool)
    assigned: dict[int, Assignment] = {}
    # greedy takes the nearest robot: smallest drive time to the mission's start
    with np.errstate(invalid="ignore"):
        near_key = p.approach_m / np.array([r.capabilities.max_speed_m_s for r in p.robots])

    for prio in PRIORITY_ORDER:
        rows = np.array([i for i, m in enumerate(p.missions) if m.priority is prio], dtype=np.int64)
        if len(rows) == 0:
            continue
        # low-battery and charging robots only for emergencies; otherwise they charge
        free = idle | charging if prio is Priority.EMERGENCY else idle & ~low
        pool = free & ~used
        cols = np.flatnonzero(pool)
        if len(cols) == 0:
            continue
        ok = p.feasible[np.ix_(rows, cols)]
        if method == "optimal":
            pairs = _optimal(p.rank_s[np.ix_(rows, cols)], ok)
        else:
            pairs = _greedy(near_key[np.ix_(rows, cols)], ok)
        for i, j in pairs:
            m, r = int(rows[i]), int(cols[j])
            assigned[m] = _assignment(p, m, r)
            used[r] = True

    preemptions: list[Preemption] = []
    preempting: set[int] = set()
    if p.params.preempt:
        waiting = np.array(
            [
                i
                for i, m in enumerate(p.missions)
                if m.priority is Priority.EMERGENCY and i not in assigned
            ],
            dtype=np.int64,
        )
        victims = np.flatnonzero(
            np.array(
                [
                    r.status is RobotStatus.BUSY and r.mission_priority is Priority.ROUTINE
                    for r in p.robots
                ],
                dtype=bool,
            )
        )
        if len(waiting) and len(victims):
            ok = p.feasible[np.ix_(waiting, victims)]
            if method == "optimal":
                pairs = _optimal(p.rank_s[np.ix_(waiting, victims)], ok)
            else:
                pairs = _greedy(near_key[np.ix_(waiting, victims)], ok)
            for i, j in pairs:
                m, r = int(waiting[i]), int(victims[j])
                robot = p.robots[r]
                assert robot.mission is not None  # busy robots carry one (validated)
                preemptions.append(Preemption(robot.key, robot.mission, _assignment(p, m, r)))
                preempting.add(m)
                used[r] = True
    taken = set(assigned) | preempting

    # a robot that got a mission in this batch leaves the bay it stands on
    leaving = {a.robot for a in assigned.values()} | {pr.robot for pr in preemptions}
    charge = _charge_decisions(p, np.flatnonzero(idle & low & ~used).tolist(), leaving)
    eligible = (idle & ~low, idle | charging)
    unassigned = [_reason(p, m, eligible) for m in range(len(p.missions)) if m not in taken]
    return AllocationResult(
        assignments=tuple(assigned[m] for m in sorted(assigned)),
        preemptions=tuple(preemptions),
        charging=tuple(charge),
        unassigned=tuple(unassigned),
        requeue=tuple(pr.cancel_mission for pr in preemptions),
        method=method,
    )


def allocate(
    graph: SiteGraph,
    robots: Sequence[RobotSnapshot],
    missions: Sequence[MissionRequirements],
    *,
    routes: RouteTable | None = None,
    params: AllocationParams | None = None,
    bays_taken: Mapping[str, str] | None = None,
) -> AllocationResult:
    """Optimal batch allocation: :func:`build_problem` then :func:`solve`."""
    return solve(
        build_problem(graph, robots, missions, routes=routes, params=params, bays_taken=bays_taken)
    )


def greedy_allocate(
    graph: SiteGraph,
    robots: Sequence[RobotSnapshot],
    missions: Sequence[MissionRequirements],
    *,
    routes: RouteTable | None = None,
    params: AllocationParams | None = None,
    bays_taken: Mapping[str, str] | None = None,
) -> AllocationResult:
    """Baseline: same feasibility and batches; each mission in turn (priority, then the
    given order) takes the free feasible robot that reaches its start soonest."""
    problem = build_problem(
        graph, robots, missions, routes=routes, params=params, bays_taken=bays_taken
    )
    return solve(problem, "greedy")


# ---------------------------------------------------------------------- decisions


def _trip_to_charger(p: Problem, r: int) -> tuple[str, float, float, float] | None:
    """(charger node, metres, seconds, charge left on arrival in %) for robot ``r``, or
    None when no charger is reachable at its rating."""
    robot = p.robots[r]
    lvl = int(p.level[r])
    node = p.graph.index[robot.node]
    charger = int(p.graph.charger_of[lvl, node])
    if charger < 0:
        return None
    dist = float(p.graph.charger_dist_m[lvl, node])
    travel, arrive = _drive_to(robot, dist)
    return p.graph.node_ids[charger], dist, travel, arrive


def _drive_to(robot: RobotSnapshot, dist_m: float) -> tuple[float, float]:
    """(seconds, charge left on arrival in %, at least 0) of ``robot`` driving ``dist_m``."""
    model = robot.capabilities.battery
    travel = dist_m / robot.capabilities.max_speed_m_s
    arrive = robot.battery_pct - model.drive_pct_per_m * dist_m - model.base_pct_per_s * travel
    return travel, max(0.0, arrive)


def _charge_decisions(p: Problem, low: list[int], leaving: set[str]) -> list[ChargeDecision]:
    """A bay for each robot of ``low``, lowest charge first (ties: input order); bays held
    by the robots ``leaving`` (sent on a mission in this batch) are free."""
    taken = {b: key for b, key in p.bays_taken.items() if key not in leaving}
    out: dict[int, ChargeDecision] = {}
    for r in sorted(low, key=lambda i: (p.robots[i].battery_pct, i)):
        decision = _charge_decision(p, r, taken)
        if decision.charger_node is not None:
            taken[p.graph.index[decision.charger_node]] = decision.robot
        out[r] = decision
    return [out[r] for r in low]


def _free_bay(p: Problem, r: int, taken: Mapping[int, str]) -> tuple[int, float] | str:
    """(charger node index, metres) of the nearest bay robot ``r`` may take, or why none."""
    robot = p.robots[r]
    lvl = int(p.level[r])
    node = p.graph.index[robot.node]
    nearest = int(p.graph.charger_of[lvl, node])
    if nearest < 0:
        if len(p.graph.chargers) == 0:
            return "the site has no charger"
        return "no charger reachable at its rating"
    if taken.get(nearest, robot.key) == robot.key:
        return nearest, float(p.graph.charger_dist_m[lvl, node])
    # the nearest is taken: distances to every bay usable at its rating (rare: only when
    # bays are contended, and only for the robots low on charge)
    graph = p.graph
    bays = graph.chargers[graph.node_level[graph.chargers] <= lvl]
    dist = graph.distances([node], bays, lvl)[0].astype(np.float64)
    reachable = np.isfinite(dist)
    for k, b in enumerate(bays.tolist()):
        if taken.get(b, robot.key) != robot.key:
            dist[k] = np.inf
    k = int(np.argmin(dist))
    if math.isfinite(dist[k]):
        return int(bays[k]), float(dist[k])
    held = [f"{graph.node_ids[b]} ({taken[b]})" for b in bays[reachable].tolist() if b in taken]
    n = len(held)
    what = "its only reachable charger bay is" if n == 1 else f"all {n} reachable bays are"
    return f"{what} taken: {', '.join(held[:5])}{', ...' if n > 5 else ''}"


def _charge_decision(p: Problem, r: int, taken: Mapping[int, str]) -> ChargeDecision:
    robot = p.robots[r]
    bay = _free_bay(p, r, taken)
    if isinstance(bay, str):
        inf = math.inf
        return ChargeDecision(robot.key, None, inf, inf, inf, inf, reason=bay)
    charger, dist = bay
    model = robot.capabilities.battery
    travel, arrive = _drive_to(robot, dist)
    charge_s = max(0.0, model.charge_to_pct - arrive) / model.charge_pct_per_s
    return ChargeDecision(
        robot=robot.key,
        charger_node=p.graph.node_ids[charger],
        distance_m=dist,
        travel_s=travel,
        charge_s=charge_s,
        ready_in_s=travel + charge_s,
    )


def _fmt_pct(value: float) -> str:
    return f"{math.ceil(value)} %" if value > 0 else "0 %"


def _reason(p: Problem, m: int, eligible: tuple[BoolArray, BoolArray]) -> Unassigned:
    """``eligible``: robots free for (non-emergency, emergency) batches"""
    mission = p.missions[m]

    def out(code: ReasonCode, text: str) -> Unassigned:
        return Unassigned(mission.id, mission.priority, code, text)

    graph = p.graph
    routes = p.routes
    # 1. the mission itself: a step node in a no-go zone, or no route between steps
    for nid in mission.nodes:
        zid = graph.no_go_zone_of(nid)
        if zid is not None:
            return out(ReasonCode.UNREACHABLE, f"unreachable: node {nid} is in no-go zone {zid}")
    if not math.isfinite(routes.length_m[m, LEVELS - 1]):
        for a, b in itertools.pairwise(mission.nodes):
            if graph.path(a, b) is None:
                return out(
                    ReasonCode.UNREACHABLE,
                    f"unreachable: no route from {a} to {b} outside no-go zones",
                )
    # 2. actions
    act = p.act_ok[m]
    if not act.any():
        held = p.held_actions
        missing = sorted(mission.actions - held)
        if missing:
            noun = "action" if len(missing) == 1 else "actions"
            return out(ReasonCode.NO_CAPABILITY, f"no robot has {noun} {', '.join(missing)}")
        return out(
            ReasonCode.NO_CAPABILITY,
            f"no robot has all of actions {', '.join(sorted(mission.actions))}",
        )
    # 3. rating: the lowest level at which the mission's own route and nodes are allowed
    required = next(
        (
            lvl
            for lvl in range(LEVELS)
            if math.isfinite(routes.length_m[m, lvl]) and routes.node_level[m] <= lvl
        ),
        LEVELS - 1,
    )
    best = int(p.level[act].max())
    if best < required:
        return out(ReasonCode.RATING, _rating_text(p, mission, best))
    # 4. the approach from where the capable robots stand
    reach = act & p.reach_ok[m]
    if not reach.any():
        rated = act & (p.level >= required)
        return out(
            ReasonCode.UNREACHABLE,
            f"unreachable: none of the {int(rated.sum())} capable robots can drive to "
            f"{mission.start} at its rating (no-go zones or areas above its rating in the "
            "way, or a part of the site not joined to it)",
        )
    # 5. battery; robots away charging come back, lost or paused ones may not
    avail = reach & p.available
    recharging = reach & _recharging(p)
    if not avail.any():
        if recharging.any():
            return out(ReasonCode.CHARGING, _charging_text(recharging, p))
        keys = ", ".join(p.robots[i].key for i in np.flatnonzero(reach)[:5])
        return out(ReasonCode.UNAVAILABLE, f"only unavailable robots could do it: {keys}")
    if not (avail & p.batt_ok[m]).any():
        charged = p.needed_pct[m] <= np.array(
            [r.capabilities.battery.charge_to_pct for r in p.robots]
        )
        if (recharging & charged).any():
            back = recharging & charged
            return out(
                ReasonCode.CHARGING, f"{_charging_text(back, p)}; {_battery_text(p, m, back)}"
            )
        return out(ReasonCode.BATTERY, _battery_text(p, m, avail))
    # 6. feasible robots exist: none was free for this priority, or others took them
    feas = p.feasible[m]
    n_feas = int(feas.sum())
    if not (feas & eligible[mission.priority is Priority.EMERGENCY]).any():
        robots = (
            "its only feasible robot is" if n_feas == 1 else f"all {n_feas} feasible robots are"
        )
        return out(ReasonCode.BUSY, f"waiting: {robots} busy, charging or low on charge")
    robots = "its only feasible robot" if n_feas == 1 else f"all {n_feas} feasible robots"
    return out(
        ReasonCode.OUTBID,
        f"waiting: {robots} went to missions of higher priority or lower total cost",
    )


def _recharging(p: Problem) -> BoolArray:
    """[R] robots charging or driving to a charger"""
    away = (RobotStatus.CHARGING, RobotStatus.TO_CHARGER)
    return np.array([r.status in away for r in p.robots], dtype=bool)


def _charging_text(robots: BoolArray, p: Problem) -> str:
    """Who the mission waits for: the capable robots charging or driving to a charger."""

    def what(r: RobotSnapshot) -> str:
        if r.status is RobotStatus.TO_CHARGER:
            return f"{r.key} (on its way to a charger, {_fmt_pct(r.battery_pct)})"
        return f"{r.key} (charging, {_fmt_pct(r.battery_pct)})"

    idx = np.flatnonzero(robots).tolist()
    names = ", ".join(what(p.robots[i]) for i in idx[:5]) + (", ..." if len(idx) > 5 else "")
    if len(idx) == 1:
        return f"its only robot able to do it is away charging: {names}; back once charged"
    return f"the {len(idx)} robots able to do it are away charging: {names}; back once charged"


def _rating_text(p: Problem, mission: MissionRequirements, best: int) -> str:
    graph = p.graph
    zones: list[str] = []
    for nid in mission.nodes:
        zones.extend(z for z in graph.node_zones(nid) if z not in zones)
    crossed = graph.route_zones(mission.nodes)
    if crossed:
        zones.extend(z for z in crossed if z not in zones)
    above = [z for z in zones if NO_GO_LEVEL > graph.zone_level.get(z, 0) > best]
    have = RATINGS_BY_LEVEL[best].value.replace("_", "-")
    if not above:
        return f"needs a higher rating than {have} on its route (capable robots: {have})"
    worst = max(above, key=lambda z: graph.zone_level[z])
    cls = graph.area_class.get(worst, AreaClass.ZONE_1)
    return f"needs {cls.label} rating for zone {worst} (capable robots are rated at most {have})"


def _battery_text(p: Problem, m: int, candidates: BoolArray) -> str:
    idx = np.flatnonzero(candidates)
    needed = p.needed_pct[m, idx]
    if not np.isfinite(needed).any():
        end = p.missions[m].end
        return f"battery: no charger reachable from {end}, where the mission ends"
    gap = needed - p.battery[idx]
    k = int(np.argmin(np.where(np.isfinite(gap), gap, np.inf)))
    r = int(idx[k])
    robot = p.robots[r]
    text = (
        f"battery: needs {_fmt_pct(float(needed[k]))}, best robot has "
        f"{_fmt_pct(robot.battery_pct)} ({robot.key})"
    )
    trip = _trip_to_charger(p, r)
    if trip is not None:
        node, _, travel, arrive = trip
        # charged at the charger, it must still drive back about as far as it came
        want = float(needed[k]) + (robot.battery_pct - arrive)
        model = robot.capabilities.battery
        if want <= 100.0:
            wait_s = travel + max(0.0, want - arrive) / model.charge_pct_per_s
            text += f"; it could start after charging at {node}, in about {wait_s:.0f} s"
    return text

"""Allocation: feasibility, priorities, preemption, charging, reasons, optimality (issue 6)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import pytest

from missions.allocation import (
    AllocationParams,
    AllocationResult,
    ReasonCode,
    allocate,
    build_problem,
    greedy_allocate,
    solve,
)
from missions.capabilities import (
    BatteryModel,
    HazardRating,
    MissionRequirements,
    RobotCapabilities,
    RobotSnapshot,
    RobotStatus,
)
from missions.model import Priority
from missions.site import Edge, Node, SiteMap
from missions.site_graph import SiteGraph
from tests.missions.test_allocation_model import graph

NO_DRAIN = BatteryModel(drive_pct_per_m=0, base_pct_per_s=0, reserve_pct=0)


def robot(
    key: str,
    node: str = "dock",
    *,
    actions: Iterable[str] = ("captureImage",),
    rating: HazardRating = HazardRating.NONE,
    battery_pct: float = 90,
    speed: float = 1.0,
    battery: BatteryModel | None = None,
    status: RobotStatus = RobotStatus.IDLE,
    mission: str | None = None,
    mission_priority: Priority | None = None,
) -> RobotSnapshot:
    return RobotSnapshot(
        capabilities=RobotCapabilities(
            key=key,
            actions=frozenset(actions),
            rating=rating,
            max_speed_m_s=speed,
            battery=battery or BatteryModel(),
        ),
        node=node,
        battery_pct=battery_pct,
        status=status,
        mission=mission,
        mission_priority=mission_priority,
    )


def mission(
    mid: str,
    *nodes: str,
    actions: Iterable[str] = ("captureImage",),
    task_s: float = 10.0,
    priority: Priority = Priority.ROUTINE,
) -> MissionRequirements:
    return MissionRequirements(
        id=mid,
        nodes=tuple(nodes),
        actions=frozenset(actions),
        task_duration_s=task_s,
        priority=priority,
    )


def accounted(result: AllocationResult, missions: list[MissionRequirements]) -> None:
    """every mission is assigned, preempts, or has a reason: exactly one of them"""
    seen = [a.mission for a in result.assignments]
    seen += [p.assignment.mission for p in result.preemptions]
    seen += [u.mission for u in result.unassigned]
    assert sorted(seen) == sorted(m.id for m in missions)


# ------------------------------------------------------------------ capability and rating


def test_a_mission_goes_only_to_a_robot_with_its_actions() -> None:
    robots = [
        robot("r/cam", "dock"),
        robot("r/rad", "d", actions={"captureImage", "measureDoseRate"}),
    ]
    missions = [mission("dose", "b", actions={"measureDoseRate"})]
    result = allocate(graph(), robots, missions)
    assert result.robot_of("dose") == "r/rad"  # though r/cam is as close
    alone = allocate(graph(), robots[:1], missions)
    (why,) = alone.unassigned
    assert why.code is ReasonCode.NO_CAPABILITY
    assert why.reason == "no robot has action measureDoseRate"
    assert why.code.infeasible


def test_actions_held_only_by_different_robots_are_reported_as_such() -> None:
    robots = [robot("r/1", actions={"measureGas"}), robot("r/2", actions={"thermalScan"})]
    result = allocate(graph(), robots, [mission("m", "b", actions={"measureGas", "thermalScan"})])
    assert result.unassigned[0].reason == "no robot has all of actions measureGas, thermalScan"


def test_zone_1_work_needs_a_zone_1_robot() -> None:
    zone2 = robot("r/z2", "a", rating=HazardRating.ZONE_2)
    zone1 = robot("r/z1", "d", rating=HazardRating.ZONE_1)
    work = [mission("pump", "pump")]
    assert allocate(graph(), [zone2, zone1], work).robot_of("pump") == "r/z1"
    (why,) = allocate(graph(), [zone2], work).unassigned
    assert why.code is ReasonCode.RATING
    assert (
        why.reason
        == "needs zone-1 rating for zone pump-room (capable robots are rated at most zone-2)"
    )


def test_zone_2_work_takes_zone_2_or_zone_1_robots_not_unrated_ones() -> None:
    work = [mission("tank", "tank")]
    for rating in (HazardRating.ZONE_2, HazardRating.ZONE_1):
        assert allocate(graph(), [robot("r/x", "b", rating=rating)], work).robot_of("tank")
    (why,) = allocate(graph(), [robot("r/none", "b")], work).unassigned
    assert (
        why.reason
        == "needs zone-2 rating for zone tank-bay (capable robots are rated at most none)"
    )


def test_a_robot_standing_on_a_zone_node_still_needs_the_rating() -> None:
    # distance 0, but the work is inside the pump room
    (why,) = allocate(graph(), [robot("r/none", "pump")], [mission("p", "pump")]).unassigned
    assert why.code is ReasonCode.RATING


def test_the_mission_route_counts_too_not_only_its_nodes() -> None:
    # e and f are outside the pipe rack, the straight edge between them crosses it:
    # the unrated robot takes the detour, the zone 1 robot the short way
    work = [mission("sweep", "e", "f")]
    for rating, route in ((HazardRating.NONE, 40.0), (HazardRating.ZONE_1, 20.0)):
        result = allocate(graph(), [robot("r/x", "e", rating=rating)], work)
        assert result.assignments[0].route_m == pytest.approx(route)


def test_an_approach_blocked_by_areas_above_the_rating_is_reported() -> None:
    # the robot is in the pump room (zone 1 area) but rated zone 2: it cannot drive out
    stuck = robot("r/z2", "pump", rating=HazardRating.ZONE_2)
    (why,) = allocate(graph(), [stuck], [mission("m", "b")]).unassigned
    assert why.code is ReasonCode.UNREACHABLE
    assert why.reason.startswith("unreachable: none of the 1 capable robots can drive to b")


# ------------------------------------------------------------------ battery


def test_battery_must_cover_the_mission_the_trip_to_a_charger_and_the_reserve() -> None:
    model = BatteryModel(drive_pct_per_m=0.5, base_pct_per_s=0.0, reserve_pct=10)
    # dock -> d is 40 m, back to the charger at the dock 40 m: 80 m x 0.5 % + 10 % = 50 %
    work = [mission("far", "d", task_s=0)]
    ok = allocate(graph(), [robot("r/1", battery=model, battery_pct=50)], work)
    assert ok.robot_of("far") == "r/1"
    assert ok.assignments[0].energy_pct == pytest.approx(40.0)
    short = allocate(graph(), [robot("r/1", battery=model, battery_pct=49)], work)
    (why,) = short.unassigned
    assert why.code is ReasonCode.BATTERY
    assert why.reason.startswith("battery: needs 50 %, best robot has 49 % (r/1)")
    assert "after charging at dock" in why.reason


def test_working_time_drains_the_battery_too() -> None:
    model = BatteryModel(drive_pct_per_m=0.0, base_pct_per_s=0.1, reserve_pct=10)
    work = [mission("long", "dock", task_s=600)]  # 60 % at the dock
    assert allocate(graph(), [robot("r/1", battery=model, battery_pct=70)], work).robot_of("long")
    (why,) = allocate(graph(), [robot("r/1", battery=model, battery_pct=69)], work).unassigned
    assert why.reason.startswith("battery: needs 70 %, best robot has 69 %")


def test_the_battery_penalty_prefers_the_robot_with_charge_to_spare() -> None:
    model = BatteryModel(drive_pct_per_m=0.1, base_pct_per_s=0.0, reserve_pct=5)
    robots = [
        robot("r/low", "b", battery=model, battery_pct=30),
        robot("r/full", "b", battery=model, battery_pct=95),
    ]
    result = allocate(graph(), robots, [mission("m", "c")])
    assert result.robot_of("m") == "r/full"
    a = result.assignments[0]
    assert a.cost_s == pytest.approx(a.travel_s + a.task_s + a.battery_penalty_s)
    assert a.battery_penalty_s == pytest.approx(60.0 * a.energy_pct / 95.0, rel=1e-5)


def test_a_mission_ending_where_no_charger_can_be_reached_is_refused() -> None:
    site = SiteMap.model_validate(
        {
            "nodes": [
                {"id": "a", "x": 0, "y": 0},
                {"id": "b", "x": 10, "y": 0},
                {"id": "c", "x": 50, "y": 0},
            ],
            "edges": [{"start": "a", "end": "b"}],
            "zones": [{"id": "bay", "kind": "charging", "polygon": [(49, -1), (51, -1), (51, 1)]}],
        }
    )  # the only charger, at c, is not joined to a and b
    (why,) = allocate(SiteGraph(site), [robot("r/1", "a")], [mission("m", "b")]).unassigned
    assert why.code is ReasonCode.BATTERY
    assert why.reason == "battery: no charger reachable from b, where the mission ends"


def test_a_site_without_chargers_plans_no_trip_to_one() -> None:
    site = SiteMap(
        nodes=[Node(id="a", x=0, y=0), Node(id="b", x=10, y=0)],
        edges=[Edge(start="a", end="b")],
    )
    model = BatteryModel(drive_pct_per_m=1.0, base_pct_per_s=0.0, reserve_pct=10)
    low = robot("r/1", "a", battery=model, battery_pct=30)
    result = allocate(SiteGraph(site), [low], [mission("m", "b")])
    assert result.robot_of("m") == "r/1"  # 10 m = 10 %, plus the 10 % reserve
    assert result.assignments[0].energy_pct == pytest.approx(10.0)
    (charge,) = allocate(SiteGraph(site), [robot("r/2", "a", battery_pct=5)], []).charging
    assert charge.charger_node is None and charge.ready_in_s == float("inf")


# ------------------------------------------------------------------ charging


def test_a_low_robot_goes_to_charge_and_takes_no_routine_work() -> None:
    low = robot("r/low", "b", battery_pct=20)  # below the default 25 %
    result = allocate(graph(), [low], [mission("m", "a")])
    (charge,) = result.charging
    assert charge.robot == "r/low" and charge.charger_node == "dock"
    assert charge.distance_m == pytest.approx(20.0) and charge.travel_s == pytest.approx(20.0)
    # arrives with 20 - 20 m x 0.05 - 20 s x 0.01 = 18.8 %; to 90 % at 0.05 %/s
    assert charge.charge_s == pytest.approx((90.0 - 18.8) / 0.05)
    assert charge.ready_in_s == pytest.approx(charge.travel_s + charge.charge_s)
    (why,) = result.unassigned
    assert why.code is ReasonCode.BUSY


def test_an_emergency_may_still_take_a_low_or_charging_robot() -> None:
    for r in (robot("r/x", "b", battery_pct=20), robot("r/x", "dock", status=RobotStatus.CHARGING)):
        result = allocate(graph(), [r], [mission("fire", "a", priority=Priority.EMERGENCY)])
        assert result.robot_of("fire") == "r/x"
        assert result.charging == ()


# ------------------------------------------------------------------ priorities and preemption


def test_emergency_first_then_urgent_then_routine() -> None:
    robots = [robot("r/1", "a", battery=NO_DRAIN)]
    missions = [
        mission("routine", "a", task_s=1),
        mission("urgent", "d", priority=Priority.URGENT),
        mission("emergency", "d", priority=Priority.EMERGENCY),
    ]
    result = allocate(graph(), robots, missions)
    assert result.robot_of("emergency") == "r/1"
    assert {u.mission: u.code for u in result.unassigned} == {
        "urgent": ReasonCode.OUTBID,
        "routine": ReasonCode.OUTBID,
    }
    two = allocate(graph(), [*robots, robot("r/2", "d", battery=NO_DRAIN)], missions)
    assert two.robot_of("emergency") == "r/2" and two.robot_of("urgent") == "r/1"
    accounted(two, missions)


def test_an_emergency_preempts_a_routine_mission_when_no_robot_is_free() -> None:
    busy = robot(
        "r/1", "b", status=RobotStatus.BUSY, mission="round-7", mission_priority=Priority.ROUTINE
    )
    fire = mission("fire", "c", priority=Priority.EMERGENCY)
    result = allocate(graph(), [busy], [fire])
    (pre,) = result.preemptions
    assert (pre.robot, pre.cancel_mission, pre.assignment.mission) == ("r/1", "round-7", "fire")
    assert result.requeue == ("round-7",)
    assert result.robot_of("fire") == "r/1" and result.assignments == ()
    accounted(result, [fire])
    # a free robot, even farther away, is taken before anything is cancelled
    free = robot("r/2", "dock")
    assert allocate(graph(), [busy, free], [fire]).preemptions == ()


def test_urgent_work_and_routine_work_preempt_nothing() -> None:
    urgent_busy = robot(
        "r/1", "b", status=RobotStatus.BUSY, mission="leak", mission_priority=Priority.URGENT
    )
    result = allocate(graph(), [urgent_busy], [mission("fire", "c", priority=Priority.EMERGENCY)])
    assert result.preemptions == ()
    assert result.unassigned[0].code is ReasonCode.BUSY
    routine_busy = robot(
        "r/2", "b", status=RobotStatus.BUSY, mission="round", mission_priority=Priority.ROUTINE
    )
    for prio in (Priority.URGENT, Priority.ROUTINE):
        res = allocate(graph(), [routine_busy], [mission("m", "c", priority=prio)])
        assert res.preemptions == () and res.unassigned[0].code is ReasonCode.BUSY
    off = allocate(
        graph(),
        [routine_busy],
        [mission("fire", "c", priority=Priority.EMERGENCY)],
        params=AllocationParams(preempt=False),
    )
    assert off.preemptions == () and off.unassigned[0].code is ReasonCode.BUSY


def test_preemption_needs_a_feasible_robot() -> None:
    busy = robot(
        "r/1", "b", status=RobotStatus.BUSY, mission="round", mission_priority=Priority.ROUTINE
    )
    fire = mission("fire", "pump", priority=Priority.EMERGENCY)  # zone 1, r/1 is unrated
    result = allocate(graph(), [busy], [fire])
    assert result.preemptions == () and result.unassigned[0].code is ReasonCode.RATING


# ------------------------------------------------------------------ reasons


def test_unreachable_missions_say_where() -> None:
    r = [robot("r/1", "dock", rating=HazardRating.ZONE_1)]
    (no_go,) = allocate(graph(), r, [mission("m", "b", "reactor")]).unassigned
    assert no_go.reason == "unreachable: node reactor is in no-go zone reactor-hall"
    (island,) = allocate(graph(), r, [mission("m", "b", "island")]).unassigned
    assert island.reason == "unreachable: no route from b to island outside no-go zones"
    (far,) = allocate(graph(), r, [mission("m", "island")]).unassigned
    assert far.code is ReasonCode.UNREACHABLE and "drive to island" in far.reason


def test_unavailable_robots_are_never_assigned() -> None:
    lost = robot("r/lost", "a", status=RobotStatus.UNAVAILABLE)
    (why,) = allocate(graph(), [lost], [mission("m", "b")]).unassigned
    assert why.code is ReasonCode.UNAVAILABLE and "r/lost" in why.reason


def test_a_robot_driving_to_a_charger_is_waited_for_not_called_unavailable() -> None:
    away = robot("r/away", "a", status=RobotStatus.TO_CHARGER, battery_pct=20)
    result = allocate(graph(), [away], [mission("m", "b")])
    assert result.assignments == () and result.charging == ()  # neither used nor re-sent
    (why,) = result.unassigned
    assert why.code is ReasonCode.CHARGING and not why.code.infeasible
    assert "r/away (on its way to a charger, 20 %)" in why.reason
    lost = robot("r/lost", "a", status=RobotStatus.UNAVAILABLE)
    (why,) = allocate(graph(), [lost, away], [mission("m", "b")]).unassigned
    assert why.code is ReasonCode.CHARGING and "r/lost" not in why.reason


def test_bad_input_is_refused_naming_the_item() -> None:
    g = graph()
    with pytest.raises(ValueError, match=r"robots\.0\.node: no node 'zz'"):
        allocate(g, [robot("r/1", "zz")], [])
    with pytest.raises(ValueError, match=r"missions\.0\.nodes\.1: no node 'zz'"):
        allocate(g, [], [mission("m", "a", "zz")])
    with pytest.raises(ValueError, match=r"missions\.1: duplicate id 'm'"):
        allocate(g, [], [mission("m", "a"), mission("m", "b")])
    routes = g.route_table([("other", ("a",))])
    with pytest.raises(ValueError, match="routes"):
        allocate(g, [], [mission("m", "a")], routes=routes)


def test_nothing_to_do_gives_an_empty_result() -> None:
    empty = allocate(graph(), [], [])
    assert empty.assignments == () and empty.unassigned == () and empty.total_cost_s == 0
    (why,) = allocate(graph(), [], [mission("m", "a")]).unassigned
    assert why.code is ReasonCode.NO_CAPABILITY


# ------------------------------------------------------------------ optimality


def grid_site(side: int, rng: np.random.Generator) -> SiteGraph:
    nodes = [
        Node(id=f"n{i}", x=float(i % side) * 5, y=float(i // side) * 5) for i in range(side**2)
    ]
    edges = []
    for i in range(side**2):
        if i % side + 1 < side and rng.random() > 0.1:
            edges.append(Edge(start=f"n{i}", end=f"n{i + 1}"))
        if i + side < side**2 and rng.random() > 0.1:
            edges.append(Edge(start=f"n{i}", end=f"n{i + side}"))
    charger = {"id": "charge", "kind": "charging", "polygon": [(-1, -1), (1, -1), (1, 1), (-1, 1)]}
    return SiteGraph(SiteMap.model_validate({"nodes": nodes, "edges": edges, "zones": [charger]}))


def random_instance(
    g: SiteGraph, n_robots: int, n_missions: int, rng: np.random.Generator
) -> tuple[list[RobotSnapshot], list[MissionRequirements]]:
    actions = ("captureImage", "measureGas", "thermalScan")
    ids = g.node_ids
    robots = [
        robot(
            f"r/{i}",
            ids[int(rng.integers(len(ids)))],
            actions={"captureImage", *rng.choice(actions, size=2).tolist()},
            battery_pct=float(rng.uniform(30, 100)),
            speed=float(rng.uniform(0.5, 1.5)),
        )
        for i in range(n_robots)
    ]
    missions = [
        mission(
            f"m{j}",
            *(ids[int(x)] for x in rng.integers(len(ids), size=int(rng.integers(1, 3)))),
            actions={str(rng.choice(actions))},
            task_s=float(rng.uniform(10, 100)),
        )
        for j in range(n_missions)
    ]
    return robots, missions


def brute_force(feasible: np.ndarray, rank: np.ndarray) -> tuple[int, float]:
    """(most missions assignable, least total rank among those) by enumeration"""
    n_m, n_r = feasible.shape
    best = (0, 0.0)
    for k in range(min(n_m, n_r), 0, -1):
        costs = [
            sum(float(rank[m, r]) for m, r in zip(ms, rs, strict=True))
            for ms in itertools.combinations(range(n_m), k)
            for rs in itertools.permutations(range(n_r), k)
            if all(feasible[m, r] for m, r in zip(ms, rs, strict=True))
        ]
        if costs:
            return k, min(costs)
    return best


def objective(result: AllocationResult) -> float:
    return sum(a.cost_s - a.task_s for a in result.assignments)


@pytest.mark.parametrize("seed", range(12))
def test_optimal_matches_brute_force_on_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = grid_site(5, rng)
    n_r, n_m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    robots, missions = random_instance(g, n_r, n_m, rng)
    problem = build_problem(g, robots, missions)
    result = solve(problem)
    count, best = brute_force(problem.feasible, problem.rank_s)
    assert len(result.assignments) == count
    assert objective(result) == pytest.approx(best, rel=1e-5)
    accounted(result, missions)


@pytest.mark.parametrize("seed", range(12))
def test_greedy_never_beats_optimal(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    g = grid_site(6, rng)
    n = int(rng.integers(3, 12))
    robots, missions = random_instance(g, n + int(rng.integers(0, 3)), n, rng)
    problem = build_problem(g, robots, missions)
    optimal, greedy = solve(problem), solve(problem, "greedy")
    assert len(optimal.assignments) >= len(greedy.assignments)
    if len(optimal.assignments) == len(greedy.assignments):
        assert objective(greedy) >= objective(optimal) - 1e-3
    accounted(greedy, missions)
    same = greedy_allocate(g, robots, missions)
    assert [a.robot for a in same.assignments] == [a.robot for a in greedy.assignments]


def test_greedy_takes_the_nearest_robot_and_optimal_does_better() -> None:
    # r/1 is nearest to m1, so greedy gives it m1 and sends r/2 the whole corridor to m2
    robots = [robot("r/1", "a", battery=NO_DRAIN), robot("r/2", "d", battery=NO_DRAIN)]
    missions = [mission("m1", "b"), mission("m2", "dock")]
    greedy = greedy_allocate(graph(), robots, missions)
    optimal = allocate(graph(), robots, missions)
    assert (greedy.robot_of("m1"), greedy.robot_of("m2")) == ("r/1", "r/2")  # 10 m + 40 m
    assert (optimal.robot_of("m1"), optimal.robot_of("m2")) == ("r/2", "r/1")  # 20 m + 10 m
    assert objective(greedy) == pytest.approx(50.0) and objective(optimal) == pytest.approx(30.0)
    assert optimal.method == "optimal" and greedy.method == "greedy"


def test_a_kept_route_table_gives_the_same_allocation() -> None:
    rng = np.random.default_rng(7)
    g = grid_site(6, rng)
    robots, missions = random_instance(g, 8, 8, rng)
    routes = g.route_table([(m.id, m.nodes) for m in missions])
    again = allocate(g, robots, missions, routes=routes)
    assert again == allocate(g, robots, missions)
    plain = SiteGraph(g.site, table_max_nodes=0)  # Dijkstra every time, float32 rows too
    assert [a.robot for a in allocate(plain, robots, missions).assignments] == [
        a.robot for a in again.assignments
    ]


def test_a_charging_robot_is_left_on_its_charger_for_routine_work() -> None:
    on_charger = robot("r/1", "dock", status=RobotStatus.CHARGING, battery_pct=60)
    result = allocate(graph(), [on_charger], [mission("m", "a")])
    assert result.assignments == () and result.charging == ()
    assert result.unassigned[0].code is ReasonCode.BUSY


# ------------------------------------------------------------------ charger bays


def bay_graph(bays: int = 2) -> SiteGraph:
    """bay0 .. bay{n-1} 2 m apart in one charging zone, joined at ``hub``; a, b, c east of it.

    bay0 (0, 0) - hub (0, -2) - a (10, -2) - b (20, -2) - c (30, -2); bay{i} at (0, 2 i)
    """
    nodes = [Node(id=f"bay{i}", x=0.0, y=2.0 * i) for i in range(bays)]
    nodes += [Node(id=n, x=x, y=-2.0) for n, x in (("hub", 0), ("a", 10), ("b", 20), ("c", 30))]
    edges = [Edge(start="hub", end="bay0"), Edge(start="hub", end="a")]
    edges += [Edge(start="a", end="b"), Edge(start="b", end="c")]
    edges += [Edge(start=f"bay{i}", end=f"bay{i + 1}") for i in range(bays - 1)]
    top = 2.0 * bays - 1
    dock = {"id": "dock", "kind": "charging", "polygon": [(-1, -1), (1, -1), (1, top), (-1, top)]}
    site = SiteMap.model_validate({"nodes": nodes, "edges": edges, "zones": [dock]})
    return SiteGraph(site)


def test_two_low_robots_get_two_different_bays_lowest_charge_nearest() -> None:
    g = bay_graph(2)
    robots = [robot("r/far", "c", battery_pct=20), robot("r/near", "a", battery_pct=10)]
    for allocator in (allocate, greedy_allocate):
        result = allocator(g, robots, [])
        bays = {c.robot: c.charger_node for c in result.charging}
        assert bays == {"r/near": "bay0", "r/far": "bay1"}
        far = next(c for c in result.charging if c.robot == "r/far")
        assert far.distance_m == pytest.approx(34.0)  # c -> hub 30, hub -> bay0 -> bay1 4


def test_with_one_bay_the_second_low_robot_waits_and_says_why() -> None:
    g = bay_graph(1)
    robots = [robot("r/1", "c", battery_pct=20), robot("r/2", "b", battery_pct=15)]
    result = allocate(g, robots, [])
    sent = [c for c in result.charging if c.charger_node is not None]
    (waits,) = [c for c in result.charging if c.charger_node is None]
    assert [c.robot for c in sent] == ["r/2"] and sent[0].charger_node == "bay0"
    assert waits.robot == "r/1" and waits.ready_in_s == float("inf")
    assert waits.reason == "its only reachable charger bay is taken: bay0 (r/2)"


def test_a_bay_taken_by_a_charge_trip_or_a_robot_standing_there_is_not_given_again() -> None:
    g = bay_graph(3)
    low = robot("r/low", "a", battery_pct=10)
    (charge,) = allocate(g, [low], [], bays_taken={"bay0": "r/x"}).charging
    assert charge.charger_node == "bay1" and charge.distance_m == pytest.approx(14.0)
    taken = {"bay0": "r/x", "bay1": "r/y", "bay2": "r/z", "a": "r/q"}  # a is no bay: ignored
    (charge,) = allocate(g, [low], [], bays_taken=taken).charging
    assert charge.charger_node is None
    assert charge.reason == "all 3 reachable bays are taken: bay0 (r/x), bay1 (r/y), bay2 (r/z)"


def test_a_robots_own_bay_is_free_to_it() -> None:
    g = bay_graph(2)
    low = robot("r/low", "bay0", battery_pct=10)
    (charge,) = allocate(g, [low], [], bays_taken={"bay0": "r/low"}).charging
    assert charge.charger_node == "bay0" and charge.distance_m == 0.0


def test_bays_taken_must_name_nodes_of_the_site() -> None:
    with pytest.raises(ValueError, match=r"bays_taken\.zz: no node 'zz'"):
        allocate(bay_graph(), [], [], bays_taken={"zz": "r/1"})


def test_a_site_without_chargers_says_so() -> None:
    site = SiteMap.model_validate(
        {"nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "b", "x": 5, "y": 0}], "edges": []}
    )
    (charge,) = allocate(SiteGraph(site), [robot("r/1", "a", battery_pct=5)], []).charging
    assert charge.charger_node is None and charge.reason == "the site has no charger"


def test_a_bay_whose_robot_leaves_on_a_mission_in_the_same_batch_is_free() -> None:
    g = bay_graph(1)
    parked = robot("r/parked", "bay0", battery_pct=95)
    low = robot("r/low", "c", battery_pct=10)
    result = allocate(g, [parked, low], [mission("m", "b")], bays_taken={"bay0": "r/parked"})
    assert result.robot_of("m") == "r/parked"
    (charge,) = result.charging
    assert charge.robot == "r/low" and charge.charger_node == "bay0"
    # without the mission the parked robot keeps its bay
    (charge,) = allocate(g, [parked, low], [], bays_taken={"bay0": "r/parked"}).charging
    assert charge.charger_node is None and "bay0 (r/parked)" in charge.reason

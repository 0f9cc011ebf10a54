"""Charging in the dispatcher (controller/charging.py, controller/fleet_plan.py): charger
bays, the robot's own charging flag, back in the pool at charge_to_pct.  Hand-played
robots on an in-memory bus; the simulator's charging over a real broker is in
tests/simulator/test_charging_drill.py."""

from __future__ import annotations

from typing import Any

from controller.charging import Vacate, bays_to_free
from controller.fleet_plan import FleetPlanner, RobotView
from missions.capabilities import RobotStatus
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome
from missions.model import Priority
from missions.site import Edge, Node, SiteMap, Zone, ZoneKind
from tests.controller import Harness, RobotSide
from tests.controller.test_allocation_dispatch import (
    DOSE,
    GAS,
    SITE,
    UNRATED,
    events,
    harness,
    put,
    spec,
)


def wait(h: Harness, seconds: float, *robots: RobotSide) -> None:
    """Let ``seconds`` pass, every robot sending a state each half second."""
    for _ in range(int(seconds * 2)):
        for r in robots:
            r.send_state()
        h.tick(0.5)


def view(node: str, battery: float, charging: bool | None) -> RobotView:
    return RobotView("acme/R1", node, battery, ("measureGas",), 1.0, True, charging=charging)


def test_the_reported_flag_decides_charging_and_the_node_is_the_fallback() -> None:
    planner = FleetPlanner(SITE, FleetPlanSettings())

    def status(node: str, battery: float, charging: bool | None) -> RobotStatus:
        return planner.snapshot(view(node, battery, charging), {}).status

    assert status("dock", 50, None) is RobotStatus.CHARGING  # never reported: by the node
    assert status("A", 50, None) is RobotStatus.IDLE
    assert status("A", 50, True) is RobotStatus.CHARGING  # a charger the map does not show
    assert status("dock", 50, False) is RobotStatus.IDLE  # on the dock, not charging
    assert status("dock", 90, True) is RobotStatus.IDLE  # charge_to_pct reached
    assert status("dock", 89.9, True) is RobotStatus.CHARGING


def test_two_low_robots_and_one_bay_the_second_waits_until_the_bay_is_free() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "B", battery=20.0)
    r2 = put(h, "R2", "C", battery=15.0)
    (trip,) = r1.take_orders()
    assert trip["nodes"][-1]["nodeId"] == "dock"
    r1.accept(trip)
    wait(h, 15, r1, r2)  # batches come and go while R1 drives
    assert r2.take_orders() == []
    waiting = "low on charge, waiting: its only reachable charger bay is taken: dock (acme/R1)"
    assert events(h, "acme/R2").count(waiting) == 1  # said once, not every batch
    r1.finish_all()  # R1 on the dock now, charging: the bay is still taken
    r1.charging = True
    wait(h, 6, r1, r2)
    assert r2.take_orders() == [] and r1.take_orders() == []  # below charge_to_pct: stays
    # R1, charged to charge_to_pct, takes a mission and leaves: R2 gets the bay at once
    r1.battery = 92.0
    r1.send_state()
    h.controller.submit(spec("m1", "A", actions=[GAS]))
    h.tick()
    (mission,) = r1.take_orders()
    assert mission["nodes"][-1]["nodeId"] == "A"
    (trip2,) = r2.take_orders()
    assert trip2["nodes"][-1]["nodeId"] == "dock"
    assert "to charger dock" in events(h, "acme/R2")


def test_a_charging_robot_is_back_in_the_pool_at_charge_to_pct() -> None:
    h = harness(("R1",), R1=UNRATED)
    r1 = put(h, "R1", "A", battery=50.0)
    r1.charging = True  # charging where the map shows no charger: its word counts
    r1.send_state()
    h.tick()
    h.controller.submit(spec("m1", "B", actions=[GAS]))
    wait(h, 6, r1)
    assert r1.take_orders() == []
    assert (h.mission("m1").waiting or "").startswith("waiting (busy)")
    r1.battery = 90.0
    wait(h, 6, r1)
    orders = r1.take_orders()  # the order and its resends (not acknowledged here)
    assert {(o["orderId"], o["nodes"][-1]["nodeId"]) for o in orders} == {("m1-1", "B")}


def test_an_emergency_takes_a_charging_robot() -> None:
    h = harness(("R1",), R1=UNRATED)
    r1 = put(h, "R1", "dock", battery=40.0)
    r1.charging = True
    r1.send_state()
    h.tick()
    h.controller.submit(spec("fire", "B", actions=[GAS], priority=Priority.EMERGENCY))
    h.tick()
    (order,) = r1.take_orders()
    assert order["nodes"][-1]["nodeId"] == "B"
    assert h.mission("fire").outcome == MissionOutcome.DISPATCHED


# ---------------------------------------------------------------- freeing a blocked bay


def targets(orders: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(orderId, last node) of the orders taken (resends of one order count once)."""
    return {(o["orderId"], o["nodes"][-1]["nodeId"]) for o in orders}


def test_a_charged_idle_robot_is_moved_off_the_only_bay_for_a_waiting_low_robot() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "dock", battery=95.0)
    r1.charging = True  # charged past charge_to_pct, still topping up: idle all the same
    r2 = put(h, "R2", "C", battery=15.0)
    wait(h, 6, r1, r2)
    orders = r1.take_orders()
    ((order_id, to_node),) = targets(orders)
    assert order_id.startswith("_vacate:R1:") and to_node == "A"  # nearest node not a bay
    assert r2.take_orders() == []  # the bay is still held while R1 stands on it
    said = "moved off charger bay dock to free it for acme/R2 (to A)"
    assert events(h, "acme/R1").count(said) == 1
    assert h.controller.missions() == []  # the dispatcher's own drive, not listed
    r1.accept(orders[0])
    r1.finish_all()
    r1.charging = False
    assert r1.last_node_id == "A"
    wait(h, 6, r1, r2)
    (trip,) = targets(r2.take_orders())
    assert trip[0].startswith("_charge:R2:") and trip[1] == "dock"
    # R1, charged and idle off the bay, is not sent back to charge: no ping-pong
    assert r1.take_orders() == []


def test_a_robot_below_charge_to_pct_keeps_its_bay() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "dock", battery=80.0)
    r1.charging = True
    r2 = put(h, "R2", "C", battery=15.0)
    wait(h, 12, r1, r2)
    assert r1.take_orders() == [] and r2.take_orders() == []
    assert not any(e.startswith("moved off") for e in events(h, "acme/R1"))
    assert any(e.startswith("low on charge, waiting") for e in events(h, "acme/R2"))


def test_an_operator_stopped_robot_is_not_moved_off_its_bay() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "dock", battery=95.0)
    r1.paused = True  # stopped by an operator (startPause): it stays where it is
    r2 = put(h, "R2", "C", battery=15.0)
    wait(h, 12, r1, r2)
    assert r1.take_orders() == [] and r2.take_orders() == []
    assert not any(e.startswith("moved off") for e in events(h, "acme/R1"))


def test_no_robot_is_moved_off_a_bay_when_none_waits_for_one() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "dock", battery=95.0)
    r2 = put(h, "R2", "C", battery=60.0)
    wait(h, 12, r1, r2)
    assert r1.take_orders() == [] and r2.take_orders() == []


# a dock with two bays, a no-go cell and a hazardous cell beside it, and open floor beyond
BAYS = SiteMap(
    map_id="bays",
    nodes=[
        Node(id="bay-1", x=0.0, y=0.0),
        Node(id="bay-2", x=0.0, y=2.0),
        Node(id="pit", x=2.0, y=0.0),
        Node(id="hot", x=0.0, y=-2.0),
        Node(id="far", x=-6.0, y=0.0),
        Node(id="low", x=-6.0, y=10.0),
    ],
    edges=[
        Edge(start="bay-1", end="bay-2"),
        Edge(start="bay-1", end="pit"),
        Edge(start="bay-1", end="hot"),
        Edge(start="bay-1", end="far"),
        Edge(start="far", end="low"),
    ],
    zones=[
        Zone(id="dock", kind=ZoneKind.CHARGING, polygon=[(-1, -1), (1, -1), (1, 3), (-1, 3)]),
        Zone(
            id="pit",
            kind=ZoneKind.NO_GO,
            polygon=[(1.5, -0.5), (2.5, -0.5), (2.5, 0.5), (1.5, 0.5)],
        ),
        Zone(
            id="hot",
            kind=ZoneKind.HAZARDOUS,
            polygon=[(-0.5, -2.5), (0.5, -2.5), (0.5, -1.5), (-0.5, -1.5)],
        ),
    ],
)


def idle(key: str, node: str, battery: float, *, ready: bool = True) -> RobotView:
    return RobotView(key, node, battery, ("measureGas",), 1.0, ready)


def test_bays_to_free_picks_the_charged_holder_and_a_node_that_is_no_bay_nor_no_go() -> None:
    planner = FleetPlanner(BAYS, FleetPlanSettings(default_robot=UNRATED))
    robots = [
        idle("acme/full", "bay-1", 100.0),
        RobotView("acme/half", "bay-2", 50.0, ("measureGas",), 1.0, True, charging=True),
        idle("acme/low", "low", 10.0),
    ]
    result = planner.allocate(robots, [])
    (decision,) = result.charging
    assert decision.charger_node is None  # both bays held
    # bay-2's robot is below charge_to_pct and stays; bay-1's leaves for "far": "pit" is
    # no-go, "hot" above its rating, "bay-2" a bay
    assert bays_to_free(planner, robots, result, {}) == [
        Vacate("acme/full", "bay-1", "far", "acme/low")
    ]
    # a robot stopped by an operator (not ready) is not moved
    stopped = [idle("acme/full", "bay-1", 100.0, ready=False), *robots[1:]]
    result = planner.allocate(stopped, [])
    assert bays_to_free(planner, stopped, result, {}) == []
    # nothing waits: nothing moves
    fine = [*robots[:2], idle("acme/low", "low", 60.0)]
    assert bays_to_free(planner, fine, planner.allocate(fine, []), {}) == []


def test_a_mission_only_a_robot_driving_to_charge_can_do_waits_for_it() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "B", battery=20.0, actions=["measureGas", "measureDoseRate"])
    r2 = put(h, "R2", "C", battery=80.0)
    (trip,) = r1.take_orders()
    assert trip["nodes"][-1]["nodeId"] == "dock"
    r1.accept(trip)
    h.controller.submit(spec("dose", "A", actions=[DOSE]))
    wait(h, 6, r1, r2)
    waiting = h.mission("dose").waiting or ""
    assert waiting.startswith("waiting (charging): ") and "unassignable" not in waiting
    assert "acme/R1 (on its way to a charger, 20 %)" in waiting
    # charging at the dock, still short of what the mission needs: still waiting for it
    r1.finish_all()
    r1.charging = True
    wait(h, 6, r1, r2)
    assert (h.mission("dose").waiting or "").startswith("waiting")


def test_a_robot_that_is_truly_unavailable_keeps_the_unavailable_reason() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "B", battery=80.0, actions=["measureGas", "measureDoseRate"])
    r2 = put(h, "R2", "C", battery=80.0)
    r1.paused = True
    h.controller.submit(spec("dose", "A", actions=[DOSE]))
    wait(h, 6, r1, r2)
    assert (h.mission("dose").waiting or "").startswith("unassignable (unavailable)")


def test_a_user_mission_may_not_take_an_id_of_the_dispatchers_own_drives() -> None:
    import pytest

    from drivers.errors import MissionError

    h = harness(("R1",), R1=UNRATED)
    for reserved in ("_charge:R1:1", "_vacate:R1:1", "_assemble:R1:1", "_mine"):
        with pytest.raises(MissionError, match="reserved"):
            h.controller.submit(spec(reserved, "A", actions=[GAS]))
    h.controller.submit(spec("vacate-drill", "A", actions=[GAS]))  # a plain id is taken

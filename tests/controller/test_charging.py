"""Charging in the dispatcher (controller/charging.py, controller/fleet_plan.py): charger
bays, the robot's own charging flag, back in the pool at charge_to_pct.  Hand-played
robots on an in-memory bus; the simulator's charging over a real broker is in
tests/simulator/test_charging_drill.py."""

from __future__ import annotations

from controller.fleet_plan import FleetPlanner, RobotView
from missions.capabilities import RobotStatus
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome
from missions.model import Priority
from tests.controller import Harness, RobotSide
from tests.controller.test_allocation_dispatch import (
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
    r1.battery = 92.0
    wait(h, 6, r1, r2)
    assert r2.take_orders() == [] and r1.take_orders() == []
    # R1, charged to charge_to_pct, takes a mission and leaves: R2 gets the bay at once
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

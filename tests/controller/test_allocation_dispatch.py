"""The allocator wired into the dispatcher (controller/fleet_plan.py, docs/allocation.md):
capabilities, ratings, battery, preemption, charging and robot loss, against hand-played
robots on an in-memory bus.  The same paths over a real broker are in
tests/simulator/test_fleet_drills.py."""

from __future__ import annotations

import dataclasses
from typing import Any

from controller import ControllerSettings
from drivers.errors import MissionError
from missions.capabilities import BatteryModel, HazardRating, RobotConfig
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome, MissionSpec
from missions.model import Priority
from missions.site import Edge, Node, SiteMap, Zone, ZoneKind
from tests.controller import Harness, RobotSide

# dock(0,0) in a charging zone -- A(10,0) -- B(20,0) -- C(30,0)
#                                 |
#                                 G(10,5) -- P(10,10) in hazardous zone "pump" (zone 1)
# and a detour around a zone-2 "rack" between B and C: B -- Y(25,-8) -- C, with R(25,0)
# inside "rack" on the straight B -- R -- C.
SITE = SiteMap(
    map_id="plant",
    nodes=[
        Node(id="dock", x=0.0, y=0.0),
        Node(id="A", x=10.0, y=0.0),
        Node(id="B", x=20.0, y=0.0),
        Node(id="R", x=25.0, y=0.0),
        Node(id="C", x=30.0, y=0.0),
        Node(id="Y", x=25.0, y=-8.0),
        Node(id="G", x=10.0, y=5.0),
        Node(id="P", x=10.0, y=10.0),
    ],
    edges=[
        Edge(start="dock", end="A"),
        Edge(start="A", end="B"),
        Edge(start="B", end="R"),
        Edge(start="R", end="C"),
        Edge(start="B", end="Y"),
        Edge(start="Y", end="C"),
        Edge(start="A", end="G"),
        Edge(start="G", end="P"),
    ],
    zones=[
        Zone(
            id="dock-charging", kind=ZoneKind.CHARGING, polygon=[(-1, -1), (1, -1), (1, 1), (-1, 1)]
        ),
        Zone(id="pump", kind=ZoneKind.HAZARDOUS, polygon=[(7, 8), (13, 8), (13, 12), (7, 12)]),
        Zone(id="rack", kind=ZoneKind.HAZARDOUS, polygon=[(24, -1), (26, -1), (26, 1), (24, 1)]),
    ],
)

GAS = {"type": "measureGas", "params": {"duration_s": 5}}
DOSE = {"type": "measureDoseRate", "params": {"duration_s": 5}}


def settings(**robots: RobotConfig) -> ControllerSettings:
    return ControllerSettings(
        fleet_plan=FleetPlanSettings(
            robots={f"acme/{serial}": cfg for serial, cfg in robots.items()},
            area_classes={"rack": "zone_2"},
        )
    )


def harness(serials: tuple[str, ...], **robots: RobotConfig) -> Harness:
    h = Harness(serials=serials, settings=settings(**robots), site=SITE)
    h.controller.start()
    return h


def spec(
    mission_id: str,
    *nodes: str,
    actions: list[dict[str, Any]] | None = None,
    priority: Priority = Priority.ROUTINE,
    robot: str | None = None,
) -> MissionSpec:
    steps = [{"node": n, "actions": actions or []} for n in nodes]
    return MissionSpec.model_validate(
        {"id": mission_id, "robot": robot, "steps": steps, "priority": priority}
    )


def put(
    h: Harness, serial: str, node: str, *, battery: float = 90.0, actions: list[str] | None = None
) -> RobotSide:
    robot = h.robots[serial]
    robot.last_node_id = node
    # the hand-played robot reports positions of the harness's own site: keep them off
    # this site's map so that only lastNodeId counts
    robot.position, robot.position_map = (0.0, 0.0), "elsewhere"
    robot.battery = battery
    return h.online(serial, factsheet=actions if actions is not None else ["measureGas"])


def events(h: Harness, subject: str) -> list[str]:
    return [e.detail for e in h.events if e.subject == subject]


def run_to_end(h: Harness, robot: RobotSide, order: dict[str, Any]) -> None:
    robot.accept(order)
    robot.send_state()
    h.tick()
    robot.finish_all()
    robot.send_state()
    h.tick()


ZONE1 = RobotConfig(rating=HazardRating.ZONE_1)
UNRATED = RobotConfig(rating=HazardRating.NONE)


def test_the_mission_goes_to_the_robot_with_the_capability() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    put(h, "R1", "A", actions=["measureGas"])
    r2 = put(h, "R2", "C", actions=["measureGas", "measureDoseRate"])
    h.controller.submit(spec("m1", "B", actions=[DOSE]))
    h.tick()
    assert h.robots["R1"].take_orders() == []
    (order,) = r2.take_orders()
    assert order["nodes"][-1]["nodeId"] == "B"


def test_a_mission_no_robot_can_do_is_reported_with_its_reason() -> None:
    h = harness(("R1",), R1=UNRATED)
    put(h, "R1", "A", actions=["measureGas"])
    h.controller.submit(spec("m1", "B", actions=[DOSE]))
    h.tick()
    status = h.mission("m1")
    assert status.outcome == MissionOutcome.PENDING
    assert status.waiting == "unassignable (no_capability): no robot has action measureDoseRate"
    assert status.waiting in events(h, "m1")
    # said once, not every tick
    h.tick(times=5)
    assert events(h, "m1").count(status.waiting) == 1


def test_only_a_robot_rated_for_the_zone_is_sent_into_it() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=ZONE1)
    put(h, "R1", "A")  # nearer, unrated
    r2 = put(h, "R2", "C")
    h.controller.submit(spec("m1", "P", actions=[GAS]))
    h.tick()
    assert h.robots["R1"].take_orders() == []
    (order,) = r2.take_orders()
    assert [n["nodeId"] for n in order["nodes"]][-1] == "P"


def test_without_a_rated_robot_the_mission_waits_and_says_why() -> None:
    h = harness(("R1",), R1=UNRATED)
    put(h, "R1", "A")
    h.controller.submit(spec("m1", "P", actions=[GAS]))
    h.tick()
    waiting = h.mission("m1").waiting
    assert waiting is not None and waiting.startswith("unassignable (rating): needs zone-1")


def test_an_unrated_robot_is_routed_around_a_hazardous_area() -> None:
    h = harness(("R1",), R1=UNRATED)
    r1 = put(h, "R1", "B")
    h.controller.submit(spec("m1", "C"))
    h.tick()
    (order,) = r1.take_orders()
    assert [n["nodeId"] for n in order["nodes"]] == ["B", "Y", "C"]


def test_a_robot_without_the_charge_for_the_mission_is_not_sent() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    put(h, "R1", "B", battery=12.0)  # nearer, but 12 % - reserve 10 % is not enough
    r2 = put(h, "R2", "dock", battery=95.0)
    h.controller.submit(spec("m1", "C", actions=[GAS]))
    h.tick()
    assert [o["nodes"][-1]["nodeId"] for o in r2.take_orders()] == ["C"]
    # and R1, idle below its charge threshold, is sent to the charger
    (charge,) = h.robots["R1"].take_orders()
    assert charge["nodes"][-1]["nodeId"] == "dock"
    assert any(e.kind == "charge" and e.subject == "acme/R1" for e in h.events)
    assert [m.id for m in h.controller.missions()] == ["m1"]  # charge trips are not missions


def test_a_mission_waits_for_the_charging_robot_that_will_have_the_charge() -> None:
    h = harness(("R1",), R1=UNRATED)
    put(h, "R1", "dock", battery=11.0)  # on the charger: charging
    h.controller.submit(spec("m1", "C", actions=[GAS]))
    h.tick()
    waiting = h.mission("m1").waiting or ""
    assert waiting.startswith("waiting (charging): ") and "acme/R1 (charging, 11 %)" in waiting
    assert "it could start after charging at dock" in waiting


def test_emergency_preempts_routine_then_the_routine_mission_runs_again() -> None:
    h = harness(("R1",), R1=ZONE1)
    r1 = put(h, "R1", "A")
    h.controller.submit(spec("routine", "C", actions=[GAS]))
    h.tick()
    (first,) = r1.take_orders()
    r1.accept(first)
    r1.send_state()
    h.tick()
    assert h.mission("routine").outcome == MissionOutcome.ACTIVE

    h.controller.submit(spec("fire", "P", actions=[GAS], priority=Priority.EMERGENCY))
    h.tick()
    (cancel,) = r1.take_instant_actions()
    assert cancel["actionType"] == "cancelOrder"
    assert h.mission("fire").waiting == (
        "waiting (preempting): robot acme/R1 cancels routine mission routine"
    )
    # the robot cancels: stops where it is, its order's actions fail
    r1.node_states, r1.edge_states = [], []
    for a in r1.action_states:
        a["actionStatus"] = "FAILED"
    r1.set_action(cancel["actionId"], "FINISHED")
    r1.send_state()
    h.tick()
    routine = h.mission("routine")
    assert routine.outcome == MissionOutcome.PENDING
    assert routine.reason == "displaced from acme/R1 by an emergency mission"
    (emergency,) = r1.take_orders()
    assert emergency["orderId"] == "fire-1"
    run_to_end(h, r1, emergency)
    assert h.mission("fire").outcome == MissionOutcome.COMPLETED

    h.tick()
    (again,) = r1.take_orders()
    assert again["orderId"] == "routine-2"
    run_to_end(h, r1, again)
    routine = h.mission("routine")
    assert routine.outcome == MissionOutcome.COMPLETED and routine.runs == 2


def test_an_emergency_never_displaces_urgent_work() -> None:
    h = harness(("R1",), R1=ZONE1)
    r1 = put(h, "R1", "A")
    h.controller.submit(spec("urgent", "C", priority=Priority.URGENT))
    h.tick()
    (first,) = r1.take_orders()
    r1.accept(first)
    r1.send_state()
    h.tick()
    h.controller.submit(spec("fire", "P", priority=Priority.EMERGENCY))
    h.tick()
    assert r1.take_instant_actions() == []
    waiting = h.mission("fire").waiting
    assert waiting is not None and waiting.startswith("waiting (busy)")


def test_a_lost_robots_mission_is_reassigned_and_the_old_order_cancelled() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "A")
    r2 = put(h, "R2", "dock")
    h.controller.submit(spec("m1", "C", actions=[GAS]))
    h.tick()
    (order,) = r1.take_orders()
    r1.accept(order)
    r1.send_state()
    h.tick()
    r1.connect("CONNECTIONBROKEN")  # its last will
    h.tick()
    status = h.mission("m1")
    assert status.outcome == MissionOutcome.DISPATCHED and status.robot == "R2"
    assert "pending: robot acme/R1 lost (connection CONNECTIONBROKEN); reassigning" in events(
        h, "m1"
    )
    (order2,) = r2.take_orders()
    assert order2["orderId"] == "m1-2"
    # R1 comes back still running the old order: it is told to cancel it
    r1.connect()
    r1.send_state()
    h.tick()
    assert [a["actionType"] for a in r1.take_instant_actions()] == ["cancelOrder"]
    run_to_end(h, r2, order2)
    assert h.mission("m1").outcome == MissionOutcome.COMPLETED


def test_a_robot_silent_for_the_missed_states_is_lost() -> None:
    base = settings(R1=UNRATED, R2=UNRATED)
    h = Harness(
        serials=("R1", "R2"),
        settings=dataclasses.replace(base, state_interval_s=1.0, lost_after_missed_states=3),
        site=SITE,
    )
    h.controller.start()
    r1 = put(h, "R1", "A")
    put(h, "R2", "dock")
    h.controller.submit(spec("m1", "C"))
    h.tick()
    (order,) = r1.take_orders()
    r1.accept(order)
    r1.send_state()
    h.tick()
    for _ in range(25):  # R2 keeps reporting, R1 says nothing
        h.robots["R2"].send_state()
        h.tick(0.5)
    status = h.mission("m1")
    assert status.robot == "R2"
    assert any("lost (no state for 3.0 s)" in d for d in events(h, "m1"))


def test_a_mission_pinned_to_a_robot_is_not_reassigned() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1 = put(h, "R1", "A")
    put(h, "R2", "dock")
    h.controller.submit(spec("m1", "C", robot="R1"))
    h.tick()
    (order,) = r1.take_orders()
    r1.accept(order)
    r1.send_state()
    h.tick()
    r1.connect("CONNECTIONBROKEN")
    h.tick(times=3)
    status = h.mission("m1")
    assert status.robot == "R1" and status.outcome == MissionOutcome.ACTIVE


def test_settings_name_zones_of_the_site() -> None:
    bad = ControllerSettings(fleet_plan=FleetPlanSettings(clearance_zones=frozenset({"nope"})))
    try:
        Harness(serials=("R1",), settings=bad, site=SITE)
    except ValueError as exc:
        assert "clearance_zones: no zone 'nope'" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_battery_model_of_the_config_is_used() -> None:
    thirsty = RobotConfig(battery=BatteryModel(drive_pct_per_m=3.0))
    h = harness(("R1",), R1=thirsty)
    put(h, "R1", "dock", battery=95.0)
    h.controller.submit(spec("m1", "C"))
    h.tick()
    waiting = h.mission("m1").waiting
    assert waiting is not None and waiting.startswith("unassignable (battery)")


# ------------------------------------------------------------------ horizon gating


def gated(**robots: RobotConfig) -> Harness:
    s = settings(**robots)
    plan = dataclasses.replace(s.fleet_plan, clearance_zones=frozenset({"pump"}))
    h = Harness(serials=tuple(robots), settings=dataclasses.replace(s, fleet_plan=plan), site=SITE)
    h.controller.start()
    return h


def test_the_base_ends_before_a_zone_waiting_for_clearance_and_an_update_extends_it() -> None:
    h = gated(R1=ZONE1)
    r1 = put(h, "R1", "dock")
    h.controller.submit(spec("m1", "P", actions=[GAS]))
    h.tick()
    (order,) = r1.take_orders()
    assert [(n["nodeId"], n["released"]) for n in order["nodes"]] == [
        ("dock", True),
        ("A", True),
        ("G", True),
        ("P", False),
    ]
    assert [e["released"] for e in order["edges"]] == [True, True, False]
    r1.accept(order)
    r1.send_state()
    h.tick()
    assert h.mission("m1").waiting == "waiting (clearance): zone pump from node G"
    for _ in range(20):
        r1.send_state()  # waiting at G: the horizon in its nodeStates
        h.tick(0.5)
    assert r1.take_orders() == []  # nothing more without a clearance

    assert h.controller.clear("m1") == ["pump"]
    h.tick()
    (update,) = r1.take_orders()
    assert (update["orderId"], update["orderUpdateId"]) == (order["orderId"], 1)
    # stitched at the base end, its content unchanged, then the rest released
    assert update["nodes"][0] == {**order["nodes"][2], "released": True}
    assert [(n["nodeId"], n["sequenceId"], n["released"]) for n in update["nodes"]] == [
        ("G", 4, True),
        ("P", 6, True),
    ]
    assert [(e["sequenceId"], e["released"]) for e in update["edges"]] == [(5, True)]
    assert h.mission("m1").waiting is None
    # resent until the robot echoes the update, then not
    r1.send_state()
    h.tick(1.0)
    assert len(r1.take_orders()) == 1
    r1.order_update_id = 1
    r1.send_state()
    h.tick(1.0)
    h.tick(1.0)
    assert r1.take_orders() == []
    assert h.schema_problems() == []


def test_a_permit_zone_of_the_mission_is_not_gated_and_bad_clearances_are_refused() -> None:
    h = gated(R1=ZONE1)
    r1 = put(h, "R1", "dock")
    permitted = spec("m1", "P").model_copy(update={"cleared_zones": ["pump"]})
    h.controller.submit(permitted)
    h.tick()
    (order,) = r1.take_orders()
    assert all(n["released"] for n in order["nodes"])
    for bad, words in (
        (lambda: h.controller.clear("m1"), "waits for no clearance"),
        (lambda: h.controller.clear("m1", ["moon"]), "no zone 'moon'"),
        (lambda: h.controller.clear("nope"), "no mission"),
    ):
        try:
            bad()
        except MissionError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(words)


# ------------------------------------------------------------------ late completion


def lost_then_reassigned(h: Harness) -> tuple[RobotSide, RobotSide, dict[str, Any], dict[str, Any]]:
    r1 = put(h, "R1", "A")
    r2 = put(h, "R2", "dock")
    h.controller.submit(spec("m1", "C", actions=[GAS]))
    h.tick()
    (first,) = r1.take_orders()
    r1.accept(first)
    r1.send_state()
    h.tick()
    r1.connect("CONNECTIONBROKEN")
    h.tick()
    (second,) = r2.take_orders()
    r2.accept(second)
    r2.send_state()
    h.tick()
    return r1, r2, first, second


def test_a_lost_robot_that_finished_its_order_completes_the_mission_and_stops_the_rerun() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1, r2, _, _ = lost_then_reassigned(h)
    r1.finish_all("42 ppm")  # it worked on while out of reach
    r1.connect()
    r1.send_state()
    h.tick()
    m = h.mission("m1")
    assert m.outcome == MissionOutcome.COMPLETED and m.robot == "R1"
    assert m.reason == (
        "completed by acme/R1 under order m1-1 after it came back; the rerun m1-2 was cancelled"
    )
    assert m.order_id == "m1-1" and list(m.action_results.values()) == ["42 ppm"]
    assert [a["actionType"] for a in r2.take_instant_actions()] == ["cancelOrder"]
    assert h.controller.missions_run_twice() == []


def test_a_mission_completed_under_two_orders_is_reported() -> None:
    h = harness(("R1", "R2"), R1=UNRATED, R2=UNRATED)
    r1, r2, _, second = lost_then_reassigned(h)
    r2.finish_all()
    r2.send_state()
    h.tick()
    assert h.mission("m1").outcome == MissionOutcome.COMPLETED
    r1.finish_all()
    r1.connect()
    r1.send_state()
    h.tick()
    assert h.controller.missions_run_twice() == [
        "mission m1: robot acme/R1 also completed order m1-1"
    ]
    assert h.mission("m1").order_id == second["orderId"]  # the record stays as it ran

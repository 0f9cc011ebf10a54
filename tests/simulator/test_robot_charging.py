"""SimRobot: charging on a node of a ``charging`` zone (simulator/robot_engine.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from drivers.vda5050.messages import ErrorLevel
from missions.site import SiteMap, Zone, ZoneKind
from simulator.robot_faults import RobotFault
from simulator.robot_spec import SimRobotSpec
from simulator.scenario import RobotEntry
from tests.simulator.harness import SITE, Harness, act, errors_of, make_order

# SITE with a charger drawn around B (10, 0); a no-go zone over a second charger zone at F
CHARGING_SITE = SiteMap(
    map_id=SITE.map_id,
    nodes=SITE.nodes,
    edges=SITE.edges,
    zones=[
        Zone(id="dock", kind=ZoneKind.CHARGING, polygon=[(9, -1), (11, -1), (11, 1), (9, 1)]),
        Zone(id="far", kind=ZoneKind.CHARGING, polygon=[(49, 49), (51, 49), (51, 51), (49, 51)]),
        Zone(id="wreck", kind=ZoneKind.NO_GO, polygon=[(48, 48), (52, 48), (52, 52), (48, 52)]),
    ],
)
CAPACITY_WH = 500.0


def robot(start: str = "B", pct: float = 20.0, **spec: Any) -> Harness:
    return Harness(
        SimRobotSpec("acme", "r1", start, start_battery_pct=pct, **spec), site=CHARGING_SITE
    )


def test_charger_nodes_are_those_in_a_charging_zone_outside_no_go() -> None:
    assert CHARGING_SITE.charger_node_ids == frozenset({"B"})
    assert SITE.charger_node_ids == frozenset()


def test_standing_on_a_charger_gains_the_rate_exactly_every_tick() -> None:
    h = robot(pct=20.0, charge_pct_per_s=0.05)
    levels = []
    for _ in range(50):
        h.step()  # 0.1 s
        levels.append(h.robot.snapshot.battery_pct)
    # 0.05 %/s for 0.1 s: 0.005 % (25 mWh of 500 Wh) a tick, idle draw carried by the charger
    steps = [b - a for a, b in zip([20.0, *levels], levels, strict=False)]
    assert steps == pytest.approx([0.005] * 50, rel=1e-9)
    assert levels[-1] == pytest.approx(20.25, abs=1e-9)
    assert h.robot.snapshot.charging
    state = h.state
    assert state.batteryState.charging
    # a state each second: it carries the charge of the tick it was sent in
    assert state.batteryState.batteryCharge in {round(b, 3) for b in levels}
    assert state.batteryState.batteryCharge > 20.1


def test_charging_stops_at_full_and_the_charger_keeps_it_there() -> None:
    h = robot(pct=99.99, charge_pct_per_s=0.05)
    h.step(2)  # 0.2 s: 99.99 + 0.01
    assert h.robot.snapshot.battery_pct == pytest.approx(100.0, abs=1e-9)
    h.step(100, dt_s=1.0)
    assert h.robot.snapshot.battery_pct == 100.0
    assert not h.robot.snapshot.charging
    assert not h.state.batteryState.charging


def test_away_from_a_charger_it_only_drains() -> None:
    h = robot(start="A", pct=50.0)
    h.step(360, dt_s=10.0)  # one hour at 20 W of 500 Wh: 4 %
    assert h.robot.snapshot.battery_pct == pytest.approx(46.0)
    assert not any(s.batteryState.charging for s in h.states())


def test_it_charges_only_once_stopped_on_the_charger_not_driving_through() -> None:
    h = robot(start="A", pct=50.0)
    h.send_order(make_order(["A", "B", "C"]))
    h.step(250)  # 25 s: through B (at 10 s) to C (at 20 s)
    assert h.robot.snapshot.last_node_id == "C"
    assert not any(s.batteryState.charging for s in h.states())
    assert h.robot.snapshot.battery_pct < 50.0
    h.send_order(make_order(["C", "B"], order_id="o2"))
    h.step(200)
    assert h.robot.snapshot.last_node_id == "B" and not h.robot.snapshot.driving
    before = h.robot.snapshot.battery_pct
    h.step(100)  # 10 s on the charger
    assert h.robot.snapshot.battery_pct == pytest.approx(before + 0.5, abs=1e-9)
    assert h.state.batteryState.charging


def test_the_step_it_arrives_in_drains_for_the_drive_and_charges_for_the_rest() -> None:
    spec: dict[str, Any] = {"idle_power_w": 0.0, "drive_power_w": 360.0, "charge_pct_per_s": 1.0}
    h = robot(start="A", pct=50.0, **spec)
    h.send_order(make_order(["A", "B"]))
    h.step(10, dt_s=1.0)  # the order arrives in the first; 9 m of 10 at 1 m/s: 0.9 Wh
    assert h.robot.snapshot.battery_pct == pytest.approx(50.0 - 0.18, abs=1e-9)
    h.step(1, dt_s=4.0)  # 1 s to B at 360 W (0.1 Wh), then 3 s at 1 %/s (15 Wh)
    assert h.robot.snapshot.battery_pct == pytest.approx(50.0 - 0.2 + 3.0, abs=1e-9)


def test_stopped_between_nodes_it_does_not_charge() -> None:
    h = robot(start="B", pct=50.0)
    h.send_order(make_order(["B", "C"]))
    h.step(30)  # 3 m towards C
    h.send_instant(act("cancelOrder", "c1", "NONE"))
    h.step()
    assert h.robot.snapshot.last_node_id == "B" and not h.robot.snapshot.driving
    before = h.robot.snapshot.battery_pct
    h.step(100)
    assert h.robot.snapshot.battery_pct < before
    assert not h.state.batteryState.charging


def test_paused_on_the_charger_it_charges() -> None:
    h = robot(pct=30.0)
    h.send_instant(act("startPause", "p1", "NONE"))
    h.step(100)
    assert h.state.paused
    assert h.robot.snapshot.battery_pct == pytest.approx(30.5, abs=1e-9)


def test_a_failed_battery_does_not_come_back_on_the_charger() -> None:
    h = robot(pct=60.0)
    h.step(10)
    assert h.robot.snapshot.charging
    h.robot.inject(RobotFault.BATTERY_FAILURE, None)
    h.step(300)
    assert h.robot.snapshot.battery_pct == 0.0
    assert not h.state.batteryState.charging
    (err,) = errors_of(h.state, "batteryEmpty")
    assert err.errorLevel is ErrorLevel.FATAL


def test_a_rate_of_zero_never_charges() -> None:
    h = robot(pct=60.0, charge_pct_per_s=0.0)
    h.step(100)
    assert h.robot.snapshot.battery_pct < 60.0
    assert not h.state.batteryState.charging


@pytest.mark.parametrize("rate", [-0.01, 101.0, float("nan")])
def test_a_bad_charge_rate_is_refused_naming_the_field(rate: float) -> None:
    with pytest.raises(ValueError, match="charge_pct_per_s"):
        SimRobotSpec("acme", "r1", "A", charge_pct_per_s=rate)
    with pytest.raises(ValidationError, match="charge_pct_per_s"):
        RobotEntry.model_validate({"serial": "r1", "start_node": "A", "charge_pct_per_s": rate})


def test_the_scenario_rate_reaches_the_robot() -> None:
    from simulator.robot_host import robot_spec

    entry = RobotEntry.model_validate({"serial": "r1", "start_node": "A", "charge_pct_per_s": 0.2})
    assert robot_spec(entry).charge_pct_per_s == 0.2
    default = RobotEntry.model_validate({"serial": "r1", "start_node": "A"})
    assert robot_spec(default).charge_pct_per_s == SimRobotSpec("a", "b", "A").charge_pct_per_s


def test_the_simulated_rate_follows_the_planned_one_unless_given() -> None:
    planned = {"battery_model": {"charge_pct_per_s": 0.2}}
    assert (
        RobotEntry.model_validate({"serial": "r1", "start_node": "A"}).sim_charge_pct_per_s == 0.05
    )
    entry = RobotEntry.model_validate({"serial": "r1", "start_node": "A", **planned})
    assert entry.sim_charge_pct_per_s == 0.2
    own = RobotEntry.model_validate(
        {"serial": "r1", "start_node": "A", "charge_pct_per_s": 0.1, **planned}
    )
    assert own.sim_charge_pct_per_s == 0.1

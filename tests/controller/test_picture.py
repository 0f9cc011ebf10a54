"""The live hazard picture (controller/picture.py): pure, time passed in."""

from __future__ import annotations

import math

import pytest

from controller.picture import HazardPicture, PictureSettings
from drivers.vda5050.sensors import SensorReading, SensorReadings
from missions.site import Node, SiteMap, Zone

SITE = SiteMap(
    map_id="yard",
    nodes=[Node(id="a", x=0.0, y=0.0), Node(id="b", x=30.0, y=20.0)],
    zones=[Zone(id="z", kind="hazardous", polygon=[(-4.0, 0.0), (0.0, 0.0), (0.0, 25.0)])],
)


def msg(x: float, y: float, *readings: tuple[str, float | None, str, str]) -> SensorReadings:
    return SensorReadings(
        header_id=0,
        timestamp="2026-01-01T00:00:00.00Z",
        manufacturer="m",
        serial="r1",
        map_id="yard",
        x_m=x,
        y_m=y,
        readings=tuple(SensorReading(c, v, u, s) for c, v, u, s in readings),  # type: ignore[arg-type]
        rejected=(),
    )


def h2s(value: float | None, status: str = "ok") -> tuple[str, float | None, str, str]:
    return ("H2S", value, "ppm", status)


def test_the_grid_covers_nodes_and_zones_with_the_margin() -> None:
    p = HazardPicture.for_site(SITE, PictureSettings(cell_m=1.0, margin_m=5.0))
    g = p.grid
    assert (g.origin_x_m, g.origin_y_m) == (-9.0, -5.0)  # the zone reaches x = -4
    assert g.origin_x_m + g.nx * g.cell_m >= 35.0 and g.origin_y_m + g.ny * g.cell_m >= 30.0


def test_only_ok_readings_with_a_value_are_fused() -> None:
    p = HazardPicture.for_site(SITE)
    p.add_readings(
        "m/r1", msg(5, 5, h2s(0.2), h2s(None, "warmup"), ("CO", 3.0, "ppm", "fault")), 1.0
    )
    assert p.readings_fused == 1 and p.readings_skipped == 2
    gas = p.gas_map("H2S")
    assert gas is not None and gas.count == 1
    assert p.gas_map("CO") is None


def test_the_gas_map_peaks_where_the_gas_was_read() -> None:
    p = HazardPicture.for_site(SITE)
    for t, (x, y, v) in enumerate([(5, 5, 0.0), (20, 10, 8.0), (25, 15, 0.1), (10, 15, 0.0)]):
        p.add_readings("m/r1", msg(x, y, h2s(v)), float(t))
    gas = p.summary(4.0)["gas"]["H2S"]
    assert gas["readings"] == 4
    assert math.hypot(gas["peak_x_m"] - 20, gas["peak_y_m"] - 10) < 1.0


def test_the_first_gas_past_its_trigger_starts_a_source_estimate_once() -> None:
    p = HazardPicture.for_site(SITE)
    # clean air first: remembered, and replayed into the estimate when it starts
    for t in range(5):
        assert p.add_readings("m/r1", msg(5 + t, 5, h2s(0.1)), float(t)) == []
    assert p.gas_sources() == {}
    first = p.add_readings("m/r2", msg(20, 10, h2s(6.0)), 10.0)
    assert [f.hazard for f in first] == ["gas:H2S"]
    assert first[0].robot == "m/r2" and first[0].value == 6.0
    assert p.add_readings("m/r2", msg(21, 10, h2s(9.0)), 12.0) == []  # not again
    est = p.gas_sources()["H2S"]
    # the replayed clean air counts: r1's newest three (2, 3, 4 s) at one per 2 s (2 and
    # 4 s), and r2's at 10 s; with two robots feeding at most 0.5 readings/s in all, r2's
    # next may come at 14 s
    assert est.readings_used == 2 + 1
    p.add_readings("m/r2", msg(21, 10, h2s(9.0)), 14.0)
    assert p.gas_sources()["H2S"].readings_used == 2 + 2
    assert p.summary(12.0)["first_seen"]["gas:H2S"]["t_s"] == 10.0


def test_a_source_reading_is_taken_at_most_every_min_interval() -> None:
    p = HazardPicture.for_site(SITE, PictureSettings(source_min_interval_s=2.0))
    for k in range(10):  # every 0.5 s for 4.5 s
        p.add_readings("m/r1", msg(20, 10, h2s(5.0)), 10.0 + 0.5 * k)
    assert p.gas_sources()["H2S"].readings_used == 3  # at 10, 12 and 14 s


def readings_after_everyone_reports(p: HazardPicture, robots: list[str]) -> int:
    """40 s of every robot reporting 5 ppm every second (t = 2..41); the readings the
    H2S source estimate holds then."""
    for t in range(2, 42):
        for i, r in enumerate(robots):
            p.add_readings(r, msg(20 + 0.2 * i, 10, h2s(5.0)), float(t))
    return p.gas_sources()["H2S"].readings_used


def test_a_crowd_of_robots_cannot_break_the_source_budget() -> None:
    """Fifty robots in the gas, each new to the estimate: the replay and their first
    readings come out of one bucket, nearest the find first, then 0.5 readings/s."""
    s = PictureSettings(source_burst_readings=10, source_max_readings_per_s=0.5)
    p = HazardPicture.for_site(SITE, s)
    robots = [f"m/r{i:02d}" for i in range(50)]
    for i, r in enumerate(robots):  # clean air, robot i at 0.2·i m from the find
        p.add_readings(r, msg(20 + 0.2 * i, 10, h2s(0.1)), 0.0)
    p.add_readings(robots[0], msg(20, 10, h2s(6.0)), 1.0)
    est = p.gas_sources()["H2S"]
    assert est.readings_used == 10
    # the ten nearest the find were replayed (robot 0 only once: its newest reading)
    assert set(est.robot_weights) == set(robots[:10])
    used = readings_after_everyone_reports(p, robots)
    assert 10 + 0.5 * 40 - 1 <= used <= 10 + 0.5 * 41 + 1


def test_a_larger_search_gets_a_proportionally_smaller_budget() -> None:
    """Cost per simulated second, not readings, is what the budget holds constant."""
    base = HazardPicture.for_site(SITE)
    base.add_readings("m/r0", msg(20, 10, h2s(6.0)), 0.0)
    hypotheses = base._sources["H2S"].hypotheses
    s = PictureSettings(source_burst_readings=12, source_reference_hypotheses=hypotheses // 4)
    p = HazardPicture.for_site(SITE, s)
    robots = [f"m/r{i:02d}" for i in range(30)]
    for i, r in enumerate(robots):
        p.add_readings(r, msg(20 + 0.2 * i, 10, h2s(0.1)), 0.0)
    p.add_readings(robots[0], msg(20, 10, h2s(6.0)), 1.0)
    assert p.gas_sources()["H2S"].readings_used == 3  # 12 x 1/4
    used = readings_after_everyone_reports(p, robots)
    assert 3 + 0.125 * 40 - 1 <= used <= 3 + 0.125 * 41 + 1


def test_the_wind_comes_from_the_robots_anemometers() -> None:
    p = HazardPicture.for_site(SITE)
    assert p.mean_wind() == (0.0, 0.0)
    wind = (("windSpeed", 2.0, "m/s", "ok"), ("windDirection", 90.0, "deg", "ok"))
    p.add_readings("m/r1", msg(1, 1, *wind), 0.0)
    u, v = p.mean_wind()
    assert u == pytest.approx(0.0, abs=1e-9) and v == pytest.approx(2.0)


def test_a_dose_rate_past_its_trigger_starts_a_radiation_estimate() -> None:
    p = HazardPicture.for_site(SITE, PictureSettings(dose_live_time_s=10.0))
    source = (15.0, 10.0)
    strength = 400.0  # µSv/h at 1 m
    points = [(x, y) for x in (5.0, 10.0, 20.0, 25.0) for y in (4.0, 16.0)]
    for k, (x, y) in enumerate(points):
        rate = 0.1 + strength / max(1.0, (x - source[0]) ** 2 + (y - source[1]) ** 2)
        p.add_readings(f"m/r{k}", msg(x, y, ("doseRate", rate, "µSv/h", "ok")), 10.0 * k)
    assert "radiation" in p.first_seen
    est = p.radiation_source()
    assert est is not None
    assert math.hypot(est.x_m - source[0], est.y_m - source[1]) < 2.0


def test_detections_raise_a_layer_and_misses_in_view_lower_it() -> None:
    p = HazardPicture.for_site(SITE)
    before = p.hazards.probability_at("fire", 10.0, 10.0, 0.0)
    new = p.add_frame("m/r1", "rgb", (10.0, 10.0, 4.0), [("flame", 0.9, 10.0, 10.0, 0.5)], 1.0)
    assert [f.hazard for f in new] == ["fire"]
    seen = p.hazards.probability_at("fire", 10.0, 10.0, 1.0)
    assert seen > before
    # the same spot, seen again without a flame: a confirmed miss
    p.add_frame("m/r1", "rgb", (10.0, 10.0, 4.0), [], 2.0)
    assert p.hazards.probability_at("fire", 10.0, 10.0, 2.0) < seen
    # a weak detection is neither seen nor a miss of its own kind's layer
    p.add_frame("m/r1", "rgb", None, [("smoke", 0.1, 12.0, 10.0, 0.5)], 3.0)
    assert "smoke" not in p.first_seen


def test_a_robot_whose_cell_flat_lines_stops_feeding_the_map() -> None:
    p = HazardPicture.for_site(SITE, PictureSettings(source_min_interval_s=1.0))
    p.add_readings("m/good", msg(20, 10, h2s(6.0)), 0.0)  # the find
    # a stuck cell: the same non-zero value while the robot drives 1 m a reading (with two
    # robots feeding, each enters the estimate every 4 s: 11 of these get in)
    for k in range(22):
        p.add_readings("m/stuck", msg(8 + k, 4, h2s(37.5)), 2.0 + 2.0 * k)
        p.add_readings("m/good", msg(20, 10 + k * 0.2, h2s(5.0 + 0.1 * (k % 3))), 2.0 + 2.0 * k)
    est = p.gas_sources()["H2S"]
    assert est.robot_weights["m/stuck"] == 0.0 and est.robot_weights["m/good"] > 0.0
    assert p.distrusted["H2S"] == {"m/stuck"}
    gas = p.gas_map("H2S")
    assert gas is not None
    before = gas.count
    p.add_readings("m/stuck", msg(21, 4, h2s(37.5)), 50.0)
    p.add_readings("m/good", msg(20, 12, h2s(5.0)), 50.0)
    assert p.gas_map("H2S") is gas and gas.count == before + 1  # only the good robot's

"""Every bundled drill passes its own success criteria, end to end over a broker.

``config/drills/*.yaml`` run in full on the embedded Mosquitto (each takes about a wall
second at ``--speed max``), except ``site-100``: it is loaded and checked here and run in
full by ``python -m bench.sim_speed --drills site-100`` (about 15 wall s).  The new drills are
also checked for what they rehearse: the physics shows in the readings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bench import gen_site
from controller.service import ControllerSettings
from drivers.config_file import load_model
from missions.alarms import AlarmPreset
from missions.mission import MissionOutcome
from simulator.drill import DrillResult
from simulator.hazards import FireEntry
from simulator.recorder import DrillRecorder, kpis
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest
from tests.simulator.drill_harness import embedded_drill

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "config" / "drills"
SITE_100 = "site-100"
BUNDLED = sorted(p.stem for p in DRILLS.glob("*.yaml") if p.stem != SITE_100)


ALARMS = load_model(REPO / "config" / "alarms" / "industrial-scientific.yaml", AlarmPreset)


def run(
    name: str, broker: BrokerUnderTest, seed: int = 0
) -> tuple[Scenario, DrillResult, DrillRecorder]:
    scenario = load_scenario(DRILLS / f"{name}.yaml")
    recorder = DrillRecorder()
    runner = embedded_drill(
        scenario,
        broker,
        "bundled",
        seed,
        controller_settings=ControllerSettings(alarm_preset=ALARMS),
        on_progress=recorder,
    )
    return scenario, runner.run(), recorder


def results(result: DrillResult, mission_id: str) -> list[dict[str, Any]]:
    mission = next(m for m in result.missions if m.id == mission_id)
    return [json.loads(text) for text in mission.action_results.values()]


def readings_at(result: DrillResult, mission_id: str, x_m: float, y_m: float) -> list[Any]:
    """The ``readings`` of every sensing action of a mission taken at (x_m, y_m)."""
    return [
        r["readings"]
        for r in results(result, mission_id)
        if "readings" in r and math.hypot(r["x_m"] - x_m, r["y_m"] - y_m) < 0.05
    ]


def distance_to_polygon(x_m: float, y_m: float, polygon: Sequence[tuple[float, float]]) -> float:
    """m from a point to a polygon's outline, 0 inside it."""
    inside = False
    best = math.inf
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > y_m) != (y2 > y_m) and x_m < (x2 - x1) * (y_m - y1) / (y2 - y1) + x1:
            inside = not inside
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((x_m - x1) * dx + (y_m - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(x_m - (x1 + t * dx), y_m - (y1 + t * dy)))
    return 0.0 if inside else best


def test_distance_to_polygon() -> None:
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    assert distance_to_polygon(1.0, 1.0, square) == 0.0
    assert distance_to_polygon(5.0, 1.0, square) == pytest.approx(3.0)
    assert distance_to_polygon(5.0, 6.0, square) == pytest.approx(5.0)


@pytest.mark.broker
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_drill_passes_its_own_criteria(name: str, broker: BrokerUnderTest) -> None:
    scenario, result, _ = run(name, broker)
    assert result.passed, result.failures
    assert result.messages_lost == 0
    outcomes = {m.id: m.outcome for m in result.missions}
    assert outcomes == {m.id: m.expect for m in scenario.missions}
    assert scenario.missions, "a bundled drill schedules missions"


def test_the_new_drills_are_bundled() -> None:
    assert {"warehouse-fire", "confined-space", "chemical-spill"} <= set(BUNDLED)
    assert (DRILLS / f"{SITE_100}.yaml").is_file()


@pytest.mark.broker
def test_warehouse_fire_robots_keep_away_from_the_racks_and_see_the_fire(
    broker: BrokerUnderTest,
) -> None:
    scenario, result, recorder = run("warehouse-fire", broker, seed=2)
    assert result.passed, result.failures
    fire = next(h for h in scenario.hazards if isinstance(h, FireEntry))
    assert fire.fuel is not None
    truth = result.summary()["hazards"][0]
    assert truth["cells_burned"] + truth["cells_burning"] > 50, "the rack burned"
    # nobody drives into a burning cell: every recorded position keeps clear of all fuel
    positions = [
        (pt.x_m, pt.y_m)
        for track in recorder.tracks.values()
        for pt in track
        if pt.x_m is not None and pt.y_m is not None
    ]
    assert len(positions) > 100
    closest = min(distance_to_polygon(x, y, poly) for x, y in positions for poly in fire.fuel)
    assert closest > 5.0
    # the fire watch sees heat and CO at the aisle facing the burning rack
    bc = readings_at(result, "fire-watch-hall-2", 30.0, 14.0)
    thermal = next(r["temperatureMax"]["value"] for r in bc if "temperatureMax" in r)
    co_ppm = next(r["CO"]["value"] for r in bc if "CO" in r)
    assert scenario.world is not None
    assert thermal > scenario.world.ambient_c + 10
    assert co_ppm > 5.0
    # by the far aisle of rack C there is no heat to speak of
    c = readings_at(result, "fire-watch-hall-2", 30.0, 20.0)
    far = next(r["temperatureMax"]["value"] for r in c if "temperatureMax" in r)
    assert far < thermal


@pytest.mark.broker
def test_confined_space_manway_reads_the_h2s_inside_the_tank(broker: BrokerUnderTest) -> None:
    _, result, _ = run("confined-space", broker, seed=3)
    assert result.passed, result.failures
    tests = results(result, "pre-entry-t101")
    assert len(tests) == 3
    h2s = [t["readings"]["H2S"]["value"] for t in tests]
    # the sequence of an atmospheric test: O2, then LEL, then the toxics
    assert list(tests[0]["readings"])[:3] == ["O2", "LEL", "H2S"]
    # the sludge's H2S builds up in the tank and reaches the manway: above the 10 ppm
    # PEL by the last test, so the readings would prohibit entry
    assert h2s[-1] > 10.0
    assert h2s[-1] > h2s[0]
    # outside the tank shell the bund reads clean air
    bund = [r["readings"]["H2S"]["value"] for r in results(result, "bund-gas-check")]
    assert max(bund) < 1.0


@pytest.mark.broker
def test_chemical_spill_sampled_from_upwind_and_the_plume_read_downwind(
    broker: BrokerUnderTest,
) -> None:
    _, result, recorder = run("chemical-spill", broker, seed=4)
    assert result.passed, result.failures
    sampling = results(result, "spill-sampling-yard-4")
    assert [next(k for k in r if k in ("readings", "imageId", "sampleId")) for r in sampling] == [
        "readings",
        "imageId",
        "sampleId",
    ]
    assert sampling[2]["sampleId"] == "sim-01-smp-0001"
    assert (sampling[2]["x_m"], sampling[2]["y_m"]) == (17.5, 10.0)
    upwind = sampling[0]["readings"]["NH3"]["value"]
    downwind = results(result, "downwind-plume-check")[0]["readings"]["NH3"]["value"]
    assert upwind < 1.0
    assert downwind > 25.0  # the ERPG-2 level of ammonia is 150 ppm; IDLH 300 ppm
    mission = next(m for m in result.missions if m.id == "spill-sampling-yard-4")
    assert mission.outcome is MissionOutcome.COMPLETED
    robot = next(r for r in result.robots if r.serial == "sim-01")
    assert robot.last_node_id == "safe-point", "it retreated with the sample"
    # the downwind robot's detector stream raised the controller's NH3 alarms
    alarms = [(e.subject, e.detail) for e in recorder.events if e.kind == "alarm"]
    assert ("hazfleet-sim/sim-02", "NH3 LOW raised") in [(s, d.split(":")[0]) for s, d in alarms]
    k = kpis(result.summary(), recorder)
    first = k["time_to_first_alert_s"]
    assert first["value"] is not None and 0 < first["value"] < result.sim_seconds
    # both robots are rated for 100 ppm NH3; the downwind one met ~50, none exceeded it
    rated = k["exposure_vs_rating"]
    assert rated["value"] == 0 and rated["exceeded"] == []
    downwind = rated["per_robot"]["sim-02"]["NH3"]
    assert 25.0 < downwind["peak"] < 100.0 and downwind["rating"] == 100.0
    pool = next(h for h in result.hazards if h["id"] == "nh3-pool")
    assert pool["kind"] == "spill"
    # ~1.1 g/s for the drill's ~100 s: evaporating, far from dry
    assert 50.0 < pool["evaporated_g"] < 200.0
    assert pool["liquid_left_g"] == pytest.approx(2200.0 - pool["evaporated_g"], abs=1e-3)


def test_site_100_loads_and_is_what_the_generator_writes() -> None:
    path = DRILLS / f"{SITE_100}.yaml"
    scenario = load_scenario(path)
    assert len(scenario.robots) == 100
    assert len(scenario.site.nodes) >= 400
    assert len(scenario.missions) == 100
    assert len({m.robot for m in scenario.missions}) == 100
    assert all(m.expect is MissionOutcome.COMPLETED for m in scenario.missions)
    assert not scenario.has_hazard_world
    assert path.read_text(encoding="utf-8") == gen_site.render(gen_site.SiteShape())
    # each round drives along its own row between its home and its target; no two
    # rounds share a node, so they cannot meet on the site
    homes = {r.serial: scenario.site.node(r.start_node) for r in scenario.robots}
    seen: set[str] = set()
    for m in scenario.missions:
        assert m.robot is not None
        home, target = homes[m.robot], scenario.site.node(m.steps[0].node)
        assert home.y == target.y
        assert m.steps[-1].node == home.id, "every round ends where it started"
        lo, hi = sorted((home.x, target.x))
        row = {n.id for n in scenario.site.nodes if n.y == home.y and lo <= n.x <= hi}
        assert len(row) == 3
        assert not row & seen, f"{m.id} crosses another round"
        seen |= row


@pytest.mark.broker
def test_outdoor_chlorine_transects_read_the_gaussian_plume(broker: BrokerUnderTest) -> None:
    from simulator.physics.gas import CL2
    from simulator.physics.plume import PlumeField

    scenario, result, _ = run("outdoor-chlorine", broker, seed=2)
    assert result.passed, result.failures
    assert scenario.world is not None and scenario.world.outdoor is not None
    plume = PlumeField(0.0, 0.0, 20.0, 3.0, 0.0, "D")
    for mission, x in (("transect-150", 150.0), ("transect-300", 300.0)):
        for y in (-40.0, -20.0, 0.0, 20.0, 40.0):
            (reading,) = readings_at(result, mission, x, y)
            expected = CL2.ppm(plume.concentration_at(x, y, 0.5))
            # the cell's resolution is 0.1 ppm and its noise a few hundredths
            assert reading["Cl2"]["value"] == pytest.approx(expected, abs=0.25), (x, y)
    (upwind,) = readings_at(result, "upwind-check", -40.0, 0.0)
    assert upwind["Cl2"]["value"] < 0.2
    centre_150 = readings_at(result, "transect-150", 150.0, 0.0)[0]["Cl2"]["value"]
    assert centre_150 > 5.0  # half the IDLH of chlorine (10 ppm) at 150 m

"""The hazard world: what a robot's sensors read comes from the physics, in the right units,
at the right time, and scenario files describing it fail with clear field paths."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
import yaml

from drivers.errors import ConfigError
from missions.site import SiteMap
from simulator.environment import QUANTITY_UNITS, CleanAir
from simulator.hazards import (
    GAS_SPECIES,
    FireEntry,
    GasRelease,
    HazardEntry,
    RadiationSource,
    ShieldEntry,
    SpillEntry,
    WorldConfig,
)
from simulator.physics.radiation import GAMMA_USV_H_PER_GBQ, Material
from simulator.scenario import Scenario, load_scenario
from simulator.world import AIR_O2_PERCENT_VOL, HazardWorld

REPO = Path(__file__).resolve().parents[2]
R = 8.314462618
T_K = 293.15
P_PA = 101325.0

SITE = SiteMap.model_validate(
    {
        "map_id": "m",
        "nodes": [{"id": "a", "x": 0.0, "y": 0.0}, {"id": "b", "x": 20.0, "y": 10.0}],
        "edges": [{"start": "a", "end": "b"}],
    }
)


def world(
    hazards: list[HazardEntry], config: dict[str, Any] | None = None, seed: int = 0
) -> HazardWorld:
    cfg = WorldConfig.model_validate(config or {})
    return HazardWorld(SITE, cfg, hazards, np.random.default_rng([seed, 10_000]))


def read(w: HazardWorld, quantity: str, x_m: float, y_m: float) -> float:
    value = w.sample(quantity, x_m, y_m, w.time_s)
    assert value is not None, quantity
    return value


def leak(**kw: Any) -> GasRelease:
    data: dict[str, Any] = {"kind": "gas_release", "gas": "H2S", "x_m": 5.0, "y_m": 5.0}
    data |= {"rate_g_s": 0.05} | kw
    return GasRelease.model_validate(data)


def test_no_hazard_reads_like_clean_air_for_every_quantity() -> None:
    w = world([])
    w.step(10.0)
    clean = CleanAir()
    for q in QUANTITY_UNITS:
        assert w.sample(q, 3.0, 4.0, 10.0) == pytest.approx(clean.sample(q, 3.0, 4.0, 10.0)), q
    assert w.sample("radon", 3.0, 4.0, 10.0) is None


@pytest.mark.parametrize(
    ("direction_deg", "expected_deg"), [(0.0, 0.0), (90.0, 90.0), (-45.0, 315.0), (200.0, 200.0)]
)
def test_the_anemometer_reads_the_world_wind(direction_deg: float, expected_deg: float) -> None:
    from simulator.robot_actions import Instruments, Where

    w = world([], {"wind": {"speed_m_s": 1.26, "direction_deg": direction_deg}})
    assert read(w, "windSpeed", 3.0, 4.0) == pytest.approx(1.26)
    assert read(w, "windDirection", 3.0, 4.0) == pytest.approx(expected_deg)
    got = dict(Instruments(w, np.random.default_rng(0), "r1", "m").anemometer(Where(3, 4, 0, 0)))
    assert got["windSpeed"].value == pytest.approx(1.3)  # 0.1 m/s resolution
    assert got["windDirection"].value == pytest.approx(expected_deg)
    assert {m.status for m in got.values()} == {"ok"}


def test_ppm_of_a_known_mass_concentration() -> None:
    # far future onset: the field holds exactly what the test puts in it
    w = world([leak(start_s=1e6), leak(gas="CH4", start_s=1e6, x_m=6.0)])
    w.gas_fields["H2S"].set_concentration(np.full(w.grid.shape, 1.0))  # 1 g/m³
    w.gas_fields["CH4"].set_concentration(np.full(w.grid.shape, 2.0))  # 2 g/m³
    h2s_ppm = 1.0 / 34.081 * R * T_K / P_PA * 1e6
    ch4_vol = 2.0 / 16.043 * R * T_K / P_PA * 100.0
    assert h2s_ppm == pytest.approx(705.8, rel=1e-3)  # the anchor itself, by hand
    assert w.sample("H2S", 7.3, 2.1, 0.0) == pytest.approx(h2s_ppm, rel=1e-9)
    assert w.sample("CH4", 7.3, 2.1, 0.0) == pytest.approx(ch4_vol, rel=1e-9)
    # Le Chatelier: each flammable gas's share of its own LEL, summed (H2S 4 %vol, CH4 5)
    lel = h2s_ppm / 1e4 / 4.0 * 100.0 + ch4_vol / 5.0 * 100.0
    assert w.sample("LEL", 7.3, 2.1, 0.0) == pytest.approx(lel, rel=1e-9)
    assert w.sample("CO", 7.3, 2.1, 0.0) == 0.0  # not released


def test_oxygen_drops_by_dilution() -> None:
    w = world([leak(gas="CH4", start_s=1e6)])
    # 1 %vol of methane displaces 1 % of the air, and 1 % of its oxygen with it
    one_percent_g_m3 = 0.01 * P_PA / (R * T_K) * 16.043
    w.gas_fields["CH4"].set_concentration(np.full(w.grid.shape, one_percent_g_m3))
    assert w.sample("CH4", 4.0, 4.0, 0.0) == pytest.approx(1.0, rel=1e-9)
    assert w.sample("O2", 4.0, 4.0, 0.0) == pytest.approx(20.9 * 0.99, rel=1e-9)
    assert w.sample("LEL", 4.0, 4.0, 0.0) == pytest.approx(20.0, rel=1e-9)


def test_onset_and_stop_are_respected_whatever_the_tick() -> None:
    w = world([leak(start_s=12.34, stop_s=20.0)])
    while w.time_s < 12.3 - 1e-9:
        w.step(0.1)
    assert w.sample("H2S", 5.0, 5.0, w.time_s) == 0.0
    assert w.ground_truth()[0]["released_g"] == 0.0
    w.step(0.1)  # 12.3 -> 12.4: the leak runs for the last 0.06 s of this tick
    assert read(w, "H2S", 5.0, 5.0) > 0.0
    assert w.ground_truth()[0]["released_g"] == pytest.approx(0.05 * 0.06, rel=1e-6)

    big = world([leak(start_s=12.34, stop_s=20.0)])
    big.step(30.0)  # one step across both the onset and the stop
    assert big.ground_truth()[0]["released_g"] == pytest.approx(0.05 * (20.0 - 12.34), rel=1e-9)
    small = world([leak(start_s=12.34, stop_s=20.0)])
    for _ in range(300):
        small.step(0.1)
    assert small.ground_truth()[0]["released_g"] == pytest.approx(0.05 * 7.66, rel=1e-9)
    mass_big = big.gas_fields["H2S"].mass()
    assert small.gas_fields["H2S"].mass() == pytest.approx(mass_big, rel=0.02)


def test_a_wall_keeps_the_gas_on_its_side() -> None:
    # a closed room 0..10 x 0..10 m inside the open site; the leak is inside it
    room = [
        [[0.0, 0.0], [10.0, 0.0], [10.0, 0.3], [0.0, 0.3]],
        [[0.0, 9.7], [10.0, 9.7], [10.0, 10.0], [0.0, 10.0]],
        [[0.0, 0.0], [0.3, 0.0], [0.3, 10.0], [0.0, 10.0]],
        [[9.7, 0.0], [10.0, 0.0], [10.0, 10.0], [9.7, 10.0]],
    ]
    config = {"walls": room, "dispersion": {"diffusivity_m2_s": 0.1}}
    walled = world([leak(x_m=8.0, y_m=5.0)], config)
    open_site = world([leak(x_m=8.0, y_m=5.0)], {"dispersion": {"diffusivity_m2_s": 0.1}})
    for _ in range(60):
        walled.step(1.0)
        open_site.step(1.0)
    # 3.5 m from the leak: beyond the wall nothing, in the open a clear reading
    assert walled.sample("H2S", 11.5, 5.0, 60.0) == 0.0
    assert read(open_site, "H2S", 11.5, 5.0) > 1.0
    # inside, the gas that cannot leave piles up
    assert read(walled, "H2S", 7.0, 5.0) > read(open_site, "H2S", 7.0, 5.0)


def test_wind_carries_the_gas_downwind() -> None:
    w = world([leak(x_m=10.0, y_m=5.0)], {"wind": {"speed_m_s": 0.5, "direction_deg": 90}})
    for _ in range(30):
        w.step(1.0)
    # toward +y (north) it is downwind
    assert read(w, "H2S", 10.0, 8.0) > 10 * read(w, "H2S", 10.0, 2.0)


def test_dose_rate_behind_a_shield_and_source_onset() -> None:
    src = RadiationSource.model_validate(
        {"kind": "radiation_source", "nuclide": "Cs-137", "activity_gbq": 1.0}
        | {"x_m": 5.0, "y_m": 5.0, "start_s": 10.0}
    )
    wall = ShieldEntry.model_validate(
        {"kind": "shield", "material": "concrete"}
        | {"polygon": [[7.0, 0.0], [7.3, 0.0], [7.3, 6.0], [7.0, 6.0]]}
    )
    w = world([src, wall])
    assert w.sample("doseRate", 10.0, 5.0, 0.0) == pytest.approx(0.1)  # not exposed yet
    w.step(10.0)
    clear = w.sample("doseRate", 5.0, 10.0, 10.0)  # 5 m, line of sight
    shielded = w.sample("doseRate", 10.0, 5.0, 10.0)  # 5 m, through 0.3 m of concrete
    assert clear == pytest.approx(0.1 + 76.0 / 25.0, rel=1e-9)
    mu = math.log(10) / 0.13
    assert shielded == pytest.approx(0.1 + 76.0 / 25.0 * math.exp(-mu * 0.3), rel=1e-9)
    assert shielded is not None and clear is not None and shielded < clear / 10


def test_fire_heats_and_makes_co_after_ignition() -> None:
    fire = FireEntry.model_validate(
        {"kind": "fire", "x_m": 10.0, "y_m": 5.0, "start_s": 5.0}
        | {"fuel": [[[8.0, 3.0], [12.0, 3.0], [12.0, 7.0], [8.0, 7.0]]]}
    )
    w = world([fire], {"ambient_c": 15.0})
    w.step(4.9)
    assert w.sample("temperature", 10.0, 5.0, 4.9) == 15.0
    assert w.sample("CO", 10.0, 5.0, 4.9) == 0.0
    w.step(20.0)
    assert w.sample("temperature", 10.0, 5.0, 24.9) == pytest.approx(800.0)
    assert (w.sample("CO", 10.0, 5.0, 24.9) or 0.0) > 1.0
    # the heat falls off with distance (1/d² per burning cell)
    assert 15.0 < (w.sample("temperature", 0.0, 0.0, 24.9) or 0.0) < 100.0
    truth = w.ground_truth()[0]
    assert truth["kind"] == "fire" and truth["start_s"] == 5.0
    assert isinstance(truth["cells_burning"], int) and truth["cells_burning"] > 0
    # nothing outside the fuel polygon burns (cells crossed by its outline may)
    fire_model = w.fire
    assert fire_model is not None
    assert fire_model.cell_state_at(2.0, 2.0) is not None
    assert int(fire_model.cell_state_at(2.0, 2.0) or 0) == 0  # NO_FUEL


def test_the_fire_feeds_co_from_its_burning_cells_only() -> None:
    from simulator.physics.fire import CellState

    fire = FireEntry.model_validate(
        {"kind": "fire", "x_m": 10.0, "y_m": 5.0}
        | {"fuel": [[[9.0, 4.0], [11.0, 4.0], [11.0, 6.0], [9.0, 6.0]]]}
    )
    w = world([fire])
    co = w.gas_fields["CO"]
    seen_burning = False
    for _ in range(600):
        w.step(1.0)
        model = w.fire
        assert model is not None
        burning = model.count(CellState.BURNING)
        seen_burning = seen_burning or burning > 0
        assert len(co.sources) == burning
    assert seen_burning and w.fire is not None and w.fire.count(CellState.BURNING) == 0
    assert co.sources == ()  # burned out: the solver has nothing left to visit
    assert co.released_g > 0


def test_same_seed_same_readings_other_seed_other_readings() -> None:
    config = {"dispersion": {"intermittency": {"sigma_ln": 1.0}}}

    def run(seed: int) -> list[float | None]:
        w = world([leak()], config, seed=seed)
        out: list[float | None] = []
        for k in range(50):
            w.step(0.1)
            out.append(w.sample("H2S", 5.5, 5.5, (k + 1) * 0.1))
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_ground_truth_lists_every_hazard() -> None:
    w = world([leak(id="seal", start_s=1.0)])
    w.step(3.0)
    assert w.ground_truth() == [
        {
            "id": "seal",
            "kind": "gas_release",
            "gas": "H2S",
            "x_m": 5.0,
            "y_m": 5.0,
            "rate_g_s": 0.05,
            "start_s": 1.0,
            "stop_s": None,
            "released_g": pytest.approx(0.1),
        }
    ]


# ------------------------------------------------------------------ scenario files

DEFAULT = REPO / "config" / "drills" / "default.yaml"


def scenario_with(tmp_path: Path, **sections: Any) -> Path:
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data |= copy.deepcopy(sections)
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_the_scenario_offers_exactly_what_the_physics_knows() -> None:
    # the Literal choices of the scenario file are spelled out for readable errors
    assert set(get_args(RadiationSource.model_fields["nuclide"].annotation)) == set(
        GAMMA_USV_H_PER_GBQ
    )
    assert set(get_args(ShieldEntry.model_fields["material"].annotation)) == {
        m.value for m in Material
    }
    assert set(get_args(GasRelease.model_fields["gas"].annotation)) == set(GAS_SPECIES)


def test_the_default_drill_has_no_hazard_world() -> None:
    sc = load_scenario(DEFAULT)
    assert sc.world is None and sc.hazards == [] and not sc.has_hazard_world


@pytest.mark.parametrize(
    ("sections", "field", "words"),
    [
        (
            {
                "hazards": [
                    {"kind": "gas_release", "gas": "H2S", "x_m": 99, "y_m": 0, "rate_g_s": 1}
                ]
            },
            "hazards.0.x_m",
            ("off the hazard grid",),
        ),
        (
            {"hazards": [{"kind": "gas_release", "gas": "H2S", "x_m": 1, "y_m": 1, "rate_g_s": 0}]},
            "hazards.0.rate_g_s",
            ("greater than 0",),
        ),
        (
            {"hazards": [{"kind": "gas_release", "gas": "XX", "x_m": 1, "y_m": 1, "rate_g_s": 1}]},
            "hazards.0.gas",
            ("'H2S'",),
        ),
        (
            {"hazards": [{"kind": "volcano", "x_m": 1, "y_m": 1}]},
            "hazards.0",
            ("volcano",),
        ),
        (
            {"hazards": [{"kind": "fire", "x_m": 1, "y_m": 1, "colour": "red"}]},
            "hazards.0.colour",
            ("unknown field",),
        ),
        (
            {
                "hazards": [
                    {"kind": "gas_release", "gas": "CO", "x_m": 1, "y_m": 1, "rate_g_s": 1}
                    | {"start_s": 9, "stop_s": 3}
                ]
            },
            "hazards.0.stop_s",
            ("after start_s",),
        ),
        (
            {
                "world": {"walls": [[[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5]]]},
                "hazards": [{"kind": "fire", "x_m": 1, "y_m": 1}],
            },
            "hazards.0.x_m",
            ("inside a wall",),
        ),
        (
            {
                "hazards": [
                    {"kind": "radiation_source", "nuclide": "Cs-137", "activity_gbq": 1}
                    | {"x_m": 1, "y_m": 1, "id": "s"},
                    {"kind": "radiation_source", "nuclide": "Co-60", "activity_gbq": 1}
                    | {"x_m": 2, "y_m": 1, "id": "s"},
                ]
            },
            "hazards.1.id",
            ("duplicate",),
        ),
        ({"world": {"wind": {"speed_m_s": -1}}}, "world.wind.speed_m_s", ("greater than",)),
        ({"world": {"grid": {"cell_m": 0.01}}}, "world.grid.cell_m", ("cells",)),
        ({"world": {"walls": [[[0, 0], [1, 1]]]}}, "world.walls.0", ("at least 3",)),
    ],
)
def test_bad_world_or_hazard_is_named_with_its_path(
    tmp_path: Path, sections: dict[str, Any], field: str, words: tuple[str, ...]
) -> None:
    path = scenario_with(tmp_path, **sections)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    assert err.field == field, str(err)
    for word in words:
        assert word in err.problem, str(err)


def test_a_scenario_with_hazards_loads(tmp_path: Path) -> None:
    path = scenario_with(
        tmp_path,
        world={"wind": {"speed_m_s": 1.0, "direction_deg": 45}},
        hazards=[{"kind": "gas_release", "gas": "H2S", "x_m": 3, "y_m": 9, "rate_g_s": 0.1}],
    )
    sc = load_scenario(path)
    assert isinstance(sc, Scenario) and sc.has_hazard_world
    assert isinstance(sc.hazards[0], GasRelease)
    assert sc.world is not None and sc.world.wind.u_m_s == pytest.approx(math.sqrt(0.5))


# -- spills --------------------------------------------------------------------------------


def spill(**kw: Any) -> SpillEntry:
    data: dict[str, Any] = {"kind": "spill", "gas": "NH3", "x_m": 8.0, "y_m": 5.0}
    data |= {"radius_m": 1.0, "mass_kg": 0.02, "vapour_pressure_kpa": 10.0} | kw
    return SpillEntry.model_validate(data)


def test_a_spill_evaporates_into_the_gas_field_until_it_runs_dry() -> None:
    w = world([spill(start_s=2.0)], {"wind": {"speed_m_s": 1.0}})
    w.step(1.0)
    assert w.gas_fields["NH3"].mass() == 0.0 and w.wet_pools() == []  # not spilled yet
    for _ in range(9):
        w.step(1.0)
    truth = w.ground_truth()[0]
    field_mass = w.gas_fields["NH3"].mass()
    assert truth["evaporated_g"] > 0 and field_mass > 0
    # everything that left the pool is in the air (closed box, no decay, no outflow yet)
    assert field_mass == pytest.approx(truth["evaporated_g"], rel=1e-6)
    assert read(w, "NH3", 8.0, 5.0) > read(w, "NH3", 2.0, 5.0)
    for _ in range(200):
        w.step(1.0)
    truth = w.ground_truth()[0]
    assert truth["liquid_left_g"] == 0.0
    assert truth["evaporated_g"] == pytest.approx(20.0)  # 0.02 kg, no more
    assert w.wet_pools() == []


def test_a_spill_is_drawn_wet_and_cold_where_the_pool_lies() -> None:
    from simulator.camera import Camera, CameraSpec

    w = world([spill(radius_m=2.0, mass_kg=50.0, cooling_k=4.0)])
    w.step(1.0)
    spec = CameraSpec(footprint_width_m=8.0, footprint_height_m=6.0)
    cam = Camera(w, np.random.default_rng(1), spec)
    rgb = cam.rgb(8.0, 5.0, 0.0).astype(float)
    h, wd = rgb.shape[:2]
    centre = rgb[h // 2 - 5 : h // 2 + 5, wd // 2 - 5 : wd // 2 + 5].mean(axis=(0, 1))
    corner = rgb[:10, :10].mean(axis=(0, 1))
    assert centre.sum() < 0.7 * corner.sum()  # the wet film is dark
    thermal = spec.thermal_scale.to_celsius(cam.thermal(8.0, 5.0, 0.0))
    th, tw = thermal.shape
    assert thermal[th // 2, tw // 2] == pytest.approx(w.ambient_c - 4.0, abs=0.3)
    assert thermal[0, 0] == pytest.approx(w.ambient_c, abs=0.3)


def test_a_pool_reaching_off_the_grid_is_named(tmp_path: Path) -> None:
    big = {"kind": "spill", "gas": "NH3", "x_m": 10, "y_m": 5, "radius_m": 30}
    path = scenario_with(tmp_path, hazards=[big | {"mass_kg": 1, "vapour_pressure_kpa": 5}])
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field == "hazards.0.radius_m"
    assert "off the hazard grid" in info.value.problem


# -- outdoors: Gaussian plumes -------------------------------------------------------------

OUTDOOR = {"wind": {"speed_m_s": 2.0}, "outdoor": {"stability": "D"}, "grid": {"cell_m": 2}}
FAR_SITE = SiteMap.model_validate(
    {
        "map_id": "far",
        "nodes": [{"id": "a", "x": -20.0, "y": -30.0}, {"id": "b", "x": 220.0, "y": 30.0}],
        "edges": [{"start": "a", "end": "b"}],
    }
)


def outdoor(hazards: list[HazardEntry]) -> HazardWorld:
    cfg = WorldConfig.model_validate(OUTDOOR)
    return HazardWorld(FAR_SITE, cfg, hazards, np.random.default_rng([0, 10_000]))


def test_an_outdoor_release_reads_the_plume_once_it_has_travelled_there() -> None:
    from simulator.physics.plume import PlumeField

    w = outdoor([leak(x_m=0.0, y_m=0.0, rate_g_s=5.0, start_s=10.0, stop_s=100.0)])
    plume = PlumeField(0.0, 0.0, 5.0, 2.0, 0.0, "D")
    expected = GAS_SPECIES["H2S"].ppm(plume.concentration_at(200.0, 0.0, 0.5))
    w.step(100.0)  # 200 m at 2 m/s: the plume arrives at 10 + 100 s
    assert read(w, "H2S", 200.0, 0.0) == 0.0
    assert read(w, "H2S", 100.0, 0.0) > 0.0  # 100 m: there since 60 s
    w.step(20.0)
    assert read(w, "H2S", 200.0, 0.0) == pytest.approx(expected, rel=1e-12)
    assert read(w, "H2S", -10.0, 0.0) == 0.0  # upwind
    assert read(w, "LEL", 200.0, 0.0) > 0.0  # H2S is flammable: the bead sees it
    assert read(w, "O2", 200.0, 0.0) < AIR_O2_PERCENT_VOL
    w.step(90.0)  # stopped at 100 s: 200 m clears at 200 s, 100 m at 150 s
    assert read(w, "H2S", 200.0, 0.0) == 0.0 and read(w, "H2S", 100.0, 0.0) == 0.0
    assert w.ground_truth()[0]["released_g"] == pytest.approx(5.0 * 90.0)


def test_an_outdoor_spill_feeds_its_plume_at_the_evaporation_rate() -> None:
    w = outdoor([spill(x_m=0.0, y_m=0.0, mass_kg=1.0, vapour_pressure_kpa=5.0)])
    for _ in range(120):
        w.step(1.0)
    truth = w.ground_truth()[0]
    rate = truth["evaporated_g"] / 120.0
    assert rate > 0
    from simulator.physics.plume import PlumeField

    plume = PlumeField(0.0, 0.0, rate, 2.0, 0.0, "D")
    assert read(w, "NH3", 150.0, 5.0) == pytest.approx(
        GAS_SPECIES["NH3"].ppm(plume.concentration_at(150.0, 5.0, 0.5)), rel=1e-6
    )  # the ground truth's evaporated_g is rounded to the µg


def test_an_outdoor_world_in_calm_air_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = scenario_with(
        tmp_path,
        world={"wind": {"speed_m_s": 0.5}, "outdoor": {"stability": "F"}},
        hazards=[{"kind": "gas_release", "gas": "Cl2", "x_m": 1, "y_m": 1, "rate_g_s": 1}],
    )
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field == "world.wind.speed_m_s"
    assert "Gaussian plume" in info.value.problem

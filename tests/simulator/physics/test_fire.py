"""Fire-spread CA: the Alexandridis factors (hazards.md §4.4) and the automaton's behaviour."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from simulator.physics.fire import (
    A_SLOPE_PER_DEG,
    C1_S_M,
    C2_S_M,
    P_H,
    CellState,
    FireCA,
    FireParams,
    burn_probability,
    slope_factor,
    wind_factor,
)

F = int(CellState.FUEL)
N = int(CellState.NO_FUEL)


def _fire(
    fuel: NDArray[np.integer[Any]],
    seed: int,
    *,
    elevation_m: NDArray[np.floating[Any]] | float = 0.0,
    wind_u_m_s: float = 0.0,
    wind_v_m_s: float = 0.0,
    params: FireParams | None = None,
) -> FireCA:
    """A fire on 1 m cells with the grid's corner at the map origin."""
    return FireCA(
        fuel,
        1.0,
        0.0,
        0.0,
        np.random.default_rng(seed),
        elevation_m=elevation_m,
        wind_u_m_s=wind_u_m_s,
        wind_v_m_s=wind_v_m_s,
        params=params,
    )


# ----------------------------------------------------------------- the factors


def test_constants_are_the_reference_ones() -> None:
    assert (P_H, C1_S_M, C2_S_M, A_SLOPE_PER_DEG) == (0.58, 0.045, 0.131, 0.078)


@pytest.mark.parametrize("theta_rad", [0.0, 1.0, math.pi / 2, math.pi])
def test_no_wind_gives_wind_factor_one(theta_rad: float) -> None:
    assert wind_factor(0.0, theta_rad) == 1.0


@pytest.mark.parametrize("speed_m_s", [1.0, 5.0, 10.0])
def test_wind_factor_downwind_and_upwind(speed_m_s: float) -> None:
    downwind = wind_factor(speed_m_s, 0.0)
    upwind = wind_factor(speed_m_s, math.pi)
    assert downwind == pytest.approx(math.exp(0.045 * speed_m_s), rel=1e-12)
    assert upwind == pytest.approx(
        math.exp(0.045 * speed_m_s) * math.exp(-2 * 0.131 * speed_m_s), rel=1e-12
    )
    crosswind = wind_factor(speed_m_s, math.pi / 2)
    assert crosswind == pytest.approx(math.exp((0.045 - 0.131) * speed_m_s), rel=1e-12)
    assert upwind < crosswind < downwind


def test_wind_factor_anchor_values() -> None:
    # V = 5 m/s: exp(0.225) = 1.2523, exp(0.225 - 1.31) = 0.3378
    assert wind_factor(5.0, 0.0) == pytest.approx(1.2523, rel=1e-3)
    assert wind_factor(5.0, math.pi) == pytest.approx(0.3378, rel=1e-3)


def test_slope_factor_anchors() -> None:
    assert slope_factor(0.0, 1.0) == 1.0
    # 45° uphill: exp(0.078 * 45) = 33.448...
    assert slope_factor(1.0, 1.0) == pytest.approx(math.exp(0.078 * 45.0), rel=1e-9)
    assert slope_factor(1.0, 1.0) == pytest.approx(33.45, rel=1e-3)
    # 10° uphill: exp(0.78) = 2.1815
    assert slope_factor(math.tan(math.radians(10.0)), 1.0) == pytest.approx(2.1815, rel=1e-4)
    # downhill mirrors uphill
    assert slope_factor(-1.0, 1.0) == pytest.approx(1.0 / slope_factor(1.0, 1.0), rel=1e-12)
    # a diagonal neighbour: the same rise over √2·L is a gentler slope
    diag = slope_factor(1.0, math.sqrt(2.0))
    assert diag == pytest.approx(math.exp(0.078 * math.degrees(math.atan(1 / math.sqrt(2)))))
    assert 1.0 < diag < slope_factor(1.0, 1.0)


def test_burn_probability_formula_and_clipping() -> None:
    assert burn_probability(0.0, 0.0, 1.0, 1.0) == pytest.approx(0.58)
    assert burn_probability(0.4, -0.4, 1.2, 0.9) == pytest.approx(0.58 * 1.4 * 0.6 * 1.2 * 0.9)
    assert burn_probability(0.4, 0.4, 2.0, 1.0) == 1.0  # 0.58·1.96·2 > 1
    assert burn_probability(0.0, 0.0, 1.0, 0.0) == 0.0
    assert burn_probability(-2.0, 0.0, 1.0, 1.0) == 0.0  # clipped below too


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError):
        wind_factor(-1.0, 0.0)
    with pytest.raises(ValueError):
        slope_factor(1.0, 0.0)
    with pytest.raises(ValueError):
        FireParams(ca_step_s=0.0)
    with pytest.raises(ValueError):
        _fire(np.full((3, 3), 7), 0)
    with pytest.raises(ValueError):
        _fire(np.full((3, 3), F), 0, elevation_m=np.zeros((2, 2)))


# ----------------------------------------------------------------- the automaton


def _strip_fire(seed: int, wind_u_m_s: float) -> tuple[int, int]:
    """Fire lit in the middle of a 1-cell-high fuel strip; (cells burnt east, west)."""
    nx = 61
    fire = _fire(
        np.full((1, nx), F),
        seed,
        wind_u_m_s=wind_u_m_s,
        params=FireParams(burn_duration_s=1.0),
    )
    assert fire.ignite_cell(nx // 2, 0)
    fire.step(15.0)
    touched = fire.state[0] != F
    east = int(touched[nx // 2 + 1 :].sum())
    west = int(touched[: nx // 2].sum())
    return east, west


def test_fire_spreads_faster_downwind_than_upwind() -> None:
    # Wind 5 m/s blowing east: p downwind = 0.58·1.25 = 0.73, upwind = 0.58·0.34 = 0.20.
    results = [_strip_fire(seed, 5.0) for seed in range(40)]
    east = np.array([r[0] for r in results])
    west = np.array([r[1] for r in results])
    assert east.mean() > 2.0 * west.mean()
    assert (east > west).sum() >= 30
    # and without wind neither side is favoured much
    calm = [_strip_fire(seed, 0.0) for seed in range(40)]
    calm_east = np.mean([r[0] for r in calm])
    calm_west = np.mean([r[1] for r in calm])
    assert abs(calm_east - calm_west) < 0.5 * (calm_east + calm_west) / 2


def test_no_spread_into_no_fuel() -> None:
    fuel = np.full((20, 20), F)
    fuel[:, 10] = N  # a one-cell firebreak suffices: fire only reaches Moore neighbours
    fire = _fire(fuel, 3, params=FireParams(p_h=1.0, burn_duration_s=2.0))
    fire.ignite_cell(2, 10)
    fire.step(100.0)
    assert np.all(fire.state[:, 10] == N)
    assert np.all(fire.state[:, 11:] == F)
    assert np.all(fire.state[:, :10] == CellState.BURNED)  # p = 1: the left side all burnt


def _pair_fraction(wind_u_m_s: float, lit_west: bool, n_pairs: int = 3000) -> float:
    """Isolated FUEL pairs; one cell of each lit; fraction of partners caught in one step."""
    fuel = np.tile(np.array([F, F, N]), n_pairs)[np.newaxis, :]
    fire = _fire(fuel, 11, wind_u_m_s=wind_u_m_s)
    lit, partner = (0, 1) if lit_west else (1, 0)
    for k in range(n_pairs):
        fire.ignite_cell(3 * k + lit, 0)
    fire.step(1.0)
    return float(np.mean(fire.state[0, partner::3] == CellState.BURNING))


@pytest.mark.parametrize(
    ("wind_u_m_s", "lit_west", "p_expected"),
    [
        (0.0, True, 0.58),
        (5.0, True, 0.58 * math.exp(0.045 * 5.0)),  # spreading east, downwind
        (5.0, False, 0.58 * math.exp(0.045 * 5.0) * math.exp(-2 * 0.131 * 5.0)),  # upwind
    ],
)
def test_one_step_ignition_frequency_matches_p_burn(
    wind_u_m_s: float, lit_west: bool, p_expected: float
) -> None:
    fraction = _pair_fraction(wind_u_m_s, lit_west)
    sigma = math.sqrt(p_expected * (1 - p_expected) / 3000)
    assert abs(fraction - p_expected) < 4 * sigma


def test_two_burning_neighbours_combine_independently() -> None:
    # isolated triples, both ends lit: the middle cell has two burning neighbours
    n = 2000
    fuel = np.tile(np.array([F, F, F, N]), n)[np.newaxis, :]
    fire = _fire(fuel, 5)
    for k in range(n):
        fire.ignite_cell(4 * k, 0)
        fire.ignite_cell(4 * k + 2, 0)
    fire.step(1.0)
    fraction = float(np.mean(fire.state[0, 1::4] == CellState.BURNING))
    p_expected = 1 - (1 - 0.58) ** 2
    assert abs(fraction - p_expected) < 4 * math.sqrt(p_expected * (1 - p_expected) / n)


def test_certain_spread_follows_the_moore_front() -> None:
    fire = _fire(np.full((9, 9), F), 0, params=FireParams(p_h=1.0, burn_duration_s=1.0))
    fire.ignite_cell(4, 4)
    fire.step(2.0)
    # after two steps: centre burned, ring 1 burned, ring 2 burning (Chebyshev distance)
    iy, ix = np.indices((9, 9))
    ring = np.maximum(abs(ix - 4), abs(iy - 4))
    assert np.all(fire.state[ring <= 1] == CellState.BURNED)
    assert np.all(fire.state[ring == 2] == CellState.BURNING)
    assert np.all(fire.state[ring >= 3] == CellState.FUEL)


def test_same_seed_same_burned_map_whatever_the_tick() -> None:
    fuel = np.full((30, 30), F)
    fuel[5:25, 15] = N
    maps = []
    for ticks in ([0.1] * 400, [1.0] * 40, [40.0], [0.25, 3.5, 36.25]):
        fire = _fire(fuel, 42, wind_u_m_s=3.0, wind_v_m_s=1.0)
        fire.ignite(5.5, 15.5)
        for dt_s in ticks:
            fire.step(dt_s)
        assert fire.ca_steps == 40
        maps.append(fire.state.copy())
    for other in maps[1:]:
        np.testing.assert_array_equal(maps[0], other)
    different = _fire(fuel, 43, wind_u_m_s=3.0, wind_v_m_s=1.0)
    different.ignite(5.5, 15.5)
    different.step(40.0)
    assert not np.array_equal(maps[0], different.state)


def test_burned_cells_never_reignite() -> None:
    fire = _fire(np.full((15, 15), F), 7, params=FireParams(burn_duration_s=3.0))
    fire.ignite_cell(7, 7)
    burned_before = np.zeros((15, 15), dtype=bool)
    for _ in range(60):
        fire.step(1.0)
        burned_now = fire.state == CellState.BURNED
        assert np.all(burned_now[burned_before])  # once burned, always burned
        burned_before = burned_now
    assert fire.count(CellState.BURNING) == 0
    assert not fire.ignite_cell(7, 7)  # explicit re-ignition of a burned cell refused too


def test_burn_duration_in_ca_steps() -> None:
    fire = _fire(np.array([[F, N, N]]), 0, params=FireParams(ca_step_s=0.5, burn_duration_s=2.0))
    fire.ignite_cell(0, 0)
    fire.step(1.5)  # 3 CA steps of 0.5 s: still burning
    assert fire.state[0, 0] == CellState.BURNING
    fire.step(0.5)  # 4th step: burnt out after 2.0 s
    assert fire.state[0, 0] == CellState.BURNED


def test_uphill_spreads_faster_than_downhill() -> None:
    def run(seed: int) -> tuple[int, int]:
        nx = 41
        elevation = np.tile(np.arange(nx, dtype=float) * 0.3, (1, 1))  # rises to the east
        fire = _fire(
            np.full((1, nx), F),
            seed,
            elevation_m=elevation,
            params=FireParams(p_h=0.4, burn_duration_s=1.0),
        )
        fire.ignite_cell(nx // 2, 0)
        fire.step(12.0)
        touched = fire.state[0] != F
        return int(touched[nx // 2 + 1 :].sum()), int(touched[: nx // 2].sum())

    results = [run(seed) for seed in range(30)]
    assert np.mean([r[0] for r in results]) > 2.0 * np.mean([r[1] for r in results])


def test_ignite_off_grid_or_no_fuel_is_refused() -> None:
    fire = _fire(np.array([[F, N]]), 0)
    assert not fire.ignite(-1.0, 0.5)
    assert not fire.ignite(1.5, 0.5)
    assert fire.ignite(0.5, 0.5)
    assert fire.cell_state_at(0.5, 0.5) is CellState.BURNING
    assert fire.cell_state_at(5.0, 5.0) is None


# ----------------------------------------------------------------- outputs


def test_heat_smoke_and_co_outputs() -> None:
    params = FireParams(ambient_c=20.0, flame_temperature_c=800.0, co_yield_g_g=0.004)
    fire = FireCA(np.full((5, 5), F), 2.0, 10.0, 20.0, np.random.default_rng(0), params=params)
    assert fire.temperature_at(15.0, 25.0) == 20.0
    assert fire.smoke_density_at(15.0, 25.0) == 0.0
    assert fire.sources() == []
    fire.ignite_cell(2, 2)  # centre (15, 25); flame radius = half the 2 m cell
    assert fire.temperature_at(15.0, 25.0) == pytest.approx(800.0)
    # 1/d² beyond the flame radius: at 10 m, (1/10)² of the 780 °C rise
    assert fire.temperature_at(25.0, 25.0) == pytest.approx(20.0 + 780.0 * 0.01)
    assert fire.temperature_at(15.0, 30.0) > fire.temperature_at(15.0, 35.0) > 20.0
    assert fire.sample("temperature", 25.0, 25.0, 0.0) == fire.temperature_at(25.0, 25.0)
    assert fire.sample("CO", 25.0, 25.0, 0.0) is None
    smoke_near = fire.smoke_density_at(15.0, 25.0)
    assert smoke_near == pytest.approx(1.0 - math.exp(-1.0))
    assert 0.0 < fire.smoke_density_at(25.0, 25.0) < smoke_near
    # one CO source at the cell centre: 11 g/(m²·s) × 4 m² × 0.004 g/g
    [(x_m, y_m, rate_g_s)] = fire.sources()
    assert (x_m, y_m) == (15.0, 25.0)
    assert rate_g_s == pytest.approx(11.0 * 4.0 * 0.004)


def test_heat_is_capped_at_flame_temperature() -> None:
    fire = _fire(np.full((9, 9), F), 0)
    for ix in range(9):
        for iy in range(9):
            fire.ignite_cell(ix, iy)
    assert fire.temperature_at(4.5, 4.5) == pytest.approx(fire.params.flame_temperature_c)
    assert 0.0 < fire.smoke_density_at(4.5, 4.5) <= 1.0
    assert len(fire.sources()) == 81

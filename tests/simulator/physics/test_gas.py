"""Advection–diffusion gas solver (hazards.md §4.2): conservation, walls, stability,
intermittency, unit conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.physics.gas import (
    CH4,
    CL2,
    H2S,
    NO2,
    SAFETY_FACTOR,
    Boundary,
    GasField,
    Intermittency,
    g_m3_from_ppm,
    molar_volume_m3_mol,
    ppm_from_g_m3,
)
from simulator.physics.grid import Grid, WindField, rasterize_walls


def _blob(grid: Grid, x_m: float, y_m: float, width_m: float, peak: float = 1.0) -> np.ndarray:
    cx, cy = grid.center_coordinates()
    return np.asarray(peak * np.exp(-((cx - x_m) ** 2 + (cy - y_m) ** 2) / (2 * width_m**2)))


def _centroid(field: GasField) -> tuple[float, float]:
    c = field.concentration_g_m3
    cx, cy = field.grid.center_coordinates()
    return float((c * cx).sum() / c.sum()), float((c * cy).sum() / c.sum())


# --------------------------------------------------------------------------- conservation


def test_mass_conserved_closed_no_source_no_decay() -> None:
    grid = Grid(0.0, 0.0, 0.5, 40, 30)
    walls = rasterize_walls(grid, [[(8.0, 3.0), (9.0, 3.0), (9.0, 12.0), (8.0, 12.0)]])
    field = GasField(
        grid,
        diffusivity_m2_s=0.2,
        wind=WindField.uniform(0.7, -0.4),
        obstacles=walls,
        boundary=Boundary.CLOSED,
    )
    field.set_concentration(_blob(grid, 5.0, 7.0, 1.5))
    m0 = field.mass()
    for _ in range(50):
        field.step(1.0)
    assert abs(field.mass() - m0) / m0 < 1e-9
    assert field.outflow_g == 0.0


def test_mass_grows_exactly_with_source() -> None:
    grid = Grid(0.0, 0.0, 1.0, 20, 20)
    field = GasField(
        grid,
        diffusivity_m2_s=0.5,
        wind=WindField.uniform(0.3, 0.2),
        mixing_height_m=2.5,
        boundary=Boundary.CLOSED,
    )
    src = field.add_source(10.2, 10.7, rate_g_s=0.4)
    for _ in range(30):
        field.step(2.0)
    assert field.mass() == pytest.approx(0.4 * 60.0, rel=1e-9)
    src.rate_g_s = 0.0  # leak stopped: mass stays
    field.step(10.0)
    assert field.mass() == pytest.approx(0.4 * 60.0, rel=1e-9)
    assert field.released_g == pytest.approx(24.0, rel=1e-12)


def test_source_concentration_units() -> None:
    """With no transport, Q g/s for t s in one cell of area A and mixing height h gives
    Q·t/(A·h) g/m³ there."""
    grid = Grid(0.0, 0.0, 2.0, 3, 3)
    field = GasField(grid, diffusivity_m2_s=0.0, mixing_height_m=3.0)
    field.add_source(3.0, 3.0, rate_g_s=1.2)
    field.step(5.0)
    assert field.concentration_g_m3[1, 1] == pytest.approx(1.2 * 5.0 / (4.0 * 3.0))
    assert field.concentration_at(3.0, 3.0) == pytest.approx(0.5)


def test_decay_gives_exponential_mass() -> None:
    grid = Grid(0.0, 0.0, 1.0, 15, 15)
    field = GasField(grid, diffusivity_m2_s=0.3, decay_per_s=0.05, boundary=Boundary.CLOSED)
    field.set_concentration(_blob(grid, 7.5, 7.5, 2.0))
    m0 = field.mass()
    for _ in range(7):
        field.step(3.0)
    assert field.mass() == pytest.approx(m0 * math.exp(-0.05 * 21.0), rel=1e-9)
    assert field.decayed_g == pytest.approx(m0 - field.mass(), rel=1e-9)


def test_open_boundary_budget_balances() -> None:
    grid = Grid(0.0, 0.0, 1.0, 20, 10)
    field = GasField(grid, diffusivity_m2_s=0.5, wind=WindField.uniform(1.5, 0.3))
    field.add_source(3.5, 5.5, rate_g_s=1.0)
    for _ in range(40):
        field.step(1.0)
    assert field.outflow_g > 0
    assert field.mass() + field.outflow_g == pytest.approx(field.released_g, rel=1e-9)


# --------------------------------------------------------------------------- walls


def test_walled_box_keeps_all_mass_and_outside_stays_zero() -> None:
    grid = Grid(0.0, 0.0, 0.5, 40, 40)
    box = [(5.0, 5.0), (15.0, 5.0), (15.0, 15.0), (5.0, 15.0)]
    walls = rasterize_walls(grid, [], polylines=[[*box, box[0]]], wall_thickness_m=0.2)
    # open boundary and wind: still nothing may leave the box
    field = GasField(
        grid,
        diffusivity_m2_s=0.3,
        wind=WindField.uniform(1.0, 0.5),
        obstacles=walls,
        boundary=Boundary.OPEN,
    )
    field.add_source(10.0, 10.0, rate_g_s=0.5)
    for _ in range(60):
        field.step(1.0)
    assert field.mass() == pytest.approx(30.0, rel=1e-9)
    assert field.outflow_g == 0.0
    c = field.concentration_g_m3
    cx, cy = grid.center_coordinates()
    outside = (cx < 4.5) | (cx > 15.5) | (cy < 4.5) | (cy > 15.5)
    assert (c[outside] == 0.0).all()
    assert (c[walls] == 0.0).all()
    assert field.concentration_at(2.0, 2.0) == 0.0
    assert field.concentration_at(10.0, 10.0) > 0.0


def test_cells_behind_wall_stay_zero() -> None:
    grid = Grid(0.0, 0.0, 1.0, 30, 10)
    # full-height wall at x = 15, downwind of the source
    walls = rasterize_walls(grid, [], polylines=[[(15.2, -1.0), (15.2, 11.0)]])
    field = GasField(grid, diffusivity_m2_s=1.0, wind=WindField.uniform(2.0, 0.0), obstacles=walls)
    field.add_source(5.5, 5.5, rate_g_s=1.0)
    for _ in range(100):
        field.step(1.0)
    c = field.concentration_g_m3
    assert c[:, 14].max() > 0.0  # gas piles up against the wall
    assert (c[:, 16:] == 0.0).all()
    # a sensor just in front of the wall reads the gas there, not zero from the wall
    assert field.concentration_at(14.9, 5.5) == pytest.approx(c[5, 14], rel=0.2)
    assert field.concentration_at(16.6, 5.5) == 0.0


def test_sampling_does_not_leak_across_diagonal_wall() -> None:
    grid = Grid(0.0, 0.0, 1.0, 2, 2)
    walls = np.array([[True, False], [False, True]])
    field = GasField(grid, diffusivity_m2_s=0.0, obstacles=walls)
    field.set_concentration(np.array([[0.0, 1.0], [0.0, 0.0]]))
    # point inside open cell (0, 1) near the centre of the block: cell (1, 0) holds gas but is
    # only diagonally adjacent across two solid cells
    assert field.concentration_at(0.9, 1.1) == 0.0
    assert field.concentration_at(1.1, 0.9) == pytest.approx(1.0)


def test_source_inside_wall_or_off_grid_rejected() -> None:
    grid = Grid(0.0, 0.0, 1.0, 5, 5)
    walls = np.zeros(grid.shape, dtype=bool)
    walls[2, 2] = True
    field = GasField(grid, diffusivity_m2_s=0.1, obstacles=walls)
    with pytest.raises(ValueError, match="inside an obstacle"):
        field.add_source(2.5, 2.5, 1.0)
    with pytest.raises(ValueError, match="off the grid"):
        field.add_source(9.0, 2.5, 1.0)
    with pytest.raises(ValueError, match="rate_g_s"):
        field.add_source(0.5, 0.5, -1.0)
    src = field.add_source(0.5, 0.5, 1.0)
    with pytest.raises(ValueError, match="rate_g_s"):
        src.rate_g_s = -0.1
    assert src.rate_g_s == 1.0


def test_a_removed_source_releases_nothing_more() -> None:
    grid = Grid(0.0, 0.0, 1.0, 5, 5)
    field = GasField(grid, diffusivity_m2_s=0.1, boundary=Boundary.CLOSED)
    keep, gone = field.add_source(0.5, 0.5, 1.0), field.add_source(3.5, 3.5, 2.0)
    field.step(1.0)
    field.remove_source(gone)
    field.step(1.0)
    assert field.sources == (keep,)
    assert field.released_g == pytest.approx(1.0 * 2 + 2.0 * 1)
    assert field.mass() == pytest.approx(field.released_g)
    with pytest.raises(ValueError, match="not a source"):
        field.remove_source(gone)


# --------------------------------------------------------------------------- transport


def test_pure_diffusion_is_symmetric() -> None:
    grid = Grid(0.0, 0.0, 1.0, 21, 21)
    field = GasField(grid, diffusivity_m2_s=0.8, boundary=Boundary.OPEN)
    field.add_source(10.5, 10.5, rate_g_s=1.0)
    for _ in range(20):
        field.step(1.5)
    c = field.concentration_g_m3
    np.testing.assert_allclose(c, c[::-1, :], rtol=1e-12, atol=0)
    np.testing.assert_allclose(c, c[:, ::-1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(c, c.T, rtol=1e-12, atol=0)
    assert c[10, 10] == c.max()


def test_pure_diffusion_spreads_like_2kt() -> None:
    """Variance of a diffusing blob grows by 2Kt per axis (closed box far from edges)."""
    grid = Grid(0.0, 0.0, 0.5, 80, 80)
    field = GasField(grid, diffusivity_m2_s=0.1, boundary=Boundary.CLOSED)
    field.set_concentration(_blob(grid, 20.0, 20.0, 1.0))

    def var_x() -> float:
        c = field.concentration_g_m3
        cx, _ = grid.center_coordinates()
        mx = (c * cx).sum() / c.sum()
        return float((c * (cx - mx) ** 2).sum() / c.sum())

    v0 = var_x()
    field.step(20.0)
    assert var_x() - v0 == pytest.approx(2 * 0.1 * 20.0, rel=0.02)


def test_advection_moves_centroid_at_wind_speed() -> None:
    grid = Grid(0.0, 0.0, 0.5, 120, 40)
    wind = WindField.uniform(0.8, 0.2)
    field = GasField(grid, diffusivity_m2_s=0.05, wind=wind, boundary=Boundary.CLOSED)
    field.set_concentration(_blob(grid, 8.0, 8.0, 1.0))
    x0, y0 = _centroid(field)
    field.step(30.0)
    x1, y1 = _centroid(field)
    assert abs((x1 - x0) - 0.8 * 30.0) < grid.cell_m
    assert abs((y1 - y0) - 0.2 * 30.0) < grid.cell_m


def test_substep_respects_diffusion_and_cfl_limits() -> None:
    grid = Grid(0.0, 0.0, 0.5, 10, 10)
    diff_only = GasField(grid, diffusivity_m2_s=0.4)
    assert diff_only.max_substep_s == pytest.approx(SAFETY_FACTOR * 0.25 / (4 * 0.4))
    adv_only = GasField(grid, diffusivity_m2_s=0.0, wind=WindField.uniform(2.0, 0.0))
    assert adv_only.max_substep_s == pytest.approx(SAFETY_FACTOR * 0.5 / 2.0)
    still = GasField(grid, diffusivity_m2_s=0.0)
    assert math.isinf(still.max_substep_s)


def test_one_long_step_matches_many_short_ones() -> None:
    grid = Grid(0.0, 0.0, 0.5, 40, 40)
    walls = rasterize_walls(grid, [], polylines=[[(10.0, 4.0), (10.0, 16.0)]])

    def run(dt: float, n: int) -> GasField:
        f = GasField(
            grid,
            diffusivity_m2_s=0.3,
            wind=WindField.uniform(0.6, 0.25),
            obstacles=walls,
        )
        f.add_source(5.0, 10.0, rate_g_s=0.2)
        for _ in range(n):
            f.step(dt)
        return f

    long = run(60.0, 1)
    short = run(0.1, 600)
    a, b = long.concentration_g_m3, short.concentration_g_m3
    assert np.isfinite(a).all() and (a >= 0).all()
    assert np.abs(a - b).max() <= 0.005 * b.max()
    assert long.mass() == pytest.approx(short.mass(), rel=1e-3)


def test_huge_step_never_negative_or_nan() -> None:
    grid = Grid(0.0, 0.0, 0.25, 30, 30)
    rng = np.random.default_rng(4)
    ux = rng.uniform(-3, 3, grid.shape)
    uy = rng.uniform(-3, 3, grid.shape)
    field = GasField(
        grid,
        diffusivity_m2_s=2.0,
        wind=WindField.per_cell(grid, ux, uy),
        decay_per_s=0.01,
        boundary=Boundary.CLOSED,
    )
    init = np.zeros(grid.shape)
    init[15, 15] = 1000.0  # a sharp spike is the hardest case for positivity
    field.set_concentration(init)
    m0 = field.mass()
    field.step(50.0)
    c = field.concentration_g_m3
    assert np.isfinite(c).all()
    assert (c >= 0).all()
    assert field.mass() == pytest.approx(m0 * math.exp(-0.5), rel=1e-9)


def test_bad_step_and_parameters_rejected() -> None:
    grid = Grid(0.0, 0.0, 1.0, 3, 3)
    field = GasField(grid, diffusivity_m2_s=0.1)
    with pytest.raises(ValueError, match="dt_s"):
        field.step(-1.0)
    with pytest.raises(ValueError, match="dt_s"):
        field.step(float("nan"))
    with pytest.raises(ValueError, match="diffusivity"):
        GasField(grid, diffusivity_m2_s=-1.0)
    with pytest.raises(ValueError, match="mixing_height"):
        GasField(grid, diffusivity_m2_s=0.1, mixing_height_m=0.0)
    with pytest.raises(ValueError, match="grid shape"):
        GasField(grid, diffusivity_m2_s=0.1, obstacles=np.zeros((2, 2), dtype=bool))


def test_bilinear_sampling_and_off_grid() -> None:
    grid = Grid(0.0, 0.0, 1.0, 2, 1)
    field = GasField(grid, diffusivity_m2_s=0.0)
    field.set_concentration(np.array([[1.0, 3.0]]))
    assert field.concentration_at(0.5, 0.5) == pytest.approx(1.0)
    assert field.concentration_at(1.0, 0.5) == pytest.approx(2.0)
    assert field.concentration_at(1.25, 0.2) == pytest.approx(2.5)
    assert field.concentration_at(1.9, 0.5) == pytest.approx(3.0)  # held beyond the centre
    assert field.concentration_at(-0.1, 0.5) == 0.0
    assert field.concentration_at(2.0, 0.5) == 0.0


# --------------------------------------------------------------------------- intermittency


def _patchy_field(seed: int) -> GasField:
    grid = Grid(0.0, 0.0, 1.0, 20, 20)
    field = GasField(
        grid,
        diffusivity_m2_s=0.0,
        intermittency=Intermittency(
            grid,
            np.random.default_rng(seed),
            sigma_ln=0.8,
            patch_m=2.0,
            correlation_time_s=3.0,
            drift_m_s=(1.0, 0.0),
        ),
    )
    field.set_concentration(np.full(grid.shape, 2.0))
    return field


def test_intermittency_reproducible_with_seed() -> None:
    def trace(seed: int) -> list[float]:
        f = _patchy_field(seed)
        out = []
        for _ in range(20):
            f.step(0.5)
            out.append(f.instantaneous_concentration_at(7.3, 11.1))
            out.append(f.instantaneous_concentration_at(7.3, 11.1))  # reading twice: same
        return out

    a, b, c = trace(11), trace(11), trace(12)
    assert a == b
    assert a != c
    assert a[0] == a[1]
    assert len(set(a)) > 10  # it does fluctuate


def test_intermittency_mean_is_one_and_mean_field_untouched() -> None:
    grid = Grid(0.0, 0.0, 1.0, 40, 40)
    patch = Intermittency(grid, np.random.default_rng(3), sigma_ln=0.7, correlation_time_s=0.0)
    samples: list[float] = []
    pts = [(3.0, 4.0), (10.7, 22.2), (31.3, 8.9), (20.0, 20.0)]  # nodes and between nodes
    for _ in range(5000):
        patch.step(1.0)
        samples.extend(patch.factor_at(x, y) for x, y in pts)
    arr = np.array(samples)
    assert (arr > 0).all()
    assert arr.mean() == pytest.approx(1.0, abs=0.03)
    assert np.log(arr).std() > 0.3

    field = _patchy_field(5)
    m0 = field.mass()
    field.step(10.0)
    assert field.mass() == pytest.approx(m0, rel=1e-12)
    assert field.concentration_at(5.5, 5.5) == pytest.approx(2.0)


# --------------------------------------------------------------------------- units


def test_ppm_and_lel_conversions() -> None:
    # 20 °C, 1 atm molar volume
    assert molar_volume_m3_mol() == pytest.approx(0.024055, rel=1e-4)
    # hazards.md §1.1 anchors are at 25 °C: mg/m³ = ppm × MW / 24.45
    assert g_m3_from_ppm(0.5, CL2.molar_mass_g_mol, temperature_k=298.15) * 1e3 == (
        pytest.approx(1.45, abs=0.005)
    )
    assert g_m3_from_ppm(1.0, NO2.molar_mass_g_mol, temperature_k=298.15) * 1e3 == (
        pytest.approx(1.88, abs=0.005)
    )
    c = g_m3_from_ppm(50_000.0, CH4.molar_mass_g_mol)  # 5 %vol methane
    assert CH4.ppm(c) == pytest.approx(50_000.0)
    assert CH4.percent_vol(c) == pytest.approx(5.0)
    assert CH4.percent_lel(c) == pytest.approx(100.0)
    assert H2S.percent_lel(g_m3_from_ppm(4000.0, H2S.molar_mass_g_mol)) == pytest.approx(10.0)
    # 1 g/m³ of H2S at 20 °C ≈ 705.8 ppm
    assert ppm_from_g_m3(1.0, H2S.molar_mass_g_mol) == pytest.approx(705.8, rel=1e-3)
    with pytest.raises(ValueError, match="explosive limit"):
        NO2.percent_lel(1.0)


@pytest.mark.parametrize("boundary", [Boundary.OPEN, Boundary.CLOSED])
def test_the_active_window_matches_the_full_sweep(boundary: Boundary) -> None:
    grid = Grid(0.0, 0.0, 0.5, 80, 60)
    walls = rasterize_walls(grid, [[(20.0, 5.0), (20.5, 5.0), (20.5, 25.0), (20.0, 25.0)]])

    def make(windowed: bool) -> GasField:
        field = GasField(
            grid,
            diffusivity_m2_s=0.2,
            wind=WindField.uniform(0.8, -0.3),
            obstacles=walls,
            decay_per_s=0.01,
            boundary=boundary,
        )
        field.windowed = windowed
        return field

    fast, full = make(True), make(False)
    for field in (fast, full):
        a = field.add_source(10.0, 15.0, 2.0)
        b = field.add_source(35.0, 3.0, 0.0)
        for k in range(120):
            if k == 40:
                b.rate_g_s = 1.0  # a second leak starts near the open edge
            if k == 80:
                a.rate_g_s = 0.0
            field.step(0.7)
    # only the flushed traces (< 1e-15 g/m³ each) differ
    assert np.allclose(fast.concentration_g_m3, full.concentration_g_m3, rtol=0, atol=1e-12)
    assert fast.concentration_g_m3.max() > 1.0
    assert fast.released_g == full.released_g
    assert fast.outflow_g == pytest.approx(full.outflow_g, rel=1e-9, abs=1e-12)
    assert 0.0 <= fast.flushed_g < 1e-9 and full.flushed_g == 0.0
    budget = fast.released_g - fast.outflow_g - fast.decayed_g - fast.flushed_g
    assert fast.mass() == pytest.approx(budget, rel=1e-9)


def test_set_concentration_puts_the_gas_in_the_window() -> None:
    grid = Grid(0.0, 0.0, 1.0, 30, 30)
    fast = GasField(grid, diffusivity_m2_s=0.3, boundary=Boundary.CLOSED)
    full = GasField(grid, diffusivity_m2_s=0.3, boundary=Boundary.CLOSED)
    full.windowed = False
    blob = _blob(grid, 22.0, 7.0, 2.0)
    for field in (fast, full):
        field.set_concentration(blob)
        field.step(5.0)
    assert np.allclose(fast.concentration_g_m3, full.concentration_g_m3, rtol=0, atol=1e-12)
    assert fast.mass() + fast.flushed_g == pytest.approx(full.mass(), rel=1e-12)

"""Kernel DM+V/W: the fast implementation against a direct (slow) one of the §3.3 formulas."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from controller.fusion import DoseRateMap, GridSpec, KernelDMV
from controller.fusion.kernels import wind_stretched_axes

F = npt.NDArray[np.float64]
GRID = GridSpec(-1.0, 2.0, 0.5, 18, 14)


def direct_dmv(
    grid: GridSpec,
    x: F,
    y: F,
    r: F,
    t: F,
    t_star: float,
    *,
    sigma: float,
    beta: float = 0.0,
    axes: list[tuple[float, float, float]] | None = None,
    confidence_scale: float = 1.0,
) -> tuple[F, F, F]:
    """hazards.md §3.3 evaluated reading by reading and cell by cell (the reference)."""
    gx, gy = grid.center_coordinates()
    omega = np.zeros(grid.shape)
    big_r = np.zeros(grid.shape)
    weights = []
    for i in range(len(x)):
        a, b, th = axes[i] if axes is not None else (sigma, sigma, 0.0)
        dx, dy = gx - x[i], gy - y[i]
        along = dx * math.cos(th) + dy * math.sin(th)
        across = -dx * math.sin(th) + dy * math.cos(th)
        n = np.exp(-0.5 * ((along / a) ** 2 + (across / b) ** 2)) / (2 * math.pi * a * b)
        w = n * math.exp(-beta * (t_star - t[i]))
        weights.append(w)
        omega += w
        big_r += w * r[i]
    tw = np.exp(-beta * (t_star - t))
    r0 = float(tw @ r / tw.sum())
    v0 = float(tw @ (r - r0) ** 2 / tw.sum())
    s_omega = confidence_scale / (math.sqrt(2 * math.pi) * sigma)
    alpha = 1 - np.exp(-omega / s_omega**2)
    mean = alpha * big_r / omega + (1 - alpha) * r0
    big_v = np.zeros(grid.shape)
    ix, iy = grid.cells_of(x, y)
    for i in range(len(x)):
        big_v += weights[i] * (r[i] - mean[iy[i], ix[i]]) ** 2
    var = alpha * big_v / omega + (1 - alpha) * v0
    return mean, var, alpha


def snapped(grid: GridSpec, x: F, y: F) -> tuple[F, F]:
    ix, iy = grid.cells_of(x, y)
    xs = np.asarray(grid.origin_x_m + (ix + 0.5) * grid.cell_m, dtype=np.float64)
    ys = np.asarray(grid.origin_y_m + (iy + 0.5) * grid.cell_m, dtype=np.float64)
    return xs, ys


def sample(rng: np.random.Generator, n: int) -> tuple[F, F, F, F]:
    x = rng.uniform(-1.0, 8.0, n)
    y = rng.uniform(2.0, 9.0, n)
    r = rng.gamma(2.0, 3.0, n)
    t = np.sort(rng.uniform(0.0, 60.0, n))
    return x, y, r, t


@pytest.mark.parametrize("beta", [0.0, 0.02])
def test_isotropic_matches_the_direct_formulas_on_snapped_readings(beta: float) -> None:
    rng = np.random.default_rng(1)
    x, y, r, t = sample(rng, 40)
    xs, ys = snapped(GRID, x, y)
    m = KernelDMV(GRID, sigma_m=0.8, decay_per_s=beta, confidence_scale=0.7)
    m.add(x[:25], y[:25], r[:25], t[:25])
    m.add(x[25:], y[25:], r[25:], t[25:])
    snap = m.snapshot(70.0)
    mean, var, alpha = direct_dmv(
        GRID, xs, ys, r, t, 70.0, sigma=0.8, beta=beta, confidence_scale=0.7
    )
    np.testing.assert_allclose(snap.mean, mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(snap.variance, var, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(snap.confidence, alpha, rtol=1e-9, atol=1e-12)


def test_time_decay_survives_the_rescaling_of_old_sums() -> None:
    rng = np.random.default_rng(2)
    x, y, r, _ = sample(rng, 30)
    t = np.linspace(0.0, 4000.0, 30)  # β·Δt = 40 > the rescaling threshold
    xs, ys = snapped(GRID, x, y)
    m = KernelDMV(GRID, sigma_m=1.0, decay_per_s=0.01)
    for k in range(30):
        m.add(x[k], y[k], r[k], t[k])
    snap = m.snapshot(4000.0)
    mean, _var, alpha = direct_dmv(GRID, xs, ys, r, t, 4000.0, sigma=1.0, beta=0.01)
    np.testing.assert_allclose(snap.mean, mean, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(snap.confidence, alpha, rtol=1e-8, atol=1e-12)


def test_wind_classes_match_the_direct_formulas_with_the_class_kernel() -> None:
    rng = np.random.default_rng(3)
    x, y, r, t = sample(rng, 30)
    xs, ys = snapped(GRID, x, y)
    m = KernelDMV(
        GRID, sigma_m=0.6, wind_scale_s=1.5, speed_edges_m_s=(0.05, 0.4, 2.0), n_directions=16
    )
    speed = np.where(np.arange(30) % 3 == 0, 0.0, rng.uniform(0.1, 1.5, 30))
    theta = rng.uniform(-math.pi, math.pi, 30)
    u, v = speed * np.cos(theta), speed * np.sin(theta)
    m.add(x, y, r, t, u, v)
    # the kernel each reading was given: its class's representative speed and direction
    cls = m._classes(u, v)
    axes = [m.class_kernel(int(c)) for c in cls]
    snap = m.snapshot(60.0)
    mean, var, alpha = direct_dmv(GRID, xs, ys, r, t, 60.0, sigma=0.6, axes=axes)
    np.testing.assert_allclose(snap.mean, mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(snap.variance, var, rtol=1e-8, atol=1e-8)
    # and the class kernel is close to the reading's own (≤ 11.25°, speed within its bin)
    own = [
        (*wind_stretched_axes(0.6, 1.5, float(s)), float(th)) if s >= 0.05 else (0.6, 0.6, 0.0)
        for s, th in zip(speed, theta, strict=True)
    ]
    exact_mean, _v, _a = direct_dmv(GRID, xs, ys, r, t, 60.0, sigma=0.6, axes=own)
    near = alpha > 0.5
    assert np.median(np.abs(snap.mean - exact_mean)[near] / exact_mean[near]) < 0.2


def test_the_wind_stretches_the_kernel_along_the_wind() -> None:
    a, b = wind_stretched_axes(0.5, 2.0, 1.0)
    assert a == 2.5
    assert b == pytest.approx(0.1)
    m = KernelDMV(GRID, sigma_m=0.5, wind_scale_s=2.0)
    m.add(3.25, 5.25, 10.0, 0.0, 1.0, 0.0)  # wind toward +x
    w = m.snapshot(0.0).weight
    assert w[6, 12] > 10 * w[8, 8]  # 1 m downwind-ish (same row) vs 1 m across


def test_unsnapped_readings_stay_close_when_cells_are_small() -> None:
    rng = np.random.default_rng(4)
    x, y, r, t = sample(rng, 60)
    m = KernelDMV(GRID, sigma_m=1.0)
    m.add(x, y, r, t)
    snap = m.snapshot(60.0)
    mean, _var, alpha = direct_dmv(GRID, x, y, r, t, 60.0, sigma=1.0)
    assert np.max(np.abs(snap.mean - mean)) < 0.1 * np.max(r)
    assert np.max(np.abs(snap.confidence - alpha)) < 0.1


def test_confidence_rises_with_data() -> None:
    m = KernelDMV(GRID, sigma_m=0.5)
    previous = 0.0
    for k in range(5):
        m.add(3.1, 5.1, 2.0, float(k))
        c = float(m.snapshot(5.0).confidence[6, 8])
        assert c > previous
        previous = c
    assert previous > 0.9
    assert m.snapshot(5.0).confidence[0, 0] < 0.01


def test_variance_is_higher_where_readings_disagree() -> None:
    m = KernelDMV(GRID, sigma_m=0.5)
    m.add([1.1] * 6, [3.1] * 6, [5.0, 5.1, 4.9, 5.0, 5.0, 5.1], 0.0)  # agree
    m.add([6.1] * 6, [7.1] * 6, [0.0, 10.0, 1.0, 9.0, 0.5, 9.5], 0.0)  # disagree
    snap = m.snapshot(0.0)
    agree = snap.variance[2, 4]
    disagree = snap.variance[10, 14]
    assert disagree > 100 * agree
    assert snap.mean[2, 4] == pytest.approx(5.0167, abs=0.01)


def test_empty_map_and_validation() -> None:
    m = KernelDMV(GRID)
    assert np.all(m.snapshot(0.0).mean == 0.0)
    for kwargs, field in (
        ({"value": -0.1}, "value"),
        ({"value": float("nan")}, "value"),
        ({"x_m": 100.0}, "x_m/y_m"),
        ({"t_s": float("inf")}, "t_s"),
    ):
        args: dict[str, object] = {"x_m": 1.0, "y_m": 3.0, "value": 1.0, "t_s": 0.0}
        args.update(kwargs)
        with pytest.raises(ValueError, match=field):
            m.add(**args)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length 2 does not match the 3 readings"):
        m.add([1.0, 2.0], [3.0, 3.0], [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError, match="wind_u_m_s/wind_v_m_s"):
        KernelDMV(GRID, wind_scale_s=1.0).add(1.0, 3.0, 1.0, 0.0, wind_u_m_s=1.0)
    assert m.count == 0


def test_dose_rate_map_mean_and_max() -> None:
    d = DoseRateMap(GRID, sigma_m=0.5)
    d.add([2.1, 2.1, 6.0], [4.1, 4.1, 8.0], [3.0, 7.0, 0.2], [0.0, 1.0, 2.0])
    mx = d.max_map()
    assert mx[4, 6] == 7.0 and mx[12, 14] == pytest.approx(0.2)
    assert np.isnan(mx[0, 0])
    snap = d.snapshot(2.0)
    assert snap.mean[4, 6] == pytest.approx(5.0, abs=0.3)
    assert snap.variance[4, 6] > snap.variance[12, 14]
    with pytest.raises(ValueError, match="dose_rate_usv_h"):
        d.add(1.0, 3.0, -1.0, 0.0)

"""Gas source estimation against the simulator's own physics (simulator/physics/gas.py)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
import pytest

from controller.fusion import GasSourceEstimator, GridSpec, ppm_per_g_m3
from simulator.physics.gas import H2S, Boundary, GasField, Intermittency
from simulator.physics.grid import Grid, WindField
from simulator.physics.sensors import GENERIC_EC_H2S, Sensor

ROOM = Grid(0.0, 0.0, 0.5, 44, 28)  # 22 m × 14 m
WIND = (0.1, 0.0)  # a ventilation draught toward +x, m/s
K = 0.05
# The simulator's first-order upwind scheme adds |u|·dx/2 of numerical diffusion along the
# wind: the simulated gas spreads with about K + 0.025 m²/s, which the controller, tuning
# K on its site, would find.
K_EFFECTIVE = K + 0.1 * 0.5 / 2
TAU_S = GENERIC_EC_H2S.tau_rise_s
ROWS_Y = (3.0, 7.0, 11.0)


@dataclass
class Track:
    t: list[float]
    x: list[float]
    y: list[float]
    z: list[float]


def lawnmower(row_y: float, t: float) -> tuple[float, float]:
    """A robot sweeping its row x 2..20 m back and forth at 0.5 m/s, shifting 1 m across
    the row every pass."""
    span = 18.0
    d = (0.5 * t) % (2 * span)
    lap = int((0.5 * t) // span)
    x = 2.0 + (d if d <= span else 2 * span - d)
    return x, row_y + (lap % 3 - 1) * 1.0


def simulate(
    seed: int, source: tuple[float, float], rate_g_s: float, onset_s: float, end_s: float = 150.0
) -> dict[str, Track]:
    rng = np.random.default_rng(seed)
    field = GasField(
        ROOM,
        diffusivity_m2_s=K,
        wind=WindField.uniform(*WIND),
        boundary=Boundary.OPEN,
        intermittency=Intermittency(ROOM, rng.spawn(1)[0], sigma_ln=0.5, drift_m_s=WIND),
    )
    src = field.add_source(*source, 0.0)
    sensors = {
        f"r{i}": Sensor(
            GENERIC_EC_H2S,
            np.random.default_rng([seed, i]),
            start_s=-60.0,
            initial_values={"H2S": 0.0},
        )
        for i in range(len(ROWS_Y))
    }
    tracks = {name: Track([], [], [], []) for name in sensors}
    t = 0.0
    while t < end_s - 1e-9:
        field.step(1.0)
        t += 1.0
        if t >= onset_s:
            src.rate_g_s = rate_g_s
        for (name, sensor), row in zip(sensors.items(), ROWS_Y, strict=True):
            x, y = lawnmower(row, t)
            ppm = H2S.ppm(field.instantaneous_concentration_at(x, y))
            reading = sensor.step({"H2S": ppm}, t - sensor.t_s)
            assert reading.value is not None
            tr = tracks[name]
            tr.t.append(t)
            tr.x.append(x)
            tr.y.append(y)
            tr.z.append(max(reading.value, 0.0))
    return tracks


def estimator(**kwargs: object) -> GasSourceEstimator:
    args: dict[str, object] = {
        "wind_u_m_s": WIND[0],
        "wind_v_m_s": WIND[1],
        "diffusivity_m2_s": K_EFFECTIVE,
        "units_per_g_m3": ppm_per_g_m3(H2S.molar_mass_g_mol),
        "noise_floor": 0.3,
        "onsets_s": np.arange(-20.0, 41.0, 10.0),
        "n_rates": 21,
    }
    args.update(kwargs)
    grid = GridSpec(ROOM.origin_x_m, ROOM.origin_y_m, ROOM.cell_m, ROOM.nx, ROOM.ny)
    return GasSourceEstimator(grid, **args)  # type: ignore[arg-type]


def feed(est: GasSourceEstimator, tracks: dict[str, Track]) -> None:
    for name, tr in tracks.items():
        est.add_readings(name, tr.t, tr.x, tr.y, tr.z, sensor_tau_s=TAU_S)


CASES = [  # seed, source, rate g/s, onset s
    (0, (6.2, 7.9), 0.05, 5.0),
    (1, (9.4, 4.6), 0.1, 0.0),
    (2, (4.1, 10.3), 0.03, 12.0),
    (3, (12.6, 6.2), 0.08, 3.0),
    (4, (7.7, 12.1), 0.05, 8.0),
]


@pytest.fixture(scope="module")
def simulated() -> list[tuple[tuple[float, float], float, dict[str, Track]]]:
    return [(src, q, simulate(seed, src, q, onset)) for seed, src, q, onset in CASES]


def test_localizes_simulated_leaks(
    simulated: list[tuple[tuple[float, float], float, dict[str, Track]]],
) -> None:
    errors = []
    for src, q, tracks in simulated:
        est = estimator()
        feed(est, tracks)
        result = est.estimate()
        assert result is not None
        errors.append(math.hypot(result.x_m - src[0], result.y_m - src[1]))
        assert result.readings_used == 3 * 150
        assert result.log_bayes_factor > 10.0
        assert result.radius95_m > 0.0
        lo, hi = result.rate_interval_g_s
        assert lo / 3 <= q <= hi * 3
    assert statistics.median(errors) <= 1.5, errors
    assert max(errors) <= 3.0, errors


def test_uncertainty_shrinks_as_readings_arrive(
    simulated: list[tuple[tuple[float, float], float, dict[str, Track]]],
) -> None:
    _src, _q, tracks = simulated[0]
    est = estimator()
    radii = []
    for stop in (40, 90, 150):
        for name, tr in tracks.items():
            start = 0 if stop == 40 else {90: 40, 150: 90}[stop]
            est.add_readings(
                name,
                tr.t[start:stop],
                tr.x[start:stop],
                tr.y[start:stop],
                tr.z[start:stop],
                sensor_tau_s=TAU_S,
            )
        result = est.estimate()
        assert result is not None
        radii.append(result.sigma_m)
    assert radii[-1] < radii[0]
    # incremental equals one batch
    whole = estimator()
    feed(whole, tracks)
    assert whole.estimate() == result


def test_a_faulty_robot_does_not_move_the_estimate_far(
    simulated: list[tuple[tuple[float, float], float, dict[str, Track]]],
) -> None:
    _src, _q, tracks = simulated[0]
    clean = estimator()
    feed(clean, tracks)
    base = clean.estimate()
    assert base is not None
    # a fourth robot whose cell is stuck at 150 ppm while it drives the middle row
    stuck = Track(
        tracks["r1"].t,
        [x + 0.3 for x in tracks["r1"].x],
        tracks["r1"].y,
        [150.0] * len(tracks["r1"].t),
    )
    # and one whose cell went wild: huge, varying values everywhere
    rng = np.random.default_rng(9)
    wild = Track(
        tracks["r2"].t,
        tracks["r2"].x,
        tracks["r2"].y,
        list(rng.lognormal(math.log(80.0), 0.5, len(tracks["r2"].t))),
    )
    for name, faulty in (("stuck", stuck), ("wild", wild)):
        est = estimator()
        feed(est, {**tracks, name: faulty})
        result = est.estimate()
        assert result is not None
        assert result.robot_weights[name] == 0.0, result.robot_weights
        assert all(result.robot_weights[r] == 1.0 for r in tracks)
        # as if it were not there, up to rounding: each robot's sum is kept in float32,
        # the posterior of an all-trusted fleet in a float64 running total
        assert math.hypot(result.x_m - base.x_m, result.y_m - base.y_m) < 1e-4
    # without the per-robot weights the stuck robot pulls it (the bounded influence of
    # each reading keeps that pull small, but not nil)
    naive = estimator(flatline_count=10_000, consensus_deficit_nats=1e9)
    feed(naive, {**tracks, "stuck": stuck})
    bad = naive.estimate()
    assert bad is not None
    moved = math.hypot(bad.x_m - base.x_m, bad.y_m - base.y_m)
    assert 0.2 < moved < 1.5, moved


def test_unit_response_matches_a_fine_quadrature() -> None:
    grid = GridSpec(0.0, 0.0, 1.0, 5, 4)
    est = GasSourceEstimator(
        grid,
        wind_u_m_s=0.3,
        wind_v_m_s=-0.1,
        diffusivity_m2_s=[0.05, 0.2],
        mixing_height_m=2.0,
        onsets_s=[0.0, 30.0, 100.0],
    )
    g = est.unit_response(3.7, 1.2, 80.0)
    assert g.shape == (20, 6)
    gx, gy = grid.center_coordinates()
    for col, (k, onset) in enumerate((k, o) for k in (0.05, 0.2) for o in (0.0, 30.0, 100.0)):
        age = 80.0 - onset
        if age <= 0:
            assert np.all(g[:, col] == 0.0)
            continue
        s = np.linspace(1e-6, age, 400_001)
        var = 2 * k * s + 0.5**2
        for j in (0, 7, 13, 19):
            dx = 3.7 - gx.ravel()[j] - 0.3 * s
            dy = 1.2 - gy.ravel()[j] + 0.1 * s
            f = np.exp(-(dx**2 + dy**2) / (2 * var)) / (2 * math.pi * var)
            ref = float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(s))) / 2.0
            assert g[j, col] == pytest.approx(ref, rel=0.02, abs=1e-6)


def test_validation_names_the_field() -> None:
    est = estimator()
    with pytest.raises(ValueError, match="value"):
        est.add_readings("r", [1.0], [3.0], [3.0], [-1.0])
    with pytest.raises(ValueError, match="value"):
        est.add_readings("r", [1.0], [3.0], [3.0], [float("nan")])
    with pytest.raises(ValueError, match="x_m/y_m"):
        est.add_readings("r", [1.0], [30.0], [3.0], [1.0])
    with pytest.raises(ValueError, match="t_s"):
        est.add_readings("r", [float("inf")], [3.0], [3.0], [1.0])
    est.add_readings("r", [5.0], [3.0], [3.0], [1.0])
    with pytest.raises(ValueError, match="t_s"):
        est.add_readings("r", [4.0], [3.0], [3.0], [1.0])
    with pytest.raises(ValueError, match="diffusivity_m2_s"):
        estimator(diffusivity_m2_s=-1.0)
    with pytest.raises(ValueError, match="candidates"):
        estimator(candidates=np.zeros((3, 3), dtype=bool))
    assert estimator().estimate() is None


def test_ppm_conversion() -> None:
    assert ppm_per_g_m3(34.081) == pytest.approx(705.8, abs=0.1)

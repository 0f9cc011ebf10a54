"""Radiation point source from Poisson counts of the simulator's field and detector."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from controller.fusion import GridSpec, RadiationSourceEstimator
from simulator.physics.radiation import Detector, PointSource, RadiationField

GRID = GridSpec(0.0, 0.0, 0.5, 40, 30)  # 20 m × 15 m
EFF = 5.0  # counts/s per µSv/h: a GM probe


def survey(
    seed: int, source: tuple[float, float], activity_gbq: float
) -> tuple[list[float], list[float], list[int]]:
    """A robot driving three rows at 0.5 m/s, counting 1 s at a time."""
    field = RadiationField([PointSource(*source, activity_gbq, "Cs-137")])
    det = Detector(EFF, np.random.default_rng(seed))
    xs, ys, ns = [], [], []
    for row in (2.0, 7.5, 13.0):
        for x in np.arange(1.0, 19.0, 0.5):
            xs.append(float(x))
            ys.append(row)
            ns.append(det.count(field.dose_rate_at(float(x), row), 1.0))
    return xs, ys, ns


@pytest.mark.parametrize("activity_gbq", [0.2, 1.0])
def test_localizes_a_cs137_source_from_counts(activity_gbq: float) -> None:
    errors = []
    for seed, src in enumerate([(6.3, 4.1), (12.8, 10.6), (15.1, 5.2), (4.4, 11.9), (9.7, 8.8)]):
        xs, ys, ns = survey(seed, src, activity_gbq)
        est = RadiationSourceEstimator(
            GRID, efficiency_cps_per_usv_h=EFF, backgrounds_usv_h=[0.05, 0.1, 0.2]
        )
        est.add_counts(xs, ys, ns, 1.0)
        result = est.estimate()
        assert result is not None
        errors.append(math.hypot(result.x_m - src[0], result.y_m - src[1]))
        truth = 76.0 * activity_gbq  # µSv/h at 1 m
        lo, hi = result.strength_interval_usv_h_at_1m
        assert lo / 1.5 <= truth <= hi * 1.5
        assert result.readings_used == len(xs)
    assert statistics.median(errors) <= 0.5, errors
    assert max(errors) <= 1.0, errors


def test_dose_rate_readings_work_like_counts() -> None:
    xs, ys, ns = survey(7, (8.2, 6.7), 0.2)
    a = RadiationSourceEstimator(GRID, efficiency_cps_per_usv_h=EFF)
    b = RadiationSourceEstimator(GRID, efficiency_cps_per_usv_h=EFF)
    a.add_counts(xs, ys, ns, 1.0)
    b.add_dose_rates(xs, ys, [n / EFF for n in ns], 1.0)
    ra, rb = a.estimate(), b.estimate()
    assert ra is not None and rb is not None
    assert ra.x_m == pytest.approx(rb.x_m) and ra.y_m == pytest.approx(rb.y_m)
    assert math.hypot(ra.x_m - 8.2, ra.y_m - 6.7) < 0.5
    post = a.posterior_map()
    assert post.shape == GRID.shape and post.sum() == pytest.approx(1.0)


def test_validation_names_the_field() -> None:
    est = RadiationSourceEstimator(GRID, efficiency_cps_per_usv_h=EFF)
    assert est.estimate() is None
    with pytest.raises(ValueError, match="counts"):
        est.add_counts(1.0, 1.0, -3, 1.0)
    with pytest.raises(ValueError, match="live_time_s"):
        est.add_counts(1.0, 1.0, 3, 0.0)
    with pytest.raises(ValueError, match="x_m/y_m"):
        est.add_counts(-1.0, 1.0, 3, 1.0)
    with pytest.raises(ValueError, match="dose_rate_usv_h"):
        est.add_dose_rates(1.0, 1.0, float("nan"), 1.0)
    with pytest.raises(ValueError, match="efficiency_cps_per_usv_h"):
        RadiationSourceEstimator(GRID, efficiency_cps_per_usv_h=0.0)


def test_a_faulty_robot_does_not_move_the_estimate() -> None:
    src = (12.8, 10.6)
    field = RadiationField([PointSource(*src, 0.5, "Cs-137")])
    xs = np.arange(1.0, 19.0, 0.5)
    est = RadiationSourceEstimator(GRID, efficiency_cps_per_usv_h=EFF)
    for k, row in enumerate((2.0, 7.5, 13.0)):
        det = Detector(EFF, np.random.default_rng([3, k]))
        counts = [det.count(field.dose_rate_at(float(x), row), 1.0) for x in xs]
        est.add_counts(xs, row, counts, 1.0, robot_id=f"r{k}")
    base = est.estimate()
    assert base is not None
    assert math.hypot(base.x_m - src[0], base.y_m - src[1]) < 0.5
    # a fourth robot whose counter went wild: tens of µSv/h wherever it drives
    wild = np.random.default_rng(5).lognormal(math.log(50.0), 0.5, xs.size)
    est.add_dose_rates(xs, 9.0, wild, 1.0, robot_id="wild")
    result = est.estimate()
    assert result is not None
    assert result.robot_weights == {"r0": 1.0, "r1": 1.0, "r2": 1.0, "wild": 0.0}
    assert result.readings_used == 3 * xs.size
    assert math.hypot(result.x_m - base.x_m, result.y_m - base.y_m) < 1e-6

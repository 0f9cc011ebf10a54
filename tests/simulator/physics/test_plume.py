"""Gaussian plume with Briggs rural σ (hazards.md §4.1 test anchors)."""

from __future__ import annotations

import math

import pytest

from simulator.physics.plume import PlumeField, Stability, briggs_rural_sigmas_m


def test_anchor_class_d_at_100_m() -> None:
    sigma_y, sigma_z = briggs_rural_sigmas_m(Stability.D, 100.0)
    assert sigma_y == pytest.approx(7.960, rel=1e-3)
    assert sigma_z == pytest.approx(5.595, rel=1e-3)
    plume = PlumeField(0.0, 0.0, 1.0, 1.0, 0.0, "D", release_height_m=0.0)
    assert plume.concentration_at(100.0, 0.0, z_m=0.0) == pytest.approx(7.147e-3, rel=1e-3)


def test_e_and_f_sigma_z_use_exponent_minus_one() -> None:
    x = 1000.0
    _, sz_e = briggs_rural_sigmas_m("E", x)
    _, sz_f = briggs_rural_sigmas_m("F", x)
    assert sz_e == pytest.approx(0.03 * x / (1 + 0.0003 * x), rel=1e-12)
    assert sz_f == pytest.approx(0.016 * x / (1 + 0.0003 * x), rel=1e-12)
    # the −½ bug would give a visibly larger σz
    assert sz_e < 0.03 * x / math.sqrt(1 + 0.0003 * x) * 0.9


@pytest.mark.parametrize(
    ("cls", "ay", "sz_expected"),
    [
        ("A", 0.22, 0.20 * 500),
        ("B", 0.16, 0.12 * 500),
        ("C", 0.11, 0.08 * 500 / math.sqrt(1 + 0.0002 * 500)),
        ("D", 0.08, 0.06 * 500 / math.sqrt(1 + 0.0015 * 500)),
    ],
)
def test_table_rows_a_to_d(cls: str, ay: float, sz_expected: float) -> None:
    sy, sz = briggs_rural_sigmas_m(cls, 500.0)
    assert sy == pytest.approx(ay * 500 / math.sqrt(1 + 0.0001 * 500), rel=1e-12)
    assert sz == pytest.approx(sz_expected, rel=1e-12)


def test_symmetric_in_crosswind_and_zero_upwind() -> None:
    plume = PlumeField(10.0, 20.0, 5.0, 3.0, 0.0, Stability.C, release_height_m=2.0)
    left = plume.concentration_at(210.0, 20.0 + 15.0)
    right = plume.concentration_at(210.0, 20.0 - 15.0)
    assert left > 0
    assert left == pytest.approx(right, rel=1e-12)
    assert plume.concentration_at(210.0, 20.0) > left
    assert plume.concentration_at(10.0 - 100.0, 20.0) == 0.0
    assert plume.concentration_at(10.0, 20.0) == 0.0


def test_wind_direction_rotates_into_map_frame() -> None:
    east = PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "D")
    north = PlumeField(0.0, 0.0, 1.0, 2.0, math.pi / 2, "D")
    diag = PlumeField(0.0, 0.0, 1.0, 2.0, math.pi / 4, "D")
    c_east = east.concentration_at(150.0, 0.0)
    assert c_east > 0
    assert north.concentration_at(0.0, 150.0) == pytest.approx(c_east, rel=1e-9)
    assert north.concentration_at(150.0, 0.0) == 0.0  # crosswind at x = 0 downwind
    r = 150.0 / math.sqrt(2)
    assert diag.concentration_at(r, r) == pytest.approx(c_east, rel=1e-9)
    assert diag.concentration_at(-r, -r) == 0.0


def test_ground_reflection_doubles_ground_level_for_ground_release() -> None:
    plume = PlumeField(0.0, 0.0, 1.0, 1.0, 0.0, "D", release_height_m=0.0)
    sy, sz = briggs_rural_sigmas_m("D", 100.0)
    assert plume.concentration_at(100.0, 0.0, 0.0) == pytest.approx(
        2.0 / (2 * math.pi * sy * sz), rel=1e-12
    )


def test_elevated_release_peaks_near_release_height() -> None:
    plume = PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "F", release_height_m=10.0)
    at_height = plume.concentration_at(300.0, 0.0, 10.0)
    assert at_height > plume.concentration_at(300.0, 0.0, 0.0)
    assert at_height > plume.concentration_at(300.0, 0.0, 20.0)


def test_concentration_scales_with_rate_and_inverse_wind() -> None:
    base = PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "B").concentration_at(200.0, 5.0)
    assert PlumeField(0.0, 0.0, 3.0, 2.0, 0.0, "B").concentration_at(200.0, 5.0) == (
        pytest.approx(3 * base, rel=1e-12)
    )
    assert PlumeField(0.0, 0.0, 1.0, 4.0, 0.0, "B").concentration_at(200.0, 5.0) == (
        pytest.approx(base / 2, rel=1e-12)
    )


@pytest.mark.parametrize("speed", [0.0, 0.5, 0.999, float("nan")])
def test_refuses_wind_below_one_m_s(speed: float) -> None:
    with pytest.raises(ValueError, match="not valid for wind speed"):
        PlumeField(0.0, 0.0, 1.0, speed, 0.0, "D")


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="stability"):
        PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "G")
    with pytest.raises(ValueError, match="rate_g_s"):
        PlumeField(0.0, 0.0, -1.0, 2.0, 0.0, "D")
    with pytest.raises(ValueError, match="release_height_m"):
        PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "D", release_height_m=-1.0)
    with pytest.raises(ValueError, match="z_m"):
        PlumeField(0.0, 0.0, 1.0, 2.0, 0.0, "D").concentration_at(100.0, 0.0, -1.0)

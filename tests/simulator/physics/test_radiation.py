"""Radiation field and detector against hazards.md §4.6."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.physics.radiation import (
    DEFAULT_BACKGROUND_USV_H,
    GAMMA_USV_H_PER_GBQ,
    Detector,
    Material,
    PointSource,
    RadiationField,
    Shield,
    attenuation_coefficient_per_m,
    integrated_dose_usv,
    path_length_in_polygon_m,
)


def _slab(x0_m: float, thickness_m: float, material: Material) -> Shield:
    """A wall from x0 to x0 + thickness, spanning y = -10 .. 10 m."""
    x1_m = x0_m + thickness_m
    return Shield(((x0_m, -10.0), (x1_m, -10.0), (x1_m, 10.0), (x0_m, 10.0)), material)


# ----------------------------------------------------------------- the field


def test_cs137_one_gbq_at_one_metre_is_76_usv_h_plus_background() -> None:
    field = RadiationField([PointSource(0.0, 0.0, 1.0, "Cs-137")])
    assert field.background_usv_h == DEFAULT_BACKGROUND_USV_H == 0.1
    assert field.dose_rate_at(1.0, 0.0) == pytest.approx(76.0 + 0.1, rel=1e-12)
    assert field.dose_rate_at(0.0, -1.0) == pytest.approx(76.1, rel=1e-12)
    assert field.sample("doseRate", 1.0, 0.0, 123.0) == field.dose_rate_at(1.0, 0.0)
    assert field.sample("temperature", 1.0, 0.0, 0.0) is None


def test_gamma_constants_scale_from_cs137() -> None:
    assert GAMMA_USV_H_PER_GBQ["Cs-137"] == 76.0
    assert GAMMA_USV_H_PER_GBQ["Co-60"] == pytest.approx(76.0 * 1.32 / 0.33)  # 304
    assert GAMMA_USV_H_PER_GBQ["Ir-192"] == pytest.approx(76.0 * 0.48 / 0.33)  # 110.5
    field = RadiationField([PointSource(0.0, 0.0, 2.0, "Co-60")], background_usv_h=0.0)
    assert field.dose_rate_at(2.0, 0.0) == pytest.approx(304.0 * 2.0 / 4.0)


@pytest.mark.parametrize("d_m", [0.5, 1.0, 3.0, 25.0])
def test_inverse_square(d_m: float) -> None:
    field = RadiationField([PointSource(5.0, 5.0, 3.0)], background_usv_h=0.0)
    near = field.dose_rate_at(5.0 + d_m, 5.0)
    far = field.dose_rate_at(5.0 + 2.0 * d_m, 5.0)
    assert far == pytest.approx(near / 4.0, rel=1e-12)


def test_sources_add_up() -> None:
    a = PointSource(0.0, 0.0, 1.0)
    b = PointSource(4.0, 0.0, 2.0, "Ir-192")
    both = RadiationField([a, b]).dose_rate_at(2.0, 0.0)
    alone = [RadiationField([s], background_usv_h=0.0).dose_rate_at(2.0, 0.0) for s in (a, b)]
    assert both == pytest.approx(0.1 + sum(alone))


def test_zero_sources_give_background_only() -> None:
    assert RadiationField().dose_rate_at(12.0, -3.0) == 0.1
    assert RadiationField(background_usv_h=0.25).dose_rate_at(0.0, 0.0) == 0.25
    zero = RadiationField([PointSource(0.0, 0.0, 0.0)])
    assert zero.dose_rate_at(0.0, 0.0) == 0.1


def test_minimum_distance_caps_the_singularity() -> None:
    field = RadiationField([PointSource(1.0, 1.0, 1.0)], background_usv_h=0.0)
    at_source = field.dose_rate_at(1.0, 1.0)
    assert at_source == pytest.approx(76.0 / 0.1**2)  # 7,600 µSv/h, finite
    assert field.dose_rate_at(1.05, 1.0) == at_source  # flat inside the minimum distance
    assert field.dose_rate_at(1.2, 1.0) == pytest.approx(76.0 / 0.2**2)
    custom = RadiationField([PointSource(0.0, 0.0, 1.0)], min_distance_m=0.5)
    assert custom.dose_rate_at(0.0, 0.0) == pytest.approx(0.1 + 76.0 / 0.25)


# ----------------------------------------------------------------- shielding


def test_cs137_hvl_of_lead_halves_the_dose_rate() -> None:
    source = [PointSource(0.0, 0.0, 1.0, "Cs-137")]
    bare = RadiationField(source, background_usv_h=0.0)
    shielded = RadiationField(source, [_slab(1.0, 0.0065, Material.LEAD)], background_usv_h=0.0)
    assert shielded.dose_rate_at(3.0, 0.0) == pytest.approx(bare.dose_rate_at(3.0, 0.0) / 2)
    two = RadiationField(source, [_slab(1.0, 0.013, Material.LEAD)], background_usv_h=0.0)
    assert two.dose_rate_at(3.0, 0.0) == pytest.approx(bare.dose_rate_at(3.0, 0.0) / 4)
    # the background is not shielded
    with_bg = RadiationField(source, [_slab(1.0, 0.0065, Material.LEAD)])
    assert with_bg.dose_rate_at(3.0, 0.0) == pytest.approx(0.1 + 76.0 / 9.0 / 2.0)


@pytest.mark.parametrize(
    ("nuclide", "material", "tvl_m"),
    [
        ("Cs-137", Material.CONCRETE, 0.13),
        ("Co-60", Material.CONCRETE, 0.13),
        ("Co-60", Material.LEAD, 0.017),
        ("Ir-192", Material.LEAD, 0.017),
    ],
)
def test_generic_tvl_divides_by_ten(nuclide: str, material: Material, tvl_m: float) -> None:
    source = [PointSource(0.0, 0.0, 1.0, nuclide)]
    bare = RadiationField(source, background_usv_h=0.0).dose_rate_at(2.0, 0.0)
    shielded = RadiationField(source, [_slab(0.5, tvl_m, material)], background_usv_h=0.0)
    assert shielded.dose_rate_at(2.0, 0.0) == pytest.approx(bare / 10.0, rel=1e-9)


def test_attenuation_coefficients() -> None:
    assert attenuation_coefficient_per_m("Cs-137", Material.LEAD) == pytest.approx(
        math.log(2) / 0.0065
    )
    assert attenuation_coefficient_per_m("Cs-137", Material.CONCRETE) == pytest.approx(
        math.log(10) / 0.13
    )
    with pytest.raises(ValueError):
        attenuation_coefficient_per_m("U-235", Material.LEAD)


def test_oblique_path_is_longer_and_shield_off_the_line_does_nothing() -> None:
    source = [PointSource(0.0, 0.0, 1.0)]
    bare = RadiationField(source, background_usv_h=0.0)
    wall = _slab(1.0, 0.0065, Material.LEAD)
    shielded = RadiationField(source, [wall], background_usv_h=0.0)
    # at 45° the ray crosses √2 × 6.5 mm of lead
    ratio = shielded.dose_rate_at(3.0, 3.0) / bare.dose_rate_at(3.0, 3.0)
    assert ratio == pytest.approx(2.0 ** (-math.sqrt(2.0)), rel=1e-9)
    # a receptor on the source's side of the wall sees no shielding
    assert shielded.dose_rate_at(-3.0, 2.0) == bare.dose_rate_at(-3.0, 2.0)
    # mu override
    custom = Shield(wall.polygon_m, Material.LEAD, mu_per_m=0.0)
    assert RadiationField(source, [custom], background_usv_h=0.0).dose_rate_at(
        3.0, 0.0
    ) == bare.dose_rate_at(3.0, 0.0)


def test_path_length_through_non_convex_polygon() -> None:
    # a U open to the north: two 1 m arms and a 1 m base, 3 m wide
    u_shape = np.array(
        [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)], dtype=float
    )
    # a horizontal line through the arms crosses 1 m + 1 m of material
    assert path_length_in_polygon_m(-1.0, 2.0, 4.0, 2.0, u_shape) == pytest.approx(2.0)
    # through the base: 3 m
    assert path_length_in_polygon_m(-1.0, 0.5, 4.0, 0.5, u_shape) == pytest.approx(3.0)
    # starting inside an arm
    assert path_length_in_polygon_m(0.5, 2.0, 4.0, 2.0, u_shape) == pytest.approx(1.5)
    # wholly inside, and wholly in the notch
    assert path_length_in_polygon_m(0.2, 0.2, 2.8, 0.8, u_shape) == pytest.approx(
        math.hypot(2.6, 0.6)
    )
    assert path_length_in_polygon_m(1.2, 1.5, 1.8, 2.5, u_shape) == 0.0
    # the diagonal y = x runs through vertices (0,0), (1,1) and (3,3): inside the base up
    # to the notch's corner (1,1), in the notch to (2,2), then inside the right arm
    diag = path_length_in_polygon_m(-1.0, -1.0, 4.0, 4.0, u_shape)
    assert diag == pytest.approx(math.sqrt(2.0) * 2.0)  # (0,0)-(1,1) and (2,2)-(3,3)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        PointSource(0.0, 0.0, 1.0, "Am-241")
    with pytest.raises(ValueError):
        PointSource(0.0, 0.0, -1.0)
    with pytest.raises(ValueError):
        Shield(((0.0, 0.0), (1.0, 0.0)))
    with pytest.raises(ValueError):
        RadiationField(min_distance_m=0.0)
    with pytest.raises(ValueError):
        Detector(0.0, np.random.default_rng(0))


# ----------------------------------------------------------------- the detector


def test_poisson_counts_mean_and_variance() -> None:
    detector = Detector(5.0, np.random.default_rng(2024))
    dose_rate_usv_h, dt_s, n = 10.0, 1.0, 20_000
    lam = dose_rate_usv_h * 5.0 * dt_s  # 50 expected counts
    counts = np.array([detector.count(dose_rate_usv_h, dt_s) for _ in range(n)])
    # standard errors: of the mean sqrt(λ/n); of the sample variance sqrt((λ + 2λ²)/n)
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n)
    assert abs(counts.var(ddof=1) - lam) < 4 * math.sqrt((lam + 2 * lam**2) / n)
    measured = np.array([detector.measured_dose_rate(int(c), dt_s) for c in counts[:1000]])
    assert measured.mean() == pytest.approx(dose_rate_usv_h, rel=0.02)
    assert detector.measured_dose_rate(50, 1.0) == 10.0


def test_background_only_counts() -> None:
    field = RadiationField()
    detector = Detector(2.0, np.random.default_rng(9))
    dt_s, n = 10.0, 5000
    lam = 0.1 * 2.0 * dt_s  # 2 counts per 10 s
    counts = np.array([detector.count(field.dose_rate_at(0.0, 0.0), dt_s) for _ in range(n)])
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n)
    assert counts.min() == 0  # low rates are noisy: zero counts happen


def test_same_seed_same_counts() -> None:
    a = Detector(3.0, np.random.default_rng(1))
    b = Detector(3.0, np.random.default_rng(1))
    assert [a.count(7.0, 0.5) for _ in range(50)] == [b.count(7.0, 0.5) for _ in range(50)]
    assert Detector(1.0, np.random.default_rng(0)).count(0.0, 5.0) == 0


# ----------------------------------------------------------------- integrated dose


def test_integrated_dose_background_only() -> None:
    field = RadiationField()
    path = [(0.0, 0.0), (30.0, 0.0), (30.0, 40.0)]  # 70 m
    assert integrated_dose_usv(field, path, 0.5) == pytest.approx(0.1 * 140.0 / 3600.0)


def test_integrated_dose_passing_a_source_matches_the_analytic_integral() -> None:
    # ∫ ΓA/(h² + s²) ds over s = -a..a is 2ΓA/h · atan(a/h); divided by speed, in hours
    gamma_a, h_m, a_m, speed_m_s = 76.0 * 5.0, 2.0, 20.0, 0.8
    field = RadiationField([PointSource(0.0, h_m, 5.0)], background_usv_h=0.0)
    dose = integrated_dose_usv(field, [(-a_m, 0.0), (a_m, 0.0)], speed_m_s)
    expected = 2 * gamma_a / h_m * math.atan(a_m / h_m) / speed_m_s / 3600.0
    assert dose == pytest.approx(expected, rel=1e-4)
    # and a stationary robot: rate × time is what dose_rate_at gives directly
    assert field.dose_rate_at(0.0, 0.0) * 0.5 == pytest.approx(gamma_a / 4 * 0.5)

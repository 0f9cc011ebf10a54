"""Pool evaporation (Mackay & Matsugu 1973): the anchor, the scaling, running dry."""

from __future__ import annotations

import math

import pytest

from simulator.physics.spill import GAS_CONSTANT_J_MOL_K, Pool, mass_transfer_coefficient_m_s


def nh3_pool(mass_g: float = 1e6) -> Pool:
    return Pool(0.0, 0.0, 1.7, mass_g=mass_g, vapour_pressure_pa=10_000.0, molar_mass_g_mol=17.031)


def test_the_anchor_of_the_module_docstring() -> None:
    k = mass_transfer_coefficient_m_s(1.5, 3.4, 0.6)
    assert k == pytest.approx(8.07e-3, rel=1e-3)
    expected = k * math.pi * 1.7**2 * 10_000 * 17.031 / (GAS_CONSTANT_J_MOL_K * 293.15)
    assert nh3_pool().evaporation_rate_g_s(1.5) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(5.12, abs=0.01)


def test_the_rate_follows_the_correlation_exponents() -> None:
    base = mass_transfer_coefficient_m_s(2.0, 4.0, 0.6)
    assert mass_transfer_coefficient_m_s(4.0, 4.0, 0.6) / base == pytest.approx(2 ** (7 / 9))
    assert mass_transfer_coefficient_m_s(2.0, 8.0, 0.6) / base == pytest.approx(2 ** (-1 / 9))
    assert mass_transfer_coefficient_m_s(2.0, 4.0, 1.2) / base == pytest.approx(2 ** (-2 / 3))
    # still air is read as a 0.1 m/s breeze, not as no evaporation at all
    assert mass_transfer_coefficient_m_s(0.0, 4.0, 0.6) == mass_transfer_coefficient_m_s(
        0.1, 4.0, 0.6
    )


def test_a_pool_runs_dry_and_never_gives_more_than_it_held() -> None:
    pool = nh3_pool(mass_g=12.0)  # 5.12 g/s: gone within the third second
    gone = [pool.step(1.0, 1.5) for _ in range(4)]
    assert gone[0] == pytest.approx(5.12, abs=0.01)
    assert sum(gone) == pytest.approx(12.0)
    assert gone[3] == 0.0 and not pool.liquid_left
    assert pool.evaporated_g == pytest.approx(12.0)
    assert pool.evaporation_rate_g_s(1.5) == 0.0


@pytest.mark.parametrize("field", ["radius_m", "vapour_pressure_pa", "molar_mass_g_mol", "schmidt"])
def test_bad_pool_parameters_are_named(field: str) -> None:
    kwargs = {"radius_m": 1.0, "vapour_pressure_pa": 1.0, "molar_mass_g_mol": 1.0, "schmidt": 1.0}
    kwargs[field] = 0.0
    with pytest.raises(ValueError, match=field):
        Pool(0.0, 0.0, mass_g=1.0, **kwargs)

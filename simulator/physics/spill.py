"""A liquid spill: a pool on the floor that evaporates into the gas field.

Evaporation from a pool is limited by mass transfer through the air above it.  The
model is the one used by the US EPA's RMP guidance and by ALOHA for non-boiling pools
(Mackay & Matsugu 1973, *Evaporation rates of liquid hydrocarbon spills on land and
water*, Can. J. Chem. Eng. 51: 434-439)::

    k_m = 0.0048 · u^(7/9) · d^(-1/9) · Sc^(-2/3)      mass-transfer coefficient, m/s
    E   = k_m · A · M · P_v / (R · T)                    evaporation rate, g/s

with ``u`` the wind speed (m/s), ``d`` the pool diameter (m), ``Sc`` the vapour's Schmidt
number in air, ``A`` the pool area (m²), ``M`` the molar mass (g/mol), ``P_v`` the
vapour's partial pressure over the liquid (Pa), ``R`` = 8.314 J/(mol·K) and ``T`` the
liquid temperature (K).  Anchor (tested): NH3 over a 3.4 m pool in a 1.5 m/s wind,
``Sc`` 0.6, ``P_v`` 10 kPa at 20 °C gives ``k_m`` = 8.07e-3 m/s and 5.08 g/s.

The pool keeps its area (bunded, or spread to its final size before the drill) and
evaporates at that rate until its inventory is gone, then stops; the rate does not fall
as a mixture's volatile part depletes (a conservative, constant source).  Evaporation
cools the liquid: the pool surface reads ``cooling_k`` below ambient on a thermal
camera while liquid is left (evaporating liquids are colder than the floor; reference
§2.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GAS_CONSTANT_J_MOL_K = 8.314
_MIN_WIND_M_S = 0.1
"""below this the correlation is extrapolated too far: still air is read as 0.1 m/s"""


def mass_transfer_coefficient_m_s(wind_m_s: float, diameter_m: float, schmidt: float) -> float:
    """Mackay & Matsugu (1973) k_m in m/s (module docstring)."""
    if not (diameter_m > 0 and schmidt > 0):
        raise ValueError(f"diameter_m and schmidt must be > 0, got {diameter_m}, {schmidt}")
    u = max(_MIN_WIND_M_S, wind_m_s)
    return float(0.0048 * u ** (7 / 9) * diameter_m ** (-1 / 9) * schmidt ** (-2 / 3))


@dataclass
class Pool:
    """A circular pool of liquid at (``x_m``, ``y_m``) with radius ``radius_m``."""

    x_m: float
    y_m: float
    radius_m: float
    mass_g: float
    """liquid that can still evaporate (g of the vapour's species)"""
    vapour_pressure_pa: float
    molar_mass_g_mol: float
    temperature_c: float = 20.0
    schmidt: float = 0.6
    evaporated_g: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        for name in ("radius_m", "vapour_pressure_pa", "molar_mass_g_mol", "schmidt"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"Pool.{name} must be > 0, got {value}")
        if not (math.isfinite(self.mass_g) and self.mass_g >= 0):
            raise ValueError(f"Pool.mass_g must be >= 0, got {self.mass_g}")

    @property
    def area_m2(self) -> float:
        return math.pi * self.radius_m**2

    @property
    def liquid_left(self) -> bool:
        return self.mass_g > 0.0

    def evaporation_rate_g_s(self, wind_m_s: float) -> float:
        """E in g/s while liquid is left, 0 after (module docstring)."""
        if not self.liquid_left:
            return 0.0
        k = mass_transfer_coefficient_m_s(wind_m_s, 2.0 * self.radius_m, self.schmidt)
        t_k = self.temperature_c + 273.15
        vapour_g_m3 = self.vapour_pressure_pa * self.molar_mass_g_mol / (GAS_CONSTANT_J_MOL_K * t_k)
        return k * self.area_m2 * vapour_g_m3

    def step(self, dt_s: float, wind_m_s: float) -> float:
        """Evaporate for ``dt_s`` seconds; the grams that left the pool (all that was left
        when the pool runs dry within the step)."""
        if not (math.isfinite(dt_s) and dt_s >= 0):
            raise ValueError(f"dt_s must be finite and >= 0, got {dt_s}")
        gone = min(self.mass_g, self.evaporation_rate_g_s(wind_m_s) * dt_s)
        self.mass_g -= gone
        self.evaporated_g += gone
        if self.mass_g < 1e-9:
            self.mass_g = 0.0
        return gone

    def covers(self, x_m: float, y_m: float) -> bool:
        return math.hypot(x_m - self.x_m, y_m - self.y_m) <= self.radius_m


__all__ = ["GAS_CONSTANT_J_MOL_K", "Pool", "mass_transfer_coefficient_m_s"]

"""Outdoor gas release: steady Gaussian plume with ground reflection (hazards.md §4.1).

::

    C(x, y, z) = Q / (2π u σy σz) · exp(−y²/(2σy²))
                 · [exp(−(z−H)²/(2σz²)) + exp(−(z+H)²/(2σz²))]

with x the downwind and y the crosswind distance from the source (m), z the receptor height
above ground (m), Q the release rate (g/s), u the wind speed (m/s), H the release height (m),
and C in g/m³.  σy, σz (m) are the Briggs (1973) rural correlations for Pasquill–Gifford
classes A–F (AIChE/CCPS).  Note the E and F σz use the exponent −1, not −½: a public
implementation gets this wrong.

Validity: the reference gives ~100 m–10 km downwind and wind ≥ 1 m/s.  Below 1 m/s the model
is refused (ValueError), because it divides by u and has no meaning in calm air; use the
gridded solver (:mod:`simulator.physics.gas`) for calm or indoor releases.  Closer than
100 m the formula is still evaluated, but it is an extrapolation: use it for outdoor
scenarios only.

The plume is stationary: it has no time step.  It is queried at map points; the wind
direction is the map-frame angle (rad, CCW from +x) the air moves toward (see
:func:`simulator.physics.grid.map_direction_from_meteorological`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

MIN_WIND_SPEED_M_S = 1.0
"""Below this the Gaussian plume is not valid (hazards.md §4.1)."""


class Stability(enum.Enum):
    """Pasquill–Gifford atmospheric stability class: A very unstable … F moderately stable."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


@dataclass(frozen=True)
class _Briggs:
    ay: float
    az: float
    bz: float
    """coefficient inside (1 + bz·x)"""
    pz: float
    """exponent of (1 + bz·x) in σz"""


# σy = ay·x·(1 + 0.0001x)^−½ for every class; σz = az·x·(1 + bz·x)^pz.
_BRIGGS_RURAL: dict[Stability, _Briggs] = {
    Stability.A: _Briggs(0.22, 0.20, 0.0, 0.0),
    Stability.B: _Briggs(0.16, 0.12, 0.0, 0.0),
    Stability.C: _Briggs(0.11, 0.08, 0.0002, -0.5),
    Stability.D: _Briggs(0.08, 0.06, 0.0015, -0.5),
    Stability.E: _Briggs(0.06, 0.03, 0.0003, -1.0),
    Stability.F: _Briggs(0.04, 0.016, 0.0003, -1.0),
}


def briggs_rural_sigmas_m(stability: Stability | str, downwind_m: float) -> tuple[float, float]:
    """Briggs rural dispersion coefficients ``(σy, σz)`` in m at ``downwind_m`` > 0."""
    if downwind_m <= 0:
        raise ValueError(f"Briggs σ needs a downwind distance > 0 m, got {downwind_m}")
    c = _BRIGGS_RURAL[_stability(stability)]
    x = downwind_m
    sigma_y = c.ay * x * (1.0 + 0.0001 * x) ** -0.5
    sigma_z = c.az * x * (1.0 + c.bz * x) ** c.pz
    return sigma_y, sigma_z


def _stability(value: Stability | str) -> Stability:
    if isinstance(value, Stability):
        return value
    try:
        return Stability(value.upper())
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"stability class must be one of A–F, got {value!r}") from exc


class PlumeField:
    """Steady Gaussian plume of one point source, queryable at map points (g/m³)."""

    def __init__(
        self,
        source_x_m: float,
        source_y_m: float,
        rate_g_s: float,
        wind_speed_m_s: float,
        wind_dir_rad: float,
        stability: Stability | str,
        release_height_m: float = 0.0,
    ) -> None:
        if not math.isfinite(wind_speed_m_s) or wind_speed_m_s < MIN_WIND_SPEED_M_S:
            raise ValueError(
                f"Gaussian plume is not valid for wind speed {wind_speed_m_s} m/s: it needs "
                f"≥ {MIN_WIND_SPEED_M_S} m/s (hazards.md §4.1); use the grid solver in calm air"
            )
        if not math.isfinite(rate_g_s) or rate_g_s < 0:
            raise ValueError(f"plume rate_g_s must be ≥ 0, got {rate_g_s}")
        if not math.isfinite(release_height_m) or release_height_m < 0:
            raise ValueError(f"plume release_height_m must be ≥ 0, got {release_height_m}")
        if not (math.isfinite(source_x_m) and math.isfinite(source_y_m)):
            raise ValueError("plume source position must be finite")
        if not math.isfinite(wind_dir_rad):
            raise ValueError("plume wind_dir_rad must be finite")
        self.source_x_m = source_x_m
        self.source_y_m = source_y_m
        self.rate_g_s = rate_g_s
        self.wind_speed_m_s = wind_speed_m_s
        self.wind_dir_rad = wind_dir_rad
        self.stability = _stability(stability)
        self.release_height_m = release_height_m
        self._cos = math.cos(wind_dir_rad)
        self._sin = math.sin(wind_dir_rad)

    def to_plume_frame(self, x_m: float, y_m: float) -> tuple[float, float]:
        """Downwind and crosswind distances (m) of a map point from the source."""
        dx = x_m - self.source_x_m
        dy = y_m - self.source_y_m
        return (dx * self._cos + dy * self._sin, -dx * self._sin + dy * self._cos)

    def concentration_at(self, x_m: float, y_m: float, z_m: float = 1.5) -> float:
        """Concentration (g/m³) at map point (``x_m``, ``y_m``) and height ``z_m`` above
        ground; 0 at and upwind of the source."""
        if not math.isfinite(z_m) or z_m < 0:
            raise ValueError(f"receptor height z_m must be ≥ 0, got {z_m}")
        downwind, crosswind = self.to_plume_frame(x_m, y_m)
        if downwind <= 0.0 or self.rate_g_s == 0.0:
            return 0.0
        sigma_y, sigma_z = briggs_rural_sigmas_m(self.stability, downwind)
        h = self.release_height_m
        lateral = math.exp(-(crosswind**2) / (2.0 * sigma_y**2))
        vertical = math.exp(-((z_m - h) ** 2) / (2.0 * sigma_z**2)) + math.exp(
            -((z_m + h) ** 2) / (2.0 * sigma_z**2)
        )
        return (
            self.rate_g_s
            / (2.0 * math.pi * self.wind_speed_m_s * sigma_y * sigma_z)
            * lateral
            * vertical
        )

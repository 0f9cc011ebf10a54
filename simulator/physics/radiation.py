"""Gamma radiation field of point sources, with shielding and a Poisson counting detector.

Model (hazards.md §4.6).  The ambient dose rate at a map point is the background plus, per
point source, ::

    Ḣ(d) = Γ · A / d² · exp(−Σ μ_i · x_i) · B            µSv/h

with Γ the source's dose-rate constant (µSv/h per GBq at 1 m), A its activity (GBq), d the
distance (m), x_i the straight-line path length (m) from the source to the point through
shield i and μ_i that shield's linear attenuation coefficient for the source's gamma
energy (1/m).  Assumptions, each a simplification a drill engineer should know about:

* **Build-up B = 1** (narrow beam).  Broad-beam scatter through thick lead would add 5–19 %
  (B ≈ 1.05–1.19 for 2.9 cm Pb), so shielded readings are slightly optimistic.
* **Plan view.**  Sources, shields and receptors are points and polygons on the site map;
  height is ignored (the source and the detector are taken at the same height) and air
  attenuation is neglected (< 1 % per 10 m at Cs-137's 662 keV).
* **Minimum distance.**  A point source's 1/d² diverges at the source, and a real source
  has a housing and a detector has a size, so d is clamped to ``min_distance_m``
  (default 0.1 m, i.e. about contact with a source container): at and inside it the dose
  rate is flat, e.g. 7,600 µSv/h for 1 GBq of Cs-137.
* **Shields do not overlap**: path lengths through overlapping polygons are added.
* **Activity is constant**: the half-lives (Cs-137 30 y, Co-60 5.3 y, Ir-192 74 d) are
  far longer than a drill, so the field is stateless in time (no ``step``).

Γ (hazards.md §4.6): Cs-137 is 0.33 R·m²/(Ci·h), i.e. 76 µSv/h per GBq at 1 m.  Co-60
(1.32) and Ir-192 (0.48) are scaled from Cs-137 by the ratio of their R·m²/(Ci·h)
constants, giving 304.0 and 110.5 µSv/h per GBq at 1 m.

Attenuation (hazards.md §4.6): μ = ln 2 / HVL or ln 10 / TVL.  The reference gives one
nuclide-specific value, the Cs-137 HVL in lead of 6.5 mm (μ = 106.6 /m), used for
Cs-137 behind lead; every other pair uses the generic average-gamma TVL, 13 cm of
concrete (μ = 17.71 /m) or 1.7 cm of lead (μ = 135.4 /m).  The generic lead TVL
overstates lead's stopping power for Co-60's 1.17/1.33 MeV gammas (a lead HVL of about
12 mm is usual for Co-60, *verify*), so Co-60 behind lead reads low: pass ``mu_per_m`` to a
:class:`Shield` to override.

Counting (hazards.md §4.6): a detector of efficiency ``eff`` (counts/s per µSv/h) in a
field of true dose rate Ḣ (background included) counts N ~ Poisson(Ḣ · eff · dt) in dt
seconds and reports N / (eff · dt).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SECONDS_PER_HOUR = 3600.0

GAMMA_R_M2_PER_CI_H: Mapping[str, float] = MappingProxyType(
    {"Cs-137": 0.33, "Co-60": 1.32, "Ir-192": 0.48}
)
"""Specific gamma-ray constants, R·m²/(Ci·h) (hazards.md §4.6)."""

CS137_GAMMA_USV_H_PER_GBQ = 76.0
"""Cs-137 dose rate at 1 m from 1 GBq, µSv/h (hazards.md §4.6)."""

GAMMA_USV_H_PER_GBQ: Mapping[str, float] = MappingProxyType(
    {
        nuclide: CS137_GAMMA_USV_H_PER_GBQ * gamma / GAMMA_R_M2_PER_CI_H["Cs-137"]
        for nuclide, gamma in GAMMA_R_M2_PER_CI_H.items()
    }
)
"""Dose rate at 1 m per GBq, µSv/h, for each known nuclide (scaled from Cs-137)."""

DEFAULT_BACKGROUND_USV_H = 0.1
"""Natural background dose rate, µSv/h (the same as :class:`simulator.environment.CleanAir`)."""

DEFAULT_MIN_DISTANCE_M = 0.1
"""Distance below which the 1/d² law is clamped, m."""


class Material(StrEnum):
    LEAD = "lead"
    CONCRETE = "concrete"


CS137_HVL_LEAD_M = 0.0065
"""Cs-137 half-value layer in lead, m (hazards.md §4.6, *verify*)."""

GENERIC_TVL_M: Mapping[Material, float] = MappingProxyType(
    {Material.CONCRETE: 0.13, Material.LEAD: 0.017}
)
"""Average-gamma tenth-value layers, m (hazards.md §4.6; generic)."""


def attenuation_coefficient_per_m(nuclide: str, material: Material) -> float:
    """Linear attenuation coefficient μ (1/m) of ``material`` for ``nuclide``'s gammas:
    ln 2 / 6.5 mm for Cs-137 in lead, else ln 10 / the generic TVL (module docstring)."""
    if nuclide not in GAMMA_USV_H_PER_GBQ:
        raise ValueError(f"unknown nuclide {nuclide!r}; known: {sorted(GAMMA_USV_H_PER_GBQ)}")
    if nuclide == "Cs-137" and material is Material.LEAD:
        return _LN2 / CS137_HVL_LEAD_M
    return _LN10 / GENERIC_TVL_M[Material(material)]


@dataclass(frozen=True)
class PointSource:
    """A gamma point source at map point (x_m, y_m) with ``activity_gbq`` GBq of
    ``nuclide`` (a key of :data:`GAMMA_USV_H_PER_GBQ`)."""

    x_m: float
    y_m: float
    activity_gbq: float
    nuclide: str = "Cs-137"

    def __post_init__(self) -> None:
        if self.nuclide not in GAMMA_USV_H_PER_GBQ:
            raise ValueError(
                f"PointSource.nuclide: unknown {self.nuclide!r}; "
                f"known: {sorted(GAMMA_USV_H_PER_GBQ)}"
            )
        if not (self.activity_gbq >= 0.0 and math.isfinite(self.activity_gbq)):
            raise ValueError(f"PointSource.activity_gbq must be >= 0, got {self.activity_gbq}")
        if not (math.isfinite(self.x_m) and math.isfinite(self.y_m)):
            raise ValueError(f"PointSource position must be finite, got ({self.x_m}, {self.y_m})")

    @property
    def gamma_usv_h_per_gbq(self) -> float:
        """Dose rate at 1 m per GBq, µSv/h."""
        return GAMMA_USV_H_PER_GBQ[self.nuclide]


@dataclass(frozen=True)
class Shield:
    """A shielding wall or block: a simple polygon (vertices (x_m, y_m) in order, not
    closed) of ``material``; ``mu_per_m`` overrides the tabulated attenuation coefficient
    (1/m) for every nuclide."""

    polygon_m: tuple[tuple[float, float], ...]
    material: Material = Material.CONCRETE
    mu_per_m: float | None = None
    _vertices: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vertices = np.asarray(self.polygon_m, dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 2 or vertices.shape[0] < 3:
            raise ValueError(f"Shield.polygon_m needs >= 3 (x, y) vertices, got {self.polygon_m}")
        if not np.all(np.isfinite(vertices)):
            raise ValueError("Shield.polygon_m holds non-finite coordinates")
        if self.mu_per_m is not None and not self.mu_per_m >= 0.0:
            raise ValueError(f"Shield.mu_per_m must be >= 0, got {self.mu_per_m}")
        object.__setattr__(self, "material", Material(self.material))
        object.__setattr__(self, "_vertices", vertices)

    def mu_for(self, nuclide: str) -> float:
        """Attenuation coefficient (1/m) of this shield for ``nuclide``'s gammas."""
        if self.mu_per_m is not None:
            return self.mu_per_m
        return attenuation_coefficient_per_m(nuclide, self.material)

    def path_length_m(self, ax_m: float, ay_m: float, bx_m: float, by_m: float) -> float:
        """Length (m) of the straight segment A→B that lies inside this polygon."""
        return path_length_in_polygon_m(ax_m, ay_m, bx_m, by_m, self._vertices)


def _inside(x_m: float, y_m: float, vertices: NDArray[np.float64]) -> bool:
    """Even-odd ray casting towards +x."""
    x0 = vertices[:, 0]
    y0 = vertices[:, 1]
    x1 = np.roll(x0, -1)
    y1 = np.roll(y0, -1)
    straddles = (y0 > y_m) != (y1 > y_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y_m - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(straddles & (x_cross > x_m)) % 2 == 1)


def path_length_in_polygon_m(
    ax_m: float, ay_m: float, bx_m: float, by_m: float, vertices_m: NDArray[np.float64]
) -> float:
    """Length (m) of segment A→B inside the simple polygon ``vertices_m`` (n, 2).

    The segment is cut where it crosses the polygon's edges; each piece is inside or
    outside as a whole, which its midpoint decides.  Works for non-convex polygons."""
    dx = bx_m - ax_m
    dy = by_m - ay_m
    length_m = math.hypot(dx, dy)
    if length_m == 0.0:
        return 0.0
    p = np.asarray(vertices_m, dtype=np.float64)
    q = np.roll(p, -1, axis=0)
    ex = q[:, 0] - p[:, 0]
    ey = q[:, 1] - p[:, 1]
    denom = dx * ey - dy * ex
    wx = p[:, 0] - ax_m
    wy = p[:, 1] - ay_m
    # Edges parallel to the segment are skipped: a piece running along an edge is then
    # classified by its midpoint, which lies on the boundary (either answer is a
    # zero-thickness difference).
    ok = np.abs(denom) > 1e-15 * length_m * np.maximum(np.hypot(ex, ey), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ok, (wx * ey - wy * ex) / denom, -1.0)
        s = np.where(ok, (wx * dy - wy * dx) / denom, -1.0)
    hits = t[ok & (t > 0.0) & (t < 1.0) & (s >= 0.0) & (s <= 1.0)]
    cuts = np.unique(np.concatenate(([0.0, 1.0], hits)))
    inside_t = 0.0
    for t0, t1 in itertools.pairwise(cuts):
        mid = 0.5 * (t0 + t1)
        if _inside(ax_m + mid * dx, ay_m + mid * dy, p):
            inside_t += t1 - t0
    return float(inside_t * length_m)


class RadiationField:
    """Ambient gamma dose rate (µSv/h) of point sources behind shields, plus background."""

    def __init__(
        self,
        sources: Sequence[PointSource] = (),
        shields: Sequence[Shield] = (),
        *,
        background_usv_h: float = DEFAULT_BACKGROUND_USV_H,
        min_distance_m: float = DEFAULT_MIN_DISTANCE_M,
    ) -> None:
        if not (background_usv_h >= 0.0 and math.isfinite(background_usv_h)):
            raise ValueError(f"background_usv_h must be >= 0, got {background_usv_h}")
        if not (min_distance_m > 0.0 and math.isfinite(min_distance_m)):
            raise ValueError(f"min_distance_m must be > 0, got {min_distance_m}")
        self._sources = tuple(sources)
        self._shields = tuple(shields)
        self._background_usv_h = float(background_usv_h)
        self._min_distance_m = float(min_distance_m)

    @property
    def sources(self) -> tuple[PointSource, ...]:
        return self._sources

    @property
    def shields(self) -> tuple[Shield, ...]:
        return self._shields

    @property
    def background_usv_h(self) -> float:
        return self._background_usv_h

    @property
    def min_distance_m(self) -> float:
        return self._min_distance_m

    def source_dose_rate_usv_h(self, source: PointSource, x_m: float, y_m: float) -> float:
        """One source's contribution at map point (x_m, y_m), µSv/h (no background)."""
        d_m = max(math.hypot(x_m - source.x_m, y_m - source.y_m), self._min_distance_m)
        optical_depth = 0.0
        for shield in self._shields:
            thickness_m = shield.path_length_m(source.x_m, source.y_m, x_m, y_m)
            if thickness_m > 0.0:
                optical_depth += shield.mu_for(source.nuclide) * thickness_m
        unshielded = source.gamma_usv_h_per_gbq * source.activity_gbq / d_m**2
        return unshielded * math.exp(-optical_depth)

    def signal_at(self, x_m: float, y_m: float) -> float:
        """Dose rate of all sources at map point (x_m, y_m), µSv/h, without background."""
        return sum(self.source_dose_rate_usv_h(s, x_m, y_m) for s in self._sources)

    def dose_rate_at(self, x_m: float, y_m: float) -> float:
        """True ambient dose rate at map point (x_m, y_m), µSv/h: background + sources."""
        return self._background_usv_h + self.signal_at(x_m, y_m)

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        """:class:`~simulator.environment.Environment`-style query: ``doseRate`` (µSv/h);
        None for any other quantity.  The field does not change in time."""
        if quantity == "doseRate":
            return self.dose_rate_at(x_m, y_m)
        return None


class Detector:
    """A gamma counter: Poisson counts for a true dose rate, and the dose rate it reports.

    ``efficiency_cps_per_usv_h`` is counts per second per µSv/h (a GM tube is of order
    1–10, a NaI scintillator hundreds).  The generator is owned by the detector from then on.
    """

    def __init__(self, efficiency_cps_per_usv_h: float, rng: np.random.Generator) -> None:
        if not (efficiency_cps_per_usv_h > 0.0 and math.isfinite(efficiency_cps_per_usv_h)):
            raise ValueError(
                f"efficiency_cps_per_usv_h must be > 0, got {efficiency_cps_per_usv_h}"
            )
        self._efficiency = float(efficiency_cps_per_usv_h)
        self._rng = rng

    @property
    def efficiency_cps_per_usv_h(self) -> float:
        return self._efficiency

    def count(self, dose_rate_usv_h: float, dt_s: float) -> int:
        """Counts in ``dt_s`` seconds at true dose rate ``dose_rate_usv_h`` (background
        included, as :meth:`RadiationField.dose_rate_at` gives it): Poisson(Ḣ·eff·dt)."""
        if not (dose_rate_usv_h >= 0.0 and math.isfinite(dose_rate_usv_h)):
            raise ValueError(f"dose_rate_usv_h must be finite and >= 0, got {dose_rate_usv_h}")
        if not (dt_s >= 0.0 and math.isfinite(dt_s)):
            raise ValueError(f"dt_s must be finite and >= 0, got {dt_s}")
        return int(self._rng.poisson(dose_rate_usv_h * self._efficiency * dt_s))

    def measured_dose_rate(self, counts: int, dt_s: float) -> float:
        """Dose rate (µSv/h) the detector reports for ``counts`` in ``dt_s`` seconds."""
        if not dt_s > 0.0:
            raise ValueError(f"dt_s must be > 0, got {dt_s}")
        if counts < 0:
            raise ValueError(f"counts must be >= 0, got {counts}")
        return counts / (self._efficiency * dt_s)

    def measure(self, dose_rate_usv_h: float, dt_s: float) -> float:
        """Count for ``dt_s`` seconds and report the dose rate, µSv/h."""
        return self.measured_dose_rate(self.count(dose_rate_usv_h, dt_s), dt_s)


def integrated_dose_usv(
    field: RadiationField,
    path_m: Sequence[tuple[float, float]],
    speed_m_s: float,
    *,
    max_step_m: float = 0.05,
) -> float:
    """Dose (µSv) received travelling the polyline ``path_m`` at constant ``speed_m_s``.

    Each leg is cut into pieces no longer than ``max_step_m`` and the true dose rate is
    taken at each piece's midpoint (midpoint rule; relative error well under 1e-3 when
    the path keeps more than ten steps away from every source)."""
    if not (speed_m_s > 0.0 and math.isfinite(speed_m_s)):
        raise ValueError(f"speed_m_s must be > 0, got {speed_m_s}")
    if not max_step_m > 0.0:
        raise ValueError(f"max_step_m must be > 0, got {max_step_m}")
    dose_usv = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(path_m):
        leg_m = math.hypot(x1 - x0, y1 - y0)
        if leg_m == 0.0:
            continue
        pieces = math.ceil(leg_m / max_step_m)
        piece_h = leg_m / pieces / speed_m_s / _SECONDS_PER_HOUR
        for k in range(pieces):
            f = (k + 0.5) / pieces
            dose_usv += field.dose_rate_at(x0 + f * (x1 - x0), y0 + f * (y1 - y0)) * piece_h
    return dose_usv

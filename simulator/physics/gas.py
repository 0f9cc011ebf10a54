"""Gas release on a grid with walls: advection–diffusion (hazards.md §4.2).

Model, per unit of the mixing height::

    ∂c/∂t + u·∇c = ∇·(K∇c) + S − λc

Units and the 2-D assumption:

* ``c`` is a mass concentration in **g/m³**, the mean over a well-mixed layer of height
  ``mixing_height_m`` above the floor.  Nothing varies in z; a robot's sensor reads ``c``.
* A point source of ``rate_g_s`` (**g/s**) adds ``rate / (cell area × mixing height)`` g/m³/s
  to the cell that holds it.  :meth:`GasField.mass` is in **g**.
* ``K`` is a turbulent (eddy) diffusivity in m²/s, not the molecular one: indoors it is of
  order 0.01–0.1 m²/s.  ``λ`` is a first-order loss rate in 1/s (ventilation, reaction).
* Convert to what a detector shows with :class:`GasSpecies` (ppm at 20 °C and 1 atm, %LEL).

Numerics (finite volumes, so mass is conserved to round-off):

* Fluxes through the faces between cells: first-order upwind advection with the face wind
  (mean of the two cell winds), central differences for diffusion.
* Faces touching an obstacle cell carry no flux (no-flux walls).  At the grid's outer edge
  :attr:`Boundary.CLOSED` carries none either; :attr:`Boundary.OPEN` lets wind carry gas out,
  brings clean air in, and lets gas diffuse into clean air one cell beyond the edge.
* Stability: explicit sub-steps no longer than ``SAFETY_FACTOR / r_max``, where ``r_max`` is
  the largest rate at which any cell loses its content (outgoing face winds / dx plus K/dx²
  per open face).  This keeps every update a non-negative combination of the old values, so
  the field never goes negative, and it implies both textbook limits: dt ≤ dx²/(4K) for
  diffusion alone and CFL |u|·dt/dx ≤ 1 for advection alone.  :data:`SAFETY_FACTOR` = 0.9
  leaves a margin for round-off.  :meth:`GasField.step` splits any ``dt_s`` into equal
  sub-steps under that limit, so one long tick and many short ones agree to within the
  scheme's first-order time error.
* Decay is applied exactly (``exp(−λ·dt)`` per sub-step); sources are added per sub-step.
* Active window: a sub-step only moves gas one cell, so the solver updates the bounding
  box of the cells that hold gas and of every releasing source, plus one ring, grown by
  one ring per sub-step.  Outside it every cell is 0 and every face flux is 0, so the
  update equals a full sweep.  An explicit scheme spreads traces one cell per sub-step
  in every direction (1e-300 g/m³ far from any plume), so at the end of each step values
  below :data:`FLUSH_G_M3` are set to 0, their mass counted in ``flushed_g``, and the
  window shrinks to what is left: a small leak on a 200 × 200 grid costs a fraction of a
  full sweep.  The result differs from the full sweep by less than 1e-12 g/m³ (tested).

Intermittency (hazards.md §4.2): a real plume is patchy, and source-seeking algorithms tuned
on a smooth mean field are over-rated.  :class:`Intermittency` is a seeded log-normal
multiplier with mean 1, applied only when a sensor samples
(:meth:`GasField.instantaneous_concentration_at`), so the transported mean field stays
conservative.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simulator.physics.grid import BoolArray, FloatArray, Grid, Point, WindField

_log = logging.getLogger(__name__)

SAFETY_FACTOR = 0.9
"""Fraction of the positivity (hence stability) limit used for each explicit sub-step."""
FLUSH_G_M3 = 1e-15
"""Traces below this are set to 0 after each step (1e-15 g/m³ of H2S is 7e-10 ppm, eight
orders of magnitude below any sensor's resolution)."""

GAS_CONSTANT_J_MOL_K = 8.314462618
STANDARD_TEMPERATURE_K = 293.15
"""20 °C, the temperature at which ppm conversions are made by default."""
STANDARD_PRESSURE_PA = 101325.0
"""1 atm."""


# --------------------------------------------------------------------------- units


def molar_volume_m3_mol(
    temperature_k: float = STANDARD_TEMPERATURE_K, pressure_pa: float = STANDARD_PRESSURE_PA
) -> float:
    """Ideal-gas molar volume RT/P in m³/mol (0.024055 at 20 °C, 1 atm)."""
    return GAS_CONSTANT_J_MOL_K * temperature_k / pressure_pa


def ppm_from_g_m3(
    concentration_g_m3: float,
    molar_mass_g_mol: float,
    temperature_k: float = STANDARD_TEMPERATURE_K,
    pressure_pa: float = STANDARD_PRESSURE_PA,
) -> float:
    """Volume mixing ratio in ppm of a gas at ``concentration_g_m3``."""
    moles_per_m3 = concentration_g_m3 / molar_mass_g_mol
    return moles_per_m3 * molar_volume_m3_mol(temperature_k, pressure_pa) * 1e6


def g_m3_from_ppm(
    ppm: float,
    molar_mass_g_mol: float,
    temperature_k: float = STANDARD_TEMPERATURE_K,
    pressure_pa: float = STANDARD_PRESSURE_PA,
) -> float:
    """Mass concentration in g/m³ of a gas at ``ppm`` (inverse of :func:`ppm_from_g_m3`)."""
    return ppm * 1e-6 / molar_volume_m3_mol(temperature_k, pressure_pa) * molar_mass_g_mol


def percent_vol_from_ppm(ppm: float) -> float:
    """%vol from ppm (10,000 ppm = 1 %vol)."""
    return ppm / 1e4


def percent_lel_from_ppm(ppm: float, lel_percent_vol: float) -> float:
    """%LEL from ppm for a gas whose lower explosive limit is ``lel_percent_vol`` %vol."""
    return percent_vol_from_ppm(ppm) / lel_percent_vol * 100.0


@dataclass(frozen=True)
class GasSpecies:
    """A gas as far as unit conversion needs it."""

    name: str
    molar_mass_g_mol: float
    lel_percent_vol: float | None = None
    """lower explosive limit in %vol; None for a gas not treated as flammable here"""

    def ppm(
        self,
        concentration_g_m3: float,
        temperature_k: float = STANDARD_TEMPERATURE_K,
        pressure_pa: float = STANDARD_PRESSURE_PA,
    ) -> float:
        return ppm_from_g_m3(concentration_g_m3, self.molar_mass_g_mol, temperature_k, pressure_pa)

    def percent_vol(self, concentration_g_m3: float) -> float:
        return percent_vol_from_ppm(self.ppm(concentration_g_m3))

    def percent_lel(self, concentration_g_m3: float) -> float:
        """%LEL at 20 °C, 1 atm; ValueError for a gas without an LEL."""
        if self.lel_percent_vol is None:
            raise ValueError(f"{self.name} has no lower explosive limit configured")
        return percent_lel_from_ppm(self.ppm(concentration_g_m3), self.lel_percent_vol)


# Molar masses: standard atomic weights.  LELs: CH4 5.0 %vol (hazards.md §1.1);
# H2S 4.0 %vol (NIOSH Pocket Guide to Chemical Hazards, hydrogen sulfide).
CH4 = GasSpecies("CH4", 16.043, 5.0)
H2S = GasSpecies("H2S", 34.081, 4.0)
CO = GasSpecies("CO", 28.010)
NH3 = GasSpecies("NH3", 17.031)
CL2 = GasSpecies("Cl2", 70.906)
SO2 = GasSpecies("SO2", 64.066)
NO2 = GasSpecies("NO2", 46.006)


# --------------------------------------------------------------------------- intermittency


class Intermittency:
    """Seeded log-normal patchiness: a multiplier with mean exactly 1 at every point.

    ``ln(multiplier) = X − var/2`` with X a Gaussian field of standard deviation
    ``sigma_ln`` on a periodic lattice of spacing ``patch_m``.  Each lattice value is an
    Ornstein–Uhlenbeck process with correlation time ``correlation_time_s`` (updated exactly,
    so its spread does not depend on the tick), and the whole pattern drifts with
    ``drift_m_s`` (frozen turbulence carried by the mean wind).  Between lattice nodes X is
    interpolated bilinearly and ``var`` is the variance of that interpolant, so the mean
    stays 1 everywhere.  Sampling never draws random numbers: the same seed and the same
    sequence of :meth:`step` calls give the same values however often they are read.
    """

    def __init__(
        self,
        grid: Grid,
        rng: np.random.Generator,
        sigma_ln: float = 1.0,
        patch_m: float = 2.0,
        correlation_time_s: float = 5.0,
        drift_m_s: Point = (0.0, 0.0),
    ) -> None:
        if sigma_ln < 0 or not math.isfinite(sigma_ln):
            raise ValueError(f"sigma_ln must be ≥ 0, got {sigma_ln}")
        if patch_m <= 0 or correlation_time_s < 0:
            raise ValueError("patch_m must be > 0 and correlation_time_s ≥ 0")
        self._rng = rng
        self._sigma = sigma_ln
        self._patch_m = patch_m
        self._tau_s = correlation_time_s
        self._drift = drift_m_s
        self._origin = (grid.origin_x_m, grid.origin_y_m)
        nx = max(2, math.ceil(grid.width_m / patch_m))
        ny = max(2, math.ceil(grid.height_m / patch_m))
        self._x: FloatArray = rng.normal(0.0, 1.0, (ny, nx))
        self._offset_x_m = 0.0
        self._offset_y_m = 0.0

    def step(self, dt_s: float) -> None:
        if dt_s <= 0:
            return
        # Exact OU update: the stationary N(0, 1) law is kept whatever dt_s is.
        keep = 0.0 if self._tau_s == 0 else math.exp(-dt_s / self._tau_s)
        noise = self._rng.normal(0.0, 1.0, self._x.shape)
        self._x = keep * self._x + math.sqrt(1.0 - keep * keep) * noise
        self._offset_x_m += self._drift[0] * dt_s
        self._offset_y_m += self._drift[1] * dt_s

    def factor_at(self, x_m: float, y_m: float) -> float:
        """The multiplier (dimensionless, > 0, mean 1) at a map point, now."""
        if self._sigma == 0.0:
            return 1.0
        ny, nx = self._x.shape
        fx = (x_m - self._offset_x_m - self._origin[0]) / self._patch_m
        fy = (y_m - self._offset_y_m - self._origin[1]) / self._patch_m
        ix0 = math.floor(fx)
        iy0 = math.floor(fy)
        tx = fx - ix0
        ty = fy - iy0
        weights = ((1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty)
        nodes = (
            self._x[iy0 % ny, ix0 % nx],
            self._x[iy0 % ny, (ix0 + 1) % nx],
            self._x[(iy0 + 1) % ny, ix0 % nx],
            self._x[(iy0 + 1) % ny, (ix0 + 1) % nx],
        )
        z = float(sum(w * v for w, v in zip(weights, nodes, strict=True)))
        var = self._sigma**2 * sum(w * w for w in weights)
        return math.exp(self._sigma * z - var / 2.0)


# --------------------------------------------------------------------------- solver


class Boundary(enum.Enum):
    """What happens at the outer edge of the grid."""

    CLOSED = "closed"
    """no flux: a sealed room"""
    OPEN = "open"
    """outflow: the wind carries gas out, inflow is clean air, gas diffuses into clean air"""


class PointSource:
    """A release at a map point.  ``rate_g_s`` may be changed between steps (leak on/off);
    it is validated on every change, since a negative rate would remove gas that is not there."""

    def __init__(self, x_m: float, y_m: float, rate_g_s: float, cell: tuple[int, int]) -> None:
        self.x_m = x_m
        self.y_m = y_m
        self.cell = cell
        """``(ix, iy)`` of the cell that receives the release"""
        self._rate_g_s = 0.0
        self.rate_g_s = rate_g_s

    @property
    def rate_g_s(self) -> float:
        """Release rate in g/s (≥ 0)."""
        return self._rate_g_s

    @rate_g_s.setter
    def rate_g_s(self, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"source rate_g_s must be finite and ≥ 0, got {value}")
        self._rate_g_s = float(value)

    def __repr__(self) -> str:
        return f"PointSource(x_m={self.x_m}, y_m={self.y_m}, rate_g_s={self._rate_g_s})"


class GasField:
    """Mean concentration (g/m³) of one gas on a grid with walls, stepped on the sim clock."""

    def __init__(
        self,
        grid: Grid,
        *,
        diffusivity_m2_s: float,
        wind: WindField | None = None,
        obstacles: BoolArray | None = None,
        mixing_height_m: float = 2.0,
        decay_per_s: float = 0.0,
        boundary: Boundary = Boundary.OPEN,
        intermittency: Intermittency | None = None,
    ) -> None:
        if diffusivity_m2_s < 0 or not math.isfinite(diffusivity_m2_s):
            raise ValueError(f"diffusivity_m2_s must be ≥ 0, got {diffusivity_m2_s}")
        if mixing_height_m <= 0 or not math.isfinite(mixing_height_m):
            raise ValueError(f"mixing_height_m must be > 0, got {mixing_height_m}")
        if decay_per_s < 0 or not math.isfinite(decay_per_s):
            raise ValueError(f"decay_per_s must be ≥ 0, got {decay_per_s}")
        self.grid = grid
        self.diffusivity_m2_s = diffusivity_m2_s
        self.mixing_height_m = mixing_height_m
        self.decay_per_s = decay_per_s
        self.boundary = boundary
        self.intermittency = intermittency
        if obstacles is None:
            obstacles = np.zeros(grid.shape, dtype=np.bool_)
        if obstacles.shape != grid.shape:
            raise ValueError(f"obstacles must have the grid shape {grid.shape}")
        self._solid: BoolArray = obstacles.astype(np.bool_).copy()
        self._solid.setflags(write=False)
        ny, nx = grid.shape
        # The field lives inside a ring of ghost cells that stay 0 (clean air beyond the edge);
        # _c is a view of the interior.  Flux buffers are reused by every sub-step.
        self._cp: FloatArray = np.zeros((ny + 2, nx + 2), dtype=np.float64)
        self._c: FloatArray = self._cp[1:-1, 1:-1]
        self._fx: FloatArray = np.empty((ny, nx + 1))
        self._tmp_x: FloatArray = np.empty((ny, nx + 1))
        self._fy: FloatArray = np.empty((ny + 1, nx))
        self._tmp_y: FloatArray = np.empty((ny + 1, nx))
        self._sources: list[PointSource] = []
        self._window: tuple[int, int, int, int] | None = None
        """(y0, y1, x0, x1), half-open: where gas may be; None: the grid is empty"""
        self.windowed = True
        """False updates the whole grid every sub-step and flushes nothing (for tests and
        comparisons)"""
        self.flushed_g = 0.0
        """total mass of the traces below :data:`FLUSH_G_M3` set to 0 (budget term)"""
        self._scaled_for: tuple[float, tuple[FloatArray, ...]] | None = None
        self.time_s = 0.0
        self.released_g = 0.0
        """total mass released by the sources so far"""
        self.outflow_g = 0.0
        """total mass that left through open edges so far"""
        self.decayed_g = 0.0
        """total mass removed by the decay term so far"""
        self._set_transport(wind if wind is not None else WindField.calm())

    # ------------------------------------------------------------------ configuration

    @property
    def obstacles(self) -> BoolArray:
        """Read-only obstacle mask ``(ny, nx)``."""
        return self._solid

    @property
    def wind(self) -> WindField:
        return self._wind

    @property
    def max_substep_s(self) -> float:
        """Longest explicit sub-step the solver takes (s); ``inf`` when nothing moves."""
        return self._dt_max_s

    def set_wind(self, wind: WindField) -> None:
        """Change the wind from the next step on (recomputes the stable sub-step)."""
        self._set_transport(wind)

    def add_source(self, x_m: float, y_m: float, rate_g_s: float) -> PointSource:
        """Add a point release of ``rate_g_s`` g/s at a map point; returns it so a timeline
        can change its rate.  ValueError off the grid or inside an obstacle."""
        cell = self.grid.cell_of(x_m, y_m)
        if cell is None:
            raise ValueError(f"gas source at ({x_m}, {y_m}) m is off the grid")
        if self._solid[cell[1], cell[0]]:
            raise ValueError(f"gas source at ({x_m}, {y_m}) m is inside an obstacle cell {cell}")
        src = PointSource(x_m, y_m, rate_g_s, cell)  # validates the rate
        self._sources.append(src)
        return src

    def remove_source(self, source: PointSource) -> None:
        """Stop and forget ``source`` (a burned-out fire cell): the solver no longer visits
        it.  ValueError if it is not one of this field's sources."""
        try:
            self._sources.remove(source)
        except ValueError:
            raise ValueError(f"{source!r} is not a source of this gas field") from None

    @property
    def sources(self) -> tuple[PointSource, ...]:
        return tuple(self._sources)

    # ------------------------------------------------------------------ state

    @property
    def concentration_g_m3(self) -> FloatArray:
        """A copy of the mean concentration per cell (g/m³), shape ``(ny, nx)``."""
        return self._c.copy()

    def set_concentration(self, concentration_g_m3: FloatArray) -> None:
        """Replace the field (initial conditions, tests); obstacle cells are forced to 0."""
        arr = np.asarray(concentration_g_m3, dtype=np.float64)
        if arr.shape != self.grid.shape:
            raise ValueError(f"concentration must have the grid shape {self.grid.shape}")
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError("concentration must be finite and ≥ 0")
        self._c[...] = np.where(self._solid, 0.0, arr)
        self._window = None
        self._cover(np.argwhere(self._c > 0.0))

    def mass(self) -> float:
        """Gas mass on the grid in g (concentration × cell area × mixing height)."""
        return float(self._c.sum()) * self._cell_volume_m3

    # ------------------------------------------------------------------ stepping

    def step(self, dt_s: float) -> None:
        """Advance by ``dt_s`` seconds in equal sub-steps no longer than :attr:`max_substep_s`."""
        if not math.isfinite(dt_s) or dt_s < 0:
            raise ValueError(f"dt_s must be finite and ≥ 0, got {dt_s}")
        if dt_s == 0:
            return
        n = 1 if math.isinf(self._dt_max_s) else max(1, math.ceil(dt_s / self._dt_max_s - 1e-9))
        h = dt_s / n
        keep = math.exp(-self.decay_per_s * h)
        self._cover(np.array([(s.cell[1], s.cell[0]) for s in self._sources if s.rate_g_s > 0]))
        if self._moves:
            wx_left, wx_right, wy_below, wy_above = self._scaled(h)
            for _ in range(n):
                if self._window is not None:
                    self._grow_window()
                    self._transport(wx_left, wx_right, wy_below, wy_above)
                self._sources_and_decay(h, keep)
        else:
            for _ in range(n):
                self._sources_and_decay(h, keep)
        # Round-off can leave ~-1e-20 where a cell just emptied; the scheme itself is
        # positive (see the module docstring), so clip to keep "never negative" exact.
        if self._window is not None:
            y0, y1, x0, x1 = self._window
            np.maximum(self._c[y0:y1, x0:x1], 0.0, out=self._c[y0:y1, x0:x1])
            if self.windowed:
                self._flush()
        self.time_s += dt_s
        if self.intermittency is not None:
            self.intermittency.step(dt_s)

    def _scaled(self, h: float) -> tuple[FloatArray, ...]:
        """Each face's flux as weights of the cells on its two sides, times h/dx, so a
        sub-step is a few in-place ops; kept for the next step with the same sub-step (the
        common case: a fixed tick).  Upwind advection plus central diffusion through an
        x face is ``u⁺·c_left + u⁻·c_right − K/dx·(c_right − c_left)``, i.e.
        ``(u⁺ + K/dx)·c_left + (u⁻ − K/dx)·c_right``."""
        if self._scaled_for is None or self._scaled_for[0] != h:
            s = h / self.grid.cell_m
            coefs = (
                (self._ux_pos + self._dx_coef) * s,
                (self._ux_neg - self._dx_coef) * s,
                (self._uy_pos + self._dy_coef) * s,
                (self._uy_neg - self._dy_coef) * s,
            )
            self._scaled_for = (h, coefs)
        return self._scaled_for[1]

    def _cover(self, cells_yx: NDArray[np.integer]) -> None:
        """Widen the window to hold ``cells_yx`` (rows of (iy, ix)) and one ring more."""
        if cells_yx.size == 0:
            return
        ny, nx = self.grid.shape
        if not self.windowed:
            self._window = (0, ny, 0, nx)
            return
        y0, x0 = (int(v) for v in cells_yx.min(axis=0))
        y1, x1 = (int(v) + 1 for v in cells_yx.max(axis=0))
        if self._window is not None:
            wy0, wy1, wx0, wx1 = self._window
            y0, y1, x0, x1 = min(y0, wy0), max(y1, wy1), min(x0, wx0), max(x1, wx1)
        self._window = (max(0, y0 - 1), min(ny, y1 + 1), max(0, x0 - 1), min(nx, x1 + 1))

    def _flush(self) -> None:
        """Zero the traces below :data:`FLUSH_G_M3` and shrink the window to the rest."""
        assert self._window is not None
        y0, y1, x0, x1 = self._window
        sub = self._c[y0:y1, x0:x1]
        trace = sub < FLUSH_G_M3
        self.flushed_g += float(sub[trace].sum()) * self._cell_volume_m3
        sub[trace] = 0.0
        self._window = None
        self._cover(np.argwhere(~trace) + np.array([y0, x0]))

    def _grow_window(self) -> None:
        """One more ring: where this sub-step can carry gas."""
        assert self._window is not None
        ny, nx = self.grid.shape
        y0, y1, x0, x1 = self._window
        self._window = (max(0, y0 - 1), min(ny, y1 + 1), max(0, x0 - 1), min(nx, x1 + 1))

    def _transport(
        self,
        wx_left: FloatArray,
        wx_right: FloatArray,
        wy_below: FloatArray,
        wy_above: FloatArray,
    ) -> None:
        """One explicit sub-step of advection and diffusion over the active window; the
        face weights (:meth:`_scaled`) are already multiplied by h/dx, so the face "fluxes"
        below are mass moved per face per volume."""
        assert self._window is not None
        y0, y1, x0, x1 = self._window
        cp = self._cp  # the field with a ring of clean-air ghost cells (always 0)
        # x faces x0..x1 of rows y0..y1-1; y faces y0..y1 of columns x0..x1-1
        fx, tmp_x = self._fx[y0:y1, x0 : x1 + 1], self._tmp_x[y0:y1, x0 : x1 + 1]
        fy, tmp_y = self._fy[y0 : y1 + 1, x0:x1], self._tmp_y[y0 : y1 + 1, x0:x1]
        left, right = cp[1 + y0 : 1 + y1, x0 : x1 + 1], cp[1 + y0 : 1 + y1, x0 + 1 : x1 + 2]
        np.multiply(wx_left[y0:y1, x0 : x1 + 1], left, out=fx)
        np.multiply(wx_right[y0:y1, x0 : x1 + 1], right, out=tmp_x)
        fx += tmp_x
        below, above = cp[y0 : y1 + 1, 1 + x0 : 1 + x1], cp[y0 + 1 : y1 + 2, 1 + x0 : 1 + x1]
        np.multiply(wy_below[y0 : y1 + 1, x0:x1], below, out=fy)
        np.multiply(wy_above[y0 : y1 + 1, x0:x1], above, out=tmp_y)
        fy += tmp_y
        if self.boundary is Boundary.OPEN:
            # faces of the window that are not grid edges carry nothing (both sides 0)
            out = fx[:, -1].sum() - fx[:, 0].sum() + fy[-1, :].sum() - fy[0, :].sum()
            self.outflow_g += float(out) * self._cell_volume_m3
        c = self._c[y0:y1, x0:x1]
        c -= fx[:, 1:]
        c += fx[:, :-1]
        c -= fy[1:, :]
        c += fy[:-1, :]

    def _sources_and_decay(self, h: float, keep: float) -> None:
        c = self._c
        for src in self._sources:
            if src.rate_g_s > 0:
                ix, iy = src.cell
                c[iy, ix] += src.rate_g_s * h / self._cell_volume_m3
                self.released_g += src.rate_g_s * h
        if keep != 1.0:
            before = float(c.sum())
            c *= keep
            self.decayed_g += (before - float(c.sum())) * self._cell_volume_m3

    def _set_transport(self, wind: WindField) -> None:
        grid = self.grid
        ny, nx = grid.shape
        dx = grid.cell_m
        k = self.diffusivity_m2_s
        ucell, vcell = wind.on_grid(grid)
        open_cell = ~self._solid
        edge_open = self.boundary is Boundary.OPEN

        # Face winds: mean of the two neighbouring cells; edge faces take the edge cell's wind.
        uf = np.empty((ny, nx + 1))
        uf[:, 1:-1] = 0.5 * (ucell[:, :-1] + ucell[:, 1:])
        uf[:, 0] = ucell[:, 0]
        uf[:, -1] = ucell[:, -1]
        vf = np.empty((ny + 1, nx))
        vf[1:-1, :] = 0.5 * (vcell[:-1, :] + vcell[1:, :])
        vf[0, :] = vcell[0, :]
        vf[-1, :] = vcell[-1, :]

        # A face is passable when both sides are open cells (an edge face: its one cell is
        # open and the edge is OPEN).
        ox = np.zeros((ny, nx + 1), dtype=np.bool_)
        ox[:, 1:-1] = open_cell[:, :-1] & open_cell[:, 1:]
        ox[:, 0] = open_cell[:, 0] & edge_open
        ox[:, -1] = open_cell[:, -1] & edge_open
        oy = np.zeros((ny + 1, nx), dtype=np.bool_)
        oy[1:-1, :] = open_cell[:-1, :] & open_cell[1:, :]
        oy[0, :] = open_cell[0, :] & edge_open
        oy[-1, :] = open_cell[-1, :] & edge_open

        self._ux_pos = np.where(ox, np.maximum(uf, 0.0), 0.0)
        self._ux_neg = np.where(ox, np.minimum(uf, 0.0), 0.0)
        self._uy_pos = np.where(oy, np.maximum(vf, 0.0), 0.0)
        self._uy_neg = np.where(oy, np.minimum(vf, 0.0), 0.0)
        self._dx_coef = np.where(ox, k / dx, 0.0)
        self._dy_coef = np.where(oy, k / dx, 0.0)

        # Rate (1/s) at which each cell loses content: outgoing face winds plus diffusion
        # through each open face.  Positivity needs h · rate ≤ 1 in every cell.
        out_rate = (
            self._ux_pos[:, 1:]
            - self._ux_neg[:, :-1]
            + self._uy_pos[1:, :]
            - self._uy_neg[:-1, :]
            + self._dx_coef[:, 1:]
            + self._dx_coef[:, :-1]
            + self._dy_coef[1:, :]
            + self._dy_coef[:-1, :]
        ) / dx
        r_max = float(out_rate.max()) if out_rate.size else 0.0
        self._moves = r_max > 0.0
        self._dt_max_s = SAFETY_FACTOR / r_max if r_max > 0 else math.inf
        self._cell_volume_m3 = grid.cell_area_m2 * self.mixing_height_m
        self._scaled_for = None  # the coefficients changed
        self._wind = wind
        _log.debug("gas field: wind set, max sub-step %.4g s", self._dt_max_s)

    # ------------------------------------------------------------------ sampling

    def concentration_at(self, x_m: float, y_m: float) -> float:
        """Mean concentration (g/m³) at a map point, bilinear between cell centres.

        Only open cells that the point's own cell reaches without crossing a wall take part
        (a sensor beside a wall must not read zero from the wall, nor gas from behind it).
        Off the grid: 0.0 (the world beyond is clean air).
        """
        own = self.grid.cell_of(x_m, y_m)
        if own is None:
            return 0.0
        ny, nx = self.grid.shape
        fx, fy = self.grid.fractional_index(x_m, y_m)
        ix0 = math.floor(fx)
        iy0 = math.floor(fy)
        tx = fx - ix0
        ty = fy - iy0
        corners = (
            (ix0, iy0, (1 - tx) * (1 - ty)),
            (ix0 + 1, iy0, tx * (1 - ty)),
            (ix0, iy0 + 1, (1 - tx) * ty),
            (ix0 + 1, iy0 + 1, tx * ty),
        )
        own_open = not self._solid[own[1], own[0]]
        total_w = 0.0
        total = 0.0
        for ix, iy, w in corners:
            if not (0 <= ix < nx and 0 <= iy < ny) or self._solid[iy, ix]:
                continue
            if own_open and not self._reachable(own, (ix, iy)):
                continue
            total_w += w
            total += w * float(self._c[iy, ix])
        if total_w <= 0.0:
            return 0.0
        return total / total_w

    def _reachable(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """Whether open cell b is reachable from open cell a within their 2×2 block."""
        dx = abs(a[0] - b[0])
        dy = abs(a[1] - b[1])
        if dx + dy <= 1:
            return True
        # diagonal: one of the two shared neighbours must be open
        return not self._solid[a[1], b[0]] or not self._solid[b[1], a[0]]

    def instantaneous_concentration_at(self, x_m: float, y_m: float) -> float:
        """What a fast sensor sees now (g/m³): the mean times the intermittency multiplier
        (the mean itself without intermittency)."""
        mean = self.concentration_at(x_m, y_m)
        if self.intermittency is None or mean == 0.0:
            return mean
        return mean * self.intermittency.factor_at(x_m, y_m)

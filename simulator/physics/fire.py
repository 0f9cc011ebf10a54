"""Fire spread on a grid: a stochastic cellular automaton with wind and slope.

Model (hazards.md §4.4; Alexandridis, Vakalis, Siettos & Bafas, Appl. Math. Comput.
204:191–201, 2008).  Every cell is in one of four states, :class:`CellState`:
``NO_FUEL`` (walls, bare floor: never burns), ``FUEL``, ``BURNING`` and ``BURNED`` (never
reignites).  Once per CA step each burning cell tries to ignite each of its eight (Moore)
neighbours that still hold fuel, with probability ::

    p_burn = p_h · (1 + p_veg) · (1 + p_den) · p_w · p_s        clipped to [0, 1]
    p_w    = exp(c1·V) · exp(c2·V·(cos θ − 1))                  c1 = 0.045, c2 = 0.131 (V in m/s)
    p_s    = exp(a·θs),  θs = atan(ΔE / L) in degrees           a = 0.078

with p_h = 0.58, θ the angle between the wind vector and the spread direction (burning
cell → neighbour), ΔE the neighbour's elevation minus the burning cell's, L the cell size
(√2·L to a diagonal neighbour), and p_veg / p_den those of the neighbour (the cell that
would burn).  A neighbour of several burning cells ignites unless every one of them fails,
i.e. with probability 1 − Π(1 − p_burn,k); one uniform draw per candidate cell decides,
which is the same distribution as one draw per (burning cell, neighbour) pair.

A cell burns for ``burn_duration_s`` (rounded to whole CA steps, at least one), during
which it spreads fire every step, and then becomes ``BURNED``.

Time.  The CA advances in whole steps of ``ca_step_s`` simulated seconds.  :meth:`FireCA.step`
accumulates the drill's ``dt_s`` and runs every CA step that has fallen due, so the burned
map for a seed depends only on the total simulated time, never on how it was split into
ticks (the random draws happen in the same order).

Grid convention.  Arrays have shape ``(ny, nx)`` and are indexed ``[iy, ix]``; cell
``(ix, iy)`` covers ``[origin_x_m + ix·cell_m, origin_x_m + (ix + 1)·cell_m)`` in x and
likewise in y, so its centre is at ``origin + (i + ½)·cell_m``.  x points east, y north;
the wind vector ``(wind_u_m_s, wind_v_m_s)`` is the air's velocity (it blows *towards*
that direction), uniform over the grid.

Outputs at a map point (all stated assumptions are engineering proxies for drills, not a
fire-dynamics model; see :class:`FireParams` for the constants):

* **temperature** (°C): ambient plus, for each burning cell, a radiant-style term
  ``(T_flame − T_ambient) · min(1, (r_flame / d)²)`` with ``d`` the distance to the cell
  centre; the sum is capped at the flame temperature.  Inside a burning cell (d ≤ r_flame)
  it reads the flame temperature.  Burned cells are at ambient (no smouldering).
* **smoke density** (0..1, 1 = opaque): ``1 − exp(−τ)`` with optical depth
  ``τ = Σ τ_cell · exp(−d / L_smoke)`` over burning cells; a near-field proxy for cameras.
  Smoke carried far by the wind belongs to a gas field fed by :meth:`FireCA.smoke_sources`.
* **CO** is not modelled here: :meth:`FireCA.sources` gives one CO point source (g/s) per
  burning cell for a gas field to ingest, ``rate = mass_burning_rate · cell area · CO yield``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

P_H = 0.58
"""Base ignition probability of a fuel cell next to a burning one (Alexandridis 2008)."""
C1_S_M = 0.045
"""Wind coefficient c1, s/m."""
C2_S_M = 0.131
"""Wind coefficient c2, s/m."""
A_SLOPE_PER_DEG = 0.078
"""Slope coefficient a, 1/degree."""

_EPS_STEPS = 1e-9  # float slack: ten ticks of 0.1 s sum to 0.9999999999999999 s


class CellState(IntEnum):
    """State of one grid cell; the values are what the state array holds."""

    NO_FUEL = 0
    FUEL = 1
    BURNING = 2
    BURNED = 3


# Moore neighbourhood: spread directions (dx, dy) from a burning cell to its neighbour.
NEIGHBOUR_OFFSETS: tuple[tuple[int, int], ...] = (
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
)


def wind_factor(wind_speed_m_s: float, theta_rad: float) -> float:
    """p_w = exp(c1·V)·exp(c2·V·(cos θ − 1)) for wind speed V (m/s) and the angle θ (rad)
    between the wind vector and the spread direction (0 = spreading downwind)."""
    if wind_speed_m_s < 0.0:
        raise ValueError(f"wind_speed_m_s must be >= 0, got {wind_speed_m_s}")
    return math.exp(C1_S_M * wind_speed_m_s) * math.exp(
        C2_S_M * wind_speed_m_s * (math.cos(theta_rad) - 1.0)
    )


def _slope_factor(rise_m: NDArray[np.float64], run_m: float) -> NDArray[np.float64]:
    slope_deg = np.degrees(np.arctan(rise_m / run_m))
    return np.asarray(np.exp(A_SLOPE_PER_DEG * slope_deg), dtype=np.float64)


def slope_factor(elevation_rise_m: float, run_m: float) -> float:
    """p_s = exp(a·θs), θs = atan(ΔE / L) in degrees; ``elevation_rise_m`` is the target
    cell's elevation minus the burning cell's (positive uphill), ``run_m`` the horizontal
    distance between the cell centres (cell size, or √2 × cell size on a diagonal)."""
    if run_m <= 0.0:
        raise ValueError(f"run_m must be > 0, got {run_m}")
    return float(_slope_factor(np.asarray(elevation_rise_m, dtype=np.float64), run_m))


def _burn_probability(
    p_veg: NDArray[np.float64] | float,
    p_den: NDArray[np.float64] | float,
    p_w: NDArray[np.float64] | float,
    p_s: NDArray[np.float64] | float,
    p_h: float,
) -> NDArray[np.float64]:
    p = p_h * (1.0 + np.asarray(p_veg)) * (1.0 + np.asarray(p_den)) * p_w * p_s
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)


def burn_probability(p_veg: float, p_den: float, p_w: float, p_s: float, p_h: float = P_H) -> float:
    """p_burn = p_h(1 + p_veg)(1 + p_den)·p_w·p_s, clipped to [0, 1]."""
    return float(_burn_probability(p_veg, p_den, p_w, p_s, p_h))


@dataclass(frozen=True)
class FireParams:
    """Constants of the fire model.  Values marked *(verify)* are typical handbook figures
    chosen for drills, not taken from the project reference."""

    ca_step_s: float = 1.0
    """Simulated seconds per CA step."""
    burn_duration_s: float = 30.0
    """How long a cell burns before it is BURNED (rounded to whole CA steps, >= 1)."""
    p_h: float = P_H
    ambient_c: float = 20.0
    """Air temperature away from the fire, °C."""
    flame_temperature_c: float = 800.0
    """Temperature in a burning cell and the cap of the heat sum, °C; mean of the
    continuous flame region of a turbulent diffusion flame *(verify)*."""
    flame_radius_m: float | None = None
    """Radius inside which a burning cell reads the flame temperature; beyond it the rise
    falls as 1/d².  None: half the cell size."""
    smoke_optical_depth_per_cell: float = 1.0
    """Optical depth τ a burning cell contributes at its own centre (dimensionless)."""
    smoke_length_m: float = 5.0
    """e-folding distance of a burning cell's near-field smoke, m."""
    mass_burning_rate_g_m2_s: float = 11.0
    """Fuel mass burnt per m² of burning cell per second, g/(m²·s); wood *(verify)*."""
    co_yield_g_g: float = 0.004
    """CO produced per gram of fuel burnt; well-ventilated wood *(verify)*.  Under-ventilated
    compartment fires yield 0.1–0.2 g/g: raise it for such drills."""
    smoke_yield_g_g: float = 0.015
    """Smoke (soot) produced per gram of fuel burnt; wood *(verify)*."""

    def __post_init__(self) -> None:
        positive = {
            "ca_step_s": self.ca_step_s,
            "burn_duration_s": self.burn_duration_s,
            "flame_temperature_c - ambient_c": self.flame_temperature_c - self.ambient_c,
            "smoke_length_m": self.smoke_length_m,
        }
        for name, value in positive.items():
            if not value > 0.0:
                raise ValueError(f"FireParams.{name} must be > 0, got {value}")
        non_negative = {
            "p_h": self.p_h,
            "smoke_optical_depth_per_cell": self.smoke_optical_depth_per_cell,
            "mass_burning_rate_g_m2_s": self.mass_burning_rate_g_m2_s,
            "co_yield_g_g": self.co_yield_g_g,
            "smoke_yield_g_g": self.smoke_yield_g_g,
        }
        for name, value in non_negative.items():
            if not value >= 0.0:
                raise ValueError(f"FireParams.{name} must be >= 0, got {value}")
        if self.flame_radius_m is not None and not self.flame_radius_m > 0.0:
            raise ValueError(f"FireParams.flame_radius_m must be > 0, got {self.flame_radius_m}")


def _target_slices(dx: int, dy: int, nx: int, ny: int) -> tuple[tuple[slice, slice], ...]:
    """(target, source) index slices so that ``a[target]`` and ``b[source]`` pair each cell
    with the cell it would catch fire from when fire spreads by (dx, dy)."""
    target = (slice(max(dy, 0), ny + min(dy, 0)), slice(max(dx, 0), nx + min(dx, 0)))
    source = (slice(max(-dy, 0), ny + min(-dy, 0)), slice(max(-dx, 0), nx + min(-dx, 0)))
    return target, source


class FireCA:
    """A seeded fire-spread cellular automaton on a regular grid (see module docstring).

    ``fuel`` is the initial state array ``(ny, nx)`` of :class:`CellState` values (usually
    FUEL and NO_FUEL only); ``elevation_m``, ``p_veg`` and ``p_den`` are scalars or
    ``(ny, nx)`` arrays.  The random generator is owned by the model from then on.
    """

    def __init__(
        self,
        fuel: NDArray[np.integer],
        cell_m: float,
        origin_x_m: float,
        origin_y_m: float,
        rng: np.random.Generator,
        *,
        elevation_m: NDArray[np.floating] | float = 0.0,
        p_veg: NDArray[np.floating] | float = 0.0,
        p_den: NDArray[np.floating] | float = 0.0,
        wind_u_m_s: float = 0.0,
        wind_v_m_s: float = 0.0,
        params: FireParams | None = None,
    ) -> None:
        state = np.asarray(fuel)
        if state.ndim != 2 or state.size == 0:
            raise ValueError(f"fuel must be a non-empty 2-D (ny, nx) array, got {state.shape}")
        if not np.all(np.isin(state, [int(s) for s in CellState])):
            raise ValueError("fuel holds values that are not CellState values 0..3")
        if not cell_m > 0.0:
            raise ValueError(f"cell_m must be > 0, got {cell_m}")
        self._params = params if params is not None else FireParams()
        self._cell_m = float(cell_m)
        self._origin_x_m = float(origin_x_m)
        self._origin_y_m = float(origin_y_m)
        self._rng = rng
        self._state: NDArray[np.int8] = state.astype(np.int8, copy=True)
        ny, nx = self._state.shape
        elevation = self._field(elevation_m, "elevation_m")
        veg = self._field(p_veg, "p_veg")
        den = self._field(p_den, "p_den")
        if np.any(veg <= -1.0) or np.any(den <= -1.0):
            raise ValueError("p_veg and p_den must be > -1 (the reference uses -0.4 .. +0.4)")
        # Wind-independent part of p_burn for each spread direction, indexed by target cell;
        # zero where the source cell would be outside the grid.
        self._base: list[NDArray[np.float64]] = []
        for dx, dy in NEIGHBOUR_OFFSETS:
            target, source = _target_slices(dx, dy, nx, ny)
            run_m = self._cell_m * math.hypot(dx, dy)
            base = np.zeros((ny, nx), dtype=np.float64)
            rise = elevation[target] - elevation[source]
            base[target] = self._params.p_h * (1.0 + veg[target]) * (1.0 + den[target])
            base[target] *= _slope_factor(rise, run_m)
            self._base.append(base)
        self._wind_factors: tuple[float, ...] = ()
        self.set_wind(wind_u_m_s, wind_v_m_s)
        self._burn_steps = max(1, round(self._params.burn_duration_s / self._params.ca_step_s))
        self._ignited_step = np.full((ny, nx), -1, dtype=np.int64)
        self._ignited_step[self._state == CellState.BURNING] = 0
        self._elapsed_s = 0.0
        self._ca_steps = 0
        centres_x = self._origin_x_m + (np.arange(nx) + 0.5) * self._cell_m
        centres_y = self._origin_y_m + (np.arange(ny) + 0.5) * self._cell_m
        self._centre_x_m, self._centre_y_m = np.meshgrid(centres_x, centres_y)
        # Point queries (one per robot per tick) reuse the burning cells' centres until
        # the state changes.
        self._burning_centres_m: NDArray[np.float64] | None = None

    def _field(self, value: NDArray[np.floating] | float, name: str) -> NDArray[np.float64]:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            return np.full(self._state.shape, float(array), dtype=np.float64)
        if array.shape != self._state.shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {self._state.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds non-finite values")
        return array

    # ----------------------------------------------------------------- configuration

    def set_wind(self, wind_u_m_s: float, wind_v_m_s: float) -> None:
        """Set the uniform wind (air velocity, m/s, east and north components); it applies
        from the next CA step on."""
        if not (math.isfinite(wind_u_m_s) and math.isfinite(wind_v_m_s)):
            raise ValueError(f"wind must be finite, got ({wind_u_m_s}, {wind_v_m_s})")
        speed_m_s = math.hypot(wind_u_m_s, wind_v_m_s)
        factors = []
        for dx, dy in NEIGHBOUR_OFFSETS:
            if speed_m_s == 0.0:
                factors.append(1.0)
                continue
            cos_theta = (wind_u_m_s * dx + wind_v_m_s * dy) / (speed_m_s * math.hypot(dx, dy))
            theta_rad = math.acos(max(-1.0, min(1.0, cos_theta)))
            factors.append(wind_factor(speed_m_s, theta_rad))
        self._wind_factors = tuple(factors)

    # ----------------------------------------------------------------- state changes

    def cell_index(self, x_m: float, y_m: float) -> tuple[int, int] | None:
        """(ix, iy) of the cell holding map point (x_m, y_m), or None outside the grid."""
        ix = math.floor((x_m - self._origin_x_m) / self._cell_m)
        iy = math.floor((y_m - self._origin_y_m) / self._cell_m)
        ny, nx = self._state.shape
        if 0 <= ix < nx and 0 <= iy < ny:
            return ix, iy
        return None

    def ignite(self, x_m: float, y_m: float) -> bool:
        """Set the fuel cell at map point (x_m, y_m) burning; False (and a warning) when the
        point is off the grid or the cell holds no unburnt fuel."""
        index = self.cell_index(x_m, y_m)
        if index is None:
            logger.warning("fire: ignition point (%.2f, %.2f) m is off the fire grid", x_m, y_m)
            return False
        return self.ignite_cell(*index)

    def ignite_cell(self, ix: int, iy: int) -> bool:
        """Set cell (ix, iy) burning; False (and a warning) when it holds no unburnt fuel."""
        ny, nx = self._state.shape
        if not (0 <= ix < nx and 0 <= iy < ny):
            logger.warning("fire: ignition cell (%d, %d) is off the %dx%d grid", ix, iy, nx, ny)
            return False
        if self._state[iy, ix] != CellState.FUEL:
            logger.warning(
                "fire: cell (%d, %d) cannot ignite, it is %s",
                ix,
                iy,
                CellState(int(self._state[iy, ix])).name,
            )
            return False
        self._state[iy, ix] = CellState.BURNING
        self._ignited_step[iy, ix] = self._ca_steps
        self._burning_centres_m = None
        return True

    def step(self, dt_s: float) -> int:
        """Advance simulated time by ``dt_s`` seconds; run the CA steps that fall due and
        return how many ran."""
        if not (dt_s >= 0.0 and math.isfinite(dt_s)):
            raise ValueError(f"dt_s must be finite and >= 0, got {dt_s}")
        self._elapsed_s += dt_s
        due = math.floor(self._elapsed_s / self._params.ca_step_s + _EPS_STEPS)
        ran = 0
        while self._ca_steps < due:
            self._ca_step()
            ran += 1
        return ran

    def _ca_step(self) -> None:
        ny, nx = self._state.shape
        burning = self._state == CellState.BURNING
        fuel = self._state == CellState.FUEL
        survive = np.ones((ny, nx), dtype=np.float64)  # P(no burning neighbour ignites it)
        if burning.any():
            for (dx, dy), base, p_w in zip(
                NEIGHBOUR_OFFSETS, self._base, self._wind_factors, strict=True
            ):
                target, source = _target_slices(dx, dy, nx, ny)
                p = np.clip(base[target] * p_w, 0.0, 1.0)
                survive[target] *= np.where(burning[source], 1.0 - p, 1.0)
        candidates = fuel & (survive < 1.0)
        ignite = np.zeros((ny, nx), dtype=bool)
        if candidates.any():
            # One draw per candidate, in row-major order, so a seed fixes the outcome.
            draws = self._rng.random(int(candidates.sum()))
            ignite[candidates] = draws < 1.0 - survive[candidates]
        self._ca_steps += 1
        burnt_out = burning & (self._ca_steps - self._ignited_step >= self._burn_steps)
        self._state[burnt_out] = CellState.BURNED
        self._state[ignite] = CellState.BURNING
        self._ignited_step[ignite] = self._ca_steps
        self._burning_centres_m = None

    # ----------------------------------------------------------------- queries

    @property
    def state(self) -> NDArray[np.int8]:
        """Read-only view of the state array ``(ny, nx)`` of :class:`CellState` values."""
        view = self._state.view()
        view.flags.writeable = False
        return view

    @property
    def params(self) -> FireParams:
        return self._params

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds stepped so far."""
        return self._elapsed_s

    @property
    def ca_steps(self) -> int:
        """CA steps run so far."""
        return self._ca_steps

    def cell_state_at(self, x_m: float, y_m: float) -> CellState | None:
        """State of the cell at map point (x_m, y_m), None off the grid."""
        index = self.cell_index(x_m, y_m)
        if index is None:
            return None
        return CellState(int(self._state[index[1], index[0]]))

    def burning_centres_m(self) -> NDArray[np.float64]:
        """Centres (x_m, y_m) of the burning cells, shape (n, 2), row-major order
        (read-only)."""
        if self._burning_centres_m is None:
            burning = self._state == CellState.BURNING
            centres = np.column_stack((self._centre_x_m[burning], self._centre_y_m[burning]))
            centres.flags.writeable = False
            self._burning_centres_m = centres
        return self._burning_centres_m

    def count(self, cell_state: CellState) -> int:
        """Number of cells in ``cell_state``."""
        return int(np.count_nonzero(self._state == cell_state))

    def temperature_at(self, x_m: float, y_m: float) -> float:
        """Air temperature at map point (x_m, y_m), °C (ambient + capped 1/d² term per
        burning cell; see module docstring)."""
        p = self._params
        centres = self.burning_centres_m()
        if centres.shape[0] == 0:
            return p.ambient_c
        r_flame_m = p.flame_radius_m if p.flame_radius_m is not None else 0.5 * self._cell_m
        d2 = (centres[:, 0] - x_m) ** 2 + (centres[:, 1] - y_m) ** 2
        share = np.minimum(1.0, r_flame_m**2 / np.maximum(d2, 1e-12))
        rise_c = (p.flame_temperature_c - p.ambient_c) * min(1.0, float(share.sum()))
        return p.ambient_c + rise_c

    def smoke_density_at(self, x_m: float, y_m: float) -> float:
        """Near-field smoke density at map point (x_m, y_m): 0 clear .. 1 opaque."""
        p = self._params
        centres = self.burning_centres_m()
        if centres.shape[0] == 0:
            return 0.0
        d = np.hypot(centres[:, 0] - x_m, centres[:, 1] - y_m)
        tau = p.smoke_optical_depth_per_cell * float(np.exp(-d / p.smoke_length_m).sum())
        return 1.0 - math.exp(-tau)

    def _per_cell_rate_g_s(self, yield_g_g: float) -> float:
        return self._params.mass_burning_rate_g_m2_s * self._cell_m**2 * yield_g_g

    def sources(self) -> list[tuple[float, float, float]]:
        """CO point sources for a gas field: ``(x_m, y_m, rate_g_s)`` per burning cell."""
        rate_g_s = self._per_cell_rate_g_s(self._params.co_yield_g_g)
        return [(float(x), float(y), rate_g_s) for x, y in self.burning_centres_m()]

    def smoke_sources(self) -> list[tuple[float, float, float]]:
        """Smoke (soot) point sources: ``(x_m, y_m, rate_g_s)`` per burning cell."""
        rate_g_s = self._per_cell_rate_g_s(self._params.smoke_yield_g_g)
        return [(float(x), float(y), rate_g_s) for x, y in self.burning_centres_m()]

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        """:class:`~simulator.environment.Environment`-style query: ``temperature`` (°C) at
        the current state (the caller steps the model to ``t_s`` first); None for any other
        quantity (CO comes from a gas field fed by :meth:`sources`)."""
        if quantity == "temperature":
            return self.temperature_at(x_m, y_m)
        return None

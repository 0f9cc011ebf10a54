"""The hazard world of a drill: the physics behind the :class:`Environment` port.

:class:`HazardWorld` composes the pure models of :mod:`simulator.physics` from a
scenario's ``world:`` and ``hazards:`` sections (:mod:`simulator.hazards`) and answers
:meth:`HazardWorld.sample` for every quantity of
:data:`simulator.environment.QUANTITY_UNITS`.  The drill runner steps it once per tick on
the shared clock, before the robots step, so a robot reads the world as it is at the
tick's time.

What each quantity reads (true values; the robot adds its own sensor noise):

* **Toxic gases** (``H2S``, ``CO``, ``NH3``, ``Cl2``, ``SO2``, ``NO2``, ppm) and ``CH4``
  (%vol): one advection-diffusion :class:`~simulator.physics.gas.GasField` on the shared
  grid per gas that is released (a fire releases CO), converted from g/m³ at 20 °C and
  1 atm with :class:`~simulator.physics.gas.GasSpecies`.  With intermittency configured a
  sensor sees the mean times the seeded log-normal multiplier.  A gas nobody releases
  reads 0.
* ``LEL`` (%LEL): the Le Chatelier sum ``Σ x_i / LEL_i`` over the released gases that
  have a lower explosive limit here (CH4 5 %vol, H2S 4 %vol), as a catalytic bead sums the
  combustibles it sees.  CO is flammable (LEL 12.5 %vol) but is not counted: no bead is
  calibrated for it and its toxic limits come thousands of times earlier.
* ``O2`` (%vol): dilution only.  Released gas displaces air, which is 20.9 %vol oxygen,
  so ``O2 = 20.9 · (1 − Σ x_i)`` with ``x_i`` the volume fraction of every released gas.
  Oxygen consumed by a fire is not modelled (a fire's CO is counted as a displacing gas).
  10,000 ppm of a gas thus takes 0.2 %vol of oxygen away.
* Outdoors (``world.outdoor``) gas releases and spills are steady Gaussian plumes
  (:class:`~simulator.physics.plume.PlumeField`, Briggs rural σ, ground reflection) of the
  world's wind and stability class, read at the robots' inlet height; a point ``d`` m
  downwind sees a release ``d / u`` s after it starts.  Walls do not stop a plume and it
  has no intermittency (the mean); a fire's CO stays on the grid.
* Spills (``kind: spill``): a pool evaporating at the Mackay–Matsugu rate
  (:mod:`simulator.physics.spill`) into the gas field of its vapour, spread evenly over
  the open cells under the pool, until its liquid is gone.
* ``temperature`` (°C): the fire's heat (:class:`~simulator.physics.fire.FireCA`), the
  world's ambient temperature elsewhere and without a fire.
* ``doseRate`` (µSv/h): point sources behind shields plus the 0.1 µSv/h background
  (:class:`~simulator.physics.radiation.RadiationField`).

Time.  :meth:`HazardWorld.step` advances every model by ``dt_s``; a step that contains a
hazard's onset or stop is cut at that moment, so a leak starting at 12.34 s releases
exactly from 12.34 s whatever the tick.  :meth:`sample` reads the state the world has
been stepped to (its ``t_s`` argument is not used to extrapolate).

Randomness.  The world owns the generator it is given and hands each stochastic model its
own child stream (intermittency per gas, the fire), so a seed fixes everything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from pydantic import JsonValue

from missions.site import SiteMap
from simulator.hazards import (
    GAS_SPECIES,
    FireEntry,
    GasRelease,
    HazardEntry,
    RadiationSource,
    ShieldEntry,
    SpillEntry,
    WorldConfig,
    hazard_grid,
    hazard_id,
    solid_mask,
)
from simulator.physics.fire import CellState, FireCA, FireParams
from simulator.physics.gas import Boundary, GasField, Intermittency, PointSource
from simulator.physics.grid import Grid, WindField, rasterize_walls
from simulator.physics.plume import PlumeField
from simulator.physics.radiation import Material, RadiationField, Shield
from simulator.physics.radiation import PointSource as GammaSource
from simulator.physics.spill import Pool

log = logging.getLogger(__name__)

AIR_O2_PERCENT_VOL = 20.9
"""Oxygen in clean air, %vol."""

_EPS_S = 1e-9  # float slack on the shared clock (ten ticks of 0.1 s are 0.9999999999999999 s)
_TOXIC_PPM = ("H2S", "CO", "NH3", "Cl2", "SO2", "NO2")


class HazardWorld:
    """Gas, fire and radiation of one drill, seeded and stepped on the shared clock.

    Implements :class:`simulator.environment.Environment`.  ``rng`` is owned by the world
    from then on (the drill runner passes ``np.random.default_rng([seed, 10_000])``).
    """

    def __init__(
        self,
        site: SiteMap,
        world: WorldConfig | None,
        hazards: Sequence[HazardEntry],
        rng: np.random.Generator,
    ) -> None:
        w = world or WorldConfig()
        self._config = w
        self._hazards = tuple(hazards)
        self._g_memo: dict[tuple[str, float, float], float] = {}
        """concentrations already read at this world time (cleared by :meth:`step`)"""
        self.grid: Grid = hazard_grid(site, w, self._hazards)
        self._solid = solid_mask(self.grid, w)
        self._time_s = 0.0
        gas_rng, fire_rng = rng.spawn(2)
        wind = WindField.uniform(w.wind.u_m_s, w.wind.v_m_s)

        releases = [h for h in self._hazards if isinstance(h, GasRelease)]
        fires = [h for h in self._hazards if isinstance(h, FireEntry)]
        spills = [h for h in self._hazards if isinstance(h, SpillEntry)]
        self._outdoor = w.outdoor
        # outdoors releases and spills are plumes: only a fire's CO needs the grid solver
        on_grid = [] if w.outdoor else [*releases, *spills]
        names = list(dict.fromkeys(h.gas for h in on_grid if isinstance(h, GasRelease)))
        if fires and "CO" not in names:
            names.append("CO")
        for spill in spills:  # after the others: adding a spill leaves their streams alone
            if not w.outdoor and spill.gas not in names:
                names.append(spill.gas)
        disp = w.dispersion
        self._gas: dict[str, GasField] = {}
        for name, child in zip(names, gas_rng.spawn(len(names)), strict=True):
            patchy = None
            if disp.intermittency is not None:
                ic = disp.intermittency
                patchy = Intermittency(
                    self.grid,
                    child,
                    sigma_ln=ic.sigma_ln,
                    patch_m=ic.patch_m,
                    correlation_time_s=ic.correlation_time_s,
                    drift_m_s=(w.wind.u_m_s, w.wind.v_m_s),
                )
            self._gas[name] = GasField(
                self.grid,
                diffusivity_m2_s=disp.diffusivity_m2_s,
                wind=wind,
                obstacles=self._solid,
                mixing_height_m=disp.mixing_height_m,
                decay_per_s=disp.decay_per_s,
                boundary=Boundary(disp.boundary),
                intermittency=patchy,
            )
        # each release is a source at rate 0 until its onset (a plume outdoors)
        self._releases: list[tuple[int, GasRelease, PointSource]] = []
        self._plumes: list[tuple[int, GasRelease | SpillEntry, PlumeField]] = []
        self._released_g: dict[int, float] = {}
        self._wind_speed_m_s = math.hypot(w.wind.u_m_s, w.wind.v_m_s)
        for i, h in enumerate(self._hazards):
            if isinstance(h, GasRelease):
                self._released_g[i] = 0.0
                if w.outdoor is None:
                    src = self._gas[h.gas].add_source(h.x_m, h.y_m, 0.0)
                    self._releases.append((i, h, src))
                else:
                    self._plumes.append((i, h, self._plume(h.x_m, h.y_m, h.rate_g_s, h.height_m)))
        self._spills: list[tuple[int, SpillEntry, Pool, list[PointSource]]] = []
        for i, h in enumerate(self._hazards):
            if isinstance(h, SpillEntry):
                pool = Pool(
                    h.x_m,
                    h.y_m,
                    h.radius_m,
                    mass_g=h.mass_kg * 1000.0,
                    vapour_pressure_pa=h.vapour_pressure_kpa * 1000.0,
                    molar_mass_g_mol=GAS_SPECIES[h.gas].molar_mass_g_mol,
                    temperature_c=h.temperature_c,
                    schmidt=h.schmidt,
                )
                sources: list[PointSource] = []
                if w.outdoor is None:
                    field = self._gas[h.gas]
                    cells = self._pool_cells(pool) or [(h.x_m, h.y_m)]
                    sources = [field.add_source(x, y, 0.0) for x, y in cells]
                else:  # its rate follows the pool, step by step
                    self._plumes.append((i, h, self._plume(h.x_m, h.y_m, 0.0, 0.0)))
                self._spills.append((i, h, pool, sources))
        self._gas_names = tuple(dict.fromkeys([*names, *(h.gas for _i, h, _p in self._plumes)]))
        """every gas in the air: on the grid or in a plume"""

        self._shields = tuple(
            Shield(
                tuple(h.polygon),
                material=Material(h.material),
                mu_per_m=h.mu_per_m,
            )
            for h in self._hazards
            if isinstance(h, ShieldEntry)
        )
        self._gamma = [
            (h, GammaSource(h.x_m, h.y_m, h.activity_gbq, h.nuclide))
            for h in self._hazards
            if isinstance(h, RadiationSource)
        ]
        self._exposed: tuple[bool, ...] = ()
        self._radiation = RadiationField((), self._shields)

        self._fires = fires
        self._ignited = [False] * len(fires)
        self._fire: FireCA | None = None
        self._co_sources: dict[tuple[int, int], PointSource] = {}
        if fires:
            self._fire = FireCA(
                self._fuel(fires),
                self.grid.cell_m,
                self.grid.origin_x_m,
                self.grid.origin_y_m,
                fire_rng,
                wind_u_m_s=w.wind.u_m_s,
                wind_v_m_s=w.wind.v_m_s,
                params=FireParams(ambient_c=w.ambient_c),
            )
        self._apply_timeline()
        log.info(
            "hazard world: %d x %d cells of %.2f m, gases %s, %d gamma sources, %d fires",
            self.grid.nx,
            self.grid.ny,
            self.grid.cell_m,
            names or "none",
            len(self._gamma),
            len(fires),
        )

    def _plume(self, x_m: float, y_m: float, rate_g_s: float, height_m: float) -> PlumeField:
        w = self._config
        assert w.outdoor is not None
        return PlumeField(
            x_m,
            y_m,
            rate_g_s,
            self._wind_speed_m_s,
            math.radians(w.wind.direction_deg),
            w.outdoor.stability,
            release_height_m=height_m,
        )

    def _pool_cells(self, pool: Pool) -> list[tuple[float, float]]:
        """Centres of the open cells whose centre lies in the pool: its area source."""
        g = self.grid
        out: list[tuple[float, float]] = []
        ix0, iy0 = g.cell_of(pool.x_m - pool.radius_m, pool.y_m - pool.radius_m) or (0, 0)
        ix1, iy1 = g.cell_of(pool.x_m + pool.radius_m, pool.y_m + pool.radius_m) or (
            g.nx - 1,
            g.ny - 1,
        )
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                x = g.origin_x_m + (ix + 0.5) * g.cell_m
                y = g.origin_y_m + (iy + 0.5) * g.cell_m
                if not self._solid[iy, ix] and pool.covers(x, y):
                    out.append((x, y))
        return out

    def _fuel(self, fires: Sequence[FireEntry]) -> np.ndarray:
        if any(f.fuel is None for f in fires):
            burnable = ~self._solid
        else:
            burnable = rasterize_walls(self.grid, [p for f in fires for p in f.fuel or ()])
            burnable &= ~self._solid
        return np.where(burnable, int(CellState.FUEL), int(CellState.NO_FUEL)).astype(np.int8)

    # ------------------------------------------------------------------ stepping

    @property
    def time_s(self) -> float:
        """Simulated seconds the world has been stepped to."""
        return self._time_s

    def step(self, dt_s: float) -> None:
        """Advance every model by ``dt_s`` simulated seconds, cutting the step at any
        hazard onset or stop that falls inside it."""
        if not math.isfinite(dt_s) or dt_s < 0:
            raise ValueError(f"dt_s must be finite and >= 0, got {dt_s}")
        self._g_memo.clear()
        end = self._time_s + dt_s
        cuts = sorted(
            {t for t in self._event_times() if self._time_s + _EPS_S < t < end - _EPS_S} | {end}
        )
        for t_next in cuts:
            piece = t_next - self._time_s
            if piece > 0:
                self._step_models(piece)
            self._time_s = t_next
            self._apply_timeline()

    def _event_times(self) -> list[float]:
        times: list[float] = []
        for h in self._hazards:
            if isinstance(h, GasRelease):
                times.append(h.start_s)
                if h.stop_s is not None:
                    times.append(h.stop_s)
            elif isinstance(h, RadiationSource | FireEntry | SpillEntry):
                times.append(h.start_s)
        return times

    def _step_models(self, dt_s: float) -> None:
        for i, _h, src in self._releases:
            self._released_g[i] += src.rate_g_s * dt_s
        for i, source, _plume in self._plumes:
            if isinstance(source, GasRelease) and self._release_on(source, self._time_s):
                self._released_g[i] += source.rate_g_s * dt_s
        if self._fire is not None:
            self._fire.step(dt_s)
            self._feed_fire_co()
        for i, spill, pool, sources in self._spills:
            if spill.start_s > self._time_s + _EPS_S:
                continue
            # the grams that leave the pool in this step, spread over its cells: the gas
            # field receives exactly what evaporated, also in the step the pool runs dry
            gone_g = pool.step(dt_s, self._wind_speed_m_s)
            if not sources:  # outdoors: the pool's plume
                for k, _source, plume in self._plumes:
                    if k == i:
                        plume.rate_g_s = gone_g / dt_s
                continue
            rate = gone_g / dt_s / len(sources)
            for src in sources:
                src.rate_g_s = rate
        for field in self._gas.values():
            field.step(dt_s)

    @staticmethod
    def _release_on(h: GasRelease, t_s: float) -> bool:
        now = t_s + _EPS_S
        return h.start_s <= now and (h.stop_s is None or now < h.stop_s)

    def _apply_timeline(self) -> None:
        """Switch every hazard on or off for the world's current time."""
        now = self._time_s + _EPS_S
        for _i, h, src in self._releases:
            on = h.start_s <= now and (h.stop_s is None or now < h.stop_s)
            src.rate_g_s = h.rate_g_s if on else 0.0
        exposed = tuple(h.start_s <= now for h, _ in self._gamma)
        if exposed != self._exposed:
            self._exposed = exposed
            active = [s for (_, s), on in zip(self._gamma, exposed, strict=True) if on]
            self._radiation = RadiationField(active, self._shields)
        if self._fire is not None:
            for k, f in enumerate(self._fires):
                if not self._ignited[k] and f.start_s <= now:
                    self._ignited[k] = True
                    if not self._fire.ignite(f.x_m, f.y_m):
                        log.warning("hazard world: fire %d did not ignite", k)
            self._feed_fire_co()

    def _feed_fire_co(self) -> None:
        """One CO source per burning cell; a cell that stopped burning loses its source
        (a large fire would otherwise leave thousands of idle ones for the solver)."""
        assert self._fire is not None
        co = self._gas["CO"]
        burning: set[tuple[int, int]] = set()
        for x_m, y_m, rate_g_s in self._fire.sources():
            cell = self.grid.cell_of(x_m, y_m)
            if cell is None:
                continue
            burning.add(cell)
            src = self._co_sources.get(cell)
            if src is None:
                self._co_sources[cell] = co.add_source(x_m, y_m, rate_g_s)
            else:
                src.rate_g_s = rate_g_s
        for cell in [c for c in self._co_sources if c not in burning]:
            co.remove_source(self._co_sources.pop(cell))

    # ------------------------------------------------------------------ sampling

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        """True value of ``quantity`` at map point (``x_m``, ``y_m``), now (see the module
        docstring); None for a quantity this world does not know."""
        if quantity in _TOXIC_PPM:
            return GAS_SPECIES[quantity].ppm(self._g_m3(quantity, x_m, y_m))
        if quantity == "CH4":
            return GAS_SPECIES["CH4"].percent_vol(self._g_m3("CH4", x_m, y_m))
        if quantity == "LEL":
            return sum(
                GAS_SPECIES[name].percent_lel(self._g_m3(name, x_m, y_m))
                for name in self._gas_names
                if GAS_SPECIES[name].lel_percent_vol is not None
            )
        if quantity == "O2":
            fraction = sum(
                GAS_SPECIES[name].ppm(self._g_m3(name, x_m, y_m)) * 1e-6 for name in self._gas_names
            )
            return AIR_O2_PERCENT_VOL * max(0.0, 1.0 - fraction)
        if quantity == "temperature":
            if self._fire is None:
                return self._config.ambient_c
            return self._fire.temperature_at(x_m, y_m)
        if quantity == "doseRate":
            return self._radiation.dose_rate_at(x_m, y_m)
        if quantity == "windSpeed":
            return self._wind_speed_m_s
        if quantity == "windDirection":
            w = self._config.wind
            return math.degrees(math.atan2(w.v_m_s, w.u_m_s)) % 360.0
        return None

    def _g_m3(self, gas: str, x_m: float, y_m: float) -> float:
        # A detector reads a gas, the LEL sum and O2 at one point: each needs every gas's
        # concentration there, so it is computed once per point and world time.
        key = (gas, x_m, y_m)
        got = self._g_memo.get(key)
        if got is None:
            got = self._g_memo[key] = self._g_m3_now(gas, x_m, y_m)
        return got

    def _g_m3_now(self, gas: str, x_m: float, y_m: float) -> float:
        field = self._gas.get(gas)
        total = 0.0 if field is None else field.instantaneous_concentration_at(x_m, y_m)
        for _i, h, plume in self._plumes:
            if h.gas == gas:
                total += self._plume_g_m3(h, plume, x_m, y_m)
        return total

    def _plume_g_m3(
        self, h: GasRelease | SpillEntry, plume: PlumeField, x_m: float, y_m: float
    ) -> float:
        """A plume reaches a point ``d`` m downwind ``d / u`` s after its release starts
        (and a stopped release clears it as long after its stop)."""
        assert self._outdoor is not None
        downwind, _cross = plume.to_plume_frame(x_m, y_m)
        if downwind <= 0.0:
            return 0.0
        travel_s = downwind / plume.wind_speed_m_s
        now = self._time_s + _EPS_S
        if now < h.start_s + travel_s:
            return 0.0
        if isinstance(h, GasRelease) and h.stop_s is not None and now >= h.stop_s + travel_s:
            return 0.0
        return plume.concentration_at(x_m, y_m, self._outdoor.receptor_height_m)

    # ------------------------------------------------------------------ inspection

    @property
    def gas_fields(self) -> Mapping[str, GasField]:
        """The gas fields by gas name (only the gases released)."""
        return MappingProxyType(self._gas)

    @property
    def fire(self) -> FireCA | None:
        return self._fire

    @property
    def ambient_c(self) -> float:
        return self._config.ambient_c

    def wet_pools(self) -> list[tuple[Pool, float]]:
        """(pool, how much colder than ambient it reads, K) of every spill released so
        far that still has liquid, for the cameras."""
        now = self._time_s + _EPS_S
        return [
            (pool, h.cooling_k)
            for _i, h, pool, _s in self._spills
            if h.start_s <= now and pool.liquid_left
        ]

    @property
    def radiation(self) -> RadiationField:
        """The gamma field of the sources exposed now."""
        return self._radiation

    @property
    def obstacles(self) -> np.ndarray:
        """Read-only solid mask ``(ny, nx)`` of walls and obstacles on :attr:`grid`."""
        view = self._solid.view()
        view.flags.writeable = False
        return view

    def ground_truth(self) -> list[dict[str, JsonValue]]:
        """Every hazard as configured, with what it did so far: the ``hazards`` key of
        ``summary.json`` (documented in docs/drills.md)."""
        out: list[dict[str, JsonValue]] = []
        for i, h in enumerate(self._hazards):
            entry: dict[str, JsonValue] = {"id": hazard_id(h, i), "kind": h.kind}
            if isinstance(h, GasRelease):
                entry |= {
                    "gas": h.gas,
                    "x_m": h.x_m,
                    "y_m": h.y_m,
                    "rate_g_s": h.rate_g_s,
                    "start_s": h.start_s,
                    "stop_s": h.stop_s,
                    "released_g": round(self._released_g[i], 6),
                }
            elif isinstance(h, RadiationSource):
                entry |= {
                    "nuclide": h.nuclide,
                    "activity_gbq": h.activity_gbq,
                    "x_m": h.x_m,
                    "y_m": h.y_m,
                    "start_s": h.start_s,
                }
            elif isinstance(h, ShieldEntry):
                entry |= {
                    "material": h.material,
                    "polygon": [[x, y] for x, y in h.polygon],
                    "mu_per_m": h.mu_per_m,
                }
            elif isinstance(h, SpillEntry):
                pool = next(p for k, _h, p, _s in self._spills if k == i)
                entry |= {
                    "gas": h.gas,
                    "x_m": h.x_m,
                    "y_m": h.y_m,
                    "radius_m": h.radius_m,
                    "mass_kg": h.mass_kg,
                    "start_s": h.start_s,
                    "evaporated_g": round(pool.evaporated_g, 6),
                    "liquid_left_g": round(pool.mass_g, 6),
                }
            else:
                entry |= {"x_m": h.x_m, "y_m": h.y_m, "start_s": h.start_s}
                if self._fire is not None:
                    entry["cells_burning"] = self._fire.count(CellState.BURNING)
                    entry["cells_burned"] = self._fire.count(CellState.BURNED)
                    entry["cell_m"] = self.grid.cell_m
            out.append(entry)
        return out


__all__ = ["AIR_O2_PERCENT_VOL", "HazardWorld"]

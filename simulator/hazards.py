"""The ``world:`` and ``hazards:`` sections of a drill scenario (see docs/drills.md).

Pure configuration: pydantic models, strict (unknown fields are refused), with the checks
that need the site as well (:func:`check_world`), each failing with the dotted field path
of the offending value.  :mod:`simulator.world` turns them into running physics.

Frames: map coordinates in metres as on the site map (x east, y north); the wind's
``direction_deg`` is the map-frame direction the air moves *toward*, in degrees
counter-clockwise from +x (0 = toward +x, 90 = toward +y).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from missions.site import SiteMap
from simulator.occupancy import (
    OccupancyError,
    OccupancyMap,
    load_occupancy,
    rasterize_occupancy,
)
from simulator.physics.gas import CH4, CL2, CO, H2S, NH3, NO2, SO2, GasSpecies
from simulator.physics.grid import BoolArray, Grid, Point, rasterize_walls
from simulator.physics.plume import MIN_WIND_SPEED_M_S

MAX_GRID_CELLS = 1_000_000
"""Largest hazard grid accepted (cells); a bigger one would make every tick slow."""

GAS_SPECIES: dict[str, GasSpecies] = {s.name: s for s in (H2S, CH4, CO, NH3, CL2, SO2, NO2)}
"""The gases a ``gas_release`` may release, by the name used in readings."""

Polygon = Annotated[list[tuple[float, float]], Field(min_length=3)]
"""Vertices ``[x_m, y_m]`` in order, not closed (the last joins the first)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindConfig(_Strict):
    speed_m_s: float = Field(default=0.0, ge=0, le=50)
    direction_deg: float = Field(default=0.0, ge=-360, le=360)
    """map-frame direction the air moves toward, degrees counter-clockwise from +x"""

    @property
    def u_m_s(self) -> float:
        return self.speed_m_s * math.cos(math.radians(self.direction_deg))

    @property
    def v_m_s(self) -> float:
        return self.speed_m_s * math.sin(math.radians(self.direction_deg))


class GridConfig(_Strict):
    cell_m: float = Field(default=0.5, gt=0, le=10)
    """side of one square cell of the gas and fire grid"""
    margin_m: float = Field(default=5.0, ge=0, le=1000)
    """open space added around the site's extent on every side"""


class IntermittencyConfig(_Strict):
    """Log-normal patchiness of a plume (see :class:`simulator.physics.gas.Intermittency`)."""

    sigma_ln: float = Field(default=0.5, ge=0, le=3)
    patch_m: float = Field(default=2.0, gt=0)
    correlation_time_s: float = Field(default=5.0, ge=0)


class DispersionConfig(_Strict):
    """How released gas spreads on the grid (:class:`simulator.physics.gas.GasField`)."""

    diffusivity_m2_s: float = Field(default=0.05, ge=0, le=10)
    """turbulent (eddy) diffusivity; indoors 0.01-0.1 m²/s"""
    mixing_height_m: float = Field(default=2.0, gt=0, le=100)
    """height of the well-mixed layer a release fills"""
    decay_per_s: float = Field(default=0.0, ge=0)
    """first-order loss (ventilation), 1/s"""
    boundary: Literal["open", "closed"] = "open"
    """grid edge: open lets the wind carry gas out; closed is a sealed building"""
    intermittency: IntermittencyConfig | None = None
    """patchiness of what a fast sensor sees; None: the mean field"""


class OutdoorConfig(_Strict):
    """An outdoor site: gas releases and spills spread as steady Gaussian plumes with
    Briggs rural coefficients (:mod:`simulator.physics.plume`) instead of on the grid."""

    stability: Literal["A", "B", "C", "D", "E", "F"] = "D"
    """Pasquill-Gifford class: D (neutral) for overcast or windy days"""
    receptor_height_m: float = Field(default=0.5, ge=0, le=10)
    """height of the robots' gas inlets above ground"""


class OccupancyConfig(_Strict):
    """Walls and equipment from an occupancy image (:mod:`simulator.occupancy`), as a
    ROS ``map_server`` map: black occupied, white free."""

    image: str = Field(min_length=1)
    """PNG or PGM file; a relative path is relative to the scenario file"""
    resolution_m: float = Field(gt=0, le=10)
    """metres per pixel"""
    origin: tuple[float, float] = (0.0, 0.0)
    """map coordinates (m) of the image's lower-left corner"""
    occupied_thresh: float = Field(default=0.65, gt=0, lt=1)
    negate: bool = False

    def load(self) -> OccupancyMap:
        """The thresholded image (OccupancyError when it cannot be read)."""
        return load_occupancy(
            self.image,
            self.resolution_m,
            self.origin[0],
            self.origin[1],
            self.occupied_thresh,
            self.negate,
        )


class WorldConfig(_Strict):
    walls: list[Polygon] = Field(default_factory=list)
    """solid outlines: no gas crosses them, nothing burns in them"""
    obstacles: list[Polygon] = Field(default_factory=list)
    """solid equipment (tanks, skids); to the physics the same as walls"""
    occupancy: OccupancyConfig | None = None
    """an occupancy image whose occupied pixels are walls too"""
    wind: WindConfig = WindConfig()
    grid: GridConfig = GridConfig()
    dispersion: DispersionConfig = DispersionConfig()
    ambient_c: float = Field(default=20.0, ge=-60, le=60)
    """air temperature away from any fire, °C"""
    outdoor: OutdoorConfig | None = None
    """set: releases and spills are Gaussian plumes (needs wind >= 1 m/s); a fire's CO
    stays on the grid"""


# ------------------------------------------------------------------------ hazards


class _Hazard(_Strict):
    id: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    """name in the ground truth; default ``<kind>-<index>``"""


class GasRelease(_Hazard):
    kind: Literal["gas_release"]
    gas: Literal["H2S", "CH4", "CO", "NH3", "Cl2", "SO2", "NO2"]
    x_m: float
    y_m: float
    rate_g_s: float = Field(gt=0, le=1e5)
    start_s: float = Field(default=0.0, ge=0)
    """simulated seconds after the drill starts at which the leak begins"""
    stop_s: float | None = Field(default=None, gt=0)
    """when it stops (None: never)"""
    height_m: float = Field(default=0.0, ge=0, le=300)
    """release height above ground; used outdoors only (the grid is 2-D)"""

    @model_validator(mode="after")
    def _stop_after_start(self) -> GasRelease:
        if self.stop_s is not None and self.stop_s <= self.start_s:
            raise ValueError(f"stop_s: must be after start_s ({self.start_s:g} s)")
        return self


class RadiationSource(_Hazard):
    kind: Literal["radiation_source"]
    nuclide: Literal["Cs-137", "Co-60", "Ir-192"]
    activity_gbq: float = Field(gt=0, le=1e6)
    x_m: float
    y_m: float
    start_s: float = Field(default=0.0, ge=0)
    """when the source is exposed (out of its container); before it the field is background"""


class ShieldEntry(_Hazard):
    kind: Literal["shield"]
    material: Literal["concrete", "lead"]
    polygon: Polygon
    mu_per_m: float | None = Field(default=None, ge=0)
    """linear attenuation coefficient override, 1/m (default: tabulated for the nuclide)"""


class FireEntry(_Hazard):
    kind: Literal["fire"]
    x_m: float
    y_m: float
    start_s: float = Field(default=0.0, ge=0)
    """ignition time, simulated seconds after the drill starts"""
    fuel: list[Polygon] | None = None
    """where there is something to burn; None: every open cell of the grid"""


class SpillEntry(_Hazard):
    """A pool of liquid evaporating into the air (:mod:`simulator.physics.spill`)."""

    kind: Literal["spill"]
    gas: Literal["H2S", "NH3", "Cl2", "SO2", "NO2"]
    """the vapour the liquid gives off"""
    x_m: float
    y_m: float
    radius_m: float = Field(gt=0, le=50)
    """the pool's radius (it keeps this area)"""
    mass_kg: float = Field(gt=0, le=1e6)
    """how much of the vapour's species the liquid can give off"""
    vapour_pressure_kpa: float = Field(gt=0, le=101.325)
    """the vapour's partial pressure over the liquid at ``temperature_c`` (a property of
    the liquid: take it from its safety data sheet)"""
    temperature_c: float = Field(default=20.0, ge=-60, le=100)
    schmidt: float = Field(default=0.6, gt=0, le=5)
    """the vapour's Schmidt number in air (0.6 for NH3; larger for heavier vapours)"""
    cooling_k: float = Field(default=3.0, ge=0, le=30)
    """how much colder than ambient the evaporating pool reads on a thermal camera"""
    start_s: float = Field(default=0.0, ge=0)
    """when the liquid is released"""


HazardEntry = Annotated[
    GasRelease | RadiationSource | ShieldEntry | FireEntry | SpillEntry,
    Field(discriminator="kind"),
]

HAZARD_KINDS: frozenset[str] = frozenset(
    {"gas_release", "radiation_source", "shield", "fire", "spill"}
)


def hazard_list_error(err: ValidationError) -> ValueError:
    """The first error of validating the ``hazards`` list as ``"<index>.<field>: problem"``.

    pydantic puts the tag of the tried union member into the error location
    (``0.gas_release.rate_g_s``); the path a user wrote has no such level."""
    errors = err.errors(include_url=False)
    first = errors[0]
    parts = [str(p) for p in first["loc"] if not (isinstance(p, str) and p in HAZARD_KINDS)]
    problem = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "value_error":
        sub, sep, rest = problem.partition(": ")
        if sep and sub and " " not in sub:
            parts.append(sub)
            problem = rest
    elif first["type"] == "extra_forbidden":
        problem = "unknown field (check the spelling)"
    if len(errors) > 1:
        more = len(errors) - 1
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ValueError(f"{'.'.join(parts)}: {problem}")


def hazard_id(
    entry: GasRelease | RadiationSource | ShieldEntry | FireEntry | SpillEntry, index: int
) -> str:
    return entry.id or f"{entry.kind}-{index}"


# ------------------------------------------------------------------------ the grid


def _points(site: SiteMap, world: WorldConfig, hazards: Sequence[HazardEntry]) -> list[Point]:
    pts: list[Point] = [(n.x, n.y) for n in site.nodes]
    for z in site.zones:
        pts.extend(z.polygon)
    for poly in (*world.walls, *world.obstacles):
        pts.extend(poly)
    if world.occupancy is not None:
        x0, y0, x1, y1 = world.occupancy.load().extent()
        pts.extend([(x0, y0), (x1, y1)])
    for h in hazards:
        if isinstance(h, ShieldEntry):
            pts.extend(h.polygon)
    return pts


def hazard_grid(site: SiteMap, world: WorldConfig, hazards: Sequence[HazardEntry] = ()) -> Grid:
    """The gas and fire grid: the extent of the site's nodes, zones, walls, obstacles and
    shields, plus ``world.grid.margin_m`` on every side, in cells of ``world.grid.cell_m``.
    Hazard positions do not widen it: a hazard off the site's extent is a mistake."""
    pts = _points(site, world, hazards)
    margin = world.grid.margin_m
    min_x = min(p[0] for p in pts) - margin
    min_y = min(p[1] for p in pts) - margin
    max_x = max(p[0] for p in pts) + margin
    max_y = max(p[1] for p in pts) + margin
    # a single node and no margin: still give the grid one cell each way
    cell = world.grid.cell_m
    return Grid.covering(min_x, min_y, max(max_x, min_x + cell), max(max_y, min_y + cell), cell)


def solid_mask(grid: Grid, world: WorldConfig) -> BoolArray:
    """Walls, obstacles and the occupancy image's occupied pixels rasterised on ``grid``
    (True = solid)."""
    mask = rasterize_walls(grid, [*world.walls, *world.obstacles])
    if world.occupancy is not None:
        mask |= rasterize_occupancy(grid, world.occupancy.load())
    return mask


def check_world(
    site: SiteMap, world: WorldConfig | None, hazards: Sequence[HazardEntry]
) -> tuple[str, str] | None:
    """The first problem of the world and hazards sections as ``(field path, problem)``,
    or None.  Checks what a single field cannot: the grid size, hazards on the grid and
    out of walls, unique ids."""
    w = world or WorldConfig()
    if w.occupancy is not None:
        try:
            w.occupancy.load()
        except OccupancyError as exc:
            return ("world.occupancy.image", str(exc))
    if w.outdoor is not None and w.wind.speed_m_s < MIN_WIND_SPEED_M_S:
        return (
            "world.wind.speed_m_s",
            f"an outdoor world (Gaussian plume) needs wind of at least "
            f"{MIN_WIND_SPEED_M_S:g} m/s, got {w.wind.speed_m_s:g}; in calm air leave "
            "out world.outdoor and use the grid",
        )
    grid = hazard_grid(site, w, hazards)
    cells = grid.nx * grid.ny
    if cells > MAX_GRID_CELLS:
        return (
            "world.grid.cell_m",
            f"the site needs {grid.nx} x {grid.ny} = {cells} cells of {grid.cell_m:g} m "
            f"(at most {MAX_GRID_CELLS}); use larger cells or a smaller margin",
        )
    solid = solid_mask(grid, w) if (w.walls or w.obstacles or w.occupancy) else None
    ids: set[str] = set()
    for i, h in enumerate(hazards):
        hid = hazard_id(h, i)
        if hid in ids:
            return (f"hazards.{i}.id", f"duplicate hazard id {hid!r}")
        ids.add(hid)
        if isinstance(h, ShieldEntry):
            continue
        # a radiation source may sit inside equipment; gas and fire need open air
        walls = None if isinstance(h, RadiationSource) else solid
        problem = _point_problem(grid, walls, h.x_m, h.y_m)
        if problem:
            return (f"hazards.{i}.x_m", problem)
        if isinstance(h, SpillEntry):
            rim = _rim_problem(grid, h)
            if rim:
                return (f"hazards.{i}.radius_m", rim)
        if isinstance(h, FireEntry) and h.fuel is not None:
            inside = any(_inside(h.x_m, h.y_m, poly) for poly in h.fuel)
            if not inside:
                return (f"hazards.{i}.fuel", "the ignition point lies in none of the fuel polygons")
    return None


def _rim_problem(grid: Grid, spill: SpillEntry) -> str | None:
    """The pool must lie on the grid (walls may cut it: it pools against them)."""
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        x = spill.x_m + dx * spill.radius_m
        y = spill.y_m + dy * spill.radius_m
        if grid.cell_of(x, y) is None:
            return f"the pool reaches ({x:g}, {y:g}) m, off the hazard grid"
    return None


def _point_problem(grid: Grid, solid: BoolArray | None, x_m: float, y_m: float) -> str | None:
    cell = grid.cell_of(x_m, y_m)
    if cell is None:
        x1 = grid.origin_x_m + grid.width_m
        y1 = grid.origin_y_m + grid.height_m
        return (
            f"({x_m:g}, {y_m:g}) m is off the hazard grid, which spans x "
            f"{grid.origin_x_m:g}..{x1:g} m and y {grid.origin_y_m:g}..{y1:g} m"
        )
    if solid is not None and solid[cell[1], cell[0]]:
        return f"({x_m:g}, {y_m:g}) m is inside a wall or obstacle"
    return None


def _inside(x_m: float, y_m: float, polygon: Iterable[Point]) -> bool:
    pts = list(polygon)
    inside = False
    j = len(pts) - 1
    for i, (xi, yi) in enumerate(pts):
        xj, yj = pts[j]
        if (yi > y_m) != (yj > y_m) and x_m < (xj - xi) * (y_m - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside

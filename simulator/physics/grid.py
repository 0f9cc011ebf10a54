"""The world grid shared by the gridded hazard models: cells, walls and wind.

Frames and conventions (used by every module in :mod:`simulator.physics`):

* Map frame: metres, ``x`` east, ``y`` north, angles in radians counter-clockwise from ``+x``
  (ROS REP 103).  The site map's coordinates are used unchanged.
* A :class:`Grid` is a rectangle of ``nx`` × ``ny`` square cells of side ``cell_m`` whose
  lower-left corner is (``origin_x_m``, ``origin_y_m``).  Cell ``(ix, iy)`` covers
  ``[origin_x_m + ix·cell_m, origin_x_m + (ix+1)·cell_m)`` in x, and likewise in y.
* Arrays over a grid have shape ``(ny, nx)`` and are indexed ``array[iy, ix]`` (row = y).
* Wind is the vector the air moves *toward*, in m/s, in the map frame.  Weather reports give
  the direction the wind blows *from*, clockwise from north: convert with
  :func:`map_direction_from_meteorological`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Point = tuple[float, float]


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells over the map (see the module docstring for the layout)."""

    origin_x_m: float
    origin_y_m: float
    cell_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cell_m) and self.cell_m > 0):
            raise ValueError(f"Grid.cell_m must be a positive finite length, got {self.cell_m!r}")
        if self.nx < 1 or self.ny < 1:
            raise ValueError(f"Grid needs ≥ 1 cell each way, got nx={self.nx} ny={self.ny}")
        if not (math.isfinite(self.origin_x_m) and math.isfinite(self.origin_y_m)):
            raise ValueError("Grid origin must be finite")

    @classmethod
    def covering(
        cls, min_x_m: float, min_y_m: float, max_x_m: float, max_y_m: float, cell_m: float
    ) -> Grid:
        """The smallest grid of ``cell_m`` cells with its lower-left corner at (``min_x_m``,
        ``min_y_m``) that covers the rectangle up to (``max_x_m``, ``max_y_m``)."""
        if max_x_m <= min_x_m or max_y_m <= min_y_m:
            raise ValueError("Grid.covering needs max > min on both axes")
        nx = max(1, math.ceil((max_x_m - min_x_m) / cell_m - 1e-9))
        ny = max(1, math.ceil((max_y_m - min_y_m) / cell_m - 1e-9))
        return cls(min_x_m, min_y_m, cell_m, nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)`` of a field over this grid."""
        return (self.ny, self.nx)

    @property
    def width_m(self) -> float:
        return self.nx * self.cell_m

    @property
    def height_m(self) -> float:
        return self.ny * self.cell_m

    @property
    def cell_area_m2(self) -> float:
        return self.cell_m * self.cell_m

    def contains(self, x_m: float, y_m: float) -> bool:
        """True when the map point lies on the grid (lower and left edges included)."""
        fx = (x_m - self.origin_x_m) / self.cell_m
        fy = (y_m - self.origin_y_m) / self.cell_m
        return 0.0 <= fx < self.nx and 0.0 <= fy < self.ny

    def cell_of(self, x_m: float, y_m: float) -> tuple[int, int] | None:
        """Indices ``(ix, iy)`` of the cell holding the map point, or None off the grid."""
        if not self.contains(x_m, y_m):
            return None
        ix = min(math.floor((x_m - self.origin_x_m) / self.cell_m), self.nx - 1)
        iy = min(math.floor((y_m - self.origin_y_m) / self.cell_m), self.ny - 1)
        return (ix, iy)

    def center_of(self, ix: int, iy: int) -> Point:
        """Map coordinates (m) of the centre of cell ``(ix, iy)``."""
        return (
            self.origin_x_m + (ix + 0.5) * self.cell_m,
            self.origin_y_m + (iy + 0.5) * self.cell_m,
        )

    def center_coordinates(self) -> tuple[FloatArray, FloatArray]:
        """Cell-centre x and y coordinates (m) as two ``(ny, nx)`` arrays."""
        xs = self.origin_x_m + (np.arange(self.nx, dtype=np.float64) + 0.5) * self.cell_m
        ys = self.origin_y_m + (np.arange(self.ny, dtype=np.float64) + 0.5) * self.cell_m
        gx, gy = np.meshgrid(xs, ys)
        return gx, gy

    def fractional_index(self, x_m: float, y_m: float) -> Point:
        """Continuous cell-centre coordinates of a map point: ``(0.0, 0.0)`` is the centre of
        cell (0, 0), ``(1.0, 0.0)`` the centre of cell (1, 0).  Used for bilinear sampling."""
        return (
            (x_m - self.origin_x_m) / self.cell_m - 0.5,
            (y_m - self.origin_y_m) / self.cell_m - 0.5,
        )


def map_direction_from_meteorological(from_deg: float) -> float:
    """Map-frame direction (rad, CCW from +x) the air moves toward, given the meteorological
    wind direction ``from_deg`` (degrees clockwise from north that the wind blows *from*).
    A north wind (0°) blows toward −y, i.e. −π/2."""
    toward_bearing_deg = from_deg + 180.0
    return math.remainder(math.radians(90.0 - toward_bearing_deg), 2.0 * math.pi)


class WindField:
    """Horizontal wind over the map, in m/s, toward which the air moves.

    Either uniform (:meth:`uniform`, :meth:`from_speed_direction`) or given per cell of a
    :class:`Grid` (:meth:`per_cell`), in which case :meth:`at` interpolates bilinearly between
    cell centres and holds the edge values beyond the outermost centres.  A per-cell field is
    taken as given: it is not made divergence-free, so wind blowing into a wall simply stops
    there (the gas solver allows no flux through obstacle faces).
    """

    def __init__(
        self,
        u_x_m_s: float | FloatArray,
        u_y_m_s: float | FloatArray,
        grid: Grid | None = None,
    ) -> None:
        self._grid = grid
        if grid is None:
            ux, uy = float(u_x_m_s), float(u_y_m_s)
            if not (math.isfinite(ux) and math.isfinite(uy)):
                raise ValueError("WindField components must be finite")
            self._ux: FloatArray = np.full((1, 1), ux)
            self._uy: FloatArray = np.full((1, 1), uy)
        else:
            ux_a = np.asarray(u_x_m_s, dtype=np.float64)
            uy_a = np.asarray(u_y_m_s, dtype=np.float64)
            if ux_a.shape != grid.shape or uy_a.shape != grid.shape:
                raise ValueError(
                    f"WindField arrays must have the grid shape {grid.shape}, "
                    f"got {ux_a.shape} and {uy_a.shape}"
                )
            if not (np.isfinite(ux_a).all() and np.isfinite(uy_a).all()):
                raise ValueError("WindField arrays must be finite")
            self._ux = ux_a.copy()
            self._uy = uy_a.copy()
        self._ux.setflags(write=False)
        self._uy.setflags(write=False)

    @classmethod
    def uniform(cls, u_x_m_s: float, u_y_m_s: float) -> WindField:
        return cls(u_x_m_s, u_y_m_s)

    @classmethod
    def calm(cls) -> WindField:
        return cls(0.0, 0.0)

    @classmethod
    def from_speed_direction(cls, speed_m_s: float, direction_rad: float) -> WindField:
        """Uniform wind of ``speed_m_s`` moving toward map angle ``direction_rad``."""
        if speed_m_s < 0:
            raise ValueError(f"wind speed must be ≥ 0 m/s, got {speed_m_s}")
        return cls(speed_m_s * math.cos(direction_rad), speed_m_s * math.sin(direction_rad))

    @classmethod
    def per_cell(cls, grid: Grid, u_x_m_s: FloatArray, u_y_m_s: FloatArray) -> WindField:
        """Wind given at each cell centre of ``grid`` as two ``(ny, nx)`` arrays (m/s)."""
        return cls(u_x_m_s, u_y_m_s, grid)

    @property
    def is_uniform(self) -> bool:
        return self._grid is None

    @property
    def grid(self) -> Grid | None:
        return self._grid

    def on_grid(self, grid: Grid) -> tuple[FloatArray, FloatArray]:
        """The wind at the cell centres of ``grid`` as two read-only ``(ny, nx)`` arrays (m/s)."""
        if self._grid is None:
            return (
                np.full(grid.shape, float(self._ux[0, 0])),
                np.full(grid.shape, float(self._uy[0, 0])),
            )
        if self._grid != grid:
            raise ValueError("a per-cell WindField can only be used on the grid it was given on")
        return self._ux, self._uy

    def max_speed_components_m_s(self) -> Point:
        """Largest |u_x| and |u_y| anywhere (m/s)."""
        return (float(np.abs(self._ux).max()), float(np.abs(self._uy).max()))

    def mean_m_s(self) -> Point:
        """Mean wind vector over the cells (m/s); the wind itself when uniform."""
        return (float(self._ux.mean()), float(self._uy.mean()))

    def at(self, x_m: float, y_m: float) -> Point:
        """Wind vector ``(u_x, u_y)`` in m/s at a map point."""
        if self._grid is None:
            return (float(self._ux[0, 0]), float(self._uy[0, 0]))
        fx, fy = self._grid.fractional_index(x_m, y_m)
        return (
            _bilinear_clamped(self._ux, fx, fy),
            _bilinear_clamped(self._uy, fx, fy),
        )


def _bilinear_clamped(values: FloatArray, fx: float, fy: float) -> float:
    """Bilinear interpolation at continuous cell-centre index (fx, fy), clamped to the edges."""
    ny, nx = values.shape
    fx = min(max(fx, 0.0), nx - 1.0)
    fy = min(max(fy, 0.0), ny - 1.0)
    ix0 = min(int(fx), max(nx - 2, 0))
    iy0 = min(int(fy), max(ny - 2, 0))
    ix1 = min(ix0 + 1, nx - 1)
    iy1 = min(iy0 + 1, ny - 1)
    tx = fx - ix0
    ty = fy - iy0
    top = values[iy0, ix0] * (1 - tx) + values[iy0, ix1] * tx
    bottom = values[iy1, ix0] * (1 - tx) + values[iy1, ix1] * tx
    return float(top * (1 - ty) + bottom * ty)


# --------------------------------------------------------------------------- walls


def rasterize_walls(
    grid: Grid,
    polygons: Sequence[Sequence[Point]],
    polylines: Sequence[Sequence[Point]] = (),
    wall_thickness_m: float = 0.0,
) -> BoolArray:
    """Obstacle mask ``(ny, nx)`` (True = solid) of a grid, from map-frame shapes in metres.

    * ``polygons``: closed outlines of walls and obstacles (the last vertex joins the first).
      A cell is solid when its centre is inside (even-odd rule) **or** the outline crosses it.
    * ``polylines``: thin walls as open chains of segments, thickened to ``wall_thickness_m``.
      A cell is solid when a segment crosses it or its centre is within half the thickness.

    Marking every cell an outline crosses errs on the side of solid: a wall thinner than a
    cell still yields an 8-connected chain of solid cells, which the 4-neighbour gas solver
    cannot leak through (gas must not cross a wall because a cell was too coarse).
    """
    if wall_thickness_m < 0 or not math.isfinite(wall_thickness_m):
        raise ValueError(f"wall_thickness_m must be ≥ 0, got {wall_thickness_m}")
    mask = np.zeros(grid.shape, dtype=np.bool_)
    cx, cy = grid.center_coordinates()
    for k, poly in enumerate(polygons):
        pts = _as_points(poly, f"polygons[{k}]", minimum=3)
        mask |= _inside_polygon(pts, cx, cy)
        closed = np.vstack([pts, pts[:1]])
        for a, b in itertools.pairwise(closed):
            _mark_segment(grid, mask, cx, cy, a, b, 0.0)
    for k, line in enumerate(polylines):
        pts = _as_points(line, f"polylines[{k}]", minimum=2)
        for a, b in itertools.pairwise(pts):
            _mark_segment(grid, mask, cx, cy, a, b, wall_thickness_m / 2.0)
    return mask


def _as_points(shape: Sequence[Point], name: str, minimum: int) -> FloatArray:
    pts = np.asarray(shape, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < minimum:
        raise ValueError(f"{name}: need at least {minimum} (x, y) points, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError(f"{name}: coordinates must be finite")
    return pts


def _inside_polygon(pts: FloatArray, cx: FloatArray, cy: FloatArray) -> BoolArray:
    """Even-odd point-in-polygon test of every cell centre (ray cast toward +x)."""
    inside = np.zeros(cx.shape, dtype=np.bool_)
    n = len(pts)
    for i in range(n):
        x1, y1 = pts[i]
        x2, y2 = pts[(i + 1) % n]
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray an odd number of times
        straddles = (y1 > cy) != (y2 > cy)
        x_cross = x1 + (cy - y1) * (x2 - x1) / (y2 - y1)
        inside ^= straddles & (cx < x_cross)
    return inside


def _mark_segment(
    grid: Grid,
    mask: BoolArray,
    cx: FloatArray,
    cy: FloatArray,
    a: FloatArray,
    b: FloatArray,
    half_thickness_m: float,
) -> None:
    # Cells crossed: sample the segment at a quarter cell, so consecutive samples fall in the
    # same or 8-adjacent cells and the chain has no gaps.
    length = float(np.hypot(*(b - a)))
    n = max(2, math.ceil(length / (grid.cell_m / 4.0)) + 1)
    t = np.linspace(0.0, 1.0, n)
    fx = (a[0] + t * (b[0] - a[0]) - grid.origin_x_m) / grid.cell_m
    fy = (a[1] + t * (b[1] - a[1]) - grid.origin_y_m) / grid.cell_m
    on = (fx >= 0) & (fx < grid.nx) & (fy >= 0) & (fy < grid.ny)
    mask[np.floor(fy[on]).astype(np.int64), np.floor(fx[on]).astype(np.int64)] = True
    if half_thickness_m <= 0.0:
        return
    # Thickness: cell centres within half the thickness of the segment (Euclidean).
    d = b - a
    len2 = float(d @ d)
    if len2 == 0.0:
        dist = np.hypot(cx - a[0], cy - a[1])
    else:
        s = np.clip(((cx - a[0]) * d[0] + (cy - a[1]) * d[1]) / len2, 0.0, 1.0)
        dist = np.hypot(cx - (a[0] + s * d[0]), cy - (a[1] + s * d[1]))
    mask |= dist <= half_thickness_m

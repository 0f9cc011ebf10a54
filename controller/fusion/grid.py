"""The map-aligned grid every fusion layer lives on, and input validation shared by them.

Frames follow the rest of hazfleet (and :mod:`simulator.physics.grid`, which this mirrors
without importing): metres in the site map frame, ``x`` east, ``y`` north.  A grid of
``nx`` × ``ny`` square cells of side ``cell_m`` has its lower-left corner at
(``origin_x_m``, ``origin_y_m``); cell ``(ix, iy)`` covers
``[origin_x_m + ix·cell_m, origin_x_m + (ix+1)·cell_m)`` in x and likewise in y.  Arrays
over the grid have shape ``(ny, nx)`` and are indexed ``array[iy, ix]``; a flat cell index
is ``iy·nx + ix``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def as_float_array(name: str, values: npt.ArrayLike, *, nonnegative: bool = False) -> FloatArray:
    """``values`` as a 1-D float64 array; ValueError naming ``name`` when any entry is NaN or
    infinite (or negative, with ``nonnegative``)."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a scalar or a 1-D sequence, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name}: NaN or infinite value (index {int(np.argmin(np.isfinite(arr)))})"
        )
    if nonnegative and (arr < 0.0).any():
        bad = int(np.argmax(arr < 0.0))
        raise ValueError(f"{name}: negative value {arr[bad]!r} at index {bad}")
    return arr


def broadcast_fields(n: int, **fields: FloatArray) -> dict[str, FloatArray]:
    """Broadcast length-1 arrays to ``n``; ValueError naming the field of a wrong length."""
    out: dict[str, FloatArray] = {}
    for name, arr in fields.items():
        if arr.shape[0] == n:
            out[name] = arr
        elif arr.shape[0] == 1:
            out[name] = np.broadcast_to(arr, (n,))
        else:
            raise ValueError(f"{name}: length {arr.shape[0]} does not match the {n} readings")
    return out


@dataclass(frozen=True)
class GridSpec:
    """A regular grid of square cells over the site map (layout in the module docstring)."""

    origin_x_m: float
    origin_y_m: float
    cell_m: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cell_m) and self.cell_m > 0.0):
            raise ValueError(
                f"GridSpec.cell_m: must be a positive finite length, got {self.cell_m}"
            )
        if self.nx < 1 or self.ny < 1:
            raise ValueError(f"GridSpec.nx/ny: need >= 1 cell each way, got {self.nx}, {self.ny}")
        if not (math.isfinite(self.origin_x_m) and math.isfinite(self.origin_y_m)):
            raise ValueError("GridSpec.origin_x_m/origin_y_m: must be finite")

    @classmethod
    def covering(
        cls, min_x_m: float, min_y_m: float, max_x_m: float, max_y_m: float, cell_m: float
    ) -> GridSpec:
        """The smallest grid of ``cell_m`` cells with its lower-left corner at
        (``min_x_m``, ``min_y_m``) that covers the rectangle up to (``max_x_m``, ``max_y_m``)."""
        if not (max_x_m > min_x_m and max_y_m > min_y_m):
            raise ValueError("GridSpec.covering: need max > min on both axes")
        nx = max(1, math.ceil((max_x_m - min_x_m) / cell_m - 1e-9))
        ny = max(1, math.ceil((max_y_m - min_y_m) / cell_m - 1e-9))
        return cls(min_x_m, min_y_m, cell_m, nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)``."""
        return (self.ny, self.nx)

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.nx * self.ny

    def contains(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> BoolArray:
        """Per point: True when it lies on the grid (lower and left edges included)."""
        fx = (np.asarray(x_m, dtype=np.float64) - self.origin_x_m) / self.cell_m
        fy = (np.asarray(y_m, dtype=np.float64) - self.origin_y_m) / self.cell_m
        return np.asarray((fx >= 0.0) & (fx < self.nx) & (fy >= 0.0) & (fy < self.ny))

    def cells_of(
        self, x_m: npt.ArrayLike, y_m: npt.ArrayLike, *, field: str = "x_m/y_m"
    ) -> tuple[IntArray, IntArray]:
        """Cell indices ``(ix, iy)`` of map points (m); ValueError naming ``field`` when a
        point is not finite or lies off the grid."""
        x = as_float_array(f"{field} (x)", x_m)
        y = as_float_array(f"{field} (y)", y_m)
        fx = np.floor((x - self.origin_x_m) / self.cell_m)
        fy = np.floor((y - self.origin_y_m) / self.cell_m)
        off = (fx < 0) | (fx >= self.nx) | (fy < 0) | (fy >= self.ny)
        if off.any():
            k = int(np.argmax(off))
            raise ValueError(
                f"{field}: point ({x[k % x.size]}, {y[k % y.size]}) at index {k} is off the "
                f"grid [{self.origin_x_m}, {self.origin_x_m + self.nx * self.cell_m}) × "
                f"[{self.origin_y_m}, {self.origin_y_m + self.ny * self.cell_m})"
            )
        return fx.astype(np.int64), fy.astype(np.int64)

    def flat_index(
        self, x_m: npt.ArrayLike, y_m: npt.ArrayLike, *, field: str = "x_m/y_m"
    ) -> IntArray:
        """Flat cell indices ``iy·nx + ix`` of map points (see :meth:`cells_of`)."""
        ix, iy = self.cells_of(x_m, y_m, field=field)
        return iy * self.nx + ix

    def center_of(self, ix: int, iy: int) -> tuple[float, float]:
        """Map coordinates (m) of the centre of cell ``(ix, iy)``."""
        return (
            self.origin_x_m + (ix + 0.5) * self.cell_m,
            self.origin_y_m + (iy + 0.5) * self.cell_m,
        )

    def center_coordinates(self) -> tuple[FloatArray, FloatArray]:
        """Cell-centre x and y (m) as two ``(ny, nx)`` arrays."""
        xs = self.origin_x_m + (np.arange(self.nx, dtype=np.float64) + 0.5) * self.cell_m
        ys = self.origin_y_m + (np.arange(self.ny, dtype=np.float64) + 0.5) * self.cell_m
        gx, gy = np.meshgrid(xs, ys)
        return gx, gy

    def value_at(self, layer: FloatArray, x_m: float, y_m: float) -> float:
        """The value of a ``(ny, nx)`` layer in the cell holding map point (``x_m``, ``y_m``)."""
        if layer.shape != self.shape:
            raise ValueError(f"layer: shape {layer.shape} is not the grid's {self.shape}")
        ix, iy = self.cells_of(x_m, y_m)
        return float(layer[int(iy[0]), int(ix[0])])


@dataclass(frozen=True)
class SpatialSummary:
    """Where a posterior over candidate points puts a source: mean (m), 2×2 covariance
    (m²), RMS radius ``sqrt(trace)``, the radius around the mean holding 95 % of the
    mass, and the index of the most probable point."""

    x_m: float
    y_m: float
    covariance_m2: tuple[tuple[float, float], tuple[float, float]]
    sigma_m: float
    radius95_m: float
    best: int


def spatial_summary(p: FloatArray, xs: FloatArray, ys: FloatArray) -> SpatialSummary:
    """The :class:`SpatialSummary` of probabilities ``p`` (summing to 1) at points
    (``xs``, ``ys``): what both source estimators report."""
    x, y = float(p @ xs), float(p @ ys)
    dx, dy = xs - x, ys - y
    cxx, cyy, cxy = float(p @ (dx * dx)), float(p @ (dy * dy)), float(p @ (dx * dy))
    dist = np.hypot(dx, dy)
    order = np.argsort(dist)
    cum = np.cumsum(p[order])
    r95 = float(dist[order][min(int(np.searchsorted(cum, 0.95)), dist.size - 1)])
    return SpatialSummary(
        x, y, ((cxx, cxy), (cxy, cyy)), math.sqrt(cxx + cyy), r95, int(np.argmax(p))
    )

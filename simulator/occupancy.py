"""Occupancy images: a site's walls and equipment drawn as a picture instead of polygons.

The format is the one ROS ``map_server`` and most robot mapping tools write: a grey
image (PNG or PGM) and, in the scenario's ``world.occupancy``, its ``resolution_m``
(metres per pixel), ``origin`` (map coordinates of the image's lower-left corner),
``occupied_thresh`` and ``negate``.  A pixel of value ``v`` (0..255) is occupied when
``p > occupied_thresh`` with ``p = (255 − v) / 255`` (``v / 255`` when ``negate``): black
is wall, white is free, as a lidar map shows it.  Row 0 of the image is its top edge.

:func:`rasterize_occupancy` marks every hazard-grid cell that holds an occupied pixel
solid, so gas does not cross an image wall, nothing burns in it and the cameras draw it,
exactly as for a polygon wall.  Pixels coarser than half a cell are subdivided first, so
a coarse image leaves no unmarked cell inside a wall.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from simulator.physics.grid import BoolArray, Grid


class OccupancyError(ValueError):
    """The image cannot be used; the message says why."""


@dataclass(frozen=True)
class OccupancyMap:
    occupied: BoolArray
    """(rows, cols), row 0 at the top of the image"""
    resolution_m: float
    origin_x_m: float
    origin_y_m: float

    @property
    def width_m(self) -> float:
        return float(self.occupied.shape[1]) * self.resolution_m

    @property
    def height_m(self) -> float:
        return float(self.occupied.shape[0]) * self.resolution_m

    def extent(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in map metres."""
        return (
            self.origin_x_m,
            self.origin_y_m,
            self.origin_x_m + self.width_m,
            self.origin_y_m + self.height_m,
        )


def occupied_pixels(grey: np.ndarray, occupied_thresh: float, negate: bool) -> BoolArray:
    """The occupied mask of a grey uint8 image (module docstring)."""
    p = grey.astype(np.float64) / 255.0 if negate else (255.0 - grey.astype(np.float64)) / 255.0
    return np.asarray(p > occupied_thresh, dtype=np.bool_)


@functools.lru_cache(maxsize=16)
def load_occupancy(
    path: str, resolution_m: float, origin_x_m: float, origin_y_m: float,
    occupied_thresh: float, negate: bool,
) -> OccupancyMap:  # fmt: skip
    """Read and threshold an occupancy image (cached: a drill reads it several times).

    Raises :class:`OccupancyError` when the file is missing or not an image."""
    if not Path(path).is_file():
        raise OccupancyError(f"no such image file: {path}")
    grey = cv2.imread(path, cv2.IMREAD_GRAYSCALE)  # 16-bit images come back as 8-bit
    if grey is None:
        raise OccupancyError(f"not a readable image (PNG or PGM expected): {path}")
    occupied = occupied_pixels(grey, occupied_thresh, negate)
    occupied.setflags(write=False)
    return OccupancyMap(occupied, resolution_m, origin_x_m, origin_y_m)


def rasterize_occupancy(grid: Grid, occ: OccupancyMap) -> BoolArray:
    """Solid mask ``(ny, nx)`` of ``grid``: a cell is solid when an occupied pixel's
    centre lies in it (after subdividing pixels coarser than half a cell)."""
    mask = np.zeros(grid.shape, dtype=np.bool_)
    occupied = occ.occupied
    res = occ.resolution_m
    factor = max(1, math.ceil(2.0 * res / grid.cell_m))
    if factor > 1:
        rows, cols = occupied.shape
        occupied = cv2.resize(
            occupied.astype(np.uint8), (cols * factor, rows * factor),
            interpolation=cv2.INTER_NEAREST,
        ).astype(np.bool_)  # fmt: skip
        res /= factor
    v, u = np.nonzero(occupied)
    if v.size == 0:
        return mask
    rows = occupied.shape[0]
    x = occ.origin_x_m + (u + 0.5) * res
    y = occ.origin_y_m + (rows - v - 0.5) * res
    ix = np.floor((x - grid.origin_x_m) / grid.cell_m).astype(np.int64)
    iy = np.floor((y - grid.origin_y_m) / grid.cell_m).astype(np.int64)
    ok = (ix >= 0) & (ix < grid.nx) & (iy >= 0) & (iy < grid.ny)
    mask[iy[ok], ix[ok]] = True
    return mask


__all__ = [
    "OccupancyError",
    "OccupancyMap",
    "load_occupancy",
    "occupied_pixels",
    "rasterize_occupancy",
]

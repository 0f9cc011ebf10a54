"""Pixels ↔ map coordinates for the ``topDownOrthographic`` projection (docs/protocol.md,
"Camera frames"; ``simulator/camera.py``).

The camera looks straight down; the image covers ``width_m`` × ``height_m`` of floor
centred on the robot's pose with its heading up.  Pixel-index coordinates (u, v) (column,
row; the centre of pixel (0, 0) is (0, 0)) map to the floor point ::

    forward = (H/2 − (v + ½)) · height_m / H
    right   = ((u + ½) − W/2) · width_m / W
    x = pose_x + forward · cos θ + right · sin θ
    y = pose_y + forward · sin θ − right · cos θ

and :func:`map_to_pixel` is its exact inverse (a rotation is undone by its transpose).
Metres, radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TopDownView:
    """Where a top-down frame was taken and what it covers."""

    x_m: float
    y_m: float
    theta_rad: float
    width_px: int
    height_px: int
    width_m: float
    height_m: float

    def __post_init__(self) -> None:
        for name in ("x_m", "y_m", "theta_rad"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        for name in ("width_px", "height_px"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("width_m", "height_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be > 0, got {value}")

    @property
    def metres_per_px(self) -> float:
        """Mean floor size of one pixel (m; the two axes agree for square pixels)."""
        return 0.5 * (self.width_m / self.width_px + self.height_m / self.height_px)

    def pixel_to_map(self, u: float, v: float) -> tuple[float, float]:
        """Map (x, y) in metres of pixel-index coordinates (u, v)."""
        forward = (self.height_px / 2.0 - (v + 0.5)) * self.height_m / self.height_px
        right = ((u + 0.5) - self.width_px / 2.0) * self.width_m / self.width_px
        c, s = math.cos(self.theta_rad), math.sin(self.theta_rad)
        return self.x_m + forward * c + right * s, self.y_m + forward * s - right * c

    def map_to_pixel(self, x_m: float, y_m: float) -> tuple[float, float]:
        """Pixel-index coordinates (u, v) of the map point (x, y); may lie outside the image."""
        dx, dy = x_m - self.x_m, y_m - self.y_m
        c, s = math.cos(self.theta_rad), math.sin(self.theta_rad)
        forward = dx * c + dy * s
        right = dx * s - dy * c
        u = right * self.width_px / self.width_m + self.width_px / 2.0 - 0.5
        v = self.height_px / 2.0 - forward * self.height_px / self.height_m - 0.5
        return u, v

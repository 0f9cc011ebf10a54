"""Synthetic robot cameras: RGB frames of flames and smoke, radiometric thermal frames.

A :class:`Camera` renders what a robot's cameras would see of the hazard world, from the
same physics the robot's gas sensors read, so an image-based detector can be scored against
the drill's ground truth.

View.  Both cameras look straight down from a mast (top-down orthographic view), a
``footprint_width_m`` × ``footprint_height_m`` rectangle of floor centred on the robot with
the robot's heading pointing up in the image.  Top-down keeps the pixel → map mapping exact
and simple (so a detection can be put on the map), at the cost of no perspective; pixel
(u, v) (column, row, from the top-left corner) covers the floor point ::

    forward_m = (H/2 − (v + ½)) · footprint_height_m / H
    right_m   = ((u + ½) − W/2) · footprint_width_m / W
    x_m = x_robot + forward_m · cos θ + right_m · sin θ
    y_m = y_robot + forward_m · sin θ − right_m · cos θ

What an RGB frame (``uint8``, ``(H, W, 3)``, **RGB** channel order; 320 × 240 by default,
5 cm per pixel) shows, back to front:

* **floor**: grey concrete in 1 m tiles of two shades, fixed in map coordinates (a scene
  that does not change between frames, for change detection);
* **walls and obstacles** of the world: dark grey;
* **burned-out cells**: charred, near black;
* **smoke**: grey haze blended over everything with opacity = the fire model's near-field
  smoke density (:meth:`~simulator.physics.fire.FireCA.smoke_density_at`);
* **flames**: every pixel of a burning cell in flame colours (red 255, green 90–230, blue
  20–80, so R > G > B) with a per-pixel heat drawn from the camera's seeded generator every
  frame (flicker); luminous flames show through smoke, dimmed by at most 40 %;
* camera noise: Gaussian, sd 2 levels per channel.

* **spills** (drawn over the floor, under smoke and flames): every pixel of a pool that
  still holds liquid is a dark, slightly blue wet film (RGB 52, 60, 74 at 85 % opacity)
  with sparse specular glints (a seeded 2 % of its pixels near white), the low-texture,
  specular look the reference (§2.4) gives liquid on a floor;

A thermal frame (``uint16``, ``(H, W)``, 160 × 120 by default as a FLIR Lepton 3.5) holds
radiometric raw counts, linear in temperature (as a Lepton in T-linear mode)::

    T[°C] = raw · kelvin_per_count + offset_c        (default 0.1 K per count, offset −273.15)

so raw 2931 is 19.95 °C and the full 16-bit range reaches 6280 °C (flames do not saturate;
with 0.01 K per count, the Lepton's high-gain scale, they would above 382 °C).  Temperatures
are the fire model's air temperature (:meth:`~simulator.physics.fire.FireCA.temperature_at`)
at each pixel's floor point, a spill's pool ``cooling_k`` below ambient (evaporation cools
it), plus NETD noise (sd 0.05 K, Lepton < 50 mK).  For an environment
that is not a :class:`~simulator.world.HazardWorld` the thermal frame samples the
environment's ``temperature`` on a coarse grid and interpolates; its RGB frame is bare floor.

Randomness: flicker and noise come only from the generator given to the camera.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import JsonValue

from drivers.vda5050.camera import (
    FrameKind,
    encode_frame_payload,
)
from simulator.environment import Environment
from simulator.physics.fire import CellState, FireCA
from simulator.world import HazardWorld

_FLOOR_RGB = np.array([118.0, 116.0, 110.0], dtype=np.float32)
_TILE_SHADE = 8.0
_WALL_RGB = np.array([58.0, 60.0, 64.0], dtype=np.float32)
_CHAR_RGB = np.array([40.0, 34.0, 30.0], dtype=np.float32)
_SMOKE_RGB = np.array([176.0, 176.0, 178.0], dtype=np.float32)
_SPILL_RGB = np.array([52.0, 60.0, 74.0], dtype=np.float32)
_SPILL_OPACITY = 0.85
_GLINT_RGB = np.array([235.0, 238.0, 242.0], dtype=np.float32)
_GLINT_FRACTION = 0.02
_FLAME_DIMMING_IN_SMOKE = 0.4
_RGB_NOISE_SD = 2.0
_NETD_K = 0.05
_SMOKE_SUBSAMPLE = 4  # smoke varies over metres: render it at 1/4 resolution, then resize
_COARSE_THERMAL = (24, 32)  # rows, columns sampled in a non-hazard environment
_CHUNK = 64  # burning cells per vectorised batch (bounds memory for big fires)
_KELVIN_OFFSET_C = -273.15


@dataclass(frozen=True)
class ThermalScale:
    """Linear raw → °C conversion of thermal frames: ``T = raw · kelvin_per_count + offset_c``."""

    kelvin_per_count: float = 0.1
    offset_c: float = _KELVIN_OFFSET_C

    def __post_init__(self) -> None:
        if not (math.isfinite(self.kelvin_per_count) and self.kelvin_per_count > 0.0):
            raise ValueError(f"kelvin_per_count must be > 0, got {self.kelvin_per_count}")
        if not math.isfinite(self.offset_c):
            raise ValueError(f"offset_c must be finite, got {self.offset_c}")

    def to_celsius(self, raw: NDArray[np.integer] | int) -> NDArray[np.float64]:
        """°C of raw counts (array or scalar)."""
        return np.asarray(raw, dtype=np.float64) * self.kelvin_per_count + self.offset_c

    def to_raw(self, celsius: NDArray[np.floating] | float) -> NDArray[np.uint16]:
        """Raw counts of temperatures in °C, rounded, clipped to 0..65535."""
        raw = np.rint(
            (np.asarray(celsius, dtype=np.float64) - self.offset_c) / self.kelvin_per_count
        )
        return np.clip(raw, 0, 65535).astype(np.uint16)


@dataclass(frozen=True)
class CameraSpec:
    """Resolutions (pixels) and the floor footprint (m) both cameras see."""

    rgb_width_px: int = 320
    rgb_height_px: int = 240
    thermal_width_px: int = 160
    thermal_height_px: int = 120
    footprint_width_m: float = 16.0
    footprint_height_m: float = 12.0
    thermal_scale: ThermalScale = ThermalScale()

    def __post_init__(self) -> None:
        for name in ("rgb_width_px", "rgb_height_px", "thermal_width_px", "thermal_height_px"):
            if getattr(self, name) < 4:
                raise ValueError(f"CameraSpec.{name} must be >= 4, got {getattr(self, name)}")
        for name in ("footprint_width_m", "footprint_height_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"CameraSpec.{name} must be > 0, got {value}")


@dataclass(frozen=True)
class Frame:
    """One rendered frame and where it was taken (map metres, radians, simulated seconds)."""

    kind: FrameKind
    image: NDArray[Any]
    """RGB: uint8 (H, W, 3) in RGB order; thermal: uint16 (H, W) raw counts"""
    x_m: float
    y_m: float
    theta: float
    t_s: float
    footprint_width_m: float
    footprint_height_m: float
    thermal_scale: ThermalScale | None = None
    """raw → °C of a thermal frame; None for RGB"""


@dataclass(frozen=True)
class CapturedFrame:
    """A frame taken by an action, waiting for the robot to publish it."""

    image_id: str
    action_id: str
    action_type: str
    map_id: str
    frame: Frame


def floor_points(
    x_m: float,
    y_m: float,
    theta: float,
    width_px: int,
    height_px: int,
    footprint_width_m: float,
    footprint_height_m: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Map coordinates (x, y), each (height_px, width_px), of every pixel centre (module
    docstring)."""
    u = np.arange(width_px, dtype=np.float64) + 0.5
    v = np.arange(height_px, dtype=np.float64) + 0.5
    right = (u - width_px / 2.0) * footprint_width_m / width_px
    forward = (height_px / 2.0 - v) * footprint_height_m / height_px
    r, f = np.meshgrid(right, forward)
    c, s = math.cos(theta), math.sin(theta)
    return x_m + f * c + r * s, y_m + f * s - r * c


class Camera:
    """The robot's RGB and thermal cameras (see the module docstring)."""

    def __init__(
        self, environment: Environment, rng: np.random.Generator, spec: CameraSpec | None = None
    ) -> None:
        self._environment = environment
        self._rng = rng
        self.spec = spec or CameraSpec()

    def capture(self, kind: FrameKind, x_m: float, y_m: float, theta: float, t_s: float) -> Frame:
        """A :class:`Frame` of ``kind`` taken at (``x_m``, ``y_m``) heading ``theta``."""
        image: NDArray[Any]
        image = (
            self.rgb(x_m, y_m, theta, t_s) if kind == "rgb" else self.thermal(x_m, y_m, theta, t_s)
        )
        s = self.spec
        return Frame(
            kind=kind,
            image=image,
            x_m=x_m,
            y_m=y_m,
            theta=theta,
            t_s=t_s,
            footprint_width_m=s.footprint_width_m,
            footprint_height_m=s.footprint_height_m,
            thermal_scale=s.thermal_scale if kind == "thermal" else None,
        )

    # ------------------------------------------------------------------ RGB

    def rgb(self, x_m: float, y_m: float, theta: float, t_s: float = 0.0) -> NDArray[np.uint8]:
        """An RGB frame, uint8 (H, W, 3), RGB order."""
        s = self.spec
        h, w = s.rgb_height_px, s.rgb_width_px
        px, py = floor_points(x_m, y_m, theta, w, h, s.footprint_width_m, s.footprint_height_m)
        tiles = (np.floor(px).astype(np.int64) + np.floor(py).astype(np.int64)) % 2
        img = np.empty((h, w, 3), dtype=np.float32)
        img[:] = _FLOOR_RGB
        img += (tiles * _TILE_SHADE).astype(np.float32)[..., None]
        world = self._environment if isinstance(self._environment, HazardWorld) else None
        if world is not None:
            ix, iy, on_grid = _cells(world, px, py)
            solid = np.zeros((h, w), dtype=bool)
            solid[on_grid] = world.obstacles[iy[on_grid], ix[on_grid]]
            img[solid] = _WALL_RGB
            wet = _wet(world, px, py)
            if wet.any():
                img[wet] = img[wet] * (1.0 - _SPILL_OPACITY) + _SPILL_RGB * _SPILL_OPACITY
                glint = wet & (self._rng.random((h, w)) < _GLINT_FRACTION)
                img[glint] = _GLINT_RGB
            fire = world.fire
            if fire is not None:
                state = np.full((h, w), int(CellState.NO_FUEL), dtype=np.int8)
                state[on_grid] = fire.state[iy[on_grid], ix[on_grid]]
                img[state == CellState.BURNED] = _CHAR_RGB
                density = self._smoke(fire, x_m, y_m, theta)
                img = img * (1.0 - density[..., None]) + _SMOKE_RGB * density[..., None]
                burning = state == CellState.BURNING
                n = int(burning.sum())
                if n:
                    heat = self._rng.random(n).astype(np.float32)
                    flame = np.empty((n, 3), dtype=np.float32)
                    flame[:, 0] = 255.0
                    flame[:, 1] = 90.0 + 140.0 * heat
                    flame[:, 2] = 20.0 + 60.0 * heat * heat
                    k = (1.0 - _FLAME_DIMMING_IN_SMOKE * density[burning])[:, None]
                    img[burning] = flame * k + img[burning] * (1.0 - k)
        img += self._rng.normal(0.0, _RGB_NOISE_SD, size=img.shape).astype(np.float32)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)

    def _smoke(self, fire: FireCA, x_m: float, y_m: float, theta: float) -> NDArray[np.float32]:
        """Smoke density 0..1 per RGB pixel, rendered coarse and resized (smooth field)."""
        s = self.spec
        h, w = s.rgb_height_px, s.rgb_width_px
        centres = fire.burning_centres_m()
        if centres.shape[0] == 0:
            return np.zeros((h, w), dtype=np.float32)
        ch, cw = max(2, h // _SMOKE_SUBSAMPLE), max(2, w // _SMOKE_SUBSAMPLE)
        px, py = floor_points(x_m, y_m, theta, cw, ch, s.footprint_width_m, s.footprint_height_m)
        density = smoke_density(fire, px, py)
        big = cv2.resize(density.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(np.asarray(big, dtype=np.float32), 0.0, 1.0)

    # ------------------------------------------------------------------ thermal

    def thermal(self, x_m: float, y_m: float, theta: float, t_s: float = 0.0) -> NDArray[np.uint16]:
        """A radiometric thermal frame, uint16 (H, W) raw counts (:class:`ThermalScale`)."""
        s = self.spec
        h, w = s.thermal_height_px, s.thermal_width_px
        world = self._environment if isinstance(self._environment, HazardWorld) else None
        if world is not None:
            px, py = floor_points(x_m, y_m, theta, w, h, s.footprint_width_m, s.footprint_height_m)
            fire = world.fire
            if fire is not None:
                celsius = fire_temperature(fire, world.grid.cell_m, px, py)
            else:
                ambient = world.sample("temperature", x_m, y_m, t_s)
                celsius = np.full((h, w), 20.0 if ambient is None else ambient)
            for pool, cooling_k in world.wet_pools():
                on = (px - pool.x_m) ** 2 + (py - pool.y_m) ** 2 <= pool.radius_m**2
                celsius = np.where(on, np.minimum(celsius, world.ambient_c - cooling_k), celsius)
        else:
            celsius = self._sampled_temperature(x_m, y_m, theta, t_s)
        celsius = celsius + self._rng.normal(0.0, _NETD_K, size=celsius.shape)
        return s.thermal_scale.to_raw(celsius)

    def _sampled_temperature(
        self, x_m: float, y_m: float, theta: float, t_s: float
    ) -> NDArray[np.float64]:
        s = self.spec
        ch, cw = _COARSE_THERMAL
        px, py = floor_points(x_m, y_m, theta, cw, ch, s.footprint_width_m, s.footprint_height_m)
        coarse = np.empty((ch, cw), dtype=np.float64)
        for iy in range(ch):
            for ix in range(cw):
                value = self._environment.sample("temperature", px[iy, ix], py[iy, ix], t_s)
                coarse[iy, ix] = 20.0 if value is None or not math.isfinite(value) else value
        size = (s.thermal_width_px, s.thermal_height_px)
        return np.asarray(cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR), np.float64)


# ---------------------------------------------------------------------- fire fields, vectorised


def _wet(world: HazardWorld, px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Pixels on a pool that still holds liquid."""
    wet = np.zeros(px.shape, dtype=bool)
    for pool, _cooling in world.wet_pools():
        wet |= (px - pool.x_m) ** 2 + (py - pool.y_m) ** 2 <= pool.radius_m**2
    return wet


def _cells(
    world: HazardWorld, px: NDArray[np.float64], py: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    g = world.grid
    ix = np.floor((px - g.origin_x_m) / g.cell_m).astype(np.int64)
    iy = np.floor((py - g.origin_y_m) / g.cell_m).astype(np.int64)
    on_grid = (ix >= 0) & (ix < g.nx) & (iy >= 0) & (iy < g.ny)
    return ix, iy, on_grid


def fire_temperature(
    fire: FireCA, cell_m: float, px: NDArray[np.float64], py: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:meth:`FireCA.temperature_at` at every point of the arrays ``px``, ``py`` (°C);
    ``cell_m`` is the fire grid's cell size in m."""
    p = fire.params
    centres = fire.burning_centres_m()
    out = np.full(px.shape, p.ambient_c, dtype=np.float64)
    if centres.shape[0] == 0:
        return out
    r2 = (p.flame_radius_m if p.flame_radius_m is not None else 0.5 * cell_m) ** 2
    share = np.zeros(px.shape, dtype=np.float64)
    for k in range(0, centres.shape[0], _CHUNK):
        c = centres[k : k + _CHUNK]
        d2 = (px[..., None] - c[:, 0]) ** 2 + (py[..., None] - c[:, 1]) ** 2
        share += np.minimum(1.0, r2 / np.maximum(d2, 1e-12)).sum(axis=-1)
    return out + (p.flame_temperature_c - p.ambient_c) * np.minimum(1.0, share)


def smoke_density(
    fire: FireCA, px: NDArray[np.float64], py: NDArray[np.float64]
) -> NDArray[np.float64]:
    """:meth:`FireCA.smoke_density_at` at every point of the arrays ``px``, ``py`` (0..1)."""
    p = fire.params
    centres = fire.burning_centres_m()
    tau = np.zeros(px.shape, dtype=np.float64)
    for k in range(0, centres.shape[0], _CHUNK):
        c = centres[k : k + _CHUNK]
        d = np.hypot(px[..., None] - c[:, 0], py[..., None] - c[:, 1])
        tau += np.exp(-d / p.smoke_length_m).sum(axis=-1)
    return 1.0 - np.exp(-p.smoke_optical_depth_per_cell * tau)


# ---------------------------------------------------------------------- wire envelope


def encode_frame(captured: CapturedFrame, header: Mapping[str, JsonValue]) -> bytes:
    """The camera envelope of a captured frame (:mod:`drivers.vda5050.camera`):
    ``header`` (headerId, timestamp, version, manufacturer, serialNumber) first, then the
    frame's metadata and its JPEG (RGB) or 16-bit PNG (thermal) image."""
    frame = captured.frame
    fields: dict[str, JsonValue] = {
        **header,
        "imageId": captured.image_id,
        "actionId": captured.action_id,
        "actionType": captured.action_type,
        "mapId": captured.map_id,
        "pose": {
            "x": round(frame.x_m, 4),
            "y": round(frame.y_m, 4),
            "theta": round(frame.theta, 5),
        },
        "projection": {
            "type": "topDownOrthographic",
            "widthM": frame.footprint_width_m,
            "heightM": frame.footprint_height_m,
        },
    }
    if frame.thermal_scale is not None:
        fields["thermal"] = {
            "kelvinPerCount": frame.thermal_scale.kelvin_per_count,
            "offsetC": frame.thermal_scale.offset_c,
        }
    try:
        return encode_frame_payload(frame.kind, frame.image, fields)
    except ValueError as exc:
        raise ValueError(f"frame {captured.image_id}: {exc}") from exc

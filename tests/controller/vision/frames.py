"""Synthetic frames for the detector tests, from the simulator's cameras and hazard worlds
(the same worlds as tests/simulator: a fire at (10, 5) m on the ``shed`` site, a spill)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from drivers.vda5050.camera import FrameKind
from simulator.camera import Camera, CameraSpec, CapturedFrame, encode_frame
from simulator.environment import CleanAir
from simulator.world import HazardWorld
from tests.simulator.test_camera import FIRE_XY_M, HEADER, fire_world
from tests.simulator.test_world import spill, world

__all__ = ["FIRE_XY_M", "fire_world"]

SMOKE_ONLY_XY_M = (10.0, 20.0)
"""15 m north of the fire: its smoke in view, its flames not"""


def camera(environment: Any, seed: int = 0, spec: CameraSpec | None = None) -> Camera:
    return Camera(environment, np.random.default_rng(seed), spec)


def clean_rgb(seed: int = 0) -> NDArray[np.uint8]:
    """Bare floor: no hazard at all."""
    return camera(CleanAir(), seed).rgb(0.0, 0.0, 0.0)


DRAWN_FLAME_PX = (154, 54)
"""where :func:`drawn_flame_rgb` draws its flame: the middle of its base line's top half"""


def drawn_flame_rgb(seed: int = 0) -> NDArray[np.uint8]:
    """Bare floor with a flame drawn on it, about 26 × 48 px: four nested ragged tongues,
    red rim, orange, yellow, a near-white core (the layout of a real flame, hazards.md §2.1).

    The simulator paints a burning cell as a flat flame-coloured square, which the still
    decision (fitted on real photos) rightly doubts; this is a photo it should call fire."""
    rng = np.random.default_rng(seed)
    out = clean_rgb().copy()
    cx, cy = DRAWN_FLAME_PX
    h, w = 48.0, 26.0
    layers = (((200, 30, 10), 1.0), ((245, 110, 20), 0.78), ((255, 190, 40), 0.55))
    for colour, size in (*layers, ((255, 245, 200), 0.3)):
        edge = []
        for k in range(10):  # the top edge, left to right, each tip at its own height
            t = k / 9
            rise = h * size * (0.55 + 0.45 * np.sin(np.pi * t)) * (0.7 + 0.3 * rng.random())
            edge.append((cx + (t - 0.5) * w * size, cy + h / 2 - rise))
        edge += [(cx + w * size / 2, cy + h / 2), (cx - w * size / 2, cy + h / 2)]
        cv2.fillPoly(out, [np.round(np.asarray(edge)).astype(np.int32)], colour)
    return out


def spill_world() -> HazardWorld:
    """A 2 m pool of liquid at (8, 5) m, one second after it spilled."""
    w = world([spill(radius_m=2.0, mass_kg=50.0, cooling_k=4.0)])
    w.step(1.0)
    return w


def spill_rgb(seed: int = 0) -> NDArray[np.uint8]:
    return camera(spill_world(), seed).rgb(8.0, 5.0, 0.0)


def payload(
    cam: Camera,
    kind: FrameKind,
    x_m: float,
    y_m: float,
    theta: float = 0.0,
    serial: str = "s",
    image_id: str = "img-1",
) -> bytes:
    """The camera envelope of a frame ``cam`` takes at the pose, as the robot sends it."""
    frame = cam.capture(kind, x_m, y_m, theta, 0.0)
    action = "captureImage" if kind == "rgb" else "thermalScan"
    captured = CapturedFrame(image_id, "a1", action, "shed", frame)
    return encode_frame(captured, {**HEADER, "manufacturer": "m", "serialNumber": serial})


def topic(serial: str = "s") -> str:
    return f"uagv/v2/m/{serial}/camera"

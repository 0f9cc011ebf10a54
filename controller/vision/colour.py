"""Pixel colour rules for flames and smoke (docs/detection.md; hazards.md §2.1, §2.2).

Every function takes an RGB-order ``uint8`` image ``(H, W, 3)`` and returns a ``uint8``
mask ``(H, W)`` of 0 / 255 (OpenCV's convention, so masks combine with ``cv2.bitwise_and``
and feed ``cv2.connectedComponentsWithStats`` directly).  The rules are vectorised with
OpenCV primitives and lookup tables rather than numpy expressions: they run on every frame
and the flame detector's budget is a few milliseconds at 640 × 480.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Mask = NDArray[np.uint8]
"""uint8 (H, W), 0 or 255"""


@dataclass(frozen=True)
class FlameColourRule:
    """Thresholds of the flame colour rule: Chen, Wu & Chiou 2004 (RGB + saturation) AND
    Celik & Demirel 2009 (YCbCr), as hazards.md §2.1 gives them.

    ``red_min`` is Chen's R_T, ``saturation_slope`` Chen's S_T / R_T with S on OpenCV's
    0..255 scale (S ≥ (255 − R) · slope); ``cb_cr_gap`` is Celik's τ (|Cb − Cr| ≥ τ).
    ``use_frame_means`` adds Celik's frame-mean rules (Y > mean Y, Cb < mean Cb,
    Cr > mean Cr), which help on whole scenes and hurt on small crops."""

    red_min: int = 115
    saturation_slope: float = 60.0 / 115.0
    cb_cr_gap: int = 40
    use_frame_means: bool = True


def _lut(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    return np.clip(np.ceil(values), 0, 255).astype(np.uint8).reshape(256, 1)


def flame_mask(rgb: NDArray[np.uint8], rule: FlameColourRule | None = None) -> Mask:
    """Pixels whose colour passes both flame rules (0 / 255)."""
    rule = rule or FlameColourRule()
    r, g, b = cv2.split(rgb)
    # Chen R1 and R2: R > R_T, R >= G > B
    mask = cv2.threshold(r, rule.red_min, 255, cv2.THRESH_BINARY)[1]
    mask = cv2.bitwise_and(mask, cv2.compare(r, g, cv2.CMP_GE))
    mask = cv2.bitwise_and(mask, cv2.compare(g, b, cv2.CMP_GT))
    # Chen R3: S >= (255 - R) * S_T / R_T.  Where R is the largest channel and B the
    # smallest (R2), OpenCV's HSV saturation is 255 (R - B) / R; the right side is a lookup
    # table on R.
    saturation = cv2.divide(cv2.subtract(r, b), r, scale=255.0)
    s_min = cv2.LUT(r, _lut((255.0 - np.arange(256.0)) * rule.saturation_slope))
    mask = cv2.bitwise_and(mask, cv2.compare(saturation, s_min, cv2.CMP_GE))
    # Celik: Y > Cb, Cr > Cb and |Cb - Cr| >= tau, i.e. Cr - Cb >= tau (saturates at 0)
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = cv2.split(ycrcb)
    mask = cv2.bitwise_and(mask, cv2.compare(y, cb, cv2.CMP_GT))
    gap = cv2.subtract(cr, cb)
    mask = cv2.bitwise_and(mask, cv2.threshold(gap, rule.cb_cr_gap - 1, 255, cv2.THRESH_BINARY)[1])
    if rule.use_frame_means:
        y_mean, cr_mean, cb_mean, _ = cv2.mean(ycrcb)
        mask = cv2.bitwise_and(mask, cv2.threshold(y, y_mean, 255, cv2.THRESH_BINARY)[1])
        mask = cv2.bitwise_and(mask, cv2.threshold(cr, cr_mean, 255, cv2.THRESH_BINARY)[1])
        # Cb < mean Cb (THRESH_BINARY_INV keeps Cb <= mean; equality is immaterial here)
        mask = cv2.bitwise_and(mask, cv2.threshold(cb, cb_mean, 255, cv2.THRESH_BINARY_INV)[1])
    return np.asarray(mask, dtype=np.uint8)

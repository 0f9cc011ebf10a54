"""Hand-crafted colour and shape features of one photo, for the still-image flame decision.

A photo is shrunk so that its long side is :data:`WORK_SIDE_PX` (area averaging), then
described by :data:`FEATURE_NAMES`: how much of it is flame-coloured (three colour rules
of hazards.md §2.1), what the largest flame-coloured region looks like (solidity, texture,
colour spread, contrast against the scene: flames are ragged, textured, bright and run
from red to yellow; lamps, sunsets and red paint are smooth), and a coarse hue × value
histogram of the scene (fire scenes are dark or smoky around a bright orange core;
interiors, skies and vegetation are not).  Fractions enter as ``log10(fraction + 0.001)``
so a few flame pixels count.  No learned filters: every feature is a rule written here.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.vision.colour import flame_mask

WORK_SIDE_PX = 320
"""long side (px) the photo is shrunk to before the features are computed"""
_MIN_HOT_PX = 20
_KERNEL_7 = np.ones((7, 7), np.uint8)
_KERNEL_3 = np.ones((3, 3), np.uint8)
_HUE_BINS = ((0, 8), (8, 16), (16, 24), (24, 35))
"""OpenCV hue (0..180): red, orange, amber, yellow"""
_VALUE_BINS = ((230, 256), (170, 230))

FEATURE_NAMES: tuple[str, ...] = (
    "hot",
    "chen_celik",
    "core_near_hot",
    "hot_green_sd",
    "hot_solidity",
    "hot_texture",
    "dark",
    "mean_saturation",
    "blue_dominant",
    "hot_contrast",
    "hot_orange",
    "hot_yellow",
    *(f"hue{h0}-{h1}_v{v0}" for h0, h1 in _HUE_BINS for v0, _v1 in _VALUE_BINS),
    "white",
    "very_dark",
    "green",
    "blue",
    "magenta",
)


_LOG_FLOOR = 1e-3


def _log(fraction: float) -> float:
    return float(np.log10(fraction + _LOG_FLOOR))


def hot_fraction(features: NDArray[np.float64]) -> float:
    """The fraction of "hot" pixels of a feature vector (its first feature, undone)."""
    return max(0.0, float(10.0 ** features[0]) - _LOG_FLOOR)


def shrink(rgb: NDArray[np.uint8], side_px: int = WORK_SIDE_PX) -> NDArray[np.uint8]:
    """``rgb`` with its long side at most ``side_px`` (area averaging)."""
    h, w = rgb.shape[:2]
    scale = side_px / max(h, w)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def still_features(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """The :data:`FEATURE_NAMES` of an RGB-order uint8 photo, in that order."""
    small = shrink(rgb)
    r, g, b = (small[..., k].astype(np.int32) for k in range(3))
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hue, sat, val = (hsv[..., k].astype(np.int32) for k in range(3))
    luma = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.float32)

    # "hot": saturated flame orange/yellow, brighter than Chen's R_T (hazards.md §2.1)
    hot = (r >= 220) & (g <= r) & (b < g) & (r - b >= 90)
    n_hot = int(hot.sum())
    core = (r >= 245) & (g >= 200) & (b < g)
    near_hot = cv2.dilate(hot.astype(np.uint8), _KERNEL_7) > 0
    texture = np.abs(np.asarray(cv2.Laplacian(luma, cv2.CV_32F, ksize=3)))
    enough = n_hot >= _MIN_HOT_PX

    features = [
        _log(float(hot.mean())),
        _log(float((flame_mask(small) > 0).mean())),
        _log(float((core & near_hot).mean())),
        float(g[hot].std()) / 50.0 if enough else 0.0,
        _largest_solidity(hot),
        float(texture[hot].mean()) / 50.0 if enough else 0.0,
        float((luma < 50).mean()),
        float(sat.mean()) / 255.0,
        _log(float(((b > r + 20) & (b > g)).mean())),
        float(luma[hot].mean() - luma.mean()) / 100.0 if enough else 0.0,
        _log(float((hot & (g < 150)).mean())),
        _log(float((hot & (g >= 180)).mean())),
    ]
    vivid = sat >= 100
    for h0, h1 in _HUE_BINS:
        in_hue = vivid & (hue >= h0) & (hue < h1)
        for v0, v1 in _VALUE_BINS:
            features.append(_log(float((in_hue & (val >= v0) & (val < v1)).mean())))
    features += [
        _log(float(((val >= 245) & (sat < 60)).mean())),
        _log(float((val < 50).mean())),
        _log(float(((hue >= 35) & (hue < 85) & (sat >= 60)).mean())),
        _log(float(((hue >= 85) & (hue < 135) & (sat >= 60)).mean())),
        _log(float(((hue >= 150) & vivid & (val >= 100)).mean())),
    ]
    return np.asarray(features, dtype=np.float64)


def _largest_solidity(hot: NDArray[np.bool_]) -> float:
    """Area over convex-hull area of the largest hot region after a 3 × 3 opening (1 when
    there is none): flames are ragged (low), lamps and paint are compact (high)."""
    opened = cv2.morphologyEx(hot.astype(np.uint8), cv2.MORPH_OPEN, _KERNEL_3)
    contours, _ = cv2.findContours(opened, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 1.0
    largest = max(contours, key=cv2.contourArea)
    hull_area = float(cv2.contourArea(cv2.convexHull(largest)))
    return float(cv2.contourArea(largest)) / hull_area if hull_area > 0 else 1.0

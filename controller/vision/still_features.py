"""Hand-crafted colour and shape features of one photo, for the still-image flame decision.

A photo is shrunk so that its long side is :data:`WORK_SIDE_PX` (area averaging), then
described by the eleven :data:`FEATURE_NAMES`.  Each one is a physical cue written here,
no learned filter:

* ``hot``: how much of the photo is saturated, bright flame orange/yellow (hazards.md §2.1);
* ``warm_gy_share``: the share of vertical luminance gradient inside the flame-coloured
  pixels.  A sunset or a red-lit wall is a stack of horizontal bands, so its gradient
  points up and down (share near 1); a flame's tongues and edges run up, so much of its
  gradient is horizontal;
* ``hot_solidity``, ``hot_aspect``: the largest hot region's area over its convex hull
  (flames are ragged, lamps and a sun disc are compact) and the hot pixels' height over
  width (a sunset's glow is a wide band);
* ``hot_contrast``: how much brighter the hot pixels are than the scene (a fire is the
  light source of its scene; a warm interior is lit evenly);
* ``bright_compact``: small round blobs with a channel near saturation (HSV V ≥ 245:
  lamp bulbs, the sun's disc, but also a flat saturated orange patch);
* ``warm_sat_sd``: the spread of saturation inside the flame-coloured pixels (a flame runs
  from a white core to saturated red; a painted wall or a warm lampshade is uniform);
* a hue histogram of vivid, bright-but-not-glaring pixels (red, orange, amber: the glow
  around a fire vs wood, skin and lamp light) and vivid magenta (sunset and dusk skies).

Fractions enter as ``log10(fraction + 0.001)`` so a few flame pixels count.

The set was chosen from 50 candidates by forward selection with repeated stratified
cross-validation on the tuning half of the CAIR set only (docs/detection.md, "Evaluation").
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.vision.colour import flame_mask

WORK_SIDE_PX = 320
"""long side (px) the photo is shrunk to before the features are computed"""
_MIN_PX = 20
"""fewer hot (or flame-coloured) pixels than this: their shape features take a neutral value"""
_KERNEL_3 = np.ones((3, 3), np.uint8)
_HUE_BINS = ((0, 8), (8, 16), (16, 24))
"""OpenCV hue (0..180): red, orange, amber"""
_GLOW_VALUE = (170, 230)
"""V (0..255) of the hue histogram: bright but not glaring"""
_VIVID_SAT = 100
_BULB_VALUE = 245
_BULB_MIN_AREA_PX = 4
_BULB_MIN_CIRCULARITY = 0.6
_BULB_MAX_FRACTION = 0.01

FEATURE_NAMES: tuple[str, ...] = (
    "hot",
    "warm_gy_share",
    "hue16-24_v170",
    "hot_solidity",
    "magenta",
    "hue8-16_v170",
    "hot_aspect",
    "hue0-8_v170",
    "hot_contrast",
    "bright_compact",
    "warm_sat_sd",
)

_LOG_FLOOR = 1e-3


def _log(fraction: float) -> float:
    return math.log10(fraction + _LOG_FLOOR)


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
    warm = (flame_mask(small) > 0) | hot
    n_warm = int(warm.sum())
    vivid = sat >= _VIVID_SAT
    glow = vivid & (val >= _GLOW_VALUE[0]) & (val < _GLOW_VALUE[1])

    hist = {
        f"hue{h0}-{h1}_v{_GLOW_VALUE[0]}": _log(float((glow & (hue >= h0) & (hue < h1)).mean()))
        for h0, h1 in _HUE_BINS
    }
    values = {
        "hot": _log(float(hot.mean())),
        "warm_gy_share": _vertical_gradient_share(luma, warm) if n_warm >= _MIN_PX else 0.5,
        "hot_solidity": _largest_solidity(hot),
        "magenta": _log(float(((hue >= 150) & vivid & (val >= 100)).mean())),
        "hot_aspect": _aspect(hot) if n_hot >= _MIN_PX else 0.0,
        "hot_contrast": (
            float(luma[hot].mean() - luma.mean()) / 100.0 if n_hot >= _MIN_PX else 0.0
        ),
        "bright_compact": _log(_compact_bright_fraction(val)),
        "warm_sat_sd": float(sat[warm].std()) / 255.0 if n_warm >= _MIN_PX else 0.0,
        **hist,
    }
    return np.asarray([values[name] for name in FEATURE_NAMES], dtype=np.float64)


def _vertical_gradient_share(luma: NDArray[np.float32], mask: NDArray[np.bool_]) -> float:
    """Σ|∂Y/∂y| / (Σ|∂Y/∂x| + Σ|∂Y/∂y|) over ``mask`` (3 × 3 Sobel): about 1 for
    horizontal bands (sunsets), lower for upright flames."""
    gx = float(np.abs(np.asarray(cv2.Sobel(luma, cv2.CV_32F, 1, 0)))[mask].sum())
    gy = float(np.abs(np.asarray(cv2.Sobel(luma, cv2.CV_32F, 0, 1)))[mask].sum())
    return gy / (gx + gy + 1e-6)


def _aspect(mask: NDArray[np.bool_]) -> float:
    """log10 of the height over the width of ``mask``'s pixels (5th–95th percentiles)."""
    ys, xs = np.nonzero(mask)
    y5, y95 = np.percentile(ys, (5, 95))
    x5, x95 = np.percentile(xs, (5, 95))
    return math.log10(float(y95 - y5 + 1) / float(x95 - x5 + 1))


def _compact_bright_fraction(val: NDArray[np.int32]) -> float:
    """The fraction of the photo in small round glaring blobs (lamp bulbs, the sun): HSV
    V ≥ 245 (white or any saturated colour with a channel at 245+), circularity 4πA/P² >
    0.6, each at least 4 px and under 1 % of the photo."""
    bright = (val >= _BULB_VALUE).astype(np.uint8)
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    limit = _BULB_MAX_FRACTION * val.size
    compact = 0.0
    for contour in contours:
        area = float(cv2.contourArea(contour))
        if area < _BULB_MIN_AREA_PX or area >= limit:
            continue
        perimeter = float(cv2.arcLength(contour, True))
        if perimeter > 0 and 4.0 * math.pi * area / perimeter**2 > _BULB_MIN_CIRCULARITY:
            compact += area
    return compact / val.size


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

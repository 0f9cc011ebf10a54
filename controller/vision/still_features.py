"""Hand-crafted colour and shape features of one photo, for the still-image flame decision.

A photo is shrunk so that its long side is :data:`WORK_SIDE_PX` (area averaging), then
described by the 48 :data:`FEATURE_NAMES`.  Each one is a physical cue written here, no
learned filter.  Three groups, all kept (no feature is selected by the data; the logistic
score's L2 penalty shrinks the useless ones instead, docs/detection.md "Evaluation"):

* the first model's 25 (v1): how much of the photo is "hot" (saturated, bright flame
  orange/yellow, hazards.md §2.1), flame-coloured (Chen + Celik) or a near-white core next
  to hot pixels; the largest hot region's solidity (flames are ragged), texture, spread of
  green and contrast with the scene; a hue × value histogram of vivid pixels (red, orange,
  amber, yellow × glaring, bright); fractions of dark, white, green, blue and magenta;
* four of the second model (v2): the share of vertical luminance gradient in the
  flame-coloured pixels (a sunset is horizontal bands: near 1), the hot pixels' height over
  width (a sunset's glow is wide), small round glaring blobs (lamp bulbs, the sun's disc)
  and the spread of saturation in the flame colours (a flame runs from a white core to
  saturated red, paint is uniform);
* nineteen of the third (v3), aimed at the hard negatives: a near-white core wrapped in
  flame colour; whether the brightest 2 % of the photo is the flame (a fire lights its
  scene); the raggedness, roundness and number of flame-coloured regions; their texture and
  edge density; how hue and saturation follow brightness inside them (a flame gets yellower
  and paler towards its core); the spread of hue and value; the drop of luminance from hot
  pixels to the ring around them; their mean Cr − Cb and Y; blue sky; glaring yellow.

Fractions enter as ``log10(fraction + 0.001)`` so a few flame pixels count.
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
_KERNEL_7 = np.ones((7, 7), np.uint8)
_HUE_BINS = ((0, 8), (8, 16), (16, 24), (24, 35))
"""OpenCV hue (0..180): red, orange, amber, yellow"""
_VALUE_BINS = ((230, 256), (170, 230))
"""V (0..255) of the hue histogram: glaring, bright"""
_VIVID_SAT = 100
_BULB_VALUE = 245
_BULB_MIN_AREA_PX = 4
_BULB_MIN_CIRCULARITY = 0.6
_BULB_MAX_FRACTION = 0.01
_TOP_PERCENT = 98.0
"""the brightest 2 % of a photo: is that the flame?"""
_CANNY = (80, 160)
"""Canny hysteresis thresholds on the grey photo (edge density of flame-coloured pixels)"""

FEATURE_NAMES: tuple[str, ...] = (
    # v1
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
    # v2
    "warm_gy_share",
    "hot_aspect",
    "bright_compact",
    "warm_sat_sd",
    # v3
    "core_in_warm",
    "core_warm",
    "top2_warm",
    "warm_ragged",
    "warm_largest_circ",
    "warm_regions",
    "warm_laplacian",
    "warm_hue_val_corr",
    "warm_sat_val_corr",
    "warm_hue_sd",
    "warm_val_sd",
    "hot_ring_drop",
    "hot_ring_warm",
    "warm_cr_cb",
    "warm_y",
    "warm_edge",
    "scene_edge",
    "sky_blue",
    "yellow_glare",
)

_LOG_FLOOR = 1e-3


def _log(fraction: float) -> float:
    return math.log10(fraction + _LOG_FLOOR)


def _fraction(mask: NDArray[np.bool_]) -> float:
    return np.count_nonzero(mask) / mask.size


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
    hue, sat, val = (np.ascontiguousarray(hsv[..., k], dtype=np.uint8) for k in range(3))
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    luma = grey.astype(np.float32)

    # "hot": saturated flame orange/yellow, brighter than Chen's R_T (hazards.md §2.1)
    hot = (r >= 220) & (g <= r) & (b < g) & (r - b >= 90)
    n_hot = int(hot.sum())
    chen_celik = flame_mask(small) > 0
    warm = chen_celik | hot
    n_warm = int(warm.sum())
    some_hot, some_warm = n_hot >= _MIN_PX, n_warm >= _MIN_PX
    laplacian = np.abs(np.asarray(cv2.Laplacian(luma, cv2.CV_32F, ksize=3)))
    edges = np.asarray(cv2.Canny(grey, *_CANNY)) > 0
    vivid = sat >= _VIVID_SAT

    values = {
        "hot": _log(_fraction(hot)),
        "chen_celik": _log(_fraction(chen_celik)),
        "hot_solidity": _largest_solidity(hot),
        "dark": _fraction(luma < 50),
        "mean_saturation": float(sat.mean()) / 255.0,
        "blue_dominant": _log(_fraction((b > r + 20) & (b > g))),
        "hot_orange": _log(_fraction(hot & (g < 150))),
        "hot_yellow": _log(_fraction(hot & (g >= 180))),
        "white": _log(_fraction((val >= 245) & (sat < 60))),
        "very_dark": _log(_fraction(val < 50)),
        "green": _log(_fraction((hue >= 35) & (hue < 85) & (sat >= 60))),
        "blue": _log(_fraction((hue >= 85) & (hue < 135) & (sat >= 60))),
        "magenta": _log(_fraction((hue >= 150) & vivid & (val >= 100))),
        "sky_blue": _log(_fraction((hue >= 90) & (hue < 130) & (sat >= 60) & (val >= 80))),
        "yellow_glare": _log(
            _fraction((hue >= 20) & (hue < 35) & (sat >= _VIVID_SAT) & (val >= 230))
        ),
        "bright_compact": _log(_compact_bright_fraction(val)),
        **_hot_features(hot, some_hot, g, luma, laplacian, warm),
        **_warm_features(warm, some_warm, hue, sat, val, luma, laplacian, edges, small),
        **_core_features(hot, warm, r, g, b, sat, luma),
    }
    for h0, h1 in _HUE_BINS:
        in_hue = vivid & (hue >= h0) & (hue < h1)
        for v0, v1 in _VALUE_BINS:
            values[f"hue{h0}-{h1}_v{v0}"] = _log(_fraction(in_hue & (val >= v0) & (val < v1)))
    return np.asarray([values[name] for name in FEATURE_NAMES], dtype=np.float64)


def _hot_features(
    hot: NDArray[np.bool_],
    some: bool,
    g: NDArray[np.int32],
    luma: NDArray[np.float32],
    laplacian: NDArray[np.float32],
    warm: NDArray[np.bool_],
) -> dict[str, float]:
    """The hot pixels' green spread, texture, contrast and shape, and the ring around them:
    a flame's hot pixels are the brightest of the scene and fade into flame colour."""
    if not some:
        return dict.fromkeys(
            ("hot_green_sd", "hot_texture", "hot_contrast", "hot_aspect", "hot_ring_drop",
             "hot_ring_warm"),
            0.0,
        )  # fmt: skip
    ring = (cv2.dilate(hot.astype(np.uint8), _KERNEL_7) > 0) & ~hot
    hot_luma = float(luma[hot].mean())
    return {
        "hot_green_sd": float(g[hot].std()) / 50.0,
        "hot_texture": float(laplacian[hot].mean()) / 50.0,
        "hot_contrast": (hot_luma - float(luma.mean())) / 100.0,
        "hot_aspect": _aspect(hot),
        "hot_ring_drop": (hot_luma - float(luma[ring].mean())) / 100.0 if ring.any() else 0.0,
        "hot_ring_warm": float(warm[ring].mean()) if ring.any() else 0.0,
    }


def _warm_features(
    warm: NDArray[np.bool_],
    some: bool,
    hue: NDArray[np.uint8],
    sat: NDArray[np.uint8],
    val: NDArray[np.uint8],
    luma: NDArray[np.float32],
    laplacian: NDArray[np.float32],
    edges: NDArray[np.bool_],
    small: NDArray[np.uint8],
) -> dict[str, float]:
    """Colour, texture and shape of the flame-coloured (Chen + Celik, or hot) pixels."""
    out = {"scene_edge": _fraction(edges), **_region_shapes(warm)}
    if not some:
        return out | {
            "warm_gy_share": 0.5,
            "warm_sat_sd": 0.0,
            "warm_laplacian": 0.0,
            "warm_hue_val_corr": 0.0,
            "warm_sat_val_corr": 0.0,
            "warm_hue_sd": 0.0,
            "warm_val_sd": 0.0,
            "warm_cr_cb": 0.0,
            "warm_y": 0.0,
            "warm_edge": 0.0,
        }
    h, s, v = (c[warm].astype(np.float64) for c in (hue, sat, val))
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = (ycrcb[..., k][warm].astype(np.float64) for k in range(3))
    return out | {
        "warm_gy_share": _vertical_gradient_share(luma, warm),
        "warm_sat_sd": float(s.std()) / 255.0,
        "warm_laplacian": math.log10(float(laplacian[warm].mean()) + 1.0),
        "warm_hue_val_corr": _correlation(h, v),
        "warm_sat_val_corr": _correlation(s, v),
        "warm_hue_sd": float(h.std()) / 30.0,
        "warm_val_sd": float(v.std()) / 255.0,
        "warm_cr_cb": float((cr - cb).mean()) / 100.0,
        "warm_y": float(y.mean()) / 255.0,
        "warm_edge": float(edges[warm].mean()),
    }


def _core_features(
    hot: NDArray[np.bool_],
    warm: NDArray[np.bool_],
    r: NDArray[np.int32],
    g: NDArray[np.int32],
    b: NDArray[np.int32],
    sat: NDArray[np.uint8],
    luma: NDArray[np.float32],
) -> dict[str, float]:
    """Near-white cores next to flame colours, and whether the brightest pixels are flame."""
    near_hot = cv2.dilate(hot.astype(np.uint8), _KERNEL_7) > 0
    near_warm = cv2.dilate(warm.astype(np.uint8), _KERNEL_7) > 0
    yellow_core = (r >= 245) & (g >= 200) & (b < g)
    white_core = (luma >= 230) & (sat < 80)
    n_white = int(white_core.sum())
    wrapped = white_core & near_warm
    top = luma >= _percentile_floor(luma, _TOP_PERCENT)
    return {
        "core_near_hot": _log(_fraction(yellow_core & near_hot)),
        "core_in_warm": float(wrapped.sum()) / n_white if n_white >= _MIN_PX else 0.0,
        "core_warm": _log(_fraction(wrapped)),
        "top2_warm": float((top & (near_warm | hot)).sum()) / max(1, int(top.sum())),
    }


def _percentile_floor(luma: NDArray[np.float32], percent: float) -> float:
    """The least grey level ≥ numpy's (linearly interpolated) ``percent``-th percentile of
    the integer-valued ``luma``: ``luma >= it`` is ``luma >= np.percentile(luma, percent)``,
    from a 256-bin histogram instead of a sort."""
    counts = np.bincount(luma.astype(np.int64).ravel(), minlength=256)
    cumulative = np.cumsum(counts)
    position = percent / 100.0 * (luma.size - 1)
    k = math.floor(position)
    low = int(np.searchsorted(cumulative, k + 1))  # the k-th smallest value (0-based)
    if position == k:
        return float(low)
    high = int(np.searchsorted(cumulative, k + 2))
    return float(high)


def _region_shapes(warm: NDArray[np.bool_]) -> dict[str, float]:
    """Raggedness (perimeter over that of a disc of the same area, log10), roundness of the
    largest (4πA/P²) and number (log10) of the flame-coloured regions of ≥ 20 px after a
    3 × 3 opening: flames are ragged and broken into tongues, lamps and paint are round."""
    opened = cv2.morphologyEx(warm.astype(np.uint8), cv2.MORPH_OPEN, _KERNEL_3)
    contours, _ = cv2.findContours(opened, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    regions = [c for c in contours if cv2.contourArea(c) >= _MIN_PX]
    if not regions:
        return {"warm_ragged": 0.0, "warm_largest_circ": 1.0, "warm_regions": -1.0}
    perimeter = sum(float(cv2.arcLength(c, True)) for c in regions)
    area = sum(float(cv2.contourArea(c)) for c in regions)
    largest = max(regions, key=cv2.contourArea)
    a, p = float(cv2.contourArea(largest)), float(cv2.arcLength(largest, True))
    return {
        "warm_ragged": math.log10(perimeter / math.sqrt(4.0 * math.pi * area) + 1e-6),
        "warm_largest_circ": 4.0 * math.pi * a / (p * p) if p > 0 else 1.0,
        "warm_regions": math.log10(len(regions)),
    }


def _correlation(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Pearson correlation, 0 when either is constant."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


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


def _compact_bright_fraction(val: NDArray[np.uint8]) -> float:
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

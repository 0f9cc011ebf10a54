"""Temporal cues of flame regions in video: Töreyin flicker and area growth (hazards.md §2.1).

**Flicker.**  Töreyin et al. 2006 pass every pixel's intensity through the half-band
high-pass filter {−¼, ½, −¼} over time; flame boundaries flicker, so the high band carries
energy there and almost none on a static flame-coloured object.  :class:`FlickerFilter`
keeps the last two luminance frames and gives, per frame, ``|½·Y[t−1] − ¼·Y[t−2] − ¼·Y[t]|``
(grey levels); a region's flicker energy is that averaged over its pixels.

**Growth.**  Chen et al. 2004 confirm fire when its area grows over consecutive checks;
a :class:`Track` compares the mean area of its latest samples with that of its first.

Tracks follow regions from frame to frame by bounding-box overlap (grown by a gate of a
few pixels), so a flame that flickers in shape keeps its history.  Times are seconds on
the caller's clock; nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray


class FlickerFilter:
    """Per-pixel temporal high-pass of luminance frames (module docstring)."""

    def __init__(self) -> None:
        self._history: deque[NDArray[np.int16]] = deque(maxlen=2)

    def reset(self) -> None:
        self._history.clear()

    def push(self, luma: NDArray[np.uint8]) -> NDArray[np.int16] | None:
        """Add frame ``t``; return ``4 · |high band at t−1|`` (int16, (H, W)) once two earlier
        frames of the same size are known, else None.  A frame of another size restarts."""
        frame = luma.astype(np.int16)
        if self._history and self._history[-1].shape != frame.shape:
            self._history.clear()
        out: NDArray[np.int16] | None = None
        if len(self._history) == 2:
            older, previous = self._history
            out = np.abs(2 * previous - older - frame).astype(np.int16)
        self._history.append(frame)
        return out


def region_mean(values: NDArray[np.int16], mask: NDArray[np.bool_], u: int, v: int) -> float:
    """Mean of ``values`` over the pixels of ``mask`` placed with its top-left at (u, v)."""
    h, w = mask.shape
    roi = values[v : v + h, u : u + w]
    return float(cv2.mean(roi.astype(np.float32), mask=mask.astype(np.uint8))[0])


@dataclass
class Track:
    """One flame region followed over frames: (time s, area px, flicker grey levels)."""

    track_id: int
    bbox_px: tuple[int, int, int, int]
    window: int
    last_t_s: float = 0.0
    samples: deque[tuple[float, int, float | None]] = field(default_factory=deque)

    def add(
        self, t_s: float, bbox_px: tuple[int, int, int, int], area_px: int, flicker: float | None
    ) -> None:
        self.bbox_px = bbox_px
        self.last_t_s = t_s
        self.samples.append((t_s, area_px, flicker))
        while len(self.samples) > self.window:
            self.samples.popleft()

    def flicker(self, min_samples: int) -> float | None:
        """Median flicker energy (grey levels) of the window, None with too few samples."""
        values = [f for _t, _a, f in self.samples if f is not None]
        return float(np.median(values)) if len(values) >= min_samples else None

    def growth(self, min_samples: int) -> float | None:
        """Mean area of the latest third of the window over that of the first third."""
        n = len(self.samples)
        if n < min_samples:
            return None
        k = max(1, n // 3)
        areas = [a for _t, a, _f in self.samples]
        first = float(np.mean(areas[:k]))
        return float(np.mean(areas[-k:])) / first if first > 0 else None


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gate_px: int) -> bool:
    """Do the boxes (u, v, w, h) overlap once ``a`` is grown by ``gate_px`` on every side?"""
    au, av, aw, ah = a
    bu, bv, bw, bh = b
    return (
        au - gate_px < bu + bw
        and bu < au + aw + gate_px
        and av - gate_px < bv + bh
        and bv < av + ah + gate_px
    )

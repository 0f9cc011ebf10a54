"""Smoke on RGB frames, block by block: greyness plus loss of edge energy (hazards.md §2.2).

Each ``block_px`` × ``block_px`` block is described by its mean luminance Y, its mean
chroma (``max(R, G, B) − min(R, G, B)``, grey levels) and its **edge energy**: the mean of
``|LH| + |HL| + |HH|`` of a one-level Haar wavelet transform of Y (Töreyin/Çetin:
smoke is semi-transparent, so the high band loses energy where it drifts in).

* **Still** (:meth:`SmokeDetector.detect`, one photo): a block is smoke when it is grey
  (chroma ≤ ``grey_max``; the public rules use α 15–30), light (Y in
  ``luma_min``..``luma_max``; smoke over a scene is lighter than the scene) and smooth
  (edge energy ≤ ``still_energy_max``).  Grey light walls pass too: without a background
  nothing tells them apart, hence the low confidence ``still_confidence``.
* **Video** (:meth:`SmokeDetector.update`, a camera that does not move): each block keeps
  a background (exponential average of Y, chroma and energy over frames in which it was
  clear).  A grey block whose energy fell below ``energy_drop`` × background, or that
  brightened by ``brighten_min`` without gaining colour, is smoke with confidence
  ``video_confidence``; both cues together add ``both_bonus``, and each consecutive frame
  it keeps that evidence adds to a persistence bonus (full, ``persist_bonus``, after
  ``persist_frames``).

Smoke blocks form 8-connected regions of at least ``min_blocks`` blocks.  Frames are RGB
order, uint8 (H, W, 3); the right and bottom margins smaller than a block are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.vision.blobs import components
from controller.vision.detection import Detection

BlockMap = NDArray[np.float32]
"""(rows, columns) of blocks"""


@dataclass(frozen=True)
class SmokeSettings:
    """Thresholds of :class:`SmokeDetector` (pixels, grey levels, seconds)."""

    block_px: int = 16
    grey_max: float = 20.0
    luma_min: float = 140.0
    luma_max: float = 235.0
    still_energy_max: float = 6.0
    video_luma_min: float = 60.0
    energy_drop: float = 0.6
    brighten_min: float = 10.0
    background_rate: float = 0.1
    """weight of a new clear frame in the background average"""
    min_blocks: int = 4
    still_confidence: float = 0.4
    video_confidence: float = 0.55
    both_bonus: float = 0.15
    persist_frames: int = 5
    persist_bonus: float = 0.25
    max_gap_s: float = 5.0


@dataclass(frozen=True)
class BlockStats:
    """Per-block luminance, chroma and Haar edge energy of one frame (grey levels)."""

    luma: BlockMap
    chroma: BlockMap
    energy: BlockMap


def block_stats(rgb: NDArray[np.uint8], block_px: int) -> BlockStats:
    """:class:`BlockStats` of an RGB frame; ``block_px`` must be even."""
    rows, cols = rgb.shape[0] // block_px, rgb.shape[1] // block_px
    if rows == 0 or cols == 0:  # a frame smaller than one block has no blocks
        empty = np.zeros((rows, cols), np.float32)
        return BlockStats(luma=empty, chroma=empty, energy=empty)
    crop = rgb[: rows * block_px, : cols * block_px]
    luma = np.asarray(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), dtype=np.float32)
    chroma = (crop.max(axis=2).astype(np.int16) - crop.min(axis=2)).astype(np.float32)
    a, b = luma[0::2, 0::2], luma[0::2, 1::2]
    c, d = luma[1::2, 0::2], luma[1::2, 1::2]
    detail = 0.5 * (np.abs(a + b - c - d) + np.abs(a - b + c - d) + np.abs(a - b - c + d))
    half = block_px // 2
    return BlockStats(
        luma=_block_mean(luma, rows, cols, block_px),
        chroma=_block_mean(chroma, rows, cols, block_px),
        energy=_block_mean(detail, rows, cols, half),
    )


def _block_mean(values: NDArray[np.float32], rows: int, cols: int, size: int) -> BlockMap:
    return np.asarray(values.reshape(rows, size, cols, size).mean(axis=(1, 3)), np.float32)


class SmokeDetector:
    """Smoke regions of RGB frames; stateful only in :meth:`update` (module docstring)."""

    def __init__(self, settings: SmokeSettings | None = None) -> None:
        self.settings = settings or SmokeSettings()
        if self.settings.block_px < 2 or self.settings.block_px % 2:
            raise ValueError(f"block_px must be even and >= 2, got {self.settings.block_px}")
        self._background: BlockStats | None = None
        self._persist: NDArray[np.int32] | None = None
        self._last_t_s: float | None = None

    def _still_blocks(self, st: BlockStats) -> NDArray[np.bool_]:
        s = self.settings
        return np.asarray(
            (st.chroma <= s.grey_max)
            & (st.luma >= s.luma_min)
            & (st.luma <= s.luma_max)
            & (st.energy <= s.still_energy_max)
        )

    def detect(self, rgb: NDArray[np.uint8]) -> list[Detection]:
        """Smoke regions of one photo (still rule only)."""
        st = block_stats(rgb, self.settings.block_px)
        smoke = self._still_blocks(st)
        confidence = np.full(smoke.shape, self.settings.still_confidence, np.float32)
        return self._regions(smoke, confidence)

    def reset(self) -> None:
        """Forget the background (the camera moved, or the stream restarted)."""
        self._background = None
        self._persist = None
        self._last_t_s = None

    def update(self, rgb: NDArray[np.uint8], t_s: float) -> list[Detection]:
        """Smoke regions of the next video frame taken at ``t_s`` (s).  A frame of another
        size, before the previous one or more than ``max_gap_s`` after it restarts."""
        s = self.settings
        st = block_stats(rgb, s.block_px)
        bg = self._background
        stale = self._last_t_s is not None and not 0.0 <= t_s - self._last_t_s <= s.max_gap_s
        if bg is None or stale or bg.luma.shape != st.luma.shape:
            self.reset()
            bg = None
        self._last_t_s = t_s
        smoke = self._still_blocks(st)
        confidence: NDArray[np.floating] = np.where(smoke, s.still_confidence, 0.0)
        video = np.zeros(smoke.shape, dtype=bool)
        if bg is not None:
            grey = (st.chroma <= s.grey_max) & (st.luma >= s.video_luma_min)
            dimmed = st.energy < s.energy_drop * bg.energy
            lighter = (st.luma - bg.luma >= s.brighten_min) & (st.chroma <= bg.chroma + 2.0)
            video = grey & (dimmed | lighter)
            video_conf = s.video_confidence + s.both_bonus * (dimmed & lighter)
            confidence = np.maximum(confidence, np.where(video, video_conf, 0.0))
            smoke = smoke | video
        # persistence counts consecutive frames with evidence against the background
        before = np.zeros(smoke.shape, np.int32) if self._persist is None else self._persist
        persist = np.where(video, np.minimum(before + 1, s.persist_frames), 0).astype(np.int32)
        self._persist = persist
        steps = max(1, s.persist_frames - 1)
        confidence = confidence + s.persist_bonus * np.clip(persist - 1, 0, None) / steps
        self._background = self._blend(bg, st, smoke)
        return self._regions(smoke, np.asarray(confidence, dtype=np.float32))

    def _blend(self, bg: BlockStats | None, st: BlockStats, smoke: NDArray[np.bool_]) -> BlockStats:
        """The background after this frame: clear blocks move towards it, smoke blocks keep
        what they had (the first frame is taken as it is)."""
        if bg is None:
            return st
        k = np.where(smoke, 0.0, self.settings.background_rate).astype(np.float32)
        return BlockStats(
            luma=bg.luma + k * (st.luma - bg.luma),
            chroma=bg.chroma + k * (st.chroma - bg.chroma),
            energy=bg.energy + k * (st.energy - bg.energy),
        )

    def _regions(self, smoke: NDArray[np.bool_], confidence: BlockMap) -> list[Detection]:
        s = self.settings
        n = s.block_px
        found = components(smoke.astype(np.uint8), s.min_blocks)
        out = []
        for blob in found.blobs:
            u, v, w, h = blob.bbox_px
            inside = found.mask_of(blob)
            cu, cv_ = blob.centroid_px
            out.append(
                Detection(
                    kind="smoke",
                    confidence=float(min(1.0, confidence[v : v + h, u : u + w][inside].mean())),
                    bbox_px=(u * n, v * n, w * n, h * n),
                    centroid_px=((cu + 0.5) * n - 0.5, (cv_ + 0.5) * n - 0.5),
                    area_px=blob.area_px * n * n,
                )
            )
        return out

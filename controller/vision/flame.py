"""Flame detection on RGB frames: colour rule → morphology → regions, then time.

Per frame (:meth:`FlameDetector.detect`): the Chen + Celik colour rule
(:func:`~controller.vision.colour.flame_mask`), a 3 × 3 opening and 5 × 5 closing, and
8-connected regions of at least ``min_area_px``.  Colour alone gives a region
``colour_base + colour_area_bonus · min(1, area / reference_area_px)`` (0.3..0.5 by
default): flame-coloured, not yet confirmed.

In video (:meth:`FlameDetector.update`, frames of one camera that does not move, in time
order) each region is tracked (:mod:`controller.vision.temporal`) and its confidence rises
with flicker, ``+ flicker_weight · clip((E − flicker_low) / (flicker_high − flicker_low))``
for a median Töreyin high-band energy E over the window, and with growth,
``+ growth_weight · clip((g − 1) / (growth_full − 1))`` for an area ratio g.  A static
flame-coloured object (a red extinguisher, a sodium lamp) stays at its colour confidence;
a flickering, spreading flame reaches 1.

On a single photo (:meth:`FlameDetector.detect_still`) the image-level decision of
:mod:`controller.vision.flame_still` gates the regions and gives their confidence.

Frames are RGB order, uint8 (H, W, 3).  Parameters: docs/detection.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.vision.blobs import Blob, Components, clean, components
from controller.vision.colour import FlameColourRule, flame_mask
from controller.vision.detection import Detection
from controller.vision.flame_still import STILL_MODEL, LinearScore, StillDecision, classify_still
from controller.vision.temporal import FlickerFilter, Track, overlaps, region_mean


@dataclass(frozen=True)
class FlameSettings:
    """Thresholds of :class:`FlameDetector` (pixels, grey levels, seconds)."""

    rule: FlameColourRule = field(default_factory=lambda: FlameColourRule(use_frame_means=False))
    """Celik's frame-mean rules are off: a robot close to a fire sees a frame that is
    mostly flame, and "brighter than the frame mean" would then cut the fire in half"""
    min_area_px: int = 30
    open_px: int = 3
    close_px: int = 5
    colour_base: float = 0.3
    colour_area_bonus: float = 0.2
    reference_area_px: int = 400
    window: int = 32
    """frames a track remembers (about 1 s at 30 fps)"""
    min_samples: int = 4
    flicker_low: float = 2.0
    """grey levels of high band at or below which a region is static (camera noise)"""
    flicker_high: float = 6.0
    flicker_weight: float = 0.35
    growth_full: float = 1.5
    growth_weight: float = 0.15
    gate_px: int = 8
    max_gap_s: float = 2.0
    """a longer pause between frames restarts the temporal state"""
    max_missed: int = 5
    """frames a track survives without a matching region"""
    still_min_area_fraction: float = 0.001
    """on photos a region must also cover this fraction of the frame"""


class FlameDetector:
    """Flame regions of RGB frames; stateful only in :meth:`update` (module docstring)."""

    def __init__(
        self, settings: FlameSettings | None = None, still_model: LinearScore = STILL_MODEL
    ) -> None:
        self.settings = settings or FlameSettings()
        self._still_model = still_model
        self._flicker = FlickerFilter()
        self._tracks: list[Track] = []
        self._missed: dict[int, int] = {}
        self._next_id = 0
        self._last_t_s: float | None = None
        self._shape: tuple[int, ...] = ()

    # ------------------------------------------------------------------ single frame

    def regions(self, rgb: NDArray[np.uint8], min_area_px: int | None = None) -> Components:
        """The cleaned flame-colour regions of one frame."""
        s = self.settings
        mask = clean(flame_mask(rgb, s.rule), s.open_px, s.close_px)
        return components(mask, s.min_area_px if min_area_px is None else min_area_px)

    def detect(self, rgb: NDArray[np.uint8]) -> list[Detection]:
        """Flame-coloured regions of one frame, colour confidence only."""
        return [self._detection(b, self._colour_confidence(b)) for b in self.regions(rgb).blobs]

    def classify(self, rgb: NDArray[np.uint8]) -> StillDecision:
        """Image-level fire / no fire of a photo (:mod:`controller.vision.flame_still`)."""
        return classify_still(rgb, self._still_model)

    def detect_still(self, rgb: NDArray[np.uint8]) -> list[Detection]:
        """A photo's flame regions with the image-level probability as confidence; none when
        the photo is judged fire-free.  A photo judged on fire whose flames the colour rule
        does not isolate gives one detection covering the whole frame."""
        decision = self.classify(rgb)
        if not decision.fire:
            return []
        h, w = rgb.shape[:2]
        min_area = max(
            self.settings.min_area_px, round(self.settings.still_min_area_fraction * h * w)
        )
        blobs = self.regions(rgb, min_area).blobs
        if not blobs:
            whole = Blob(0, (0, 0, w, h), ((w - 1) / 2.0, (h - 1) / 2.0), h * w)
            return [self._detection(whole, decision.probability)]
        return [self._detection(b, decision.probability) for b in blobs]

    # ------------------------------------------------------------------ video

    def reset(self) -> None:
        """Forget the temporal state (the camera moved, or the stream restarted)."""
        self._flicker.reset()
        self._tracks.clear()
        self._missed.clear()
        self._last_t_s = None

    def update(self, rgb: NDArray[np.uint8], t_s: float) -> list[Detection]:
        """Flame regions of the next video frame taken at ``t_s`` (s), confidence raised by
        flicker and growth of the region's track.  A frame more than ``max_gap_s`` after
        the previous one, before it, or of another size restarts the temporal state."""
        s = self.settings
        stale = self._last_t_s is not None and not 0.0 <= t_s - self._last_t_s <= s.max_gap_s
        if stale or rgb.shape != self._shape:
            self.reset()
        self._last_t_s = t_s
        self._shape = rgb.shape
        luma = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
        high = self._flicker.push(luma)
        found = self.regions(rgb)
        unmatched = list(self._tracks)
        out: list[Detection] = []
        for blob in found.blobs:
            flicker = None
            if high is not None:
                u, v = blob.bbox_px[:2]
                flicker = region_mean(high, found.mask_of(blob), u, v) / 4.0
            track = next(
                (t for t in unmatched if overlaps(t.bbox_px, blob.bbox_px, s.gate_px)), None
            )
            if track is None:
                track = Track(self._next_id, blob.bbox_px, s.window)
                self._next_id += 1
                self._tracks.append(track)
            else:
                unmatched.remove(track)
            track.add(t_s, blob.bbox_px, blob.area_px, flicker)
            self._missed[track.track_id] = 0
            out.append(self._detection(blob, self._track_confidence(blob, track)))
        for track in unmatched:
            self._missed[track.track_id] = self._missed.get(track.track_id, 0) + 1
            if self._missed[track.track_id] > s.max_missed:
                self._tracks.remove(track)
                del self._missed[track.track_id]
        return out

    # ------------------------------------------------------------------ confidence

    def _colour_confidence(self, blob: Blob) -> float:
        s = self.settings
        return s.colour_base + s.colour_area_bonus * min(1.0, blob.area_px / s.reference_area_px)

    def _track_confidence(self, blob: Blob, track: Track) -> float:
        s = self.settings
        confidence = self._colour_confidence(blob)
        flicker = track.flicker(s.min_samples)
        if flicker is not None:
            span = s.flicker_high - s.flicker_low
            confidence += s.flicker_weight * _clip01((flicker - s.flicker_low) / span)
        growth = track.growth(2 * s.min_samples)
        if growth is not None:
            confidence += s.growth_weight * _clip01((growth - 1.0) / (s.growth_full - 1.0))
        return _clip01(confidence)

    @staticmethod
    def _detection(blob: Blob, confidence: float) -> Detection:
        return Detection(
            kind="flame",
            confidence=_clip01(confidence),
            bbox_px=blob.bbox_px,
            centroid_px=blob.centroid_px,
            area_px=blob.area_px,
        )


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))

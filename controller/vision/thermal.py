"""Hotspots on radiometric thermal frames (hazards.md §2.3, NETA ΔT classes §1.4).

Raw counts are linear in temperature, ``°C = raw · kelvin_per_count + offset_c`` (the
frame's ``thermal`` metadata, docs/protocol.md); a FLIR Lepton in high-gain T-linear mode
is 0.01 K per count from 0 K, so raw 30315 is 30.00 °C (:data:`LEPTON_TLINEAR`).

A pixel is hot above an absolute limit (``threshold_c``, e.g. a process limit) or, without
one, ``delta_k`` above the reference temperature: ``reference_c`` when the caller knows the
ambient, else the frame's median (most of a frame is the scene at ambient).  Hot pixels
form 8-connected regions of at least ``min_area_px``; each reports max and mean °C, its
ΔT (max − reference) and the NETA priority of that ΔT.  Confidence: a radiometric reading
is a measurement, so ``0.6 + 0.4 · min(1, (max − limit) / delta_k)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from controller.vision.blobs import components
from controller.vision.detection import Detection, NetaBasis, neta_priority


@dataclass(frozen=True)
class RadiometricScale:
    """Linear raw → °C: ``T = raw · kelvin_per_count + offset_c``."""

    kelvin_per_count: float
    offset_c: float = -273.15

    def __post_init__(self) -> None:
        if not (math.isfinite(self.kelvin_per_count) and self.kelvin_per_count > 0.0):
            raise ValueError(f"kelvin_per_count must be > 0, got {self.kelvin_per_count}")
        if not math.isfinite(self.offset_c):
            raise ValueError(f"offset_c must be finite, got {self.offset_c}")

    def to_celsius(self, raw: NDArray[np.integer] | int) -> NDArray[np.float64]:
        """°C of raw counts (array or scalar)."""
        return np.asarray(raw, dtype=np.float64) * self.kelvin_per_count + self.offset_c


LEPTON_TLINEAR = RadiometricScale(kelvin_per_count=0.01, offset_c=-273.15)
"""FLIR Lepton, high-gain T-linear: ``(raw − 27315) / 100`` °C; raw 30315 → 30.00 °C"""


@dataclass(frozen=True)
class ThermalSettings:
    """Thresholds of :class:`ThermalDetector` (°C, K, pixels)."""

    threshold_c: float | None = None
    """absolute limit; None: reference + delta_k"""
    delta_k: float = 10.0
    """rise over the reference that makes a pixel hot (NETA priority 3 starts above 10 K)"""
    reference_c: float | None = None
    """ambient; None: the frame's median"""
    min_area_px: int = 4
    basis: NetaBasis = NetaBasis.AMBIENT


class ThermalDetector:
    """Hotspots of radiometric frames (module docstring).  Stateless."""

    def __init__(self, settings: ThermalSettings | None = None) -> None:
        self.settings = settings or ThermalSettings()

    def detect(self, raw: NDArray[np.uint16], scale: RadiometricScale) -> list[Detection]:
        """Hotspots of a raw-count frame, uint16 (H, W)."""
        return self.detect_celsius(scale.to_celsius(raw))

    def detect_celsius(self, celsius: NDArray[np.float64]) -> list[Detection]:
        """Hotspots of a frame already in °C, float (H, W), largest first."""
        s = self.settings
        reference = s.reference_c if s.reference_c is not None else float(np.median(celsius))
        limit = s.threshold_c if s.threshold_c is not None else reference + s.delta_k
        hot = np.asarray(celsius > limit, dtype=np.uint8)
        found = components(hot, s.min_area_px)
        out = []
        for blob in found.blobs:
            u, v, w, h = blob.bbox_px
            values = celsius[v : v + h, u : u + w][found.mask_of(blob)]
            max_c = float(values.max())
            delta = max_c - reference
            span = max(s.delta_k, 1.0)
            out.append(
                Detection(
                    kind="hotspot",
                    confidence=min(1.0, 0.6 + 0.4 * min(1.0, (max_c - limit) / span)),
                    bbox_px=blob.bbox_px,
                    centroid_px=blob.centroid_px,
                    area_px=blob.area_px,
                    max_c=max_c,
                    mean_c=float(values.mean()),
                    delta_t_k=delta,
                    severity=neta_priority(delta, s.basis),
                )
            )
        return out

"""What the camera detectors report: :class:`Detection`, and NETA ΔT severity classes.

Pixel geometry is in the image's own frame: column ``u`` to the right, row ``v`` down,
from the top-left corner (as OpenCV and ``simulator/camera.py``); a bounding box is
``(u, v, width, height)`` in pixels.  Temperatures are °C, differences kelvin.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

DetectionKind = Literal["flame", "smoke", "hotspot"]


class NetaBasis(enum.Enum):
    """What a ΔT is measured against (NETA MTS; hazards.md §1.4)."""

    AMBIENT = "ambient"
    """ΔT over ambient air"""
    SIMILAR = "similar"
    """ΔT between similar components under similar load"""


def neta_priority(delta_t_k: float, basis: NetaBasis = NetaBasis.AMBIENT) -> int | None:
    """NETA priority 1 (major discrepancy, repair immediately) .. 4 (possible deficiency)
    of a temperature rise ``delta_t_k`` (K), or None below the table (under 1 K).

    Over ambient: 1–10 K → 4, 11–20 → 3, 21–40 → 2, > 40 → 1.  Between similar
    components: 1–3 K → 4, 4–15 → 3, > 15 → 1 (the table has no priority 2 there).
    The table's integer bands are read as half-open intervals (10.5 K is priority 3)."""
    if not delta_t_k >= 1.0:  # also rejects NaN
        return None
    if basis is NetaBasis.AMBIENT:
        if delta_t_k > 40.0:
            return 1
        if delta_t_k > 20.0:
            return 2
        return 3 if delta_t_k > 10.0 else 4
    if delta_t_k > 15.0:
        return 1
    return 3 if delta_t_k > 3.0 else 4


@dataclass(frozen=True)
class Detection:
    """One detected region of one frame.

    ``confidence`` is 0..1 (how it is formed is each detector's docstring).  The thermal
    fields are set for ``hotspot`` only: ``max_c`` / ``mean_c`` over the region (°C),
    ``delta_t_k`` its maximum over the reference temperature (K), ``severity`` the NETA
    priority of that ΔT (1 most severe; None below 1 K)."""

    kind: DetectionKind
    confidence: float
    bbox_px: tuple[int, int, int, int]
    """(u, v, width, height) in pixels"""
    centroid_px: tuple[float, float]
    """(u, v) of the region's centroid, pixel-index coordinates"""
    area_px: int
    max_c: float | None = None
    mean_c: float | None = None
    delta_t_k: float | None = None
    severity: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in 0..1, got {self.confidence}")

    def as_json(self) -> dict[str, object]:
        """Plain JSON-able dict (camelCase keys, as on the wire); thermal keys only when set."""
        body: dict[str, object] = {
            "kind": self.kind,
            "confidence": round(self.confidence, 4),
            "bboxPx": list(self.bbox_px),
            "centroidPx": [round(self.centroid_px[0], 2), round(self.centroid_px[1], 2)],
            "areaPx": self.area_px,
        }
        if self.max_c is not None:
            body["maxC"] = round(self.max_c, 2)
        if self.mean_c is not None:
            body["meanC"] = round(self.mean_c, 2)
        if self.delta_t_k is not None:
            body["deltaTK"] = round(self.delta_t_k, 2)
        if self.kind == "hotspot":
            body["netaPriority"] = self.severity
        return body

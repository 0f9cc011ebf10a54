"""Detections and NETA ΔT priorities (hazards.md §1.4)."""

from __future__ import annotations

import math

import pytest

from controller.vision import Detection, NetaBasis, neta_priority


@pytest.mark.parametrize(
    ("delta_k", "priority"),
    [(0.5, None), (1.0, 4), (10.0, 4), (10.5, 3), (20.0, 3), (21.0, 2), (40.0, 2), (41.0, 1)],
)
def test_neta_priority_over_ambient(delta_k: float, priority: int | None) -> None:
    assert neta_priority(delta_k) == priority


@pytest.mark.parametrize(
    ("delta_k", "priority"), [(0.9, None), (3.0, 4), (4.0, 3), (15.0, 3), (15.5, 1)]
)
def test_neta_priority_between_similar_components(delta_k: float, priority: int | None) -> None:
    assert neta_priority(delta_k, NetaBasis.SIMILAR) == priority


def test_nan_has_no_priority() -> None:
    assert neta_priority(math.nan) is None


def test_a_detection_checks_its_confidence_and_serialises() -> None:
    with pytest.raises(ValueError, match="confidence"):
        Detection("flame", 1.5, (0, 0, 1, 1), (0.0, 0.0), 1)
    hot = Detection("hotspot", 0.9, (1, 2, 3, 4), (2.0, 3.5), 9, 81.234, 60.0, 61.234, 1)
    assert hot.as_json() == {
        "kind": "hotspot",
        "confidence": 0.9,
        "bboxPx": [1, 2, 3, 4],
        "centroidPx": [2.0, 3.5],
        "areaPx": 9,
        "maxC": 81.23,
        "meanC": 60.0,
        "deltaTK": 61.23,
        "netaPriority": 1,
    }
    assert "maxC" not in Detection("smoke", 0.4, (0, 0, 16, 16), (7.5, 7.5), 256).as_json()

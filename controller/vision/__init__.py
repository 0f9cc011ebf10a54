"""Camera hazard detectors without model weights (OpenCV + numpy; docs/detection.md).

Pure functions and classes over numpy arrays: no I/O, no clock (time is an argument).

* :class:`FlameDetector`: flame colour rule (Chen RGB + Celik YCbCr), regions, and in
  video Töreyin flicker and area growth; a still-image decision for photos.
* :class:`SmokeDetector`: grey, light, smooth blocks; in video, loss of edge energy against
  a background.
* :class:`ThermalDetector`: hotspots of radiometric frames with NETA ΔT priority.
* :class:`FrameIntake`: the camera extension topic in, detections on the map out.
"""

from controller.vision.detection import Detection, DetectionKind, NetaBasis, neta_priority
from controller.vision.flame import FlameDetector, FlameSettings
from controller.vision.flame_still import StillDecision, classify_still
from controller.vision.intake import (
    FrameInfo,
    FrameIntake,
    IntakeResult,
    IntakeSettings,
    MapDetection,
)
from controller.vision.projection import TopDownView
from controller.vision.smoke import SmokeDetector, SmokeSettings
from controller.vision.thermal import (
    LEPTON_TLINEAR,
    RadiometricScale,
    ThermalDetector,
    ThermalSettings,
)

__all__ = [
    "LEPTON_TLINEAR",
    "Detection",
    "DetectionKind",
    "FlameDetector",
    "FlameSettings",
    "FrameInfo",
    "FrameIntake",
    "IntakeResult",
    "IntakeSettings",
    "MapDetection",
    "NetaBasis",
    "RadiometricScale",
    "SmokeDetector",
    "SmokeSettings",
    "StillDecision",
    "ThermalDetector",
    "ThermalSettings",
    "TopDownView",
    "classify_still",
    "neta_priority",
]

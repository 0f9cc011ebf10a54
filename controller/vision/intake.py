"""Camera frames in, located hazard detections out: the controller's side of the camera
extension topic (docs/protocol.md, "Camera frames").

:meth:`FrameIntake.handle` takes one MQTT message of ``{interface}/v2/{manufacturer}/
{serial}/camera``, decodes it (:func:`drivers.vda5050.camera.decode_frame`), checks what
the decoder leaves to the reader (the topic, that the header names the robot of the topic,
``encoding`` against ``kind``, a JPEG that stops before its end-of-image marker, the image
size against ``width`` / ``height``, ``pose``, ``projection``, the ``thermal`` scale), runs
the detectors of the frame's kind and puts every detection on the map through the frame's
``topDownOrthographic`` projection (:mod:`controller.vision.projection`).

A local camera driver, whose frames never cross MQTT, calls :meth:`FrameIntake.detect`
with the image and a :class:`FrameInfo` instead.

A bad frame is an expected outcome, not a fault: it comes back as an
:class:`IntakeResult` with ``reason`` (the field at fault, a short stable key to count:
``payload``, ``topic``, ``kind``, ``data``, ``encoding``, ``width``, ``pose``, …) and
``error``, the :class:`~drivers.errors.ProtocolError` naming the topic and the field.

Each robot has its own flame and smoke detectors, so flicker, growth and the smoke
background build up over the frames of one camera; they restart when the robot has moved
(``move_tolerance_m`` / ``turn_tolerance_rad``) or the footprint changed, because a
temporal cue only means something for a camera that stands still.  Time is passed in
(``now_s``, seconds on the caller's clock); nothing here reads a clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

from controller.vision.detection import Detection
from controller.vision.flame import FlameDetector, FlameSettings
from controller.vision.projection import TopDownView
from controller.vision.smoke import SmokeDetector, SmokeSettings
from controller.vision.thermal import RadiometricScale, ThermalDetector, ThermalSettings
from drivers.errors import ProtocolError
from drivers.vda5050.camera import CAMERA_TOPIC_NAME, FrameKind, decode_frame

_ENCODING_OF_KIND = {"rgb": "jpeg", "thermal": "png16"}
_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"
_PNG_START = b"\x89PNG\r\n\x1a\n"
_TAIL_BYTES = 64
"""a JPEG's end-of-image marker is looked for in its last bytes (some writers pad)"""


@dataclass(frozen=True)
class IntakeSettings:
    """Detector settings and when a robot's camera counts as having moved."""

    flame: FlameSettings = field(default_factory=FlameSettings)
    smoke: SmokeSettings = field(default_factory=SmokeSettings)
    thermal: ThermalSettings = field(default_factory=ThermalSettings)
    move_tolerance_m: float = 0.05
    turn_tolerance_rad: float = 0.01
    min_confidence: float = 0.0
    """detections below this are dropped"""


@dataclass(frozen=True)
class FrameInfo:
    """What the intake needs to know about a frame besides its pixels."""

    manufacturer: str
    serial_number: str
    image_id: str
    map_id: str
    timestamp: str
    """VDA 5050 timestamp of the frame"""
    kind: FrameKind
    view: TopDownView
    scale: RadiometricScale | None = None
    """raw → °C of a thermal frame"""


@dataclass(frozen=True)
class MapDetection:
    """A detection of one robot's frame, placed on the map (metres)."""

    detection: Detection
    manufacturer: str
    serial_number: str
    image_id: str
    map_id: str
    timestamp: str
    """the frame's own VDA 5050 timestamp"""
    x_m: float
    y_m: float
    radius_m: float
    """radius of a disc with the region's floor area"""


@dataclass(frozen=True)
class IntakeResult:
    """What one camera message gave: detections, or why it was refused."""

    detections: tuple[MapDetection, ...] = ()
    reason: str | None = None
    """None when the frame was accepted; else the field at fault"""
    error: ProtocolError | None = None
    info: FrameInfo | None = None
    """the accepted frame's metadata (its footprint: ``info.view``)"""
    image: NDArray[Any] | None = None
    """the accepted frame's pixels, for evidence crops"""

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass
class _RobotVision:
    flame: FlameDetector
    smoke: SmokeDetector
    view: TopDownView | None = None


class FrameIntake:
    """Decode, check, detect and locate camera frames, keeping per-robot detector state."""

    def __init__(self, settings: IntakeSettings | None = None) -> None:
        self.settings = settings or IntakeSettings()
        self._thermal = ThermalDetector(self.settings.thermal)
        self._robots: dict[tuple[str, str], _RobotVision] = {}

    def forget(self, manufacturer: str, serial_number: str) -> None:
        """Drop a robot's temporal state (it left the fleet)."""
        self._robots.pop((manufacturer, serial_number), None)

    def handle(self, topic: str, payload: bytes, now_s: float) -> IntakeResult:
        """The located detections of one camera message received at ``now_s`` (s), or the
        reason it was refused (module docstring)."""
        try:
            meta, image, view = _checked_frame(topic, payload)
        except ProtocolError as e:
            return IntakeResult(reason=e.field or "payload", error=e)
        scale = None
        if meta["kind"] == "thermal":
            thermal = meta["thermal"]
            scale = RadiometricScale(float(thermal["kelvinPerCount"]), float(thermal["offsetC"]))
        info = FrameInfo(
            manufacturer=str(meta["manufacturer"]),
            serial_number=str(meta["serialNumber"]),
            image_id=str(meta["imageId"]),
            map_id=str(meta["mapId"]),
            timestamp=str(meta["timestamp"]),
            kind=meta["kind"],
            view=view,
            scale=scale,
        )
        return IntakeResult(detections=self.detect(info, image, now_s), info=info, image=image)

    def detect(
        self, info: FrameInfo, image: NDArray[Any], now_s: float
    ) -> tuple[MapDetection, ...]:
        """The located detections of a frame that is already decoded and checked: the second
        half of :meth:`handle`, and the entry for a local camera driver.  ``image`` as
        :func:`~drivers.vda5050.camera.decode_frame` gives it (RGB uint8 (H, W, 3), or
        uint16 (H, W) raw counts with ``info.scale``)."""
        found: list[Detection]
        if info.kind == "thermal":
            if info.scale is None:
                raise ValueError(f"thermal frame {info.image_id} needs a RadiometricScale")
            found = self._thermal.detect(image, info.scale)
        else:
            key = (info.manufacturer, info.serial_number)
            robot = self._robots.get(key)
            if robot is None:
                robot = self._robots[key] = _RobotVision(
                    FlameDetector(self.settings.flame), SmokeDetector(self.settings.smoke)
                )
            if robot.view is None or self._moved(robot.view, info.view):
                robot.flame.reset()
                robot.smoke.reset()
            robot.view = info.view
            found = robot.flame.update(image, now_s) + robot.smoke.update(image, now_s)
        minimum = self.settings.min_confidence
        return tuple(_locate(d, info) for d in found if d.confidence >= minimum)

    def _moved(self, before: TopDownView, now: TopDownView) -> bool:
        s = self.settings
        turn = abs(math.remainder(now.theta_rad - before.theta_rad, math.tau))
        return (
            math.hypot(now.x_m - before.x_m, now.y_m - before.y_m) > s.move_tolerance_m
            or turn > s.turn_tolerance_rad
            or (now.width_px, now.height_px, now.width_m, now.height_m)
            != (before.width_px, before.height_px, before.width_m, before.height_m)
        )


def _locate(d: Detection, info: FrameInfo) -> MapDetection:
    x_m, y_m = info.view.pixel_to_map(*d.centroid_px)
    return MapDetection(
        detection=d,
        manufacturer=info.manufacturer,
        serial_number=info.serial_number,
        image_id=info.image_id,
        map_id=info.map_id,
        timestamp=info.timestamp,
        x_m=x_m,
        y_m=y_m,
        radius_m=math.sqrt(d.area_px / math.pi) * info.view.metres_per_px,
    )


# ---------------------------------------------------------------------- checks


def _checked_frame(topic: str, payload: bytes) -> tuple[dict[str, Any], NDArray[Any], TopDownView]:
    """(metadata, image, view) of a camera message; ProtocolError naming the field."""
    levels = topic.split("/")
    if len(levels) != 5 or levels[1] != "v2" or levels[4] != CAMERA_TOPIC_NAME:
        raise ProtocolError(topic, "topic", "not {interface}/v2/{manufacturer}/{serial}/camera")
    meta, image = decode_frame(payload, topic)
    for name, expected in (("manufacturer", levels[2]), ("serialNumber", levels[3])):
        if meta.get(name) != expected:
            raise ProtocolError(topic, name, f"{meta.get(name)!r} is not the topic's {expected!r}")
    for name in ("imageId", "mapId", "timestamp"):
        if not isinstance(meta.get(name), str):
            raise ProtocolError(topic, name, "missing or not a string")
    kind = meta["kind"]
    encoding = meta.get("encoding")
    if encoding != _ENCODING_OF_KIND[kind]:
        raise ProtocolError(
            topic, "encoding", f"{kind} frames are {_ENCODING_OF_KIND[kind]}, got {encoding!r}"
        )
    _check_signature(topic, payload, kind)
    height, width = image.shape[:2]
    for name, actual in (("width", width), ("height", height)):
        claimed = meta.get(name)
        if type(claimed) is not int or claimed != actual:
            raise ProtocolError(topic, name, f"says {claimed!r}, the image has {actual}")
    if kind == "thermal":
        _check_thermal(topic, meta.get("thermal"))
    return meta, image, _view(topic, meta, width, height)


def _check_signature(topic: str, payload: bytes, kind: str) -> None:
    """A JPEG must start and end with its markers (OpenCV 5 refuses a cut one, but libjpeg
    builds that fill the missing rows and only warn exist); a PNG must start with its
    signature."""
    data = json.loads(payload)["data"]  # decode_frame accepted it: a valid base64 string
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - decode_frame checked it
        raise ProtocolError(topic, "data", f"not base64 ({exc})") from exc
    if kind == "rgb":
        if not raw.startswith(_JPEG_START):
            raise ProtocolError(topic, "data", "not a JPEG (no start-of-image marker)")
        if _JPEG_END not in raw[-_TAIL_BYTES:]:
            raise ProtocolError(topic, "data", "truncated JPEG (no end-of-image marker)")
    elif not raw.startswith(_PNG_START):
        raise ProtocolError(topic, "data", "not a PNG (no PNG signature)")


def _number(value: object) -> float | None:
    """``value`` as a float if it is a finite JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _check_thermal(topic: str, thermal: object) -> None:
    if not isinstance(thermal, dict):
        raise ProtocolError(topic, "thermal", "missing on a thermal frame")
    k, offset = thermal.get("kelvinPerCount"), thermal.get("offsetC")
    k_value = _number(k)
    if k_value is None or k_value <= 0.0:
        raise ProtocolError(topic, "thermal.kelvinPerCount", f"must be > 0, got {k!r}")
    if _number(offset) is None:
        raise ProtocolError(topic, "thermal.offsetC", f"must be a finite number, got {offset!r}")


def _view(topic: str, meta: dict[str, Any], width: int, height: int) -> TopDownView:
    pose, projection = meta.get("pose"), meta.get("projection")
    xyt = [_number(pose.get(k)) for k in ("x", "y", "theta")] if isinstance(pose, dict) else []
    if len(xyt) != 3 or any(v is None for v in xyt):
        raise ProtocolError(topic, "pose", "needs finite numbers x, y, theta")
    if not isinstance(projection, dict) or projection.get("type") != "topDownOrthographic":
        raise ProtocolError(topic, "projection", "only type 'topDownOrthographic' is known")
    width_m, height_m = _number(projection.get("widthM")), _number(projection.get("heightM"))
    if width_m is None or height_m is None or width_m <= 0.0 or height_m <= 0.0:
        raise ProtocolError(
            topic,
            "projection",
            f"widthM, heightM must be > 0, got {projection.get('widthM')!r}, "
            f"{projection.get('heightM')!r}",
        )
    x_m, y_m, theta = (float(v) for v in xyt if v is not None)
    return TopDownView(x_m, y_m, theta, width, height, width_m, height_m)

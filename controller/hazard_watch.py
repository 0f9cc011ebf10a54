"""From what robots sense to alerts and the live picture: camera frames, dose rates, sources.

:class:`HazardWatch` sits between the controller's inbox and two pure parts: the camera
intake (:mod:`controller.vision.intake`) and the hazard picture
(:mod:`controller.picture`).  For each accepted camera frame it updates the picture's
layers and raises, per robot and detector, one alert while the condition persists (cleared
by the next frame of that camera that does not show it), with a JPEG crop of the region as
evidence.  For each accepted sensor message it feeds the picture and raises a dose-rate
alert per robot.  Every ``source_every_s`` it reads the source estimates and keeps an
``info`` alert per estimated source at its current position.  Gas alarms are not here:
they are the detector-style alarms of :mod:`controller.alerts` (``GasAlerts``).

Severity (docs/alerts.md): flame critical; smoke error; hotspot by its NETA priority
(1 critical, 2 error, 3 warn, 4 info); dose rate ≥ 1,000 µSv/h critical (NRC "high
radiation area", 1 mSv in an hour), ≥ 100 µSv/h error (the IAEA inner cordon, hazards.md
§1.5), cleared below 80 µSv/h; a counter reporting over range is critical (it is
saturated, not quiet); estimated sources info.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.alerts import Alert, Hazard, ImageCrop, Location, Reading, Severity
from controller.picture import FirstSeen, HazardPicture, PictureSettings
from controller.vision.detection import Detection
from controller.vision.intake import FrameInfo, FrameIntake, IntakeResult
from drivers.bus import Message
from drivers.vda5050.sensors import SensorReadings

log = logging.getLogger(__name__)

REASON_BAD_FRAME = "bad camera frame"
REASON_FRAME_UNKNOWN_ROBOT = "camera frame of an unknown robot"

DOSE_ERROR_USV_H = 100.0
DOSE_CRITICAL_USV_H = 1000.0
DOSE_CLEAR_USV_H = 80.0
_HOTSPOT_SEVERITY = {1: Severity.CRITICAL, 2: Severity.ERROR, 3: Severity.WARN, 4: Severity.INFO}
_CROP_PAD_PX = 8
_CROP_JPEG_QUALITY = 85


class AlertPort(Protocol):
    def raise_alert(
        self,
        key: str,
        *,
        severity: Severity | str,
        hazard: Hazard | str,
        title: str = ...,
        value: float | None = ...,
        unit: str = ...,
        threshold: float | None = ...,
        robot: str | None = ...,
        mission: str | None = ...,
        location: Location | None = ...,
        readings: Any = ...,
        image: ImageCrop | None = ...,
    ) -> Alert: ...

    def clear_alert(self, key: str, *, readings: Any = ...) -> Alert | None: ...


@dataclass(frozen=True)
class WatchSettings:
    picture: PictureSettings = field(default_factory=PictureSettings)
    source_every_s: float = 5.0
    """how often the source estimates are read for their alerts"""
    source_alert_radius95_m: float = 10.0
    """a source estimate becomes an alert once 95 % of it lies within this radius"""
    flush_every_s: float = 10.0
    """how often buffered readings are fused into the gas and dose maps (a query fuses
    what is pending first; this only bounds the buffer)"""


HazardListener = Callable[[FirstSeen], None]


class HazardWatch:
    """Camera frames and sensor messages in; the picture and alerts out."""

    def __init__(
        self,
        picture: HazardPicture,
        alerts: AlertPort,
        settings: WatchSettings | None = None,
        *,
        on_first_seen: HazardListener | None = None,
        map_id: str | None = None,
    ) -> None:
        self.picture = picture
        self.settings = settings or WatchSettings()
        self.intake = FrameIntake()
        self._alerts = alerts
        self._on_first_seen = on_first_seen
        self._map_id = map_id
        self._last_flush_s: float | None = None
        self._last_sources_s: float | None = None
        self.frames_rejected: Counter[str] = Counter()
        """reason (the field at fault) -> frames refused"""

    # ------------------------------------------------------------------ input

    def on_frame(self, message: Message, robot: str, now_s: float, at: Any) -> str | None:
        """One camera message of ``robot`` (a fleet key); the refusal detail, or None when
        the frame was taken.  ``at`` is the calendar time for evidence readings."""
        result = self.intake.handle(message.topic, message.payload, now_s)
        if not result.accepted or result.info is None:
            reason = result.reason or "payload"
            self.frames_rejected[reason] += 1
            return str(result.error) if result.error is not None else reason
        self._take_frame(robot, result, now_s)
        return None

    def on_local_frame(
        self, robot: str, info: FrameInfo, image: NDArray[Any], now_s: float
    ) -> None:
        """A frame of a camera read on this host (:mod:`drivers.camera_capture`), already
        decoded: the same detectors, picture and alerts as a frame off the camera topic."""
        found = self.intake.detect(info, image, now_s)
        self._take_frame(robot, IntakeResult(detections=found, info=info, image=image), now_s)

    def on_sensors(self, robot: str, msg: SensorReadings, now_s: float, at: Any) -> None:
        """One accepted sensor message of ``robot``."""
        for first in self.picture.add_readings(robot, msg, now_s):
            self._first(first)
        dose = next(
            (
                r
                for r in msg.readings
                if r.channel == "doseRate" and r.status in ("ok", "over_range")
            ),
            None,
        )
        if dose is None or (dose.value is None and dose.status == "ok"):
            return
        key = f"dose/{robot}"
        where = self._location(msg.x_m, msg.y_m)
        evidence = (Reading(at, "doseRate", dose.value, dose.unit, dose.status),)
        saturated = dose.status == "over_range"  # the counter cannot count that fast
        value = dose.value
        if saturated or (value is not None and value >= DOSE_ERROR_USV_H):
            critical = saturated or (value is not None and value >= DOSE_CRITICAL_USV_H)
            limit = DOSE_CRITICAL_USV_H if critical else DOSE_ERROR_USV_H
            self._alerts.raise_alert(
                key,
                severity=Severity.CRITICAL if critical else Severity.ERROR,
                hazard=Hazard.RADIATION,
                title=(
                    f"dose rate over the detector's range (limit {limit:g} µSv/h)"
                    if saturated
                    else f"dose rate {value:g} µSv/h (limit {limit:g} µSv/h)"
                ),
                value=value,
                unit="µSv/h",
                threshold=limit,
                robot=robot,
                location=where,
                readings=evidence,
            )
        elif value is not None and value < DOSE_CLEAR_USV_H:
            self._alerts.clear_alert(key, readings=evidence)

    def tick(self, now_s: float) -> None:
        """Periodic work: fuse buffered readings, refresh the source alerts."""
        s = self.settings
        if self._last_flush_s is None or now_s - self._last_flush_s >= s.flush_every_s - 1e-9:
            self.picture.flush()
            self._last_flush_s = now_s
        if self._last_sources_s is None or now_s - self._last_sources_s >= s.source_every_s - 1e-9:
            self._last_sources_s = now_s
            self._source_alerts()

    # ------------------------------------------------------------------ internals

    def _first(self, first: FirstSeen) -> None:
        log.info(
            "hazard %s first seen by %s at (%.1f, %.1f): %g %s",
            first.hazard, first.robot, first.x_m, first.y_m, first.value, first.unit,
        )  # fmt: skip
        if self._on_first_seen is not None:
            self._on_first_seen(first)

    def _take_frame(self, robot: str, result: IntakeResult, now_s: float) -> None:
        info = result.info
        assert info is not None
        view = info.view
        radius = 0.5 * min(view.width_m, view.height_m)
        dets = [
            (d.detection.kind, d.detection.confidence, d.x_m, d.y_m, d.radius_m)
            for d in result.detections
        ]
        for first in self.picture.add_frame(
            robot, info.kind, (view.x_m, view.y_m, radius), dets, now_s
        ):
            self._first(first)
        threshold = self.picture.settings.detection_min_confidence
        best: dict[str, Any] = {}
        for d in result.detections:
            if d.detection.confidence < threshold:
                continue
            kind = d.detection.kind
            if kind not in best or d.detection.confidence > best[kind].detection.confidence:
                best[kind] = d
        kinds = ("hotspot",) if info.kind == "thermal" else ("flame", "smoke")
        for name in kinds:
            key = f"camera/{robot}/{name}"
            got = best.get(name)
            if got is None:
                self._alerts.clear_alert(key)
                continue
            det: Detection = got.detection
            severity, hazard, title, value, unit = _describe(det)
            crop = (
                _crop(result.image, det.bbox_px, info.kind) if result.image is not None else None
            )
            self._alerts.raise_alert(
                key,
                severity=severity,
                hazard=hazard,
                title=f"{title} (image {info.image_id})",
                value=value,
                unit=unit,
                robot=robot,
                location=Location(got.x_m, got.y_m, info.map_id),
                image=crop,
            )

    def _source_alerts(self) -> None:
        limit = self.settings.source_alert_radius95_m
        for channel, est in self.picture.gas_sources().items():
            if est.radius95_m > limit or est.readings_used < 5:
                continue
            rate = "rate unknown" if est.rate_g_s is None else f"{est.rate_g_s:.3g} g/s"
            self._alerts.raise_alert(
                f"source/{channel}",
                severity=Severity.INFO,
                hazard=Hazard.GAS_TOXIC if channel != "CH4" else Hazard.FLAMMABLE,
                title=f"{channel} leak located within {est.radius95_m:.1f} m (95 %), {rate}",
                value=est.rate_g_s,
                unit="g/s",
                location=self._location(est.x_m, est.y_m),
            )
        rad = self.picture.radiation_source()
        if rad is not None and rad.radius95_m <= limit and rad.readings_used >= 3:
            self._alerts.raise_alert(
                "source/radiation",
                severity=Severity.INFO,
                hazard=Hazard.RADIATION,
                title=(
                    f"gamma source located within {rad.radius95_m:.1f} m (95 %), "
                    f"{rad.strength_usv_h_at_1m:.3g} µSv/h at 1 m"
                ),
                value=rad.strength_usv_h_at_1m,
                unit="µSv/h at 1 m",
                location=self._location(rad.x_m, rad.y_m),
            )

    def _location(self, x: float | None, y: float | None) -> Location | None:
        if x is None or y is None:
            return None
        return Location(round(x, 3), round(y, 3), self._map_id)


def _describe(det: Detection) -> tuple[Severity, Hazard, str, float | None, str]:
    """(severity, hazard, title, value, unit) of a camera detection."""
    if det.kind == "flame":
        return Severity.CRITICAL, Hazard.FIRE, f"flame seen ({det.confidence:.2f})", (
            det.confidence
        ), "confidence"
    if det.kind == "smoke":
        return Severity.ERROR, Hazard.SMOKE, f"smoke seen ({det.confidence:.2f})", (
            det.confidence
        ), "confidence"
    severity = _HOTSPOT_SEVERITY.get(det.severity or 0, Severity.INFO)
    rise = "" if det.delta_t_k is None else f", ΔT {det.delta_t_k:.0f} K"
    prio = "" if det.severity is None else f", NETA priority {det.severity}"
    title = f"hotspot {det.max_c:.0f} °C{rise}{prio}" if det.max_c is not None else "hotspot"
    return severity, Hazard.HEAT, title, det.max_c, "°C"


def _crop(image: NDArray[Any], bbox: tuple[int, int, int, int], kind: str) -> ImageCrop | None:
    """The detected region plus a margin as JPEG; a thermal frame false-coloured."""
    h, w = image.shape[:2]
    u, v, bw, bh = bbox
    x0, y0 = max(0, u - _CROP_PAD_PX), max(0, v - _CROP_PAD_PX)
    x1, y1 = min(w, u + bw + _CROP_PAD_PX), min(h, v + bh + _CROP_PAD_PX)
    if x1 <= x0 or y1 <= y0:
        return None
    part = image[y0:y1, x0:x1]
    if kind == "thermal":
        scaled = cv2.normalize(part, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        bgr = cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO)
    else:
        bgr = cv2.cvtColor(np.ascontiguousarray(part), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, _CROP_JPEG_QUALITY])
    if not ok:
        return None
    return ImageCrop(buf.tobytes(), (x0, y0, x1 - x0, y1 - y0))


__all__ = [
    "REASON_BAD_FRAME",
    "REASON_FRAME_UNKNOWN_ROBOT",
    "HazardWatch",
    "WatchSettings",
]

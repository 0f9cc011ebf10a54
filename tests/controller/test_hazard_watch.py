"""The controller's hazard watch: camera frames and dose rates become alerts and picture
(controller/hazard_watch.py), through the Controller on an in-memory bus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pydantic import JsonValue

from controller.alerts import AlertQuery
from controller.hazard_watch import REASON_BAD_FRAME, REASON_FRAME_UNKNOWN_ROBOT
from controller.vision.intake import FrameInfo
from controller.vision.projection import TopDownView
from drivers.camera_capture import CameraCapture
from drivers.vda5050.camera import FrameKind
from simulator.camera import CapturedFrame, encode_frame
from simulator.environment import CleanAir
from tests.controller import IFACE, MAKER, Harness
from tests.controller.test_sensing import harness, send
from tests.controller.vision.frames import FIRE_XY_M, camera, fire_world


def frame(h: Harness, env: Any, kind: FrameKind, x: float, y: float, serial: str = "R1") -> None:
    cam = camera(env)
    shot = cam.capture(kind, x, y, 0.0, 0.0)
    action = "captureImage" if kind == "rgb" else "thermalScan"
    header: dict[str, JsonValue] = {
        "headerId": 0,
        "timestamp": "2026-01-01T00:00:00.00Z",
        "version": "2.1.0",
        "manufacturer": MAKER,
        "serialNumber": serial,
    }
    payload = encode_frame(CapturedFrame(f"{serial}-1", "a1", action, "plant", shot), header)
    h.bus.publish(f"{IFACE}/v2/{MAKER}/{serial}/camera", payload)


def burning(seconds: float = 30.0) -> Any:
    world = fire_world()
    world.step(seconds)
    return world


def alerts(h: Harness, prefix: str) -> list[Any]:
    return [a for a in h.controller.alerts(AlertQuery(limit=1000)) if a.key.startswith(prefix)]


def test_a_thermal_hotspot_raises_one_alert_with_a_crop_and_clears_when_gone() -> None:
    h = Harness()
    h.controller.start()
    world = burning()
    for _ in range(3):  # the same condition, frame after frame: one alert
        frame(h, world, "thermal", *FIRE_XY_M)
        h.tick(1.0)
    got = alerts(h, f"camera/{MAKER}/R1/hotspot")
    assert len(got) == 1
    alert = h.controller.alert(got[0].id)
    assert alert is not None
    announced = [e.detail for e in h.events if e.kind == "alert"]
    assert len([d for d in announced if d.startswith("new ")]) == 1
    assert alert.severity.value == "critical"  # a fire is far above NETA priority 1's 40 K
    assert alert.hazard.value == "heat" and alert.unit == "°C" and (alert.value or 0) > 100
    assert alert.location is not None
    assert abs(alert.location.x_m - FIRE_XY_M[0]) < 3 and abs(alert.location.y_m - FIRE_XY_M[1]) < 3
    assert alert.image is not None
    crop = cv2.imdecode(np.frombuffer(alert.image.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and crop.shape[:2] == (alert.image.bbox[3], alert.image.bbox[2])
    # the camera looks at clean floor now: the condition is gone (a critical alert
    # stays listed, latched, until someone acknowledges it)
    frame(h, CleanAir(), "thermal", *FIRE_XY_M)
    h.tick(1.0)
    cleared = h.controller.alert(got[0].id)
    assert cleared is not None and not cleared.active
    picture = h.controller.hazard_picture()
    assert picture is not None and picture["hazard_layers_peak_probability"]["heat"] > 0.5
    assert [e.subject for e in h.events if e.kind == "hazard"] == ["heat"]


def test_flames_on_camera_raise_a_fire_alert() -> None:
    h = Harness()
    h.controller.start()
    world = burning()
    for _ in range(6):  # a camera standing still: flicker builds the flame's confidence
        frame(h, world, "rgb", *FIRE_XY_M)
        world.step(0.2)
        h.tick(0.2)
    got = alerts(h, f"camera/{MAKER}/R1/flame")
    assert len(got) == 1 and got[0].hazard.value == "fire"
    assert got[0].severity.value == "critical"


def test_clean_frames_raise_nothing() -> None:
    h = Harness()
    h.controller.start()
    kinds: tuple[FrameKind, ...] = ("rgb", "thermal")
    for kind in kinds:
        frame(h, CleanAir(), kind, 5.0, 0.0)
        h.tick(1.0)
    assert alerts(h, "camera/") == []
    picture = h.controller.hazard_picture()
    assert picture is not None and picture["frames_fused"] == 2


def test_bad_frames_and_strangers_are_counted_not_fatal() -> None:
    h = Harness()
    h.controller.start()
    h.bus.publish(f"{IFACE}/v2/{MAKER}/R1/camera", b'{"kind": "rgb", "data": "!!"}')
    h.bus.publish(f"{IFACE}/v2/{MAKER}/R1/camera", b"\xff\xfe not json")
    frame(h, CleanAir(), "rgb", 0.0, 0.0, serial="R9")  # not in the fleet
    h.tick(1.0)
    assert h.controller.messages_rejected[REASON_BAD_FRAME] == 2
    assert h.controller.messages_rejected[REASON_FRAME_UNKNOWN_ROBOT] == 1
    protocol = [e.detail for e in h.events if e.kind == "protocol"]
    assert any("bad camera frame" in d for d in protocol)
    # and the controller still works: a good frame after the bad ones is taken
    frame(h, burning(), "thermal", *FIRE_XY_M)
    h.tick(1.0)
    assert len(alerts(h, f"camera/{MAKER}/R1/hotspot")) == 1


def dose(value: float) -> dict[str, Any]:
    return {"channel": "doseRate", "value": value, "unit": "µSv/h", "status": "ok"}


def test_dose_rate_alerts_escalate_and_clear_with_hysteresis() -> None:
    h = harness()
    steps = [(50.0, None), (150.0, "error"), (1500.0, "critical"), (90.0, "critical"), (20.0, None)]
    seen = []
    for value, _ in steps:
        send(h, "R1", [dose(value)])
        h.tick(1.0)
        got = alerts(h, f"dose/{MAKER}/R1")
        seen.append((got[0].severity.value, got[0].active) if got else None)
    assert seen == [
        None,
        ("error", True),
        ("critical", True),  # escalated: the same episode
        ("critical", True),  # 90 µSv/h: under the limit but above the 80 µSv/h clear level
        ("critical", False),  # cleared (latched until acknowledged)
    ]
    assert json.dumps(h.controller.hazard_picture())  # the digest stays plain JSON


def test_a_local_camera_read_through_opencv_raises_a_fire_alert(tmp_path: Path) -> None:
    """The local camera driver's path: a real video file read by OpenCV's capture, its
    frames handed to the controller with where the camera looks."""
    world = burning()
    cam = camera(world)
    video = tmp_path / "hall.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (320, 240))
    for _ in range(8):
        rgb = cam.rgb(*FIRE_XY_M, 0.0)
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        world.step(0.2)
    writer.release()
    h = Harness()
    h.controller.start()
    view = TopDownView(FIRE_XY_M[0], FIRE_XY_M[1], 0.0, 320, 240, 16.0, 12.0)
    with CameraCapture(str(video), h.clock) as capture:
        for shot in capture.frames():
            info = FrameInfo(MAKER, "R1", f"local-{shot.index}", "plant", "t", "rgb", view)
            h.controller.local_frame(f"{MAKER}/R1", info, shot.image)
            h.tick(0.2)
    got = alerts(h, f"camera/{MAKER}/R1/flame")
    assert len(got) == 1 and got[0].location is not None
    assert abs(got[0].location.x_m - FIRE_XY_M[0]) < 3.0
    assert abs(got[0].location.y_m - FIRE_XY_M[1]) < 3.0
    with pytest.raises(ValueError, match="not in the fleet"):
        h.controller.local_frame(f"{MAKER}/R9", info, shot.image)


def test_a_saturated_dose_counter_is_critical_not_quiet() -> None:
    h = harness()
    send(h, "R1", [{"channel": "doseRate", "value": None, "unit": "µSv/h", "status": "over_range"}])
    h.tick(1.0)
    got = alerts(h, f"dose/{MAKER}/R1")
    assert len(got) == 1 and got[0].severity.value == "critical"
    assert "over the detector's range" in got[0].title
    # a fault says nothing about the dose: no alert from it, none cleared by it
    send(h, "R1", [{"channel": "doseRate", "value": None, "unit": "µSv/h", "status": "fault"}])
    h.tick(1.0)
    assert alerts(h, f"dose/{MAKER}/R1")[0].active

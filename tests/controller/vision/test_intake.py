"""Frame intake: camera messages in, detections on the map out; bad frames are refused
with a reason, and each robot's temporal cues are its own."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from controller.vision import (
    FrameInfo,
    FrameIntake,
    IntakeResult,
    RadiometricScale,
    TopDownView,
)
from tests.controller.vision.frames import FIRE_XY_M, camera, fire_world, payload, topic

CELL_CENTRE = (10.25, 5.25)
"""the burning cell's centre (m): the cell of the fire's ignition point (10, 5)"""


def flames(result: IntakeResult) -> list[Any]:
    return [d for d in result.detections if d.detection.kind == "flame"]


@pytest.mark.parametrize(
    ("x_m", "y_m", "theta"),
    [(7.0, 5.0, 0.0), (10.0, 2.0, math.pi / 2), (12.0, 7.0, -2.3)],
)
def test_rgb_flames_land_on_the_map_where_the_fire_is(x_m: float, y_m: float, theta: float) -> None:
    cam = camera(fire_world())
    result = FrameIntake().handle(topic(), payload(cam, "rgb", x_m, y_m, theta), now_s=0.0)
    assert result.accepted and result.reason is None and result.error is None
    (flame,) = flames(result)
    assert (flame.x_m, flame.y_m) == pytest.approx(CELL_CENTRE, abs=0.12)
    assert flame.radius_m == pytest.approx(0.28, abs=0.06)  # a 0.5 m cell: r = 0.5/sqrt(pi)
    assert (flame.manufacturer, flame.serial_number, flame.map_id) == ("m", "s", "shed")
    assert flame.image_id == "img-1" and flame.timestamp.endswith("Z")


def test_a_thermal_hotspot_lands_on_the_map_with_its_temperature() -> None:
    cam = camera(fire_world())
    result = FrameIntake().handle(topic(), payload(cam, "thermal", 8.0, 4.0, 0.4), now_s=0.0)
    (hot,) = result.detections
    assert hot.detection.kind == "hotspot" and hot.detection.severity == 1
    assert hot.detection.max_c == pytest.approx(800.0, abs=0.5)
    assert math.hypot(hot.x_m - CELL_CENTRE[0], hot.y_m - CELL_CENTRE[1]) < 0.5


def test_temporal_cues_build_per_robot_and_restart_when_it_moves() -> None:
    intake = FrameIntake()
    cam_a, cam_b = camera(fire_world(), 1), camera(fire_world(), 2)
    first = flames(intake.handle(topic("a"), payload(cam_a, "rgb", *FIRE_XY_M, serial="a"), 0.0))
    for k in range(1, 8):
        later = intake.handle(topic("a"), payload(cam_a, "rgb", *FIRE_XY_M, serial="a"), 0.05 * k)
        # robot b's frames in between do not disturb robot a's history
        other = intake.handle(topic("b"), payload(cam_b, "rgb", 7.0, 5.0, serial="b"), 0.05 * k)
        assert other.accepted
    confirmed = flames(later)[0].detection.confidence
    assert confirmed > first[0].detection.confidence + 0.25
    moved = intake.handle(topic("a"), payload(cam_a, "rgb", 9.0, 5.0, serial="a"), 0.45)
    assert flames(moved)[0].detection.confidence < confirmed - 0.25
    intake.forget("m", "a")


def test_a_local_camera_driver_hands_over_decoded_frames() -> None:
    cam = camera(fire_world())
    view = TopDownView(7.0, 5.0, 0.0, 320, 240, 16.0, 12.0)
    info = FrameInfo("m", "local", "cam0-1", "shed", "2026-01-01T00:00:00.00Z", "rgb", view)
    located = FrameIntake().detect(info, cam.rgb(7.0, 5.0, 0.0), now_s=0.0)
    (flame,) = [d for d in located if d.detection.kind == "flame"]
    assert (flame.x_m, flame.y_m) == pytest.approx(CELL_CENTRE, abs=0.12)
    thermal = replace(info, kind="thermal", view=replace(view, width_px=160, height_px=120))
    with pytest.raises(ValueError, match="RadiometricScale"):
        FrameIntake().detect(thermal, cam.thermal(7.0, 5.0, 0.0), now_s=0.0)
    scaled = replace(thermal, scale=RadiometricScale(0.1))
    (hot,) = FrameIntake().detect(scaled, cam.thermal(7.0, 5.0, 0.0), now_s=0.0)
    assert math.hypot(hot.x_m - CELL_CENTRE[0], hot.y_m - CELL_CENTRE[1]) < 0.5


def test_min_confidence_drops_weak_detections() -> None:
    from controller.vision import IntakeSettings

    strict = FrameIntake(IntakeSettings(min_confidence=0.9))
    assert (
        strict.handle(topic(), payload(camera(fire_world()), "rgb", 7.0, 5.0), 0.0).detections == ()
    )


# ---------------------------------------------------------------------- refused frames

Body = dict[str, Any]


def _rgb() -> Body:
    body: Body = json.loads(payload(camera(fire_world()), "rgb", *FIRE_XY_M))
    return body


def _thermal() -> Body:
    body: Body = json.loads(payload(camera(fire_world()), "thermal", *FIRE_XY_M))
    return body


def _truncated(body: Body) -> None:
    raw = base64.b64decode(body["data"])
    body["data"] = base64.b64encode(raw[: len(raw) * 2 // 3]).decode()


def _png_as_jpeg(body: Body) -> None:
    ok, png = cv2.imencode(".png", np.zeros((240, 320, 3), np.uint8))
    assert ok
    body["data"] = base64.b64encode(png.tobytes()).decode()


Case = tuple[Callable[[], Body], Callable[[Body], None], str]
CASES: dict[str, Case] = {
    "bad base64": (_rgb, lambda b: b.update(data="@@not base64@@"), "data"),
    "truncated JPEG": (_rgb, _truncated, "data"),
    "PNG sent as JPEG": (_rgb, _png_as_jpeg, "data"),
    "unknown kind": (_rgb, lambda b: b.update(kind="uv"), "kind"),
    "thermal PNG claiming RGB": (_thermal, lambda b: b.update(kind="rgb"), "encoding"),
    "width mismatch": (_rgb, lambda b: b.update(width=321), "width"),
    "height mismatch": (_thermal, lambda b: b.update(height=240), "height"),
    "width not an integer": (_rgb, lambda b: b.update(width=320.0), "width"),
    "no pose": (_rgb, lambda b: b.pop("pose"), "pose"),
    "pose not finite": (_rgb, lambda b: b["pose"].update(x="NaN"), "pose"),
    "unknown projection": (_rgb, lambda b: b["projection"].update(type="pinhole"), "projection"),
    "zero footprint": (_rgb, lambda b: b["projection"].update(widthM=0), "projection"),
    "thermal without scale": (_thermal, lambda b: b.pop("thermal"), "thermal"),
    "zero kelvin per count": (
        _thermal,
        lambda b: b["thermal"].update(kelvinPerCount=0),
        "thermal.kelvinPerCount",
    ),
    "another robot's frame": (_rgb, lambda b: b.update(serialNumber="t"), "serialNumber"),
    "no image id": (_rgb, lambda b: b.pop("imageId"), "imageId"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_bad_frame_is_refused_with_the_field_at_fault(case: str) -> None:
    make, spoil, field = CASES[case]
    body = make()
    spoil(body)
    result = FrameIntake().handle(topic(), json.dumps(body).encode(), now_s=0.0)
    assert not result.accepted and result.detections == ()
    assert result.reason == field
    assert result.error is not None
    assert result.error.topic == topic() and result.error.field == field


@pytest.mark.parametrize(
    ("the_topic", "message", "reason"),
    [
        ("uagv/v2/m/s/camera", b"not json", "payload"),
        ("uagv/v2/m/s/camera", b"[1, 2]", "payload"),
        ("uagv/v2/m/s/state", None, "topic"),
        ("uagv/v2/m/camera", None, "topic"),
        ("uagv/v2/m/other/camera", None, "serialNumber"),
    ],
)
def test_bad_messages_and_topics(the_topic: str, message: bytes | None, reason: str) -> None:
    body = message if message is not None else json.dumps(_rgb()).encode()
    result = FrameIntake().handle(the_topic, body, now_s=0.0)
    assert result.reason == reason and result.error is not None
    assert result.error.topic == the_topic

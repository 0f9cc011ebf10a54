"""Local camera driver: real video files through OpenCV, frames over a real broker."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.bus import Message
from drivers.camera_capture import CameraCapture, CapturedImage, publish_frame
from drivers.errors import TransportError
from drivers.vda5050.camera import camera_topic, decode_frame
from missions.clock import FakeClock
from tests.conftest import TransportFactory


def _write_video(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> None:
    """An MJPG AVI: a red square that moves right one step per frame on grey."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    w, h = size
    for i in range(frames):
        bgr = np.full((h, w, 3), 120, np.uint8)
        bgr[40:80, 10 + 5 * i : 50 + 5 * i] = (0, 0, 255)  # red in BGR
        writer.write(bgr)
    writer.release()


def test_reads_every_frame_of_a_video_in_rgb_with_clock_stamps(tmp_path: Path) -> None:
    video = tmp_path / "walk.avi"
    _write_video(video, 6)
    clock = FakeClock()
    got: list[CapturedImage] = []
    with CameraCapture(str(video), clock) as cam:
        for frame in cam.frames():
            got.append(frame)
            clock.advance(0.1)
    assert [f.index for f in got] == list(range(6))
    assert got[1].t_s - got[0].t_s == pytest.approx(0.1)
    first = got[0].image
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8
    r, g, b = (int(v) for v in first[60, 30])
    assert r > 200 and g < 60 and b < 60, "channels must be in RGB order"
    # the square moved right by 5 px per frame
    cols = [int(np.flatnonzero(f.image[60, :, 0] > 200)[0]) for f in got]
    assert cols == sorted(cols) and cols[-1] - cols[0] >= 20


def test_a_source_that_cannot_be_opened_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.avi"
    with pytest.raises(TransportError, match=r"nope\.avi"):
        CameraCapture(str(missing), FakeClock()).open()
    not_video = tmp_path / "text.avi"
    not_video.write_text("not a video")
    with pytest.raises(TransportError, match=r"text\.avi"):
        CameraCapture(str(not_video), FakeClock()).open()


def test_reading_before_open_is_an_error() -> None:
    with pytest.raises(TransportError, match="not open"):
        CameraCapture("0", FakeClock()).read()


def test_a_thermal_source_refuses_colour_frames(tmp_path: Path) -> None:
    video = tmp_path / "colour.avi"
    _write_video(video, 2)
    with CameraCapture(str(video), FakeClock(), kind="thermal") as cam, pytest.raises(
        TransportError, match="16-bit"
    ):
        cam.read()


@pytest.mark.broker
def test_captured_frames_travel_the_camera_topic(
    tmp_path: Path, transport_factory: TransportFactory, unique_prefix: str
) -> None:
    video = tmp_path / "walk.avi"
    _write_video(video, 3)
    topic = camera_topic(unique_prefix, "acme", "cam-01")
    inbox: queue.Queue[Message] = queue.Queue()
    receiver = transport_factory("rx")
    receiver.subscribe(topic, inbox.put)
    assert receiver.wait_subscribed(5.0)
    sender = transport_factory("tx")
    clock = FakeClock()
    sent: list[CapturedImage] = []
    with CameraCapture(str(video), clock) as cam:
        for frame in cam.frames():
            fields = {
                "headerId": frame.index,
                "timestamp": "2026-01-01T00:00:00.00Z",
                "version": "2.1.0",
                "manufacturer": "acme",
                "serialNumber": "cam-01",
                "imageId": f"cam-01-{frame.index}",
                "pose": {"x": 1.0, "y": 2.0, "theta": 0.0},
                "projection": {"type": "topDownOrthographic", "widthM": 8.0, "heightM": 6.0},
            }
            assert publish_frame(sender, topic, frame, fields) > 0
            sent.append(frame)
    deadline = time.monotonic() + 10.0
    received = []
    while len(received) < len(sent) and time.monotonic() < deadline:
        try:
            received.append(inbox.get(timeout=0.2))
        except queue.Empty:
            continue
    assert len(received) == len(sent)
    for frame, msg in zip(sent, received, strict=True):
        meta, image = decode_frame(msg.payload, msg.topic)
        assert meta["imageId"] == f"cam-01-{frame.index}"
        assert image.shape == frame.image.shape
        # JPEG is lossy: close, not equal
        assert float(np.abs(image.astype(int) - frame.image.astype(int)).mean()) < 6.0

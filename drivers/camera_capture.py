"""Local cameras: frames from an OpenCV capture source, and publishing them as a robot does.

A real robot's camera reaches hazfleet in one of two ways (docs/protocol.md, "Camera
frames"): the robot's agent captures frames and publishes them on the ``camera``
extension topic, or a camera wired to the controller's own host is read directly.  Both
start here: :class:`CameraCapture` wraps ``cv2.VideoCapture`` (a device index such as
``0``, a video file, or a stream URL that the installed OpenCV build can open) and hands
out :class:`CapturedImage` in RGB channel order, stamped with the injected clock;
:func:`publish_frame` puts one on the bus in the wire format of
:mod:`drivers.vda5050.camera`, exactly as the simulator's robots do.

Errors are ours: a source that cannot be opened or stops delivering raises
:class:`~drivers.errors.TransportError` naming the source; the end of a video file is not
an error (:meth:`CameraCapture.read` returns None).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import JsonValue

from drivers.bus import Bus
from drivers.errors import TransportError
from drivers.vda5050.camera import (
    CAMERA_QOS,
    CAMERA_RETAIN,
    FrameKind,
    encode_frame_payload,
)
from missions.clock import Clock


@dataclass(frozen=True)
class CapturedImage:
    """One frame of a local camera."""

    index: int
    """0 for the first frame read from this source"""
    t_s: float
    """the clock's ``monotonic()`` when it was read"""
    epoch_s: float
    """the clock's ``now()`` when it was read (for the frame's VDA 5050 timestamp)"""
    kind: FrameKind
    image: NDArray[Any]
    """RGB ``uint8 (H, W, 3)``, or ``uint16 (H, W)`` raw counts for a thermal source"""


def _source_arg(source: str | int) -> str | int:
    """``"0"`` means device 0, as on the command line; anything else is a path or URL."""
    if isinstance(source, str) and source.isdigit():
        return int(source)
    return source


class CameraCapture:
    """Frames from ``source`` through OpenCV.

    ``kind="thermal"`` asks the source for its raw 16-bit frames (a radiometric camera
    that OpenCV exposes as Y16, or a video of 16-bit frames); a source that delivers
    8-bit colour frames then is refused at the first read, naming the source.
    """

    def __init__(self, source: str | int, clock: Clock, *, kind: FrameKind = "rgb") -> None:
        self.source = source
        self.kind: FrameKind = kind
        self._clock = clock
        self._cap: cv2.VideoCapture | None = None
        self._index = 0

    def __enter__(self) -> CameraCapture:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def frames_read(self) -> int:
        return self._index

    def open(self) -> None:
        """Open the source.  Raises TransportError when OpenCV cannot open it."""
        cap = cv2.VideoCapture(_source_arg(self.source))
        if not cap.isOpened():
            cap.release()
            raise TransportError(f"camera {self.source}: OpenCV cannot open this source")
        if self.kind == "thermal":
            # ask for the sensor's raw values instead of an 8-bit colour conversion
            cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)
        self._cap = cap

    def read(self) -> CapturedImage | None:
        """The next frame; None at the end of a file (or of a finite stream).

        Raises TransportError when the source is not open or delivers a frame of the wrong
        form for :attr:`kind`."""
        if self._cap is None:
            raise TransportError(f"camera {self.source}: not open")
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        image = self._convert(np.asarray(frame))
        captured = CapturedImage(
            index=self._index,
            t_s=self._clock.monotonic(),
            epoch_s=self._clock.now(),
            kind=self.kind,
            image=image,
        )
        self._index += 1
        return captured

    def frames(self) -> Iterator[CapturedImage]:
        """Every remaining frame, in order, until the source ends."""
        while (got := self.read()) is not None:
            yield got

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _convert(self, frame: NDArray[Any]) -> NDArray[Any]:
        if self.kind == "rgb":
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
                raise TransportError(
                    f"camera {self.source}: expected 8-bit colour frames, got "
                    f"{frame.dtype} {frame.shape}"
                )
            code = cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB
            return np.asarray(cv2.cvtColor(frame, code))
        if frame.dtype == np.uint16 and frame.ndim == 2:
            return frame
        if frame.dtype == np.uint16 and frame.ndim == 3:
            return np.ascontiguousarray(frame[:, :, 0])
        raise TransportError(
            f"camera {self.source}: expected 16-bit radiometric frames, got "
            f"{frame.dtype} {frame.shape}"
        )


def publish_frame(
    bus: Bus,
    topic: str,
    captured: CapturedImage,
    fields: Mapping[str, JsonValue],
) -> int:
    """Publish ``captured`` on ``topic`` (``…/{serial}/camera``) in the hazfleet wire format,
    with ``fields`` (the VDA 5050 header, ``imageId``, ``pose``, ``projection`` and, for
    thermal, ``thermal``: docs/protocol.md) in front.  Returns the payload's size in bytes.

    Raises TransportError when OpenCV cannot encode the image."""
    try:
        payload = encode_frame_payload(captured.kind, captured.image, fields)
    except (ValueError, cv2.error) as exc:
        raise TransportError(f"camera frame {captured.index}: cannot encode ({exc})") from exc
    bus.publish(topic, payload, CAMERA_QOS, CAMERA_RETAIN)
    return len(payload)


__all__ = ["CameraCapture", "CapturedImage", "publish_frame"]

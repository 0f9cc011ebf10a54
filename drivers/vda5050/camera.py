"""The camera frame extension topic (docs/protocol.md, "Camera frames").

A robot publishes each frame its ``captureImage`` / ``thermalScan`` actions take on
``{interface}/v2/{manufacturer}/{serial}/camera`` (QoS 0, not retained) as one JSON
envelope: the VDA 5050 header fields, the frame's metadata and ``data``, the base64 of a
JPEG (RGB) or 16-bit PNG (radiometric thermal, raw counts).  This module is the wire
format both sides share: the simulator encodes with :func:`encode_frame_payload`, the
controller decodes with :func:`decode_frame`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import JsonValue

from drivers.errors import ProtocolError

FrameKind = Literal["rgb", "thermal"]

CAMERA_TOPIC_NAME = "camera"
"""Last level of the camera topic ``{interface}/v2/{manufacturer}/{serial}/camera``."""
CAMERA_QOS = 0
CAMERA_RETAIN = False
JPEG_QUALITY = 90


def camera_topic(interface: str, manufacturer: str, serial: str) -> str:
    """``{interface}/v2/{manufacturer}/{serial}/camera`` (hazfleet extension topic)."""
    return f"{interface}/v2/{manufacturer}/{serial}/{CAMERA_TOPIC_NAME}"


def encode_frame_payload(
    kind: FrameKind, image: NDArray[Any], fields: Mapping[str, JsonValue]
) -> bytes:
    """The envelope of ``image`` (RGB order uint8 (H, W, 3), or uint16 (H, W) raw
    counts): ``fields`` (header first, then metadata) with ``kind``, ``encoding``,
    ``width``, ``height`` and ``data`` added.  ValueError if OpenCV cannot encode it."""
    if kind == "rgb":
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # cv2 encodes BGR
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        encoding = "jpeg"
    else:
        ok, buf = cv2.imencode(".png", image)
        encoding = "png16"
    if not ok:
        raise ValueError(f"cv2.imencode failed for {encoding}")
    height, width = image.shape[:2]
    body: dict[str, JsonValue] = {
        **fields,
        "kind": kind,
        "encoding": encoding,
        "width": int(width),
        "height": int(height),
    }
    body["data"] = base64.b64encode(buf.tobytes()).decode("ascii")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_frame(payload: bytes, source: str) -> tuple[dict[str, Any], NDArray[Any]]:
    """(metadata without ``data``, image) of a camera envelope; the RGB image in RGB order
    (uint8 (H, W, 3)), the thermal one as uint16 (H, W) raw counts.

    Raises :class:`~drivers.errors.ProtocolError` naming ``source`` and the field."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(source, "", f"not JSON ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise ProtocolError(source, "", f"not a JSON object but {type(body).__name__}")
    kind = body.get("kind")
    if kind not in ("rgb", "thermal"):
        raise ProtocolError(source, "kind", f"expected 'rgb' or 'thermal', got {kind!r}")
    data = body.pop("data", None)
    if not isinstance(data, str):
        raise ProtocolError(source, "data", "missing or not a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(source, "data", f"not base64 ({exc})") from exc
    flags = cv2.IMREAD_COLOR if kind == "rgb" else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), flags)
    if image is None:
        raise ProtocolError(source, "data", f"not a decodable {body.get('encoding')} image")
    if kind == "rgb":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.dtype != np.uint16 or image.ndim != 2:
        raise ProtocolError(source, "data", f"thermal image is {image.dtype} {image.shape}")
    return body, np.asarray(image)


__all__ = [
    "CAMERA_QOS",
    "CAMERA_RETAIN",
    "CAMERA_TOPIC_NAME",
    "JPEG_QUALITY",
    "FrameKind",
    "camera_topic",
    "decode_frame",
    "encode_frame_payload",
]

"""``hazfleet detect FILE``: run the camera hazard detectors on an image or a video and
print one JSON line per detection (docs/detection.md).

* An 8-bit image (``cv2.imread``) is a photo: flames by the still-image decision, smoke by
  the still rule.
* A 16-bit single-channel PNG holds radiometric raw counts: hotspots, converted with
  ``--kelvin-per-count`` and ``--offset-c`` (default a FLIR Lepton in high-gain T-linear
  mode, 0.01 K per count from −273.15 °C; the simulator's frames use 0.1).
* A file named ``.avi``, ``.mkv``, ``.mov``, ``.mp4``, ``.mpg``, ``.mpeg`` or ``.webm``
  is a video (``cv2.VideoCapture``): flames and smoke in
  video mode (flicker, growth, smoke background), frame index and time in each line.

``--kind`` picks one detector, ``--all`` runs every one that fits the file; by default
flames (8-bit) or hotspots (16-bit).  A file that cannot be read, or a kind that does not
fit it, is a one-line error naming the file and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import cv2
import numpy as np
from numpy.typing import NDArray

from drivers.errors import ConfigError

if TYPE_CHECKING:
    from controller.vision import RadiometricScale

KINDS = ("flame", "smoke", "thermal")
VIDEO_SUFFIXES = frozenset({".avi", ".mkv", ".mov", ".mp4", ".mpg", ".mpeg", ".webm"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``detect`` command to the ``hazfleet`` parser."""
    d = sub.add_parser(
        "detect", help="run the camera hazard detectors on an image or video (JSON lines)"
    )
    d.add_argument("file", help="image (JPEG, PNG; 16-bit PNG = thermal raw counts) or video")
    group = d.add_mutually_exclusive_group()
    group.add_argument("--kind", choices=KINDS, help="run this detector only")
    group.add_argument("--all", action="store_true", help="run every detector that fits")
    d.add_argument(
        "--kelvin-per-count",
        type=float,
        default=0.01,
        help="thermal raw scale, K per count (default 0.01, Lepton T-linear)",
    )
    d.add_argument("--offset-c", type=float, default=-273.15, help="°C of raw 0 (default -273.15)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the detections of ``args.file``; ConfigError (exit 2) for a bad file or kind."""
    # imported here so that `hazfleet --help` stays fast
    from controller.vision import RadiometricScale

    stream = out or sys.stdout
    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(str(path), "", "no such file")
    try:
        scale = RadiometricScale(args.kelvin_per_count, args.offset_c)
    except ValueError as e:
        raise ConfigError("--kelvin-per-count/--offset-c", "", str(e)) from e
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is not None:
        lines = _image_lines(path, np.asarray(image), args, scale)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        lines = _video_lines(path, args)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        raise ConfigError(str(path), "", f"not a decodable {path.suffix.lstrip('.')} image")
    else:
        # FFmpeg opens almost anything (it renders a text file as video), so videos are
        # recognised by their suffix
        suffixes = ", ".join(sorted(VIDEO_SUFFIXES))
        raise ConfigError(
            str(path), "", f"not an image OpenCV can decode, nor a video ({suffixes})"
        )
    for line in lines:
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    stream.flush()
    return 0


def _kinds(args: argparse.Namespace, fits: tuple[str, ...], path: Path, what: str) -> list[str]:
    if args.kind is not None:
        if args.kind not in fits:
            raise ConfigError(
                str(path), "", f"--kind {args.kind} does not fit {what} (fits: {', '.join(fits)})"
            )
        return [args.kind]
    return list(fits) if args.all else [fits[0]]


def _image_lines(
    path: Path, image: NDArray[Any], args: argparse.Namespace, scale: RadiometricScale
) -> Iterator[dict[str, Any]]:
    from controller.vision import FlameDetector, SmokeDetector, ThermalDetector

    if image.dtype == np.uint16 and image.ndim == 2:
        _kinds(args, ("thermal",), path, "a 16-bit thermal image (raw counts)")
        return ({"file": str(path), **d.as_json()} for d in ThermalDetector().detect(image, scale))
    rgb = _to_rgb(image, path)
    kinds = _kinds(args, ("flame", "smoke"), path, "an 8-bit colour image")
    detections = []
    if "flame" in kinds:
        detections += FlameDetector().detect_still(rgb)
    if "smoke" in kinds:
        detections += SmokeDetector().detect(rgb)
    return ({"file": str(path), **d.as_json()} for d in detections)


def _to_rgb(image: NDArray[Any], path: Path) -> NDArray[np.uint8]:
    if image.dtype != np.uint8:
        raise ConfigError(str(path), "", f"{image.dtype} colour images are not supported")
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), dtype=np.uint8)
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _video_lines(path: Path, args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from controller.vision import FlameDetector, SmokeDetector

    # FFmpeg's own log lines would bury our one-line error; a user can still set the level
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise ConfigError(str(path), "", "not an image or video OpenCV can read")
        kinds = _kinds(args, ("flame", "smoke"), path, "a colour video")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        flame, smoke = FlameDetector(), SmokeDetector()
        lines: list[dict[str, Any]] = []
        index = 0
        while ok and frame is not None:
            t_s = index / fps if fps > 0 else float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1e3
            rgb = _to_rgb(np.asarray(frame), path)
            detections = flame.update(rgb, t_s) if "flame" in kinds else []
            if "smoke" in kinds:
                detections += smoke.update(rgb, t_s)
            head = {"file": str(path), "frame": index, "timeS": round(t_s, 4)}
            lines += ({**head, **d.as_json()} for d in detections)
            index += 1
            ok, frame = capture.read()
    finally:
        capture.release()
    return iter(lines)

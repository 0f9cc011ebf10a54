"""``hazfleet detect``: images, 16-bit thermal PNGs and videos written from the simulator's
frames into tmp_path; bad files are a one-line error and exit code 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from hazfleet import cli
from tests.controller.vision.frames import (
    FIRE_XY_M,
    camera,
    clean_rgb,
    drawn_flame_rgb,
    fire_world,
)

REPO = Path(__file__).resolve().parents[2]
HAZFLEET = shutil.which("hazfleet", path=str(Path(sys.executable).parent)) or "hazfleet"


def write_rgb(path: Path, rgb: np.ndarray[Any, Any]) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def fire_png(tmp_path: Path) -> Path:
    return write_rgb(tmp_path / "fire.png", camera(fire_world()).rgb(7.0, 5.0, 0.0))


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = cli.main(["detect", *args])
    captured = capsys.readouterr()
    return code, lines(captured.out), captured.err


def test_the_console_script_prints_json_lines_for_a_photo(tmp_path: Path) -> None:
    path = fire_png(tmp_path)
    proc = subprocess.run(
        [HAZFLEET, "detect", str(path), "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "HAZFLEET_CONFIG": ""},
    )
    assert proc.returncode == 0, proc.stderr
    found = lines(proc.stdout)
    kinds = {d["kind"] for d in found}
    assert "smoke" in kinds and all(d["file"] == str(path) for d in found)
    for d in found:
        assert 0.0 <= d["confidence"] <= 1.0 and len(d["bboxPx"]) == 4 and d["areaPx"] > 0


def test_the_flame_kind_finds_the_fire_in_a_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a flame drawn on the simulator's floor (core, yellow, orange, red tongues): the still
    # decision is fitted on real photos and doubts the simulator's flat square cells
    photo = drawn_flame_rgb()
    code, found, _err = run(capsys, str(write_rgb(tmp_path / "fire.png", photo)), "--kind", "flame")
    assert code == 0
    assert [d["kind"] for d in found] == ["flame"]
    # the region sits on the drawn flame: its centroid within 3 px of the drawn pixels'
    rows, cols = np.nonzero((photo != clean_rgb()).any(axis=2))
    u, v = found[0]["centroidPx"]
    assert abs(u - cols.mean()) < 3 and abs(v - rows.mean()) < 3


def test_a_clean_floor_has_no_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rgb(tmp_path / "floor.jpg", clean_rgb())
    assert run(capsys, str(path), "--all")[:2] == (0, [])


def test_a_16_bit_png_is_thermal_raw_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thermal.png"
    assert cv2.imwrite(str(path), camera(fire_world()).thermal(*FIRE_XY_M, 0.0))
    code, found, _ = run(capsys, str(path), "--kelvin-per-count", "0.1")
    assert code == 0 and len(found) == 1
    assert found[0]["kind"] == "hotspot" and found[0]["netaPriority"] == 1
    assert found[0]["maxC"] == pytest.approx(800.0, abs=0.5)
    # the Lepton default scale reads the same counts as a tenth of the kelvin
    code, lepton, _ = run(capsys, str(path))
    assert code == 0 and lepton[0]["maxC"] == pytest.approx((800.0 + 273.15) / 10 - 273.15, abs=0.1)


def test_a_video_gives_frame_index_and_time_and_flicker_confirms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fire.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    assert writer.isOpened()
    cam = camera(fire_world(), seed=3)
    for _ in range(12):
        writer.write(cv2.cvtColor(cam.rgb(*FIRE_XY_M, 0.0), cv2.COLOR_RGB2BGR))
    writer.release()
    code, found, _ = run(capsys, str(path))
    assert code == 0
    assert [d["frame"] for d in found] == list(range(12))
    assert found[1]["timeS"] == pytest.approx(0.04)
    assert found[-1]["confidence"] > found[0]["confidence"] + 0.25


@pytest.mark.parametrize(
    ("name", "content", "args", "problem"),
    [
        ("missing.png", None, (), "no such file"),
        ("broken.png", b"\x89PNG but not really", (), "not a decodable png image"),
        ("notes.txt", b"hello", (), "not an image OpenCV can decode"),
        ("empty.mp4", b"", (), "not an image or video OpenCV can read"),
        ("floor.png", "rgb", ("--kind", "thermal"), "--kind thermal does not fit"),
        ("raw.png", "raw", ("--kind", "smoke"), "--kind smoke does not fit"),
    ],
)
def test_a_bad_file_is_one_line_naming_it_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | str | None,
    args: tuple[str, ...],
    problem: str,
) -> None:
    path = tmp_path / name
    if content == "rgb":
        write_rgb(path, clean_rgb())
    elif content == "raw":
        assert cv2.imwrite(str(path), np.full((12, 16), 30315, np.uint16))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code, found, err = run(capsys, str(path), *args)
    assert code == 2 and found == []
    (line,) = err.strip().splitlines()
    assert str(path) in line and problem in line

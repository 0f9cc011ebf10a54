"""Flame detector throughput at 640 × 480 on one core (issue 5 target: ≥ 150 frames/s).

Frames: 32 simulator RGB frames rendered at 640 × 480 (2.5 cm per pixel) of a fire a few
seconds after ignition (several burning cells, smoke around them), each with its own
flicker and camera noise, cycled in order.  The process is pinned to one CPU
(``os.sched_setaffinity``) and OpenCV to one thread (``cv2.setNumThreads(1)``).

Rows, each over ``--runs`` runs of ``--frames`` frames after a warm-up:

* **video mode**: :meth:`FlameDetector.update` (colour rule, morphology, regions, flicker
  and growth per track) — the number the target is about;
* **single frame**: :meth:`FlameDetector.detect` (no temporal state);
* **still photo decision**: :func:`classify_still` on the same frames (it shrinks them);
* **baseline**: a bare ``cv2.cvtColor`` RGB → HSV and one ``cv2.inRange`` threshold, the
  least any colour-based detector must do per frame.

For each: frames per second of the median run, of the slowest run, and per-frame latency
median and p99 over all frames of all runs (nearest rank).

Run: ``python -m bench.flame_fps [--runs 5] [--frames 300]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from bench.stats import percentile
from controller.vision import FlameDetector, classify_still
from missions.site import SiteMap
from simulator.camera import Camera, CameraSpec
from simulator.hazards import FireEntry, WorldConfig
from simulator.world import HazardWorld

WIDTH, HEIGHT = 640, 480
N_FRAMES = 32
TARGET_FPS = 150.0
SITE = SiteMap.model_validate(
    {
        "map_id": "bench",
        "nodes": [{"id": "a", "x": 2.0, "y": 5.0}, {"id": "b", "x": 14.0, "y": 5.0}],
        "edges": [{"start": "a", "end": "b"}],
    }
)

Frame = NDArray[np.uint8]


def frames(seed: int = 0) -> list[Frame]:
    """:data:`N_FRAMES` RGB frames, 640 × 480, of a small fire in the middle of the view."""
    config = WorldConfig.model_validate({"grid": {"cell_m": 0.5, "margin_m": 4.0}})
    fire = FireEntry(kind="fire", x_m=8.0, y_m=5.0, start_s=0.0)
    world = HazardWorld(SITE, config, [fire], np.random.default_rng([seed, 10_000]))
    world.step(2.0)
    spec = CameraSpec(rgb_width_px=WIDTH, rgb_height_px=HEIGHT)
    camera = Camera(world, np.random.default_rng(seed), spec)
    return [camera.rgb(8.0, 5.0, 0.0) for _ in range(N_FRAMES)]


def _baseline(rgb: Frame) -> object:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    return cv2.inRange(hsv, (0, 100, 150), (35, 255, 255))


def measure(
    step: Callable[[Frame, float], object], clips: list[Frame], runs: int, n: int
) -> tuple[list[float], list[float]]:
    """(frames/s of each run, seconds of every frame)."""
    for k in range(min(n, 30)):  # warm-up: caches, lazy initialisation
        step(clips[k % len(clips)], k / 30.0)
    rates, each = [], []
    for _ in range(runs):
        start = time.perf_counter()
        for k in range(n):
            t0 = time.perf_counter()
            step(clips[k % len(clips)], k / 30.0)
            each.append(time.perf_counter() - t0)
        rates.append(n / (time.perf_counter() - start))
    return rates, each


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    """One OpenCV thread on one CPU; both restored afterwards (``make bench`` runs other
    benchmarks in this process)."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if cpus is None:
            yield "not pinned (no sched_setaffinity)"
        else:
            os.sched_setaffinity(0, {min(cpus)})
            yield f"CPU {min(cpus)}"
    finally:
        cv2.setNumThreads(threads)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.flame_fps", description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args(argv)
    with one_core() as pinned:
        run(args.runs, args.frames, pinned)
    return 0


def run(runs: int, n_frames: int, pinned: str) -> None:
    clips = frames()
    video = FlameDetector()
    single = FlameDetector()
    rows: list[tuple[str, Callable[[Frame, float], object], int]] = [
        ("video mode (FlameDetector.update)", video.update, n_frames),
        ("single frame (FlameDetector.detect)", lambda f, _t: single.detect(f), n_frames),
        ("still photo decision (classify_still)", lambda f, _t: classify_still(f), n_frames),
        ("baseline: cvtColor HSV + inRange", lambda f, _t: _baseline(f), n_frames),
    ]
    found = video.update(clips[0], 100.0)
    print(
        f"{WIDTH} x {HEIGHT}, {runs} runs x {n_frames} frames, OpenCV {cv2.__version__}"
        f" with 1 thread, {pinned}; the fire covers {sum(d.area_px for d in found)} px\n"
    )
    print("| what | fps (median run) | fps (slowest run) | ms/frame median | ms/frame p99 |")
    print("|---|---|---|---|---|")
    for name, step, n in rows:
        rates, each = measure(step, clips, runs, n)
        ms = [s * 1000.0 for s in each]
        print(
            f"| {name} | {statistics.median(rates):.0f} | {min(rates):.0f} | "
            f"{statistics.median(ms):.2f} | {percentile(ms, 99):.2f} |"
        )
    print(f"\ntarget: video mode >= {TARGET_FPS:.0f} frames/s")


if __name__ == "__main__":
    sys.exit(main())

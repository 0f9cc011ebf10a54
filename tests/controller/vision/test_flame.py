"""Flame detection on the simulator's frames: where the fire is, nothing where it is not,
and flicker and growth raise the confidence that colour alone gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from controller.vision import FlameDetector, TopDownView
from controller.vision.flame_still import STILL_MODEL, LinearScore
from controller.vision.still_features import FEATURE_NAMES, still_features
from tests.controller.vision.frames import (
    DRAWN_FLAME_PX,
    FIRE_XY_M,
    SMOKE_ONLY_XY_M,
    camera,
    clean_rgb,
    drawn_flame_rgb,
    fire_world,
    spill_rgb,
)


def test_a_burning_cell_is_found_where_the_fire_is() -> None:
    frame = camera(fire_world()).rgb(7.0, 5.0, 0.0)  # fire 3 m ahead of the robot
    found = FlameDetector().detect(frame)
    assert len(found) == 1
    flame = found[0]
    assert flame.kind == "flame" and 60 <= flame.area_px <= 140  # one 0.5 m cell: ~100 px
    view = TopDownView(7.0, 5.0, 0.0, 320, 240, 16.0, 12.0)
    x, y = view.pixel_to_map(*flame.centroid_px)
    assert (x, y) == pytest.approx((10.25, 5.25), abs=0.1)  # the cell's centre
    assert 0.3 <= flame.confidence <= 0.5  # colour alone: not yet confirmed


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(clean_rgb(), id="clean floor"),
        pytest.param(spill_rgb(), id="spill"),
        pytest.param(camera(fire_world()).rgb(*SMOKE_ONLY_XY_M, 0.0), id="smoke only"),
        pytest.param(camera(fire_world(start_s=100.0)).rgb(*FIRE_XY_M, 0.0), id="not ignited"),
    ],
)
def test_no_flame_where_there_is_none(frame: NDArray[np.uint8]) -> None:
    detector = FlameDetector()
    assert detector.detect(frame) == []
    for k in range(6):
        assert detector.update(frame, 0.1 * k) == []


def test_flicker_raises_confidence_a_static_flame_coloured_object_keeps_colour_only() -> None:
    world = fire_world()
    cam = camera(world, seed=3)
    flickering = FlameDetector()
    fire = [flickering.update(cam.rgb(*FIRE_XY_M, 0.0), 0.04 * k) for k in range(12)]
    # the same frame over and over with fresh camera noise: flame-coloured, not flickering
    still = cam.rgb(*FIRE_XY_M, 0.0).astype(np.float64)
    rng = np.random.default_rng(4)
    static = FlameDetector()
    painted = []
    for k in range(12):
        noisy = np.clip(np.rint(still + rng.normal(0.0, 2.0, still.shape)), 0, 255)
        painted.append(static.update(noisy.astype(np.uint8), 0.04 * k))
    assert all(len(f) == 1 for f in fire) and all(len(p) == 1 for p in painted)
    first = fire[0][0].confidence
    assert first == pytest.approx(painted[0][0].confidence, abs=0.02)  # same colour evidence
    assert fire[-1][0].confidence >= first + 0.3
    assert painted[-1][0].confidence == pytest.approx(first, abs=0.02)


def test_a_growing_fire_is_more_certain_than_a_steady_one() -> None:
    growing_world = fire_world()
    growing = FlameDetector()
    steady_world = fire_world()
    steady_world.step(4.0)  # a larger fire, which this test does not let spread
    steady = FlameDetector()
    g_cam, s_cam = camera(growing_world, 1), camera(steady_world, 1)
    for k in range(10):
        t = 0.5 * k
        grew = growing.update(g_cam.rgb(*FIRE_XY_M, 0.0), t)
        kept = steady.update(s_cam.rgb(*FIRE_XY_M, 0.0), t)
        growing_world.step(0.5)
    assert max(d.confidence for d in grew) > max(d.confidence for d in kept) + 0.1
    assert max(d.area_px for d in grew) > 4 * 100  # it spread beyond its first cell


def test_a_long_pause_restarts_the_temporal_cues() -> None:
    cam = camera(fire_world(), seed=5)
    detector = FlameDetector()
    for k in range(8):
        confirmed = detector.update(cam.rgb(*FIRE_XY_M, 0.0), 0.04 * k)
    after_pause = detector.update(cam.rgb(*FIRE_XY_M, 0.0), 60.0)
    assert after_pause[0].confidence < confirmed[0].confidence - 0.2
    detector.reset()
    assert detector.update(cam.rgb(*FIRE_XY_M, 0.0), 0.0)[0].confidence < 0.5


def test_tiny_frames_and_a_change_of_size() -> None:
    tiny = np.zeros((1, 1, 3), np.uint8)
    detector = FlameDetector()
    assert detector.detect(tiny) == [] and detector.update(tiny, 0.0) == []
    assert not detector.classify(tiny).fire and detector.detect_still(tiny) == []
    world = fire_world()
    world.step(2.0)  # a few cells: still a region at half the resolution
    cam = camera(world, seed=6)
    for k in range(8):
        confirmed = detector.update(cam.rgb(*FIRE_XY_M, 0.0), 0.04 * k)
    half = cv2.resize(cam.rgb(*FIRE_XY_M, 0.0), (160, 120), interpolation=cv2.INTER_NEAREST)
    resized = detector.update(np.asarray(half, np.uint8), 0.36)
    assert resized and resized[0].confidence < confirmed[0].confidence - 0.2


def _constant(p_logit: float, threshold: float) -> LinearScore:
    n = len(STILL_MODEL.weights)
    return LinearScore((0.0,) * n, (1.0,) * n, (0.0,) * n, p_logit, threshold)


def test_the_still_decision_gates_the_regions_of_a_photo() -> None:
    frame = camera(fire_world()).rgb(*FIRE_XY_M, 0.0)
    yes = FlameDetector(still_model=_constant(0.0, 0.4)).detect_still(frame)  # p = 0.5
    assert len(yes) == 1 and yes[0].confidence == pytest.approx(0.5)
    assert FlameDetector(still_model=_constant(0.0, 0.6)).detect_still(frame) == []
    # judged on fire, but the flame colours are specks too small for a region: whole frame
    specks = clean_rgb()
    specks[10:200:10, 10:300:15] = (255, 140, 40)  # 19 x 20 isolated pixels
    whole = FlameDetector(still_model=_constant(0.0, 0.4)).detect_still(specks)
    assert [d.bbox_px for d in whole] == [(0, 0, 320, 240)]
    # no flame colour at all: no fire, whatever the score says
    assert FlameDetector(still_model=_constant(5.0, 0.4)).detect_still(clean_rgb()) == []


def test_the_still_decision_runs_on_any_photo() -> None:
    decision = FlameDetector().classify(clean_rgb())
    assert 0.0 <= decision.probability <= 1.0
    assert decision.fire == (decision.probability >= STILL_MODEL.threshold)
    assert not decision.fire  # bare concrete is no fire


def _feature(rgb: NDArray[np.uint8], name: str) -> float:
    return float(still_features(rgb)[FEATURE_NAMES.index(name)])


@pytest.mark.parametrize("seed", range(4))
def test_a_drawn_flame_is_fire_a_flat_patch_of_flame_colour_is_not(seed: int) -> None:
    flame = drawn_flame_rgb(seed)
    found = FlameDetector().detect_still(flame)
    assert len(found) == 1 and found[0].confidence >= STILL_MODEL.threshold
    drawn = np.argwhere((flame != clean_rgb()).any(axis=2)).mean(axis=0)  # (row, column)
    assert found[0].centroid_px == pytest.approx((drawn[1], drawn[0]), abs=3.0)
    assert abs(found[0].centroid_px[0] - DRAWN_FLAME_PX[0]) < 2
    # a painted square of the flame's orange, about as large: solid, uniform, no core
    patch = clean_rgb().copy()
    patch[40:62, 143:165] = (245, 110, 20)
    assert _feature(patch, "hot") == pytest.approx(_feature(flame, "hot"), abs=0.1)
    assert _feature(patch, "hot_solidity") == 1.0 > 0.9 > _feature(flame, "hot_solidity")
    assert _feature(patch, "warm_sat_sd") == 0.0 < _feature(flame, "warm_sat_sd")
    assert not FlameDetector().classify(patch).fire


def test_horizontal_bands_have_vertical_gradients_a_flame_does_not() -> None:
    rows = np.linspace(60, 210, 240).astype(np.uint8)
    glow = np.zeros((240, 320, 3), np.uint8)  # a sunset-like sky: orange to yellow bands
    glow[..., 0], glow[..., 1], glow[..., 2] = 255, rows[:, None], 20
    assert _feature(glow, "warm_gy_share") > 0.95
    assert _feature(drawn_flame_rgb(), "warm_gy_share") < 0.5
    assert _feature(clean_rgb(), "warm_gy_share") == 0.5  # no flame colour: neutral


def test_small_round_glaring_blobs_count_as_compact_bright_sources() -> None:
    assert _feature(clean_rgb(), "bright_compact") == pytest.approx(-3.0)
    bulbs = clean_rgb().copy()
    for x in (60, 160, 260):
        cv2.circle(bulbs, (x, 120), 6, (255, 255, 250), -1)
    # each counts its contour's area, a polygon through the edge pixels' centres: ~π·5.5²
    area = 3 * np.pi * 5.5**2
    assert _feature(bulbs, "bright_compact") == pytest.approx(
        np.log10(0.001 + area / 76800), abs=0.02
    )
    flood = clean_rgb().copy()
    cv2.circle(flood, (160, 120), 40, (255, 255, 250), -1)  # over 1 % of the photo
    assert _feature(flood, "bright_compact") == pytest.approx(-3.0)


def test_hot_aspect_is_height_over_width() -> None:
    tall, wide = clean_rgb().copy(), clean_rgb().copy()
    tall[20:220, 150:170] = (255, 180, 40)
    wide[110:130, 60:260] = (255, 180, 40)
    assert _feature(tall, "hot_aspect") == pytest.approx(np.log10(10.0), abs=0.1)
    assert _feature(wide, "hot_aspect") == pytest.approx(-np.log10(10.0), abs=0.1)
    assert _feature(clean_rgb(), "hot_aspect") == 0.0

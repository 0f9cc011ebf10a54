"""Smoke on the simulator's frames: the fire's grey haze, not bare floor, a spill or flames;
in video, smoke drifting over a known background is more certain than a still guess."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from controller.vision import SmokeDetector
from controller.vision.smoke import block_stats
from tests.controller.vision.frames import (
    SMOKE_ONLY_XY_M,
    camera,
    clean_rgb,
    fire_world,
    spill_rgb,
)


def smoky_rgb() -> NDArray[np.uint8]:
    world = fire_world()
    world.step(5.0)
    return camera(world).rgb(*SMOKE_ONLY_XY_M, 0.0)


def test_the_fires_haze_is_smoke_in_a_single_frame() -> None:
    found = SmokeDetector().detect(smoky_rgb())
    assert found and found[0].kind == "smoke"
    assert found[0].area_px > 0.5 * 320 * 240
    assert found[0].confidence == pytest.approx(SmokeDetector().settings.still_confidence)


@pytest.mark.parametrize(
    "frame",
    [pytest.param(clean_rgb(), id="clean floor"), pytest.param(spill_rgb(), id="spill")],
)
def test_no_smoke_on_bare_floor_or_a_spill(frame: NDArray[np.uint8]) -> None:
    detector = SmokeDetector()
    assert detector.detect(frame) == []
    assert all(detector.update(frame, 0.5 * k) == [] for k in range(5))


def test_flames_are_not_smoke() -> None:
    world = fire_world()
    world.step(5.0)
    burning = camera(world).rgb(10.0, 5.0, 0.0)
    flame = (burning[..., 0] > 200) & (burning[..., 0].astype(int) - burning[..., 2] > 100)
    assert flame.sum() > 5000
    smoke = SmokeDetector().detect(burning)
    assert smoke  # the haze around the fire
    # the smoke regions leave the flames out (all but the blocks on their ragged rim)
    assert sum(d.area_px for d in smoke) < 320 * 240 - 0.8 * flame.sum()


def haze(frame: NDArray[np.uint8], opacity: float, rng: np.random.Generator) -> NDArray[np.uint8]:
    """``frame`` under grey smoke of ``opacity`` (as the simulator blends it; fresh noise)."""
    grey = np.array([176.0, 176.0, 178.0])
    out = frame.astype(np.float64) * (1.0 - opacity) + grey * opacity
    return np.clip(np.rint(out + rng.normal(0.0, 2.0, out.shape)), 0, 255).astype(np.uint8)


def test_video_smoke_over_a_known_background_is_more_certain_and_grows_with_persistence() -> None:
    rng = np.random.default_rng(7)
    floor = clean_rgb(seed=1)
    detector = SmokeDetector()
    for k in range(5):  # the background: clean floor
        assert detector.update(haze(floor, 0.0, rng), 0.2 * k) == []
    thin = haze(floor, 0.2, rng)  # light haze: too dark for the still rule
    assert SmokeDetector().detect(thin) == []
    seen = [detector.update(haze(floor, 0.2, rng), 1.0 + 0.2 * k) for k in range(6)]
    assert all(s and s[0].area_px > 0.8 * 320 * 240 for s in seen)
    assert seen[0][0].confidence >= SmokeDetector().settings.video_confidence
    assert seen[-1][0].confidence > seen[0][0].confidence + 0.1


def test_block_statistics_measure_grey_light_and_texture() -> None:
    flat = np.full((32, 48, 3), 150, np.uint8)
    checker = flat.copy()
    checker[::2, ::2] = 230
    st_flat, st_checker = block_stats(flat, 16), block_stats(checker, 16)
    assert st_flat.luma.shape == (2, 3)
    assert np.allclose(st_flat.energy, 0.0) and np.allclose(st_flat.chroma, 0.0)
    assert np.all(st_checker.energy > 20.0)
    tiny = np.zeros((10, 10, 3), np.uint8)  # smaller than one block
    assert SmokeDetector().detect(tiny) == [] and SmokeDetector().update(tiny, 0.0) == []
    with pytest.raises(ValueError, match="block_px"):
        SmokeDetector(type(SmokeDetector().settings)(block_px=15))

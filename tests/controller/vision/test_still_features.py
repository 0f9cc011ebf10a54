"""The third still-photo cues (v3) on synthetic photos: what each one measures, and that the
decision rejects drawn look-alikes of the dataset's hard negatives (a lamp, orange paint on
a white wall, a "flame" whose bright core is red and whose rim is yellow)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from controller.vision.flame_still import classify_still
from controller.vision.still_features import (
    FEATURE_NAMES,
    _percentile_floor,
    still_features,
)
from tests.controller.vision.frames import clean_rgb, drawn_flame_rgb

ORANGE = (245, 110, 20)


def _feature(rgb: NDArray[np.uint8], name: str) -> float:
    return float(still_features(rgb)[FEATURE_NAMES.index(name)])


def _patch() -> NDArray[np.uint8]:
    """A flat square of flame orange on the floor: no core, no gradient, straight edges."""
    out = clean_rgb().copy()
    out[40:62, 143:165] = ORANGE
    return out


def _inverted() -> NDArray[np.uint8]:
    """Nested discs, the wrong way round for a flame: a bright red core, a dimmer amber rim."""
    out = clean_rgb().copy()
    cv2.circle(out, (160, 120), 20, (200, 140, 30), -1)
    cv2.circle(out, (160, 120), 10, (255, 60, 10), -1)
    return out


def _orange_on_white() -> NDArray[np.uint8]:
    """Orange paint on a white wall: the flame colour is not the light source."""
    out = np.full((240, 320, 3), 250, np.uint8)
    out[100:140, 140:180] = (255, 150, 30)
    return out


def _lamp() -> NDArray[np.uint8]:
    """A round white bulb in a yellow shade, in a dim room."""
    out = np.full((240, 320, 3), 60, np.uint8)
    cv2.circle(out, (160, 120), 30, (255, 200, 80), -1)
    cv2.circle(out, (160, 120), 12, (255, 255, 240), -1)
    return out


def test_one_value_per_named_feature() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 48
    assert FEATURE_NAMES[0] == "hot"  # the gate reads the first feature
    values = still_features(drawn_flame_rgb())
    assert values.shape == (48,) and np.isfinite(values).all()
    assert np.isfinite(still_features(np.zeros((1, 1, 3), np.uint8))).all()


@pytest.mark.parametrize("seed", range(3))
def test_the_percentile_from_a_histogram_selects_what_numpy_selects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for size in (1, 2, 7, 50, 1001):
        luma = rng.integers(0, 256 if seed else 4, size).astype(np.float32)  # seed 0: ties
        for percent in (0.0, 50.0, 98.0, 100.0):
            expected = luma >= np.percentile(luma, percent)
            assert ((luma >= _percentile_floor(luma, percent)) == expected).all()


def test_a_flame_gets_yellower_and_paler_towards_its_bright_core() -> None:
    assert _feature(drawn_flame_rgb(), "warm_hue_val_corr") > 0.5
    assert _feature(drawn_flame_rgb(), "warm_sat_val_corr") < -0.5
    assert _feature(_inverted(), "warm_hue_val_corr") < -0.5  # brighter is redder
    assert _feature(_patch(), "warm_hue_val_corr") == 0.0  # one colour: no trend


def test_a_flame_is_brighter_than_the_ring_around_its_hot_pixels() -> None:
    assert _feature(drawn_flame_rgb(), "hot_ring_drop") > 0.3
    assert _feature(_orange_on_white(), "hot_ring_drop") < -0.5
    assert _feature(_inverted(), "hot_ring_drop") < 0.0
    assert _feature(_inverted(), "hot_ring_warm") == 1.0  # the amber rim is flame colour


def test_the_brightest_pixels_are_flame_only_when_nothing_else_outshines_it() -> None:
    assert _feature(_patch(), "top2_warm") > 0.25
    window = _patch()
    window[150:230, 20:120] = 255  # a white window, brighter and larger than the patch
    assert _feature(window, "top2_warm") == 0.0


def test_flame_outlines_are_ragged_lamps_and_discs_round() -> None:
    disc = clean_rgb().copy()
    cv2.circle(disc, (160, 120), 14, ORANGE, -1)
    flame = drawn_flame_rgb()
    assert _feature(flame, "warm_ragged") > 0.15 > 0.05 > _feature(disc, "warm_ragged")
    assert _feature(disc, "warm_largest_circ") > 0.85 > 0.5 > _feature(flame, "warm_largest_circ")
    assert _feature(clean_rgb(), "warm_largest_circ") == 1.0  # no region: neutral


def test_a_near_white_core_wrapped_in_flame_colour() -> None:
    assert _feature(drawn_flame_rgb(), "core_in_warm") > 0.5
    assert _feature(_patch(), "core_in_warm") == 0.0  # no core
    assert _feature(_orange_on_white(), "core_in_warm") < 0.05  # white all over, not wrapped


@pytest.mark.parametrize("photo", [_inverted, _orange_on_white, _lamp, _patch])
def test_look_alikes_of_hard_negatives_are_no_fire(photo: object) -> None:
    assert callable(photo)
    decision = classify_still(photo())
    assert not decision.fire and decision.probability < 0.25
    assert classify_still(drawn_flame_rgb()).probability > 0.9

"""Pixels ↔ map: the inverse of the simulator's top-down projection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controller.vision import TopDownView
from simulator.camera import floor_points


@pytest.mark.parametrize("theta", [0.0, 0.7, math.pi / 2, -2.5, math.pi])
def test_pixel_to_map_is_the_simulators_projection(theta: float) -> None:
    view = TopDownView(8.0, 5.0, theta, 320, 240, 16.0, 12.0)
    px, py = floor_points(8.0, 5.0, theta, 320, 240, 16.0, 12.0)
    for u, v in [(0, 0), (319, 0), (0, 239), (160, 120), (17, 201)]:
        x, y = view.pixel_to_map(u, v)
        assert (x, y) == pytest.approx((px[v, u], py[v, u]))


@pytest.mark.parametrize("theta", [0.0, 1.1, -math.pi / 2, 3.0])
def test_map_to_pixel_round_trips(theta: float) -> None:
    view = TopDownView(-3.0, 7.5, theta, 160, 120, 16.0, 12.0)
    px, py = floor_points(-3.0, 7.5, theta, 160, 120, 16.0, 12.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        u, v = int(rng.integers(160)), int(rng.integers(120))
        assert view.map_to_pixel(px[v, u], py[v, u]) == pytest.approx((u, v))
        # and back again from fractional pixels, even outside the image
        fu, fv = rng.uniform(-50, 200, size=2)
        assert view.map_to_pixel(*view.pixel_to_map(fu, fv)) == pytest.approx((fu, fv))


def test_a_view_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="width_m"):
        TopDownView(0.0, 0.0, 0.0, 10, 10, 0.0, 1.0)
    with pytest.raises(ValueError, match="theta_rad"):
        TopDownView(0.0, 0.0, math.nan, 10, 10, 1.0, 1.0)
    assert TopDownView(0, 0, 0, 320, 240, 16.0, 12.0).metres_per_px == pytest.approx(0.05)

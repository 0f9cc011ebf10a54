"""World grid: cell mapping, wall rasterization, wind field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.physics.grid import (
    Grid,
    WindField,
    map_direction_from_meteorological,
    rasterize_walls,
)


def test_cell_mapping_round_trip() -> None:
    g = Grid(origin_x_m=-5.0, origin_y_m=10.0, cell_m=0.5, nx=20, ny=10)
    assert g.shape == (10, 20)
    assert g.cell_of(-5.0, 10.0) == (0, 0)
    assert g.cell_of(-4.51, 10.49) == (0, 0)
    assert g.cell_of(-4.5, 10.5) == (1, 1)
    assert g.cell_of(4.99, 14.99) == (19, 9)
    assert g.cell_of(5.0, 12.0) is None  # right edge is outside
    assert g.cell_of(-5.01, 12.0) is None
    for ix, iy in [(0, 0), (3, 7), (19, 9)]:
        assert g.cell_of(*g.center_of(ix, iy)) == (ix, iy)
    assert g.center_of(0, 0) == (-4.75, 10.25)
    assert g.fractional_index(-4.75, 10.25) == (0.0, 0.0)
    cx, cy = g.center_coordinates()
    assert cx.shape == g.shape
    assert (cx[4, 3], cy[4, 3]) == g.center_of(3, 4)


def test_covering_and_validation() -> None:
    g = Grid.covering(0.0, 0.0, 10.0, 4.1, cell_m=1.0)
    assert (g.nx, g.ny) == (10, 5)
    with pytest.raises(ValueError):
        Grid(0.0, 0.0, 0.0, 3, 3)
    with pytest.raises(ValueError):
        Grid(0.0, 0.0, 1.0, 0, 3)


def test_polygon_fill() -> None:
    g = Grid(0.0, 0.0, 1.0, 10, 10)
    mask = rasterize_walls(g, [[(2.0, 2.0), (6.0, 2.0), (6.0, 5.0), (2.0, 5.0)]])
    assert mask.dtype == np.bool_
    assert mask.shape == (10, 10)
    # the rectangle covers cells ix 2..5, iy 2..4; its outline lies on cell edges and marks
    # the cells it touches, which stay within ix 1..6, iy 1..5
    assert mask[2:5, 2:6].all()
    assert not mask[7:, :].any()
    assert not mask[:, 7:].any()
    assert not mask[0, :].any()


def test_triangle_centres_inside() -> None:
    g = Grid(0.0, 0.0, 0.1, 100, 100)
    mask = rasterize_walls(g, [[(1.0, 1.0), (9.0, 1.0), (5.0, 9.0)]])
    assert mask[50, 50]  # centre (5.05, 5.05)
    assert not mask[80, 15]  # centre (1.55, 8.05), left of the apex
    # area ≈ 32 m² = 3200 cells (plus the outline's one-cell fringe)
    assert 3200 <= mask.sum() <= 3200 + 3 * 26 / 0.1


def test_thin_diagonal_wall_is_watertight() -> None:
    """A wall far thinner than a cell must still block 4-neighbour paths."""
    g = Grid(0.0, 0.0, 1.0, 20, 20)
    mask = rasterize_walls(g, [], polylines=[[(0.0, 0.3), (20.0, 17.9)]], wall_thickness_m=0.01)
    # flood fill from the lower-right corner must not reach the upper-left corner
    seen = np.zeros_like(mask)
    stack = [(0, 19)]
    while stack:
        iy, ix = stack.pop()
        if not (0 <= iy < 20 and 0 <= ix < 20) or seen[iy, ix] or mask[iy, ix]:
            continue
        seen[iy, ix] = True
        stack += [(iy + 1, ix), (iy - 1, ix), (iy, ix + 1), (iy, ix - 1)]
    assert seen[0, 19]
    assert not seen[19, 0]


def test_polyline_thickness() -> None:
    g = Grid(0.0, 0.0, 0.1, 100, 10)
    thin = rasterize_walls(g, [], polylines=[[(5.05, 0.0), (5.05, 1.0)]])
    thick = rasterize_walls(g, [], polylines=[[(5.05, 0.0), (5.05, 1.0)]], wall_thickness_m=0.5)
    assert thin[:, 50].all() and thin.sum() == 10
    # centres within 0.25 m of x = 5.05: 4.85 … 5.25 → 5 columns
    assert thick.sum(axis=1).tolist() == [5] * 10


def test_rasterize_rejects_malformed_shapes() -> None:
    g = Grid(0.0, 0.0, 1.0, 5, 5)
    with pytest.raises(ValueError, match=r"polygons\[0\]"):
        rasterize_walls(g, [[(0.0, 0.0), (1.0, 1.0)]])
    with pytest.raises(ValueError, match=r"polylines\[0\]"):
        rasterize_walls(g, [], polylines=[[(0.0, 0.0)]])
    with pytest.raises(ValueError, match="wall_thickness_m"):
        rasterize_walls(g, [], wall_thickness_m=-1.0)


def test_uniform_wind_and_direction() -> None:
    w = WindField.from_speed_direction(2.0, math.pi / 2)
    ux, uy = w.at(123.0, -4.0)
    assert ux == pytest.approx(0.0, abs=1e-12)
    assert uy == pytest.approx(2.0)
    assert w.is_uniform
    with pytest.raises(ValueError):
        WindField.from_speed_direction(-1.0, 0.0)


def test_meteorological_direction() -> None:
    # a north wind blows toward the south (−y); a west wind (270°) toward +x
    assert map_direction_from_meteorological(0.0) == pytest.approx(-math.pi / 2)
    assert map_direction_from_meteorological(270.0) == pytest.approx(0.0, abs=1e-12)
    assert abs(map_direction_from_meteorological(90.0)) == pytest.approx(math.pi)


def test_per_cell_wind_bilinear() -> None:
    g = Grid(0.0, 0.0, 1.0, 3, 2)
    ux = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    uy = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 4.0]])
    w = WindField.per_cell(g, ux, uy)
    assert w.at(0.5, 0.5) == (0.0, 0.0)
    assert w.at(1.0, 1.0) == pytest.approx((0.5, 2.0))
    assert w.at(-10.0, 10.0) == pytest.approx((0.0, 4.0))  # held at the edge
    assert w.max_speed_components_m_s() == (2.0, 4.0)
    with pytest.raises(ValueError, match="grid shape"):
        WindField.per_cell(g, ux[:, :2], uy)
    with pytest.raises(ValueError, match="grid it was given on"):
        w.on_grid(Grid(0.0, 0.0, 1.0, 4, 2))

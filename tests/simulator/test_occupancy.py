"""Occupancy images (ROS map_server convention) as walls: thresholds, rasterising, the
physics behind them, scenario files naming a bad image, and a drill through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from drivers.errors import ConfigError
from missions.site import SiteMap
from simulator.hazards import GasRelease, WorldConfig
from simulator.occupancy import (
    OccupancyMap,
    load_occupancy,
    occupied_pixels,
    rasterize_occupancy,
)
from simulator.physics.grid import Grid
from simulator.scenario import load_scenario
from simulator.world import HazardWorld

REPO = Path(__file__).resolve().parents[2]
HAZFLEET = shutil.which("hazfleet", path=str(Path(sys.executable).parent)) or "hazfleet"

ORIGIN = (-6.0, -6.0)
RES_M = 0.1
WIDTH_PX, HEIGHT_PX = 300, 240  # 30 m x 24 m: x -6..24, y -6..18


def wall_image(path: Path, x0_m: float, x1_m: float, y0_m: float, y1_m: float) -> Path:
    """White (free) image with a black rectangle over the given map coordinates."""
    img = np.full((HEIGHT_PX, WIDTH_PX), 254, dtype=np.uint8)
    u0, u1 = int((x0_m - ORIGIN[0]) / RES_M), int((x1_m - ORIGIN[0]) / RES_M)
    v0 = HEIGHT_PX - int((y1_m - ORIGIN[1]) / RES_M)  # row 0 is the top (max y)
    v1 = HEIGHT_PX - int((y0_m - ORIGIN[1]) / RES_M)
    img[v0:v1, u0:u1] = 0
    assert cv2.imwrite(str(path), img)
    return path


def test_thresholds_follow_map_server() -> None:
    grey = np.array([[0, 80, 100, 200, 255]], dtype=np.uint8)
    # p = (255 - v) / 255: 1.0, 0.686, 0.608, 0.216, 0.0
    assert occupied_pixels(grey, 0.65, negate=False).tolist() == [[True, True, False, False, False]]
    assert occupied_pixels(grey, 0.65, negate=True).tolist() == [[False, False, False, True, True]]


def test_a_wall_lands_on_the_cells_under_it_and_coarse_pixels_leave_no_gap() -> None:
    occupied = np.zeros((10, 10), dtype=bool)
    occupied[:, 4] = True  # a column: x 8..10 m at 2 m per pixel
    coarse = OccupancyMap(occupied, 2.0, 0.0, 0.0)
    grid = Grid(0.0, 0.0, 0.5, 40, 40)
    mask = rasterize_occupancy(grid, coarse)
    assert mask[:, 16:20].all()  # x 8..10 m, every row: no hole in the wall
    assert not mask[:, :16].any() and not mask[:, 20:].any()
    fine = OccupancyMap(np.eye(4, dtype=bool), 0.1, 1.0, 1.0)  # 4 px on a diagonal
    mask = rasterize_occupancy(grid, fine)
    assert mask.sum() == 1 and mask[2, 2]  # all in the cell at (1.0..1.5, 1.0..1.5)


SITE = SiteMap.model_validate(
    {
        "map_id": "m",
        "nodes": [{"id": "a", "x": 0.0, "y": 0.0}, {"id": "b", "x": 18.0, "y": 12.0}],
        "edges": [{"start": "a", "end": "b"}],
    }
)


def test_gas_does_not_cross_a_wall_from_the_image(tmp_path: Path) -> None:
    image = wall_image(tmp_path / "wall.png", 8.0, 8.4, -6.0, 18.0)  # wall across the site
    world = WorldConfig.model_validate(
        {
            "occupancy": {"image": str(image), "resolution_m": RES_M, "origin": list(ORIGIN)},
            "dispersion": {"diffusivity_m2_s": 0.5, "boundary": "closed"},
            "grid": {"margin_m": 0.0},  # the grid is the image: no way around the wall
        }
    )
    leak = GasRelease.model_validate(
        {"kind": "gas_release", "gas": "H2S", "x_m": 4.0, "y_m": 6.0, "rate_g_s": 0.1}
    )
    w = HazardWorld(SITE, world, [leak], np.random.default_rng(0))
    for _ in range(120):
        w.step(1.0)
    assert (w.sample("H2S", 7.5, 6.0, w.time_s) or 0.0) > 1.0
    assert w.sample("H2S", 9.0, 6.0, w.time_s) == 0.0  # behind the image's wall
    assert w.obstacles[:, w.grid.cell_of(8.2, 6.0)[0]].all()  # type: ignore[index]


def scenario_with_map(folder: Path, image_name: str | None) -> Path:
    data: dict[str, Any] = yaml.safe_load((REPO / "config/drills/default.yaml").read_text())
    data["interface"] = f"t{uuid.uuid4().hex[:10]}"
    data["world"] = {
        "occupancy": {"image": image_name or "missing.png", "resolution_m": RES_M}
        | {"origin": list(ORIGIN)},
        "dispersion": {"diffusivity_m2_s": 0.3},
    }
    data["hazards"] = [
        {"kind": "gas_release", "gas": "H2S", "x_m": 3.5, "y_m": 10.0, "rate_g_s": 0.05}
    ]
    path = folder / "drill.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_relative_image_is_found_next_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    wall_image(tmp_path / "maps" / "unit7.png", 6.0, 6.2, 7.5, 18.0)
    sc = load_scenario(scenario_with_map(tmp_path, "maps/unit7.png"))
    assert sc.world is not None and sc.world.occupancy is not None
    assert Path(sc.world.occupancy.image) == (tmp_path / "maps" / "unit7.png").resolve()
    occ = sc.occupancy
    assert occ is not None and occ.extent() == pytest.approx((-6.0, -6.0, 24.0, 18.0))


@pytest.mark.parametrize("content", [None, b"not an image"])
def test_a_missing_or_broken_image_is_named(tmp_path: Path, content: bytes | None) -> None:
    if content is not None:
        (tmp_path / "broken.png").write_bytes(content)
    path = scenario_with_map(tmp_path, "broken.png" if content is not None else None)
    load_occupancy.cache_clear()
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert info.value.field == "world.occupancy.image"
    assert ("no such image" if content is None else "not a readable image") in info.value.problem


@pytest.mark.broker
def test_a_drill_with_an_image_wall_runs_and_its_map_shows_it(tmp_path: Path) -> None:
    wall_image(tmp_path / "unit7.png", 6.0, 6.2, 7.5, 18.0)  # between pump-p101 and p102
    path = scenario_with_map(tmp_path, "unit7.png")
    report = tmp_path / "report"
    proc = subprocess.run(
        [HAZFLEET, "drill", str(path), "--speed", "max", "--quiet", "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # the image is found next to the scenario, not in the working dir
        env={**os.environ, "HAZFLEET_CONFIG": ""},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["passed"] is True
    survey = next(m for m in summary["missions"] if m["id"] == "gas-survey-pump-bay")
    results = [json.loads(v) for v in survey["action_results"].values()]
    h2s = [r["readings"]["H2S"]["value"] for r in results if "readings" in r]
    assert len(h2s) == 2 and h2s[0] > h2s[1]  # beside the leak vs. behind the image wall
    assert (report / "report.html").is_file() and (report / "map.png").is_file()

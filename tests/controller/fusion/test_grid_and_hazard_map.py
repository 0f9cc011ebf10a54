"""GridSpec and HazardMap: log-odds arithmetic, decay, clamp, footprints, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controller.fusion import HAZARD_LAYERS, GridSpec, HazardMap, LayerConfig
from controller.fusion.hazard_map import log_odds_increment

GRID = GridSpec(0.0, 0.0, 0.5, 40, 30)


def test_grid_world_cell_round_trip() -> None:
    ix, iy = GRID.cells_of([0.0, 0.49, 0.5, 19.99], [0.0, 0.2, 14.99, 1.0])
    assert ix.tolist() == [0, 0, 1, 39]
    assert iy.tolist() == [0, 0, 29, 2]
    assert GRID.center_of(1, 2) == (0.75, 1.25)
    gx, gy = GRID.center_coordinates()
    assert gx.shape == GRID.shape == (30, 40)
    assert gx[2, 1] == 0.75 and gy[2, 1] == 1.25
    assert GRID.contains([19.99, 20.0], [1.0, 1.0]).tolist() == [True, False]


@pytest.mark.parametrize(
    ("x", "y", "field"),
    [(20.0, 1.0, "off the grid"), (float("nan"), 1.0, "NaN"), (1.0, float("inf"), "NaN")],
)
def test_grid_rejects_bad_points_naming_the_field(x: float, y: float, field: str) -> None:
    with pytest.raises(ValueError, match="x_m/y_m") as err:
        GRID.cells_of([x], [y])
    assert field in str(err.value)


def test_every_hazard_type_has_a_layer() -> None:
    m = HazardMap(GRID)
    assert set(HAZARD_LAYERS) <= set(m.layer_names)
    assert HAZARD_LAYERS == (
        "gas_toxic",
        "flammable",
        "oxygen",
        "heat",
        "fire",
        "smoke",
        "radiation",
        "spill",
    )
    for name in HAZARD_LAYERS:
        assert np.all(m.probability(name, 0.0) == 0.5)


def test_log_odds_increments_are_exact() -> None:
    assert log_odds_increment(True, 0.9, 0.1) == pytest.approx(math.log(9.0), abs=1e-15)
    assert log_odds_increment(False, 0.9, 0.1) == pytest.approx(-math.log(9.0), abs=1e-15)
    assert log_odds_increment(True, 0.8, 0.05) == pytest.approx(math.log(16.0), abs=1e-15)
    assert log_odds_increment(False, 0.8, 0.05) == pytest.approx(math.log(0.2 / 0.95))


def test_detection_then_miss_in_a_cell() -> None:
    m = HazardMap(GRID)
    m.update("fire", 5.2, 5.2, 0.0, True, 0.9, 0.1, 10.0)
    lo = m.log_odds("fire", 10.0)
    assert lo[10, 10] == pytest.approx(math.log(9.0), abs=1e-12)
    assert m.probability_at("fire", 5.2, 5.2, 10.0) == pytest.approx(0.9, abs=1e-12)
    assert np.count_nonzero(lo) == 1  # radius 0: the cell itself only
    m.update("fire", 5.2, 5.2, 0.0, True, 0.9, 0.1, 10.0)
    assert m.probability_at("fire", 5.2, 5.2, 10.0) == pytest.approx(81 / 82, abs=1e-12)
    m.update("fire", 5.2, 5.2, 0.0, False, 0.9, 0.1, 10.0)
    assert m.log_odds("fire", 10.0)[10, 10] == pytest.approx(math.log(9.0), abs=1e-12)
    # other layers untouched
    assert np.all(m.log_odds("smoke", 10.0) == 0.0)


def test_prior_other_than_one_half() -> None:
    m = HazardMap(GRID, {"spill": LayerConfig(tau_s=math.inf, prior_p=0.2)})
    assert m.probability_at("spill", 1.0, 1.0, 0.0) == pytest.approx(0.2)
    m.update("spill", 1.0, 1.0, 0.0, True, 0.9, 0.1, 0.0)
    assert m.log_odds("spill", 5.0)[2, 2] == pytest.approx(math.log(0.25) + math.log(9.0))


def test_decay_half_life_toward_the_prior() -> None:
    tau = 300.0
    m = HazardMap(GRID, {"gas_toxic": LayerConfig(tau_s=tau, prior_p=0.1)})
    l0 = math.log(0.1 / 0.9)
    m.update("gas_toxic", 3.0, 3.0, 0.0, True, 0.9, 0.1, 100.0)
    half = tau * math.log(2.0)
    assert m.log_odds("gas_toxic", 100.0)[6, 6] - l0 == pytest.approx(math.log(9.0))
    assert m.log_odds("gas_toxic", 100.0 + half)[6, 6] - l0 == pytest.approx(math.log(9.0) / 2)
    assert m.log_odds("gas_toxic", 100.0 + 2 * half)[6, 6] - l0 == pytest.approx(math.log(9.0) / 4)
    # a cell never reported on stays at the prior
    assert m.log_odds("gas_toxic", 100.0 + half)[0, 0] == pytest.approx(l0)


def test_decayed_evidence_adds_to_new_evidence_and_late_reports_are_aged() -> None:
    tau = 100.0
    m = HazardMap(GRID, {"smoke": LayerConfig(tau_s=tau)})
    m.update("smoke", 1.0, 1.0, 0.0, True, 0.9, 0.1, 0.0)
    m.update("smoke", 1.0, 1.0, 0.0, True, 0.9, 0.1, 50.0)
    expected = math.log(9.0) * (math.exp(-0.5) + 1.0)
    assert m.log_odds("smoke", 50.0)[2, 2] == pytest.approx(expected)
    # a report of time 0 arriving after the one of time 50 counts as aged by 50 s
    late = HazardMap(GRID, {"smoke": LayerConfig(tau_s=tau)})
    late.update("smoke", 1.0, 1.0, 0.0, True, 0.9, 0.1, 50.0)
    late.update("smoke", 1.0, 1.0, 0.0, True, 0.9, 0.1, 0.0)
    assert late.log_odds("smoke", 50.0)[2, 2] == pytest.approx(expected)


def test_clamp_at_ten() -> None:
    m = HazardMap(GRID)
    for _ in range(20):
        m.update("heat", 2.0, 2.0, 0.0, True, 0.9, 0.1, 0.0)
    assert m.log_odds("heat", 0.0)[4, 4] == pytest.approx(10.0)
    # clamped evidence is quickly undone: the map stays responsive
    for _ in range(5):
        m.update("heat", 2.0, 2.0, 0.0, False, 0.9, 0.1, 0.0)
    assert m.log_odds("heat", 0.0)[4, 4] == pytest.approx(10.0 - 5 * math.log(9.0))
    for _ in range(40):
        m.update("heat", 2.0, 2.0, 0.0, False, 0.9, 0.1, 0.0)
    assert m.log_odds("heat", 0.0)[4, 4] == pytest.approx(-10.0)


def test_footprint_is_a_disc_and_batches_add_up() -> None:
    m = HazardMap(GRID)
    m.update("spill", 5.25, 5.25, 1.0, True, 0.9, 0.1, 0.0)  # centre of cell (10, 10)
    lo = m.log_odds("spill", 0.0)
    touched = np.argwhere(lo != 0.0)
    d = np.hypot(touched[:, 0] - 10, touched[:, 1] - 10) * 0.5
    assert d.max() <= 1.0 and len(touched) == 13  # cells within 2 cells' distance
    batch = HazardMap(GRID)
    batch.update_many(
        "spill", [5.25, 5.25, 9.0], [5.25, 5.25, 9.0], 1.0, [True, False, True], 0.9, 0.1, 0.0
    )
    assert batch.log_odds("spill", 0.0)[10, 10] == pytest.approx(0.0)
    assert batch.log_odds("spill", 0.0)[18, 18] == pytest.approx(math.log(9.0))


def test_footprint_at_the_edge_is_cut() -> None:
    m = HazardMap(GRID)
    m.update("fire", 0.1, 0.1, 1.0, True, 0.9, 0.1, 0.0)
    assert np.count_nonzero(m.log_odds("fire", 0.0)) == 6


def test_long_runs_stay_finite() -> None:
    m = HazardMap(GRID, {"gas_toxic": LayerConfig(tau_s=10.0)})
    for k in range(200):
        m.update("gas_toxic", 3.0, 3.0, 0.5, True, 0.9, 0.1, k * 10.0)
    lo = m.log_odds("gas_toxic", 1990.0)
    assert np.isfinite(lo).all()
    # steady state of a report every 10 s with τ = 10 s: ln 9 / (1 − e^−1)
    assert lo[6, 6] == pytest.approx(math.log(9.0) / (1 - math.exp(-1.0)), rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"layer": "lava"}, "layer"),
        ({"tpr": 1.0}, "tpr"),
        ({"fpr": 0.0}, "fpr"),
        ({"x_m": 99.0}, "x_m/y_m"),
        ({"y_m": float("nan")}, "x_m/y_m"),
        ({"radius_m": -1.0}, "radius_m"),
        ({"t_s": float("inf")}, "t_s"),
    ],
)
def test_update_validates_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "layer": "fire",
        "x_m": 1.0,
        "y_m": 1.0,
        "radius_m": 0.5,
        "detected": True,
        "tpr": 0.9,
        "fpr": 0.1,
        "t_s": 0.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=field.replace("/", "/")):
        HazardMap(GRID).update(**args)  # type: ignore[arg-type]

"""Thermal hotspots: raw counts to °C (Lepton and simulator anchors), regions, NETA ΔT."""

from __future__ import annotations

import numpy as np
import pytest

from controller.vision import (
    LEPTON_TLINEAR,
    NetaBasis,
    RadiometricScale,
    ThermalDetector,
    ThermalSettings,
)
from simulator.camera import ThermalScale
from tests.controller.vision.frames import FIRE_XY_M, camera, fire_world, spill_world

SIM_SCALE = RadiometricScale(kelvin_per_count=0.1, offset_c=-273.15)


def test_raw_counts_to_celsius_anchors() -> None:
    assert float(LEPTON_TLINEAR.to_celsius(30315)) == pytest.approx(30.00)  # hazards.md §2.3
    assert float(LEPTON_TLINEAR.to_celsius(27315)) == pytest.approx(0.0)
    assert float(SIM_SCALE.to_celsius(2931)) == pytest.approx(19.95)  # docs/protocol.md
    sim = ThermalScale()
    celsius = np.array([-20.0, 20.0, 800.0])
    assert SIM_SCALE.to_celsius(sim.to_raw(celsius)) == pytest.approx(celsius, abs=0.051)
    with pytest.raises(ValueError, match="kelvin_per_count"):
        RadiometricScale(kelvin_per_count=0.0)


def test_a_fire_is_a_priority_1_hotspot_at_the_centre_of_the_frame() -> None:
    raw = camera(fire_world()).thermal(*FIRE_XY_M, 0.0)
    found = ThermalDetector().detect(raw, SIM_SCALE)
    assert len(found) == 1
    hot = found[0]
    assert hot.kind == "hotspot" and hot.max_c == pytest.approx(800.0, abs=0.5)
    assert hot.mean_c is not None and 30.0 < hot.mean_c < hot.max_c
    assert hot.delta_t_k is not None and hot.delta_t_k > 700.0
    assert hot.severity == 1 and hot.confidence == pytest.approx(1.0)
    u, v = hot.centroid_px
    assert abs(u - 80) < 4 and abs(v - 60) < 4  # 160 x 120, the fire under the robot


def test_ambient_a_spill_and_noise_are_not_hotspots() -> None:
    assert ThermalDetector().detect(camera(spill_world()).thermal(8.0, 5.0, 0.0), SIM_SCALE) == []
    rng = np.random.default_rng(0)
    ambient = LEPTON_TLINEAR.to_celsius(30315 + rng.integers(-5, 6, size=(120, 160)))
    assert ThermalDetector().detect_celsius(ambient) == []


def test_thresholds_absolute_or_over_a_reference_and_neta_classes() -> None:
    celsius = np.full((60, 80), 25.0)
    celsius[10:14, 10:14] = 40.0  # ΔT 15 K over the 25 °C scene
    celsius[40:50, 50:60] = 90.0  # ΔT 65 K
    celsius[30, 30] = 200.0  # a single pixel: below min_area_px
    found = ThermalDetector().detect_celsius(celsius)
    assert [(d.area_px, d.severity) for d in found] == [(100, 1), (16, 3)]
    assert found[1].delta_t_k == pytest.approx(15.0)
    assert found[1].bbox_px == (10, 10, 4, 4)
    # an absolute process limit of 60 °C leaves only the hot box
    limited = ThermalDetector(ThermalSettings(threshold_c=60.0)).detect_celsius(celsius)
    assert [d.area_px for d in limited] == [100]
    # a known ambient of 35 °C: ΔT of the 40 °C box is 5 K, below the 10 K rise
    known = ThermalDetector(ThermalSettings(reference_c=35.0)).detect_celsius(celsius)
    assert [d.delta_t_k for d in known] == [pytest.approx(55.0)]
    similar = ThermalDetector(ThermalSettings(delta_k=4.0, basis=NetaBasis.SIMILAR))
    assert [d.severity for d in similar.detect_celsius(celsius)] == [1, 3]


def test_eight_connected_pixels_are_one_hotspot() -> None:
    celsius = np.full((20, 20), 20.0)
    for k in range(5):
        celsius[5 + k, 5 + k] = 100.0  # a diagonal line touches only at corners
    found = ThermalDetector(ThermalSettings(min_area_px=5)).detect_celsius(celsius)
    assert len(found) == 1 and found[0].area_px == 5

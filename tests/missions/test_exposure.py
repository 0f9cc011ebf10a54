"""Exposure arithmetic against the reference's worked examples (hazards.md §1.1, §1.3)."""

from __future__ import annotations

import pytest

from missions.exposure import ExposureAccumulator, mixture_index, osha_twa, ppm_to_mg_m3


def test_osha_8h_twa_worked_example() -> None:
    assert osha_twa([(150, 2), (75, 2), (50, 4)]) == 81.25


def test_osha_mixture_worked_example() -> None:
    assert mixture_index([(500, 1000), (45, 200), (40, 200)]) == pytest.approx(0.925, abs=1e-15)
    with pytest.raises(ValueError, match="limit"):
        mixture_index([(1, 0)])


def test_ppm_to_mg_m3_matches_niosh() -> None:
    assert ppm_to_mg_m3(0.5, 70.906) == pytest.approx(1.45, abs=0.005)  # Cl2
    assert ppm_to_mg_m3(1.0, 46.0055) == pytest.approx(1.88, abs=0.005)  # NO2


def feed(acc: ExposureAccumulator, start_s: float, seconds: int, ppm: float) -> float:
    for k in range(seconds):
        acc.add(start_s + k, ppm)
    return start_s + seconds


def test_rae_two_hours_at_20_ppm_give_an_acgih_twa_of_5() -> None:
    acc = ExposureAccumulator()
    t = feed(acc, 0.0, 2 * 3600, 20.0)
    acc.add(t, 0.0)  # the first sample of the next minute closes the last one
    assert acc.twa_acgih() == pytest.approx(5.0)
    assert acc.twa_osha() == pytest.approx(5.0)  # within 8 h the two agree
    assert acc.peak == 20.0


def test_stel_is_zero_padded_and_negatives_count_as_zero() -> None:
    acc = ExposureAccumulator()
    t = feed(acc, 100.0, 5 * 60, 30.0)  # 5 minutes at 30 ppm after power-on
    t = feed(acc, t, 60, -4.0)  # a negative drift reads as 0
    acc.add(t, 0.0)  # closes minute 6; it is alone in minute 7
    assert acc.minutes == 6
    assert acc.stel() == pytest.approx(5 * 30.0 / 15)
    t = feed(acc, t + 60, 15 * 60, 12.0)  # minutes 8..22
    acc.add(t, 0.0)
    assert acc.stel() == pytest.approx(12.0)  # the last 15 minutes only


def test_osha_window_moves_and_acgih_keeps_accumulating() -> None:
    acc = ExposureAccumulator(stel_minutes=15, twa_minutes=60)  # a 1-h "shift" for speed
    t = feed(acc, 0.0, 3600, 10.0)
    t = feed(acc, t, 3600, 0.0)
    acc.add(t, 0.0)
    assert acc.twa_osha() == pytest.approx(0.0)  # the exposure left the moving window
    assert acc.twa_acgih() == pytest.approx(10.0)  # ... but not the accumulated total


def test_bad_samples_are_refused() -> None:
    acc = ExposureAccumulator()
    acc.add(10.0, 1.0)
    with pytest.raises(ValueError, match="before"):
        acc.add(9.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        acc.add(11.0, float("nan"))

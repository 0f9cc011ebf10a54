"""Anchors from hazards.md §1.1 (confined-space entry) and §1.4 (NETA ΔT)."""

from __future__ import annotations

import math

import pytest

from missions.templates import EntryVerdict, entry_verdict, neta_severity

CLEAN = {"O2": 20.9, "LEL": 0.0, "H2S": 0.0, "CO": 0.0}


def test_clean_air_permits_entry() -> None:
    v = entry_verdict(CLEAN)
    assert v.verdict is EntryVerdict.ENTRY_PERMITTED and v.permitted and v.reasons == ()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"O2": 19.4}, "oxygen-deficient"),
        ({"O2": 23.6}, "oxygen-enriched"),
        ({"LEL": 10.5}, "hazardous atmosphere"),
        ({"LEL": 6.0}, "safe-for-entry 5 %"),  # 50 % of the 10 %LFL hazardous value
        ({"H2S": 21.0}, "above the PEL 20 ppm"),
        ({"H2S": 11.0}, "safe-for-entry 10 ppm"),
        ({"CO": 1200.0}, "IDLH 1200 ppm"),
        ({"CO": 26.0}, "safe-for-entry 25 ppm"),
        ({"CO": None}, "CO not measured"),
    ],
)
def test_entry_prohibited(changes: dict[str, float | None], needle: str) -> None:
    v = entry_verdict({**CLEAN, **changes})
    assert v.verdict is EntryVerdict.ENTRY_PROHIBITED
    assert any(needle in r for r in v.reasons), v.reasons


@pytest.mark.parametrize(
    "changes",
    [{"O2": 19.5}, {"O2": 23.5}, {"LEL": 5.0}, {"H2S": 10.0}, {"CO": 25.0}],
)
def test_boundaries_are_still_safe_for_entry(changes: dict[str, float]) -> None:
    assert entry_verdict({**CLEAN, **changes}).permitted


def test_extra_toxics_are_judged_against_their_pel() -> None:
    assert entry_verdict({**CLEAN, "Cl2": 0.5}).permitted  # OSHA safe-for-entry anchor
    assert not entry_verdict({**CLEAN, "Cl2": 0.6}).permitted
    assert not entry_verdict({**CLEAN, "VOC": 1.0}).permitted  # no limit known: not cleared
    # a sensor the robot does not carry (null) is not an extra hazard
    assert entry_verdict({**CLEAN, "NH3": None}).permitted


def test_lel_reading_is_invalid_without_oxygen() -> None:
    v = entry_verdict({"O2": 8.0, "LEL": 0.0, "H2S": 0.0, "CO": 0.0})
    assert not v.permitted
    assert any("LEL reading invalid" in r for r in v.reasons)


def test_tests_must_run_in_osha_order() -> None:
    v = entry_verdict({"LEL": 0.0, "O2": 20.9, "H2S": 0.0, "CO": 0.0})
    assert not v.permitted and any("out of order" in r for r in v.reasons)
    v = entry_verdict({"O2": 20.9, "CO": 0.0, "LEL": 0.0, "H2S": 0.0})
    assert not v.permitted


def test_every_height_must_pass() -> None:
    bottom = {**CLEAN, "H2S": 30.0}  # H2S is heavier than air and pools low
    v = entry_verdict([CLEAN, CLEAN, bottom])
    assert not v.permitted
    assert v.reasons == ("height 3: H2S 30 ppm is above the PEL 20 ppm",)
    assert entry_verdict([CLEAN, CLEAN, CLEAN]).permitted
    assert not entry_verdict([]).permitted


@pytest.mark.parametrize(
    ("delta_t_c", "expected"),
    [(0.5, None), (1.0, 4), (3.0, 4), (3.5, 3), (4.0, 3), (15.0, 3), (15.1, 1), (60.0, 1)],
)
def test_neta_similar_components(delta_t_c: float, expected: int | None) -> None:
    assert neta_severity(delta_t_c, "similar") == expected


@pytest.mark.parametrize(
    ("delta_t_c", "expected"),
    [(0.0, None), (1.0, 4), (10.0, 4), (11.0, 3), (20.0, 3), (21.0, 2), (40.0, 2), (41.0, 1)],
)
def test_neta_over_ambient(delta_t_c: float, expected: int | None) -> None:
    assert neta_severity(delta_t_c, "ambient") == expected


def test_neta_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        neta_severity(math.nan)
    with pytest.raises(ValueError):
        neta_severity(5.0, "nearby")  # type: ignore[arg-type]

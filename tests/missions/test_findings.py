"""Findings from a finished mission's action results: the confined-space entry verdict and
the NETA grading of a thermal inspection (``missions.templates.findings``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from missions import templates
from missions.model import MissionRequest, MissionValidationError, Target
from missions.templates import TEMPLATES, EvaluatesResults, Template, findings
from missions.templates.base import BaseTemplate, TemplateParams

UNITS = {"O2": "%vol", "LEL": "%LEL"}


def atmospheric(*readings: tuple[str, float | None], x_m: float = 18.0) -> str:
    """An atmosphericTest resultDescription as simulator/robot_actions.py writes it."""
    body = {q: {"value": v, "unit": UNITS.get(q, "ppm")} for q, v in readings}
    return json.dumps(
        {"readings": body, "x_m": x_m, "y_m": 6.0, "mapId": "unit-7"}, separators=(",", ":")
    )


CLEAN = atmospheric(
    ("O2", 20.9),
    ("LEL", 0.0),
    ("H2S", 0.1),
    ("CO", 1.0),
    ("NH3", 0.0),
    ("Cl2", 0.0),
    ("SO2", 0.0),
    ("NO2", 0.1),
)
LOW_O2 = atmospheric(("O2", 19.1), ("LEL", 0.0), ("H2S", 0.0), ("CO", 0.0))
OUT_OF_ORDER = atmospheric(("LEL", 0.0), ("O2", 20.9), ("H2S", 0.0), ("CO", 0.0))


def scan(max_c: float | None) -> str:
    return json.dumps(
        {"readings": {"temperatureMax": {"value": max_c, "unit": "°C"}}, "x_m": 12.0},
        ensure_ascii=False,
    )


def image(n: int) -> str:
    return json.dumps({"imageId": f"sim-01-img-{n:04d}", "x_m": 12.0, "theta": 0.0})


def confined(*targets: str, heights: tuple[float, ...] = (4.0, 2.0, 0.3)) -> MissionRequest:
    return MissionRequest(
        name="pre-entry test",
        template="confined_space_entry",
        site="unit-7",
        targets=[Target(kind="asset", id=t) for t in targets],
        params={"heights_m": list(heights), "toxics": ["H2S", "CO"]},
    )


def thermal(*targets: str, **params: Any) -> MissionRequest:
    return MissionRequest(
        name="thermal",
        template="thermal_inspection",
        site="unit-7",
        targets=[Target(kind="asset", id=t) for t in targets],
        params=params,
    )


# --- confined-space entry ---------------------------------------------------------------


def test_clean_air_at_every_height_permits_entry() -> None:
    found = findings(confined("tank-t3"), [CLEAN, CLEAN, CLEAN])
    assert found is not None
    assert found.verdict == "ENTRY_PERMITTED"
    assert found.summary.startswith("entry verdict ENTRY_PERMITTED: 3 test(s) at tank-t3")
    assert not found.attention
    assert found.details[1].startswith("height 2 (2 m): O2 20.9 %vol, LEL 0 %LEL, H2S 0.1 ppm")


def test_oxygen_deficient_middle_height_prohibits_entry() -> None:
    found = findings(confined("tank-t3"), [CLEAN, LOW_O2, CLEAN])
    assert found is not None
    assert found.verdict == "ENTRY_PROHIBITED" and found.attention
    assert found.summary == (
        "entry verdict ENTRY_PROHIBITED: height 2 (2 m): O2 19.1 %vol is below 19.5 %vol "
        "(oxygen-deficient)"
    )
    assert "prohibits entry: height 2 (2 m): O2 19.1 %vol is below 19.5 %vol" in " ".join(
        found.details
    )


def test_toxic_gas_above_half_the_pel_prohibits_entry() -> None:
    h2s = atmospheric(("O2", 20.9), ("LEL", 0.0), ("H2S", 12.0), ("CO", 0.0))
    found = findings(confined("tank-t3", heights=(1.0,)), [h2s])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert "H2S 12 ppm is above the safe-for-entry 10 ppm" in found.summary


def test_an_unreadable_result_prohibits_entry() -> None:
    failure = "simulated failure: atmosphericTest ended FAILED because the order set ..."
    found = findings(confined("tank-t3"), [CLEAN, failure, CLEAN])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert found.summary.startswith(
        "entry verdict ENTRY_PROHIBITED: height 2 (2 m): unreadable result (not JSON"
    )


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "empty result"),
        ('["O2", 20.9]', "not a JSON object but list"),
        ('{"x_m": 1.0}', "readings: missing or not an object"),
        ('{"readings": {"O2": 20.9}}', "readings.O2: not an object"),
        ('{"readings": {"O2": {"value": "20.9"}}}', "readings.O2.value: '20.9' is not a number"),
        ('{"readings": {"O2": {"value": NaN}}}', "readings.O2.value: nan is not finite"),
        ('{"readings": {"O2": {"value": true}}}', "readings.O2.value: True is not a number"),
        (
            '{"readings": {"O2": {"value": 20.9, "unit": "ppm"}}}',
            "readings.O2.unit: 'ppm', expected '%vol'",
        ),
    ],
)
def test_unreadable_results_name_the_problem(bad: str, why: str) -> None:
    found = findings(confined("tank-t3", heights=(1.0,)), [bad])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert f"height 1 (1 m): unreadable result ({why}" in found.summary


def test_tests_out_of_order_prohibit_entry() -> None:
    found = findings(confined("tank-t3"), [CLEAN, CLEAN, OUT_OF_ORDER])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert "height 3 (0.3 m): tests out of order (LEL, O2, H2S, CO)" in found.summary


def test_a_required_toxic_not_measured_prohibits_entry() -> None:
    no_co = atmospheric(("O2", 20.9), ("LEL", 0.0), ("H2S", 0.0), ("CO", None))
    found = findings(confined("tank-t3", heights=(1.0,)), [no_co])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert "CO not measured" in found.summary


def test_a_missing_test_prohibits_entry_even_when_the_rest_is_clean() -> None:
    found = findings(confined("tank-t3"), [CLEAN, CLEAN])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert found.summary == (
        "entry verdict ENTRY_PROHIBITED: expected 3 atmospheric test results "
        "(1 target(s) x 3 height(s)), got 2"
    )
    assert found.details[0].startswith("test 1: O2 20.9 %vol")  # heights unknown


def test_several_spaces_are_labelled_by_target_and_every_reason_counts() -> None:
    found = findings(confined("tank-t3", "pump-p101", heights=(3.0, 1.0)), [CLEAN] * 3 + [LOW_O2])
    assert found is not None and found.verdict == "ENTRY_PROHIBITED"
    assert found.summary.startswith(
        "entry verdict ENTRY_PROHIBITED: pump-p101 height 2 (1 m): O2 19.1 %vol"
    )
    clean = findings(confined("tank-t3", "pump-p101", heights=(3.0, 1.0)), [CLEAN] * 4)
    assert clean is not None and clean.verdict == "ENTRY_PERMITTED"
    assert "at tank-t3, pump-p101" in clean.summary


# --- thermal inspection -----------------------------------------------------------------


def test_hotspot_over_ambient_is_graded_and_the_worst_wins() -> None:
    request = thermal("compressor", "pump-p101", "pump-p102", ambient_c=20.0)
    found = findings(request, [scan(43.0), image(1), scan(25.5), image(2), scan(20.4), image(3)])
    assert found is not None
    assert found.verdict == "NETA-2"
    assert found.summary.startswith(
        "thermal: compressor ΔT 23.0 °C over ambient 20 °C → NETA class 2 "
        "(monitor until corrected); 2 of 3 graded scan(s) deficient"
    )
    assert found.attention
    assert found.details == (
        "compressor: max 43 °C, ΔT 23.0 °C over ambient 20 °C → NETA class 2 "
        "(monitor until corrected)",
        "pump-p101: max 25.5 °C, ΔT 5.5 °C over ambient 20 °C → NETA class 4 "
        "(possible deficiency, investigate)",
        "pump-p102: max 20.4 °C, ΔT 0.4 °C over ambient 20 °C → no deficiency (ΔT < 1 °C)",
    )


def test_a_minor_hotspot_is_graded_without_alarm() -> None:
    found = findings(thermal("compressor", ambient_c=20.0), [scan(35.0), image(1)])
    assert found is not None and found.verdict == "NETA-3" and not found.attention


def test_no_deficiency_gives_no_grade() -> None:
    found = findings(thermal("compressor", ambient_c=20.0), [scan(20.3), image(1)])
    assert found is not None and found.verdict is None and not found.attention
    assert found.summary == (
        "thermal: no deficiency in 1 scan(s), highest ΔT 0.3 °C (compressor over ambient 20 °C)"
    )


def test_similar_components_are_compared_with_the_coolest() -> None:
    request = thermal("pump-p101", "pump-p102", reference="similar")
    found = findings(request, [scan(38.0), image(1), scan(21.0), image(2)])
    assert found is not None and found.verdict == "NETA-1"
    assert found.summary.startswith(
        "thermal: pump-p101 ΔT 17.0 °C over similar pump-p102 21 °C → NETA class 1"
    )


def test_without_an_ambient_temperature_nothing_is_graded() -> None:
    found = findings(thermal("compressor"), [scan(80.0), image(1)])
    assert found is not None and found.verdict is None and found.attention
    assert found.summary == (
        "thermal: not graded: compressor: not graded "
        "(no ambient temperature: params.ambient_c is not set)"
    )


def test_an_unreadable_scan_is_reported_not_taken_for_clean() -> None:
    failure = "simulated failure: thermalScan ended FAILED because the order set ..."
    request = thermal("compressor", "pump-p101", ambient_c=20.0)
    found = findings(request, [failure, image(1), scan(20.2), image(2)])
    assert found is not None and found.verdict is None and found.attention
    # one scan fewer than targets: the remaining one cannot be attributed to an asset
    assert "result 1: unreadable (not JSON" in found.summary
    assert "scan 1: max 20.2 °C" in found.details[0]
    assert "expected 2 thermal scan(s), one per target, got 1" in found.details


def test_a_scan_in_the_wrong_unit_is_unreadable() -> None:
    kelvin = '{"readings": {"temperatureMax": {"value": 316.0, "unit": "K"}}}'
    found = findings(thermal("compressor", ambient_c=20.0), [kelvin])
    assert found is not None and found.verdict is None and found.attention
    assert "readings.temperatureMax.unit: 'K', expected '°C'" in found.summary


# --- other templates and the protocol ----------------------------------------------------


@pytest.mark.parametrize(
    "template", ["gas_leak_survey", "spill_sampling", "radiation_survey", "fire_watch", "patrol"]
)
def test_other_templates_draw_no_findings(template: str) -> None:
    request = MissionRequest.model_construct(
        name="x", site="unit-7", template=template, targets=[], params={}
    )
    assert findings(request, [CLEAN]) is None


def test_a_template_without_evaluate_still_is_a_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Legacy:
        """Written against the original protocol only."""

        name = "legacy"
        description = "old"
        params_model = TemplateParams

        def capabilities(self, request: MissionRequest) -> set[str]:
            return set()

        def check(self, request: MissionRequest) -> None:
            return None

        def expand(self, request: MissionRequest, site: Any) -> list[Any]:
            return []

    assert isinstance(Legacy(), Template)
    assert not isinstance(Legacy(), EvaluatesResults)
    monkeypatch.setattr(templates, "TEMPLATES", {**TEMPLATES, "legacy": Legacy()})
    legacy = MissionRequest.model_construct(
        name="x", site="unit-7", template="legacy", targets=[], params={}
    )
    assert findings(legacy, [CLEAN]) is None
    assert all(isinstance(t, EvaluatesResults) for t in TEMPLATES.values())
    assert isinstance(TEMPLATES["patrol"], BaseTemplate)


def test_unknown_template_is_a_validation_error() -> None:
    request = MissionRequest.model_construct(
        name="x", site="unit-7", template="nope", targets=[], params={}
    )
    with pytest.raises(MissionValidationError, match="unknown template"):
        findings(request, [])

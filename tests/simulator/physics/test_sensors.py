"""Sensor models against hazards.md §4.5 and §1.2: lag anchors, quantisation, drift, faults."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from simulator.environment import QUANTITY_UNITS
from simulator.physics.sensors import (
    ALPHASENSE_CO_B4,
    ALPHASENSE_SO2_A4,
    GENERIC_EC_CL2,
    MSA_ALTAIR_4_LEL,
    MX6_IR_METHANE,
    PRESETS,
    PoisoningSpec,
    Reading,
    Sensor,
    SensorSpec,
    lag_step,
    tau_from_t90,
)


def _spec(**overrides: object) -> SensorSpec:
    """A noise-free, drift-free CO cell with t90 30 s and no quantisation or warm-up."""
    base = SensorSpec(
        name="test CO",
        quantity="CO",
        unit="ppm",
        t90_rise_s=30.0,
        t90_fall_s=30.0,
        noise_sd=0.0,
        resolution=0.0,
        range_min=-100.0,
        range_max=10_000.0,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def _sensor(spec: SensorSpec, seed: int = 1, start: float = 0.0) -> Sensor:
    return Sensor(spec, np.random.default_rng(seed), initial_values={spec.quantity: start})


def _value(reading: Reading) -> float:
    assert reading.value is not None, reading
    return reading.value


# --- first-order lag ---------------------------------------------------------------------------


def test_tau_anchor_t90_30_s_gives_13_03_s() -> None:
    assert tau_from_t90(30.0) == pytest.approx(13.03, rel=1e-3)
    assert _spec().tau_rise_s == pytest.approx(13.03, rel=1e-3)


def test_reading_after_exactly_t90_of_a_step_is_90_percent() -> None:
    sensor = _sensor(_spec())
    reading = sensor.step({"CO": 100.0}, 30.0)
    assert reading.status == "ok"
    assert _value(reading) == pytest.approx(90.0, abs=0.1)


def test_reading_after_t50_is_half_and_t50_is_0_693_tau() -> None:
    spec = _spec()
    t50_s = 0.693 * spec.tau_rise_s
    assert t50_s == pytest.approx(math.log(2.0) * spec.tau_rise_s, rel=1e-3)
    reading = _sensor(spec).step({"CO": 100.0}, t50_s)
    assert _value(reading) == pytest.approx(50.0, abs=0.1)


def test_splitting_dt_gives_the_same_lag_result() -> None:
    spec = _spec(t90_fall_s=90.0)
    one = _sensor(spec)
    many = _sensor(spec)
    for x in (100.0, 20.0, 60.0):
        whole = _value(one.step({"CO": x}, 40.0))
        for _ in range(400):
            split = _value(many.step({"CO": x}, 0.1))
        assert split == pytest.approx(whole, rel=1e-9)


def test_lag_step_never_crosses_the_target() -> None:
    y = 0.0
    for _ in range(100):
        y = lag_step(y, 10.0, 5.0, 1.0, 50.0)
        assert y <= 10.0
    assert lag_step(3.0, 7.0, 1.0, 0.0, 0.0) == 7.0  # τ = 0: instant


def test_recovery_slower_than_rise() -> None:
    spec = _spec(t90_rise_s=30.0, t90_fall_s=60.0)
    sensor = _sensor(spec)
    assert _value(sensor.step({"CO": 100.0}, 30.0)) == pytest.approx(90.0, abs=0.1)
    sensor.step({"CO": 100.0}, 600.0)  # settle at 100
    after_30_s = _value(sensor.step({"CO": 0.0}, 30.0))
    assert after_30_s > 10.0 + 20.0  # still far from clean: only 68 % recovered
    assert after_30_s == pytest.approx(100.0 * 10.0 ** (-0.5), abs=0.1)
    assert _value(sensor.step({"CO": 0.0}, 30.0)) == pytest.approx(10.0, abs=0.1)


def test_sensor_equilibrates_with_the_air_it_starts_in() -> None:
    sensor = Sensor(_spec(quantity="O2", unit="%vol"), np.random.default_rng(0))
    assert _value(sensor.step({"O2": 20.9}, 1.0)) == pytest.approx(20.9)


# --- quantisation and range --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit", "resolution", "true", "expected"),
    [
        ("LEL", "%LEL", 1.0, 12.4, 12.0),
        ("LEL", "%LEL", 1.0, 12.6, 13.0),
        ("O2", "%vol", 0.1, 19.46, 19.5),
        ("O2", "%vol", 0.1, 19.44, 19.4),
        ("CO", "ppm", 1.0, 35.7, 36.0),
        ("H2S", "ppm", 0.1, 9.96, 10.0),
        ("H2S", "ppm", 0.1, 0.3, 0.3),
    ],
)
def test_quantised_to_resolution(
    quantity: str, unit: str, resolution: float, true: float, expected: float
) -> None:
    spec = _spec(quantity=quantity, unit=unit, resolution=resolution)
    reading = _sensor(spec, start=true).step({quantity: true}, 1.0)
    assert reading == Reading(expected, "ok")


def test_over_range_is_clipped_and_flagged() -> None:
    spec = _spec(quantity="LEL", unit="%LEL", resolution=1.0, range_min=-10.0, range_max=100.0)
    sensor = _sensor(spec, start=0.0)
    assert sensor.step({"LEL": 150.0}, 1.0).status == "ok"  # still lagging below 100
    assert sensor.step({"LEL": 150.0}, 600.0) == Reading(100.0, "over_range")
    assert sensor.step({"LEL": 100.0}, 600.0) == Reading(100.0, "ok")  # at the limit: in range


def test_below_the_display_floor_is_flagged() -> None:
    spec = _spec(range_min=-2.0, cross_sensitivity={"NO2": -1.6})
    sensor = Sensor(spec, np.random.default_rng(0))
    assert sensor.step({"CO": 0.0, "NO2": 5.0}, 1.0) == Reading(-2.0, "over_range")


# --- drift and noise ---------------------------------------------------------------------------


def test_drift_is_a_random_walk_whose_variance_grows_linearly() -> None:
    sd_per_h = 2.0
    spec = _spec(drift_sd_per_h=sd_per_h)
    rng = np.random.default_rng(42)
    runs = 2000
    sensors = [Sensor(spec, rng, initial_values={"CO": 0.0}) for _ in range(runs)]
    at_1h = np.empty(runs)
    at_4h = np.empty(runs)
    for i, sensor in enumerate(sensors):
        for _ in range(4):  # 1 h in 4 steps of 15 min
            sensor.step({"CO": 0.0}, 900.0)
        at_1h[i] = sensor.drift
        sensor.step({"CO": 0.0}, 3 * 3600.0)  # 3 h more in one step
        at_4h[i] = sensor.drift
    assert float(np.mean(at_1h)) == pytest.approx(0.0, abs=4 * sd_per_h / math.sqrt(runs))
    assert float(np.var(at_1h)) == pytest.approx(sd_per_h**2 * 1.0, rel=0.15)
    assert float(np.var(at_4h)) == pytest.approx(sd_per_h**2 * 4.0, rel=0.15)
    # independent increments: the 1-4 h increment is uncorrelated with the first hour
    assert abs(float(np.corrcoef(at_1h, at_4h - at_1h)[0, 1])) < 0.1
    # the drift is in the reading
    assert sensors[0].step({"CO": 0.0}, 0.0).value == pytest.approx(sensors[0].drift)


def test_noise_has_the_datasheet_sd() -> None:
    sensor = _sensor(_spec(noise_sd=0.5), seed=3, start=10.0)
    values = np.array([_value(sensor.step({"CO": 10.0}, 1.0)) for _ in range(4000)])
    assert float(np.mean(values)) == pytest.approx(10.0, abs=0.05)
    assert float(np.std(values)) == pytest.approx(0.5, rel=0.05)


def test_same_seed_same_readings_and_other_seed_differs() -> None:
    spec = dataclasses.replace(MSA_ALTAIR_4_LEL, drift_sd_per_h=3.0)
    inputs = [{"LEL": 5.0 * (i % 7), "H2S": 0.0} for i in range(300)]

    def run(seed: int) -> list[Reading]:
        sensor = Sensor(spec, np.random.default_rng(seed))
        return [sensor.step(values, 1.0) for values in inputs]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_injected_fault_does_not_shift_later_noise() -> None:
    spec = _spec(noise_sd=1.0)
    clean = _sensor(spec, seed=5)
    faulty = _sensor(spec, seed=5)
    faulty.inject("dropout", until_s=10.0)
    a = [clean.step({"CO": 0.0}, 1.0) for _ in range(20)]
    b = [faulty.step({"CO": 0.0}, 1.0) for _ in range(20)]
    assert all(r.status == "dropout" for r in b[:9])
    assert a[9:] == b[9:]


# --- cross-sensitivity and temperature -------------------------------------------------------


def test_so2_a4_reads_down_in_no2() -> None:
    spec = dataclasses.replace(ALPHASENSE_SO2_A4, noise_sd=0.0, warmup_s=0.0)
    sensor = Sensor(spec, np.random.default_rng(0), initial_values={"SO2": 0.0, "NO2": 1.0})
    reading = sensor.step({"SO2": 0.0, "NO2": 1.0}, 1.0)
    assert reading == Reading(-1.6, "ok")  # −160 %


def test_co_b4_reads_up_in_h2_and_cl2_cell_reads_up_in_no2() -> None:
    co = dataclasses.replace(ALPHASENSE_CO_B4, noise_sd=0.0, drift_sd_per_h=0.0, warmup_s=0.0)
    sensor = Sensor(co, np.random.default_rng(0), initial_values={"CO": 0.0, "H2": 100.0})
    assert _value(sensor.step({"CO": 0.0, "H2": 100.0}, 1.0)) == pytest.approx(10.0)
    cl2 = dataclasses.replace(GENERIC_EC_CL2, noise_sd=0.0, warmup_s=0.0)
    sensor = Sensor(cl2, np.random.default_rng(0), initial_values={"Cl2": 0.0, "NO2": 2.0})
    assert _value(sensor.step({"Cl2": 0.0, "NO2": 2.0}, 1.0)) == pytest.approx(2.4)


def test_interferent_is_lagged_like_the_target() -> None:
    spec = _spec(cross_sensitivity={"H2S": 0.5})
    sensor = Sensor(spec, np.random.default_rng(0), initial_values={"CO": 0.0, "H2S": 0.0})
    assert _value(sensor.step({"CO": 0.0, "H2S": 100.0}, 30.0)) == pytest.approx(45.0, abs=0.05)


def test_co_b4_temperature_curve() -> None:
    spec = ALPHASENSE_CO_B4
    assert 0.45 <= spec.relative_sensitivity(-20.0) <= 0.70
    assert 1.10 <= spec.relative_sensitivity(50.0) <= 1.25
    assert spec.relative_sensitivity(20.0) == 1.0
    assert spec.relative_sensitivity(0.0) == pytest.approx((0.575 + 1.0) / 2)
    assert spec.relative_sensitivity(-40.0) == spec.relative_sensitivity(-20.0)  # held flat
    quiet = dataclasses.replace(spec, noise_sd=0.0, drift_sd_per_h=0.0, warmup_s=0.0)
    cold = Sensor(quiet, np.random.default_rng(0), initial_values={"CO": 200.0})
    assert cold.step({"CO": 200.0, "temperature": -20.0}, 1.0) == Reading(115.0, "ok")
    hot = Sensor(quiet, np.random.default_rng(0), initial_values={"CO": 200.0})
    assert hot.step({"CO": 200.0, "temperature": 50.0}, 1.0) == Reading(235.0, "ok")


# --- catalytic poisoning -----------------------------------------------------------------------


def _lel() -> Sensor:
    spec = dataclasses.replace(MSA_ALTAIR_4_LEL, noise_sd=0.0, warmup_s=0.0)
    return Sensor(spec, np.random.default_rng(0), initial_values={"LEL": 40.0})


def test_h2s_at_200_ppm_does_not_poison_but_above_does() -> None:
    sensor = _lel()
    assert sensor.step({"LEL": 40.0, "H2S": 200.0}, 1.0) == Reading(40.0, "ok")
    assert not sensor.poisoned
    reading = sensor.step({"LEL": 40.0, "H2S": 200.5}, 1.0)
    assert sensor.poisoned
    assert reading == Reading(20.0, "poisoned")  # documented factor 0.5
    assert sensor.step({"LEL": 40.0, "H2S": 0.0}, 600.0) == Reading(20.0, "poisoned")  # lasting


def test_h2s_over_50_ppm_poisons_after_one_minute_not_before() -> None:
    sensor = _lel()
    for _ in range(590):
        assert sensor.step({"LEL": 40.0, "H2S": 60.0}, 0.1).status == "ok"
    assert not sensor.poisoned  # 59 s
    for _ in range(10):
        reading = sensor.step({"LEL": 40.0, "H2S": 60.0}, 0.1)
    assert sensor.poisoned  # 60 s
    assert reading.status == "poisoned"


def test_h2s_at_50_ppm_or_with_breaks_does_not_poison() -> None:
    at_threshold = _lel()
    at_threshold.step({"LEL": 40.0, "H2S": 50.0}, 600.0)
    assert not at_threshold.poisoned
    interrupted = _lel()
    for _ in range(5):
        interrupted.step({"LEL": 40.0, "H2S": 100.0}, 50.0)
        interrupted.step({"LEL": 40.0, "H2S": 10.0}, 1.0)
    assert not interrupted.poisoned


def test_ir_methane_is_not_poisoned() -> None:
    spec = dataclasses.replace(MX6_IR_METHANE, noise_sd=0.0, warmup_s=0.0)
    sensor = Sensor(spec, np.random.default_rng(0), initial_values={"LEL": 40.0})
    assert sensor.step({"LEL": 40.0, "H2S": 500.0}, 120.0) == Reading(40.0, "ok")


def test_injected_poisoning_expires() -> None:
    sensor = _lel()
    sensor.inject("poisoned", until_s=10.0)
    assert sensor.step({"LEL": 40.0}, 5.0) == Reading(20.0, "poisoned")
    assert sensor.step({"LEL": 40.0}, 5.0) == Reading(40.0, "ok")


def test_custom_poisoning_thresholds_are_used() -> None:
    rule = PoisoningSpec(instant_threshold=20.0, sustained_threshold=5.0, sustained_duration_s=10.0)
    spec = dataclasses.replace(MSA_ALTAIR_4_LEL, noise_sd=0.0, warmup_s=0.0, poisoning=rule)
    sensor = Sensor(spec, np.random.default_rng(0), initial_values={"LEL": 40.0})
    sensor.step({"LEL": 40.0, "H2S": 6.0}, 9.0)
    assert not sensor.poisoned
    sensor.step({"LEL": 40.0, "H2S": 6.0}, 1.0)
    assert sensor.poisoned


# --- faults and warm-up ------------------------------------------------------------------------


def test_dropout_reports_nothing_until_it_ends() -> None:
    sensor = _sensor(_spec(), start=10.0)
    sensor.step({"CO": 10.0}, 1.0)
    sensor.inject("dropout", until_s=5.0)
    assert sensor.step({"CO": 10.0}, 1.0) == Reading(None, "dropout")  # t = 2
    assert sensor.step({"CO": 10.0}, 2.0) == Reading(None, "dropout")  # t = 4
    assert sensor.step({"CO": 10.0}, 1.0) == Reading(10.0, "ok")  # t = 5
    assert sensor.active_faults() == frozenset()


def test_generic_fault_reports_nothing() -> None:
    sensor = _sensor(_spec())
    sensor.inject("fault", until_s=math.inf)
    assert sensor.step({"CO": 0.0}, 100.0) == Reading(None, "fault")


def test_stuck_freezes_the_last_value_while_the_gas_changes() -> None:
    sensor = _sensor(_spec(resolution=1.0), start=12.0)
    assert sensor.step({"CO": 12.0}, 1.0) == Reading(12.0, "ok")
    sensor.inject("stuck", until_s=100.0)
    for _ in range(50):
        assert sensor.step({"CO": 300.0}, 1.0) == Reading(12.0, "stuck")
    # the cell kept responding underneath: after the fault the live value is back at once
    for _ in range(49):
        sensor.step({"CO": 300.0}, 1.0)
    assert sensor.step({"CO": 300.0}, 1.0) == Reading(300.0, "ok")


def test_stuck_before_any_reading_freezes_the_first_value() -> None:
    sensor = _sensor(_spec(resolution=1.0), start=7.0)
    sensor.inject("stuck", until_s=math.inf)
    assert sensor.step({"CO": 7.0}, 1.0) == Reading(7.0, "stuck")
    assert sensor.step({"CO": 70.0}, 100.0) == Reading(7.0, "stuck")


def test_warmup_reports_nothing_then_values() -> None:
    sensor = Sensor(_spec(warmup_s=60.0), np.random.default_rng(0), start_s=1000.0)
    for _ in range(59):
        assert sensor.step({"CO": 5.0}, 1.0) == Reading(None, "warmup")
    assert sensor.step({"CO": 5.0}, 1.0) == Reading(5.0, "ok")
    assert sensor.t_s == pytest.approx(1060.0)


def test_warmup_takes_priority_over_faults() -> None:
    sensor = Sensor(_spec(warmup_s=10.0), np.random.default_rng(0))
    sensor.inject("dropout", until_s=math.inf)
    assert sensor.step({"CO": 5.0}, 1.0).status == "warmup"
    assert sensor.step({"CO": 5.0}, 10.0).status == "dropout"


# --- validation and presets --------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": "XYZ"},
        {"unit": "%vol"},
        {"t90_rise_s": -1.0},
        {"noise_sd": math.nan},
        {"range_min": 10.0, "range_max": 5.0},
        {"cross_sensitivity": {"CO": 0.5}},
        {"cross_sensitivity": {"Xe": 0.5}},
        {"temperature_curve": ((20.0, 1.0), (10.0, 0.8))},
        {"temperature_curve": ((20.0, 0.0),)},
    ],
)
def test_bad_specs_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _spec(**overrides)


def test_bad_step_input_is_rejected() -> None:
    sensor = _sensor(_spec())
    with pytest.raises(ValueError, match="no 'CO'"):
        sensor.step({"O2": 20.9}, 1.0)
    with pytest.raises(ValueError, match="dt_s"):
        sensor.step({"CO": 0.0}, -1.0)
    with pytest.raises(ValueError, match="not finite"):
        sensor.step({"CO": math.inf}, 1.0)
    with pytest.raises(ValueError, match="unknown fault"):
        sensor.inject("melted", 1.0)  # type: ignore[arg-type]


def test_presets_match_the_datasheet_rows() -> None:
    for spec in PRESETS.values():
        assert QUANTITY_UNITS[spec.quantity] == spec.unit
        assert spec.source
        assert spec.t90_fall_s >= spec.t90_rise_s
    assert ALPHASENSE_CO_B4.t90_rise_s == 15.0
    assert ALPHASENSE_CO_B4.noise_sd == pytest.approx(0.002)
    assert ALPHASENSE_SO2_A4.cross_sensitivity == {"NO2": -1.6}
    assert MX6_IR_METHANE.t90_rise_s == 25.0 and MX6_IR_METHANE.resolution == 1.0
    assert MX6_IR_METHANE.poisoning is None
    assert MSA_ALTAIR_4_LEL.poisoning is not None
    assert MSA_ALTAIR_4_LEL.poisoning.instant_threshold == 200.0
    assert MSA_ALTAIR_4_LEL.poisoning.sustained_threshold == 50.0
    assert MSA_ALTAIR_4_LEL.poisoning.sustained_duration_s == 60.0
    assert PRESETS["msa_altair_4_o2"].resolution == 0.1
    hash(ALPHASENSE_CO_B4)  # frozen specs can key caches


def test_cross_sensitivity_cannot_be_mutated() -> None:
    with pytest.raises(TypeError):
        ALPHASENSE_SO2_A4.cross_sensitivity["NO2"] = 0.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ALPHASENSE_SO2_A4.noise_sd = 1.0  # type: ignore[misc]

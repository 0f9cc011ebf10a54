"""The robot measures through sensor models: lag, status, faults, Poisson dose rates."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from missions.site import SiteMap
from simulator.environment import CleanAir
from simulator.hazards import RadiationSource, WorldConfig
from simulator.physics.sensors import PRESETS
from simulator.robot_sensors import DEFAULT_GAS_SENSORS, SensorSuite
from simulator.world import HazardWorld
from tests.simulator.harness import Harness, act, action_state, make_order

H2S_TAU_S = PRESETS["generic_ec_h2s"].t90_rise_s / math.log(10.0)
DT_S = 0.1


class _Step:
    """Clean air; ``quantity`` jumps to ``value`` at ``onset_s`` (everywhere)."""

    def __init__(self, quantity: str, value: float | None, onset_s: float = 0.0) -> None:
        self._quantity, self._value, self._onset_s = quantity, value, onset_s

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        if quantity == self._quantity and t_s >= self._onset_s:
            return self._value
        return CleanAir().sample(quantity, x_m, y_m, t_s)


class _EastH2S:
    """50 ppm H2S east of x = 5 m, clean air elsewhere."""

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        if quantity == "H2S":
            return 50.0 if x_m > 5.0 else 0.0
        return CleanAir().sample(quantity, x_m, y_m, t_s)


def run_suite(suite: SensorSuite, until_s: float, start_s: float = 0.0) -> None:
    for k in range(round((until_s - start_s) / DT_S) + 1):
        suite.observe(0.0, 0.0, start_s + k * DT_S)


def test_default_cells_are_presets_for_the_four_gases_at_least() -> None:
    for quantity in ("O2", "LEL", "H2S", "CO"):
        assert DEFAULT_GAS_SENSORS[quantity] in PRESETS.values()
        assert DEFAULT_GAS_SENSORS[quantity].quantity == quantity
    assert DEFAULT_GAS_SENSORS["LEL"].poisoning is not None  # a catalytic bead


def test_a_reading_lags_a_step_by_the_cells_t90() -> None:
    suite = SensorSuite(
        _Step("H2S", 50.0, onset_s=10.0), np.random.default_rng(1), update_period_s=0.0
    )
    run_suite(suite, 15.0)
    early = suite.reading("H2S")
    assert early is not None and early.value is not None
    # 5 s after the step: 1 - exp(-5/13.03) = 32 % of the truth
    assert early.value == pytest.approx(50.0 * (1 - math.exp(-5.0 / H2S_TAU_S)), abs=1.0)
    run_suite(suite, 40.0, start_s=15.0)
    at_t90 = suite.reading("H2S")
    assert at_t90 is not None and at_t90.value == pytest.approx(45.0, abs=1.0)
    assert at_t90.status == "ok"


def test_the_detector_updates_once_a_period_and_when_read() -> None:
    suite = SensorSuite(_Step("H2S", 50.0, onset_s=0.5), np.random.default_rng(1))
    assert suite.update_period_s == 1.0
    seen = []
    for k in range(31):
        suite.observe(0.0, 0.0, k * DT_S)
        m = suite.reading("H2S")
        seen.append(m.value if m is not None else None)
    # updates at 0, 1, 2 and 3 s only: four distinct values, each held for a second
    assert len(set(seen)) == 4 and seen[1:10] == [seen[0]] * 9
    suite.observe(0.0, 0.0, 3.9)  # not due: still the reading of 3 s
    held = suite.reading("H2S")
    assert held is not None and held.value == seen[-1]
    suite.observe(0.0, 0.0, 3.9, now=True)  # an action reading between updates
    now = suite.reading("H2S")
    assert now is not None and now.value is not None and now.value > (seen[-1] or 0.0) + 1.0
    assert suite.t_s == 3.9


def test_a_robot_reading_right_after_arriving_lags_and_a_t90_dwell_does_not() -> None:
    def h2s_at_b(duration_s: float) -> float:
        h = Harness(environment=_EastH2S())
        gas = act("measureGas", "gas", duration_s=duration_s)
        h.send_order(make_order(["A", "B"], node_actions={1: [gas]}))
        h.step(round((12.0 + duration_s) / DT_S) + 20)
        result = json.loads(action_state(h.state, "gas").resultDescription or "")
        reading = result["readings"]["H2S"]
        assert reading["status"] == "ok" and reading["unit"] == "ppm"
        return float(reading["value"])

    # 5 s in the gas while driving from x = 5 to 10 m, then the dwell
    short, dwelled = h2s_at_b(1.0), h2s_at_b(30.0)
    assert short < 0.5 * 50.0
    assert dwelled > 0.9 * 50.0 - 1.0


def test_the_detector_is_warmed_up_when_the_robot_starts() -> None:
    suite = SensorSuite(CleanAir(), np.random.default_rng(2))
    suite.observe(0.0, 0.0, 0.0)
    o2 = suite.reading("O2")
    assert o2 is not None and o2.status == "ok"
    assert o2.value == pytest.approx(20.9, abs=0.3)


def test_faults_the_detector_knows_are_reported_and_stuck_looks_healthy() -> None:
    suite = SensorSuite(_Step("H2S", 20.0, onset_s=5.0), np.random.default_rng(3))
    run_suite(suite, 1.0)
    assert suite.inject("CO", "dropout", until_s=math.inf)
    assert suite.inject("LEL", "fault", until_s=3.0)
    assert suite.inject("H2S", "stuck", until_s=math.inf)
    run_suite(suite, 60.0, start_s=1.1)
    co, lel, h2s = suite.reading("CO"), suite.reading("LEL"), suite.reading("H2S")
    assert co is not None and (co.value, co.status) == (None, "dropout")
    assert lel is not None and lel.status == "ok"  # the fault ended at 3 s
    # stuck before the leak: it reads clean air for ever, and says it is fine
    assert h2s is not None and h2s.status == "ok" and h2s.value is not None
    assert abs(h2s.value) < 0.5
    assert suite.true_status("H2S") == "stuck"
    assert not suite.inject("CH4", "dropout", until_s=1.0)  # no cell measures CH4


def test_a_fault_in_the_robot_reaches_the_action_result() -> None:
    h = Harness()
    h.robot._instruments.sensors.inject("O2", "fault", until_s=math.inf)
    h.send_order(make_order(["A"], node_actions={0: [act("measureGas", "gas", duration_s=1)]}))
    h.step(30)
    result = json.loads(action_state(h.state, "gas").resultDescription or "")
    assert result["readings"]["O2"] == {"value": None, "unit": "%vol", "status": "fault"}
    assert result["readings"]["LEL"]["status"] == "ok"


def test_over_range_and_unmodelled_quantities_are_flagged() -> None:
    suite = SensorSuite(_Step("LEL", 150.0), np.random.default_rng(4))
    run_suite(suite, 120.0)
    lel = suite.reading("LEL")
    assert lel is not None and (lel.value, lel.status) == (100.0, "over_range")
    blind = SensorSuite(_Step("CO", None), np.random.default_rng(4))
    run_suite(blind, 1.0)
    co = blind.reading("CO")
    assert co is not None and (co.value, co.status) == (None, "unavailable")
    assert blind.reading("temperature") is None  # no cell: the robot's simple instrument


def test_cross_sensitivity_co_cell_sees_h2s() -> None:
    suite = SensorSuite(_Step("H2S", 100.0), np.random.default_rng(5))
    run_suite(suite, 150.0)
    co = suite.reading("CO")
    # generic CO cell: < 10 % of H2S, the bound is used
    assert co is not None and co.value == pytest.approx(10.0, abs=1.5)


def test_same_seed_same_readings() -> None:
    def series(seed: int) -> list[float | None]:
        suite = SensorSuite(_Step("H2S", 30.0, onset_s=1.0), np.random.default_rng(seed))
        out = []
        for k in range(100):
            suite.observe(0.0, 0.0, k * DT_S)
            m = suite.reading("H2S")
            out.append(m.value if m is not None else None)
        return out

    assert series(9) == series(9)
    assert series(9) != series(10)


SITE = SiteMap.model_validate(
    {
        "map_id": "m",
        "nodes": [{"id": "a", "x": 0.0, "y": 0.0}, {"id": "b", "x": 20.0, "y": 10.0}],
        "edges": [{"start": "a", "end": "b"}],
    }
)


def gamma_world() -> HazardWorld:
    source = RadiationSource(
        kind="radiation_source", nuclide="Cs-137", activity_gbq=1.0, x_m=10.0, y_m=5.0
    )
    return HazardWorld(SITE, WorldConfig(), [source], np.random.default_rng([0, 10_000]))


def test_dose_rate_comes_from_poisson_counts_in_a_world_with_sources() -> None:
    world = gamma_world()
    truth = world.sample("doseRate", 14.0, 5.0, 0.0)
    assert truth is not None
    rates = []
    for seed in range(30):
        suite = SensorSuite(world, np.random.default_rng(seed))
        assert suite.counts_radiation
        for k in range(101):
            suite.observe(14.0, 5.0, k * DT_S)
        rate = suite.dose_rate(10.0)
        assert rate is not None
        rates.append(rate)
    # counts over 10 s at 10 cps per µSv/h: N ~ Poisson(truth * 100); readings are
    # multiples of 1 / 100 µSv/h, scattered by sqrt(N)
    assert all(round(r * 100.0, 6).is_integer() for r in rates)
    assert np.mean(rates) == pytest.approx(truth, rel=0.05)
    assert np.std(rates) == pytest.approx(math.sqrt(truth * 100.0) / 100.0, rel=0.4)


def test_dose_rate_elsewhere_is_the_simple_instrument() -> None:
    suite = SensorSuite(CleanAir(), np.random.default_rng(0))
    suite.observe(0.0, 0.0, 0.0)
    assert not suite.counts_radiation
    assert suite.dose_rate(10.0) is None


def test_measure_dose_rate_action_counts_over_its_dwell() -> None:
    world = gamma_world()
    h = Harness(environment=world)
    h.send_order(
        make_order(["A"], node_actions={0: [act("measureDoseRate", "dose", duration_s=5.0)]})
    )
    h.step(80)
    result = json.loads(action_state(h.state, "dose").resultDescription or "")
    reading = result["readings"]["doseRate"]
    assert reading["unit"] == "µSv/h" and reading["status"] == "ok"
    # 5 s at 10 cps per µSv/h: multiples of 1/50 µSv/h
    assert round(reading["value"] * 50.0, 6).is_integer()
    truth = world.sample("doseRate", 0.0, 0.0, 0.0)
    assert truth is not None
    assert reading["value"] == pytest.approx(truth, abs=5 * math.sqrt(truth * 50.0) / 50.0)

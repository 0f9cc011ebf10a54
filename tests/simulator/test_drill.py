"""The foundation end to end: controller and simulated robots over a real broker.

Runs on every broker of the ``broker`` fixture (embedded Mosquitto, embedded amqtt, the
system Mosquitto where reachable).  A recorder client captures every message the drill
publishes on the standard topics; each must validate against the official schemas.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from drivers.bus import Message
from drivers.mqtt import MqttTransport
from drivers.vda5050 import Topic
from missions.mission import MissionOutcome
from simulator.drill import DrillResult, DrillRunner
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest, fast_settings
from tests.vda5050_schemas import SKIP_REASON, schema_errors, schemas_available

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "config" / "drills" / "default.yaml"

pytestmark = pytest.mark.broker


class Recorder:
    """A plain client subscribed to the whole drill's interface."""

    def __init__(self, broker: BrokerUnderTest, interface: str) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._t = MqttTransport(
            broker.host,
            broker.port,
            client_id=f"rec-{interface}",
            settings=fast_settings(broker.url),
        )
        self._t.connect()
        self._t.subscribe(f"{interface}/#", self._sink, qos=1)
        assert self._t.wait_subscribed(5.0)

    def _sink(self, m: Message) -> None:
        with self._lock:
            self.messages.append(m)

    def close(self) -> None:
        self._t.close()


def unique(scenario: Scenario) -> Scenario:
    """Own topics per test: the brokers are shared across the session."""
    return scenario.model_copy(update={"interface": f"t{uuid.uuid4().hex[:10]}"})


def run(scenario: Scenario, broker: BrokerUnderTest, seed: int = 0) -> DrillResult:
    runner = DrillRunner(
        scenario,
        broker.host,
        broker.port,
        broker_label=broker.url,
        seed=seed,
        speed=None,
        mqtt=fast_settings(broker.url),
    )
    return runner.run()


def test_default_drill_passes_and_every_message_is_valid(broker: BrokerUnderTest) -> None:
    scenario = unique(load_scenario(DEFAULT))
    rec = Recorder(broker, scenario.interface)
    try:
        result = run(scenario, broker)
    finally:
        rec.close()

    assert result.passed, result.failures
    assert {m.id: m.outcome for m in result.missions} == {
        "gas-survey-pump-bay": MissionOutcome.COMPLETED,
        "thermal-compressor": MissionOutcome.COMPLETED,
        "tank-round": MissionOutcome.COMPLETED,
    }
    survey = next(m for m in result.missions if m.id == "gas-survey-pump-bay")
    readings = json.loads(next(iter(survey.action_results.values())))["readings"]
    assert readings["O2"] == {"value": pytest.approx(20.9, abs=0.3), "unit": "%vol", "status": "ok"}
    # the robot-less mission went to whichever robot came free first: sim-02, at 30 s
    assert next(m for m in result.missions if m.id == "tank-round").robot == "sim-02"

    seen: dict[str, int] = {}
    versions_to_sim02: set[str] = set()
    for m in rec.messages:
        if "/hazfleet/" in m.topic:
            continue  # the heartbeat extension topic is checked in the controller's tests
        topic = Topic.parse(m.topic)
        if not m.payload:
            continue  # a retained message being cleared
        body = json.loads(m.payload)
        # camera and sensors are our extensions (docs/protocol.md), not VDA 5050 schemas
        if schemas_available() and topic.name not in ("camera", "sensors"):
            assert schema_errors(topic.name, body) == [], (m.topic, body)
        seen[topic.name] = seen.get(topic.name, 0) + 1
        assert body["timestamp"].endswith("Z")
        assert body["manufacturer"] == topic.manufacturer
        assert body["serialNumber"] == topic.serial
        if topic.serial == "sim-02" and topic.name in ("order", "instantActions"):
            versions_to_sim02.add(body["version"])
    assert {"order", "state", "connection", "factsheet"} <= set(seen)
    # the controller speaks to each robot in the version that robot announced
    assert versions_to_sim02 == {"2.0.0"}


@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
def test_schema_check_is_not_vacuous() -> None:
    bad = {
        "headerId": 0,
        "timestamp": "2026-01-01T00:00:00.00Z",
        "version": "2.1.0",
        "manufacturer": "m",
        "serialNumber": "s",
        "connectionState": "SLEEPY",
    }
    assert schema_errors("connection", bad)


def test_same_seed_same_outcome_on_embedded(broker: BrokerUnderTest) -> None:
    if broker.embedded is None:
        pytest.skip("determinism is checked on the embedded brokers")
    base = load_scenario(DEFAULT)
    a, b = run(unique(base), broker, seed=3), run(unique(base), broker, seed=3)
    assert a.sim_seconds == b.sim_seconds
    assert [(m.id, m.robot, m.outcome) for m in a.missions] == [
        (m.id, m.robot, m.outcome) for m in b.missions
    ]
    assert [m.action_results for m in a.missions] == [m.action_results for m in b.missions]
    assert [(r.serial, r.battery_pct, r.last_node_id) for r in a.robots] == [
        (r.serial, r.battery_pct, r.last_node_id) for r in b.robots
    ]


def test_failed_action_is_reported_and_an_unmet_expectation_fails_the_drill(
    broker: BrokerUnderTest,
) -> None:
    if broker.kind != "mosquitto" or broker.embedded is None:
        pytest.skip("outcome logic is broker-independent; run once on embedded Mosquitto")
    data = load_scenario(DEFAULT).model_dump()
    data["missions"] = [
        {
            "id": "leak-check",
            "robot": "sim-01",
            "expect": "failed",
            "steps": [
                {
                    "node": "pump-p101",
                    "actions": [{"type": "measureGas", "params": {"simulateFailure": True}}],
                }
            ],
        },
        {
            "id": "tank-check",
            "robot": "sim-02",
            "expect": "failed",  # will complete
            "steps": [{"node": "tank-t3"}],
        },
    ]
    result = run(unique(Scenario.model_validate(data)), broker)
    outcomes = {m.id: m.outcome for m in result.missions}
    assert outcomes == {"leak-check": MissionOutcome.FAILED, "tank-check": MissionOutcome.COMPLETED}
    leak = next(m for m in result.missions if m.id == "leak-check")
    assert leak.reason and "measureGas" in leak.reason
    assert not result.passed
    assert result.failures == [
        "mission tank-check: completed, expected failed (reached 'tank-t3', all actions finished)"
    ]
    summary = result.summary()
    assert summary["passed"] is False
    assert [m["outcome"] for m in summary["missions"]] == ["failed", "completed"]


def test_timeout_fails_the_drill(broker: BrokerUnderTest) -> None:
    if broker.kind != "mosquitto" or broker.embedded is None:
        pytest.skip("run once on embedded Mosquitto")
    data = load_scenario(DEFAULT).model_dump()
    data["success"] = {"timeout_s": 5}
    result = run(unique(Scenario.model_validate(data)), broker)
    assert not result.passed
    assert any("did not end within 5 simulated s" in f for f in result.failures)
    assert result.sim_seconds == pytest.approx(5.0)


@pytest.mark.parametrize("processes", [1, 2])
def test_a_drill_leaves_no_retained_message_behind(
    broker: BrokerUnderTest, transport_factory: Any, processes: int
) -> None:
    if broker.embedded is None and processes == 2:
        pytest.skip("workers are checked on the embedded brokers")
    scenario = unique(load_scenario(DEFAULT))
    runner = DrillRunner(
        scenario,
        broker.host,
        broker.port,
        broker_label=broker.url,
        mqtt=fast_settings(broker.url),
        processes=processes,
    )
    assert runner.run().passed
    left: list[Message] = []
    got = threading.Event()

    def sink(m: Message) -> None:
        if m.payload:
            left.append(m)
            got.set()

    probe = transport_factory("probe")
    probe.subscribe(f"{scenario.interface}/#", sink, 1)
    assert probe.wait_subscribed(5.0)
    got.wait(0.5)  # retained messages come right after the SUBACK
    if broker.kind == "amqtt":
        # amqtt 0.12.1 now and then publishes the last will of a client that sent
        # DISCONNECT (cf. Yakifo/amqtt#199): the controller's CONNECTIONBROKEN beat
        left = [m for m in left if b'"CONNECTIONBROKEN"' not in m.payload]
    assert left == [], [m.topic for m in left]


def test_a_drill_runs_with_fewer_collector_passes_and_restores_them(
    broker: BrokerUnderTest,
) -> None:
    import gc

    from drivers.gc_policy import THRESHOLDS
    from tests.simulator.drill_harness import embedded_drill

    seen: list[tuple[int, ...]] = []
    runner = embedded_drill(
        load_scenario(DEFAULT),
        broker,
        "GC policy",
        on_progress=lambda p: seen.append(gc.get_threshold()),
    )
    before = gc.get_threshold()
    assert runner.run().passed
    assert seen and set(seen) == {THRESHOLDS}
    assert gc.get_threshold() == before


def test_a_drill_does_its_network_io_on_its_own_thread(broker: BrokerUnderTest) -> None:
    """Every connection of the drill's process is pumped by the drill (drivers.mqtt_pump):
    no network thread per connection, and the drill still passes on this broker."""
    seen: list[list[str]] = []
    runner = DrillRunner(
        unique(load_scenario(DEFAULT)),
        broker.host,
        broker.port,
        broker_label=broker.url,
        mqtt=fast_settings(broker.url),
        on_progress=lambda p: seen.append(
            [t.name for t in threading.enumerate() if t.name.startswith("mqtt-")]
        ),
    )
    assert runner.run().passed
    assert seen and all(names == [] for names in seen)
    assert runner.pump.members == 0  # every connection closed and left the pump

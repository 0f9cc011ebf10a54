"""SimRobot on the wire: schema validity of everything it publishes, and its last will."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

import simulator.robot as robot_module
import simulator.robot_wire as wire
from drivers.bus import InMemoryBus, Message
from drivers.vda5050.codec import decode, encode
from drivers.vda5050.messages import Connection, ConnectionState, Factsheet, State
from drivers.vda5050.topics import TopicName
from missions.clock import FakeClock
from simulator.robot import SimRobot, robot_will
from simulator.robot_spec import SimRobotSpec
from tests.simulator.harness import SITE, Harness, act, make_order
from tests.vda5050_schemas import SKIP_REASON, schema_errors, schemas_available


def test_robot_will_is_connection_broken_retained_qos1() -> None:
    spec = SimRobotSpec("acme", "r1", "A", version="2.0.0")
    will = robot_will(spec, "uagv", FakeClock())
    assert will.topic == "uagv/v2/acme/r1/connection"
    assert (will.qos, will.retain) == (1, True)
    conn = decode(Connection, will.payload, source=will.topic)
    assert conn.connectionState is ConnectionState.CONNECTIONBROKEN
    assert (conn.manufacturer, conn.serialNumber, conn.version) == ("acme", "r1", "2.0.0")


def test_will_is_sent_when_the_robot_vanishes() -> None:
    bus = InMemoryBus()
    clock = FakeClock()
    spec = SimRobotSpec("acme", "r1", "A")
    client = bus.client(robot_will(spec, "uagv", clock))
    robot = SimRobot(spec, SITE, client, clock)
    robot.start()
    client.vanish()
    last = [m for m in bus.published if m.topic.endswith("/connection")][-1]
    assert decode(Connection, last.payload, source="t").connectionState is (
        ConnectionState.CONNECTIONBROKEN
    )
    assert last.retain


def test_factsheet_describes_actions_with_parameters() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "A", max_speed_m_s=1.5, actions=("measureGas", "pick")))
    (fs,) = h.factsheets()
    actions = {a.actionType: a for a in fs.protocolFeatures.agvActions}
    assert set(actions) == {
        "startPause",
        "stopPause",
        "cancelOrder",
        "factsheetRequest",
        "stateRequest",
        "measureGas",
        "pick",
    }
    gas = actions["measureGas"]
    assert {p.key for p in gas.actionParameters or []} == {"duration_s", "simulateFailure"}
    assert gas.resultDescription
    assert set(gas.actionScopes) == {"INSTANT", "NODE", "EDGE"}
    assert actions["cancelOrder"].actionScopes == ["INSTANT"]
    assert fs.physicalParameters.speedMax == 1.5
    assert fs.typeSpecification.agvKinematic == "DIFF"
    assert fs.protocolLimits.timing.defaultStateInterval == 1.0


def test_robot_without_an_action_rejects_it() -> None:
    h = Harness(SimRobotSpec("acme", "r1", "A", actions=("captureImage",)))
    h.send_order(make_order(["A"], node_actions={0: [act("measureGas", "g")]}))
    h.step()
    assert [e.errorType for e in h.state.errors] == ["orderError"]


def _payloads(messages: list[Message]) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in messages]


def _busy_robot(h: Harness) -> None:
    """Errors, an order with actions that run, pause, finish and fail, a factsheet
    request, a bad order, a goodbye."""
    h.send_instant(act("cancelOrder", "c0", "NONE"))  # noOrderToCancel error with references
    h.send_order(
        make_order(
            ["A", "B", "C"],
            released=2,
            node_actions={
                0: [act("measureGas", "g", "NONE", duration_s=5)],
                1: [
                    act("atmosphericTest", "at", duration_s=1),
                    act("captureImage", "img", simulateFailure=True),
                ],
            },
        )
    )
    h.step(30)
    h.send_instant(act("startPause", "p", "NONE"))
    h.step(5)
    h.send_instant(act("stopPause", "p2", "NONE"), act("factsheetRequest", "f", "NONE"))
    h.step(150)
    h.send_order(b"garbage")
    h.step()
    h.robot.shutdown()


@pytest.mark.schemas
@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
def test_everything_published_is_schema_valid() -> None:
    h = Harness(visualization_interval_s=0.5)
    _busy_robot(h)
    checked: dict[str, int] = {}
    robot_topics = (
        TopicName.STATE,
        TopicName.CONNECTION,
        TopicName.FACTSHEET,
        TopicName.VISUALIZATION,
    )
    for name in robot_topics:
        for payload in _payloads(h.published(name)):
            assert schema_errors(name.value, payload) == [], (name.value, payload)
            checked[name.value] = checked.get(name.value, 0) + 1
    assert {"state", "connection", "factsheet", "visualization"} <= set(checked)
    statuses = {
        a["actionStatus"]
        for p in _payloads(h.published(TopicName.STATE))
        for a in p["actionStates"]
    }
    assert {"WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED"} <= statuses


def test_a_state_built_with_kept_lists_is_the_state_built_from_scratch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A robot keeps its validated node, edge, action and error states while they do not
    change; every state it sends must be byte for byte the one built from scratch."""
    built: list[tuple[bytes, bytes, State]] = []

    def both(*args: Any) -> State:
        kept = wire.build_state(*args)
        fresh = wire.build_state(*args[:4])
        built.append((encode(kept), encode(fresh), kept))
        return kept

    monkeypatch.setattr(robot_module, "build_state", both)
    _busy_robot(Harness(visualization_interval_s=0.5))
    assert len(built) > 20
    assert [k for k, _f, _s in built] == [f for _k, f, _s in built]
    pairs = list(itertools.pairwise(built))
    # the models of an unchanged list are the very ones sent before, else new ones
    kept = [
        a[2].actionStates[0] is b[2].actionStates[0]
        for a, b in pairs
        if a[2].actionStates and b[2].actionStates
    ]
    assert any(kept) and not all(kept)
    assert {len(s.nodeStates) for _k, _f, s in built} >= {0, 1, 2}
    assert any(s.errors for _k, _f, s in built)


@pytest.mark.schemas
@pytest.mark.skipif(not schemas_available(), reason=SKIP_REASON)
def test_factsheet_of_a_custom_robot_is_schema_valid() -> None:
    spec = SimRobotSpec("acme", "r9", "A", actions=("pick", "drop", "measureGas"))
    h = Harness(spec)
    (msg,) = h.published(TopicName.FACTSHEET)
    assert schema_errors("factsheet", json.loads(msg.payload)) == []
    decode(Factsheet, msg.payload, source=msg.topic)

"""VDA 5050 message models and the codec: round trips, tolerance, strictness, errors."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.errors import ProtocolError
from drivers.vda5050 import (
    DEFAULT_VERSION,
    MODEL_FOR_TOPIC,
    SUPPORTED_VERSIONS,
    Action,
    ActionParameter,
    ActionStatus,
    AgvKinematic,
    BlockingType,
    Connection,
    ConnectionState,
    Factsheet,
    HeaderCounter,
    InfoLevel,
    InstantActions,
    MaxArrayLens,
    Node,
    Order,
    State,
    TopicName,
    VdaMessage,
    decode,
    encode,
    format_timestamp,
    has_unknown_fields,
    is_supported_version,
    parse_timestamp,
    unknown_fields,
)
from tests import vda5050_samples as samples

TOPICS = [t.value for t in TopicName]
SOURCE = "uagv/v2/hazfleet/RB-0001/state"


def _decode_dict(model: type[VdaMessage], data: dict[str, Any]) -> VdaMessage:
    return decode(model, samples.json_bytes(data), source=SOURCE)


def _protocol_error(model: type[VdaMessage], data: dict[str, Any] | bytes) -> ProtocolError:
    payload = data if isinstance(data, bytes) else samples.json_bytes(data)
    with pytest.raises(ProtocolError) as info:
        decode(model, payload, source=SOURCE)
    return info.value


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("topic", TOPICS)
def test_encode_decode_round_trip(topic: str) -> None:
    model = MODEL_FOR_TOPIC[TopicName(topic)]
    msgs = [samples.minimal(topic), samples.maximal(topic), *samples.generated(topic, 20)]
    for msg in msgs:
        assert isinstance(msg, model)
        again = decode(model, encode(msg), source=SOURCE)
        assert again == msg
        assert encode(again) == encode(msg)


def test_encode_is_compact_json_without_nulls() -> None:
    payload = encode(samples.minimal("order"))
    assert b" " not in payload
    assert b"null" not in payload
    data = json.loads(payload)
    assert "zoneSetId" not in data
    assert data["nodes"][0] == {"nodeId": "dock", "sequenceId": 0, "released": True, "actions": []}


def test_dump_uses_exact_json_field_names() -> None:
    dumped = samples.maximal("state").model_dump(mode="json", exclude_none=True)
    assert samples.maximal_dict("state").keys() == dumped.keys()
    assert dumped["actionStates"][0]["actionStatus"] == "PAUSED"
    assert dumped["safetyState"] == {"eStop": "AUTOACK", "fieldViolation": True}


def test_maximal_dump_equals_its_source_json() -> None:
    # Every field of the maximal samples survives validation and dumping unchanged.
    for topic in TOPICS:
        source = json.loads(samples.json_bytes(samples.maximal_dict(topic)))
        dumped = json.loads(encode(samples.maximal(topic)))
        assert dumped == source, topic


def test_models_are_frozen() -> None:
    order = samples.minimal("order")
    assert isinstance(order, Order)
    with pytest.raises(ValidationError):
        order.orderId = "other"  # type: ignore[misc]


def test_build_from_python_with_enums_or_strings() -> None:
    a = Action(actionType="pick", actionId="a1", blockingType=BlockingType.HARD)
    b = Action(actionType="pick", actionId="a1", blockingType="HARD")
    assert a == b
    assert a.blockingType is BlockingType.HARD
    assert a.actionParameters == []


def test_action_parameter_values_keep_their_json_type() -> None:
    values: list[Any] = [10, 103.2, "left", True, ["a", 1], {"k": [1.5, None]}]
    for value in values:
        param = ActionParameter.model_validate({"key": "k", "value": value})
        assert param.value == value
        assert type(param.value) is type(value)
        assert json.loads(param.model_dump_json())["value"] == value


def test_max_array_lens_uses_dotted_json_keys() -> None:
    lens = MaxArrayLens.model_validate({"order.nodes": 5, "state.errors": 2})
    assert lens.order_nodes == 5
    assert lens.model_dump(exclude_none=True) == {"order.nodes": 5, "state.errors": 2}
    assert MaxArrayLens(order_edges=3).model_dump(exclude_none=True) == {"order.edges": 3}


# --------------------------------------------------------------------------- tolerance


def test_unknown_fields_are_kept_and_listed() -> None:
    data = samples.maximal_dict("order")
    data["vendorPriority"] = 3
    data["nodes"][1]["nodePosition"]["floorName"] = "B2"
    data["nodes"][1]["actions"][0]["vendorFlag"] = {"x": 1}
    order = _decode_dict(Order, data)
    assert sorted(unknown_fields(order)) == [
        "nodes.1.actions.0.vendorFlag",
        "nodes.1.nodePosition.floorName",
        "vendorPriority",
    ]
    assert json.loads(encode(order))["nodes"][1]["nodePosition"]["floorName"] == "B2"


def test_unknown_fields_without_indices_are_deduplicated() -> None:
    data = samples.minimal_dict("state")
    data["actionStates"] = [
        {"actionId": f"a{i}", "actionStatus": "RUNNING", "progress": i} for i in range(3)
    ]
    state = _decode_dict(State, data)
    assert unknown_fields(state, indices=False) == ["actionStates.*.progress"]
    assert len(unknown_fields(state)) == 3


def test_samples_have_no_unknown_fields() -> None:
    for topic in TOPICS:
        assert unknown_fields(samples.maximal(topic)) == [], topic


def test_has_unknown_fields_agrees_with_the_listed_paths() -> None:
    # standard messages, the fullest and the barest, hold none ...
    for topic in TOPICS:
        for msg in (samples.maximal(topic), samples.minimal(topic)):
            assert not has_unknown_fields(msg), topic
    # ... free-form JSON values (action parameters) are not unknown fields ...
    data = samples.maximal_dict("state")
    data["errors"][0]["errorDescription"] = 'note: {"vendorFlag": 1}'
    assert not has_unknown_fields(_decode_dict(State, data))
    # ... a vendor field anywhere in the tree is found: top level, a list item's
    # nested model, an item of the second list entry
    for where in ("top", "node position", "second action"):
        data = samples.maximal_dict("order" if where != "top" else "state")
        if where == "top":
            data["vendorFlag"] = 1
            msg = _decode_dict(State, data)
        elif where == "node position":
            data["nodes"][-1]["nodePosition"]["vendorFlag"] = {"x": 1}
            msg = _decode_dict(Order, data)
        else:
            data["nodes"][1]["actions"].append(dict(data["nodes"][1]["actions"][0]))
            data["nodes"][1]["actions"][1]["actionId"] = "other"
            data["nodes"][1]["actions"][1]["vendorFlag"] = True
            msg = _decode_dict(Order, data)
        assert has_unknown_fields(msg), where
        assert unknown_fields(msg), where


def test_missing_optional_fields_default_to_none_or_empty_list() -> None:
    state = samples.minimal("state")
    assert isinstance(state, State)
    assert state.agvPosition is None
    assert state.paused is None
    assert state.loads is None  # absent = load state unknown, not "unloaded"
    assert state.maps is None
    assert state.information == []
    action = Action.model_validate({"actionType": "x", "actionId": "1", "blockingType": "NONE"})
    assert action.actionDescription is None
    assert action.actionParameters == []


def test_empty_loads_differs_from_absent_loads() -> None:
    data = {**samples.minimal_dict("state"), "loads": []}
    state = _decode_dict(State, data)
    assert isinstance(state, State)
    assert state.loads == []
    assert json.loads(encode(state))["loads"] == []


def test_paused_action_status_is_accepted() -> None:
    data = samples.minimal_dict("state")
    data["actionStates"] = [{"actionId": "a1", "actionStatus": "PAUSED"}]
    state = _decode_dict(State, data)
    assert isinstance(state, State)
    assert state.actionStates[0].actionStatus is ActionStatus.PAUSED


def test_tolerant_enums_keep_unknown_values_as_strings() -> None:
    data = samples.minimal_dict("state")
    data["information"] = [{"infoType": "t", "infoLevel": "TRACE"}]
    data["maps"] = [{"mapId": "m", "mapVersion": "1", "mapStatus": "DOWNLOADING"}]
    state = _decode_dict(State, data)
    assert isinstance(state, State)
    assert state.information[0].infoLevel == "TRACE"
    assert not isinstance(state.information[0].infoLevel, InfoLevel)
    assert state.maps is not None and state.maps[0].mapStatus == "DOWNLOADING"
    assert json.loads(encode(state))["information"][0]["infoLevel"] == "TRACE"

    known = _decode_dict(State, {**data, "information": [{"infoType": "t", "infoLevel": "INFO"}]})
    assert isinstance(known, State)
    assert known.information[0].infoLevel is InfoLevel.INFO

    sheet = samples.minimal_dict("factsheet")
    sheet["typeSpecification"]["agvKinematic"] = "ACKERMANN"
    sheet["typeSpecification"]["navigationTypes"] = ["AUTONOMOUS", "MAGIC"]
    fs = _decode_dict(Factsheet, sheet)
    assert isinstance(fs, Factsheet)
    assert fs.typeSpecification.agvKinematic == "ACKERMANN"
    assert fs.typeSpecification.navigationTypes[1] == "MAGIC"
    assert samples.minimal("factsheet").typeSpecification.agvKinematic is AgvKinematic.DIFF  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("actionStates.0.actionStatus", "DONE"),
        ("errors.0.errorLevel", "CRITICAL"),
        ("safetyState.eStop", "SOFT"),
        ("operatingMode", "REMOTE"),
    ],
)
def test_strict_state_enums_reject_unknown_values(path: str, value: str) -> None:
    data = samples.maximal_dict("state")
    target: Any = data
    parts = path.split(".")
    for p in parts[:-1]:
        target = target[int(p)] if p.isdigit() else target[p]
    target[parts[-1]] = value
    err = _protocol_error(State, data)
    assert err.field == path
    assert repr(value) in err.problem


def test_strict_blocking_type_and_connection_state() -> None:
    data = samples.minimal_dict("instantActions")
    data["actions"] = [{"actionType": "x", "actionId": "1", "blockingType": "MEDIUM"}]
    assert _protocol_error(InstantActions, data).field == "actions.0.blockingType"
    conn = {**samples.minimal_dict("connection"), "connectionState": "DISCONNECTED"}
    assert _protocol_error(Connection, conn).field == "connectionState"
    ok = _decode_dict(Connection, {**conn, "connectionState": "CONNECTIONBROKEN"})
    assert isinstance(ok, Connection)
    assert ok.connectionState is ConnectionState.CONNECTIONBROKEN


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("driving", "true"),  # boolean as string
        ("driving", 1),
        ("headerId", 2**32),  # uint32 overflow
        ("headerId", -1),
        ("headerId", 1.5),
        ("orderUpdateId", "3"),
        ("lastNodeId", 7),
    ],
)
def test_scalars_are_strict(field: str, value: Any) -> None:
    data = {**samples.minimal_dict("state"), field: value}
    assert _protocol_error(State, data).field == field


def test_ranges_are_enforced() -> None:
    order = samples.maximal_dict("order")
    order["nodes"][1]["nodePosition"]["allowedDeviationTheta"] = -0.1  # document: [0, pi]
    assert _protocol_error(Order, order).field == "nodes.1.nodePosition.allowedDeviationTheta"
    order = samples.maximal_dict("order")
    order["edges"][0]["trajectory"]["knotVector"][3] = 1.5
    assert _protocol_error(Order, order).field == "edges.0.trajectory.knotVector.3"
    state = samples.maximal_dict("state")
    state["agvPosition"]["localizationScore"] = 1.01
    assert _protocol_error(State, state).field == "agvPosition.localizationScore"


def test_nan_and_infinity_are_rejected() -> None:
    payload = samples.json_bytes(samples.minimal_dict("state")).replace(
        b'"batteryCharge":80.0', b'"batteryCharge":NaN'
    )
    assert b"NaN" in payload
    assert "NaN" in _protocol_error(State, payload).problem
    with pytest.raises(ValidationError):
        State.model_validate(
            {
                **samples.minimal_dict("state"),
                "batteryState": {"batteryCharge": math.inf, "charging": False},
            }
        )


# --------------------------------------------------------------------------- errors


def test_protocol_error_names_the_nested_field_path() -> None:
    order = samples.maximal_dict("order")
    order["nodes"].append({**order["nodes"][1], "sequenceId": 4})
    order["nodes"][2]["nodePosition"] = {**order["nodes"][2]["nodePosition"], "x": "far"}
    err = _protocol_error(Order, order)
    assert err.topic == SOURCE
    assert err.field == "nodes.2.nodePosition.x"
    assert "valid number" in err.problem and "'far'" in err.problem
    assert str(err).startswith(f"{SOURCE}: nodes.2.nodePosition.x: ")


def test_protocol_error_for_missing_nested_field() -> None:
    order = samples.maximal_dict("order")
    del order["edges"][0]["endNodeId"]
    err = _protocol_error(Order, order)
    assert err.field == "edges.0.endNodeId"
    assert err.problem == "required field is missing"


def test_protocol_error_for_union_value_lists_alternatives() -> None:
    data = samples.minimal_dict("instantActions")
    data["actions"] = [
        {
            "actionType": "x",
            "actionId": "1",
            "blockingType": "NONE",
            "actionParameters": [{"key": "k", "value": None}],
        }
    ]
    err = _protocol_error(InstantActions, data)
    assert err.field == "actions.0.actionParameters.0.value"
    assert err.problem.startswith("null matches none of the allowed forms")


def test_protocol_error_mentions_further_bad_fields() -> None:
    err = _protocol_error(Connection, {"headerId": 1})
    assert err.field == "timestamp"
    assert "and 4 more field(s)" in err.problem


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"", "payload is empty"),
        (b"{not json", "payload is not valid JSON"),
        (b"\xff\xfe", "payload is not UTF-8"),
        (b"[1, 2]", "payload must be a JSON object, got an array"),
        (b'"ONLINE"', "payload must be a JSON object, got a string"),
        (b"null", "payload must be a JSON object, got null"),
    ],
)
def test_protocol_error_for_non_object_payloads(payload: bytes, problem: str) -> None:
    err = _protocol_error(Connection, payload)
    assert err.field == ""
    assert err.problem.startswith(problem)
    assert err.topic == SOURCE


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("epoch_s", "text"),
    [
        (1492256403.12, "2017-04-15T11:40:03.12Z"),
        (0.0, "1970-01-01T00:00:00.00Z"),
        (1492256403.0, "2017-04-15T11:40:03.00Z"),
        (1492256403.999, "2017-04-15T11:40:04.00Z"),  # rounds into the next second
        (1492256403.005001, "2017-04-15T11:40:03.01Z"),
        (951782400.5, "2000-02-29T00:00:00.50Z"),
    ],
)
def test_format_timestamp_is_exact(epoch_s: float, text: str) -> None:
    assert format_timestamp(epoch_s) == text


@pytest.mark.parametrize(
    ("text", "epoch_s"),
    [
        ("2017-04-15T11:40:03.12Z", 1492256403.12),
        ("2017-04-15T11:40:03Z", 1492256403.0),
        ("2017-04-15T11:40:03.1Z", 1492256403.1),
        ("2017-04-15T11:40:03.123456789Z", 1492256403.123456789),
        ("2017-04-15T13:40:03.12+02:00", 1492256403.12),
        ("2017-04-15T06:40:03.12-0500", 1492256403.12),
        ("2017-04-15T12:40:03,12+01", 1492256403.12),
        ("2017-04-15t11:40:03.12z", 1492256403.12),
        ("2017-04-15 11:40:03.12+00:00", 1492256403.12),
    ],
)
def test_parse_timestamp_is_tolerant(text: str, epoch_s: float) -> None:
    assert parse_timestamp(text) == pytest.approx(epoch_s, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2017-04-15T11:40:03.12", "no time zone"),
        ("15.04.2017 11:40", "not ISO 8601"),
        ("2017-13-15T11:40:03Z", "not a valid date/time"),
        ("2017-04-15T11:40:03+25:00", "out-of-range UTC offset"),
        ("", "not ISO 8601"),
    ],
)
def test_parse_timestamp_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_timestamp(text)


def test_timestamp_round_trip() -> None:
    for epoch_s in (0.0, 1.23, 1492256403.12, 4.0e9 + 0.99):
        assert parse_timestamp(format_timestamp(epoch_s)) == pytest.approx(epoch_s, abs=0.005)


# --------------------------------------------------------------------------- header ids


def test_header_counter_counts_per_topic() -> None:
    counter = HeaderCounter()
    assert [counter.next("state") for _ in range(3)] == [0, 1, 2]
    assert counter.next("order") == 0
    assert counter.next("state") == 3
    assert counter.peek("state") == 4
    assert counter.peek("visualization") == 0


def test_header_counter_wraps_at_uint32() -> None:
    counter = HeaderCounter()
    counter._next["state"] = 2**32 - 1  # white box: avoid 4 billion calls
    assert counter.next("state") == 2**32 - 1
    assert counter.next("state") == 0


def test_header_counter_is_thread_safe() -> None:
    counter = HeaderCounter()
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [counter.next("state") for _ in range(2000)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(16000))


# --------------------------------------------------------------------------- versions


def test_versions() -> None:
    assert DEFAULT_VERSION == "2.1.0"
    assert SUPPORTED_VERSIONS == ("2.0.0", "2.1.0")
    assert is_supported_version("2.1.0")
    assert is_supported_version("2.0.0")
    assert is_supported_version("2.1.3")
    assert not is_supported_version("2.2.0")
    assert not is_supported_version("1.1.0")
    assert not is_supported_version("3.0.0")
    assert not is_supported_version("2.1")


def test_node_requires_its_actions_array() -> None:
    with pytest.raises(ValidationError):
        Node.model_validate({"nodeId": "n", "sequenceId": 0, "released": True})


def test_controller_heartbeat_model_is_tolerant_of_new_fields_strict_on_state() -> None:
    from drivers.errors import ProtocolError
    from drivers.vda5050.codec import decode
    from drivers.vda5050.heartbeat import Heartbeat, heartbeat_filter, heartbeat_topic

    beat = decode(
        Heartbeat,
        b'{"headerId": 1, "timestamp": "2026-01-01T00:00:00.00Z", "version": "2.1.0",'
        b' "controllerId": "c1", "connectionState": "ONLINE", "future": true}',
        source="t",
    )
    assert beat.intervalMs == 1000 and beat.connectionState == "ONLINE"
    with pytest.raises(ProtocolError) as err:
        decode(Heartbeat, beat.model_dump_json().replace("ONLINE", "SLEEPY").encode(), source="t")
    assert err.value.field == "connectionState"
    assert heartbeat_topic("uagv", "c1") == "uagv/hazfleet/c1/heartbeat"
    assert heartbeat_filter("uagv") == "uagv/hazfleet/+/heartbeat"

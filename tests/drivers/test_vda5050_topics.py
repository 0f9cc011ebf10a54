"""VDA 5050 topics: layout, parsing, filters, and the QoS/retain contract."""

from __future__ import annotations

import pytest

from drivers.bus import topic_matches
from drivers.errors import ProtocolError
from drivers.vda5050 import (
    MODEL_FOR_TOPIC,
    TOPIC_QOS_RETAIN,
    Connection,
    Factsheet,
    InstantActions,
    Order,
    State,
    Topic,
    TopicName,
    Visualization,
    qos_retain,
)


def test_topic_string_layout() -> None:
    topic = Topic("uagv", "KIT", "0001", TopicName.ORDER)
    assert str(topic) == "uagv/v2/KIT/0001/order"
    assert str(Topic("hz", "ACME", "rb:1", "state", major="v3")) == "hz/v3/ACME/rb:1/state"


def test_parse_round_trip() -> None:
    text = "uagv/v2/ACME-Robotics/SN_0001.a:b/instantActions"
    topic = Topic.parse(text)
    assert topic == Topic("uagv", "ACME-Robotics", "SN_0001.a:b", "instantActions")
    assert str(topic) == text
    assert topic.kind is TopicName.INSTANT_ACTIONS


def test_extension_topics_parse_without_a_kind() -> None:
    topic = Topic.parse("hazfleet/v2/hazfleet/ctl-1/heartbeat")
    assert topic.kind is None
    assert topic.sibling("state").kind is TopicName.STATE


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("uagv/v2/KIT/0001", "expected 5 levels"),
        ("uagv/v2/KIT/0001/order/extra", "expected 5 levels"),
        ("uagv/v2/KIT/00 01/order", "serial number"),
        ("uagv/v2/KIT/0001#/order", "serial number"),
        ("uagv/v2/KIT/+/order", "serial number"),
        ("uagv/v2/KIT/ümlaut/order", "serial number"),
        ("uagv/v2/K$T/0001/order", "manufacturer"),
        ("uagv/v2//0001/order", "manufacturer"),
        ("uagv/v2/KIT/0001/", "topic name"),
        ("uagv/v2/KIT/0001/st+ate", "topic name"),
        ("$SYS/v2/KIT/0001/order", "interface"),
        ("uagv/2/KIT/0001/order", "major version"),
    ],
)
def test_parse_rejects_bad_topics(text: str, problem: str) -> None:
    with pytest.raises(ProtocolError) as info:
        Topic.parse(text)
    assert info.value.topic == text
    assert problem in info.value.problem


def test_constructing_an_illegal_topic_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="serial number"):
        Topic("uagv", "KIT", "a/b", "state")


def test_filter_defaults_to_all_vehicles() -> None:
    pattern = Topic.filter("uagv", TopicName.STATE)
    assert pattern == "uagv/v2/+/+/state"
    assert topic_matches(pattern, "uagv/v2/KIT/0001/state")
    assert not topic_matches(pattern, "uagv/v2/KIT/0001/order")
    one = Topic.filter("uagv", "connection", manufacturer="KIT", serial="0001")
    assert one == "uagv/v2/KIT/0001/connection"
    assert topic_matches(one, str(Topic.parse(one)))


def test_filter_rejects_illegal_levels() -> None:
    with pytest.raises(ValueError):
        Topic.filter("uagv", "state", serial="a b")
    with pytest.raises(ValueError):
        Topic.filter("ua/gv", "state")


def test_qos_and_retain_per_standard() -> None:
    assert TOPIC_QOS_RETAIN == {
        TopicName.ORDER: (0, False),
        TopicName.INSTANT_ACTIONS: (0, False),
        TopicName.STATE: (0, False),
        TopicName.VISUALIZATION: (0, False),
        TopicName.CONNECTION: (1, True),
        TopicName.FACTSHEET: (0, True),
    }
    assert qos_retain("connection") == (1, True)
    assert qos_retain("heartbeat") == (0, False)


def test_model_for_each_topic() -> None:
    expected = {
        TopicName.ORDER: Order,
        TopicName.INSTANT_ACTIONS: InstantActions,
        TopicName.STATE: State,
        TopicName.VISUALIZATION: Visualization,
        TopicName.CONNECTION: Connection,
        TopicName.FACTSHEET: Factsheet,
    }
    assert expected == MODEL_FOR_TOPIC


def test_topic_names_are_the_wire_strings() -> None:
    assert [str(t) for t in TopicName] == [
        "order",
        "instantActions",
        "state",
        "visualization",
        "connection",
        "factsheet",
    ]
    assert TopicName("instantActions") is TopicName.INSTANT_ACTIONS
    assert TopicName("factsheet") is TopicName.FACTSHEET

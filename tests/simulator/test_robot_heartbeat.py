"""The robot's heartbeat parsing: one decode per distinct payload, errors unchanged."""

from __future__ import annotations

import json

import pytest

from drivers.errors import ProtocolError
from drivers.vda5050.messages import ConnectionState
from simulator.robot_heartbeat import parse_beat

TOPIC = "fleet/hazfleet/ctl-1/heartbeat"


def beat(header_id: int, state: str = "ONLINE") -> bytes:
    return json.dumps(
        {
            "headerId": header_id,
            "timestamp": "2026-12-03T12:00:00.00Z",
            "version": "2.1.0",
            "controllerId": "ctl-1",
            "connectionState": state,
            "intervalMs": 1000,
        }
    ).encode()


def test_robots_of_one_process_share_the_decode_of_one_beat() -> None:
    first = parse_beat(beat(7), source=TOPIC)
    again = parse_beat(beat(7), source="another robot's subscription")
    assert again is first  # frozen, so sharing it is safe
    later = parse_beat(beat(8, "OFFLINE"), source=TOPIC)
    assert later.headerId == 8 and later.connectionState is ConnectionState.OFFLINE
    assert parse_beat(beat(7), source=TOPIC).headerId == 7  # not the cached 8


def test_a_bad_beat_is_refused_naming_its_source_even_after_a_good_one() -> None:
    parse_beat(beat(9), source=TOPIC)
    bad = beat(9).replace(b'"ONLINE"', b'"ASLEEP"')
    with pytest.raises(ProtocolError, match="connectionState") as info:
        parse_beat(bad, source=TOPIC)
    assert TOPIC in str(info.value)
    with pytest.raises(ProtocolError):
        parse_beat(bad, source=TOPIC)  # a failure is never cached

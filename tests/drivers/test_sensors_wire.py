"""The sensors extension topic: what a good message carries, what is refused whole and
what is dropped reading by reading (docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drivers.errors import ProtocolError
from drivers.vda5050.sensors import (
    SensorReading,
    decode_readings,
    encode_readings,
    sensors_topic,
)

HEADER = {
    "headerId": 7,
    "timestamp": "2026-11-26T10:00:00.00Z",
    "version": "2.1.0",
    "manufacturer": "acme",
    "serialNumber": "R1",
}


def body(readings: list[Any], **extra: Any) -> bytes:
    return json.dumps(
        {**HEADER, "mapId": "m", "x": 1.5, "y": -2.0, "readings": readings} | extra
    ).encode()


def test_round_trip() -> None:
    readings = [
        SensorReading("O2", 20.9, "%vol", "ok"),
        SensorReading("H2S", 12.5, "ppm", "ok"),
        SensorReading("LEL", None, "%LEL", "warmup"),
    ]
    payload = encode_readings(HEADER, 1.5, -2.0, "m", readings)
    msg = decode_readings(payload, sensors_topic("uagv", "acme", "R1"))
    assert msg.readings == tuple(readings) and msg.rejected == ()
    assert (msg.header_id, msg.serial, msg.map_id, msg.x_m, msg.y_m) == (7, "R1", "m", 1.5, -2.0)
    assert sensors_topic("uagv", "acme", "R1") == "uagv/v2/acme/R1/sensors"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", ""),
        (b"[1, 2]", ""),
        (json.dumps({**HEADER, "headerId": -1, "readings": [{}]}).encode(), "headerId"),
        (json.dumps({**HEADER, "timestamp": "", "readings": [{}]}).encode(), "timestamp"),
        (json.dumps({**HEADER, "readings": []}).encode(), "readings"),
        (json.dumps({**HEADER, "readings": [{}] * 65}).encode(), "readings"),
        (
            json.dumps(
                {k: v for k, v in HEADER.items() if k != "serialNumber"} | {"readings": [1]}
            ).encode(),
            "serialNumber",
        ),
    ],
)
def test_an_unusable_message_is_refused_whole(payload: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_readings(payload, "uagv/v2/acme/R1/sensors")
    assert info.value.field == field
    assert "uagv/v2/acme/R1/sensors" in str(info.value)


def test_bad_readings_are_dropped_one_by_one_with_the_reason() -> None:
    good = {"channel": "CO", "value": 4.0, "unit": "ppm", "status": "ok"}
    payload = body(
        [
            good,
            {"channel": "XYZ", "value": 1.0, "unit": "ppm"},
            {"channel": "H2S", "value": 1.0},
            {"channel": "H2S", "value": 1.0, "unit": "mg/m3"},
            {"channel": "O2", "value": 250.0, "unit": "%vol"},
            {"channel": "CO", "value": "high", "unit": "ppm"},
            {"channel": "CO", "value": 1.0, "unit": "ppm", "status": "great"},
            "not an object",
        ]
    )
    msg = decode_readings(payload, "t")
    assert [r.channel for r in msg.readings] == ["CO"]
    assert msg.rejected == (
        "readings.1.channel: unknown channel 'XYZ'",
        "readings.2.unit: missing (expected 'ppm')",
        "readings.3.unit: expected 'ppm' for H2S, got 'mg/m3'",
        "readings.4.value: 250.0 %vol is outside what O2 can read",
        "readings.5.value: not a finite number ('high')",
        "readings.6.status: unknown status 'great'",
        "readings.7: not an object but str",
    )


def test_nan_from_a_lenient_json_writer_is_dropped() -> None:
    payload = body([{"channel": "CO", "value": 1.0, "unit": "ppm"}]).replace(b"1.0", b"NaN")
    msg = decode_readings(payload, "t")
    assert msg.readings == () and msg.rejected == ("readings.0.value: not a finite number (nan)",)

"""Shared fixtures: real MQTT brokers and unique topics.

``broker`` runs every test that uses it once per broker, so one suite covers them all:

* ``embedded-mosquitto`` - our :class:`EmbeddedBroker` running the mosquitto binary
  (skipped when it is not installed);
* ``embedded-amqtt`` - our :class:`EmbeddedBroker` running amqtt in a thread (always);
* ``mosquitto`` - the Mosquitto service on 127.0.0.1:1883 (skipped when unreachable).

Brokers live for the whole session (pytest groups the tests by parameter).  Tests must
keep to their own topics (``unique_prefix``) because the brokers are shared.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from drivers.broker import EmbeddedBroker, find_mosquitto
from drivers.mqtt import MqttSettings, MqttTransport

EXTERNAL_MOSQUITTO = ("127.0.0.1", 1883)

BROKER_PARAMS = [
    pytest.param("embedded-mosquitto", marks=pytest.mark.broker, id="embedded-mosquitto"),
    pytest.param("embedded-amqtt", marks=pytest.mark.broker, id="embedded-amqtt"),
    pytest.param("mosquitto", marks=[pytest.mark.broker, pytest.mark.mosquitto], id="mosquitto"),
]


@dataclass(frozen=True)
class BrokerUnderTest:
    """Where a test broker listens.  ``embedded`` is None for the external Mosquitto."""

    host: str
    port: int
    url: str
    kind: str  # "mosquitto" | "amqtt"
    embedded: EmbeddedBroker | None = None


def tcp_reachable(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def fast_settings(url: str, **overrides: Any) -> MqttSettings:
    """Settings for tests: quick reconnects and short timeouts (seconds)."""
    values: dict[str, Any] = {
        "url": url,
        "keepalive_s": 5,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.5,
        "connect_timeout_s": 5.0,
    }
    values.update(overrides)
    return MqttSettings(**values)


@pytest.fixture(scope="session", params=BROKER_PARAMS)
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerUnderTest]:
    name: str = request.param
    if name == "mosquitto":
        host, port = EXTERNAL_MOSQUITTO
        if not tcp_reachable(host, port):
            pytest.skip("Mosquitto not reachable on 127.0.0.1:1883")
        yield BrokerUnderTest(host, port, f"mqtt://{host}:{port}", "mosquitto")
        return
    if name == "embedded-mosquitto" and find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed")
    prefer: Literal["mosquitto", "amqtt"] = "mosquitto" if name == "embedded-mosquitto" else "amqtt"
    with EmbeddedBroker(prefer) as embedded:
        yield BrokerUnderTest(embedded.host, embedded.port, embedded.url, embedded.kind, embedded)


@pytest.fixture
def unique_prefix() -> str:
    """A topic prefix no other test uses, e.g. ``test/3f2a...``."""
    return f"test/{uuid.uuid4().hex[:16]}"


TransportFactory = Callable[..., MqttTransport]


@pytest.fixture
def transport_factory(broker: BrokerUnderTest) -> Iterator[TransportFactory]:
    """``make(name, connect=True, **MqttTransport kwargs)`` -> a transport to ``broker``
    with :func:`fast_settings` and a unique client id; all are closed after the test."""
    made: list[MqttTransport] = []
    run = uuid.uuid4().hex[:8]

    def make(name: str = "client", *, connect: bool = True, **kwargs: Any) -> MqttTransport:
        kwargs.setdefault("settings", fast_settings(broker.url))
        transport = MqttTransport(
            broker.host, broker.port, client_id=f"{name}-{run}-{len(made)}", **kwargs
        )
        made.append(transport)
        if connect:
            transport.connect()
        return transport

    yield make
    for transport in made:
        transport.close()

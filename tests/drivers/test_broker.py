"""EmbeddedBroker and resolve_broker: real processes and threads, real sockets."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import drivers.broker as broker_module
from drivers.broker import EmbeddedBroker, find_mosquitto, free_port, resolve_broker
from drivers.bus import Inbox
from drivers.errors import BrokerError, ConfigError
from drivers.mqtt import MqttTransport
from tests.conftest import fast_settings, tcp_reachable

pytestmark = pytest.mark.broker

needs_mosquitto = pytest.mark.skipif(
    find_mosquitto() is None, reason="mosquitto binary not installed"
)
KINDS = [pytest.param("mosquitto", marks=needs_mosquitto), "amqtt"]


def _round_trip(b: EmbeddedBroker, topic: str) -> bytes | None:
    """Publish one QoS 1 message through ``b`` and return what a subscriber got."""
    settings = fast_settings(b.url)
    rx = MqttTransport(b.host, b.port, client_id=f"rx-{b.port}", settings=settings)
    tx = MqttTransport(b.host, b.port, client_id=f"tx-{b.port}", settings=settings)
    try:
        rx.connect()
        tx.connect()
        inbox = Inbox()
        rx.subscribe(topic, inbox, 1)
        assert rx.wait_subscribed(3.0)
        tx.publish(topic, b"ping", qos=1)
        got = inbox.get(3.0)
        return got.payload if got is not None else None
    finally:
        rx.close()
        tx.close()


@pytest.mark.parametrize("kind", KINDS)
def test_start_serve_stop(kind: str) -> None:
    b = EmbeddedBroker(kind)  # type: ignore[arg-type]
    with b:
        assert b.kind == kind
        assert b.host == "127.0.0.1"
        assert b.url == f"mqtt://127.0.0.1:{b.port}"
        assert b.running
        assert _round_trip(b, "embedded/check") == b"ping"
        port = b.port
    assert not b.running
    assert not tcp_reachable("127.0.0.1", port)
    b.stop()  # idempotent


@pytest.mark.parametrize("kind", KINDS)
def test_restart_keeps_the_port(kind: str) -> None:
    with EmbeddedBroker(kind) as b:  # type: ignore[arg-type]
        port = b.port
        b.restart()
        assert b.port == port
        assert b.kind == kind
        assert _round_trip(b, "embedded/restarted") == b"ping"


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port with a listener on 127.0.0.1 that is not a broker."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


@pytest.mark.parametrize("kind", KINDS)
def test_bind_race_is_retried_on_another_port(
    kind: str,
    occupied_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Simulate losing the race: the first "free" port is taken by someone else.
    ports = iter([occupied_port])
    monkeypatch.setattr(broker_module, "free_port", lambda: next(ports, None) or free_port())
    caplog.set_level(logging.DEBUG, logger="drivers.broker")
    with EmbeddedBroker(kind) as b:  # type: ignore[arg-type]
        assert b.port != occupied_port
        assert f"bind to {occupied_port} failed" in caplog.text
        assert _round_trip(b, "embedded/race") == b"ping"


def test_auto_picks_mosquitto_when_installed_else_amqtt(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedBroker() as b:
        assert b.kind == ("mosquitto" if find_mosquitto() is not None else "amqtt")
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    with EmbeddedBroker() as b:
        assert b.kind == "amqtt"


def test_error_when_no_broker_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    with pytest.raises(BrokerError, match="mosquitto binary not installed"):
        EmbeddedBroker("mosquitto").start()

    def amqtt_fails(self: EmbeddedBroker, port: int) -> None:
        raise BrokerError("simulated amqtt failure")

    monkeypatch.setattr(EmbeddedBroker, "_start_amqtt", amqtt_fails)
    with pytest.raises(BrokerError, match=r"no embedded MQTT broker could start.*simulated"):
        EmbeddedBroker().start()


@needs_mosquitto
def test_mosquitto_config_and_log(tmp_path: Path) -> None:
    with EmbeddedBroker("mosquitto") as b:
        assert b.log_file is not None
        conf = (b.log_file.parent / "mosquitto.conf").read_text()
        assert f"listener {b.port} 127.0.0.1" in conf
        for line in (
            "allow_anonymous true",
            "set_tcp_nodelay true",
            "persistence false",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
        ):
            assert line in conf.splitlines()
        assert "running" in b.log_file.read_text()
        workdir = b.log_file.parent
    assert not workdir.exists()  # cleaned up on stop


@needs_mosquitto
def test_mosquitto_startup_failure_names_the_log(tmp_path: Path) -> None:
    b = EmbeddedBroker("mosquitto", password_file=tmp_path / "missing-passwd")
    with pytest.raises(BrokerError, match=r"mosquitto\.log") as caught:
        b.start()
    assert "exited" in str(caught.value)
    assert not b.running
    b.stop()  # removes the temp dir that was kept for the log


def test_properties_need_a_started_broker() -> None:
    b = EmbeddedBroker("amqtt")
    with pytest.raises(BrokerError, match="not started"):
        _ = b.port
    with pytest.raises(BrokerError, match="not started"):
        _ = b.kind
    with pytest.raises(BrokerError, match="restart"):
        b.restart()
    with pytest.raises(ValueError, match="prefer"):
        EmbeddedBroker("rabbitmq")  # type: ignore[arg-type]


def test_resolve_broker() -> None:
    assert resolve_broker("mqtt://10.0.0.5:1884") == ("10.0.0.5", 1884, None)
    with pytest.raises(ConfigError, match="scheme"):
        resolve_broker("ftp://x")
    host, port, embedded = resolve_broker("embedded")
    assert embedded is not None
    try:
        assert (host, port) == (embedded.host, embedded.port)
        assert tcp_reachable(host, port)
    finally:
        embedded.stop()


def test_snapshot_dict_survives_changes_while_iterating() -> None:
    from drivers.broker import _SnapshotDict

    d = _SnapshotDict({"a/#": 1, "b/+": 2})
    for key in d:  # a plain dict raises RuntimeError here
        d[key + "/x"] = 0
    for key, _ in d.items():
        del d[key]
    assert d == {}

"""MqttTransport against real brokers (each test runs once per ``broker`` parameter)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from drivers.broker import EmbeddedBroker, find_mosquitto, free_port
from drivers.bus import Inbox, Message, Will
from drivers.errors import ConfigError, TransportError
from drivers.mqtt import MqttSettings, MqttTransport, TlsSettings, parse_broker_url
from tests.conftest import BrokerUnderTest, TransportFactory, fast_settings

broker_test = pytest.mark.broker

WAIT_S = 3.0  # generous upper bound for one delivery on loopback


def collect(inbox: Inbox, count: int, timeout_s: float = WAIT_S) -> list[Message]:
    """Up to ``count`` messages, waiting at most ``timeout_s`` in total."""
    out: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        msg = inbox.get(remaining)
        if msg is not None:
            out.append(msg)
    return out


def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def subscribed(transport: MqttTransport, pattern: str, qos: int = 0) -> Inbox:
    inbox = Inbox()
    transport.subscribe(pattern, inbox, qos)
    assert transport.wait_subscribed(WAIT_S), f"no SUBACK for {pattern}"
    return inbox


@pytest.fixture
def retained_cleanup(broker: BrokerUnderTest) -> Iterator[list[str]]:
    """Topics listed here get their retained message cleared after the test (the
    external Mosquitto keeps retained messages across test runs)."""
    topics: list[str] = []
    yield topics
    if topics:
        cleaner = MqttTransport(
            broker.host,
            broker.port,
            client_id=f"cleaner-{id(topics)}",
            settings=fast_settings(broker.url),
        )
        cleaner.connect()
        for topic in topics:
            cleaner.publish(topic, b"", qos=1, retain=True)
        cleaner.flush(WAIT_S)
        cleaner.close()


# ------------------------------------------------------------------ pub/sub basics


@broker_test
def test_round_trip_with_plus_and_hash_patterns(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    p = unique_prefix
    plus_side = transport_factory("plus")
    hash_side = transport_factory("hash")
    publisher = transport_factory("pub")
    states = subscribed(plus_side, f"{p}/+/state")
    everything = subscribed(hash_side, f"{p}/#")

    publisher.publish(f"{p}/r1/state", b"\x00state\xff")
    publisher.publish(f"{p}/r1/order", b"order")
    publisher.publish(f"{p}/r1/deep/state", b"deep")

    got_all = collect(everything, 3)
    assert [(m.topic, m.payload) for m in got_all] == [
        (f"{p}/r1/state", b"\x00state\xff"),
        (f"{p}/r1/order", b"order"),
        (f"{p}/r1/deep/state", b"deep"),
    ]
    got_states = collect(states, 1)
    assert [(m.topic, m.payload) for m in got_states] == [(f"{p}/r1/state", b"\x00state\xff")]
    # "+" is one level only: r1/deep/state must not reach the +/state sink.
    assert states.get(0.2) is None
    assert publisher.stats.messages_out == 3
    assert hash_side.stats.messages_in == 3


@broker_test
def test_every_matching_sink_gets_the_message(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    p = unique_prefix
    receiver = transport_factory("rx")
    sender = transport_factory("tx")
    first, second, other = Inbox(), Inbox(), Inbox()
    receiver.subscribe(f"{p}/a", first)
    receiver.subscribe(f"{p}/a", second)
    receiver.subscribe(f"{p}/b", other)
    assert receiver.wait_subscribed(WAIT_S)

    sender.publish(f"{p}/a", b"x")

    assert [m.payload for m in collect(first, 1)] == [b"x"]
    assert [m.payload for m in collect(second, 1)] == [b"x"]
    assert other.get(0.2) is None


@broker_test
def test_failing_sink_does_not_stop_delivery(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    p = unique_prefix
    receiver = transport_factory("rx")
    sender = transport_factory("tx")

    def broken(message: Message) -> None:
        raise RuntimeError("sink bug")

    receiver.subscribe(f"{p}/t", broken)
    good = subscribed(receiver, f"{p}/t")

    sender.publish(f"{p}/t", b"1")
    sender.publish(f"{p}/t", b"2")

    assert [m.payload for m in collect(good, 2)] == [b"1", b"2"]
    assert receiver.connected


@broker_test
def test_retained_message_reaches_late_subscriber(
    transport_factory: TransportFactory, unique_prefix: str, retained_cleanup: list[str]
) -> None:
    topic = f"{unique_prefix}/connection"
    retained_cleanup.append(topic)
    # Connect the late subscriber *before* anything is retained: amqtt pushes retained
    # messages matching other clients' filters to every connecting client.
    late = transport_factory("late")
    observer = transport_factory("observer")
    echo = subscribed(observer, topic, qos=1)
    publisher = transport_factory("pub")

    publisher.publish(topic, b"ONLINE", qos=1, retain=True)
    assert [m.payload for m in collect(echo, 1)] == [b"ONLINE"]  # now the broker holds it

    late_inbox = subscribed(late, topic, qos=1)
    got = collect(late_inbox, 1)
    assert got == [Message(topic, b"ONLINE", qos=1, retain=True)]


@broker_test
def test_flush_waits_until_broker_acknowledged(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    topic = f"{unique_prefix}/bulk"
    receiver = transport_factory("rx")
    inbox = subscribed(receiver, topic, qos=1)
    sender = transport_factory("tx")

    for i in range(50):
        sender.publish(topic, str(i).encode(), qos=1)
    assert sender.flush(WAIT_S)

    got = collect(inbox, 50)
    assert [m.payload for m in got] == [str(i).encode() for i in range(50)]


def test_publish_and_subscribe_reject_invalid_input() -> None:
    transport = MqttTransport("127.0.0.1", 1, client_id="never-connected")
    with pytest.raises(ValueError, match="topic"):
        transport.publish("a/+/b", b"")
    with pytest.raises(ValueError, match="topic"):
        transport.publish("", b"")
    with pytest.raises(ValueError, match="QoS"):
        transport.publish("a/b", b"", qos=3)
    with pytest.raises(ValueError, match="filter"):
        transport.subscribe("a/#/b", Inbox())
    with pytest.raises(ValueError, match="filter"):
        transport.subscribe("a/b+", Inbox())
    transport.close()


# ------------------------------------------------------------------ birth, farewell, will


@broker_test
def test_birth_published_on_connect(
    transport_factory: TransportFactory, unique_prefix: str, retained_cleanup: list[str]
) -> None:
    topic = f"{unique_prefix}/connection"
    retained_cleanup.append(topic)
    observer = transport_factory("observer")
    inbox = subscribed(observer, topic, qos=1)

    transport_factory("robot", birth=lambda: Message(topic, b"ONLINE", 1, True))

    got = collect(inbox, 1)
    assert [(m.payload, m.qos) for m in got] == [(b"ONLINE", 1)]


@broker_test
def test_farewell_published_on_clean_close_and_no_will(
    transport_factory: TransportFactory, unique_prefix: str, retained_cleanup: list[str]
) -> None:
    topic = f"{unique_prefix}/connection"
    retained_cleanup.append(topic)
    observer = transport_factory("observer")
    inbox = subscribed(observer, topic, qos=1)
    robot = transport_factory(
        "robot",
        will=Will(topic, b"CONNECTIONBROKEN"),
        birth=lambda: Message(topic, b"ONLINE", 1, True),
        farewell=lambda: Message(topic, b"OFFLINE", 1, True),
    )
    assert [m.payload for m in collect(inbox, 1)] == [b"ONLINE"]

    robot.close()

    assert [m.payload for m in collect(inbox, 1)] == [b"OFFLINE"]
    assert inbox.get(0.3) is None  # a clean DISCONNECT discards the will
    assert not robot.connected
    robot.close()  # idempotent


@broker_test
def test_last_will_is_retained_qos1_after_dropped_connection(
    transport_factory: TransportFactory, unique_prefix: str, retained_cleanup: list[str]
) -> None:
    topic = f"{unique_prefix}/connection"
    retained_cleanup.append(topic)
    late = transport_factory("late")  # connected before the will exists (see amqtt note)
    observer = transport_factory("observer")
    inbox = subscribed(observer, topic, qos=1)
    robot = transport_factory("robot", will=Will(topic, b"CONNECTIONBROKEN", qos=1, retain=True))

    robot.drop_connection_for_test()

    got = collect(inbox, 1)
    assert [(m.payload, m.qos) for m in got] == [(b"CONNECTIONBROKEN", 1)]
    late_inbox = subscribed(late, topic, qos=1)
    assert collect(late_inbox, 1) == [Message(topic, b"CONNECTIONBROKEN", qos=1, retain=True)]


# ------------------------------------------------------------------ reconnects


@broker_test
def test_reconnects_after_drop_with_birth_and_subscriptions(
    transport_factory: TransportFactory, unique_prefix: str, retained_cleanup: list[str]
) -> None:
    p = unique_prefix
    conn = f"{p}/connection"
    retained_cleanup.append(conn)
    observer = transport_factory("observer")
    conn_inbox = subscribed(observer, conn, qos=1)
    robot = transport_factory(
        "robot",
        will=Will(conn, b"CONNECTIONBROKEN"),
        birth=lambda: Message(conn, b"ONLINE", 1, True),
    )
    orders = subscribed(robot, f"{p}/order/#")
    assert [m.payload for m in collect(conn_inbox, 1)] == [b"ONLINE"]

    robot.drop_connection_for_test()

    assert [m.payload for m in collect(conn_inbox, 2)] == [b"CONNECTIONBROKEN", b"ONLINE"]
    assert wait_until(lambda: robot.stats.reconnects == 1)
    assert robot.wait_subscribed(WAIT_S)
    observer.publish(f"{p}/order/1", b"go")
    assert [m.payload for m in collect(orders, 1)] == [b"go"]


@broker_test
def test_offline_publishes_qos0_dropped_qos1_delivered_after_reconnect(
    broker: BrokerUnderTest, transport_factory: TransportFactory, unique_prefix: str
) -> None:
    topic = f"{unique_prefix}/data"
    observer = transport_factory("observer")
    inbox = subscribed(observer, topic, qos=1)
    # A slow first retry keeps the transport offline long enough to publish into the gap.
    robot = transport_factory(
        "robot", settings=fast_settings(broker.url, reconnect_min_s=0.5, reconnect_max_s=0.5)
    )

    robot.drop_connection_for_test()
    assert wait_until(lambda: not robot.connected)
    robot.publish(topic, b"lost", qos=0)
    robot.publish(topic, b"kept", qos=1)

    assert [m.payload for m in collect(inbox, 1)] == [b"kept"]
    assert robot.stats.dropped_out == 1
    assert robot.stats.reconnects == 1
    assert inbox.get(0.2) is None


@broker_test
def test_reconnects_and_resubscribes_after_broker_restart(
    broker: BrokerUnderTest, unique_prefix: str
) -> None:
    if broker.embedded is None:
        pytest.skip("cannot restart the system Mosquitto")
    p = unique_prefix
    with EmbeddedBroker(broker.embedded.kind) as own:
        settings = fast_settings(own.url)
        robot = MqttTransport(
            own.host,
            own.port,
            client_id=f"robot-{p[-8:]}",
            settings=settings,
            birth=lambda: Message(f"{p}/connection", b"ONLINE", 1, True),
        )
        observer = MqttTransport(own.host, own.port, client_id=f"obs-{p[-8:]}", settings=settings)
        try:
            robot.connect()
            observer.connect()
            orders = subscribed(robot, f"{p}/order")
            births = subscribed(observer, f"{p}/connection", qos=1)
            port = own.port

            own.restart()

            assert own.port == port
            assert wait_until(
                lambda: robot.stats.reconnects == 1 and observer.stats.reconnects == 1
            )
            assert robot.wait_subscribed(WAIT_S) and observer.wait_subscribed(WAIT_S)
            assert [m.payload for m in collect(births, 1)] == [b"ONLINE"]  # birth re-sent
            observer.publish(f"{p}/order", b"after restart")
            assert [m.payload for m in collect(orders, 1)] == [b"after restart"]
        finally:
            robot.close()
            observer.close()


@broker_test
def test_close_during_an_outage_returns_promptly() -> None:
    with EmbeddedBroker() as own:
        transport = MqttTransport(
            own.host,
            own.port,
            client_id="outage",
            settings=fast_settings(own.url),
            farewell=lambda: Message("outage/connection", b"OFFLINE", 1, True),
        )
        transport.connect()
        own.stop()
        assert wait_until(lambda: not transport.connected)
        started = time.monotonic()
        transport.close()
        assert time.monotonic() - started < 1.0


def test_backoff_is_jittered_bounded_and_seeded() -> None:
    settings = MqttSettings(url="mqtt://h", reconnect_min_s=0.1, reconnect_max_s=1.0)

    def delays(seed: int) -> list[float]:
        transport = MqttTransport("h", 1883, client_id="backoff", settings=settings, seed=seed)
        # The policy itself (private): the schedule the network thread sleeps by.
        return [transport._next_delay_s() for _ in range(12)]

    first = delays(7)
    assert first == delays(7)  # reproducible from the seed
    assert first != delays(8)  # jittered
    caps = [min(1.0, 0.1 * 2.0**i) for i in range(12)]
    assert all(0.1 <= d <= cap for d, cap in zip(first, caps, strict=True))
    assert max(first[6:]) > 0.2  # grows towards reconnect_max_s


def test_connect_to_closed_port_raises_within_timeout() -> None:
    port = free_port()
    transport = MqttTransport(
        "127.0.0.1",
        port,
        client_id="nobody-home",
        settings=MqttSettings(connect_timeout_s=0.5, reconnect_min_s=0.05, reconnect_max_s=0.1),
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}") as caught:
        transport.connect()
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.5
    assert isinstance(caught.value.__cause__, OSError)
    assert not transport.connected
    transport.close()


@broker_test
def test_tcp_nodelay_is_set(transport_factory: TransportFactory) -> None:
    transport = transport_factory("nodelay")
    sock = transport.current_socket()
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ------------------------------------------------------------------ credentials


@pytest.fixture(scope="module")
def password_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    passwd = shutil.which("mosquitto_passwd")
    if find_mosquitto() is None or passwd is None:
        pytest.skip("mosquitto and mosquitto_passwd binaries needed for password tests")
    path: Path = tmp_path_factory.mktemp("mosquitto-auth") / "passwd"
    subprocess.run(
        [passwd, "-c", "-b", str(path), "hazfleet", "s3cret"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    with EmbeddedBroker("mosquitto", password_file=path) as b:
        yield b


def _auth_transport(b: EmbeddedBroker, name: str, **creds: str) -> MqttTransport:
    settings = fast_settings(b.url, connect_timeout_s=2.0, **creds)
    return MqttTransport(b.host, b.port, client_id=name, settings=settings)


@broker_test
def test_username_password_accepted(password_broker: EmbeddedBroker) -> None:
    t = _auth_transport(password_broker, "auth-ok", username="hazfleet", password="s3cret")
    t.connect()
    assert t.connected
    t.close()


@broker_test
@pytest.mark.parametrize(
    "creds",
    [{"username": "hazfleet", "password": "wrong"}, {}],
    ids=["wrong-password", "anonymous"],
)
def test_bad_credentials_raise_transport_error(
    password_broker: EmbeddedBroker, creds: dict[str, str]
) -> None:
    t = _auth_transport(password_broker, "auth-bad", **creds)
    started = time.monotonic()
    with pytest.raises(TransportError, match="refused"):
        t.connect()
    assert time.monotonic() - started < 1.5  # a refusal is final: no retry until timeout
    t.close()


# ------------------------------------------------------------------ settings and urls


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", ("127.0.0.1", 1883, False)),
        ("mqtt://broker.local", ("broker.local", 1883, False)),
        ("mqtts://broker.local", ("broker.local", 8883, True)),
        ("MQTTS://broker.local:9999/", ("broker.local", 9999, True)),
        ("mqtt://[::1]:1884", ("::1", 1884, False)),
    ],
)
def test_parse_broker_url_accepts(url: str, expected: tuple[str, int, bool]) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("embedded", "resolve_broker"),
        ("http://h:1", "scheme"),
        ("127.0.0.1:1883", "scheme"),
        ("mqtt://", "missing host"),
        ("mqtt://h:99999", "out of range"),
        ("mqtt://h:0", "port 0"),
        ("mqtt://h:port", "bad host or port"),
        ("mqtt://user:pw@h:1883", "credentials"),
        ("mqtt://h:1883/topic", "path"),
        ("mqtt://[::1:1883", "IPv6"),
    ],
)
def test_parse_broker_url_rejects(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_broker_url(url)
    assert caught.value.source == "broker url"
    assert problem in caught.value.problem


def test_settings_defaults_and_validation() -> None:
    s = MqttSettings(url="mqtts://b:8883", username="u", password="hunter2")
    assert s.use_tls and s.keepalive_s == 10 and s.reconnect_min_s == 0.2
    assert s.password is not None and s.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s)  # the secret stays out of logs
    assert not MqttSettings(url="mqtt://b").use_tls
    assert MqttSettings(url="mqtt://b", tls=TlsSettings(insecure=True)).use_tls
    with pytest.raises(ValidationError, match="extra"):
        MqttSettings.model_validate({"url": "mqtt://b", "qos": 1})
    with pytest.raises(ValidationError, match="scheme"):
        MqttSettings(url="tcp://b:1")
    with pytest.raises(ValidationError, match="reconnect_max_s"):
        MqttSettings(url="mqtt://b", reconnect_min_s=5, reconnect_max_s=1)
    with pytest.raises(ValidationError, match="without username"):
        MqttSettings(url="mqtt://b", password="p")
    with pytest.raises(ValidationError, match="without cert_file"):
        TlsSettings(key_file=Path("k.pem"))


def test_tls_with_missing_ca_file_is_a_transport_error(tmp_path: Path) -> None:
    settings = MqttSettings(url="mqtts://b:8883", tls=TlsSettings(ca_file=tmp_path / "no.pem"))
    with pytest.raises(TransportError, match="TLS") as caught:
        MqttTransport("b", 8883, client_id="tls", settings=settings)
    assert isinstance(caught.value.__cause__, OSError)

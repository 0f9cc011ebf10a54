"""Pumped MqttTransports (drivers.mqtt_pump) against real brokers: one thread, no network
threads, the same MQTT behaviour as the threaded transport."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from drivers.broker import EmbeddedBroker, free_port
from drivers.bus import Message, Will
from drivers.errors import TransportError
from drivers.mqtt import MqttSettings, MqttTransport
from drivers.mqtt_pump import NetworkPump
from tests.conftest import BrokerUnderTest, TransportFactory, fast_settings

broker_test = pytest.mark.broker

WAIT_S = 3.0


def network_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mqtt-")]


def pumped_observer(
    make: TransportFactory, name: str, pattern: str, qos: int = 0
) -> tuple[NetworkPump, MqttTransport, list[Message]]:
    """A pump, a transport on it subscribed to ``pattern``, and what arrives there."""
    pump = NetworkPump()
    sub = make(name, pump=pump)
    got: list[Message] = []
    sub.subscribe(pattern, got.append, qos)
    assert sub.wait_subscribed(WAIT_S)
    return pump, sub, got


def pumped_pair(
    make: TransportFactory, name: str, pattern: str
) -> tuple[NetworkPump, MqttTransport, MqttTransport, list[Message]]:
    """A pump, a publisher and a subscriber to ``pattern`` on it, and what arrives."""
    pump, sub, got = pumped_observer(make, f"{name}-sub", pattern)
    return pump, make(f"{name}-pub", pump=pump), sub, got


@broker_test
def test_many_messages_between_pumped_transports_on_one_thread(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    pump = NetworkPump()
    before = network_threads()
    a = transport_factory("pa", pump=pump)
    b = transport_factory("pb", pump=pump)
    got: list[Message] = []
    sink_threads: set[int] = set()

    def sink(m: Message) -> None:
        got.append(m)
        sink_threads.add(threading.get_ident())

    b.subscribe(f"{unique_prefix}/#", sink)
    assert b.wait_subscribed(WAIT_S)
    for i in range(500):
        a.publish(f"{unique_prefix}/{i % 7}", i.to_bytes(2, "big"), qos=i % 2)
    assert got == []  # queued only: nothing moves until the owner pumps

    assert pump.run_until(lambda: len(got) == 500, WAIT_S)
    assert sorted(int.from_bytes(m.payload, "big") for m in got) == list(range(500))
    assert sink_threads == {threading.get_ident()}  # callbacks on the pumping thread
    assert network_threads() == before  # and no network thread of their own
    assert a.flush(WAIT_S)
    assert a.stats.messages_out == 500 and b.stats.messages_in == 500


@broker_test
def test_a_payload_larger_than_the_socket_buffer_arrives_whole(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    """The socket would block: the pump waits for it to become writable."""
    pump, a, _b, got = pumped_pair(transport_factory, "big", f"{unique_prefix}/big")
    payload = bytes(range(256)) * 32_768  # 8 MiB
    a.publish(f"{unique_prefix}/big", payload, qos=1)

    assert pump.run_until(lambda: len(got) == 1, 20.0)
    assert got[0].payload == payload


@broker_test
def test_pumped_close_says_farewell_and_a_dropped_link_leaves_its_will(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    pump, _observer, seen = pumped_observer(
        transport_factory, "obs", f"{unique_prefix}/+/connection", qos=1
    )

    def will(name: str) -> Will:
        return Will(f"{unique_prefix}/{name}/connection", b"BROKEN", 1, False)

    polite = transport_factory(
        "polite",
        pump=pump,
        will=will("polite"),
        farewell=lambda: Message(f"{unique_prefix}/polite/connection", b"OFFLINE", 1, False),
    )
    rude = transport_factory("rude", pump=pump, will=will("rude"))

    polite.close()
    rude.drop_connection_for_test()
    assert pump.run_until(lambda: len(seen) >= 2, WAIT_S)
    pump.run_until(lambda: False, 0.2)  # nothing else may come (polite's will)
    by_topic = sorted((m.topic.split("/")[-2], m.payload) for m in seen)
    assert by_topic == [("polite", b"OFFLINE"), ("rude", b"BROKEN")]


@broker_test
def test_pumped_transport_reconnects_and_resubscribes_after_a_drop(
    broker: BrokerUnderTest, transport_factory: TransportFactory, unique_prefix: str
) -> None:
    pump, controller, births = pumped_observer(
        transport_factory, "ctl", f"{unique_prefix}/birth", qos=1
    )
    robot = transport_factory(
        "robot",
        pump=pump,
        settings=fast_settings(broker.url, reconnect_min_s=0.05, reconnect_max_s=0.1),
        birth=lambda: Message(f"{unique_prefix}/birth", b"ONLINE", 1, False),
    )
    orders: list[Message] = []
    robot.subscribe(f"{unique_prefix}/order", orders.append)
    assert robot.wait_subscribed(WAIT_S)
    assert pump.run_until(lambda: len(births) == 1, WAIT_S)

    robot.drop_connection_for_test()
    assert pump.run_until(lambda: robot.stats.reconnects == 1, WAIT_S)
    assert robot.wait_subscribed(WAIT_S)
    assert pump.run_until(lambda: len(births) == 2, WAIT_S)  # birth again
    controller.publish(f"{unique_prefix}/order", b"after the drop")
    assert pump.run_until(lambda: len(orders) == 1, WAIT_S)
    assert orders[0].payload == b"after the drop"


@broker_test
def test_pumped_transports_come_back_after_a_broker_restart(unique_prefix: str) -> None:
    with EmbeddedBroker() as own:
        pump = NetworkPump()
        settings = fast_settings(own.url, reconnect_min_s=0.05, reconnect_max_s=0.2)
        a = MqttTransport(own.host, own.port, client_id="pump-a", settings=settings, pump=pump)
        b = MqttTransport(own.host, own.port, client_id="pump-b", settings=settings, pump=pump)
        try:
            a.connect()
            b.connect()
            got: list[Message] = []
            b.subscribe(f"{unique_prefix}/x", got.append)
            assert b.wait_subscribed(WAIT_S)

            own.restart()

            assert pump.run_until(lambda: a.stats.reconnects == 1 and b.stats.reconnects == 1, 10.0)
            assert b.wait_subscribed(WAIT_S)
            a.publish(f"{unique_prefix}/x", b"after restart")
            assert pump.run_until(lambda: len(got) == 1, WAIT_S)
        finally:
            a.close()
            b.close()


@broker_test
def test_connect_fails_within_its_timeout_when_nobody_listens() -> None:
    port = free_port()
    pump = NetworkPump()
    t = MqttTransport(
        "127.0.0.1",
        port,
        client_id="nobody",
        settings=MqttSettings(url=f"mqtt://127.0.0.1:{port}", connect_timeout_s=0.5),
        pump=pump,
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        t.connect()
    assert time.monotonic() - started < 3.0
    assert pump.members == 0  # a failed connect leaves nothing behind in the pump


def test_pump_is_driven_by_one_thread_and_never_re_entered() -> None:
    pump = NetworkPump()
    pump.poll()  # this thread owns it now
    errors: list[BaseException] = []

    def other() -> None:
        try:
            pump.poll()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert [str(e) for e in errors] == ["a network pump is driven by one thread only"]

    def reenter() -> bool:
        pump.poll()
        return True

    with pytest.raises(RuntimeError, match="re-entered"):
        pump.run_until(reenter, 0.1)
    pump.poll()  # still usable afterwards
    pump.close()
    with pytest.raises(RuntimeError, match="closed"):
        pump.poll()


def test_wake_on_ends_a_wait_when_a_pipe_has_data() -> None:
    pump = NetworkPump()
    ours, theirs = multiprocessing.Pipe()
    threading.Timer(0.05, lambda: theirs.send("go")).start()
    started = time.monotonic()
    assert pump.run_until(ours.poll, 5.0, wake_on=(ours,))
    assert time.monotonic() - started < 2.0
    assert ours.recv() == "go"
    assert not pump.run_until(lambda: False, 0.05)  # and a plain timeout is a timeout


@broker_test
def test_a_publish_between_passes_leaves_without_another_pass(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    """On its owner's thread, outside a pass, a publish is written at once: what a
    controller publishes early in its step is read elsewhere while the step goes on.
    The publisher's pump never runs again here, yet the message arrives."""
    sub_pump, _sub, got = pumped_observer(transport_factory, "early-sub", f"{unique_prefix}/#")
    pub_pump = NetworkPump()
    pub = transport_factory("early-pub", pump=pub_pump)  # connecting pumped it: it is ours
    pub.publish(f"{unique_prefix}/beat", b"now")
    assert sub_pump.run_until(lambda: len(got) == 1, WAIT_S)
    assert got[0].payload == b"now"


@broker_test
def test_a_later_subscription_gets_messages_on_a_topic_already_routed(
    transport_factory: TransportFactory, unique_prefix: str
) -> None:
    """Each transport remembers which subscriptions a topic matches; a new subscription
    must be taken into account for topics seen before."""
    pump, pub, sub, first = pumped_pair(transport_factory, "route", f"{unique_prefix}/+/state")
    second: list[Message] = []
    pub.publish(f"{unique_prefix}/r1/state", b"1")
    assert pump.run_until(lambda: len(first) == 1, WAIT_S)

    sub.subscribe(f"{unique_prefix}/#", second.append)
    assert sub.wait_subscribed(WAIT_S)
    pub.publish(f"{unique_prefix}/r1/state", b"2")
    assert pump.run_until(lambda: len(first) >= 2 and len(second) >= 1, WAIT_S)
    # MQTT 3.1.1 lets a broker send a client one copy per matching subscription (amqtt
    # 0.12 does; Mosquitto sends one): each copy reaches both subscriptions
    assert [m.payload for m in first][:2] == [b"1", b"2"]
    assert {m.payload for m in first[1:]} == {m.payload for m in second} == {b"2"}
    assert len(first) - 1 == len(second)


class _Member:
    """A stand-in connection without a socket: counts how often it is serviced."""

    def __init__(self) -> None:
        self.serviced = 0

    def pump_socket(self) -> None:
        return None

    def pump_read(self) -> None:
        raise AssertionError("no socket, nothing to read")

    def pump_write(self) -> bool:
        return False

    def pump_service(self, now: float) -> float:
        self.serviced += 1
        return now + 60.0


def test_a_new_member_is_serviced_alone_not_with_every_other() -> None:
    """A worker connects its robots one after the other; servicing every member on each
    connect made that quadratic (250 robots: 31,000 services)."""
    pump = NetworkPump()
    members = [_Member() for _ in range(300)]
    for m in members:
        pump.add(m)
        pump.poll()
    assert all(m.serviced >= 1 for m in members)  # each one connected at once
    # (one periodic pass over all may fall in between on a slow machine; quadratic: 45,150)
    assert sum(m.serviced for m in members) < 3 * len(members)

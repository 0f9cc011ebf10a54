"""The delivery barrier (simulator/delivery.py) on the in-memory bus.

:class:`~drivers.bus.InMemoryBus` delivers synchronously, inside ``publish``.  To see a
message *in flight* (counted as sent, not yet received) the publishers here go through
:class:`LaggyBus`, which holds publications back until :meth:`LaggyBus.deliver`, like a
broker with latency.
"""

from __future__ import annotations

import threading
import time

import pytest

from drivers.bus import Bus, Inbox, InMemoryBus, Message, Sink
from simulator.delivery import DeliveryTracker, TrackedBus, message_key

STATE_FILTER = "uagv/v2/+/+/state"
HEARTBEAT_FILTER = "uagv/hazfleet/+/heartbeat"
HEARTBEAT = "uagv/hazfleet/hazfleet/heartbeat"
R1_ORDER = "uagv/v2/acme/r1/order"
R1_STATE = "uagv/v2/acme/r1/state"
R2_STATE = "uagv/v2/acme/r2/state"


class LaggyBus:
    """A Bus view whose publications reach the broker only on :meth:`deliver`."""

    def __init__(self, inner: Bus) -> None:
        self._inner = inner
        self._queue: list[Message] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        with self._lock:
            self._queue.append(Message(topic, payload, qos, retain))

    def deliver(self) -> None:
        with self._lock:
            queued, self._queue = self._queue, []
        for m in queued:
            self._inner.publish(m.topic, m.payload, m.qos, m.retain)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        self._inner.subscribe(pattern, sink, qos)

    def close(self) -> None:
        self._inner.close()


def payloads(inbox: Inbox) -> list[tuple[str, bytes]]:
    return [(m.topic, m.payload) for m in inbox.drain()]


# ------------------------------------------------------------------ counting


def test_sent_counts_every_matching_subscription_across_wrappers() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    controller_link = LaggyBus(broker.client())
    controller = TrackedBus(controller_link, tracker)
    r1_link = LaggyBus(broker.client())
    r1 = TrackedBus(r1_link, tracker)
    r2 = TrackedBus(broker.client(), tracker)
    monitor = TrackedBus(broker.client(), tracker)
    c_in, r1_in, r2_in, mon_in = Inbox(), Inbox(), Inbox(), Inbox()
    controller.subscribe(STATE_FILTER, c_in)
    r1.subscribe(R1_ORDER, r1_in)
    r1.subscribe(HEARTBEAT_FILTER, r1_in)
    r2.subscribe(HEARTBEAT_FILTER, r2_in)
    monitor.subscribe("uagv/#", mon_in)

    controller.publish(HEARTBEAT, b"beat", qos=1, retain=True)  # r1, r2, monitor
    controller.publish(R1_ORDER, b"order")  # r1, monitor
    r1.publish(R1_STATE, b"state")  # controller, monitor

    assert tracker.outstanding == 3 + 2 + 2
    assert tracker.delivered == 0
    assert r1_in.drain() == [] and c_in.drain() == []

    controller_link.deliver()
    assert tracker.outstanding == 2  # only r1's state is still in flight
    assert tracker.delivered == 5
    assert payloads(r1_in) == [(HEARTBEAT, b"beat"), (R1_ORDER, b"order")]
    assert payloads(r2_in) == [(HEARTBEAT, b"beat")]

    r1_link.deliver()
    assert tracker.outstanding == 0
    assert tracker.delivered == 7
    assert payloads(c_in) == [(R1_STATE, b"state")]
    assert payloads(mon_in) == [
        (HEARTBEAT, b"beat"),
        (R1_ORDER, b"order"),
        (R1_STATE, b"state"),
    ]
    assert tracker.wait_idle(0.0)
    assert tracker.lost == 0


def test_identical_messages_are_counted_one_by_one() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    link = LaggyBus(broker.client())
    robot = TrackedBus(link, tracker)
    controller = TrackedBus(broker.client(), tracker)
    inbox = Inbox()
    controller.subscribe(STATE_FILTER, inbox)

    robot.publish(R1_STATE, b"same")
    robot.publish(R1_STATE, b"same")
    assert tracker.outstanding == 2

    link.deliver()
    assert tracker.outstanding == 0
    assert tracker.delivered == 2
    assert len(inbox.drain()) == 2


# ------------------------------------------------------------------ wait_idle


def test_wait_idle_returns_once_everything_arrived_with_the_inboxes_filled() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    link = LaggyBus(broker.client())
    robot = TrackedBus(link, tracker)
    controller = TrackedBus(broker.client(), tracker)
    inbox = Inbox()
    controller.subscribe(STATE_FILTER, inbox)
    robot.publish(R1_STATE, b"s1")
    robot.publish(R1_STATE, b"s2")

    timer = threading.Timer(0.05, link.deliver)  # the "broker" delivers from another thread
    timer.start()
    try:
        assert tracker.wait_idle(5.0)
    finally:
        timer.join()

    # idle means the messages are already in the subscriber's inbox, not just counted
    assert payloads(inbox) == [(R1_STATE, b"s1"), (R1_STATE, b"s2")]
    assert tracker.lost == 0 and tracker.lost_topics == []


def test_wait_idle_times_out_and_counts_what_never_arrived_as_lost() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    robot = TrackedBus(broker.client(), tracker)
    r1_client = broker.client()
    r1 = TrackedBus(r1_client, tracker)
    r2 = TrackedBus(broker.client(), tracker)
    r1_in, r2_in = Inbox(), Inbox()
    r1.subscribe(HEARTBEAT_FILTER, r1_in)
    r2.subscribe(HEARTBEAT_FILTER, r2_in)
    # r1's connection is gone but the drill still counts its subscription: what is
    # sent to it now never arrives (as with a QoS 0 message the broker dropped).
    r1_client.close()

    t0 = time.monotonic()
    robot.publish(HEARTBEAT, b"beat-1")
    robot.publish(HEARTBEAT, b"beat-2")
    assert not tracker.wait_idle(0.1)
    assert time.monotonic() - t0 >= 0.1

    assert tracker.lost == 2
    assert tracker.lost_topics == [HEARTBEAT, HEARTBEAT]
    assert tracker.delivered == 2  # the copies r2 received
    assert [m.payload for m in r2_in.drain()] == [b"beat-1", b"beat-2"]
    assert r1_in.drain() == []
    # the lost messages were written off: the next barrier does not wait for them again
    assert tracker.outstanding == 0
    assert tracker.wait_idle(0.0)

    robot.publish(HEARTBEAT, b"beat-3")
    assert not tracker.wait_idle(0.01)
    assert tracker.lost == 3  # accumulates over the drill


def test_messages_no_drill_subscription_matches_are_not_waited_for() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    robot = TrackedBus(broker.client(), tracker)
    controller = TrackedBus(broker.client(), tracker)
    controller.subscribe(STATE_FILTER, Inbox())
    outsider = Inbox()  # subscribed outside the drill: not counted
    broker.client().subscribe("uagv/v2/acme/r1/visualization", outsider)

    robot.publish("uagv/v2/acme/r1/visualization", b"vis")
    robot.publish("uagv/v2/acme/r1/connection", b"ONLINE", qos=1, retain=True)

    assert tracker.outstanding == 0
    assert tracker.wait_idle(0.0)
    assert tracker.delivered == 0 and tracker.lost == 0
    assert [m.payload for m in outsider.drain()] == [b"vis"]


def test_retained_and_foreign_messages_are_ignored() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    # retained before the drill subscribed, by a client outside the drill
    broker.client().publish(R2_STATE, b"old", qos=0, retain=True)
    robot = TrackedBus(broker.client(), tracker)
    first = TrackedBus(broker.client(), tracker)
    first_in = Inbox()
    first.subscribe(STATE_FILTER, first_in)
    assert [m.payload for m in first_in.drain()] == [b"old"]  # it did arrive ...
    assert tracker.delivered == 0  # ... but was never counted as sent

    robot.publish(R1_STATE, b"mine", qos=0, retain=True)
    assert tracker.delivered == 1

    # a late subscriber gets the retained copy of a counted message: not a second receipt
    late = TrackedBus(broker.client(), tracker)
    late_in = Inbox()
    late.subscribe(STATE_FILTER, late_in)
    assert sorted(m.payload for m in late_in.drain()) == [b"mine", b"old"]
    assert tracker.delivered == 1

    # a publisher outside the drill: delivered to both, counted by neither
    broker.client().publish(R2_STATE, b"foreign")
    assert tracker.delivered == 1
    assert tracker.outstanding == 0
    assert tracker.wait_idle(0.0)
    assert tracker.lost == 0


# ------------------------------------------------------------------ held start-up


def test_held_bus_buffers_until_release_then_sends_in_order_and_counts() -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    robot = TrackedBus(broker.client(), tracker, held=True)
    controller = TrackedBus(broker.client(), tracker)
    inbox = Inbox()

    robot.publish("uagv/v2/acme/r1/connection", b"ONLINE", qos=1, retain=True)
    robot.publish(R1_STATE, b"s0")
    robot.publish(R1_STATE, b"s1")
    # the controller subscribes only now: with the start-up messages held, none is missed
    controller.subscribe("uagv/v2/+/+/+", inbox)

    assert inbox.drain() == []
    assert broker.published == []  # nothing left the robot
    assert tracker.outstanding == 0  # and nothing was counted yet

    robot.release()

    got = inbox.drain()
    assert [(m.topic, m.payload) for m in got] == [
        ("uagv/v2/acme/r1/connection", b"ONLINE"),
        (R1_STATE, b"s0"),
        (R1_STATE, b"s1"),
    ]
    assert [(m.qos, m.retain) for m in got] == [(1, True), (0, False), (0, False)]
    assert tracker.delivered == 3
    assert tracker.wait_idle(0.0)

    # released for good: later publications go straight out
    robot.publish(R1_STATE, b"s2")
    assert [m.payload for m in inbox.drain()] == [b"s2"]
    assert tracker.delivered == 4
    robot.release()  # a second release sends nothing again
    assert inbox.drain() == []
    assert len(broker.published) == 4


# -- across processes (simulator.robot_host) -----------------------------------------------


def test_a_message_for_another_process_is_listed_in_the_outbox_once_per_subscription() -> None:
    sender = DeliveryTracker()
    sender.add_remote_subscription(1, "uagv/v2/+/+/state")
    sender.add_remote_subscription(2, "uagv/v2/acme/r1/order")
    sender.add_remote_subscription(2, "uagv/v2/acme/r1/order")  # two robots, one topic
    sender.sent("uagv/v2/acme/r1/order", b"o")
    sender.sent("uagv/v2/acme/r1/state", b"s")
    sender.sent("elsewhere", b"x")
    out = sender.take_outbox()
    assert out == {
        2: [message_key("uagv/v2/acme/r1/order", b"o")] * 2,
        1: [message_key("uagv/v2/acme/r1/state", b"s")],
    }
    assert sender.take_outbox() == {}
    assert sender.outstanding == 0  # nothing is expected in the sending process itself


def test_expected_keys_wait_for_their_message_and_early_arrivals_count() -> None:
    receiver = DeliveryTracker()
    receiver.add_subscription("t/+")
    receiver.add_remote_subscription(0, "other")  # part of a multi-process drill
    early = Message("t/a", b"1")
    receiver.received(early)  # arrives before the runner passed its key on
    receiver.expect([message_key("t/a", b"1"), message_key("t/b", b"2")])
    assert receiver.outstanding == 1
    assert not receiver.wait_idle(0.05)  # t/b never came: counted lost
    assert receiver.lost == 1 and receiver.lost_topics == ["t/b"]
    assert receiver.delivered == 1


def test_an_early_arrival_nobody_expected_is_forgotten_at_the_barrier() -> None:
    receiver = DeliveryTracker()
    receiver.add_subscription("t/+")
    receiver.add_remote_subscription(0, "other")
    receiver.received(Message("t/a", b"retained from an earlier drill"))
    assert receiver.wait_idle(0.05)
    receiver.expect([message_key("t/a", b"retained from an earlier drill")])
    assert receiver.outstanding == 1  # not matched against the forgotten stray


def test_routes_follow_a_link_going_down() -> None:
    tracker = DeliveryTracker()
    tracker.add_subscription("t", owner=7)
    tracker.sent("t", b"1")
    tracker.set_down(7, True)
    tracker.sent("t", b"2")
    assert tracker.outstanding == 1


def test_a_thousand_robots_on_one_pattern_cost_one_match_per_new_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wildcard subscriptions are grouped by pattern: a new topic is matched against
    the distinct patterns, not against every robot's copy (a 1,000-robot drill's
    start-up spent 2 s of its workers' time in those matches)."""
    import simulator.delivery as delivery

    tracker = DeliveryTracker()
    for owner in range(1, 1001):
        tracker.add_subscription(HEARTBEAT_FILTER, owner)
    for process in (1, 2, 3):
        for _robot in range(250):
            tracker.add_remote_subscription(process, HEARTBEAT_FILTER)
    tracker.add_remote_subscription(4, STATE_FILTER)
    calls: list[tuple[str, str]] = []
    real = delivery.topic_matches

    def counting(pattern: str, topic: str) -> bool:
        calls.append((pattern, topic))
        return real(pattern, topic)

    monkeypatch.setattr(delivery, "topic_matches", counting)
    tracker.set_down(7, True)  # robot 7's link is cut: its copy expects nothing
    tracker.sent(HEARTBEAT, b"beat")
    tracker.sent(R1_STATE, b"state")
    assert len(calls) == 6  # 2 topics x (1 local + 2 remote distinct patterns): not 3,500+
    assert tracker.outstanding == 999
    out = tracker.take_outbox()
    assert {p: len(keys) for p, keys in out.items()} == {1: 250, 2: 250, 3: 250, 4: 1}
    assert sorted(tracker.patterns()) == [HEARTBEAT_FILTER] * 1000

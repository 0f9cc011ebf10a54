"""The delivery barrier that makes a drill over a real broker deterministic.

Every component's bus is wrapped in a :class:`TrackedBus` sharing one
:class:`DeliveryTracker`.  Publishing a message records how many in-drill subscriptions
will receive it; each receipt checks one off.  The drill runner calls
:meth:`DeliveryTracker.wait_idle` after each tick, so the next tick starts only once
everything sent in this one has arrived: what happens then depends on simulated time
and the seed, not on how busy the machine is.

Retained messages delivered at subscription time, and messages from outside the drill,
were never counted as sent and are ignored.  A QoS 0 message the broker dropped would
block forever, so waiting is bounded and what never arrived is counted as lost.

Faults (:mod:`simulator.faults`) cut links on purpose.  A bus marked *down*
(:meth:`TrackedBus.set_down`) publishes nothing (its messages are discarded before they
are counted) and hands nothing to its sinks, and the tracker does not expect deliveries
to its subscriptions, so a link loss neither blocks the barrier nor counts as lost.  A
bus that came back up delivers only messages counted as sent: one sent while it was
down but arriving late is discarded, whatever the broker's timing.  A bus may also drop
a seeded share of what it publishes (:meth:`TrackedBus.drop_outgoing`), uncounted too.
"""

from __future__ import annotations

import itertools
import logging
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable

import numpy as np

from drivers.bus import Bus, Message, Sink, topic_matches
from drivers.mqtt_pump import NetworkPump

log = logging.getLogger(__name__)
_owner_ids = itertools.count(1)


Key = tuple[str, bytes]
"""(topic, 12-byte digest of the payload): one message as the trackers count it"""


def message_key(topic: str, payload: bytes) -> Key:
    """CRC-32, Adler-32 and length of the payload: a fingerprint, not a cryptographic
    hash (nobody forges drill traffic).  Two different payloads of one topic would have to
    agree on all three to be confused, and even then the counts still balance: both were
    sent and both arrive.  zlib keeps the GIL for payloads under 5 kB, where hashlib
    releases it above 2 kB: with a hundred robots' network threads waiting, each release
    cost the stepping thread ~50 µs before it got the GIL back."""
    return (topic, _DIGEST.pack(zlib.crc32(payload), zlib.adler32(payload), len(payload)))


_DIGEST = struct.Struct("<III")


class DeliveryTracker:
    """Counts what was sent to this process's subscriptions and checks receipts off.

    A drill spread over several processes (:mod:`simulator.robot_host`) gives each its
    own tracker and tells each about the others' subscriptions
    (:meth:`add_remote_subscription`).  What a process sends to another is then listed
    in its :meth:`take_outbox`; the drill runner hands those keys to the receiving
    process's :meth:`expect` before it waits there.  A message that arrives before it
    was expected is held as *early* and checked off by :meth:`expect`; early arrivals
    nobody expected by the end of a :meth:`wait_idle` were never counted as sent
    (retained messages, strays) and are forgotten.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._exact: dict[str, list[int]] = {}
        """topic without wildcards -> owners subscribed to it (owner 0 is anonymous)"""
        self._wild: dict[str, list[int]] = {}
        """pattern with ``+`` or ``#`` -> owners subscribed to it (grouped by pattern: a
        thousand robots share one heartbeat pattern, and each new topic is matched
        against the distinct patterns only)"""
        self._remote_exact: dict[str, list[int]] = {}
        """topic -> the other processes subscribed to it, once per subscription"""
        self._remote_wild: dict[str, list[int]] = {}
        """pattern -> the other processes subscribed to it, once per subscription"""
        self._outbox: dict[int, list[Key]] = {}
        self._early: Counter[Key] = Counter()
        self._down: set[int] = set()
        self._routes: dict[str, tuple[int, tuple[int, ...]]] = {}
        """memo of :meth:`_route`, cleared whenever subscriptions or links change"""
        self._outstanding: Counter[Key] = Counter()
        self.lost = 0
        self.lost_topics: list[str] = []
        self.delivered = 0

    def add_subscription(self, pattern: str, owner: int = 0) -> None:
        with self._cond:
            self._routes.clear()
            if "+" in pattern or "#" in pattern:
                self._wild.setdefault(pattern, []).append(owner)
            else:
                self._exact.setdefault(pattern, []).append(owner)

    def patterns(self) -> list[str]:
        """The pattern of every subscription in this process (repeated as often as it
        was subscribed: each subscription receives its own copy)."""
        with self._cond:
            subscribed = {**self._exact, **self._wild}
            return sorted(t for t, owners in subscribed.items() for _o in owners)

    def add_remote_subscription(self, process: int, pattern: str) -> None:
        """Process ``process`` of the drill subscribed to ``pattern`` (once more)."""
        with self._cond:
            self._routes.clear()
            if "+" in pattern or "#" in pattern:
                self._remote_wild.setdefault(pattern, []).append(process)
            else:
                self._remote_exact.setdefault(pattern, []).append(process)

    def set_down(self, owner: int, down: bool) -> None:
        """While ``owner``'s link is down its subscriptions expect nothing."""
        with self._cond:
            self._routes.clear()
            if down:
                self._down.add(owner)
            else:
                self._down.discard(owner)

    def sent(self, topic: str, payload: bytes) -> None:
        key = message_key(topic, payload)
        with self._cond:
            route = self._routes.get(topic)
            if route is None:
                route = self._routes[topic] = self._route(topic)
            n, processes = route
            if n:
                self._outstanding[key] += n
            for process in processes:
                self._outbox.setdefault(process, []).append(key)

    def _route(self, topic: str) -> tuple[int, tuple[int, ...]]:
        """(receipts expected here, other processes once per receipt there) for ``topic``;
        memoised per topic in ``_routes`` until a subscription or a link changes."""
        down = self._down
        n = sum(1 for owner in self._exact.get(topic, ()) if owner not in down)
        for p, owners in self._wild.items():
            if topic_matches(p, topic):
                n += sum(1 for owner in owners if owner not in down)
        processes = list(self._remote_exact.get(topic, ()))
        for p, remote in self._remote_wild.items():
            if topic_matches(p, topic):
                processes += remote
        return n, tuple(processes)

    def take_outbox(self) -> dict[int, list[Key]]:
        """Keys sent to other processes since the last call, by receiving process."""
        with self._cond:
            out, self._outbox = self._outbox, {}
            return out

    def expect(self, keys: Iterable[Key]) -> None:
        """Count ``keys`` (sent by another process to this one) as outstanding."""
        with self._cond:
            for key in keys:
                if self._early.get(key, 0) > 0:
                    self._early[key] -= 1
                    if self._early[key] == 0:
                        del self._early[key]
                    self.delivered += 1
                else:
                    self._outstanding[key] += 1

    def expects(self, message: Message) -> bool:
        """True while ``message`` is counted as sent and not yet received by everyone."""
        key = message_key(message.topic, message.payload)
        with self._cond:
            return self._outstanding.get(key, 0) > 0

    def received(self, message: Message) -> None:
        key = message_key(message.topic, message.payload)
        with self._cond:
            if self._outstanding.get(key, 0) > 0:
                self._outstanding[key] -= 1
                if self._outstanding[key] == 0:
                    del self._outstanding[key]
                self.delivered += 1
                if not self._outstanding:
                    self._cond.notify_all()
            elif self._remote_exact or self._remote_wild:
                self._early[key] += 1

    @property
    def outstanding(self) -> int:
        with self._cond:
            return sum(self._outstanding.values())

    def wait_idle(self, timeout_s: float, pump: NetworkPump | None = None) -> bool:
        """Block until every counted message arrived; False (and count them lost) on timeout.

        ``pump``: the receiving transports are pumped (:mod:`drivers.mqtt_pump`): do
        their I/O while waiting."""
        if pump is not None:
            pump.run_until(lambda: not self._outstanding, timeout_s)
            timeout_s = 0.0
        deadline = time.monotonic() + timeout_s
        with self._cond:
            try:
                while self._outstanding:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.lost += sum(self._outstanding.values())
                        self.lost_topics.extend(t for (t, _p) in self._outstanding)
                        self._outstanding.clear()
                        return False
                    self._cond.wait(left)
                return True
            finally:
                self._early.clear()


class TrackedBus:
    """A :class:`~drivers.bus.Bus` that reports what it sends and receives to a tracker.

    While *held* (the start of a drill) publications are kept back, so that the runner
    can let every component subscribe, wait until the broker acknowledged every
    subscription, and only then release them: no start-up message is missed by a
    subscription that was not yet in place.
    """

    def __init__(self, inner: Bus, tracker: DeliveryTracker, *, held: bool = False) -> None:
        self._inner = inner
        self._tracker = tracker
        self._held: list[tuple[str, bytes, int, bool]] | None = [] if held else None
        self._owner = next(_owner_ids)
        self._down = False
        self._rejoined = False
        self._drop_fraction = 0.0
        self._drop_rng: np.random.Generator | None = None
        self.discarded_out = 0
        """messages not published because the link was down or they were dropped"""
        self.discarded_in = 0
        """messages not handed on because the link was down or they arrived late"""
        self.retained: set[str] = set()
        """topics this bus left a retained message on (cleared by an empty retained one)"""

    @property
    def down(self) -> bool:
        return self._down

    def set_down(self, down: bool) -> None:
        """Cut (True) or restore (False) this component's link as the drill sees it.

        The runner restores it only once the real connection and its subscriptions are
        back and the barrier is idle, so nothing counted can go missing."""
        if down == self._down:
            return
        self._down = down
        self._tracker.set_down(self._owner, down)
        if not down:
            self._rejoined = True

    def drop_outgoing(self, fraction: float, rng: np.random.Generator | None) -> None:
        """Drop ``fraction`` (0..1) of what is published, each draw from ``rng``;
        ``fraction`` 0 stops dropping."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within 0..1, got {fraction}")
        if fraction > 0 and rng is None:
            raise ValueError("dropping messages needs a seeded generator")
        self._drop_fraction = fraction
        self._drop_rng = rng if fraction > 0 else None

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        if self._held is not None:
            self._held.append((topic, payload, qos, retain))
            return
        if self._down or self._dropped():
            # Never counted: a message the drill throws away on purpose is not "lost".
            self.discarded_out += 1
            log.debug("drill: discarded outgoing message on %s (link fault)", topic)
            return
        self._tracker.sent(topic, payload)
        self._inner.publish(topic, payload, qos, retain)
        if retain:
            (self.retained.add if payload else self.retained.discard)(topic)

    def clear_retained(self) -> int:
        """Remove every retained message this bus left on the broker (an empty retained
        message per topic, QoS 1, not counted by the tracker); how many."""
        topics, self.retained = sorted(self.retained), set()
        for topic in topics:
            self._inner.publish(topic, b"", 1, True)
        return len(topics)

    def _dropped(self) -> bool:
        rng = self._drop_rng
        return rng is not None and float(rng.random()) < self._drop_fraction

    def hold(self) -> None:
        """Keep what is published back until :meth:`release`."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Send what was held back, in order, and stop holding."""
        held, self._held = self._held or [], None
        for topic, payload, qos, retain in held:
            self.publish(topic, payload, qos, retain)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        tracker = self._tracker

        def tracked(message: Message) -> None:
            if self._down or (self._rejoined and not tracker.expects(message)):
                # Down: the link is cut, nothing arrives.  Rejoined: a message sent while
                # it was down may still trickle in from the broker; dropping every
                # message not counted keeps what the component sees deterministic.
                self.discarded_in += 1
                return
            sink(message)  # enqueue first, so the runner never sees "idle" before the inbox has it
            tracker.received(message)

        tracker.add_subscription(pattern, self._owner)
        self._inner.subscribe(pattern, tracked, qos)

    def close(self) -> None:
        self._inner.close()

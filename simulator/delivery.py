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
import threading
import time
from collections import Counter

import numpy as np

from drivers.bus import Bus, Message, Sink, topic_matches

log = logging.getLogger(__name__)
_owner_ids = itertools.count(1)


class DeliveryTracker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._patterns: list[tuple[int, str]] = []
        """(owner, pattern): owner 0 is anonymous"""
        self._down: set[int] = set()
        self._outstanding: Counter[tuple[str, bytes]] = Counter()
        self.lost = 0
        self.lost_topics: list[str] = []
        self.delivered = 0

    def add_subscription(self, pattern: str, owner: int = 0) -> None:
        with self._cond:
            self._patterns.append((owner, pattern))

    def set_down(self, owner: int, down: bool) -> None:
        """While ``owner``'s link is down its subscriptions expect nothing."""
        with self._cond:
            if down:
                self._down.add(owner)
            else:
                self._down.discard(owner)

    def sent(self, topic: str, payload: bytes) -> None:
        with self._cond:
            n = sum(
                1
                for owner, p in self._patterns
                if owner not in self._down and topic_matches(p, topic)
            )
            if n:
                self._outstanding[(topic, payload)] += n

    def expects(self, message: Message) -> bool:
        """True while ``message`` is counted as sent and not yet received by everyone."""
        with self._cond:
            return self._outstanding.get((message.topic, message.payload), 0) > 0

    def received(self, message: Message) -> None:
        key = (message.topic, message.payload)
        with self._cond:
            if self._outstanding.get(key, 0) > 0:
                self._outstanding[key] -= 1
                if self._outstanding[key] == 0:
                    del self._outstanding[key]
                self.delivered += 1
                if not self._outstanding:
                    self._cond.notify_all()

    @property
    def outstanding(self) -> int:
        with self._cond:
            return sum(self._outstanding.values())

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until every counted message arrived; False (and count them lost) on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.lost += sum(self._outstanding.values())
                    self.lost_topics.extend(t for (t, _p) in self._outstanding)
                    self._outstanding.clear()
                    return False
                self._cond.wait(left)
        return True


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

    def _dropped(self) -> bool:
        rng = self._drop_rng
        return rng is not None and float(rng.random()) < self._drop_fraction

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

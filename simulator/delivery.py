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
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from drivers.bus import Bus, Message, Sink, topic_matches


class DeliveryTracker:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._patterns: list[str] = []
        self._outstanding: Counter[tuple[str, bytes]] = Counter()
        self.lost = 0
        self.lost_topics: list[str] = []
        self.delivered = 0

    def add_subscription(self, pattern: str) -> None:
        with self._cond:
            self._patterns.append(pattern)

    def sent(self, topic: str, payload: bytes) -> None:
        n = sum(1 for p in self._patterns if topic_matches(p, topic))
        if n:
            with self._cond:
                self._outstanding[(topic, payload)] += n

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

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        if self._held is not None:
            self._held.append((topic, payload, qos, retain))
            return
        self._tracker.sent(topic, payload)
        self._inner.publish(topic, payload, qos, retain)

    def release(self) -> None:
        """Send what was held back, in order, and stop holding."""
        held, self._held = self._held or [], None
        for topic, payload, qos, retain in held:
            self.publish(topic, payload, qos, retain)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        tracker = self._tracker

        def tracked(message: Message) -> None:
            sink(message)  # enqueue first, so the runner never sees "idle" before the inbox has it
            tracker.received(message)

        tracker.add_subscription(pattern)
        self._inner.subscribe(pattern, tracked, qos)

    def close(self) -> None:
        self._inner.close()

"""Running a stepped component in real time.

Components (controller, robot) do all their work in ``step()``.  :class:`RealtimeLoop`
calls ``step()`` on its own thread whenever a message arrives on the component's bus
(wake-up, so reactions are not delayed by the period) and at least every ``period_s``
for periodic work such as heartbeats and state publication.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from drivers.bus import Bus, Message, Sink

log = logging.getLogger(__name__)
T = TypeVar("T")


class WakingBus:
    """A bus whose deliveries also wake a :class:`RealtimeLoop`."""

    def __init__(self, inner: Bus) -> None:
        self._inner = inner
        self.wake = threading.Event()

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self._inner.publish(topic, payload, qos, retain)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        wake = self.wake

        def waking(message: Message) -> None:
            sink(message)
            wake.set()

        self._inner.subscribe(pattern, waking, qos)

    def close(self) -> None:
        self._inner.close()


class RealtimeLoop:
    def __init__(
        self,
        step: Callable[[], None],
        wake: threading.Event,
        *,
        period_s: float = 0.1,
        name: str = "hazfleet-loop",
    ) -> None:
        self._step = step
        self._wake = wake
        self._period_s = period_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` between two steps (components are not thread-safe), then wake."""
        with self._lock:
            result = fn()
        self._wake.set()
        return result

    def _run(self) -> None:
        # Step first (a component must not wait a period to start), then sleep until a
        # message or the period wakes us.  Clearing before the next step is race-free: a
        # message that arrives after the clear is still in the inbox that step drains.
        while not self._stop.is_set():
            with self._lock:
                try:
                    self._step()
                except Exception:  # one bad step must not end supervision of the fleet
                    log.exception("step failed; the loop goes on")
            self._wake.wait(self._period_s)
            self._wake.clear()

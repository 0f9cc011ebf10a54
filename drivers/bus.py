"""The one narrow port for messaging: :class:`Bus`.

A bus moves opaque payloads between topics.  Two implementations:

* :class:`InMemoryBus` here, for unit tests of logic (MQTT wildcard semantics, no broker);
* :class:`drivers.mqtt.MqttTransport`, paho-mqtt 2.x against a real broker.

Threading contract: a *sink* passed to :meth:`Bus.subscribe` may be called on the
transport's own thread (paho's network thread).  It must be cheap and thread-safe; it
must never do domain work.  Components therefore subscribe an :class:`Inbox` and drain
it on their own thread (``inbox.drain()``), which keeps paho's thread free.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


Sink = Callable[[Message], None]


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching with ``+`` and ``#`` (MQTT 3.1.1 section 4.7)."""
    p_parts = pattern.split("/")
    t_parts = topic.split("/")
    for i, p in enumerate(p_parts):
        if p == "#":
            return True
        if i >= len(t_parts):
            return False
        if p != "+" and p != t_parts[i]:
            return False
    return len(p_parts) == len(t_parts)


@dataclass(frozen=True, slots=True)
class Will:
    """Last will: what the broker publishes when this client vanishes."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class Bus(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Queue a message for sending; never blocks on the network."""

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        """Deliver every message whose topic matches ``pattern`` to ``sink``.

        Subscriptions survive reconnects (the transport re-subscribes)."""

    def close(self) -> None:
        """Disconnect cleanly (no last will is sent)."""


class Inbox:
    """A thread-safe queue used as a sink; drained by its owner on the owner's thread."""

    def __init__(self) -> None:
        self._q: queue.SimpleQueue[Message] = queue.SimpleQueue()

    def __call__(self, message: Message) -> None:
        self._q.put(message)

    def drain(self, limit: int | None = None) -> list[Message]:
        out: list[Message] = []
        while limit is None or len(out) < limit:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                break
        return out

    def get(self, timeout_s: float) -> Message | None:
        try:
            return self._q.get(timeout=timeout_s)
        except queue.Empty:
            return None


@dataclass
class _Sub:
    pattern: str
    sink: Sink
    qos: int


@dataclass
class InMemoryBus:
    """A broker in a dict, for unit tests: synchronous delivery, retained messages kept.

    Each component gets its own :meth:`client` view so that last wills can be simulated
    with :meth:`BusClient.vanish`.
    """

    _subs: list[_Sub] = field(default_factory=list)
    _retained: dict[str, Message] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    published: list[Message] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        msg = Message(topic, payload, qos, retain)
        with self._lock:
            self.published.append(msg)
            if retain:
                if payload:
                    self._retained[topic] = msg
                else:
                    self._retained.pop(topic, None)
            sinks = [s.sink for s in self._subs if topic_matches(s.pattern, topic)]
        for sink in sinks:
            sink(msg)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        with self._lock:
            self._subs.append(_Sub(pattern, sink, qos))
            retained = [m for t, m in self._retained.items() if topic_matches(pattern, t)]
        for msg in retained:
            sink(msg)

    def unsubscribe_sink(self, sink: Sink) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s.sink is not sink]

    def close(self) -> None:
        pass

    def client(self, will: Will | None = None) -> BusClient:
        return BusClient(self, will)


class BusClient:
    """One connection to an :class:`InMemoryBus`, with an optional last will."""

    def __init__(self, bus: InMemoryBus, will: Will | None) -> None:
        self._bus = bus
        self._will = will
        self._sinks: list[Sink] = []
        self.closed = False

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        if not self.closed:
            self._bus.publish(topic, payload, qos, retain)

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        self._sinks.append(sink)
        self._bus.subscribe(pattern, sink, qos)

    def close(self) -> None:
        self._detach()

    def vanish(self) -> None:
        """Drop the connection without a clean disconnect: the broker sends the will."""
        self._detach()
        if self._will is not None:
            w = self._will
            self._bus.publish(w.topic, w.payload, w.qos, w.retain)

    def _detach(self) -> None:
        self.closed = True
        for s in self._sinks:
            self._bus.unsubscribe_sink(s)
        self._sinks.clear()

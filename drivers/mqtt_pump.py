"""One caller-driven I/O loop for many MQTT connections: how a drill talks to the broker.

A :class:`~drivers.mqtt.MqttTransport` normally owns a network thread.  A drill process
holds many transports (its controller and up to 50 robots; a robot host process a few
hundred robots) and runs them in lock-step: it steps everything, then waits at a
delivery barrier until every message of the tick has arrived.  With a thread per
connection each publish woke that connection's thread through paho's socket pair, and
the interpreter lock then passed back and forth between the stepping thread and a
dozen network threads: measured, a third of a 10-robot drill's CPU was spent in the
network threads and the stepping thread waited ~0.24 ms in every ``publish()``.

A :class:`NetworkPump` replaces all of those threads by the thread that owns the drill.
Transports built with ``pump=`` start no thread; their socket is watched by the pump's
``selectors`` selector (epoll on Linux, so it also has no 1,024-descriptor limit), their
publishes are only queued, and all I/O - writing what is queued, reading and dispatching
what arrived, keepalive pings, reconnects with the transport's backoff - happens inside
:meth:`NetworkPump.run_until`, which the owner calls wherever it would otherwise wait:
at the barrier, while waiting for its worker processes or for the wall clock, and inside
the transports' own blocking calls (``connect``, ``wait_subscribed``, ``flush``,
``close``).  Message callbacks therefore run on the owner's thread, between its steps.

The price is the contract: a pumped transport sends and receives only while its owner
pumps.  That is what a lock-stepped simulation wants (nothing moves between barriers)
and what a service does not; ``hazfleet serve`` keeps the threaded transport.  The
broker sees no difference: every robot keeps its own connection and last will.  The
owner must pump at least every keepalive interval (10 s by default), which a drill
does at every tick and whenever it waits.  A connection attempt holds the pump for up
to the connect timeout (paho's TCP connect blocks): a drill's connections all go to one
broker, so when it cannot be reached they would all wait for it anyway.
"""

from __future__ import annotations

import contextlib
import selectors
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Pumped(Protocol):
    """What the pump needs of a connection (implemented by ``MqttTransport``)."""

    def pump_socket(self) -> Any:
        """The open socket, or None."""

    def pump_read(self) -> None:
        """Read and dispatch what arrived (the socket was reported readable)."""

    def pump_write(self) -> bool:
        """Write what is queued; True if some is still waiting for the socket."""

    def pump_service(self, now: float) -> float:
        """Keepalive, reconnect attempts, a stop in progress; the monotonic time by
        which it wants to be serviced again."""


class NetworkPump:
    """A ``selectors`` loop over many connections, run by its owner's thread.

    Not thread-safe by design: one thread (the first to call :meth:`run_until`) owns it;
    a call from another thread, or from inside a callback of a pumped transport (which
    would re-enter the loop), raises ``RuntimeError``.  Only :meth:`want_write` may be
    called from any thread (a publish elsewhere waits for the owner's next pump).
    """

    SERVICE_EVERY_S = 0.25
    """how often every member is serviced (keepalive, a stop's deadline) at the latest"""
    MAX_WAIT_S = 0.05
    """one ``select()`` never blocks longer than this, so a deadline is never overshot
    by more"""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._members: dict[int, Pumped] = {}
        self._writers: dict[int, Pumped] = {}
        """members that queued something since their last write (set by callbacks)"""
        self._blocked: dict[int, tuple[Any, Pumped]] = {}
        """members whose socket would block: (socket, member), watched for writability"""
        self._next_service = 0.0
        self._new: list[Pumped] = []
        """members added since the last pass: serviced (connected) in the next one"""
        self._owner: int | None = None
        self._pumping = False
        self._closed = False

    # ----------------------------------------------------------------- membership

    def add(self, member: Pumped) -> None:
        """Service ``member`` from the next pass on (that pass services it at once, and
        only it: a worker connecting 250 robots one by one must not service all the
        others 250 times)."""
        self._members[id(member)] = member
        self._new.append(member)

    def remove(self, member: Pumped) -> None:
        self._members.pop(id(member), None)
        self._new = [m for m in self._new if m is not member]
        self._writers.pop(id(member), None)
        self._blocked.pop(id(member), None)

    def watch(self, sock: Any, member: Pumped) -> None:
        """``member``'s socket is open: dispatch its readable events to it."""
        self._forget(sock)
        self._sel.register(sock, selectors.EVENT_READ, member)

    def unwatch(self, sock: Any) -> None:
        """The socket is about to close."""
        self._forget(sock)
        for key, (blocked_sock, _member) in list(self._blocked.items()):
            if blocked_sock is sock:
                del self._blocked[key]

    def want_write(self, member: Pumped) -> None:
        """``member`` queued something to send (paho's register-write hook).

        On the owner's thread between passes it is written at once (a non-blocking
        send): what a controller publishes early in its step is on its way, and read by
        the robots' process, while the step goes on.  Otherwise (another thread, inside
        a pass, a socket that would block) the next pass writes it."""
        key = id(member)
        if (
            not self._pumping
            and self._owner == threading.get_ident()
            and key in self._members
            and key not in self._blocked
            and not self._closed
        ):
            if member.pump_write():
                self._block(key, member)
            return
        self._writers[key] = member

    def service_soon(self, at: float) -> None:
        """Service every member no later than monotonic time ``at`` (a reconnect due)."""
        self._next_service = min(self._next_service, at)

    @property
    def members(self) -> int:
        return len(self._members)

    def close(self) -> None:
        self._closed = True
        self._sel.close()

    # ----------------------------------------------------------------- the loop

    def run_until(
        self,
        done: Callable[[], bool],
        timeout_s: float,
        wake_on: Sequence[Any] = (),
    ) -> bool:
        """Do the connections' I/O until ``done()`` or ``timeout_s`` wall seconds passed;
        whether ``done()`` held.  At least one pass runs even when it already holds.

        ``wake_on``: other file objects (e.g. a worker's pipe) whose readability should
        end a wait at once, for a ``done`` that reads them."""
        self._enter()
        deadline = time.monotonic() + max(0.0, timeout_s)
        extra = self._watch_extra(wake_on)
        try:
            self._pass(0.0)
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._pass(min(left, self.MAX_WAIT_S))
            return True
        finally:
            for f in extra:
                self._forget(f)
            self._pumping = False

    def poll(self) -> None:
        """One pass without waiting: write what is queued, read what arrived."""
        self.run_until(lambda: True, 0.0)

    def sleep(self, seconds: float) -> None:
        """Pump for ``seconds`` wall seconds (a paced drill waiting for the clock)."""
        self.run_until(lambda: False, seconds)

    def _enter(self) -> None:
        if self._closed:
            raise RuntimeError("network pump is closed")
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError("a network pump is driven by one thread only")
        if self._pumping:
            raise RuntimeError("network pump re-entered from one of its own callbacks")
        self._pumping = True

    def _watch_extra(self, files: Sequence[Any]) -> list[Any]:
        watched = []
        for f in files:
            try:
                self._sel.register(f, selectors.EVENT_READ, None)
            except (KeyError, ValueError):  # already watched / closed: just poll it
                continue
            watched.append(f)
        return watched

    def _forget(self, fileobj: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # not watched, or already closed
            self._sel.unregister(fileobj)

    def _pass(self, wait_s: float) -> None:
        now = time.monotonic()
        if now >= self._next_service:
            self._service(now)
        elif self._new:
            new, self._new = self._new, []
            for member in new:
                self._next_service = min(self._next_service, member.pump_service(now))
        if self._writers:
            self._write()
        if self._writers or self._next_service <= time.monotonic():
            wait_s = 0.0
        else:
            wait_s = min(wait_s, max(0.0, self._next_service - time.monotonic()))
        if not self._sel.get_map():
            if wait_s > 0:
                time.sleep(wait_s)
            return
        for key, mask in self._sel.select(wait_s):
            member = key.data
            if member is None:  # a wake_on file: the caller's done() looks at it
                continue
            if mask & selectors.EVENT_WRITE:
                self._writers[id(member)] = member
            if mask & selectors.EVENT_READ:
                member.pump_read()
        if self._writers:
            self._write()  # what the reads queued (PUBACKs, a sink's publish)

    def _service(self, now: float) -> None:
        self._new = []
        nxt = now + self.SERVICE_EVERY_S
        for member in list(self._members.values()):
            nxt = min(nxt, member.pump_service(now))
        self._next_service = nxt

    def _write(self) -> None:
        writers, self._writers = self._writers, {}
        for key, member in writers.items():
            if member.pump_write():
                self._block(key, member)
            elif key in self._blocked:
                sock, _m = self._blocked.pop(key)
                self._set_events(sock, selectors.EVENT_READ, member)

    def _block(self, key: int, member: Pumped) -> None:
        """The socket would block: wait for it to become writable."""
        if key in self._blocked:
            return
        sock = member.pump_socket()
        if sock is None:
            return
        self._blocked[key] = (sock, member)
        self._set_events(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, member)

    def _set_events(self, sock: Any, events: int, member: Pumped) -> None:
        with contextlib.suppress(KeyError, ValueError):  # closed: its reconnect re-registers
            self._sel.modify(sock, events, member)

"""The real :class:`drivers.bus.Bus`: paho-mqtt 2.x speaking MQTT 3.1.1 to a broker.

Threading model
---------------
One thread per transport, ``mqtt-<client id>``, owns the paho client's network I/O: it
opens the connection, calls ``client.loop()`` and decides when to reconnect.  Every paho
callback (``on_connect``, ``on_message``, ...) therefore runs on that thread.  Other
threads only *queue* work for it: :meth:`MqttTransport.publish` hands the packet to paho,
which wakes the network thread through its internal socket pair.

Why our own loop instead of ``loop_start()``
--------------------------------------------
paho's ``loop_forever``/``loop_start`` reconnects with a fixed doubling delay in whole
seconds and no jitter, and with ``reconnect_on_failure=True`` it also reconnects *inside*
``_handle_connack`` (the reason that flag was added, eclipse-paho/paho.mqtt.python#530).
We want exponential backoff with full jitter from a seeded generator, reset after every
successful CONNACK, and a first connect that fails after ``connect_timeout_s``.  So the
client is built with ``reconnect_on_failure=False`` and our thread calls ``reconnect()``
and ``loop()`` itself - exactly what ``loop_forever`` does, with our policy in between.

Because ``client._thread`` stays ``None`` in this mode, paho would write packets directly
from the *caller's* thread inside ``publish()`` (``_packet_queue``) and race our network
thread on the same socket.  Registering an ``on_socket_register_write`` callback (the
external-loop hook, here a no-op) switches that off: callers only queue and wake the
loop, and all socket writes happen on our thread.

Delayed ACKs from a broker without TCP_NODELAY
----------------------------------------------
We set TCP_NODELAY on our socket, but a broker without it (the Debian Mosquitto's default
configuration has no ``set_tcp_nodelay``) holds each small packet back under Nagle's
algorithm until the previous one is acknowledged, and Linux delays that ACK by up to
40 ms when the client has nothing to send back (QoS 0 messages).  After every
``loop()`` pass the network thread re-arms ``TCP_QUICKACK`` (Linux only; it is not
sticky), which also sends any ACK still pending at once.  Measured: the drill's delivery
barrier on the system Mosquitto went from 3.7 ms to 0.3 ms (docs/performance.md).

Lock order
----------
``_lock`` (connection state, subscriptions, pending messages) may be held while calling
into paho; paho may hold its own mutexes while calling ``on_disconnect``/``on_publish``,
so those callbacks never take ``_lock``.  ``_sub_lock`` is a leaf lock (nothing is
acquired or called while holding it).
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from drivers.bus import Message, Sink, Will, topic_matches
from drivers.errors import ConfigError, TransportError
from drivers.mqtt_pump import NetworkPump

logger = logging.getLogger(__name__)

_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
"""Linux only; elsewhere delayed ACKs stay as the system has them"""

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
_URL_SOURCE = "broker url"


# ---------------------------------------------------------------------------- settings


class TlsSettings(BaseModel):
    """TLS for ``mqtts://`` brokers.  Paths are PEM files; ``None`` means system default.

    ``insecure=True`` skips checking that the server certificate names the host
    (paho ``tls_insecure_set``); the certificate chain is still verified against
    ``ca_file``.  Only for test rigs with self-signed certificates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False

    @model_validator(mode="after")
    def _key_needs_cert(self) -> TlsSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file given without cert_file")
        return self


class MqttSettings(BaseModel):
    """How to reach the broker.  Times in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "embedded"
    """``embedded`` (start a local broker), ``mqtt://host:port`` or ``mqtts://host:port``."""
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsSettings | None = None
    keepalive_s: int = Field(default=10, ge=1, le=65535)
    reconnect_min_s: float = Field(default=0.2, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url_is_valid(cls, url: str) -> str:
        if url.strip() != "embedded":
            try:
                parse_broker_url(url)
            except ConfigError as exc:
                raise ValueError(exc.problem) from exc
        return url.strip()

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"reconnect_max_s ({self.reconnect_max_s}) is below "
                f"reconnect_min_s ({self.reconnect_min_s})"
            )
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self

    @property
    def use_tls(self) -> bool:
        """TLS when the url says ``mqtts://`` or a ``tls`` section is present."""
        return self.tls is not None or self.url.lower().startswith("mqtts://")


def parse_broker_url(url: str) -> tuple[str, int, bool]:
    """``mqtt://host:port`` -> ``(host, port, use_tls)``; port defaults to 1883 / 8883.

    Raises :class:`ConfigError` (source ``"broker url"``) for anything else, including
    ``embedded`` (which names no host: use :func:`drivers.broker.resolve_broker`) and
    credentials in the url (they belong in ``username``/``password``, not in logs).
    """
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise ConfigError(_URL_SOURCE, repr(url), "empty; expected mqtt://host:port")
    if text == "embedded":
        raise ConfigError(
            _URL_SOURCE, text, "'embedded' names no host; start it with resolve_broker()"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # bad port number, unbalanced IPv6 brackets
        raise ConfigError(_URL_SOURCE, text, f"bad host or port ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts"):
        shown = f"'{parts.scheme}://'" if parts.scheme else "missing"
        raise ConfigError(_URL_SOURCE, text, f"scheme {shown}; expected mqtt:// or mqtts://")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            _URL_SOURCE, text, "credentials in the url; use the username/password settings"
        )
    host = parts.hostname
    if not host:
        raise ConfigError(_URL_SOURCE, text, "missing host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(_URL_SOURCE, text, "unexpected path, query or fragment")
    use_tls = scheme == "mqtts"
    if port is None:
        port = DEFAULT_TLS_PORT if use_tls else DEFAULT_PORT
    if port == 0:
        raise ConfigError(_URL_SOURCE, text, "port 0 is not a broker port")
    return host, port, use_tls


# ---------------------------------------------------------------------------- transport


@dataclass(frozen=True, slots=True)
class TransportStats:
    """Counters since the transport was created (a snapshot)."""

    messages_in: int
    messages_out: int
    dropped_out: int
    """QoS 0 messages published while disconnected (MQTT: at most once) or refused."""
    reconnects: int
    """Successful connects after the first one."""


@dataclass(frozen=True, slots=True)
class _Subscription:
    pattern: str
    sink: Sink
    qos: int


def _check_topic(topic: str) -> None:
    if not topic or "+" in topic or "#" in topic or "\0" in topic:
        raise ValueError(f"invalid MQTT topic for publish: {topic!r}")


def _check_pattern(pattern: str) -> None:
    levels = pattern.split("/") if pattern else []
    ok = bool(levels) and "\0" not in pattern
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            ok = False
        if "+" in level and level != "+":
            ok = False
    if not ok:
        raise ValueError(f"invalid MQTT topic filter: {pattern!r}")


def _check_qos(qos: int) -> None:
    if qos not in (0, 1, 2):
        raise ValueError(f"QoS must be 0, 1 or 2, not {qos!r}")


def _more_to_read(sock: Any) -> bool:
    """Whether a non-blocking socket has bytes (or its end) waiting, without reading them."""
    pending = getattr(sock, "pending", None)
    if pending is not None:  # TLS: only what is already decrypted; the rest next pass
        return bool(pending() > 0)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # let paho read the error and close the connection
    return True  # data, or b"" at the end of the stream (paho sees the loss)


class MqttTransport:
    """A :class:`drivers.bus.Bus` over a real broker (MQTT 3.1.1, clean session).

    ``birth()`` is published after every (re)connect, ``farewell()`` in :meth:`close`
    before a clean DISCONNECT, and ``will`` is the MQTT last will (VDA 5050 uses these
    for the ``connection`` topic: ONLINE / OFFLINE / CONNECTIONBROKEN).  ``birth`` runs
    on the network thread: it must only build a message.

    While disconnected, QoS 0 publishes are dropped (counted in ``stats.dropped_out``)
    and QoS 1/2 publishes are kept (up to ``MAX_PENDING``) and sent after the reconnect.
    """

    MAX_PENDING = 10_000
    _LOOP_TIMEOUT_S = 0.5  # select() timeout; publish() wakes the loop earlier
    _FAREWELL_TIMEOUT_S = 2.0  # how long close() waits for the farewell's PUBACK
    _MAX_INFLIGHT = 100  # QoS>0 messages awaiting PUBACK at once (paho default is 20)
    _MAX_UNFLUSHED = 100_000
    _MAX_ROUTES = 50_000  # topics remembered (a 1,000-robot controller sees ~5,000)
    _PUMP_READS_PER_PASS = 256  # packets read from one socket before the next socket's turn

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        settings: MqttSettings | None = None,
        will: Will | None = None,
        birth: Callable[[], Message] | None = None,
        farewell: Callable[[], Message] | None = None,
        seed: int | None = None,
        pump: NetworkPump | None = None,
    ) -> None:
        """``pump``: do all I/O inside that :class:`~drivers.mqtt_pump.NetworkPump`'s
        ``run_until`` (called by its owner thread) instead of on a network thread of
        this transport's own; see :mod:`drivers.mqtt_pump` for the contract."""
        if not client_id:
            raise ValueError("client_id must not be empty (MQTT 3.1.1 clean sessions need one)")
        self._host = host
        self._port = port
        self._client_id = client_id
        self._settings = settings if settings is not None else MqttSettings()
        self._will = will
        self._birth = birth
        self._farewell = farewell
        self._rng = random.Random(seed)

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sub_lock = threading.Lock()
        self._sub_cond = threading.Condition(self._sub_lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pump = pump
        self._pumped = False  # added to the pump (the pumped counterpart of _thread)
        self._retry_at = 0.0  # pumped: monotonic time of the next connection attempt

        # Written on the network thread; plain bools/ints are atomic to read elsewhere.
        self._connected = False
        self._ever_connected = False
        self._closed = False
        self._refusal: str | None = None
        self._last_error: BaseException | None = None
        self._attempt = 0  # failed attempts since the last CONNACK (backoff exponent)
        self._outage_logged = False
        self._drop_warned = False

        self._subs: tuple[_Subscription, ...] = ()  # replaced, never mutated: lock-free reads
        self._routes: dict[str, tuple[_Subscription, ...]] = {}
        self._routes_of: tuple[_Subscription, ...] = self._subs
        self._pending: deque[Message] = deque()
        # For flush(); bounded so a message that is never acknowledged cannot grow it
        # forever (flush then waits only for the newest _MAX_UNFLUSHED).
        self._unflushed: deque[mqtt.MQTTMessageInfo] = deque(maxlen=self._MAX_UNFLUSHED)
        self._unacked_subs: set[int] = set()
        self._early_subacks: set[int] = set()

        self._in = 0
        self._out = 0
        self._dropped = 0
        self._reconnects = 0

        self._client = self._make_client()

    # -------------------------------------------------------------------- public API

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def connected(self) -> bool:
        """True between a successful CONNACK and the loss of that connection."""
        return self._connected

    @property
    def stats(self) -> TransportStats:
        return TransportStats(self._in, self._out, self._dropped, self._reconnects)

    def connect(self) -> None:
        """Start the network thread and block until the first CONNACK.

        Raises :class:`TransportError` if the broker refuses the connection (bad
        credentials, ...) or none is accepted within ``connect_timeout_s``; failed
        attempts in between are retried with the reconnect backoff.
        """
        with self._lock:
            if self._closed:
                raise TransportError(f"MQTT client {self._client_id} is closed")
            if self._thread is not None or self._pumped:
                return
            self._refusal = None
            self._last_error = None
            if self._pump is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"mqtt-{self._client_id}", daemon=True
                )
        timeout_s = self._settings.connect_timeout_s
        if self._pump is not None:
            self._pumped = True
            self._retry_at = 0.0
            self._pump.add(self)
            self._pump.run_until(
                lambda: self._ever_connected or self._refusal is not None, timeout_s
            )
        else:
            assert self._thread is not None
            deadline = time.monotonic() + timeout_s
            self._thread.start()
            with self._cond:
                while not self._ever_connected and self._refusal is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
        with self._lock:
            ok, refusal, error = self._ever_connected, self._refusal, self._last_error
        if ok:
            return
        self._shutdown_thread()
        with self._lock:  # leave the transport ready for another connect() attempt
            self._thread = None
            self._pumped = False
            self._stop.clear()
        where = f"MQTT broker {self._host}:{self._port}"
        if refusal is not None:
            raise TransportError(f"{where} refused client {self._client_id}: {refusal}")
        if error is not None:
            raise TransportError(
                f"cannot connect to {where} within {timeout_s:g} s: {error}"
            ) from error
        raise TransportError(f"no CONNACK from {where} within {timeout_s:g} s")

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Queue a message; never waits for the network.

        Raises ``ValueError`` for an invalid topic or QoS (a caller bug, not a transport
        fault)."""
        _check_topic(topic)
        _check_qos(qos)
        with self._lock:
            if self._closed:
                self._dropped += 1
                logger.warning("MQTT %s: publish on %s after close dropped", self._client_id, topic)
                return
            if self._connected:
                self._send(Message(topic, payload, qos, retain))
                return
            if qos == 0:
                self._count_drop(topic)
                return
            if len(self._pending) >= self.MAX_PENDING:
                lost = self._pending.popleft()
                self._dropped += 1
                logger.warning(
                    "MQTT %s: offline queue full (%d), dropped oldest message on %s",
                    self._client_id,
                    self.MAX_PENDING,
                    lost.topic,
                )
            self._pending.append(Message(topic, payload, qos, retain))

    def subscribe(self, pattern: str, sink: Sink, qos: int = 0) -> None:
        """Deliver messages matching ``pattern`` to ``sink`` (on the network thread).

        The subscription is remembered and renewed after every reconnect.  Use
        :meth:`wait_subscribed` to know when the broker has acknowledged it."""
        _check_pattern(pattern)
        _check_qos(qos)
        with self._lock:
            self._subs = (*self._subs, _Subscription(pattern, sink, qos))
            if self._connected:
                same = [s.qos for s in self._subs if s.pattern == pattern]
                self._send_subscribe([(pattern, max(same))])

    def wait_subscribed(self, timeout_s: float) -> bool:
        """Block until connected and every SUBSCRIBE sent so far is acknowledged."""
        if self._pump is not None:
            return self._pump.run_until(
                lambda: self._connected and not self._unacked_subs, timeout_s
            )
        deadline = time.monotonic() + timeout_s
        with self._sub_cond:
            while not (self._connected and not self._unacked_subs):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._sub_cond.wait(min(remaining, 0.05))
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until every message published so far has left: written to the socket
        (QoS 0) or acknowledged by the broker (QoS 1/2).  False on timeout, if a QoS 0
        message was lost with a connection, or if messages are still waiting for one.
        A send-side barrier: it says nothing about delivery to subscribers."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            waiting = list(self._unflushed)
            pending = bool(self._pending)
        if self._pump is not None:
            left = list(waiting)

            def flushed() -> bool:
                while left and self._info_done(left[0]):
                    left.pop(0)
                return not left

            if not self._pump.run_until(flushed, timeout_s) or not all(
                self._info_published(i) for i in waiting
            ):
                return False
            waiting = []
        for info in waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wait_info(info, remaining):
                return False
        with self._lock:
            self._prune_unflushed()
        return not pending

    def close(self) -> None:
        """Publish ``farewell()`` (waiting a bounded time for its PUBACK), then DISCONNECT.

        A clean DISCONNECT means the broker discards the last will.  Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connected = self._connected
            started = self._thread is not None or self._pumped
        if not started:
            return
        if connected and self._farewell is not None:
            self._publish_farewell(self._farewell)
        self._shutdown_thread()
        logger.debug("MQTT %s closed", self._client_id)

    def drop_connection_for_test(self) -> None:
        """Cut the TCP connection without sending DISCONNECT (the broker then publishes
        the last will); the transport reconnects by itself.  For tests and drills."""
        sock = self.current_socket()
        if sock is None:
            raise TransportError(f"MQTT {self._client_id}: not connected, nothing to drop")
        logger.info("MQTT %s: dropping the connection on purpose", self._client_id)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            raise TransportError(f"MQTT {self._client_id}: cannot drop socket: {exc}") from exc

    def current_socket(self) -> socket.socket | None:
        """The live client socket, or None (diagnostics and tests: read, don't use)."""
        sock: Any = self._client.socket()
        return sock if isinstance(sock, socket.socket) else None

    # -------------------------------------------------------------------- internals

    def _make_client(self) -> mqtt.Client:
        s = self._settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        client.connect_timeout = s.connect_timeout_s
        client.max_inflight_messages_set(self._MAX_INFLIGHT)
        if s.username is not None:
            password = s.password.get_secret_value() if s.password is not None else None
            client.username_pw_set(s.username, password)
        if s.use_tls:
            self._configure_tls(client, s.tls or TlsSettings())
        if self._will is not None:
            w = self._will
            try:
                client.will_set(w.topic, w.payload, w.qos, w.retain)
            except ValueError as exc:
                raise TransportError(f"invalid last will on {w.topic!r}: {exc}") from exc
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_close = self._on_socket_close
        try:
            # Records host/port/keepalive only (no network I/O); our thread connects.
            client.connect_async(self._host, self._port, s.keepalive_s)
        except ValueError as exc:
            raise TransportError(f"invalid broker address {self._host}:{self._port}") from exc
        return client

    @staticmethod
    def _configure_tls(client: mqtt.Client, tls: TlsSettings) -> None:
        def opt(path: Path | None) -> str | None:
            return str(path) if path is not None else None

        try:
            client.tls_set(
                ca_certs=opt(tls.ca_file), certfile=opt(tls.cert_file), keyfile=opt(tls.key_file)
            )
            if tls.insecure:
                client.tls_insecure_set(True)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise TransportError(f"TLS setup failed: {exc}") from exc

    def _send(self, msg: Message) -> None:
        """Hand one message to paho.  Caller holds ``_lock``."""
        try:
            info = self._client.publish(msg.topic, msg.payload, msg.qos, msg.retain)
        except ValueError as exc:
            raise TransportError(f"paho refused to publish on {msg.topic!r}: {exc}") from exc
        rc = info.rc
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._out += 1
            self._prune_unflushed()
            self._unflushed.append(info)
        elif rc == MQTTErrorCode.MQTT_ERR_NO_CONN and msg.qos > 0:
            # No socket (connection just lost): paho keeps it and resends it after the
            # next CONNACK; flush() cannot see it (paho marks its info as failed).
            self._out += 1
        elif rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            self._count_drop(msg.topic)
        else:
            self._dropped += 1
            logger.warning(
                "MQTT %s: publish on %s failed: %s",
                self._client_id,
                msg.topic,
                mqtt.error_string(rc),
            )

    def _prune_unflushed(self) -> None:
        """Forget messages that have left (caller holds ``_lock``)."""
        while self._unflushed and self._info_done(self._unflushed[0]):
            self._unflushed.popleft()

    @staticmethod
    def _info_done(info: mqtt.MQTTMessageInfo) -> bool:
        try:
            return info.is_published()
        except (RuntimeError, ValueError):  # lost with the connection: it will not leave
            return True

    @staticmethod
    def _info_published(info: mqtt.MQTTMessageInfo) -> bool:
        try:
            return info.is_published()
        except (RuntimeError, ValueError):  # lost with the connection
            return False

    @staticmethod
    def _wait_info(info: mqtt.MQTTMessageInfo, timeout_s: float) -> bool:
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):  # lost with the connection
            return False
        return MqttTransport._info_published(info)

    def _count_drop(self, topic: str) -> None:
        self._dropped += 1
        if not self._drop_warned:  # once per outage, the rest at DEBUG
            self._drop_warned = True
            logger.warning(
                "MQTT %s: not connected, dropping QoS 0 messages (first on %s)",
                self._client_id,
                topic,
            )
        else:
            logger.debug("MQTT %s: dropped QoS 0 message on %s", self._client_id, topic)

    def _send_subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Send one SUBSCRIBE and remember its mid until the SUBACK.  Caller holds _lock."""
        try:
            rc, mid = self._client.subscribe(topics)
        except ValueError as exc:
            raise TransportError(f"paho refused to subscribe to {topics!r}: {exc}") from exc
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            logger.warning(
                "MQTT %s: SUBSCRIBE %s not sent (%s); will retry after reconnect",
                self._client_id,
                [t for t, _ in topics],
                mqtt.error_string(rc),
            )
            return
        with self._sub_cond:
            if mid in self._early_subacks:  # the SUBACK beat us here
                self._early_subacks.discard(mid)
            else:
                self._unacked_subs.add(mid)

    def _publish_farewell(self, farewell: Callable[[], Message]) -> None:
        try:
            msg = farewell()
            info = self._client.publish(msg.topic, msg.payload, msg.qos, msg.retain)
            timeout_s = min(self._FAREWELL_TIMEOUT_S, self._settings.connect_timeout_s)
            if self._pump is not None:
                self._pump.run_until(lambda: self._info_done(info), timeout_s)
            else:
                info.wait_for_publish(timeout_s)
        except (ValueError, RuntimeError) as exc:  # paho: invalid / not queued / failed
            logger.warning("MQTT %s: farewell not published: %s", self._client_id, exc)
            return
        if info.is_published():
            self._out += 1
        else:
            logger.warning(
                "MQTT %s: farewell on %s not acknowledged in time", self._client_id, msg.topic
            )

    def _shutdown_thread(self) -> None:
        """Stop the network thread after a clean DISCONNECT (bounded wait)."""
        self._stop.set()
        self._client.disconnect()  # queues DISCONNECT and wakes the loop
        if self._pump is not None:
            self._shutdown_pumped()
            return
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._settings.connect_timeout_s + self._FAREWELL_TIMEOUT_S)
            if thread.is_alive():
                logger.warning("MQTT %s: network thread did not stop in time", self._client_id)
        sock = self.current_socket()
        if sock is not None and (thread is None or not thread.is_alive()):
            sock.close()  # DISCONNECT could not be flushed; nobody else uses the socket now
        self._connected = False

    def _next_delay_s(self) -> float:
        """Exponential backoff with full jitter in [reconnect_min_s, cap]."""
        s = self._settings
        cap = min(s.reconnect_max_s, s.reconnect_min_s * 2.0 ** min(self._attempt, 30))
        self._attempt += 1
        return self._rng.uniform(s.reconnect_min_s, cap)

    # -------------------------------------------------------------------- network thread

    def _run(self) -> None:
        stop_deadline: float | None = None
        try:
            while not (self._stop.is_set() and self._client.socket() is None):
                if self._stop.is_set():
                    # Give the queued DISCONNECT a bounded time to leave, then give up.
                    now = time.monotonic()
                    if stop_deadline is None:
                        stop_deadline = now + self._FAREWELL_TIMEOUT_S
                    elif now > stop_deadline:
                        break
                if self._client.socket() is None:
                    if not self._open():
                        self._stop.wait(self._next_delay_s())
                    continue
                rc = self._client.loop(self._LOOP_TIMEOUT_S)
                self._ack_now()
                if (
                    rc != MQTTErrorCode.MQTT_ERR_SUCCESS
                    and self._client.socket() is None
                    and not self._stop.is_set()
                ):
                    self._stop.wait(self._next_delay_s())
        except Exception:  # the thread must not die silently: it is the only one doing I/O
            logger.exception("MQTT %s: network thread crashed", self._client_id)
            self._connected = False

    # -------------------------------------------------------------------- pumped I/O
    # With ``pump=`` the pump's owner thread calls these instead of ``_run`` running.

    def pump_socket(self) -> Any:
        return self._client.socket()

    def pump_read(self) -> None:
        """Read every packet that arrived (up to a fair share), then acknowledge."""
        client = self._client
        for _ in range(self._PUMP_READS_PER_PASS):
            rc = client.loop_read()
            sock = client.socket()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or sock is None:
                self._pump_lost()
                return
            if not _more_to_read(sock):
                break
        self._ack_now()

    def pump_write(self) -> bool:
        client = self._client
        if client.socket() is None:
            return False
        rc = client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or client.socket() is None:
            self._pump_lost()
            return False
        return client.want_write()

    def pump_service(self, now: float) -> float:
        """What ``_run`` does between two ``loop()`` passes: keepalive and reconnects."""
        later = now + NetworkPump.SERVICE_EVERY_S
        client = self._client
        if self._stop.is_set():
            return later  # close() pumps until the DISCONNECT left, bounded
        if client.socket() is None:
            if now < self._retry_at:
                return self._retry_at
            if self._open():
                return later
            self._retry_at = now + self._next_delay_s()
            return self._retry_at
        if client.want_write() and self._pump is not None:
            self._pump.want_write(self)  # a wake-up lost between threads
        if client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS or client.socket() is None:
            self._pump_lost()  # no PINGRESP in time: paho closed the socket
            return min(later, self._retry_at)
        return later

    def _pump_lost(self) -> None:
        """The connection is gone (or was closed on purpose): schedule the next attempt."""
        if self._client.socket() is not None or self._stop.is_set() or self._pump is None:
            return
        self._retry_at = time.monotonic() + self._next_delay_s()
        self._pump.service_soon(self._retry_at)

    def _shutdown_pumped(self) -> None:
        """Pump until the DISCONNECT left (bounded), then leave the pump."""
        pump = self._pump
        assert pump is not None
        if self._pumped:
            pump.run_until(lambda: self._client.socket() is None, self._FAREWELL_TIMEOUT_S)
            pump.remove(self)
            self._pumped = False
        sock = self.current_socket()
        if sock is not None:  # the DISCONNECT could not leave in time
            pump.unwatch(sock)
            sock.close()
        self._connected = False

    def _open(self) -> bool:
        """One connection attempt (TCP + CONNECT); True if the socket is up."""
        try:
            self._client.reconnect()
        except (OSError, ValueError) as exc:
            with self._cond:
                self._last_error = exc
                self._cond.notify_all()
            if not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "MQTT %s: cannot reach %s:%d: %s (retrying with backoff)",
                    self._client_id,
                    self._host,
                    self._port,
                    exc,
                )
            else:
                logger.debug("MQTT %s: connect attempt failed: %s", self._client_id, exc)
            return False
        if self._stop.is_set():  # close() ran while we were connecting
            self._client.disconnect()
        return True

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Nagle + delayed ACK added ~40 ms to small publishes on loopback (p99 34 ms vs 2 ms).
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError) as exc:
            logger.warning("MQTT %s: cannot set TCP_NODELAY: %s", self._client_id, exc)
        if self._pump is not None:
            self._pump.watch(sock, self)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._pump is not None:
            self._pump.unwatch(sock)

    def _ack_now(self) -> None:
        """Acknowledge what arrived now, not after the delayed-ACK timer (module doc)."""
        sock = self._client.socket()
        if _TCP_QUICKACK is not None and isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed under us: the loop notices next pass
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)

    def _on_socket_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Its presence keeps paho from writing on caller threads (see the module
        # docstring); our own loop() notices pending writes by itself, a pump is told.
        if self._pump is not None:
            self._pump.want_write(self)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            with self._cond:
                self._refusal = str(reason_code)
                self._cond.notify_all()
            logger.error(
                "MQTT %s: broker %s:%d refused the connection: %s",
                self._client_id,
                self._host,
                self._port,
                reason_code,
            )
            return
        with self._cond:
            if self._closed:
                self._cond.notify_all()
                return
            self._attempt = 0
            self._outage_logged = False
            self._drop_warned = False
            self._refusal = None
            self._last_error = None
            reconnect = self._ever_connected
            if reconnect:
                self._reconnects += 1
            with self._sub_cond:
                # SUBACKs of the previous connection will never come.
                self._unacked_subs.clear()
                self._early_subacks.clear()
            self._connected = True
            # Idempotent: everything we want on a fresh clean session, every time.
            wanted: dict[str, int] = {}
            for sub in self._subs:
                wanted[sub.pattern] = max(sub.qos, wanted.get(sub.pattern, 0))
            if wanted:
                self._send_subscribe(list(wanted.items()))
            if self._birth is not None:
                try:
                    self._send(self._birth())
                except Exception:  # a faulty callback must not kill the network thread
                    logger.exception("MQTT %s: birth message failed", self._client_id)
            while self._pending:
                self._send(self._pending.popleft())
            self._ever_connected = True
            self._cond.notify_all()
        logger.info(
            "MQTT %s %s to %s:%d",
            self._client_id,
            "reconnected" if reconnect else "connected",
            self._host,
            self._port,
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        # No _lock here: paho may hold its message mutex while calling us (lock order).
        was_connected = self._connected
        self._connected = False
        if not was_connected:
            return
        if self._stop.is_set():
            logger.info("MQTT %s disconnected from %s:%d", self._client_id, self._host, self._port)
        else:
            logger.info(
                "MQTT %s lost the connection to %s:%d (%s); reconnecting",
                self._client_id,
                self._host,
                self._port,
                reason_code,
            )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[Any],
        properties: Any,
    ) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            logger.error("MQTT %s: broker refused a subscription: %s", self._client_id, failed)
        with self._sub_cond:
            if mid in self._unacked_subs:
                self._unacked_subs.discard(mid)
            else:
                self._early_subacks.add(mid)
            self._sub_cond.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError as exc:
            logger.error(
                "MQTT %s: dropped a message with a non-UTF-8 topic: %s", self._client_id, exc
            )
            return
        self._in += 1
        message = Message(topic, bytes(msg.payload), msg.qos, bool(msg.retain))
        for sub in self._route(topic):
            try:
                sub.sink(message)
            except Exception:  # a sink bug must not stop delivery to the others
                logger.exception(
                    "MQTT %s: sink for %s failed on %s", self._client_id, sub.pattern, topic
                )

    def _route(self, topic: str) -> tuple[_Subscription, ...]:
        """The subscriptions ``topic`` matches, remembered per topic (on the network
        thread) until the subscriptions change; at most ``_MAX_ROUTES`` topics."""
        subs = self._subs
        if self._routes_of is not subs or len(self._routes) >= self._MAX_ROUTES:
            self._routes = {}
            self._routes_of = subs
        route = self._routes.get(topic)
        if route is None:
            route = self._routes[topic] = tuple(
                s for s in subs if topic_matches(s.pattern, topic)
            )
        return route

"""A broker of our own on 127.0.0.1, for drills, demos and tests.

:class:`EmbeddedBroker` runs Mosquitto as a child process when the binary is installed
(fast, the reference implementation) and otherwise amqtt (pure Python, MQTT 3.1.1 only)
on its own asyncio loop in a background thread.  Either way it listens on 127.0.0.1
only, on a free port, with anonymous access.

Picking a free port and then binding it is racy (another process may take it in
between), so a start that fails to bind is retried on a new port.

amqtt 0.12 differs from Mosquitto in two ways that clients can see (both allowed or
tolerated by MQTT 3.1.1, both observed in our tests):

* a client with overlapping subscriptions (``a/+`` and ``a/#``) gets one copy of a
  message per matching filter, where Mosquitto sends one;
* on CONNECT, a client is sent the retained messages matching *any* client's
  subscriptions (QoS 0, retain flag set), not only its own.  :class:`MqttTransport`
  drops messages that match none of its own patterns, so only a client that already
  subscribed to such a topic sees an extra retained copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from drivers.errors import BrokerError
from drivers.mqtt import parse_broker_url

logger = logging.getLogger(__name__)

BrokerKind = Literal["mosquitto", "amqtt"]
BrokerPreference = Literal["auto", "mosquitto", "amqtt"]

_HOST = "127.0.0.1"
_BIND_ATTEMPTS = 5
_SAME_PORT_ATTEMPTS = 20  # about 8 s in all
_MOSQUITTO_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin")
_STOP_TIMEOUT_S = 5.0


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` binary (PATH first, then the usual sbin dirs), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for directory in _MOSQUITTO_DIRS:
        candidate = Path(directory) / "mosquitto"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port(host: str = _HOST) -> int:
    """A TCP port that was free a moment ago (the caller must cope with the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _is_addr_in_use(exc: BaseException) -> bool:
    """True if ``exc`` or anything it was raised from is EADDRINUSE (amqtt wraps it)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.EADDRINUSE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _BindFailed(Exception):
    """The chosen port was taken: try another one."""


class _MosquittoProcess:
    """``mosquitto -c <generated config>`` as a child process."""

    def __init__(
        self, binary: str, workdir: Path, port: int, password_file: Path | None, timeout_s: float
    ) -> None:
        self.log_file = workdir / "mosquitto.log"
        self._stderr_file = workdir / "mosquitto.stderr"
        conf = workdir / "mosquitto.conf"
        conf.write_text(self._config(port, password_file), encoding="utf-8")
        self.log_file.unlink(missing_ok=True)
        with self._stderr_file.open("wb") as err:
            self._proc = subprocess.Popen(
                [binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            self._wait_ready(port, timeout_s)
        except BaseException:
            self.stop()
            raise

    def _config(self, port: int, password_file: Path | None) -> str:
        # Running as root, mosquitto would switch to user "mosquitto", who cannot write
        # our private temp dir; naming the current user keeps it as is (ignored otherwise).
        user = pwd.getpwuid(os.geteuid()).pw_name
        lines = [
            f"user {user}",
            f"listener {port} {_HOST}",
            "set_tcp_nodelay true",
            "persistence false",
            # Generous limits: a drill must never lose messages to per-client queues.
            "max_queued_messages 100000",
            "max_queued_bytes 0",
            "max_inflight_messages 0",
            f"log_dest file {self.log_file}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        return "\n".join(lines) + "\n"

    def _log_text(self) -> str:
        parts = []
        for f in (self.log_file, self._stderr_file):
            with contextlib.suppress(OSError):
                parts.append(f.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)

    def _wait_ready(self, port: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                text = self._log_text()
                if "Address already in use" in text:
                    raise _BindFailed(f"port {port} in use")
                tail = " | ".join(text.strip().splitlines()[-3:])
                raise BrokerError(
                    f"mosquitto exited with code {self._proc.returncode} during startup "
                    f"(log: {self.log_file}): {tail}"
                )
            # "running" is logged after the listeners are open: the port is ours, not a
            # stranger's that happened to grab it first.
            if " running" in self._log_text() and _port_accepts(_HOST, port):
                return
            time.sleep(0.02)
        raise BrokerError(
            f"mosquitto did not accept connections on {_HOST}:{port} within "
            f"{timeout_s:g} s (log: {self.log_file})"
        )

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("mosquitto (pid %d) ignored SIGTERM; killing it", self._proc.pid)
                self._proc.kill()
                self._proc.wait(_STOP_TIMEOUT_S)


class _AmqttThread:
    """amqtt's ``Broker`` on a private asyncio loop in a daemon thread."""

    SESSION_EXPIRY_S = 60  # disconnected persistent sessions are dropped after this

    def __init__(self, port: int, timeout_s: float) -> None:
        self._port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name=f"amqtt-{port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            self.stop()
            raise BrokerError(f"amqtt did not start on {_HOST}:{port} within {timeout_s:g} s")
        if self._error is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            if _is_addr_in_use(self._error):
                raise _BindFailed(str(self._error)) from self._error
            raise BrokerError(f"amqtt failed to start: {self._error}") from self._error
        # No connect probe here: Broker.start() returns only once the listener is bound,
        # and amqtt logs an error for every connection that sends no CONNECT.

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{_HOST}:{self._port}"}},
            "session_expiry_interval": self.SESSION_EXPIRY_S,
            # Only the anonymous auth plugin: no $SYS publisher, no per-packet logging.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); nothing else can see it
            self._error = exc
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _serve(self) -> None:
        from amqtt.broker import Broker  # imported lazily: slow, and unused with mosquitto

        self._stop_event = asyncio.Event()
        broker = Broker(self._config())
        # amqtt 0.12.1 iterates its subscription table across awaits (a session that
        # connects while another subscribes dies with "dictionary changed size during
        # iteration", and so could the broadcast loop).  Iterating over a snapshot is
        # what those loops mean; the table itself is still the broker's.
        broker._subscriptions = _SnapshotDict(broker._subscriptions)
        await broker.start()
        self._ready.set()
        await self._stop_event.wait()
        await broker.shutdown()

    def stop(self) -> None:
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed meanwhile
                loop.call_soon_threadsafe(event.set)
        self._thread.join(_STOP_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("amqtt thread did not stop within %g s", _STOP_TIMEOUT_S)


class _SnapshotDict(dict[Any, Any]):
    """A dict whose iteration works on a copy, so it may change while being iterated."""

    def __iter__(self) -> Iterator[Any]:
        return iter(list(super().keys()))

    def keys(self) -> list[Any]:  # type: ignore[override]
        return list(super().keys())

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(super().values())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return list(super().items())


class EmbeddedBroker:
    """An MQTT broker on 127.0.0.1 for as long as this object is started.

    ``prefer="auto"`` uses Mosquitto when its binary is installed, else amqtt.
    ``password_file`` (a ``mosquitto_passwd`` file) turns anonymous access off; only
    Mosquitto supports it.  Use as a context manager or call :meth:`start`/:meth:`stop`.
    """

    def __init__(
        self,
        prefer: BrokerPreference = "auto",
        *,
        password_file: Path | None = None,
        startup_timeout_s: float = 10.0,
    ) -> None:
        if prefer not in ("auto", "mosquitto", "amqtt"):
            raise ValueError(f"prefer must be auto, mosquitto or amqtt, not {prefer!r}")
        if password_file is not None and prefer == "amqtt":
            raise ValueError("password_file needs mosquitto; amqtt runs anonymous here")
        self._prefer: BrokerPreference = prefer
        self._password_file = password_file
        self._timeout_s = startup_timeout_s
        self._port: int | None = None
        self._kind: BrokerKind | None = None
        self._mosquitto: _MosquittoProcess | None = None
        self._amqtt: _AmqttThread | None = None
        self._workdir: Path | None = None

    # ------------------------------------------------------------------ properties

    @property
    def host(self) -> str:
        return _HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise BrokerError("embedded broker not started")
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{_HOST}:{self.port}"

    @property
    def kind(self) -> BrokerKind:
        if self._kind is None:
            raise BrokerError("embedded broker not started")
        return self._kind

    @property
    def running(self) -> bool:
        return self._mosquitto is not None or self._amqtt is not None

    @property
    def log_file(self) -> Path | None:
        """Mosquitto's log file (None for amqtt, which logs through ``logging``)."""
        return self._mosquitto.log_file if self._mosquitto is not None else None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start on a free port.  Raises :class:`BrokerError` if no broker can start."""
        if self.running:
            return
        errors: list[str] = []
        for kind in self._candidates():
            try:
                self._start_kind(kind, port=None)
            except BrokerError as exc:
                errors.append(f"{kind}: {exc}")
                logger.warning("embedded %s broker failed to start: %s", kind, exc)
                continue
            logger.info("embedded %s broker listening on %s", self.kind, self.url)
            return
        raise BrokerError("no embedded MQTT broker could start: " + "; ".join(errors))

    def stop(self) -> None:
        """Stop the broker (idempotent); the port may be reused by :meth:`restart`."""
        was_running = self.running
        self._stop_current()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        if was_running:
            logger.info("embedded %s broker on port %s stopped", self._kind, self._port)

    def restart(self) -> None:
        """Stop and start again on the same port and with the same implementation.

        Clients see their connection drop; retained messages are lost (no persistence).
        """
        if self._kind is None or self._port is None:
            raise BrokerError("restart() needs a broker that was started before")
        self._stop_current()
        self._start_kind(self._kind, port=self._port)
        logger.info("embedded %s broker restarted on %s", self._kind, self.url)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _candidates(self) -> list[BrokerKind]:
        if self._prefer == "mosquitto" or self._password_file is not None:
            return ["mosquitto"]
        if self._prefer == "amqtt":
            return ["amqtt"]
        return ["mosquitto", "amqtt"] if find_mosquitto() is not None else ["amqtt"]

    def _start_kind(self, kind: BrokerKind, port: int | None) -> None:
        """Start ``kind`` on ``port`` (or a free one), retrying when the bind fails."""
        starter: Callable[[int], None] = (
            self._start_mosquitto if kind == "mosquitto" else self._start_amqtt
        )
        last: Exception | None = None
        # The same port after a stop may stay taken for a moment while the old listener
        # closes (seen with amqtt under load): keep trying for a few seconds.
        attempts = _BIND_ATTEMPTS if port is None else _SAME_PORT_ATTEMPTS
        for attempt in range(attempts):
            candidate = port if port is not None else free_port()
            try:
                starter(candidate)
            except _BindFailed as exc:
                last = exc
                logger.debug("embedded %s: bind to %d failed (%s), retrying", kind, candidate, exc)
                if port is not None:  # same port wanted: give the old socket a moment
                    time.sleep(min(0.1 * (attempt + 1), 0.5))
                continue
            self._kind, self._port = kind, candidate
            return
        where = f"port {port}" if port is not None else "a free port"
        raise BrokerError(f"{kind} could not bind {where} after {attempts} attempts: {last}")

    def _start_mosquitto(self, port: int) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise BrokerError("mosquitto binary not installed (looked in PATH and sbin dirs)")
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="hazfleet-mosquitto-"))
        try:
            self._mosquitto = _MosquittoProcess(
                binary, self._workdir, port, self._password_file, self._timeout_s
            )
        except OSError as exc:
            raise BrokerError(f"cannot run {binary}: {exc}") from exc

    def _start_amqtt(self, port: int) -> None:
        self._amqtt = _AmqttThread(port, self._timeout_s)

    def _stop_current(self) -> None:
        if self._mosquitto is not None:
            self._mosquitto.stop()
            self._mosquitto = None
        if self._amqtt is not None:
            self._amqtt.stop()
            self._amqtt = None


def resolve_broker(url: str) -> tuple[str, int, EmbeddedBroker | None]:
    """``"embedded"`` -> start an :class:`EmbeddedBroker` (the caller stops it);
    ``mqtt(s)://host:port`` -> that address and None.  Raises ConfigError / BrokerError."""
    if url.strip() == "embedded":
        broker = EmbeddedBroker()
        broker.start()
        return broker.host, broker.port, broker
    host, port, _use_tls = parse_broker_url(url)
    return host, port, None

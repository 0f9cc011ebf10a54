"""TLS from config, through a real Mosquitto with a TLS listener and certificates made
for the test by openssl (skipped, with the reason, where either is missing)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.broker import find_mosquitto, free_port
from drivers.bus import Inbox
from drivers.errors import TransportError
from drivers.mqtt import MqttSettings, MqttTransport, TlsSettings

pytestmark = pytest.mark.broker


@dataclass
class TlsBroker:
    port: int
    ca: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(d: Path, name: str) -> None:
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        cwd=d,
    )


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto binary not installed")
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (needed to make test certificates)")
    d = tmp_path_factory.mktemp("tls")
    _make_ca(d, "ca")
    _make_ca(d, "other")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=d,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.crt",
        cwd=d,
    )
    port = free_port()
    (d / "mosquitto.conf").write_text(
        f"user {getpass.getuser()}\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        f"cafile {d / 'ca.crt'}\ncertfile {d / 'server.crt'}\nkeyfile {d / 'server.key'}\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(d / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(
                        f"mosquitto TLS broker exited: {proc.stderr.read() if proc.stderr else ''}"
                    )
                time.sleep(0.05)
        yield TlsBroker(port, d / "ca.crt", d / "other.crt")
    finally:
        proc.terminate()
        proc.wait(5)


def _settings(port: int, ca: Path) -> MqttSettings:
    return MqttSettings(
        url=f"mqtts://127.0.0.1:{port}",
        tls=TlsSettings(ca_file=ca),
        connect_timeout_s=3,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
    )


def test_tls_round_trip_with_the_configured_ca(tls_broker: TlsBroker) -> None:
    s = _settings(tls_broker.port, tls_broker.ca)
    topic = f"test/{uuid.uuid4().hex}/tls"
    sub = MqttTransport(
        "127.0.0.1", tls_broker.port, client_id=f"s-{uuid.uuid4().hex[:6]}", settings=s
    )
    pub = MqttTransport(
        "127.0.0.1", tls_broker.port, client_id=f"p-{uuid.uuid4().hex[:6]}", settings=s
    )
    try:
        sub.connect()
        pub.connect()
        inbox = Inbox()
        sub.subscribe(topic, inbox)
        assert sub.wait_subscribed(5)
        pub.publish(topic, b"over tls", qos=1)
        msg = inbox.get(5)
        assert msg is not None and msg.payload == b"over tls"
    finally:
        sub.close()
        pub.close()


def test_tls_refuses_a_broker_certificate_from_another_ca(tls_broker: TlsBroker) -> None:
    s = _settings(tls_broker.port, tls_broker.other_ca)
    t = MqttTransport(
        "127.0.0.1", tls_broker.port, client_id=f"x-{uuid.uuid4().hex[:6]}", settings=s
    )
    try:
        with pytest.raises(TransportError):
            t.connect()
    finally:
        t.close()


def test_plain_mqtt_to_a_tls_listener_fails_cleanly(tls_broker: TlsBroker) -> None:
    s = MqttSettings(
        url=f"mqtt://127.0.0.1:{tls_broker.port}",
        connect_timeout_s=1,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
    )
    t = MqttTransport(
        "127.0.0.1", tls_broker.port, client_id=f"y-{uuid.uuid4().hex[:6]}", settings=s
    )
    try:
        with pytest.raises(TransportError):
            t.connect()
    finally:
        t.close()

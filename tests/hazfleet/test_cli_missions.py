"""``hazfleet serve``, ``hazfleet user add`` and ``hazfleet mission ...`` as a user runs
them: the server is a real ``hazfleet serve`` subprocess on a SQLite file (embedded
broker); the mission commands talk to it over HTTP.  Includes a restart of the server
that must lose nothing, and the clean shutdown (heartbeat OFFLINE) on SIGTERM."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from controller.api.tokens import hash_token, new_token
from controller.store import Store
from drivers.broker import free_port
from drivers.bus import Message
from drivers.errors import ConfigError
from drivers.mqtt import MqttTransport
from hazfleet.cli import main
from hazfleet.config import FleetConfig
from hazfleet.serve import load_fleet
from missions.fleet import RobotRef
from tests.conftest import EXTERNAL_MOSQUITTO, tcp_reachable

REPO = Path(__file__).resolve().parents[2]
HAZFLEET = shutil.which("hazfleet", path=str(Path(sys.executable).parent)) or "hazfleet"
MISSION_FILES = sorted((REPO / "config" / "missions").glob("*.yaml"))
GAS_FILE = REPO / "config" / "missions" / "gas-leak-survey.yaml"
START_TIMEOUT_S = 30.0

pytestmark = pytest.mark.broker


def hazfleet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAZFLEET, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "HAZFLEET_CONFIG": "", **(env or {})},
    )


def add_user(db: str, name: str, role: str) -> str:
    """``hazfleet user add`` as a subprocess; returns the token (the last word)."""
    proc = hazfleet("user", "add", name, "--role", role, "--db", db)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


def seed_users(db: str, roles: dict[str, str]) -> dict[str, str]:
    """Users straight into the store (quicker than one subprocess each); name -> token."""
    tokens = {name: new_token() for name in roles}
    with Store(db) as store:
        store.migrate()
        for name, role in roles.items():
            store.add_user(name, role, hash_token(tokens[name]))
    return tokens


class Server:
    """``hazfleet serve`` in a subprocess; stopped with SIGTERM."""

    def __init__(self, tmp: Path, db: str, config: dict[str, Any] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        self.config_path = tmp / f"hazfleet-{uuid.uuid4().hex[:6]}.yaml"
        self.config_path.write_text(yaml.safe_dump(config or {"serve": {"tick_s": 0.2}}))
        self.log_path = tmp / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Server:
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [HAZFLEET, "serve", "--db", self.db, "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env={**os.environ, "HAZFLEET_CONFIG": str(self.config_path)},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"serve did not answer within {START_TIMEOUT_S} s: {self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("serve")
    db = f"sqlite:///{tmp / 'hazfleet.db'}"
    tokens = seed_users(db, {"sofia": "safety_officer", "sam": "safety_officer", "vic": "viewer"})
    server = Server(tmp, db).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hazfleet`` in this process (fast); returns (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def api_args(server: Server, token: str) -> list[str]:
    return ["--api", server.url, "--token", token]


# ----------------------------------------------------------------------------- user add


def test_user_add_prints_a_working_token_and_stores_only_its_hash(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, _ = served
    token = add_user(server.db, "olga", "operator")
    assert len(token) >= 40
    db_file = Path(server.db.removeprefix("sqlite:///"))
    with sqlite3.connect(db_file) as con:
        rows = con.execute("SELECT name, role, token_hash FROM users WHERE name='olga'").fetchall()
    assert rows == [("olga", "operator", hashlib.sha256(token.encode()).hexdigest())]
    # the token itself is nowhere in the database files
    for path in db_file.parent.glob(db_file.name + "*"):
        assert token.encode() not in path.read_bytes(), path
    r = httpx.get(f"{server.url}/api/v1/missions", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def test_user_add_refuses_a_taken_name_and_an_unknown_role(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, _ = served
    again = hazfleet("user", "add", "sofia", "--role", "viewer", "--db", server.db)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    bad_role = hazfleet("user", "add", "zed", "--role", "admin", "--db", server.db)
    assert bad_role.returncode == 2
    assert "invalid choice" in bad_role.stderr


# ----------------------------------------------------------------------------- validate


@pytest.mark.parametrize("path", MISSION_FILES, ids=[p.stem for p in MISSION_FILES])
def test_validate_accepts_the_bundled_missions(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    code, out, err = cli(capsys, "mission", "validate", str(path))
    assert code == 0, err
    assert "valid" in out and "steps on site unit-7" in out


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"params": {"dwell_s": -1}}, "params.dwell_s"),
        ({"targets": [{"kind": "node", "id": "moon-base"}]}, "targets.0.id"),
        ({"priority": "whenever"}, "priority"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_validate_names_the_field_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    data = yaml.safe_load(GAS_FILE.read_text())
    data.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = cli(capsys, "mission", "validate", str(path))
    assert code == 2
    assert f"{path}: {field}:" in err


def test_validate_a_file_without_id(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = yaml.safe_load(GAS_FILE.read_text())
    del data["id"]  # the server assigns one
    path = tmp_path / "no-id.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = cli(capsys, "mission", "validate", str(path))
    assert code == 0, err
    assert "steps on site unit-7" in out


def test_validate_json_output_and_missing_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "mission", "validate", "--json", str(GAS_FILE))
    assert code == 0
    result = json.loads(out)
    assert result.pop("steps") >= 3  # pump-bay, pump-p101, pump-p102, then dock
    assert result == {
        "file": str(GAS_FILE),
        "valid": True,
        "template": "gas_leak_survey",
        "site": "unit-7",
    }
    code, _, err = cli(capsys, "mission", "validate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err


# ----------------------------------------------------------------------------- talking to the API


def test_submit_list_show_approve(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = served
    data = yaml.safe_load(GAS_FILE.read_text())
    data["id"] = f"gas-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "gas.yaml"
    path.write_text(yaml.safe_dump(data))

    code, out, err = cli(capsys, "mission", "submit", str(path), *api_args(server, tokens["sam"]))
    assert code == 0, err
    assert data["id"] in out and "submitted" in out

    code, out, _ = cli(capsys, "mission", "list", "--json", *api_args(server, tokens["vic"]))
    assert code == 0
    listed = {m["id"]: m for m in json.loads(out)["items"]}
    assert listed[data["id"]]["state"] == "submitted"

    code, out, _ = cli(
        capsys, "mission", "list", "--state", "submitted", *api_args(server, tokens["vic"])
    )
    assert code == 0 and data["id"] in out and "gas_leak_survey" in out

    code, out, err = cli(
        capsys,
        "mission",
        "approve",
        data["id"],
        "--reason",
        "permit 42",
        *api_args(server, tokens["sofia"]),
    )
    assert code == 0, err
    assert "approved" in out or "scheduled" in out

    code, out, _ = cli(capsys, "mission", "show", data["id"], *api_args(server, tokens["vic"]))
    assert code == 0
    assert "history" in out and "permit 42" in out and "sofia" in out

    code, out, _ = cli(
        capsys, "mission", "show", data["id"], "--json", *api_args(server, tokens["vic"])
    )
    shown = json.loads(out)
    assert shown["approved_by"] == "sofia"
    approval = next(h for h in shown["history"] if h["to_state"] == "approved")
    assert (approval["by"], approval["reason"]) == ("sofia", "permit 42")


def test_reject_cancel_and_the_two_person_rule(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = served

    def submit(**changes: Any) -> str:
        data = yaml.safe_load(GAS_FILE.read_text())
        data.update(id=f"m-{uuid.uuid4().hex[:8]}", **changes)
        path = tmp_path / f"{data['id']}.yaml"
        path.write_text(yaml.safe_dump(data))
        code, _, err = cli(
            capsys, "mission", "submit", str(path), *api_args(server, tokens["sofia"])
        )
        assert code == 0, err
        return str(data["id"])

    rejected = submit()
    code, out, _ = cli(
        capsys,
        "mission",
        "reject",
        rejected,
        "--reason",
        "no gas detector",
        *api_args(server, tokens["sam"]),
    )
    assert code == 0 and "rejected" in out

    cancelled = submit()
    code, out, _ = cli(capsys, "mission", "cancel", cancelled, *api_args(server, tokens["sofia"]))
    assert code == 0 and "cancelled" in out
    code, _, err = cli(capsys, "mission", "cancel", cancelled, *api_args(server, tokens["sofia"]))
    assert code == 1 and "409" in err and "cancelled" in err

    two_person = submit(emergency_override=True, priority="emergency")
    code, _, err = cli(capsys, "mission", "approve", two_person, *api_args(server, tokens["sofia"]))
    assert code == 1 and "409" in err
    code, out, err = cli(capsys, "mission", "approve", two_person, *api_args(server, tokens["sam"]))
    assert code == 0, err


def test_api_errors_exit_1_with_the_servers_message(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]]
) -> None:
    server, tokens = served
    code, _, err = cli(capsys, "mission", "list", *api_args(server, "wrong-token"))
    assert code == 1 and "401" in err and "unknown or revoked token" in err
    code, _, err = cli(capsys, "mission", "list", "--api", server.url)
    assert code == 1 and "HAZFLEET_TOKEN" in err
    code, _, err = cli(capsys, "mission", "submit", str(GAS_FILE), *api_args(server, tokens["vic"]))
    assert code == 1 and "403" in err and "viewer" in err
    code, _, err = cli(capsys, "mission", "show", "m-absent", *api_args(server, tokens["vic"]))
    assert code == 1 and "404" in err and "m-absent" in err


def test_invalid_file_is_not_submitted(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, tokens = served
    data = yaml.safe_load(GAS_FILE.read_text())
    data.update(id="never-stored", params={"dwell_s": 0})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = cli(capsys, "mission", "submit", str(path), *api_args(server, tokens["sofia"]))
    assert code == 2 and "params.dwell_s" in err
    code, _, err = cli(capsys, "mission", "show", "never-stored", *api_args(server, tokens["vic"]))
    assert code == 1 and "404" in err


def test_env_variables_and_templates(
    capsys: pytest.CaptureFixture[str],
    served: tuple[Server, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, tokens = served
    monkeypatch.setenv("HAZFLEET_API", server.url)
    monkeypatch.setenv("HAZFLEET_TOKEN", tokens["vic"])
    code, out, err = cli(capsys, "mission", "templates")
    assert code == 0, err
    for name in ("gas_leak_survey", "confined_space_entry", "patrol"):
        assert name in out
    code, out, _ = cli(capsys, "mission", "templates", "--json")
    assert len(json.loads(out)) == 7


def test_unreachable_api_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = cli(capsys, "mission", "list", "--api", url, "--token", "x")
    assert code == 3
    assert "cannot reach" in err and url in err


# ----------------------------------------------------------------------------- serve


def test_serve_on_a_port_in_use_exits_2_before_starting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = hazfleet("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--port", str(port))
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "hazfleet API on" not in proc.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was started


def test_load_fleet_from_a_site_map_or_a_scenario(tmp_path: Path) -> None:
    scenario = load_fleet(FleetConfig())
    assert scenario.site.map_id == "unit-7"
    assert [r.serial for r in scenario.robots] == ["sim-01", "sim-02"]
    assert scenario.interface == "uagv"

    site = yaml.safe_load((REPO / "config/drills/default.yaml").read_text())["site"]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({**site, "map_id": "plant-9"}))
    robots = [RobotRef(manufacturer="acme", serial="rover-7")]
    plain = load_fleet(FleetConfig(site=str(path), robots=robots, interface="plant"))
    assert (plain.site.map_id, plain.robots, plain.interface) == ("plant-9", tuple(robots), "plant")

    path.write_text(yaml.safe_dump({**site, "nodes": [{"id": "a"}]}))
    with pytest.raises(ConfigError) as err:
        load_fleet(FleetConfig(site=str(path)))
    assert err.value.field == "nodes.0.x"


# ----------------------------------------------------------------------------- restart


def test_restart_loses_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'restart.db'}"
    tokens = seed_users(db, {"sofia": "safety_officer", "sam": "safety_officer"})
    sofia, sam = tokens["sofia"], tokens["sam"]
    auth = {
        "sofia": {"Authorization": f"Bearer {sofia}"},
        "sam": {"Authorization": f"Bearer {sam}"},
    }

    server = Server(tmp_path, db).start()
    created: list[str] = []
    try:
        for i, path in enumerate(MISSION_FILES[:4]):
            r = httpx.post(
                f"{server.url}/api/v1/missions",
                content=path.read_bytes(),
                headers={
                    **auth["sofia"],
                    "Content-Type": "application/yaml",
                    "Idempotency-Key": f"k{i}",
                },
            )
            assert r.status_code == 201, r.text
            created.append(r.json()["id"])
        submitted = [
            m
            for m in created
            if httpx.get(f"{server.url}/api/v1/missions/{m}", headers=auth["sam"]).json()["state"]
            == "submitted"
        ]
        assert submitted, "at least one bundled mission needs a permit"
        r = httpx.post(
            f"{server.url}/api/v1/missions/{submitted[0]}/reject",
            json={"reason": "before the restart"},
            headers=auth["sam"],
        )
        assert r.status_code == 200, r.text
        before = {
            m: httpx.get(f"{server.url}/api/v1/missions/{m}", headers=auth["sam"]).json()
            for m in created
        }
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.log()
    assert "stopped" in server.log()

    again = Server(tmp_path, db).start()
    try:
        after = {
            m: httpx.get(f"{again.url}/api/v1/missions/{m}", headers=auth["sam"]).json()
            for m in created
        }
        # the replayed key finds the mission made before the restart
        r = httpx.post(
            f"{again.url}/api/v1/missions",
            content=MISSION_FILES[0].read_bytes(),
            headers={**auth["sofia"], "Content-Type": "application/yaml", "Idempotency-Key": "k0"},
        )
        assert r.status_code == 200 and r.json()["id"] == created[0]
    finally:
        assert again.stop() == 0, again.log()
    for m in created:
        old, new = before[m], after[m]
        # history may only have grown (the scheduler may move approved missions on)
        assert new["history"][: len(old["history"])] == old["history"], m
        assert new["request"] == old["request"]
        assert new["submitted_by"] == "sofia"
    assert after[submitted[0]]["state"] == "rejected"
    assert after[submitted[0]]["history"][-1]["reason"] == "before the restart"


@pytest.mark.mosquitto
def test_sigterm_publishes_heartbeat_offline(tmp_path: Path) -> None:
    host, port = EXTERNAL_MOSQUITTO
    if not tcp_reachable(host, port):
        pytest.skip("Mosquitto not reachable on 127.0.0.1:1883")
    iface = f"t{uuid.uuid4().hex[:10]}"
    topic = f"{iface}/hazfleet/hazfleet/heartbeat"
    config = {
        "broker": {"url": f"mqtt://{host}:{port}"},
        "fleet": {"interface": iface},
        "serve": {"tick_s": 0.2},
    }
    beats: list[str] = []
    got_offline = threading.Event()

    def on_beat(message: Message) -> None:
        if not message.payload:  # our own clean-up of the retained beat
            return
        state = json.loads(message.payload)["connectionState"]
        beats.append(state)
        if state == "OFFLINE":
            got_offline.set()

    observer = MqttTransport(host, port, client_id=f"obs-{iface}")
    observer.connect()
    observer.subscribe(topic, on_beat, qos=1)
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'hb.db'}", config).start()
    try:
        deadline = time.monotonic() + 10
        while "ONLINE" not in beats:
            assert time.monotonic() < deadline, "no ONLINE heartbeat"
            time.sleep(0.05)
        assert server.stop(signal.SIGTERM) == 0, server.log()
        assert got_offline.wait(10), beats
        assert beats[-1] == "OFFLINE"  # the clean stop, not the will (CONNECTIONBROKEN)
    finally:
        server.stop()
        # leave no retained heartbeat behind on the shared broker
        observer.publish(topic, b"", qos=1, retain=True)
        observer.flush(2.0)
        observer.close()


def test_a_mangled_token_is_named_not_sent(tmp_path: Path) -> None:
    proc = subprocess.run(
        [HAZFLEET, "mission", "list", "--api", "http://127.0.0.1:9", "--token", "again:\nabc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--token / HAZFLEET_TOKEN: contains spaces or control characters" in proc.stderr


def test_the_api_listener_sets_tcp_nodelay_for_accepted_connections() -> None:
    """Without it each keep-alive request waited ~40 ms for a delayed ACK."""
    import socket

    from hazfleet.serve import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        listener.listen(1)
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            accepted.close()
            client.close()
    finally:
        listener.close()

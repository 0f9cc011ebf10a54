"""``hazfleet alert list|show|ack`` as a user runs them, against a real ``hazfleet serve``
subprocess on a SQLite file (embedded broker).  Alerts are written into the server's
store as its controller would; the CLI reads and acknowledges them over HTTP; a restart
of the server keeps them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.alerts import Alert, Hazard, ImageCrop, Location, Reading, Severity
from controller.store import Store
from drivers.broker import free_port
from tests.hazfleet.test_cli_missions import Server, api_args, cli, seed_users

pytestmark = pytest.mark.broker

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def alert(severity: Severity, minutes: float, **kw: object) -> Alert:
    at = T0 + timedelta(minutes=minutes)
    fields: dict[str, object] = {
        "id": f"al-{uuid.uuid4().hex[:8]}",
        "key": f"gas/acme/R1/H2S/{uuid.uuid4().hex[:6]}",
        "severity": severity,
        "hazard": Hazard.GAS_TOXIC,
        "title": f"H2S {severity.value}: 25 ppm (set point 20 ppm)",
        "raised_at": at,
        "last_seen_at": at,
        "value": 25.0,
        "unit": "ppm",
        "threshold": 20.0,
        "robot": "acme/R1",
        "location": Location(3.0, 4.0, "unit-7"),
        "readings": (Reading(at, "H2S", 25.0, "ppm"),),
    }
    fields.update(kw)
    return Alert(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("alerts")
    db = f"sqlite:///{tmp / 'hazfleet.db'}"
    tokens = seed_users(db, {"olga": "operator", "sofia": "safety_officer", "vic": "viewer"})
    server = Server(tmp, db).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def save(server: Server, *alerts: Alert) -> None:
    with Store(server.db) as store:
        for a in alerts:
            store.save_alert(a)


def test_list_show_and_ack(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]]
) -> None:
    server, tokens = served
    warn = alert(Severity.WARN, 1, cleared_at=T0 + timedelta(minutes=2))
    err = alert(Severity.ERROR, 2, image=ImageCrop(b"\xff\xd8x\xff\xd9", (1, 2, 3, 4)))
    crit = alert(Severity.CRITICAL, 3, hazard=Hazard.OXYGEN, mission="m-9")
    save(server, warn, err, crit)
    vic = api_args(server, tokens["vic"])

    code, out, err_text = cli(capsys, "alert", "list", *vic)
    assert code == 0, err_text
    for a in (warn, err, crit):
        assert a.id in out
    assert "latched" not in out and "cleared" in out and "active" in out

    code, out, _ = cli(capsys, "alert", "list", "--open", "--severity", "error", "--json", *vic)
    assert code == 0
    assert [i["id"] for i in json.loads(out)["items"]] == [crit.id, err.id]

    code, out, _ = cli(capsys, "alert", "show", crit.id, *vic)
    assert code == 0
    assert "oxygen" in out and "m-9" in out and "x 3 m, y 4 m on unit-7" in out
    assert "readings" in out and "25 ppm" in out

    code, out, err_text = cli(
        capsys, "alert", "ack", err.id, "--note", "fans on", *api_args(server, tokens["olga"])
    )
    assert code == 0, err_text
    assert f"alert {err.id} acknowledged by olga" in out
    code, out, _ = cli(capsys, "alert", "show", err.id, "--json", *vic)
    shown = json.loads(out)
    assert (shown["acknowledged_by"], shown["ack_note"]) == ("olga", "fans on")
    assert shown["image"]["bbox"] == [1, 2, 3, 4]

    code, out, _ = cli(capsys, "alert", "list", "--unacked", "--json", *vic)
    ids = [i["id"] for i in json.loads(out)["items"]]
    assert err.id not in ids and crit.id in ids and warn.id in ids


def test_refusals_exit_1_with_the_servers_message(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]]
) -> None:
    server, tokens = served
    a = alert(Severity.ERROR, 4)
    save(server, a)
    code, _, err = cli(capsys, "alert", "ack", a.id, *api_args(server, tokens["vic"]))
    assert code == 1 and "403" in err and "viewer may not acknowledge alerts" in err
    assert cli(capsys, "alert", "ack", a.id, *api_args(server, tokens["sofia"]))[0] == 0
    code, _, err = cli(capsys, "alert", "ack", a.id, *api_args(server, tokens["olga"]))
    assert code == 1 and "409" in err and "already acknowledged by sofia" in err
    code, _, err = cli(capsys, "alert", "show", "al-absent", *api_args(server, tokens["vic"]))
    assert code == 1 and "404" in err and "al-absent" in err
    code, _, err = cli(
        capsys, "alert", "list", "--since", "2026-12-03T08:00", *api_args(server, tokens["vic"])
    )
    assert code == 2 and "since" in err


def test_bad_command_line_and_unreachable_api(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli(capsys, "alert", "list", "--severity", "panic")
    assert exc.value.code == 2
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = cli(capsys, "alert", "list", "--api", url, "--token", "x")
    assert code == 3 and "cannot reach" in err


def test_alerts_survive_a_restart_of_the_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'hazfleet.db'}"
    tokens = seed_users(db, {"olga": "operator"})
    first = Server(tmp_path, db).start()
    latched = alert(Severity.CRITICAL, 5, cleared_at=T0 + timedelta(minutes=6))
    try:
        save(first, latched)
    finally:
        first.stop()
    again = Server(tmp_path, db).start()
    try:
        olga = api_args(again, tokens["olga"])
        code, out, _ = cli(capsys, "alert", "list", "--open", "--json", *olga)
        assert code == 0 and [i["id"] for i in json.loads(out)["items"]] == [latched.id]
        assert cli(capsys, "alert", "ack", latched.id, *olga)[0] == 0
        code, out, _ = cli(capsys, "alert", "list", "--open", "--json", *olga)
        assert json.loads(out)["items"] == []
    finally:
        again.stop()

"""``hazfleet fleet stop|resume|assemble|clear`` as a user runs them, against a real
``hazfleet serve`` subprocess (embedded broker, SQLite file, the default site whose two
robots are not running).  What the robots then do is tested through a real broker in
tests/simulator/test_fleet_commands_mqtt.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.hazfleet.test_cli_missions import Server, api_args, cli, seed_users

pytestmark = pytest.mark.broker

ROBOTS = "hazfleet-sim/sim-01, hazfleet-sim/sim-02"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("fleet")
    db = f"sqlite:///{tmp / 'hazfleet.db'}"
    tokens = seed_users(db, {"olga": "operator", "vic": "viewer"})
    server = Server(tmp, db).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def test_stop_resume_and_assemble(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]]
) -> None:
    server, tokens = served
    olga = api_args(server, tokens["olga"])
    code, out, err = cli(capsys, "fleet", "stop", *olga)
    assert code == 0, err
    assert out.strip() == f"startPause sent to {ROBOTS}"
    code, out, err = cli(capsys, "fleet", "resume", "--robot", "sim-02", *olga)
    assert (code, out.strip()) == (0, "stopPause sent to hazfleet-sim/sim-02"), err
    code, out, err = cli(capsys, "fleet", "stop", "--zone", "pump-bay-zone1", "--json", *olga)
    assert code == 0, err
    assert json.loads(out) == {"robots": []}  # nobody has reported standing there
    code, out, err = cli(capsys, "fleet", "assemble", *olga)
    assert code == 0, err
    assert "hazfleet-sim/sim-01 -> no assembly node reachable" in out


def test_bad_scopes_and_roles_are_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], served: tuple[Server, dict[str, str]]
) -> None:
    server, tokens = served
    code, _, err = cli(capsys, "fleet", "stop", "--zone", "moon", *api_args(server, tokens["olga"]))
    assert code == 2 and "zone" in err and "no zone 'moon'" in err
    code, _, err = cli(
        capsys, "fleet", "stop", "--robot", "sim-9", *api_args(server, tokens["olga"])
    )
    assert code == 2 and "'sim-9' not in the fleet" in err
    code, _, err = cli(capsys, "fleet", "assemble", *api_args(server, tokens["vic"]))
    assert code == 1 and "viewer" in err
    code, _, err = cli(capsys, "fleet", "clear", "nope", *api_args(server, tokens["olga"]))
    assert code == 1 and "no mission 'nope'" in err

"""The ``hazfleet`` console script, run as a user runs it: a subprocess, the embedded
broker, real files; and once on a pseudo-terminal for the live progress table."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXTERNAL_MOSQUITTO, tcp_reachable

REPO = Path(__file__).resolve().parents[2]
HAZFLEET = shutil.which("hazfleet", path=str(Path(sys.executable).parent)) or "hazfleet"

pytestmark = pytest.mark.broker


def hazfleet(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAZFLEET, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO,
        env={**os.environ, "HAZFLEET_CONFIG": ""},
    )


def scenario_copy(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((REPO / "config/drills/default.yaml").read_text())
    data["interface"] = f"t{uuid.uuid4().hex[:10]}"
    data.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_drill_on_the_embedded_broker(tmp_path: Path) -> None:
    report = tmp_path / "report"
    proc = hazfleet("drill", "--speed", "max", "--seed", "5", "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["scenario"] == "default"
    assert summary["seed"] == 5
    assert summary["broker"].startswith("embedded (")
    assert summary["passed"] is True
    assert [m["outcome"] for m in summary["missions"]] == ["completed"] * 3
    assert {m["id"] for m in summary["missions"]} == {
        "gas-survey-pump-bay",
        "thermal-compressor",
        "tank-round",
    }
    assert all(m["robot"] in ("sim-01", "sim-02") for m in summary["missions"])
    assert [r["serial"] for r in summary["robots"]] == ["sim-01", "sim-02"]
    assert all(r["availability"] == "online" for r in summary["robots"])
    assert summary["sim_seconds"] > 30
    assert summary["wall_seconds"] > 0
    assert not list(report.glob("*.tmp")), "no half-written file is left behind"


@pytest.mark.mosquitto
def test_drill_against_the_system_mosquitto(tmp_path: Path) -> None:
    if not tcp_reachable(*EXTERNAL_MOSQUITTO):
        pytest.skip("Mosquitto not reachable on 127.0.0.1:1883")
    report = tmp_path / "report"
    proc = hazfleet(
        "drill",
        str(scenario_copy(tmp_path)),
        "--broker",
        "mqtt://127.0.0.1:1883",
        "--speed",
        "max",
        "--report",
        str(report),
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["broker"] == "mqtt://127.0.0.1:1883"
    assert summary["passed"] is True


def test_failed_drill_exits_1(tmp_path: Path) -> None:
    path = scenario_copy(
        tmp_path,
        missions=[
            {
                "id": "doomed",
                "robot": "sim-01",
                "steps": [
                    {
                        "node": "pump-p101",
                        "actions": [{"type": "measureGas", "params": {"simulateFailure": True}}],
                    }
                ],
            }
        ],
    )
    proc = hazfleet("drill", str(path), "--speed", "max", "--report", str(tmp_path / "r"))
    assert proc.returncode == 1, proc.stderr
    assert "FAILED" in proc.stderr
    assert "mission doomed: failed, expected completed" in proc.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["passed"] is False
    assert summary["missions"][0]["outcome"] == "failed"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "name: x\nsite: {nodes: [{id: a, x: 0, y: 0}]}\n"
            "robots: [{serial: r1, start_node: b}]\n",
            "robots.0.start_node: no node 'b' on the site",
        ),
        (
            "name: x\nsite: {nodes: [{id: a, x: 0, y: 0}]}\n"
            "robots: [{serial: r1, start_node: a, max_speed_m_s: fast}]\n",
            "robots.0.max_speed_m_s: Input should be a valid number",
        ),
        (
            "name: x\nsite: {nodes: [{id: a, x: 0, y: 0}]}\nrobots: [{serial: r1, start_node: a}]\n"
            "colour: red\n",
            "colour: unknown field",
        ),
        ("name: [x\n", "invalid YAML"),
    ],
)
def test_bad_scenario_exits_2_with_one_clear_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    proc = hazfleet("drill", str(path))
    assert proc.returncode == 2
    assert str(path) in proc.stderr
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "hazfleet.yaml"
    cfg.write_text("broker: {url: embedded, keepalive_s: -3}\n")
    proc = hazfleet("--config", str(cfg), "drill")
    assert proc.returncode == 2
    assert f"{cfg}: broker.keepalive_s" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert hazfleet("drill", "--speed", "fast").returncode == 2
    assert hazfleet("drill", "--speed", "-1").returncode == 2
    proc = hazfleet("drill", "--broker", "ftp://x")
    assert proc.returncode == 2 and "--broker" in proc.stderr


def test_robots_in_worker_processes_from_the_command_line(tmp_path: Path) -> None:
    report = tmp_path / "report"
    args = ("drill", str(scenario_copy(tmp_path)), "--speed", "max", "--seed", "5")
    proc = hazfleet(*args, "--processes", "2", "--quiet", "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((report / "summary.json").read_text())
    assert summary["passed"] is True and summary["messages"]["lost"] == 0
    assert [m["outcome"] for m in summary["missions"]] == ["completed"] * 3


def test_processes_is_checked_against_the_scenario(tmp_path: Path) -> None:
    assert hazfleet("drill", "--processes", "0").returncode == 2
    proc = hazfleet("drill", "robot-lost-short", "--processes", "2")
    assert proc.returncode == 2
    assert "--processes" in proc.stderr and "faults" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_unreachable_broker_exits_3(tmp_path: Path) -> None:
    cfg = tmp_path / "hazfleet.yaml"
    cfg.write_text("broker: {url: embedded, connect_timeout_s: 1}\n")
    proc = hazfleet("--config", str(cfg), "drill", "--broker", "mqtt://127.0.0.1:9")
    assert proc.returncode == 3, proc.stderr
    assert "127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_live_progress_on_a_terminal(tmp_path: Path) -> None:
    """On a TTY the drill shows a live table of missions and robots."""
    pid, fd = pty.fork()
    if pid == 0:  # child: become the drill
        os.chdir(REPO)
        os.environ["COLUMNS"] = "160"
        os.environ["HAZFLEET_CONFIG"] = ""
        os.execv(HAZFLEET, [HAZFLEET, "drill", "--speed", "200", "--report", str(tmp_path / "r")])
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    _, status = os.waitpid(pid, 0)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, screen[-2000:]
    for text in ("missions", "robots", "gas-survey-pump-bay", "sim-01", "completed", "PASSED"):
        assert text in screen

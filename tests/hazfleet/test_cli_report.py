"""``hazfleet drill`` writes the scored report next to ``summary.json``, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.hazfleet.test_cli import hazfleet, scenario_copy

pytestmark = pytest.mark.broker

CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One default drill at --speed max for the tests of this module: (folder, stderr)."""
    report = tmp_path_factory.mktemp("drill") / "report"
    proc = hazfleet("drill", "--speed", "max", "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    return report, proc.stderr


def test_drill_writes_report_and_kpis(default_report: tuple[Path, str]) -> None:
    report, stderr = default_report
    assert f"report: {report / 'report.html'}" in stderr

    summary = json.loads((report / "summary.json").read_text())
    assert summary["passed"] is True  # the existing keys are still there
    k = summary["kpis"]
    assert k["missions_completed"]["value"] == 3
    assert k["missions_failed"]["value"] == 0
    assert k["robots_lost"]["value"] == 0
    assert k["time_to_first_detection_s"]["value"] is None
    assert "issue 5" in k["time_to_first_detection_s"]["note"]

    html = (report / "report.html").read_text(encoding="utf-8")
    for name in ("map.png", "timeline.png", "battery.png"):
        data = (report / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 5_000
        assert f'src="{name}"' in html
    for mid in ("gas-survey-pump-bay", "thermal-compressor", "tank-round"):
        assert mid in html
    assert not list(report.glob("*.tmp")) and not list(report.glob(".*"))


def test_report_displays_in_headless_chromium(
    default_report: tuple[Path, str], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed: report not rendered in a browser")
    report, _ = default_report
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,2400",
            (report / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 20_000  # text and images, not blank


def test_failed_quiet_drill_still_writes_its_report(tmp_path: Path) -> None:
    """--quiet has no progress view, but the recorder still runs; exit code stays 1."""
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
    out = tmp_path / "r"
    proc = hazfleet("drill", str(path), "--speed", "max", "--quiet", "--report", str(out))
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kpis"]["missions_failed"]["value"] == 1
    assert summary["kpis"]["missions_completed"]["value"] == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "mission doomed: failed, expected completed" in html
    assert (out / "map.png").stat().st_size > 5_000

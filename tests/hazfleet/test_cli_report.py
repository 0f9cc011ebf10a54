"""``hazfleet drill`` writes the scored report next to ``summary.json``, as a user runs it."""

from __future__ import annotations

import json
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
    # the default drill has no hazards: nothing to detect, absent with the reason
    assert "no hazard ground truth" in k["time_to_first_detection_s"]["note"]
    assert summary["picture"]["first_seen"] == {} and summary["alerts"] == []

    html = (report / "report.html").read_text(encoding="utf-8")
    for name in ("map.png", "timeline.png", "battery.png"):
        data = (report / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 5_000
        assert f'src="{name}"' in html
    for mid in ("gas-survey-pump-bay", "thermal-compressor", "tank-round"):
        assert mid in html
    assert not list(report.glob("*.tmp")) and not list(report.glob(".*"))


def test_report_displays_in_headless_chromium(default_report: tuple[Path, str]) -> None:
    """The report as an engineer opens it: Debian's Chromium, headless, driven by
    Playwright; every plot loads and the KPI and mission tables are there."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed: report not rendered in a browser")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed: report not rendered"
    )
    report, _ = default_report
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((report / "report.html").as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])"
            )
            assert {src for src, _w in images} >= {"map.png", "timeline.png", "battery.png"}
            assert all(width > 300 for _src, width in images), images  # decoded, not broken
            text = page.inner_text("body")
            for mid in ("gas-survey-pump-bay", "thermal-compressor", "tank-round"):
                assert mid in text
            assert "missions_completed" in text or "missions completed" in text.lower()
            assert page.title()
            shot = page.screenshot(full_page=True)
            assert shot[:8] == PNG_SIGNATURE and len(shot) > 20_000
            assert errors == []
        finally:
            browser.close()


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

"""Batch drills: N seeds on one broker, per-run summaries and the KPI distribution."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.batch import (
    batch_summary,
    distribution,
    nearest_rank,
    run_batch,
    write_batch,
)
from simulator.scenario import load_scenario
from tests.conftest import BrokerUnderTest, fast_settings

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "config" / "drills"
HAZFLEET = shutil.which("hazfleet", path=str(Path(sys.executable).parent)) or "hazfleet"


def _kpi(value: Any, unit: str | None = "s", note: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "note": note}


def _summary(seed: int, passed: bool, sim_s: float, **kpis: Any) -> dict[str, Any]:
    return {
        "scenario": "x",
        "seed": seed,
        "broker": "b",
        "passed": passed,
        "failures": [] if passed else ["mission m2: failed, expected completed"],
        "missions": [
            {"id": "m1", "outcome": "completed"},
            {"id": "m2", "outcome": "completed" if passed else "failed"},
        ],
        "sim_seconds": sim_s,
        "wall_seconds": 0.5,
        "kpis": kpis,
    }


# -- pure statistics ----------------------------------------------------------------------


def test_nearest_rank_and_distribution() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(values, 100) == 10.0
    assert nearest_rank([5.0], 90) == 5.0
    assert distribution([3.0, 1.0, 2.0, 10.0]) == {
        "min": 1.0,
        "median": 2.5,
        "p90": 10.0,
        "max": 10.0,
        "mean": 4.0,
    }
    assert distribution([]) == dict.fromkeys(("min", "median", "p90", "max", "mean"))
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 50)


def test_batch_summary_leaves_null_runs_out_and_counts_outcomes() -> None:
    runs = [
        _summary(1, True, 100.0, ttd=_kpi(10.0), done=_kpi(2, "missions"), never=_kpi(None)),
        _summary(2, False, 120.0, ttd=_kpi(None, note="n/a"), done=_kpi(1, "missions"),
                 never=_kpi(None, note="needs detection")),
        _summary(3, True, 110.0, ttd=_kpi(30.0), done=_kpi(2, "missions"), never=_kpi(None)),
    ]  # fmt: skip
    b = batch_summary(runs, folders=["run-1", "run-2", "run-3"])
    assert b["seeds"] == [1, 2, 3]
    assert b["runs_total"] == 3
    assert b["passed"] == 2
    assert b["all_passed"] is False
    # a null is "not measured": left out, not averaged in as 0
    assert b["kpis"]["ttd"] == {
        "unit": "s",
        "n": 2,
        "absent": 1,
        "min": 10.0,
        "median": 20.0,
        "p90": 30.0,
        "max": 30.0,
        "mean": 20.0,
    }
    assert b["kpis"]["done"]["mean"] == pytest.approx(5 / 3)
    assert b["kpis"]["never"]["n"] == 0
    assert b["kpis"]["never"]["median"] is None
    assert b["kpis"]["never"]["note"] == "needs detection"
    assert b["sim_seconds"]["max"] == 120.0
    assert b["sim_seconds"]["median"] == 110.0
    assert b["missions"] == {
        "outcomes": {"completed": 5, "failed": 1},
        "per_mission": {"m1": {"completed": 3}, "m2": {"completed": 2, "failed": 1}},
    }
    assert [r["passed"] for r in b["runs"]] == [True, False, True]
    assert b["runs"][1]["failures"] == ["mission m2: failed, expected completed"]
    assert b["runs"][0]["folder"] == "run-1"
    with pytest.raises(ValueError, match="no runs"):
        batch_summary([])


# -- over a broker ------------------------------------------------------------------------


def _strip_wall(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "wall_seconds"}


@pytest.mark.broker
def test_same_seed_same_kpis_and_a_batch_report(broker: BrokerUnderTest, tmp_path: Path) -> None:
    if broker.kind != "mosquitto" or broker.embedded is None:
        pytest.skip("the batch does not depend on the broker; run once on embedded Mosquitto")
    scenario = load_scenario(DRILLS / "h2s-leak.yaml")

    def batch(folder: Path) -> list[dict[str, Any]]:
        records = run_batch(
            scenario,
            broker.host,
            broker.port,
            broker_label=broker.url,
            seeds=[3, 4],
            report_dir=folder,
            speed=None,
            mqtt=fast_settings(broker.url),
        )
        write_batch(folder, records)
        assert [r.folder for r in records] == [folder / "run-3", folder / "run-4"]
        return [r.summary for r in records]

    a = batch(tmp_path / "a")
    b = batch(tmp_path / "b")
    assert all(s["passed"] for s in a + b), [s["failures"] for s in a + b]
    # same seed: the same summary, KPIs and every sensor reading included; only wall differs
    for sa, sb in zip(a, b, strict=True):
        assert _strip_wall(sa) == _strip_wall(sb)
    # the seed does matter: two seeds read different sensor noise
    results = [[m["action_results"] for m in s["missions"]] for s in a]
    assert results[0] != results[1]

    on_disk = json.loads((tmp_path / "a" / "run-4" / "summary.json").read_text())
    assert on_disk["seed"] == 4
    assert on_disk["kpis"] == a[1]["kpis"]
    assert (tmp_path / "a" / "run-3" / "report.html").is_file()
    ja = json.loads((tmp_path / "a" / "batch.json").read_text())
    jb = json.loads((tmp_path / "b" / "batch.json").read_text())
    assert ja["passed"] == 2
    assert ja["seeds"] == [3, 4]
    assert ja["kpis"] == jb["kpis"]
    assert ja["sim_seconds"] == jb["sim_seconds"]
    assert ja["kpis"]["closest_approach_to_source_m"]["n"] == 2
    assert ja["missions"]["per_mission"]["gas-survey-unit-12"] == {"completed": 2}
    page = (tmp_path / "a" / "batch.html").read_text()
    assert "2 of 2 runs passed" in page
    assert 'href="run-3/report.html"' in page
    assert not list((tmp_path / "a").rglob("*.tmp"))


def _hazfleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAZFLEET, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "HAZFLEET_CONFIG": ""},
    )


@pytest.mark.broker
def test_cli_runs_exits_0_only_when_every_run_passed(tmp_path: Path) -> None:
    report = tmp_path / "ok"
    proc = _hazfleet(
        "drill", "default", "--runs", "2", "--seed", "7", "--speed", "max", "--report", str(report)
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 of 2 passed" in proc.stderr
    batch = json.loads((report / "batch.json").read_text())
    assert batch["seeds"] == [7, 8]
    assert json.loads((report / "run-8" / "summary.json").read_text())["seed"] == 8
    assert (report / "batch.html").is_file()
    assert not (report / "summary.json").exists(), "a batch writes per-run summaries only"

    data = yaml.safe_load((DRILLS / "default.yaml").read_text())
    data["interface"] = f"t{uuid.uuid4().hex[:10]}"
    data["missions"] = [
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
    ]
    path = tmp_path / "doomed.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = _hazfleet(
        "drill", str(path), "--runs", "2", "--speed", "max", "--report", str(tmp_path / "r")
    )
    assert proc.returncode == 1, proc.stderr
    assert "0 of 2 passed" in proc.stderr
    assert json.loads((tmp_path / "r" / "batch.json").read_text())["passed"] == 0


def test_cli_refuses_zero_runs() -> None:
    proc = _hazfleet("drill", "default", "--runs", "0")
    assert proc.returncode == 2
    assert "--runs: must be at least 1" in proc.stderr

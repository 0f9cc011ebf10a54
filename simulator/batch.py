"""Batch drills: one scenario run with seeds S, S+1, …, and the distribution of its KPIs.

:func:`run_batch` runs the drills one after the other against one broker (the caller
starts it once and reuses it).  Each run gets its own VDA 5050 interface name (the first
topic level), so retained messages of one run (connection, factsheet) never reach the
next.  The simulation does not depend on the interface name, so a seed gives the same
KPIs in a batch as alone.  Each run's ``summary.json`` and scored report go to
``<report_dir>/run-<seed>/``; :func:`write_batch` writes ``batch.json`` and
``batch.html`` next to them.

``batch.json`` (the keys are documented in docs/drills.md, "Batch runs"):

* ``kpis``: for every KPI whose value is a number in at least one run, ``{"unit", "n",
  "absent", "min", "median", "p90", "max", "mean"}`` over the runs that have it
  (``absent`` counts the runs where it was null; null is not zero, so those runs are left
  out, not counted as 0).  A KPI null in every run has ``n`` 0, null statistics and the
  first run's note;
* ``sim_seconds`` and ``wall_seconds``: the same statistics;
* ``missions``: per mission id, outcome -> number of runs, and ``outcomes`` in total;
* ``passed`` (runs that passed), ``runs`` (one line per run).

Percentiles are nearest-rank (no interpolation: p90 is one of the runs' values).
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import statistics
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.service import ControllerSettings
from drivers.mqtt import MqttSettings
from simulator.drill import DrillProgress, DrillRunner
from simulator.recorder import DrillRecorder, fan_out, kpis
from simulator.scenario import Scenario

log = logging.getLogger(__name__)

BATCH_JSON = "batch.json"
BATCH_HTML = "batch.html"
SUMMARY_JSON = "summary.json"
STAT_KEYS = ("min", "median", "p90", "max", "mean")


def run_folder(report_dir: Path, seed: int) -> Path:
    """Where the run of ``seed`` writes its summary and report."""
    return report_dir / f"run-{seed}"


@dataclass(frozen=True)
class RunRecord:
    """One drill of a batch."""

    seed: int
    summary: dict[str, Any]
    """the run's ``summary.json`` content, ``kpis`` included"""
    folder: Path
    """where its summary and report were written"""

    @property
    def passed(self) -> bool:
        return bool(self.summary.get("passed"))


def batch_interface(base: str, token: str, seed: int) -> str:
    """A VDA 5050 interface name unique to one run of one batch (``base`` is the
    scenario's; ``token`` distinguishes batches on a shared broker)."""
    return f"{base}-{token}-{seed}"


def run_batch(
    scenario: Scenario,
    host: str,
    port: int,
    *,
    broker_label: str,
    seeds: Sequence[int],
    report_dir: Path,
    speed: float | None = None,
    mqtt: MqttSettings | None = None,
    controller_settings: ControllerSettings | None = None,
    on_progress: Callable[[DrillProgress], None] | None = None,
    on_run: Callable[[RunRecord], None] | None = None,
    processes: int | None = None,
) -> list[RunRecord]:
    """Run ``scenario`` once per seed, sequentially, on the broker at ``host:port``.

    Each run's summary (with KPIs) and scored report are written to
    :func:`run_folder` before the next run starts; ``on_run`` is called after each.
    ``on_progress`` receives every run's progress (the batch's recorder is per run).
    ``processes``: as :class:`~simulator.drill.DrillRunner` (None: it chooses).
    """
    if not seeds:
        raise ValueError("a batch needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    token = uuid.uuid4().hex[:6]
    records: list[RunRecord] = []
    for seed in seeds:
        recorder = DrillRecorder()
        sink = recorder if on_progress is None else fan_out(recorder, on_progress)
        run_scenario = scenario.model_copy(
            update={"interface": batch_interface(scenario.interface, token, seed)}
        )
        log.info(
            "batch %s: run seed %d on interface %s", scenario.name, seed, run_scenario.interface
        )
        runner = DrillRunner(
            run_scenario,
            host,
            port,
            broker_label=broker_label,
            seed=seed,
            speed=speed,
            mqtt=mqtt,
            controller_settings=controller_settings,
            on_progress=sink,
            processes=processes,
        )
        result = runner.run()
        summary = result.summary()
        summary["kpis"] = kpis(summary, recorder)
        folder = run_folder(report_dir, seed)
        write_run(folder, summary, recorder, scenario)
        record = RunRecord(seed, summary, folder)
        records.append(record)
        if on_run is not None:
            on_run(record)
    return records


def write_run(
    folder: Path, summary: Mapping[str, Any], recorder: DrillRecorder, scenario: Scenario
) -> Path:
    """``summary.json`` (atomically) and the scored report of one run; the report's path."""
    # imported here: matplotlib takes ~0.3 s to import, and a drill's worker processes
    # import this module's importers without ever writing a report
    from simulator.report import write_report

    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / SUMMARY_JSON, json.dumps(summary, indent=2) + "\n")
    return write_report(
        folder, summary, recorder, scenario.site, scenario.solids, scenario.occupancy
    )


# -- statistics -------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in 0..100, of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    rank = max(1, min(len(s), math.ceil(q / 100.0 * len(s))))
    return s[rank - 1]


def distribution(values: Sequence[float]) -> dict[str, float | None]:
    """min, median, p90, max and mean of ``values``; all None when there are none."""
    if not values:
        return dict.fromkeys(STAT_KEYS)
    return {
        "min": min(values),
        "median": statistics.median(values),
        "p90": nearest_rank(values, 90),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def _number(value: Any) -> float | None:
    # bool is an int to Python, but a yes/no is not a quantity to average
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def batch_summary(
    summaries: Sequence[Mapping[str, Any]], *, folders: Sequence[str] | None = None
) -> dict[str, Any]:
    """The ``batch.json`` content from the runs' summaries (each with ``kpis``), in run
    order.  ``folders`` are the runs' folders relative to the batch report, for links."""
    if not summaries:
        raise ValueError("no runs")
    names: dict[str, None] = {}
    for s in summaries:
        for name in s.get("kpis", {}):
            names.setdefault(name, None)
    kpi_stats: dict[str, Any] = {}
    for name in names:
        raw = [s.get("kpis", {}).get(name, {}) for s in summaries]
        values = [v for k in raw if (v := _number(k.get("value"))) is not None]
        if not values and any(k.get("value") is not None for k in raw):
            continue  # not a numeric KPI (e.g. a breakdown only)
        unit = next((k.get("unit") for k in raw if k.get("unit") is not None), None)
        entry: dict[str, Any] = {
            "unit": unit,
            "n": len(values),
            "absent": sum(k.get("value") is None for k in raw),
            **distribution(values),
        }
        if not values:
            entry["note"] = next((k.get("note") for k in raw if k.get("note")), None)
        kpi_stats[name] = entry

    per_mission: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for s in summaries:
        for m in s.get("missions", []):
            outcome = str(m.get("outcome"))
            counts = per_mission.setdefault(str(m.get("id")), {})
            counts[outcome] = counts.get(outcome, 0) + 1
            totals[outcome] = totals.get(outcome, 0) + 1

    def times(key: str) -> list[float]:
        return [v for s in summaries if (v := _number(s.get(key))) is not None]

    runs: list[dict[str, Any]] = []
    for i, s in enumerate(summaries):
        runs.append(
            {
                "seed": s.get("seed"),
                "passed": bool(s.get("passed")),
                "failures": list(s.get("failures", [])),
                "sim_seconds": s.get("sim_seconds"),
                "wall_seconds": s.get("wall_seconds"),
                "folder": folders[i] if folders is not None else None,
            }
        )
    passed = sum(bool(s.get("passed")) for s in summaries)
    return {
        "scenario": summaries[0].get("scenario"),
        "broker": summaries[0].get("broker"),
        "seeds": [s.get("seed") for s in summaries],
        "runs_total": len(summaries),
        "passed": passed,
        "all_passed": passed == len(summaries),
        "sim_seconds": distribution(times("sim_seconds")),
        "wall_seconds": distribution(times("wall_seconds")),
        "kpis": kpi_stats,
        "missions": {"outcomes": totals, "per_mission": per_mission},
        "runs": runs,
    }


# -- files ------------------------------------------------------------------------------


def _write_atomic(final: Path, text: str) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(name, final)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_batch(report_dir: Path, records: Sequence[RunRecord]) -> tuple[Path, Path]:
    """``batch.json`` and ``batch.html`` for ``records`` in ``report_dir``; their paths.
    Each is written under a temporary name and renamed into place, the HTML last."""
    report_dir.mkdir(parents=True, exist_ok=True)
    folders = [os.path.relpath(r.folder, report_dir) for r in records]
    batch = batch_summary([r.summary for r in records], folders=folders)
    json_path = report_dir / BATCH_JSON
    html_path = report_dir / BATCH_HTML
    _write_atomic(json_path, json.dumps(batch, indent=2) + "\n")
    _write_atomic(html_path, batch_html(batch))
    return json_path, html_path


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f2f2f2}.ok{color:#2e7d32;font-weight:bold}.bad{color:#c62828;font-weight:bold}
.note{color:#666;font-size:.9em}
"""


def batch_html(batch: Mapping[str, Any]) -> str:
    """A self-contained page (inline CSS, links to each run's report by relative path)."""
    total = batch["runs_total"]
    verdict_cls = "ok" if batch["all_passed"] else "bad"
    stat_header = ["", "unit", "runs with a value", *STAT_KEYS]
    time_rows = [
        [_e(key), "s", _e(total), *(_e(_fmt(batch[key][k])) for k in STAT_KEYS)]
        for key in ("sim_seconds", "wall_seconds")
    ]
    kpi_rows = []
    for name, st in batch["kpis"].items():
        label = _e(name)
        if st.get("note"):
            label += f'<div class="note">{_e(st["note"])}</div>'
        kpi_rows.append(
            [
                label,
                _e(st.get("unit") or ""),
                f"{st['n']} of {total}",
                *(_e(_fmt(st[k])) for k in STAT_KEYS),
            ]
        )
    outcomes = sorted({o for counts in batch["missions"]["per_mission"].values() for o in counts})
    mission_rows = [
        [_e(mid), *(_e(counts.get(o, 0)) for o in outcomes)]
        for mid, counts in batch["missions"]["per_mission"].items()
    ]
    run_rows = []
    for r in batch["runs"]:
        link = f'<a href="{_e(r["folder"])}/report.html">report</a>' if r.get("folder") else ""
        run_rows.append(
            [
                _e(r["seed"]),
                '<span class="ok">passed</span>'
                if r["passed"]
                else '<span class="bad">failed</span>',
                _e(_fmt(r["sim_seconds"])),
                _e(_fmt(r["wall_seconds"])),
                "<br>".join(_e(f) for f in r["failures"]),
                link,
            ]
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Batch {_e(batch["scenario"])}</title><style>{_CSS}</style></head><body>
<h1>Batch: {_e(batch["scenario"])}</h1>
<p class="{verdict_cls}">{batch["passed"]} of {total} runs passed</p>
<p>seeds {_e(", ".join(str(s) for s in batch["seeds"]))} · broker {_e(batch["broker"])}</p>
<h2>Duration</h2>
<p class="note">Simulated seconds depend only on the scenario and the seed; wall seconds
on the machine.</p>
{_table(stat_header, time_rows)}
<h2>KPIs</h2>
<p class="note">Over the runs where the KPI has a value (null is not zero: a run without
a value is left out). p90 is nearest-rank.</p>
{_table(stat_header, kpi_rows)}
<h2>Mission outcomes (runs)</h2>
{_table(["mission", *outcomes], mission_rows)}
<h2>Runs</h2>
{_table(["seed", "verdict", "simulated s", "wall s", "failures", ""], run_rows)}
</body></html>
"""


__all__ = [
    "BATCH_HTML",
    "BATCH_JSON",
    "RunRecord",
    "batch_html",
    "batch_interface",
    "batch_summary",
    "distribution",
    "nearest_rank",
    "run_batch",
    "run_folder",
    "write_batch",
    "write_run",
]

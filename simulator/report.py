"""The scored drill report: ``report.html`` with PNG plots, for an engineer to read.

:func:`write_report` writes, into the report folder next to ``summary.json``:

* ``map.png`` — the site (zones, edges, nodes), each robot's trajectory and the hazard
  sources when the summary has ground truth (``hazards``);
* ``timeline.png`` — each mission from dispatch to its end, coloured by outcome, and
  the controller's events over simulated time;
* ``battery.png`` — battery charge (%) of each robot over simulated time;
* ``dose.png`` — only with a radiation source in the ground truth: the true dose rate
  (µSv/h) at each robot over simulated time;
* ``report.html`` — self-contained (inline CSS, images by relative path): KPI table,
  missions, robots, failures, hazards and the event timeline.

Plots use matplotlib's object API on a bare :class:`~matplotlib.figure.Figure` (Agg
canvas): no pyplot, so no global backend, no display and no state shared between
reports.  Every file is written to a temporary name and renamed into place, the HTML
last, so a reader never sees a half-written report.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon

from missions.site import SiteMap, ZoneKind
from simulator.occupancy import OccupancyMap
from simulator.recorder import DrillRecorder, dose_rate_series, hazard_sources

log = logging.getLogger(__name__)

REPORT_HTML = "report.html"
MAP_PNG = "map.png"
TIMELINE_PNG = "timeline.png"
BATTERY_PNG = "battery.png"
DOSE_PNG = "dose.png"
"""only when the summary's ground truth has a radiation source"""

MAX_EVENT_ROWS = 2000
"""the HTML event table stops here (a 100-robot drill has many more); the rest is counted"""
MAX_LEGEND_ROBOTS = 12
"""above this many robots a legend would hide the plot"""

_ZONE_COLOURS: dict[ZoneKind, str] = {
    ZoneKind.HAZARDOUS: "#e4572e",
    ZoneKind.NO_GO: "#444444",
    ZoneKind.CHARGING: "#2e86ab",
    ZoneKind.ASSEMBLY: "#4caf50",
    ZoneKind.GENERAL: "#aaaaaa",
}
_OUTCOME_COLOURS: dict[str, str] = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "aborted": "#ef6c00",
    "active": "#1565c0",
    "dispatched": "#f9a825",
    "pending": "#9e9e9e",
}
_EVENT_KINDS = ("mission", "robot", "protocol", "alarm")
_EVENT_COLOURS = {
    "mission": "#1565c0",
    "robot": "#6a1b9a",
    "protocol": "#c62828",
    "alarm": "#ef6c00",
}


# -- atomic files -----------------------------------------------------------------------


def _tmp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


def _save_figure(fig: Figure, final: Path) -> Path:
    """Render ``fig`` to a temporary PNG beside ``final``; the caller renames it."""
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly: never a GUI backend
    tmp = _tmp_path(final)
    try:
        fig.savefig(tmp, format="png", dpi=100)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


# -- plots ------------------------------------------------------------------------------


def _mark_onsets(ax: Axes, sources: Sequence[Mapping[str, Any]]) -> None:
    for i, s in enumerate(sources):
        ax.axvline(
            s["onset_s"],
            color="#e4572e",
            linestyle="--",
            linewidth=1,
            label="hazard onset" if i == 0 else None,
        )


def _shield_polygons(summary: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    """Polygons (m) of the ground truth's shields; malformed ones are left out."""
    raw = summary.get("hazards")
    out: list[list[tuple[float, float]]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and item.get("kind") == "shield":
            try:
                polygon = [(float(x), float(y)) for x, y in item["polygon"]]
            except (KeyError, TypeError, ValueError):
                continue  # the KPIs already logged it
            if len(polygon) >= 3:
                out.append(polygon)
    return out


def _map_figure(
    site: SiteMap,
    summary: Mapping[str, Any],
    recorder: DrillRecorder,
    sources: Sequence[Mapping[str, Any]],
    solids: Sequence[Sequence[tuple[float, float]]] = (),
    occupancy: OccupancyMap | None = None,
) -> Figure:
    fig = Figure(figsize=(9, 7))
    ax = fig.add_subplot()
    if occupancy is not None:  # occupied pixels dark, free ones transparent
        x0, y0, x1, y1 = occupancy.extent()
        ax.imshow(
            np.where(occupancy.occupied, 1.0, np.nan),
            extent=(x0, x1, y0, y1),
            origin="upper",
            cmap="Greys",
            vmin=0.0,
            vmax=1.25,
            interpolation="nearest",
            zorder=2,
        )
    for solid in solids:  # walls and obstacles of the scenario's world
        ax.add_patch(
            Polygon(list(solid), closed=True, facecolor="#333333", edgecolor="black", zorder=2)
        )
    for zone in site.zones:
        colour = _ZONE_COLOURS.get(zone.kind, "#aaaaaa")
        ax.add_patch(
            Polygon(zone.polygon, closed=True, facecolor=colour, edgecolor=colour, alpha=0.18)
        )
        cx = sum(p[0] for p in zone.polygon) / len(zone.polygon)
        cy = sum(p[1] for p in zone.polygon) / len(zone.polygon)
        ax.annotate(zone.id, (cx, cy), color=colour, fontsize=7, ha="center", alpha=0.9)
    segments = []
    for e in site.edges:
        a, b = site.node(e.start), site.node(e.end)
        segments.append([(a.x, a.y), (b.x, b.y)])
    # one collection, not a line per edge: a 31 x 31 grid site has 1,860 edges
    ax.add_collection(LineCollection(segments, colors="#bbbbbb", linewidths=2, zorder=1))
    ax.scatter(
        [n.x for n in site.nodes], [n.y for n in site.nodes], s=12, color="#555555", zorder=2
    )
    if len(site.nodes) <= 60:  # labels of a large site would be unreadable
        for n in site.nodes:
            ax.annotate(
                n.id,
                (n.x, n.y),
                fontsize=6,
                color="#555555",
                xytext=(3, 3),
                textcoords="offset points",
            )
    legend = len(recorder.tracks) <= MAX_LEGEND_ROBOTS
    for serial, track in sorted(recorder.tracks.items()):
        xs = [p.x_m for p in track if p.x_m is not None and p.y_m is not None]
        ys = [p.y_m for p in track if p.x_m is not None and p.y_m is not None]
        if not xs:
            continue
        (line,) = ax.plot(
            xs, ys, linewidth=1.4, alpha=0.85, zorder=3, label=serial if legend else None
        )
        ax.plot(xs[-1], ys[-1], marker="o", color=line.get_color(), markersize=5, zorder=4)
    for i, shield in enumerate(_shield_polygons(summary)):
        ax.add_patch(
            Polygon(
                shield,
                closed=True,
                facecolor="#777777",
                edgecolor="black",
                hatch="//",
                alpha=0.5,
                zorder=2,
                label="shield" if i == 0 else None,
            )
        )
    for i, s in enumerate(sources):
        ax.scatter(
            [s["x_m"]],
            [s["y_m"]],
            marker="*",
            s=220,
            color="#d50000",
            edgecolor="black",
            zorder=5,
            label="hazard source" if i == 0 else None,
        )
        ax.annotate(
            f"{s.get('id') or s['kind']} (from {s['onset_s']:g} s)",
            (s["x_m"], s["y_m"]),
            fontsize=7,
            color="#d50000",
            xytext=(6, -10),
            textcoords="offset points",
        )
    _draw_estimates(ax, summary)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"site {site.map_id}: trajectories (dot = last position)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig


def _draw_estimates(ax: Axes, summary: Mapping[str, Any]) -> None:
    """What the controller made of the hazards: each source estimate (cross) with its
    95 % circle, and where each alert of warn or worse was raised (triangle)."""
    picture = summary.get("picture")
    estimates: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(picture, Mapping):
        estimates += [(f"{ch} estimate", e) for ch, e in (picture.get("gas_sources") or {}).items()]
        if isinstance(picture.get("radiation_source"), Mapping):
            estimates.append(("radiation estimate", picture["radiation_source"]))
    for i, (label, e) in enumerate(estimates):
        x, y, r = float(e["x_m"]), float(e["y_m"]), float(e.get("radius95_m") or 0.0)
        ax.scatter(
            [x], [y], marker="X", s=110, color="#2962ff", edgecolor="black", zorder=6,
            label="source estimate (95 % circle)" if i == 0 else None,
        )
        ax.add_patch(Circle((x, y), r, fill=False, edgecolor="#2962ff", linestyle="--", zorder=6))
        ax.annotate(label, (x, y), fontsize=7, color="#2962ff", xytext=(6, 6),
                    textcoords="offset points")
    placed = [
        a for a in summary.get("alerts") or []
        if a.get("x_m") is not None and a.get("severity") in ("warn", "error", "critical")
    ]
    if placed:
        ax.scatter(
            [a["x_m"] for a in placed], [a["y_m"] for a in placed], marker="^", s=40,
            color="#ff6d00", edgecolor="black", zorder=5, label="alert raised here",
        )


def _mission_spans(
    summary: Mapping[str, Any], recorder: DrillRecorder
) -> list[tuple[str, float | None, float | None, str]]:
    """(id, start s, end s, outcome) per mission of the summary, in summary order."""
    spans: list[tuple[str, float | None, float | None, str]] = []
    for m in summary.get("missions", []):
        mid, outcome = str(m.get("id")), str(m.get("outcome"))
        snap = recorder.missions.get(mid)
        if snap is None:
            spans.append((mid, None, None, outcome))
            continue
        start = snap.sent_at_s if snap.sent_at_s is not None else snap.accepted_at_s
        spans.append((mid, start, snap.ended_at_s, outcome))
    return spans


def _timeline_figure(
    summary: Mapping[str, Any], recorder: DrillRecorder, sources: Sequence[Mapping[str, Any]]
) -> Figure:
    spans = _mission_spans(summary, recorder)
    end_s = max(float(summary.get("sim_seconds") or 0.0), recorder.last_sim_s)
    fig = Figure(figsize=(10, 2.2 + 0.3 * max(len(spans), 1) + 1.6))
    top, bottom = fig.subplots(
        2, 1, sharex=True, height_ratios=[max(len(spans), 1), 2.5], squeeze=True
    )
    for row, (_mid, start, end, outcome) in enumerate(spans):
        if start is None:
            continue
        stop = end if end is not None else end_s
        top.barh(
            row,
            max(stop - start, 0.0),
            left=start,
            height=0.6,
            color=_OUTCOME_COLOURS.get(outcome, "#9e9e9e"),
        )
        top.annotate(
            outcome, (stop, row), fontsize=7, va="center", xytext=(3, 0), textcoords="offset points"
        )
    top.set_yticks(range(len(spans)), [s[0] for s in spans], fontsize=7)
    top.invert_yaxis()
    top.set_title("missions from dispatch to end, coloured by outcome")
    _mark_onsets(top, sources)
    for kind_row, kind in enumerate(_EVENT_KINDS):
        times = [e.at_s for e in recorder.events if e.kind == kind]
        bottom.scatter(
            times, [kind_row] * len(times), marker="|", s=140, color=_EVENT_COLOURS[kind]
        )
    bottom.set_yticks(range(len(_EVENT_KINDS)), list(_EVENT_KINDS), fontsize=8)
    bottom.set_ylim(-0.6, len(_EVENT_KINDS) - 0.4)
    bottom.set_title("controller events")
    bottom.set_xlabel("simulated time (s)")
    span_s = max(end_s, 1.0)
    bottom.set_xlim(-0.02 * span_s, span_s * 1.08)  # events at t = 0 stay off the spine
    _mark_onsets(bottom, sources)
    for ax in (top, bottom):
        ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _battery_figure(recorder: DrillRecorder, sources: Sequence[Mapping[str, Any]]) -> Figure:
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    legend = len(recorder.tracks) <= MAX_LEGEND_ROBOTS
    for serial, track in sorted(recorder.tracks.items()):
        pts = [(p.sim_s, p.battery_pct) for p in track if p.battery_pct is not None]
        if pts:
            ax.plot(
                [t for t, _ in pts],
                [b for _, b in pts],
                linewidth=1.2,
                label=serial if legend else None,
            )
    _mark_onsets(ax, sources)
    ax.set_ylim(0, 105)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("battery (%)")
    ax.set_title("battery charge per robot")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return fig


def _dose_figure(
    series: Mapping[str, Sequence[tuple[float, float]]], sources: Sequence[Mapping[str, Any]]
) -> Figure:
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    legend = len(series) <= MAX_LEGEND_ROBOTS
    for serial, rates in sorted(series.items()):
        ax.plot(
            [t for t, _ in rates],
            [r for _, r in rates],
            linewidth=1.2,
            label=serial if legend else None,
        )
    _mark_onsets(ax, sources)
    ax.set_yscale("symlog", linthresh=0.1)  # µSv/h spans decades near a source
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("dose rate (µSv/h)")
    ax.set_title("true dose rate at each robot (sources and shields, background excluded)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


# -- HTML -------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.passed { color: #2e7d32; } .failed { color: #c62828; }
.absent { color: #888; font-style: italic; }
.completed { color: #2e7d32; } .aborted { color: #ef6c00; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``rows`` cells are already-escaped HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def _kpi_value(kpi: Mapping[str, Any]) -> str:
    value = kpi.get("value")
    if value is None:
        return '<span class="absent">absent</span>'
    unit = kpi.get("unit")
    return _e(f"{value} {unit}" if unit else value)


def _detail(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


_SOURCE_KEYS_SHOWN = frozenset({"id", "kind", "x_m", "y_m", "onset_s", "onset", "start_s"})


def _source_details(source: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in source.items() if k not in _SOURCE_KEYS_SHOWN)


def _kpi_rows(kpis: Mapping[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for name, kpi in kpis.items():
        if not isinstance(kpi, Mapping):
            continue
        details = [
            f"{k}: {_detail(v)}" for k, v in kpi.items() if k not in ("value", "unit", "note")
        ]
        note = "; ".join([*([str(kpi["note"])] if kpi.get("note") else []), *details])
        rows.append([_e(name), _kpi_value(kpi), _e(note)])
    return rows


def _html(summary: Mapping[str, Any], recorder: DrillRecorder, images: Sequence[str]) -> str:
    name = _e(summary.get("scenario"))
    passed = bool(summary.get("passed"))
    verdict = '<b class="passed">PASSED</b>' if passed else '<b class="failed">FAILED</b>'
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Drill report: {name}</title><style>{_CSS}</style></head><body>",
        f"<h1>Drill report: {name}</h1>",
        f"<p>{verdict} · seed {_e(summary.get('seed'))} · "
        f"{_e(summary.get('sim_seconds'))} simulated s · "
        f"{_e(summary.get('wall_seconds'))} wall s · broker {_e(summary.get('broker'))} · "
        f"messages lost {_e((summary.get('messages') or {}).get('lost'))}</p>",
        "<h2>Failures</h2>",
    ]
    failures = summary.get("failures") or []
    parts.append(
        "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in failures) + "</ul>"
        if failures
        else "<p>none: every success criterion held</p>"
    )
    parts.append("<h2>KPIs</h2>")
    parts.append(
        "<p>An <span class='absent'>absent</span> KPI could not be computed (the note says "
        "why); it is not zero.</p>"
    )
    parts.append(_table(["KPI", "value", "note"], _kpi_rows(summary.get("kpis") or {})))
    parts.append("<h2>Plots</h2>")
    parts.extend(f'<p><img src="{_e(img)}" alt="{_e(img)}"></p>' for img in images)
    parts.append("<h2>Missions</h2>")
    parts.append(
        _table(
            ["mission", "robot", "outcome", "expected", "nodes", "actions", "reason"],
            [
                [
                    _e(m.get("id")),
                    _e(m.get("robot") or "-"),
                    f'<span class="{_e(m.get("outcome"))}">{_e(m.get("outcome"))}</span>',
                    _e(m.get("expected")),
                    _e(f"{m.get('nodes_done')}/{m.get('nodes_total')}"),
                    _e(f"{m.get('actions_finished')}/{m.get('actions_total')}"),
                    _e(m.get("reason") or ""),
                ]
                for m in summary.get("missions", [])
            ],
        )
    )
    parts.append("<h2>Robots</h2>")
    parts.append(
        _table(
            ["robot", "availability", "node", "x, y (m)", "battery (%)", "errors"],
            [
                [
                    _e(r.get("serial")),
                    _e(r.get("availability")),
                    _e(r.get("last_node_id") or "-"),
                    _e(
                        f"{r['x_m']:.1f}, {r['y_m']:.1f}"
                        if r.get("x_m") is not None and r.get("y_m") is not None
                        else "-"
                    ),
                    _e(f"{r['battery_pct']:.1f}" if r.get("battery_pct") is not None else "-"),
                    _e(", ".join(r.get("errors") or [])),
                ]
                for r in summary.get("robots", [])
            ],
        )
    )
    sources = hazard_sources(summary)
    if sources:
        parts.append("<h2>Hazards (ground truth)</h2>")
        parts.append(
            _table(
                ["id", "kind", "x, y (m)", "onset (s)", "details"],
                [
                    [
                        _e(s.get("id") or "-"),
                        _e(s["kind"]),
                        _e(f"{s['x_m']:.1f}, {s['y_m']:.1f}"),
                        _e(f"{s['onset_s']:g}"),
                        _e(_source_details(s)),
                    ]
                    for s in sources
                ]
                + [
                    [
                        _e(h.get("id") or "-"),
                        "shield",
                        "-",
                        "-",
                        _e(_source_details(h)),
                    ]
                    for h in summary.get("hazards") or []
                    if isinstance(h, Mapping) and h.get("kind") == "shield"
                ],
            )
        )
    events = recorder.events
    parts.append(f"<h2>Event timeline ({len(events)} events)</h2>")
    rows = [
        [_e(f"{e.at_s:.1f}"), _e(e.kind), _e(e.subject), _e(e.detail)]
        for e in events[:MAX_EVENT_ROWS]
    ]
    parts.append(_table(["t (simulated s)", "kind", "subject", "detail"], rows))
    if len(events) > MAX_EVENT_ROWS:
        parts.append(f"<p>… and {len(events) - MAX_EVENT_ROWS} more events not shown.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# -- entry point ------------------------------------------------------------------------


def write_report(
    report_dir: Path,
    summary: Mapping[str, Any],
    recorder: DrillRecorder,
    site: SiteMap,
    solids: Sequence[Sequence[tuple[float, float]]] = (),
    occupancy: OccupancyMap | None = None,
) -> Path:
    """Write ``report.html`` and its PNGs into ``report_dir``; return the HTML's path.

    ``summary`` is the ``summary.json`` dict (with ``kpis`` when computed, ``hazards``
    when the drill has ground truth); ``solids`` are the world's walls and obstacles
    (polygons in metres) and ``occupancy`` its occupancy image, drawn on the map.
    Nothing is renamed into place until every file has been rendered, and the HTML is
    renamed last.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    sources = hazard_sources(summary)
    figures = {
        MAP_PNG: _map_figure(site, summary, recorder, sources, solids, occupancy),
        TIMELINE_PNG: _timeline_figure(summary, recorder, sources),
        BATTERY_PNG: _battery_figure(recorder, sources),
    }
    series = dose_rate_series(summary, recorder)
    if series:
        figures[DOSE_PNG] = _dose_figure(series, sources)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, fig in figures.items():
            final = report_dir / name
            staged.append((_save_figure(fig, final), final))
        final_html = report_dir / REPORT_HTML
        tmp_html = _tmp_path(final_html)
        staged.append((tmp_html, final_html))
        tmp_html.write_text(_html(summary, recorder, list(figures)), encoding="utf-8")
    except BaseException:
        for tmp, _final in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:  # HTML last: it only appears once its images are in place
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        tmp.replace(final)
    if DOSE_PNG not in figures:  # a plot of an earlier run in this folder would mislead
        (report_dir / DOSE_PNG).unlink(missing_ok=True)
    log.info("drill report written to %s", final_html)
    return final_html

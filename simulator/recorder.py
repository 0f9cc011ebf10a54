"""What happened during a drill, kept for the scored report: trajectories and events.

:class:`DrillRecorder` is a progress sink for :class:`~simulator.drill.DrillRunner` (pass
it, or a function that calls it and the terminal view, as ``on_progress``).  It records,
per robot, one :class:`TrackPoint` per progress call (every ``progress_every_s`` simulated
seconds) and every :class:`~controller.events.ControllerEvent` with its simulated time.

:func:`kpis` turns a ``summary.json`` dict and a recorder into the drill's KPIs.  Every
KPI is ``{"value", "unit", "note"}``.  A KPI that cannot be computed yet (time to first
detection needs the hazard-detection issue) has ``value`` null and a note saying why;
it is never reported as 0, because 0 s to detection would read as a perfect score.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.dispatcher import MissionStatus
from controller.events import ControllerEvent
from simulator.drill import DrillProgress
from simulator.physics.radiation import Material, PointSource, RadiationField, Shield

log = logging.getLogger(__name__)

NEEDS_DETECTION = "needs hazard detection (issue 5)"
NO_HAZARDS = "no hazard ground truth in this drill's summary"
NEEDS_WITHDRAWAL = "the controller does not withdraw robots from hazards yet (issue 6)"
NEEDS_RATINGS = "no robot has an exposure rating in the scenario (robots.N.rating)"
NEEDS_GAS_SERIES = (
    "needs the gas field along the trajectory over time (the summary has only the "
    "releases, not the concentrations)"
)
_SECONDS_PER_HOUR = 3600.0

LOST_AVAILABILITY = frozenset({"offline", "stale"})
"""availability values that mean the controller lost the robot (``unknown`` = never seen)"""


@dataclass(frozen=True)
class TrackPoint:
    """One sample of a robot as the controller saw it."""

    sim_s: float
    """simulated seconds since the drill started"""
    x_m: float | None
    y_m: float | None
    battery_pct: float | None
    availability: str
    """``online``, ``offline``, ``stale`` or ``unknown``"""


class DrillRecorder:
    """Progress sink that keeps trajectories, events and the last mission snapshot."""

    def __init__(self) -> None:
        self.tracks: dict[str, list[TrackPoint]] = {}
        """robot serial -> samples in time order"""
        self.events: list[ControllerEvent] = []
        """every controller event; ``at_s`` is the drill's simulated time (clock.monotonic)"""
        self.missions: dict[str, MissionStatus] = {}
        """mission id -> its last snapshot (has accepted/sent/ended times in simulated s)"""
        self.last_sim_s = 0.0

    def __call__(self, p: DrillProgress) -> None:
        self.last_sim_s = max(self.last_sim_s, p.sim_s)
        for r in p.robots:
            self.tracks.setdefault(r.serial, []).append(
                TrackPoint(p.sim_s, r.x_m, r.y_m, r.battery_pct, r.availability)
            )
        for m in p.missions:
            self.missions[m.id] = m
        self.events.extend(p.events)

    def ever_lost(self) -> list[str]:
        """Serials of robots that were offline or stale at any sample, sorted."""
        return sorted(
            serial
            for serial, track in self.tracks.items()
            if any(pt.availability in LOST_AVAILABILITY for pt in track)
        )


def fan_out(*sinks: Callable[[DrillProgress], None]) -> Callable[[DrillProgress], None]:
    """One ``on_progress`` callable that hands each progress report to every sink."""

    def call(p: DrillProgress) -> None:
        for sink in sinks:
            sink(p)

    return call


# -- KPIs -------------------------------------------------------------------------------


def _kpi(value: Any, unit: str | None = None, note: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "note": note}


def _absent(note: str, unit: str | None = None) -> dict[str, Any]:
    return _kpi(None, unit, note)


def hazard_sources(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ground-truth hazard sources of a summary that has them, each with a position.

    The ``hazards`` key is either a list of entries or an object with a ``sources`` list;
    a source is an entry with numeric ``x_m`` and ``y_m`` (a shield, a polygon, is not).
    ``onset_s`` is read from ``onset_s``, ``start_s`` (the simulator's ground truth) or a
    numeric ``onset``, and defaults to 0 (present from the start).
    """
    raw = summary.get("hazards")
    if isinstance(raw, Mapping):
        raw = raw.get("sources")
    if not isinstance(raw, list):
        return []
    sources: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        x, y = item.get("x_m"), item.get("y_m")
        if not isinstance(x, int | float) or not isinstance(y, int | float):
            continue
        onset = next(
            (item[k] for k in ("onset_s", "start_s", "onset") if item.get(k) is not None), 0.0
        )
        sources.append(
            {
                **item,
                "x_m": float(x),
                "y_m": float(y),
                "kind": str(item.get("kind", "hazard")),
                "onset_s": float(onset) if isinstance(onset, int | float) else 0.0,
            }
        )
    return sources


def _closest_approach(
    sources: Sequence[Mapping[str, Any]], recorder: DrillRecorder
) -> dict[str, Any]:
    """Per robot, the smallest distance (m) to any source after that source's onset."""
    per_robot: dict[str, float] = {}
    for serial, track in recorder.tracks.items():
        best = math.inf
        for pt in track:
            if pt.x_m is None or pt.y_m is None:
                continue
            for s in sources:
                if pt.sim_s + 1e-9 >= s["onset_s"]:
                    best = min(best, math.hypot(pt.x_m - s["x_m"], pt.y_m - s["y_m"]))
        if math.isfinite(best):
            per_robot[serial] = round(best, 2)
    if not per_robot:
        return _absent("no robot position recorded after a hazard's onset", "m")
    kpi = _kpi(min(per_robot.values()), "m", "smallest distance of any robot to a source")
    kpi["per_robot"] = per_robot
    return kpi


def _shields(summary: Mapping[str, Any]) -> list[Shield]:
    """The ground truth's shields, as the radiation physics models them (bad ones skipped)."""
    raw = summary.get("hazards")
    if isinstance(raw, Mapping):
        raw = raw.get("sources")
    out: list[Shield] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping) or item.get("kind") != "shield":
            continue
        try:
            polygon = tuple((float(x), float(y)) for x, y in item["polygon"])
            out.append(Shield(polygon, Material(item["material"]), item.get("mu_per_m")))
        except (KeyError, TypeError, ValueError) as e:
            log.error("summary.json hazards: shield %r skipped: %s", item.get("id"), e)
    return out


def _gamma_sources(sources: Sequence[Mapping[str, Any]]) -> list[tuple[float, PointSource]]:
    """(onset s, point source) of every radiation source in the ground truth."""
    out: list[tuple[float, PointSource]] = []
    for s in sources:
        if s["kind"] != "radiation_source":
            continue
        try:
            point = PointSource(s["x_m"], s["y_m"], float(s["activity_gbq"]), str(s["nuclide"]))
        except (KeyError, TypeError, ValueError) as e:
            log.error("summary.json hazards: radiation source %r skipped: %s", s.get("id"), e)
            continue
        out.append((s["onset_s"], point))
    return out


def dose_rate_series(
    summary: Mapping[str, Any], recorder: DrillRecorder
) -> dict[str, list[tuple[float, float]]]:
    """Per robot, (simulated s, dose rate µSv/h) at each recorded position.

    The true field of the radiation sources of the ground truth that were exposed at that
    time, behind its shields, background excluded.  Empty when the summary has no
    radiation source or no robot position was recorded.
    """
    gamma = _gamma_sources(hazard_sources(summary))
    if not gamma:
        return {}
    shields = _shields(summary)
    fields: dict[tuple[bool, ...], RadiationField] = {}
    series: dict[str, list[tuple[float, float]]] = {}
    for serial, track in recorder.tracks.items():
        rates: list[tuple[float, float]] = []
        for pt in track:
            if pt.x_m is None or pt.y_m is None:
                continue
            exposed = tuple(pt.sim_s + 1e-9 >= onset for onset, _ in gamma)
            if exposed not in fields:  # one field per set of exposed sources
                active = [src for (_, src), on in zip(gamma, exposed, strict=True) if on]
                fields[exposed] = RadiationField(active, shields)
            rates.append((pt.sim_s, fields[exposed].signal_at(pt.x_m, pt.y_m)))
        if rates:
            series[serial] = rates
    return series


def _radiation_exposure(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], recorder: DrillRecorder
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(max dose rate µSv/h, dose µSv) KPIs of each robot along its recorded trajectory.

    From :func:`dose_rate_series`: one sample per progress report, so a peak between two
    samples is missed; the dose integrates the samples by the trapezoidal rule.
    """
    if not any(s["kind"] == "radiation_source" for s in sources):
        note = "no radiation source in the ground truth"
        return _absent(note, "µSv/h"), _absent(note, "µSv")
    peak: dict[str, float] = {}
    dose: dict[str, float] = {}
    for serial, rates in dose_rate_series(summary, recorder).items():
        peak[serial] = round(max(r for _, r in rates), 3)
        dose_usv_s = sum(
            (t1 - t0) * (r0 + r1) / 2.0 for (t0, r0), (t1, r1) in itertools.pairwise(rates)
        )
        dose[serial] = round(dose_usv_s / _SECONDS_PER_HOUR, 6)
    if not peak:
        note = "no robot position recorded, or no radiation source was usable (logged)"
        return _absent(note, "µSv/h"), _absent(note, "µSv")
    how = (
        "true field of the radiation sources (shields included, background excluded) "
        "at the recorded positions, one per progress report"
    )
    rate_kpi = _kpi(max(peak.values()), "µSv/h", f"highest of any robot; {how}")
    rate_kpi["per_robot"] = peak
    dose_kpi = _kpi(max(dose.values()), "µSv", f"highest of any robot; {how}")
    dose_kpi["per_robot"] = dose
    return rate_kpi, dose_kpi


def _first_alert(sources: Sequence[Mapping[str, Any]], recorder: DrillRecorder) -> dict[str, Any]:
    """Simulated seconds from the first hazard's onset to the first gas alarm the
    controller raised from the robots' sensor stream (None when none was raised)."""
    onset = min(float(s["onset_s"]) for s in sources)
    raised = [e for e in recorder.events if e.kind == "alarm" and " raised" in e.detail]
    if not raised:
        kpi = _kpi(None, "s", "no gas alarm was raised (or the controller had no alarm preset)")
        kpi["alarms_raised"] = 0
        return kpi
    first = min(raised, key=lambda e: e.at_s)
    kpi = _kpi(
        round(max(0.0, first.at_s - onset), 3),
        "s",
        f"first: {first.subject} {first.detail}, at {first.at_s:g} s; onset {onset:g} s",
    )
    kpi["alarms_raised"] = len(raised)
    return kpi


ALERT_HAZARD_SOURCES: Mapping[str, tuple[str, ...]] = {
    "gas_toxic": ("gas_release", "spill", "fire"),  # a fire makes CO
    "flammable": ("gas_release", "spill"),
    "oxygen": ("gas_release", "spill", "fire"),  # a fire burns the oxygen
    "fire": ("fire",),
    "smoke": ("fire",),
    "heat": ("fire",),
    "radiation": ("radiation_source",),
    "spill": ("spill",),
}
"""alert hazard -> the ground-truth hazard kinds that make such an alert true"""
NOT_SCORED_SEVERITIES = ("info",)
"""info alerts (an estimated source's position) report, they do not alarm"""


def _onset(item: Mapping[str, Any]) -> float:
    for key in ("onset_s", "start_s", "onset"):
        value = item.get(key)
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def _first_detection(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Simulated seconds from the first hazard's onset to the first time the controller's
    hazard picture registered a hazard (a gas reading past its trigger, a dose rate past
    its trigger, a confident camera detection)."""
    picture = summary.get("picture")
    if not isinstance(picture, Mapping):
        return _absent("the controller kept no hazard picture", "s")
    seen = picture.get("first_seen") or {}
    if not seen:
        return _absent("the controller's picture registered no hazard", "s")
    onset = min(_onset(s) for s in sources)
    hazard, first = min(seen.items(), key=lambda kv: float(kv[1]["t_s"]))
    kpi = _kpi(
        round(max(0.0, float(first["t_s"]) - onset), 3),
        "s",
        f"first: {hazard} by {first['robot']} at {float(first['t_s']):g} s; onset {onset:g} s",
    )
    kpi["per_hazard_s"] = {
        k: round(max(0.0, float(v["t_s"]) - onset), 3) for k, v in sorted(seen.items())
    }
    return kpi


def _first_alert_of(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Simulated seconds from the first hazard's onset to the first alert (warn or worse)."""
    alerts = [
        a for a in summary.get("alerts") or [] if a.get("severity") not in NOT_SCORED_SEVERITIES
    ]
    if not alerts:
        kpi = _kpi(None, "s", "no alert was raised")
        kpi["alerts_raised"] = 0
        return kpi
    onset = min(_onset(s) for s in sources)
    first = min(alerts, key=lambda a: float(a["raised_s"]))
    kpi = _kpi(
        round(max(0.0, float(first["raised_s"]) - onset), 3),
        "s",
        f"first: {first['severity']} {first['title']}, at {float(first['raised_s']):g} s; "
        f"onset {onset:g} s",
    )
    kpi["alerts_raised"] = len(alerts)
    return kpi


def _localization_error(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Metres between each source estimate of the controller's picture and the true source
    of its kind (the gas of its channel; a radiation source); the KPI is the largest."""
    picture = summary.get("picture")
    if not isinstance(picture, Mapping):
        return _absent("the controller kept no hazard picture", "m")
    errors: dict[str, float] = {}
    for channel, est in sorted((picture.get("gas_sources") or {}).items()):
        truth = [
            s for s in sources if s["kind"] in ("gas_release", "spill") and s.get("gas") == channel
        ]
        if truth:
            errors[f"gas:{channel}"] = min(
                math.hypot(float(est["x_m"]) - t["x_m"], float(est["y_m"]) - t["y_m"])
                for t in truth
            )
    rad = picture.get("radiation_source")
    truth = [s for s in sources if s["kind"] == "radiation_source"]
    if isinstance(rad, Mapping) and truth:
        errors["radiation"] = min(
            math.hypot(float(rad["x_m"]) - t["x_m"], float(rad["y_m"]) - t["y_m"]) for t in truth
        )
    if not errors:
        return _absent("no source estimate matched a true source (none was started)", "m")
    kpi = _kpi(round(max(errors.values()), 3), "m", "largest error of the source estimates")
    kpi["per_source"] = {k: round(v, 3) for k, v in errors.items()}
    return kpi


def _alarms_scored(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(true, false) alerts: an alert (warn or worse) is true when, at its raise time, a
    ground-truth hazard of a kind that can cause it had started (ALERT_HAZARD_SOURCES);
    sensor-fault and other alerts are not scored here."""
    true_ids: list[str] = []
    false_ids: list[str] = []
    for a in summary.get("alerts") or []:
        kinds = ALERT_HAZARD_SOURCES.get(str(a.get("hazard")))
        if kinds is None or a.get("severity") in NOT_SCORED_SEVERITIES:
            continue
        at = float(a["raised_s"])
        started = any(s["kind"] in kinds and _onset(s) <= at + 1e-9 for s in sources)
        (true_ids if started else false_ids).append(str(a["key"]))
    note = "alerts (warn or worse) raised after a hazard of a causing kind had started"
    t = _kpi(len(true_ids), "alerts", note)
    t["keys"] = true_ids
    f = _kpi(len(false_ids), "alerts", "alerts with no hazard of a causing kind started")
    f["keys"] = false_ids
    return t, f


def detection_kpis(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The detection KPIs of a summary with ``picture`` and ``alerts`` (no recorder
    needed): what a drill's detection criteria are judged on."""
    sources = hazard_sources(summary)
    if not sources:
        absent = _absent(NO_HAZARDS)
        return {k: absent for k in ("detect", "alert", "localize")}
    return {
        "detect": _first_detection(summary, sources),
        "alert": _first_alert_of(summary, sources),
        "localize": _localization_error(summary, sources),
    }


def _exposure_vs_rating(
    summary: Mapping[str, Any], max_dose_rate: Mapping[str, Any], dose: Mapping[str, Any]
) -> dict[str, Any]:
    """How many rated robots met more than they are rated for, and per robot each rated
    quantity's peak against its rating.  Peaks of gas channels come from the robot's sensor
    stream as the controller received it (``summary["exposure"]``); dose rate and dose
    from the ground-truth radiation along its trajectory."""
    ratings = summary.get("ratings") or {}
    if not isinstance(ratings, Mapping) or not ratings:
        return _absent(NEEDS_RATINGS)
    exposure = summary.get("exposure") or {}
    rate_per = max_dose_rate.get("per_robot", {})
    dose_per = dose.get("per_robot", {})
    per_robot: dict[str, dict[str, Any]] = {}
    exceeded: list[str] = []
    for serial, rating in sorted(ratings.items()):
        checks: dict[str, Any] = {}
        seen = exposure.get(serial, {}) if isinstance(exposure, Mapping) else {}
        for channel, limit in sorted(dict(rating.get("max_readings", {})).items()):
            checks[channel] = _check(seen.get(channel), float(limit))
        if "dose_rate_usv_h" in rating:
            checks["dose_rate_usv_h"] = _check(rate_per.get(serial), rating["dose_rate_usv_h"])
        if "dose_usv" in rating:
            checks["dose_usv"] = _check(dose_per.get(serial), rating["dose_usv"])
        per_robot[serial] = checks
        if any(c["exceeded"] for c in checks.values()):
            exceeded.append(serial)
    kpi = _kpi(len(exceeded), "robots", "rated robots that met more than their rating")
    kpi["exceeded"] = exceeded
    kpi["per_robot"] = per_robot
    return kpi


def _check(peak: Any, limit: float) -> dict[str, Any]:
    """``peak`` None: never measured (no reading, or no radiation source): not exceeded."""
    value = float(peak) if isinstance(peak, int | float) else None
    return {"peak": value, "rating": limit, "exceeded": value is not None and value > limit}


def _alert_kpi(
    summary: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], recorder: DrillRecorder
) -> dict[str, Any]:
    if not sources:
        return _absent(NO_HAZARDS, "s")
    if "alerts" in summary:
        return _first_alert_of(summary, sources)
    return _first_alert(sources, recorder)  # a summary from before alerts were kept


def kpis(result_summary: Mapping[str, Any], recorder: DrillRecorder) -> dict[str, Any]:
    """The drill's KPIs, for ``summary.json["kpis"]`` and the report's KPI table."""
    missions = result_summary.get("missions", [])
    outcomes = [str(m.get("outcome")) for m in missions]
    robots = result_summary.get("robots", [])
    lost_at_end = sorted(
        str(r["serial"]) for r in robots if r.get("availability") in LOST_AVAILABILITY
    )
    lost_ever = sorted(set(recorder.ever_lost()) | set(lost_at_end))
    sources = hazard_sources(result_summary)

    if sources:
        max_dose_rate, dose = _radiation_exposure(result_summary, sources, recorder)
    else:
        max_dose_rate, dose = _absent(NO_HAZARDS, "µSv/h"), _absent(NO_HAZARDS, "µSv")

    if "alerts" in result_summary:
        alarms_true, alarms_false = _alarms_scored(result_summary, sources)
    else:
        alarms_true = alarms_false = _absent(NEEDS_DETECTION, "alerts")
    robots_lost = _kpi(len(lost_ever), "robots", "offline or stale at the end or at any time")
    robots_lost["at_end"] = lost_at_end
    robots_lost["ever"] = lost_ever
    return {
        "missions_total": _kpi(len(outcomes), "missions"),
        "missions_completed": _kpi(outcomes.count("completed"), "missions"),
        "missions_failed": _kpi(outcomes.count("failed"), "missions"),
        "missions_aborted": _kpi(outcomes.count("aborted"), "missions"),
        "missions_unfinished": _kpi(
            sum(o not in ("completed", "failed", "aborted") for o in outcomes),
            "missions",
            "pending, dispatched or active when the drill ended",
        ),
        "robots_lost": robots_lost,
        "time_to_first_detection_s": (
            _first_detection(result_summary, sources) if sources else _absent(NO_HAZARDS, "s")
        ),
        "time_to_first_alert_s": _alert_kpi(result_summary, sources, recorder),
        "time_to_robots_withdrawn_s": _absent(NEEDS_WITHDRAWAL, "s"),
        "source_localization_error_m": (
            _localization_error(result_summary, sources) if sources else _absent(NO_HAZARDS, "m")
        ),
        "alarms_true": alarms_true,
        "alarms_false": alarms_false,
        "exposure_vs_rating": _exposure_vs_rating(result_summary, max_dose_rate, dose),
        "max_dose_rate_usv_h": max_dose_rate,
        "dose_usv": dose,
        "max_gas_concentration": _absent(NEEDS_GAS_SERIES if sources else NO_HAZARDS),
        "closest_approach_to_source_m": (
            _closest_approach(sources, recorder) if sources else _absent(NO_HAZARDS, "m")
        ),
    }

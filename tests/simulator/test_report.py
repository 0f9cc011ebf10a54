"""The drill recorder, the KPIs and the scored report, on a small synthetic drill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread

from controller.dispatcher import MissionStatus
from controller.events import ControllerEvent
from controller.registry import RobotStatus
from missions.mission import MissionOutcome
from missions.site import SiteMap
from simulator import report as report_module
from simulator.drill import DrillProgress
from simulator.physics.radiation import GAMMA_USV_H_PER_GBQ
from simulator.recorder import DrillRecorder, fan_out, hazard_sources, kpis
from simulator.report import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SITE = SiteMap.model_validate(
    {
        "map_id": "test-site",
        "nodes": [
            {"id": "dock", "x": 0, "y": 0},
            {"id": "a", "x": 10, "y": 0},
            {"id": "b", "x": 10, "y": 10},
        ],
        "edges": [{"start": "dock", "end": "a"}, {"start": "a", "end": "b"}],
        "zones": [
            {"id": "bay", "kind": "hazardous", "polygon": [[8, 8], [12, 8], [12, 12], [8, 12]]}
        ],
    }
)


def robot(serial: str, x_m: float, y_m: float, battery_pct: float, availability: str) -> Any:
    return RobotStatus(
        manufacturer="sim",
        serial=serial,
        version="2.1.0",
        connection=None,
        availability=availability,  # type: ignore[arg-type]
        last_node_id=None,
        x_m=x_m,
        y_m=y_m,
        battery_pct=battery_pct,
        driving=False,
        paused=False,
        errors=[],
        order_id=None,
        factsheet_actions=(),
        last_state_at_s=None,
    )


def mission(
    mid: str, outcome: MissionOutcome, sent_at_s: float, ended_at_s: float | None
) -> MissionStatus:
    return MissionStatus(
        id=mid,
        robot="r1",
        outcome=outcome,
        order_id=f"{mid}-1",
        order_update_id=0,
        nodes_done=1,
        nodes_total=3,
        actions_finished=0,
        actions_total=1,
        reason=None,
        action_results={},
        accepted_at_s=0.0,
        sent_at_s=sent_at_s,
        acknowledged_at_s=sent_at_s,
        ended_at_s=ended_at_s,
    )


def synthetic_recorder() -> DrillRecorder:
    """r1 drives dock -> a -> b; r2 goes stale at t = 10 s and comes back at t = 20 s."""
    rec = DrillRecorder()
    for t in range(0, 31):
        t_s = float(t)
        x, y = (min(t_s, 10.0), max(t_s - 10.0, 0.0))
        r2_avail = "stale" if 10 <= t < 20 else "online"
        events = []
        if t == 10:
            events.append(ControllerEvent(10.0, "robot", "sim/r2", "stale"))
        if t == 25:
            events.append(ControllerEvent(25.0, "mission", "m-done", "completed: reached 'b'"))
        rec(
            DrillProgress(
                t_s,
                [
                    mission("m-done", MissionOutcome.COMPLETED, 1.0, 25.0),
                    mission("m-failed", MissionOutcome.FAILED, 2.0, 12.0),
                    mission("m-aborted", MissionOutcome.ABORTED, 3.0, 20.0),
                    mission("m-running", MissionOutcome.ACTIVE, 4.0, None),
                ],
                [robot("r1", x, y, 100 - t_s, "online"), robot("r2", 0, 0, 90, r2_avail)],
                events,
            )
        )
    return rec


def synthetic_summary(**extra: Any) -> dict[str, Any]:
    def m(mid: str, outcome: str, reason: str | None = None) -> dict[str, Any]:
        return {
            "id": mid,
            "robot": "r1",
            "outcome": outcome,
            "expected": "completed",
            "reason": reason,
            "nodes_done": 1,
            "nodes_total": 3,
            "actions_finished": 0,
            "actions_total": 1,
            "action_results": {},
        }

    def r(serial: str, availability: str) -> dict[str, Any]:
        return {
            "serial": serial,
            "manufacturer": "sim",
            "version": "2.1.0",
            "availability": availability,
            "connection": "ONLINE",
            "last_node_id": "b",
            "x_m": 10.0,
            "y_m": 10.0,
            "battery_pct": 70.0,
            "driving": False,
            "paused": False,
            "errors": [],
        }

    return {
        "scenario": "synthetic",
        "seed": 3,
        "broker": "test",
        "passed": False,
        "failures": ["mission m-failed: failed, expected completed"],
        "missions": [
            m("m-done", "completed"),
            m("m-failed", "failed", "<script>alert(1)</script>"),
            m("m-aborted", "aborted", "robot lost"),
            m("m-running", "active"),
        ],
        "robots": [r("r1", "online"), r("r2", "online"), r("r3", "offline")],
        "sim_seconds": 30.0,
        "wall_seconds": 0.5,
        "messages": {"lost": 0, "rejected": {}},
        **extra,
    }


# -- recorder ---------------------------------------------------------------------------


def test_recorder_keeps_trajectories_events_and_last_mission_snapshot() -> None:
    rec = synthetic_recorder()
    assert set(rec.tracks) == {"r1", "r2"}
    r1 = rec.tracks["r1"]
    assert len(r1) == 31
    assert (r1[0].sim_s, r1[0].x_m, r1[0].y_m, r1[0].battery_pct) == (0.0, 0.0, 0.0, 100.0)
    assert (r1[-1].sim_s, r1[-1].x_m, r1[-1].y_m, r1[-1].battery_pct) == (30.0, 10.0, 20.0, 70.0)
    assert [(e.at_s, e.subject) for e in rec.events] == [(10.0, "sim/r2"), (25.0, "m-done")]
    assert rec.missions["m-running"].outcome is MissionOutcome.ACTIVE
    assert rec.last_sim_s == 30.0
    assert rec.ever_lost() == ["r2"]


def test_fan_out_calls_every_sink_in_order() -> None:
    seen: list[str] = []
    sink = fan_out(lambda p: seen.append(f"a{p.sim_s:g}"), lambda p: seen.append(f"b{p.sim_s:g}"))
    sink(DrillProgress(1.0, [], [], []))
    assert seen == ["a1", "b1"]


# -- KPIs -------------------------------------------------------------------------------


def test_kpis_count_missions_and_lost_robots() -> None:
    k = kpis(synthetic_summary(), synthetic_recorder())
    assert k["missions_total"]["value"] == 4
    assert k["missions_completed"]["value"] == 1
    assert k["missions_failed"]["value"] == 1
    assert k["missions_aborted"]["value"] == 1
    assert k["missions_unfinished"]["value"] == 1
    # r3 offline at the end, r2 stale for a while and back: both count as lost
    assert k["robots_lost"]["value"] == 2
    assert k["robots_lost"]["at_end"] == ["r3"]
    assert k["robots_lost"]["ever"] == ["r2", "r3"]


@pytest.mark.parametrize(
    "name",
    [
        "time_to_first_detection_s",
        "time_to_robots_withdrawn_s",
        "source_localization_error_m",
        "alarms_true",
        "alarms_false",
        "exposure_vs_rating",
    ],
)
@pytest.mark.parametrize("with_hazards", [False, True])
def test_kpis_that_need_detection_are_absent_not_zero(name: str, with_hazards: bool) -> None:
    # a summary without the controller's picture and alerts (or without hazards): the
    # detection KPIs cannot be computed, so they are absent with a reason, never 0
    hazards = [{"kind": "gas", "x_m": 10.0, "y_m": 10.0, "onset": 5.0}] if with_hazards else None
    summary = synthetic_summary(**({"hazards": hazards} if hazards else {}))
    k = kpis(summary, synthetic_recorder())
    assert k[name]["value"] is None
    assert k[name]["note"]
    # and it stays null (not 0) on the way to summary.json
    assert json.loads(json.dumps(k))[name]["value"] is None


def test_detection_kpis_from_the_controllers_picture_and_alerts() -> None:
    hazards = [
        {"kind": "gas_release", "gas": "H2S", "x_m": 6.0, "y_m": 14.5, "start_s": 5.0},
        {"kind": "radiation_source", "x_m": 30.0, "y_m": 0.0, "start_s": 0.0},
    ]
    summary = synthetic_summary(hazards=hazards)
    summary["picture"] = {
        "first_seen": {
            "gas:H2S": {"t_s": 31.0, "robot": "m/r1", "x_m": 7, "y_m": 13, "value": 2,
                        "unit": "ppm"},
            "radiation": {"t_s": 12.0, "robot": "m/r2", "x_m": 25, "y_m": 0, "value": 3,
                          "unit": "µSv/h"},
        },
        "gas_sources": {"H2S": {"x_m": 6.0, "y_m": 13.5}, "CO": {"x_m": 0.0, "y_m": 0.0}},
        "radiation_source": {"x_m": 33.0, "y_m": 4.0},
    }  # fmt: skip
    summary["alerts"] = [
        {"key": "gas/m/r1/H2S/HIGH", "severity": "error", "hazard": "gas_toxic",
         "title": "H2S HIGH", "raised_s": 40.0},
        {"key": "camera/m/r2/flame", "severity": "critical", "hazard": "fire",
         "title": "flame seen", "raised_s": 20.0},
        {"key": "gas/m/r3/H2S/LOW", "severity": "warn", "hazard": "gas_toxic",
         "title": "H2S LOW", "raised_s": 3.0},
        {"key": "source/H2S", "severity": "info", "hazard": "gas_toxic",
         "title": "H2S leak located", "raised_s": 60.0},
    ]  # fmt: skip
    k = kpis(summary, synthetic_recorder())
    # onset is the earliest source's (0 s): radiation was seen first, at 12 s
    assert k["time_to_first_detection_s"]["value"] == 12.0
    assert k["time_to_first_detection_s"]["per_hazard_s"] == {"gas:H2S": 31.0, "radiation": 12.0}
    # the first alert of warn or worse; the info source alert does not count
    assert k["time_to_first_alert_s"]["value"] == 3.0
    assert k["time_to_first_alert_s"]["alerts_raised"] == 3
    # H2S 1 m off, radiation 5 m off (3-4-5); CO has no true source and is not scored
    assert k["source_localization_error_m"]["per_source"] == {"gas:H2S": 1.0, "radiation": 5.0}
    assert k["source_localization_error_m"]["value"] == 5.0
    # the LOW at 3 s came before any gas was released; the flame had no fire behind it
    assert k["alarms_true"]["value"] == 1 and k["alarms_true"]["keys"] == ["gas/m/r1/H2S/HIGH"]
    assert k["alarms_false"]["value"] == 2
    assert set(k["alarms_false"]["keys"]) == {"camera/m/r2/flame", "gas/m/r3/H2S/LOW"}


def test_time_to_first_alert_comes_from_the_controllers_alarm_events() -> None:
    hazards = [{"kind": "gas", "x_m": 10.0, "y_m": 10.0, "onset_s": 5.0}]
    rec = synthetic_recorder()
    k = kpis(synthetic_summary(hazards=hazards), rec)
    assert k["time_to_first_alert_s"]["value"] is None  # none raised: absent, not 0
    assert "no gas alarm" in k["time_to_first_alert_s"]["note"]
    rec.events += [
        ControllerEvent(42.0, "alarm", "m/r1", "H2S HIGH raised: 25 ppm (set point 20 ppm)"),
        ControllerEvent(17.5, "alarm", "m/r2", "H2S LOW raised: 11 ppm (set point 10 ppm)"),
        ControllerEvent(50.0, "alarm", "m/r2", "H2S LOW cleared"),
    ]
    k = kpis(synthetic_summary(hazards=hazards), rec)
    assert k["time_to_first_alert_s"]["value"] == 12.5
    assert k["time_to_first_alert_s"]["alarms_raised"] == 2
    assert "m/r2 H2S LOW raised" in k["time_to_first_alert_s"]["note"]
    no_hazards = kpis(synthetic_summary(), rec)["time_to_first_alert_s"]
    assert no_hazards["value"] is None  # nothing to measure from


def test_exposure_against_each_robots_rating() -> None:
    cs137 = {"kind": "radiation_source", "nuclide": "Cs-137", "activity_gbq": 50.0}
    summary = synthetic_summary(hazards=[cs137 | {"x_m": 10.0, "y_m": 0.0, "start_s": 0.0}])
    assert kpis(summary, synthetic_recorder())["exposure_vs_rating"]["value"] is None
    summary["exposure"] = {"r1": {"H2S": 120.0, "LEL": 4.0}, "r2": {"H2S": 3.0}}
    summary["ratings"] = {
        "r1": {"max_readings": {"H2S": 100.0, "LEL": 10.0}, "dose_rate_usv_h": 1e6},
        "r2": {"max_readings": {"H2S": 100.0, "Cl2": 5.0}, "dose_usv": 1e-9},
    }
    k = kpis(summary, synthetic_recorder())["exposure_vs_rating"]
    assert k["exceeded"] == ["r1", "r2"] and k["value"] == 2
    r1, r2 = k["per_robot"]["r1"], k["per_robot"]["r2"]
    assert r1["H2S"] == {"peak": 120.0, "rating": 100.0, "exceeded": True}
    assert r1["LEL"]["exceeded"] is False and r1["dose_rate_usv_h"]["exceeded"] is False
    assert r2["Cl2"] == {"peak": None, "rating": 5.0, "exceeded": False}  # never read
    assert r2["dose_usv"]["exceeded"] is True  # it sat 10 m from 50 GBq of Cs-137


def test_closest_approach_counts_only_after_the_hazard_onset() -> None:
    # r1 passes (10, 0) at t = 10 s and reaches (10, 20) at t = 30 s; r2 sits at the dock
    early = {"kind": "radiation", "x_m": 10.0, "y_m": 0.0, "onset_s": 0.0}
    late = {"kind": "gas", "x_m": 10.0, "y_m": 0.0, "onset_s": 25.0}
    k = kpis(synthetic_summary(hazards=[early]), synthetic_recorder())
    assert k["closest_approach_to_source_m"]["value"] == 0.0
    assert k["closest_approach_to_source_m"]["per_robot"] == {"r1": 0.0, "r2": 10.0}
    k = kpis(synthetic_summary(hazards=[late]), synthetic_recorder())
    # after 25 s r1 is at (10, 15..20): 15 m away; r2 is still 10 m away
    assert k["closest_approach_to_source_m"]["per_robot"] == {"r1": 15.0, "r2": 10.0}
    assert k["closest_approach_to_source_m"]["value"] == 10.0


def test_closest_approach_is_absent_without_ground_truth() -> None:
    k = kpis(synthetic_summary(), synthetic_recorder())
    assert k["closest_approach_to_source_m"]["value"] is None
    assert "no hazard ground truth" in k["closest_approach_to_source_m"]["note"]


def test_hazard_sources_accepts_a_list_or_an_object_and_skips_bad_entries() -> None:
    good = {"kind": "fire", "x_m": 1, "y_m": 2, "onset": 7}
    assert hazard_sources({"hazards": [good, {"kind": "no position"}, "junk"]}) == [
        {"kind": "fire", "x_m": 1.0, "y_m": 2.0, "onset": 7, "onset_s": 7.0}
    ]
    assert hazard_sources({"hazards": {"sources": [good]}})[0]["onset_s"] == 7.0
    assert hazard_sources({"hazards": [{"x_m": 0, "y_m": 0}]})[0]["onset_s"] == 0.0
    assert hazard_sources({}) == []
    assert hazard_sources({"hazards": None}) == []


# -- report -----------------------------------------------------------------------------


def assert_valid_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 5_000, f"{path} is suspiciously small ({len(data)} bytes)"
    pixels = imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert pixels.std() > 0.01, f"{path} is a blank image"


def test_write_report_writes_html_and_plots(tmp_path: Path) -> None:
    hazards = [{"kind": "H2S leak", "x_m": 10.0, "y_m": 10.0, "onset_s": 5.0}]
    summary = synthetic_summary(hazards=hazards)
    rec = synthetic_recorder()
    summary["kpis"] = kpis(summary, rec)
    out = tmp_path / "report"

    path = write_report(out, summary, rec, SITE)

    assert path == out / "report.html"
    for name in ("map.png", "timeline.png", "battery.png"):
        assert_valid_png(out / name)
    text = path.read_text(encoding="utf-8")
    for name in ("map.png", "timeline.png", "battery.png"):
        assert f'src="{name}"' in text
    for mid in ("m-done", "m-failed", "m-aborted", "m-running"):
        assert mid in text
    assert "mission m-failed: failed, expected completed" in text
    assert "needs hazard detection (issue 5)" in text
    assert "H2S leak" in text
    assert "sim/r2" in text  # event timeline
    # mission reasons come from robots: they are escaped, never markup
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "http://" not in text and "https://" not in text, "self-contained"
    assert sorted(p.name for p in out.iterdir()) == [
        "battery.png",
        "map.png",
        "report.html",
        "timeline.png",
    ]


def test_write_report_without_trajectories_or_kpis_still_renders(tmp_path: Path) -> None:
    path = write_report(tmp_path, synthetic_summary(), DrillRecorder(), SITE)
    assert_valid_png(tmp_path / "map.png")
    assert "m-done" in path.read_text(encoding="utf-8")


def test_a_failed_report_leaves_the_previous_one_and_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = synthetic_recorder()
    write_report(tmp_path, synthetic_summary(), rec, SITE)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*_: Any) -> str:
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(report_module, "_html", broken)
    with pytest.raises(RuntimeError, match="disk trouble"):
        write_report(tmp_path, synthetic_summary(scenario="second"), rec, SITE)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# -- radiation exposure from the ground truth -------------------------------------------

CS137_1GBQ_AT_10M_USV_H = GAMMA_USV_H_PER_GBQ["Cs-137"] * 1.0 / 10.0**2


def cs137(start_s: float = 0.0) -> dict[str, Any]:
    """1 GBq of Cs-137 at (10, 0), the ground truth's shape (simulator.world)."""
    return {
        "id": "src",
        "kind": "radiation_source",
        "nuclide": "Cs-137",
        "activity_gbq": 1.0,
        "x_m": 10.0,
        "y_m": 0.0,
        "start_s": start_s,
    }


def test_dose_rate_and_dose_along_the_trajectory() -> None:
    k = kpis(synthetic_summary(hazards=[cs137()]), synthetic_recorder())
    # r2 sits 10 m from the source for 30 s; r1 drives through it (clamped at 0.1 m)
    rate, dose = k["max_dose_rate_usv_h"], k["dose_usv"]
    assert rate["per_robot"]["r2"] == pytest.approx(CS137_1GBQ_AT_10M_USV_H, rel=1e-3)
    assert rate["per_robot"]["r1"] == pytest.approx(CS137_1GBQ_AT_10M_USV_H * 100**2, rel=1e-3)
    assert rate["value"] == rate["per_robot"]["r1"] and rate["unit"] == "µSv/h"
    assert dose["per_robot"]["r2"] == pytest.approx(CS137_1GBQ_AT_10M_USV_H * 30 / 3600, rel=1e-2)
    assert dose["unit"] == "µSv"
    # ratings are not known, so the comparison with them stays absent
    assert k["exposure_vs_rating"]["value"] is None
    assert k["max_gas_concentration"]["value"] is None


def test_dose_counts_from_the_source_onset_only() -> None:
    k = kpis(synthetic_summary(hazards=[cs137(start_s=20.0)]), synthetic_recorder())
    # 10 s exposed; the trapezoid across the onset may add up to one 1-s sample interval
    dose = k["dose_usv"]["per_robot"]["r2"]
    assert CS137_1GBQ_AT_10M_USV_H * 10 / 3600 <= dose <= CS137_1GBQ_AT_10M_USV_H * 11 / 3600


def test_shields_in_the_ground_truth_attenuate_the_dose_rate() -> None:
    wall = {
        "id": "wall",
        "kind": "shield",
        "material": "concrete",
        "polygon": [[4, -1], [6, -1], [6, 1], [4, 1]],
        "mu_per_m": None,
    }
    k = kpis(synthetic_summary(hazards=[cs137(), wall]), synthetic_recorder())
    # 2 m of concrete between r2 and the source: practically nothing gets through
    assert k["max_dose_rate_usv_h"]["per_robot"]["r2"] < 1e-6
    assert k["max_dose_rate_usv_h"]["per_robot"]["r1"] > 1000  # r1 drove past the wall


def test_gas_only_ground_truth_leaves_dose_absent() -> None:
    gas = {"kind": "gas_release", "gas": "H2S", "x_m": 10.0, "y_m": 10.0, "start_s": 0.0}
    k = kpis(synthetic_summary(hazards=[gas]), synthetic_recorder())
    assert k["max_dose_rate_usv_h"]["value"] is None
    assert "no radiation source" in k["max_dose_rate_usv_h"]["note"]
    assert k["dose_usv"]["value"] is None


def test_report_with_a_radiation_source_plots_the_dose_rate(tmp_path: Path) -> None:
    summary = synthetic_summary(hazards=[cs137()])
    rec = synthetic_recorder()
    summary["kpis"] = kpis(summary, rec)
    text = write_report(tmp_path, summary, rec, SITE).read_text(encoding="utf-8")
    assert_valid_png(tmp_path / "dose.png")
    assert 'src="dose.png"' in text
    assert "max_dose_rate_usv_h" in text and "Cs-137" in text


def test_a_dose_plot_of_an_earlier_run_is_removed(tmp_path: Path) -> None:
    rec = synthetic_recorder()
    write_report(tmp_path, synthetic_summary(hazards=[cs137()]), rec, SITE)
    assert (tmp_path / "dose.png").exists()
    write_report(tmp_path, synthetic_summary(), rec, SITE)
    assert not (tmp_path / "dose.png").exists()


def test_walls_and_obstacles_are_drawn_on_the_map(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    def dark_pixels(folder: Path, solids: list[list[tuple[float, float]]]) -> int:
        write_report(folder, synthetic_summary(), DrillRecorder(), SITE, solids)
        rgb = np.asarray(Image.open(folder / "map.png").convert("RGB"), dtype=int)
        return int((rgb.sum(axis=2) < 150).sum())

    xs = [n.x for n in SITE.nodes]
    ys = [n.y for n in SITE.nodes]
    block = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))]
    assert dark_pixels(tmp_path / "walls", [block]) > dark_pixels(tmp_path / "plain", []) + 1000


def test_the_map_shows_the_controllers_estimates_and_alert_positions() -> None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    from simulator.report import _draw_estimates

    summary = {
        "picture": {
            "gas_sources": {"H2S": {"x_m": 7.5, "y_m": 14.4, "radius95_m": 3.0}},
            "radiation_source": None,
        },
        "alerts": [
            {"x_m": 8.0, "y_m": 16.0, "severity": "error"},
            {"x_m": 1.0, "y_m": 1.0, "severity": "info"},  # a located source: not an alarm
            {"x_m": None, "y_m": None, "severity": "critical"},  # nowhere to draw
        ],
    }
    ax = Figure().add_subplot()
    _draw_estimates(ax, summary)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 1 and circles[0].center == (7.5, 14.4) and circles[0].radius == 3.0
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["source estimate (95 % circle)", "alert raised here"]
    alert_points = ax.collections[-1].get_offsets()
    assert [tuple(p) for p in alert_points] == [(8.0, 16.0)]
    # a summary from before the picture draws nothing
    bare = Figure().add_subplot()
    _draw_estimates(bare, {})
    assert not bare.patches and not bare.collections

"""Source localization through the real path: bundled drills, the live controller, a broker.

The issue-5 figure "error in metres against the simulator's ground truth, over many
seeds" measured as a user gets it: each seed runs the drill (``DrillRunner``, robots and
controller over MQTT, lock-stepped) with the controller taking the sensor stream as
``hazfleet drill`` does, and reads the KPI ``source_localization_error_m`` of its summary
(the controller's source estimate at the drill's end against the scenario's ground
truth).  ``bench/localization.py`` is the offline figure of the estimator alone.

Drills: ``h2s-leak`` (the target: median ≤ 1.5 m) and ``radiation-search``.  The seeds
change the detectors' noise (and the faults and intermittency a drill has; these two
have none), so the spread is the noise's, over one geometry.

Broker: the system Mosquitto on 127.0.0.1:1883, else an embedded broker.

Run: ``python -m bench.localization_drill [--seeds 10] [--drills h2s-leak radiation-search]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from bench.stats import percentile

REPO = Path(__file__).resolve().parents[1]
DRILLS = REPO / "config" / "drills"
TARGET_M = {"h2s-leak": 1.5}


def one(name: str, seed: int, host: str, port: int, label: str) -> dict[str, Any]:
    from controller.service import ControllerSettings
    from drivers.config_file import load_model
    from missions.alarms import AlarmPreset
    from simulator.drill import DrillRunner
    from simulator.recorder import DrillRecorder, kpis
    from simulator.scenario import load_scenario

    preset = load_model(REPO / "config" / "alarms" / "industrial-scientific.yaml", AlarmPreset)
    sc = load_scenario(DRILLS / f"{name}.yaml")
    sc = sc.model_copy(update={"interface": f"l{uuid.uuid4().hex[:8]}"})
    t0 = time.monotonic()
    result = DrillRunner(
        sc,
        host,
        port,
        broker_label=label,
        seed=seed,
        controller_settings=ControllerSettings(alarm_preset=preset),
    ).run()
    summary = result.summary()
    k = kpis(summary, DrillRecorder())
    return {
        "drill": name,
        "seed": seed,
        "passed": result.passed,
        "error_m": k["source_localization_error_m"]["value"],
        "detect_s": k["time_to_first_detection_s"]["value"],
        "wall_s": time.monotonic() - t0,
    }


def table(rows: list[dict[str, Any]], drills: list[str]) -> str:
    out = [
        "| drill | seeds | located | median error (m) | p90 (m) | max (m) | < 0.5 m "
        "| < 1.5 m | median time to first detection (s) | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in drills:
        mine = [r for r in rows if r["drill"] == name]
        errs = [float(r["error_m"]) for r in mine if r["error_m"] is not None]
        det = [float(r["detect_s"]) for r in mine if r["detect_s"] is not None]
        target = TARGET_M.get(name)
        if not errs:
            out.append(f"| {name} | {len(mine)} | 0 | | | | | | | | |")
            continue
        med = statistics.median(errs)
        met = "" if target is None else ("yes" if med <= target else "no")
        out.append(
            f"| {name} | {len(mine)} | {len(errs)} | {med:.2f} | {percentile(errs, 90):.2f} "
            f"| {max(errs):.2f} | {sum(e < 0.5 for e in errs) / len(errs):.0%} "
            f"| {sum(e < 1.5 for e in errs) / len(errs):.0%} "
            f"| {statistics.median(det) if det else float('nan'):.1f} "
            f"| {'' if target is None else f'≤ {target:g} m'} | {met} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--drills", nargs="+", default=["h2s-leak", "radiation-search"])
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    from bench.sim_speed import _broker

    host, port, label, embedded = _broker("system")
    rows: list[dict[str, Any]] = []
    try:
        for name in args.drills:
            for seed in range(args.seeds):
                row = one(name, seed, host, port, label)
                print(f"# {row}", flush=True)
                rows.append(row)
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"broker: {label}\n")
    print(table(rows, args.drills))


if __name__ == "__main__":
    main()

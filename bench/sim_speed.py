"""Simulator speed: simulated seconds per wall second with a 200 x 200 gas grid.

The issue-4 benchmark.  A grid site 90 x 90 m (31 x 31 nodes, 3 m apart) whose hazard
grid, at 0.5 m cells and a 5 m margin, is exactly 200 x 200 cells; an H2S release in its
middle (0.5 g/s from 0 s, a light wind) that the gas solver steps every tick.  N robots,
each on its own MQTT connection with its own last will (that is how
:class:`~simulator.drill.DrillRunner` always wires them), each with one mission of three short
rounds: two nodes (6 m) along its row, a 5 s gas reading, back; the missions are
submitted over the first 5 simulated seconds (about 60 simulated s in all).  The
baseline is the same drill without the gas (no hazard world at all: the robots read
clean air).

The drill lock-steps every ``--tick`` simulated seconds (default 1 s, the simulated
robots' state interval; the bundled small drills use 0.1 s): robots integrate motion,
actions and sensors exactly within a tick, the gas solver takes as many stable sub-steps
as the tick needs.  The controller runs in the runner's process and the robots in one
worker process per 50 robots, at most four (``--processes`` overrides: the number of
processes, the runner's included; :mod:`simulator.robot_host`).

Every run is a fresh process (``--one``) with the same seed, so the simulated work is
identical between runs and nothing (threads, sockets) is left over from the previous one;
a run that exceeds ``--timeout`` wall seconds is killed and recorded as not completed.
The gas and baseline runs of a size alternate, so that the shared machine's drifts in
speed fall on both alike.  Two rates per run:

* **end to end**: ``sim_seconds / wall_seconds`` of the drill as ``hazfleet drill``
  reports it (connecting every robot and saying goodbye included);
* **loop**: simulated seconds per wall second between the first and the last progress
  report, i.e. the lock-stepped loop alone.

Each run also times a fixed pure-Python loop first (``host_ms``, 2 million additions):
the shared host's speed swings ~2.5x within a day, and the table's last column says
which phase its rates were measured in.

Broker: the system Mosquitto on 127.0.0.1:1883; when it cannot be reached that is
printed and an embedded Mosquitto (or amqtt) is used instead (``--broker embedded``
forces it).

Run: ``python -m bench.sim_speed [--runs 3] [--robots 10 100 1000] [--timeout 180]
[--tick 1.0] [--processes N]``;
``python -m bench.sim_speed --drills [NAME ...]`` runs bundled drills in full (all of
``config/drills/`` without a name; ``--drills site-100`` the 100-robot site).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import percentile

REPO = Path(__file__).resolve().parents[1]
DRILLS = REPO / "config" / "drills"
SYSTEM_BROKER = ("127.0.0.1", 1883)

NODES_PER_SIDE = 31
NODE_SPACING_M = 3.0
"""31 nodes 3 m apart: the site spans 0..90 m on both axes"""
CELL_M = 0.5
MARGIN_M = 5.0
"""(90 m + 2 x 5 m) / 0.5 m = 200 cells on each axis"""
GRID_CELLS = 200
CONNECT_TIMEOUT_S = 60.0
ROUNDS = 3
"""rounds per robot: a drill of about a simulated minute, so that connecting a thousand
clients does not dominate it (the bundled drills run 75 to 700 simulated s)"""
TICK_S = 1.0
"""the drill's lock-step period: the simulated robots publish state every 1 s anyway"""
TARGETS = {10: 100.0, 100: 20.0, 1000: 1.0}
"""issue 4: simulated seconds per wall second on 2 cores, by number of robots"""
CALIBRATION_ADDS = 2_000_000


def host_speed_ms() -> float:
    """Wall ms of a fixed pure-Python loop (2 million additions), taken right before a
    run: the shared host's speed swings ~2.5x within a day, and this says which phase
    a table was measured in (about 100 ms on a fast phase, 250 ms on a slow one)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(CALIBRATION_ADDS):
        total += i
    return (time.perf_counter() - t0) * 1000.0


def _node(row: int, col: int) -> str:
    return f"n{row:02d}-{col:02d}"


def scenario_data(robots: int, *, gas: bool, tick_s: float = 0.1) -> dict[str, Any]:
    """The benchmark drill as a scenario dict (validated by :func:`scenario`)."""
    n = NODES_PER_SIDE
    nodes = [
        {"id": _node(r, c), "x": c * NODE_SPACING_M, "y": r * NODE_SPACING_M}
        for r in range(n)
        for c in range(n)
    ]
    edges: list[dict[str, str]] = []
    for r in range(n):
        for c in range(n):
            if c + 1 < n:
                edges.append({"start": _node(r, c), "end": _node(r, c + 1)})
            if r + 1 < n:
                edges.append({"start": _node(r, c), "end": _node(r + 1, c)})
    fleet: list[dict[str, Any]] = []
    missions: list[dict[str, Any]] = []
    for i in range(robots):
        # spread the homes over the whole site; above n*n robots some share a node
        row, col = divmod((i * n * n) // robots, n)
        target = col + 2 if col + 2 < n else col - 2
        serial = f"b{i + 1:04d}"
        fleet.append({"serial": serial, "start_node": _node(row, col)})
        missions.append(
            {
                "id": f"round-{i + 1:04d}",
                "robot": serial,
                "at_s": round(5.0 * i / robots, 1),
                "steps": [
                    step
                    for _ in range(ROUNDS)
                    for step in (
                        {
                            "node": _node(row, target),
                            "actions": [{"type": "measureGas", "params": {"duration_s": 5}}],
                        },
                        {"node": _node(row, col)},
                    )
                ],
            }
        )
    data: dict[str, Any] = {
        "name": f"sim-speed-{robots}{'-gas' if gas else ''}",
        "interface": "uagv",
        "tick_s": tick_s,
        "site": {"map_id": "bench", "nodes": nodes, "edges": edges},
        "robots": fleet,
        "missions": missions,
        "success": {"timeout_s": 300},
    }
    if gas:
        data["world"] = {
            "wind": {"speed_m_s": 0.5, "direction_deg": 30},
            "grid": {"cell_m": CELL_M, "margin_m": MARGIN_M},
            "dispersion": {"diffusivity_m2_s": 0.05, "mixing_height_m": 2.0},
        }
        data["hazards"] = [
            {
                "id": "bench-leak",
                "kind": "gas_release",
                "gas": "H2S",
                "x_m": 46.5,
                "y_m": 46.5,
                "rate_g_s": 0.5,
            }
        ]
    return data


@dataclass(frozen=True)
class Setup:
    """How the benchmark drill runs: lock-step period and processes hosting robots."""

    tick_s: float = TICK_S
    processes: int | None = None
    """None: the runner's choice (:func:`simulator.drill.auto_processes`)"""
    picture: bool = True
    """the controller keeps its hazard picture and camera watch, as ``hazfleet drill``"""

    def args(self) -> list[str]:
        out = ["--tick", f"{self.tick_s:g}"]
        if self.processes is not None:
            out += ["--processes", str(self.processes)]
        if not self.picture:
            out.append("--no-picture")
        return out


def drill_settings(interface: str, *, picture: bool = True) -> Any:
    """The controller as ``hazfleet drill`` runs it: ``config/hazfleet.yaml``'s controller
    section (the alarm preset on the robots' sensor stream included) and, unless
    ``picture`` is False, the hazard picture and camera watch (without them a drill's
    detection and localization criteria are not judged)."""
    import dataclasses

    from hazfleet.config import load_config

    settings = load_config(REPO / "config" / "hazfleet.yaml").controller.settings(interface)
    return settings if picture else dataclasses.replace(settings, hazard_watch=None)


def one_run(
    robots: int, gas: bool, host: str, port: int, label: str, setup: Setup
) -> dict[str, Any]:
    """One drill in this process; its rates as a JSON-able dict."""
    from drivers.mqtt import MqttSettings
    from simulator.drill import DrillProgress, DrillRunner
    from simulator.hazards import hazard_grid
    from simulator.scenario import Scenario

    data = scenario_data(robots, gas=gas, tick_s=setup.tick_s)
    data["interface"] = f"s{uuid.uuid4().hex[:8]}"
    sc = Scenario.model_validate(data)
    if gas:
        assert sc.world is not None
        grid = hazard_grid(sc.site, sc.world, sc.hazards)
        if (grid.nx, grid.ny) != (GRID_CELLS, GRID_CELLS):
            raise RuntimeError(f"gas grid is {grid.nx} x {grid.ny}, not {GRID_CELLS}²")
    marks: list[tuple[float, float]] = []
    calibration_ms = host_speed_ms()

    def progress(p: DrillProgress) -> None:
        marks.append((p.sim_s, time.monotonic()))

    # 1,000 clients connecting one after the other can take a CONNACK longer than the
    # default 10 s while the earlier ones already run their network threads
    mqtt = MqttSettings(url=f"mqtt://{host}:{port}", connect_timeout_s=CONNECT_TIMEOUT_S)
    runner = DrillRunner(
        sc,
        host,
        port,
        broker_label=label,
        seed=0,
        mqtt=mqtt,
        on_progress=progress,
        processes=setup.processes,
        controller_settings=drill_settings(sc.interface, picture=setup.picture),
    )
    result = runner.run()
    (s0, w0), (s1, w1) = marks[0], marks[-1]
    return {
        "robots": robots,
        "gas": gas,
        "tick_s": setup.tick_s,
        "processes": runner.processes,
        "passed": result.passed,
        "failures": result.failures[:3],
        "sim_s": result.sim_seconds,
        "wall_s": result.wall_seconds,
        "end_to_end": result.sim_seconds / result.wall_seconds,
        "loop": (s1 - s0) / (w1 - w0) if w1 > w0 else float("nan"),
        "host_ms": calibration_ms,
    }


@dataclass
class Cell:
    robots: int
    gas: bool
    runs: list[dict[str, Any]]
    not_run: str | None = None


def _child(
    robots: int, gas: bool, host: str, port: int, label: str, timeout_s: float, setup: Setup
) -> dict[str, Any] | str:
    cmd = [
        sys.executable, "-m", "bench.sim_speed", "--one", str(robots),
        "--host", host, "--port", str(port), "--label", label,
    ]  # fmt: skip
    if gas:
        cmd.append("--gas")
    cmd += setup.args()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, cwd=REPO, check=False
        )
    except subprocess.TimeoutExpired:
        return f"did not complete within {timeout_s:g} wall s (killed)"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return f"exited {proc.returncode}: {tail[0]}"
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _fmt(values: list[float]) -> tuple[str, str]:
    return f"{statistics.median(values):.1f}×", f"{percentile(values, 99):.1f}×"


def measure(
    sizes: list[int],
    runs: int,
    host: str,
    port: int,
    label: str,
    timeout_s: float,
    setup: Setup,
) -> list[Cell]:
    cells: list[Cell] = []
    for robots in sizes:
        # gas and baseline runs alternate, so that a drift of the shared machine's speed
        # (it can halve within minutes) hits both sides of the comparison alike
        gas_cell, base_cell = Cell(robots, True, []), Cell(robots, False, [])
        for k in range(runs):
            for cell in (gas_cell, base_cell):
                if cell.not_run is not None:
                    continue
                got = _child(robots, cell.gas, host, port, label, timeout_s, setup)
                if isinstance(got, str):
                    cell.not_run = f"run {k + 1}: {got}"
                    print(f"# {robots} robots, gas={cell.gas}: {cell.not_run}", flush=True)
                    continue
                print(f"# {json.dumps(got)}", flush=True)
                cell.runs.append(got)
            if gas_cell.not_run is not None and not gas_cell.runs:
                # a size whose gas drill does not complete at all says nothing more
                base_cell.not_run = base_cell.not_run or "not run: the gas drill did not complete"
                break
        cells += [gas_cell, base_cell]
    return cells


def table(cells: list[Cell]) -> str:
    lines = [
        "| robots | processes | gas grid | runs | simulated s | end to end median "
        "| p99 (slowest) | loop median | loop p99 | target | met (end to end / loop) "
        "| host loop ms (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        grid = f"{GRID_CELLS}×{GRID_CELLS}" if c.gas else "none (baseline)"
        target = TARGETS.get(c.robots)
        target_text = f"≥ {target:g}×" if target is not None and c.gas else ""
        if not c.runs:
            lines.append(
                f"| {c.robots} | | {grid} | 0 | | {c.not_run} | | | | {target_text} | "
                f"{'no' if target_text else ''} | |"
            )
            continue
        # p99 of a rate is the slow tail: the 1st percentile of the rate
        e2e = [r["end_to_end"] for r in c.runs]
        loop = [r["loop"] for r in c.runs]
        slow_e2e = f"{percentile(e2e, 1):.1f}×"
        slow_loop = f"{percentile(loop, 1):.1f}×"
        ok = all(r["passed"] for r in c.runs)
        met = ""
        if target_text and target is not None:
            met_e2e = "yes" if statistics.median(e2e) >= target else "no"
            met_loop = "yes" if statistics.median(loop) >= target else "no"
            met = f"{met_e2e} / {met_loop}"
        procs = c.runs[0].get("processes", "")
        lines.append(
            f"| {c.robots} | {procs} | {grid} | {len(c.runs)}{'' if ok else ' (failed)'} "
            f"| {c.runs[0]['sim_s']:.1f} | {_fmt(e2e)[0]} | {slow_e2e} | {_fmt(loop)[0]} "
            f"| {slow_loop} | {target_text} | {met} "
            f"| {statistics.median(r.get('host_ms', float('nan')) for r in c.runs):.0f} |"
        )
    return "\n".join(lines)


def full_drills(names: list[str], host: str, port: int, label: str) -> bool:
    """Bundled drills in full at --speed max, one table row each; True if all passed."""
    from simulator.drill import DrillRunner
    from simulator.scenario import load_scenario

    print(
        "| drill | robots | missions completed | verdict | simulated s | wall s "
        "| sim s per wall s |"
    )
    print("|---|---|---|---|---|---|---|")
    ok = True
    for name in names:
        sc = load_scenario(DRILLS / f"{name}.yaml")
        sc = sc.model_copy(update={"interface": f"s{uuid.uuid4().hex[:8]}"})
        result = DrillRunner(
            sc,
            host,
            port,
            broker_label=label,
            seed=0,
            controller_settings=drill_settings(sc.interface),
        ).run()
        completed = sum(m.outcome.value == "completed" for m in result.missions)
        verdict = "passed" if result.passed else "FAILED: " + "; ".join(result.failures[:3])
        ok = ok and result.passed
        print(
            f"| {name} | {len(sc.robots)} | {completed}/{len(result.missions)} | {verdict} "
            f"| {result.sim_seconds:.1f} | {result.wall_seconds:.1f} "
            f"| {result.sim_seconds / result.wall_seconds:.1f}× |",
            flush=True,
        )
    return ok


def _broker(choice: str) -> tuple[str, int, str, Any]:
    if choice == "system":
        try:
            socket.create_connection(SYSTEM_BROKER, timeout=1).close()
            return (*SYSTEM_BROKER, "Mosquitto 127.0.0.1:1883", None)
        except OSError:
            print("# Mosquitto 127.0.0.1:1883 not reachable: using an embedded broker")
    from drivers.broker import EmbeddedBroker

    b = EmbeddedBroker()
    b.start()
    return b.host, b.port, f"embedded ({b.kind})", b


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--robots", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--timeout", type=float, default=180.0, help="wall s per run")
    ap.add_argument("--broker", choices=("system", "embedded"), default="system")
    ap.add_argument(
        "--drills",
        nargs="*",
        metavar="NAME",
        help="instead: run bundled drills in full (no NAME: every config/drills/*.yaml)",
    )
    ap.add_argument(
        "--tick", type=float, default=TICK_S, help=f"lock-step period, s (default {TICK_S:g})"
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=None,
        help="processes, the runner's included (default: auto)",
    )
    ap.add_argument(
        "--no-picture",
        action="store_true",
        help="the controller without its hazard picture and camera watch (an A/B of its cost)",
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--gas", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", default=SYSTEM_BROKER[0], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=SYSTEM_BROKER[1], help=argparse.SUPPRESS)
    ap.add_argument("--label", default="bench", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one is not None:
        setup = Setup(args.tick, args.processes, not args.no_picture)
        print(json.dumps(one_run(args.one, args.gas, args.host, args.port, args.label, setup)))
        return
    host, port, label, broker = _broker(args.broker)
    try:
        print(f"# broker: {label}")
        if args.drills is not None:
            names = args.drills or sorted(p.stem for p in DRILLS.glob("*.yaml"))
            if not full_drills(names, host, port, label):
                sys.exit(1)
            return
        setup = Setup(args.tick, args.processes, not args.no_picture)
        print(
            f"# tick_s {setup.tick_s:g}, processes {setup.processes or 'auto'}, "
            f"hazard picture {'on' if setup.picture else 'off'}"
        )
        cells = measure(sorted(args.robots), args.runs, host, port, label, args.timeout, setup)
        print(table(cells))
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()

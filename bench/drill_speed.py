"""How fast the default drill runs at ``--speed max``: simulated seconds per wall second.

Every run uses the same seed, so the simulated work is identical and only the wall time
varies.  Run: ``python -m bench.drill_speed [--runs N]``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import uuid
from pathlib import Path
from typing import Literal

from bench.stats import percentile
from drivers.broker import EmbeddedBroker
from simulator.drill import DrillRunner
from simulator.scenario import load_scenario

DEFAULT = Path(__file__).resolve().parents[1] / "config" / "drills" / "default.yaml"


def _run(host: str, port: int, runs: int) -> list[tuple[float, float]]:
    base = load_scenario(DEFAULT)
    out: list[tuple[float, float]] = []
    for _ in range(runs):
        scenario = base.model_copy(update={"interface": f"b{uuid.uuid4().hex[:8]}"})
        result = DrillRunner(scenario, host, port, broker_label="bench", seed=0).run()
        if not result.passed:
            raise RuntimeError(f"drill failed: {result.failures}")
        out.append((result.sim_seconds, result.wall_seconds))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    targets: list[tuple[str, EmbeddedBroker | None, str, int]] = []
    prefs: tuple[Literal["mosquitto", "amqtt"], ...] = ("mosquitto", "amqtt")
    for prefer in prefs:
        b = EmbeddedBroker(prefer=prefer)
        b.start()
        targets.append((f"embedded ({b.kind})", b, b.host, b.port))
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        targets.append(("Mosquitto 127.0.0.1:1883", None, "127.0.0.1", 1883))
    except OSError:
        print("# Mosquitto 127.0.0.1:1883: not reachable, skipped")
    print("| broker | simulated s | wall s median | wall s p99 | sim s per wall s (median) |")
    print("|---|---|---|---|---|")
    for label, broker, host, port in targets:
        try:
            runs = _run(host, port, args.runs)
        finally:
            if broker is not None:
                broker.stop()
        walls = [w for _, w in runs]
        sim = runs[0][0]
        med = statistics.median(walls)
        print(
            f"| {label} | {sim:.1f} | {med:.2f} | {percentile(walls, 99):.2f} | {sim / med:.0f}× |"
        )


if __name__ == "__main__":
    main()

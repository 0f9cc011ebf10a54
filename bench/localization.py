"""Gas-source localization error on the h2s-leak drill's geometry, over many seeds.

The issue-5 offline figure (the live drill KPI is wired elsewhere).  For each seed:

1. the drill's world (``config/drills/h2s-leak.yaml``: walls, obstacles, 0.1 m/s draught
   toward +x, K 0.05 m²/s, 0.5 m cells) is built as the drill builds it
   (:class:`simulator.world.HazardWorld`) and stepped every 0.1 s;
2. its two robots follow their missions' routes along the site graph at 1 m/s (sim-01:
   pump P-202, pump P-201, control room, dock, 10 s readings at each; sim-02 from 2 s: the
   doorway, 15 s test, dock), kinematics simplified to constant speed;
3. each carries the simulator's H2S detector model
   (:data:`simulator.physics.sensors.GENERIC_EC_H2S`: t90 30 s, noise 0.1 ppm, 0.1 ppm
   resolution), warmed up, updated once a second like the robots' suite;
4. the readings (clipped at 0) feed :class:`controller.fusion.GasSourceEstimator` with the
   drill's wind and diffusivity, the open cells as candidates, release onsets every 10 s
   from −60 s to +60 s, the detector's τ = t90/ln 10; the estimate after the last reading is
   compared with the leak's ground truth.

Cases: ``drill`` is the drill as configured (the leak at (6.0, 14.5), 0.05 g/s, from 5 s;
no intermittency, so seeds change only the detector noise); ``random`` draws per seed a
leak position uniformly on the open cells of the pump room within 4 m of the surveyed
pump P-201 (the drill's question: which part of the unit leaks), a rate log-uniform in
0.02–0.2 g/s and an onset in 0–20 s, with log-normal intermittency (σ_ln 0.5).

Reported: median and p90 error (m) of the posterior mean and of the MAP cell, success
rates (error < 0.5 m and < 1.5 m), the emission-rate error (factor), how often the rate
was identifiable, and the median 95 % radius.

Run: ``python -m bench.localization [--seeds 20] [--cases drill random]``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.stats import percentile
from controller.fusion import GasSourceEstimate, GasSourceEstimator, GridSpec, ppm_per_g_m3
from simulator.hazards import (
    GasRelease,
    HazardEntry,
    IntermittencyConfig,
    WorldConfig,
    solid_mask,
)
from simulator.physics.sensors import GENERIC_EC_H2S, Sensor
from simulator.scenario import Scenario, load_scenario
from simulator.world import HazardWorld

DRILL = Path(__file__).resolve().parent.parent / "config" / "drills" / "h2s-leak.yaml"
TICK_S = 0.1
READ_PERIOD_S = 1.0
SPEED_M_S = 1.0
H2S_MOLAR_MASS = 34.081


@dataclass(frozen=True)
class Leg:
    """Robot plan: start time, then (node, dwell s) stops."""

    start_s: float
    stops: tuple[tuple[str, float], ...]


PLANS = {
    "sim-01": Leg(
        0.0, (("pump-p202", 10.0), ("pump-p201", 10.0), ("control-room", 10.0), ("dock", 0.0))
    ),
    "sim-02": Leg(2.0, (("doorway", 15.0), ("dock", 0.0))),
}


def timeline(scenario: Scenario, plan: Leg) -> list[tuple[float, float, float]]:
    """(t, x, y) breakpoints of a robot following ``plan`` at :data:`SPEED_M_S`."""
    site = scenario.site
    pos = {n.id: (n.x, n.y) for n in site.nodes}
    t = plan.start_s
    here = "dock"
    pts = [(0.0, *pos[here]), (t, *pos[here])]
    for node, dwell in plan.stops:
        route = site.shortest_path(here, node) or [here, node]
        for a, b in itertools.pairwise(route):
            t += math.dist(pos[a], pos[b]) / SPEED_M_S
            pts.append((t, *pos[b]))
        t += dwell
        pts.append((t, *pos[node]))
        here = node
    return pts


def position(pts: list[tuple[float, float, float]], t: float) -> tuple[float, float]:
    ts = [p[0] for p in pts]
    x = float(np.interp(t, ts, [p[1] for p in pts]))
    y = float(np.interp(t, ts, [p[2] for p in pts]))
    return x, y


@dataclass(frozen=True)
class Case:
    x_m: float
    y_m: float
    rate_g_s: float
    start_s: float
    sigma_ln: float | None


def drill_case(scenario: Scenario) -> Case:
    leak = next(h for h in scenario.hazards if isinstance(h, GasRelease))
    return Case(leak.x_m, leak.y_m, leak.rate_g_s, leak.start_s, None)


def random_case(scenario: Scenario, rng: np.random.Generator, world: HazardWorld) -> Case:
    grid = world.grid
    assert scenario.world is not None
    solid = solid_mask(grid, scenario.world)
    gx, gy = np.meshgrid(
        grid.origin_x_m + (np.arange(grid.nx) + 0.5) * grid.cell_m,
        grid.origin_y_m + (np.arange(grid.ny) + 0.5) * grid.cell_m,
    )
    pump = next(n for n in scenario.site.nodes if n.id == "pump-p201")
    ok = (~solid) & (gx < 15.0) & (np.hypot(gx - pump.x, gy - pump.y) <= 4.0)
    ok &= (gx > 0.0) & (gy > 0.0) & (gy < 20.0)
    k = int(rng.integers(int(ok.sum())))
    return Case(
        float(gx[ok][k]),
        float(gy[ok][k]),
        float(math.exp(rng.uniform(math.log(0.02), math.log(0.2)))),
        float(rng.uniform(0.0, 20.0)),
        0.5,
    )


Readings = dict[str, tuple[list[float], list[float], list[float], list[float]]]


def simulate(scenario: Scenario, case: Case, seed: int) -> tuple[Readings, HazardWorld]:
    """Step the drill's world with ``case``'s leak and sample it along the robots' paths."""
    assert scenario.world is not None
    world_cfg = scenario.world
    if case.sigma_ln is not None:
        disp = world_cfg.dispersion.model_copy(
            update={"intermittency": IntermittencyConfig(sigma_ln=case.sigma_ln)}
        )
        world_cfg = WorldConfig.model_validate(
            {**world_cfg.model_dump(), "dispersion": disp.model_dump()}
        )
    leak = next(h for h in scenario.hazards if isinstance(h, GasRelease))
    leak = leak.model_copy(
        update={
            "x_m": case.x_m,
            "y_m": case.y_m,
            "rate_g_s": case.rate_g_s,
            "start_s": case.start_s,
        }
    )
    hazards: list[HazardEntry] = [leak]
    world = HazardWorld(scenario.site, world_cfg, hazards, np.random.default_rng([seed, 10_000]))
    paths = {serial: timeline(scenario, plan) for serial, plan in PLANS.items()}
    end_s = max(p[-1][0] for p in paths.values())
    sensors = {
        serial: Sensor(
            GENERIC_EC_H2S,
            np.random.default_rng([seed, i]),
            start_s=-GENERIC_EC_H2S.warmup_s,
            initial_values={"H2S": 0.0},
        )
        for i, serial in enumerate(paths)
    }
    readings: Readings = {s: ([], [], [], []) for s in paths}
    last_read = {s: -math.inf for s in paths}
    steps = round(end_s / TICK_S) + 1
    for k in range(1, steps + 1):
        world.step(TICK_S)
        t = k * TICK_S
        for serial, pts in paths.items():
            if t + 1e-9 < last_read[serial] + READ_PERIOD_S:
                continue
            last_read[serial] = t
            x, y = position(pts, t)
            true_ppm = world.sample("H2S", x, y, t) or 0.0
            sensor = sensors[serial]
            reading = sensor.step({"H2S": true_ppm}, t - sensor.t_s)
            if reading.value is None:
                continue
            ts, xs, ys, vs = readings[serial]
            ts.append(t)
            xs.append(x)
            ys.append(y)
            vs.append(max(reading.value, 0.0))
    return readings, world


def diffusivity_for(scenario: Scenario, which: str) -> float:
    """``nominal``: the drill's K; ``effective``: K plus the numerical diffusion of the
    simulator's first-order upwind scheme along the wind, ``|u|·dx/2`` (0.025 m²/s here),
    i.e. the diffusivity the simulated gas actually spreads with."""
    assert scenario.world is not None
    w = scenario.world
    k = w.dispersion.diffusivity_m2_s
    if which == "effective":
        k += w.wind.speed_m_s * w.grid.cell_m / 2.0
    return k


def estimator_for(scenario: Scenario, world: HazardWorld, diffusivity: str) -> GasSourceEstimator:
    """The estimator as the controller would configure it for this site."""
    assert scenario.world is not None
    g = world.grid
    grid = GridSpec(g.origin_x_m, g.origin_y_m, g.cell_m, g.nx, g.ny)
    w = scenario.world
    return GasSourceEstimator(
        grid,
        wind_u_m_s=w.wind.u_m_s,
        wind_v_m_s=w.wind.v_m_s,
        diffusivity_m2_s=diffusivity_for(scenario, diffusivity),
        mixing_height_m=w.dispersion.mixing_height_m,
        units_per_g_m3=ppm_per_g_m3(H2S_MOLAR_MASS),
        noise_floor=0.3,
        onsets_s=np.arange(-60.0, 61.0, 10.0),
        candidates=~solid_mask(g, w),
    )


def run_one(
    scenario: Scenario, case: Case, seed: int, diffusivity: str
) -> tuple[GasSourceEstimate, float]:
    readings, world = simulate(scenario, case, seed)
    est = estimator_for(scenario, world, diffusivity)
    tau = GENERIC_EC_H2S.tau_rise_s
    t0 = time.perf_counter()
    for serial, (ts, xs, ys, vs) in readings.items():
        est.add_readings(serial, ts, xs, ys, vs, sensor_tau_s=tau)
    wall = time.perf_counter() - t0
    result = est.estimate()
    assert result is not None
    return result, wall


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cases", nargs="+", default=["drill", "random"])
    parser.add_argument("--diffusivity", choices=["effective", "nominal"], default="effective")
    args = parser.parse_args(argv)
    scenario = load_scenario(DRILL)
    print(
        f"diffusivity: {args.diffusivity} ({diffusivity_for(scenario, args.diffusivity):g} m²/s)\n"
    )
    print(
        "| case | seeds | median error m (mean / MAP) | p90 error m (mean / MAP) | "
        "< 0.5 m | < 1.5 m | rate error, median factor | rate identified | "
        "median 95 % radius m | estimator s per run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        err_mean: list[float] = []
        err_map: list[float] = []
        rate_err: list[float] = []
        radius: list[float] = []
        walls: list[float] = []
        identified = 0
        for seed in range(args.seeds):
            rng = np.random.default_rng([seed, 555])
            if name == "drill":
                case = drill_case(scenario)
            else:
                case = random_case(scenario, rng, _world_for(scenario))
            result, wall = run_one(scenario, case, seed, args.diffusivity)
            e1 = math.hypot(result.x_m - case.x_m, result.y_m - case.y_m)
            e2 = math.hypot(result.map_x_m - case.x_m, result.map_y_m - case.y_m)
            err_mean.append(e1)
            err_map.append(e2)
            radius.append(result.radius95_m)
            walls.append(wall)
            if result.rate_g_s is not None:
                identified += 1
                rate_err.append(
                    max(result.rate_g_s / case.rate_g_s, case.rate_g_s / result.rate_g_s)
                )
            print(
                f"  {name} seed {seed}: truth ({case.x_m:.2f}, {case.y_m:.2f}) "
                f"{case.rate_g_s:.3f} g/s; mean ({result.x_m:.2f}, {result.y_m:.2f}) "
                f"err {e1:.2f} m, MAP err {e2:.2f} m, r95 {result.radius95_m:.2f} m, "
                f"rate {result.rate_g_s}, interval {result.rate_interval_g_s}, "
                f"onset {result.onset_s}, weights {result.robot_weights}",
                file=sys.stderr,
            )
        n = len(err_mean)
        rate_txt = f"{statistics.median(rate_err):.2f}×" if rate_err else "n/a"
        print(
            f"| {name} | {n} | {statistics.median(err_mean):.2f} / "
            f"{statistics.median(err_map):.2f} | {percentile(err_mean, 90):.2f} / "
            f"{percentile(err_map, 90):.2f} | "
            f"{sum(e < 0.5 for e in err_mean) / n:.0%} | {sum(e < 1.5 for e in err_mean) / n:.0%}"
            f" | {rate_txt} | {identified}/{n} | {statistics.median(radius):.2f} | "
            f"{statistics.median(walls):.2f} |"
        )


def _world_for(scenario: Scenario) -> HazardWorld:
    assert scenario.world is not None
    return HazardWorld(scenario.site, scenario.world, [], np.random.default_rng(0))


if __name__ == "__main__":
    main(sys.argv[1:])

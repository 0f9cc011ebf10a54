"""Readings fused per second into a 200 × 200 site grid (issue 5: target ≥ 100,000/s).

Three pipelines, each timed on the same synthetic stream (seeded): readings at uniform
random points of a 100 m × 100 m site (0.5 m cells, 200 × 200), concentrations
log-normal, times increasing over ten minutes, a wind that turns slowly (so readings fall
into a handful of DM+V/W wind classes):

* **DM+V/W**: :class:`controller.fusion.KernelDMV` (σ 1 m, γ 1 s, β 1/600 s) fed in batches
  of 10,000 readings, with a full map query (mean, variance, confidence) after every
  100,000 readings; the rate counts both.  Again with 100 readings per call (what a
  controller feeding one tick's messages at a time does), on a tenth of the stream.
* **log-odds**: :class:`controller.fusion.HazardMap` ``update_many`` on the ``gas_toxic``
  layer, batches of 10,000 detections/misses, footprint radius 1 m (13 cells).
* **baseline, naive kernel patch**: what the fast path replaces — every reading adds its
  Gaussian kernel patch (±3σ, 13 × 13 cells) to Ω and R in a Python loop.  Run on a
  tenth of the stream (it is that slow), rate per reading.
* **baseline, bare np.bincount**: the floor — one ``np.bincount`` of the readings' cells
  (what the accumulation costs at the least).

Each pipeline runs ``--runs`` times (fresh map each time); the table gives the median
and the p99 (nearest rank) of the per-run rates.  No timing is asserted anywhere: this
is a measurement.

Run: ``python -m bench.fusion_rate [--runs 7] [--readings 1000000]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from bench.stats import percentile
from controller.fusion import GridSpec, HazardMap, KernelDMV
from controller.fusion.grid import FloatArray

GRID = GridSpec(0.0, 0.0, 0.5, 200, 200)
BATCH = 10_000
QUERY_EVERY = 100_000


def stream(n: int, seed: int = 0) -> tuple[FloatArray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 99.999, n)
    y = rng.uniform(0.0, 99.999, n)
    value = rng.lognormal(0.0, 1.0, n)
    t = np.linspace(0.0, 600.0, n)
    heading = 0.3 + 0.5 * np.sin(t / 200.0)
    speed = 0.8 + 0.3 * np.sin(t / 90.0)
    return x, y, value, t, speed * np.cos(heading), speed * np.sin(heading)


def run_dmv(data: tuple[FloatArray, ...]) -> float:
    x, y, value, t, u, v = data
    m = KernelDMV(GRID, sigma_m=1.0, wind_scale_s=1.0, decay_per_s=1.0 / 600.0)
    start = time.perf_counter()
    for i in range(0, x.size, BATCH):
        j = i + BATCH
        m.add(x[i:j], y[i:j], value[i:j], t[i:j], u[i:j], v[i:j])
        if j % QUERY_EVERY == 0:
            m.snapshot(float(t[j - 1]))
    return x.size / (time.perf_counter() - start)


def run_dmv_small_batches(data: tuple[FloatArray, ...]) -> float:
    """The same on a tenth of the stream fed 100 readings per call (a tick's messages)."""
    x, y, value, t, u, v = (a[: a.size // 10] for a in data)
    m = KernelDMV(GRID, sigma_m=1.0, wind_scale_s=1.0, decay_per_s=1.0 / 600.0)
    start = time.perf_counter()
    for i in range(0, x.size, 100):
        j = i + 100
        m.add(x[i:j], y[i:j], value[i:j], t[i:j], u[i:j], v[i:j])
        if j % QUERY_EVERY == 0:
            m.snapshot(float(t[j - 1]))
    return x.size / (time.perf_counter() - start)


def run_log_odds(data: tuple[FloatArray, ...]) -> float:
    x, y, value, t, _u, _v = data
    m = HazardMap(GRID)
    detected = value > 1.0
    start = time.perf_counter()
    for i in range(0, x.size, BATCH):
        j = i + BATCH
        m.update_many("gas_toxic", x[i:j], y[i:j], 1.0, detected[i:j], 0.9, 0.1, t[i:j])
    m.probability("gas_toxic", float(t[-1]))
    return x.size / (time.perf_counter() - start)


def run_naive_patch(data: tuple[FloatArray, ...]) -> float:
    x, y, value, _t, _u, _v = data
    n = x.size // 10
    omega = np.zeros(GRID.shape)
    big_r = np.zeros(GRID.shape)
    half = 6
    off = np.arange(-half, half + 1) * GRID.cell_m
    patch = np.exp(-0.5 * (off[:, None] ** 2 + off[None, :] ** 2)) / (2 * math.pi)
    start = time.perf_counter()
    for k in range(n):
        ix = int(x[k] / GRID.cell_m)
        iy = int(y[k] / GRID.cell_m)
        y0, y1 = max(iy - half, 0), min(iy + half + 1, GRID.ny)
        x0, x1 = max(ix - half, 0), min(ix + half + 1, GRID.nx)
        p = patch[y0 - iy + half : y1 - iy + half, x0 - ix + half : x1 - ix + half]
        omega[y0:y1, x0:x1] += p
        big_r[y0:y1, x0:x1] += p * value[k]
    return n / (time.perf_counter() - start)


def run_bincount(data: tuple[FloatArray, ...]) -> float:
    x, y, value, _t, _u, _v = data
    acc = np.zeros(GRID.size)
    start = time.perf_counter()
    for i in range(0, x.size, BATCH):
        j = i + BATCH
        idx = (y[i:j] / GRID.cell_m).astype(np.int64) * GRID.nx + (x[i:j] / GRID.cell_m).astype(
            np.int64
        )
        acc += np.bincount(idx, weights=value[i:j], minlength=GRID.size)
    return x.size / (time.perf_counter() - start)


def query_ms(data: tuple[FloatArray, ...], runs: int) -> list[float]:
    """Wall ms of one DM+V/W map query (mean, variance, confidence) after the stream."""
    x, y, value, t, u, v = data
    m = KernelDMV(GRID, sigma_m=1.0, wind_scale_s=1.0, decay_per_s=1.0 / 600.0)
    m.add(x, y, value, t, u, v)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        m.snapshot(float(t[-1]))
        out.append((time.perf_counter() - start) * 1000.0)
    return out


PIPELINES: dict[str, Callable[[tuple[FloatArray, ...]], float]] = {
    "DM+V/W accumulate + map query every 100k": run_dmv,
    "DM+V/W, 100 readings per call, query every 100k": run_dmv_small_batches,
    "log-odds update_many (13-cell footprint)": run_log_odds,
    "baseline: naive per-reading kernel patch": run_naive_patch,
    "baseline: bare np.bincount": run_bincount,
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--readings", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    data = stream(args.readings)
    print(f"{args.readings:,} readings into {GRID.nx} × {GRID.ny} cells, {args.runs} runs\n")
    print("| pipeline | median readings/s | p99 (slowest) readings/s |")
    print("|---|---|---|")
    for name, fn in PIPELINES.items():
        rates = [fn(data) for _ in range(args.runs)]
        # p99 of a rate is its slow tail: the 1st percentile of the rates
        print(f"| {name} | {statistics.median(rates):,.0f} | {percentile(rates, 1):,.0f} |")
        sys.stdout.flush()
    ms = query_ms(data, args.runs)
    x, y, value, t, u, v = data
    probe = KernelDMV(GRID, sigma_m=1.0, wind_scale_s=1.0)
    probe.add(x, y, value, t, u, v)
    classes = len(probe._sums)
    print(
        f"\nOne full map query (mean, variance, confidence; {classes} wind classes in use): "
        f"median {statistics.median(ms):.0f} ms, p99 {percentile(ms, 99):.0f} ms."
    )


if __name__ == "__main__":
    main(sys.argv[1:])

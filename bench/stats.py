"""Small statistics helpers shared by the benchmarks."""

from __future__ import annotations

import statistics

from simulator.batch import nearest_rank


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — no interpolation, so p99 is a real sample."""
    return nearest_rank(values, q)


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000.0 for v in values_s]
    return {
        "n": float(len(ms)),
        "median_ms": statistics.median(ms),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
    }

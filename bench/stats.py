"""Small statistics helpers shared by the benchmarks."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — no interpolation, so p99 is a real sample."""
    # imported here: simulator.batch pulls in the controller, and a speed-bench run's
    # simulator workers re-import the bench module (multiprocessing's __main__ fix-up)
    # without computing any statistic
    from simulator.batch import nearest_rank

    return nearest_rank(values, q)


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000.0 for v in values_s]
    return {
        "n": float(len(ms)),
        "median_ms": statistics.median(ms),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
    }

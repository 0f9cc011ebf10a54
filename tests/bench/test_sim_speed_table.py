"""The simulator-speed benchmark's table: medians, slow tails, targets and host speed."""

from __future__ import annotations

from bench.sim_speed import Cell, table


def run(loop: float, e2e: float, host_ms: float) -> dict[str, object]:
    return {
        "robots": 10,
        "processes": 1,
        "passed": True,
        "sim_s": 54.0,
        "loop": loop,
        "end_to_end": e2e,
        "host_ms": host_ms,
    }


def test_a_row_reports_medians_the_slow_run_the_target_and_the_hosts_speed() -> None:
    cells = [
        Cell(10, True, [run(120.0, 95.0, 110.0), run(90.0, 80.0, 240.0), run(105.0, 99.0, 130.0)]),
        Cell(10, False, [], not_run="run 1: exited 1: boom"),
    ]
    rows = table(cells).splitlines()
    assert "host loop ms" in rows[0]
    gas = rows[2].split(" | ")
    assert gas[5:11] == ["95.0×", "80.0×", "105.0×", "90.0×", "≥ 100×", "no / yes"]
    assert rows[2].endswith("| 130 |")  # the median host calibration of the three runs
    assert "run 1: exited 1: boom" in rows[3]
    assert all(r.count("|") == rows[0].count("|") for r in rows)

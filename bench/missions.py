"""Missions at scale (issue 3): how fast missions are created through the API, and how
long the scheduler takes to release a due mission with 10,000 missions stored.

* **API**: a real ``hazfleet serve`` (subprocess, embedded broker) on a fresh SQLite
  file; one HTTP client creates missions back to back (keep-alive), then 4 clients in
  parallel.  Baseline in the same run: ``MissionService.create`` called in-process on the
  same kind of store, i.e. everything but HTTP, auth and JSON.
* **Scheduler**: a store filled with N missions (90 % finished, 10 % scheduled for
  tomorrow, so every tick evaluates them), then one due mission is created and the tick
  that releases it is timed.  N = 10,000 against a baseline of N = 100 in the same run,
  on SQLite and on PostgreSQL where reachable.  In ``hazfleet serve`` the tick runs every
  second, so the release latency is this tick time plus at most one tick interval.

Run: ``python -m bench.missions [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

from bench.stats import percentile
from controller.missions_service import MissionService
from controller.store import Store
from controller.store.models import MissionRow, TransitionRow
from drivers.broker import free_port
from missions.clock import FakeClock
from missions.mission import MissionSpec
from missions.model import MissionRequest
from simulator.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SITE = load_scenario(REPO / "config" / "drills" / "default.yaml").site
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HAZFLEET = str(Path(sys.executable).parent / "hazfleet")


def request(i: int, *, when: str = "asap") -> dict[str, Any]:
    """A patrol outside hazardous zones: approved by the system, no permit needed."""
    schedule: dict[str, Any] = {"kind": "asap"}
    if when == "tomorrow":
        schedule = {"kind": "at", "at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    return {
        "name": f"bench round {i}",
        "template": "patrol",
        "site": SITE.map_id,
        "targets": [{"kind": "node", "id": "tank-t3"}],
        "params": {"return_to": "dock"},
        "schedule": schedule,
    }


# --------------------------------------------------------------------------- API


def _wait_port(port: int, timeout_s: float = 30) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"hazfleet serve did not listen on {port}")


@contextmanager
def served(db_url: str) -> Iterator[tuple[str, str]]:
    env = {**os.environ, "HAZFLEET_CONFIG": ""}
    out = subprocess.run(
        [HAZFLEET, "user", "add", "bench", "--role", "safety_officer", "--db", db_url],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    token = out.stdout.split()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [HAZFLEET, "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        proc.wait(15)


def api_rate(base: str, token: str, n: int, clients: int) -> float:
    """Missions created per second with ``clients`` parallel HTTP clients."""
    per = n // clients
    errors: list[str] = []

    def worker(k: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            for i in range(per):
                r = c.post("/api/v1/missions", json=request(k * per + i))
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return per * clients / elapsed


def inprocess_rate(db_url: str, n: int) -> float:
    store = Store(db_url)
    store.migrate()
    service = MissionService(store, FakeClock(datetime.now(UTC).timestamp()), {SITE.map_id: SITE})
    t0 = time.perf_counter()
    for i in range(n):
        service.create(MissionRequest.model_validate(request(i)), "bench")
    rate = n / (time.perf_counter() - t0)
    store.close()
    return rate


# --------------------------------------------------------------------------- scheduler


def fill(db_url: str, n: int) -> None:
    """Insert n missions in bulk (the benchmark's set-up, not what it measures)."""
    now = datetime.now(UTC)
    rows, trans = [], []
    for i in range(n):
        later = i % 10 == 0
        rid = f"fill-{i}"
        rows.append(
            {
                "id": rid,
                "name": f"fill {i}",
                "template": "patrol",
                "site": SITE.map_id,
                "priority": "routine",
                "state": "scheduled" if later else "completed",
                "request": MissionRequest.model_validate(
                    request(i, when="tomorrow" if later else "asap")
                ).model_dump(mode="json"),
                "submitted_by": "bench",
                "approved_by": "system",
                "idempotency_key": None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "robot": None,
                "order_id": None,
                "outcome_reason": None,
            }
        )
        trans.append(
            {
                "mission_id": rid,
                "seq": 1,
                "from_state": None,
                "to_state": rows[-1]["state"],
                "by": "bench",
                "at": now,
                "reason": "",
            }
        )
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for k in range(0, n, 2000):
            conn.execute(insert(MissionRow), rows[k : k + 2000])
            conn.execute(insert(TransitionRow), trans[k : k + 2000])
    engine.dispose()


def tick_times(db_url: str, stored: int, rounds: int) -> list[float]:
    store = Store(db_url)
    store.migrate()
    fill(db_url, stored)
    dispatched: list[MissionSpec] = []
    clock = FakeClock(datetime.now(UTC).timestamp())
    service = MissionService(store, clock, {SITE.map_id: SITE}, dispatched.append)
    service.tick()  # warm up
    out: list[float] = []
    for i in range(rounds):
        view, _ = service.create(MissionRequest.model_validate(request(10**6 + i)), "bench")
        t0 = time.perf_counter()
        released = service.tick()
        out.append(time.perf_counter() - t0)
        if view.id not in released:
            raise RuntimeError(f"mission {view.id} was not released: {released}")
        clock.advance(1.0)
    store.close()
    return out


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{d}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _pg_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--missions", type=int, default=300, help="missions per API run")
    args = ap.parse_args(argv)
    kinds = ["sqlite"] + (["postgresql"] if _pg_up() else [])

    print(
        "| store | API 1 client (missions/s) | API 4 clients | in-process baseline "
        "| API/in-process |"
    )
    print("|---|---|---|---|---|")
    for kind in kinds:
        one, four, base = [], [], []
        for _ in range(args.runs):
            with database(kind) as url, served(url) as (api, token):
                one.append(api_rate(api, token, args.missions, 1))
                four.append(api_rate(api, token, args.missions, 4))
            with database(kind) as url:
                base.append(inprocess_rate(url, args.missions))
        m1, m4, mb = (statistics.median(x) for x in (one, four, base))
        print(
            f"| {kind} | {m1:.0f} (runs: {', '.join(f'{x:.0f}' for x in one)}) | {m4:.0f} "
            f"| {mb:.0f} | {m1 / mb:.2f} |"
        )

    print("\n| store | stored missions | release tick median (ms) | p99 (ms) | vs 100 stored |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        small: list[float] = []
        large: list[float] = []
        for _ in range(args.runs):
            with database(kind) as url:
                small += tick_times(url, 100, 20)
            with database(kind) as url:
                large += tick_times(url, 10_000, 20)
        ms, ml = statistics.median(small) * 1000, statistics.median(large) * 1000
        print(f"| {kind} | 100 | {ms:.1f} | {percentile(small, 99) * 1000:.1f} | 1.0× |")
        print(
            f"| {kind} | 10,000 | {ml:.1f} | {percentile(large, 99) * 1000:.1f} | {ml / ms:.1f}× |"
        )


if __name__ == "__main__":
    main()

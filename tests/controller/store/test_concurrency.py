"""Races between writers: the database, not this process, decides who wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from controller.store import MissionRecord, Store
from drivers.errors import LifecycleError

from .helpers import at, create, new_mission, submitted

T = TypeVar("T")
RACERS = 8


def race(calls: list[Callable[[], T]]) -> tuple[list[T], list[BaseException]]:
    """Run the calls at once on their own threads (and their own store connections)."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            value = call()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return results, errors


def test_of_concurrent_transitions_exactly_one_wins(store_url: str) -> None:
    # Separate Store objects: as if several controllers or API workers shared the database.
    stores = [Store(store_url) for _ in range(RACERS)]
    try:
        stores[0].migrate()
        create(stores[0], "m-1")

        def decide(n: int) -> Callable[[], MissionRecord]:
            target = "approved" if n % 2 else "rejected"
            return lambda: stores[n].transition(
                "m-1", "submitted", target, f"officer-{n}", at(1), f"decision {n}"
            )

        winners, errors = race([decide(n) for n in range(RACERS)])

        assert len(winners) == 1, errors
        assert len(errors) == RACERS - 1
        assert all(isinstance(e, LifecycleError) for e in errors), errors
        final = stores[0].get_mission("m-1")
        assert final is not None
        assert final.state == winners[0].state and final.version == 2
        assert len(final.history) == 2 and final.history[1].by == winners[0].history[1].by
    finally:
        for s in stores:
            s.close()


def test_concurrent_submissions_with_one_key_create_one_mission(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(RACERS)]
    try:
        stores[0].migrate()

        def submit(n: int) -> Callable[[], tuple[MissionRecord, bool]]:
            mission_id = f"m-{n}"
            return lambda: stores[n].create_mission(
                new_mission(mission_id), submitted(mission_id), "same-key"
            )

        results, errors = race([submit(n) for n in range(RACERS)])

        assert errors == []
        assert sum(created for _, created in results) == 1
        assert len({record.id for record, _ in results}) == 1
        assert len(stores[0].list_missions()) == 1
    finally:
        for s in stores:
            s.close()

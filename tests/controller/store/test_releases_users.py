"""Schedule release decisions and API users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controller.store import ReleaseRecord, Store, UserRecord
from drivers.errors import MissionError, StoreError

from .helpers import T0, at, create


def test_an_occurrence_is_recorded_once(store: Store) -> None:
    create(store, "m-1")

    assert store.record_release("m-1", at(0), "released", at(0.5), "due")
    assert not store.record_release("m-1", at(0), "missed", at(20), "late")
    # the same instant written in another zone is the same occurrence
    cet = timezone(timedelta(hours=1))
    assert not store.record_release("m-1", at(0).astimezone(cet), "missed", at(21))

    assert store.releases("m-1") == [ReleaseRecord("m-1", T0, "released", at(0.5), "due")]


def test_releases_are_listed_by_occurrence_per_mission(store: Store) -> None:
    create(store, "m-1")
    create(store, "m-2")
    day = timedelta(days=1)
    assert store.record_release("m-1", T0 + day, "missed", T0 + day + timedelta(hours=1), "down")
    assert store.record_release("m-1", T0, "released", T0)
    assert store.record_release("m-2", T0, "released", T0)

    got = store.releases("m-1")
    assert [(r.occurrence, r.status) for r in got] == [(T0, "released"), (T0 + day, "missed")]
    assert all(r.occurrence.tzinfo == UTC for r in got)
    assert store.releases("m-nope") == []


def test_release_of_unknown_mission_is_a_mission_error(store: Store) -> None:
    with pytest.raises(MissionError, match="no mission m-x"):
        store.record_release("m-x", T0, "released", T0)


def test_release_status_and_time_zone_are_checked(store: Store) -> None:
    create(store, "m-1")
    with pytest.raises(ValueError, match="status"):
        store.record_release("m-1", T0, "done", T0)
    with pytest.raises(ValueError, match="naive"):
        store.record_release("m-1", datetime(2026, 1, 1), "released", T0)
    assert store.releases("m-1") == []


def test_user_is_found_by_token_hash_only(store: Store) -> None:
    store.add_user("alice", "safety_officer", "a" * 64, created_at=T0)
    store.add_user("bob", "viewer", "b" * 64)

    assert store.user_by_token_hash("a" * 64) == UserRecord("alice", "safety_officer", "a" * 64, T0)
    bob = store.user_by_token_hash("b" * 64)
    assert bob is not None and bob.role == "viewer" and bob.created_at.tzinfo == UTC
    assert store.user_by_token_hash("c" * 64) is None


def test_duplicate_user_name_or_token_hash_is_refused(store: Store) -> None:
    store.add_user("alice", "safety_officer", "a" * 64, created_at=T0)

    with pytest.raises(StoreError, match="user alice already exists"):
        store.add_user("alice", "viewer", "b" * 64)
    with pytest.raises(StoreError, match="token hash already in use"):
        store.add_user("carol", "viewer", "a" * 64)

    assert store.user_by_token_hash("b" * 64) is None
    alice = store.user_by_token_hash("a" * 64)
    assert alice is not None and alice.role == "safety_officer"

"""Creating, reading, listing and transitioning missions (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from controller.store import NewMission, Store, TransitionRecord
from drivers.errors import LifecycleError, MissionError, StoreError

from .helpers import T0, at, create, new_mission, request_json, submitted


def test_created_mission_reads_back_with_every_field(store: Store) -> None:
    record, created = store.create_mission(new_mission("m-1"), submitted("m-1"), "key-1")

    assert created
    got = store.get_mission("m-1")
    assert got == record
    assert (got.state, got.version, got.priority, got.idempotency_key) == (
        "submitted",
        1,
        "urgent",
        "key-1",
    )
    assert got.request == request_json("m-1")
    assert got.created_at == got.updated_at == T0
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.history == [
        TransitionRecord("m-1", "draft", "submitted", "alice", T0, "submitted for approval", 1)
    ]
    assert got.approved_by is got.robot is got.order_id is got.outcome_reason is None


def test_unknown_mission_is_none(store: Store) -> None:
    assert store.get_mission("m-nope") is None


def test_datetimes_in_other_zones_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    cest = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 8, 30, 15, 250_000, tzinfo=cest)
    store.create_mission(new_mission("m-1"), submitted("m-1", local), None)

    got = store.get_mission("m-1")
    assert got is not None
    assert got.created_at == local
    assert got.created_at.tzinfo == UTC
    assert got.created_at.hour == 6 and got.created_at.microsecond == 250_000
    assert got.history[0].at.tzinfo == UTC


def test_naive_datetimes_are_refused_and_nothing_is_saved(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.create_mission(new_mission("m-1"), submitted("m-1", datetime(2026, 1, 1)), None)
    assert store.get_mission("m-1") is None


def test_same_idempotency_key_returns_the_existing_mission(store: Store) -> None:
    first, created = store.create_mission(new_mission("m-1"), submitted("m-1"), "key-1")
    again, created_again = store.create_mission(
        new_mission("m-2"), submitted("m-2", at(1)), "key-1"
    )

    assert created and not created_again
    assert again == first
    assert store.get_mission("m-2") is None
    assert [m.id for m in store.list_missions()] == ["m-1"]


def test_missions_without_key_are_all_created(store: Store) -> None:
    create(store, "m-1")
    create(store, "m-2")
    assert len(store.list_missions()) == 2


def test_duplicate_mission_id_is_a_store_error_and_changes_nothing(store: Store) -> None:
    original = create(store, "m-1")
    with pytest.raises(StoreError, match="mission m-1 already exists"):
        store.create_mission(new_mission("m-1"), submitted("m-1", at(5), by="mallory"), "k")
    assert store.get_mission("m-1") == original


def test_failed_create_leaves_nothing_behind(store: Store) -> None:
    # The transition row violates NOT NULL after the mission row was flushed: the whole
    # transaction must roll back, mission included.
    broken = TransitionRecord("m-1", "draft", "submitted", None, T0, "x")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.create_mission(new_mission("m-1"), broken, "key-1")

    assert store.get_mission("m-1") is None
    assert store.list_missions() == []
    # and the key is still free
    _, created = store.create_mission(new_mission("m-1"), submitted("m-1"), "key-1")
    assert created


def test_request_that_is_not_json_is_refused(store: Store) -> None:
    bad = NewMission("m-1", "n", "patrol", "unit-7", "routine", {"at": T0}, "alice")
    with pytest.raises(StoreError, match="not plain JSON"):
        store.create_mission(bad, submitted("m-1"), None)
    assert store.get_mission("m-1") is None


def test_first_transition_must_belong_to_the_mission(store: Store) -> None:
    with pytest.raises(ValueError, match="m-2"):
        store.create_mission(new_mission("m-1"), submitted("m-2"), None)


def test_transition_updates_state_fields_version_and_history(store: Store) -> None:
    create(store, "m-1")

    approved = store.transition(
        "m-1", "submitted", "approved", "bob", at(10), "permit checked", approved_by="bob"
    )
    dispatched = store.transition(
        "m-1", "approved", "dispatched", "scheduler", at(20), "due", robot="r1", order_id="o-1"
    )

    assert (approved.state, approved.version, approved.approved_by) == ("approved", 2, "bob")
    assert approved.updated_at == at(10) and approved.created_at == T0
    assert (dispatched.robot, dispatched.order_id, dispatched.version) == ("r1", "o-1", 3)
    assert dispatched.approved_by == "bob"  # untouched fields stay
    assert store.get_mission("m-1") == dispatched
    steps = [(t.seq, t.from_state, t.to_state, t.by, t.at, t.reason) for t in dispatched.history]
    assert steps == [
        (1, "draft", "submitted", "alice", T0, "submitted for approval"),
        (2, "submitted", "approved", "bob", at(10), "permit checked"),
        (3, "approved", "dispatched", "scheduler", at(20), "due"),
    ]


def test_history_keeps_transition_order_through_a_pause_cycle(store: Store) -> None:
    create(store, "m-1")
    path = ["submitted", "approved", "scheduled", "dispatched", "active", "paused", "active"]
    for minute, (old, new) in enumerate(pairwise(path), start=1):
        store.transition("m-1", old, new, "op", at(minute), f"step {minute}")
    final = store.transition(
        "m-1", "active", "completed", "controller", at(30), "done", outcome_reason="all points"
    )

    assert [t.to_state for t in final.history] == [*path, "completed"]
    assert [t.seq for t in final.history] == list(range(1, 9))
    assert [t.reason for t in final.history][1:-1] == [f"step {m}" for m in range(1, 7)]
    assert final.outcome_reason == "all points"


def test_transition_from_the_wrong_state_is_refused_and_changes_nothing(store: Store) -> None:
    before = create(store, "m-1")

    with pytest.raises(LifecycleError) as caught:
        store.transition("m-1", "approved", "scheduled", "scheduler", at(1), "due")

    assert (caught.value.mission_id, caught.value.current, caught.value.target) == (
        "m-1",
        "submitted",
        "scheduled",
    )
    assert store.get_mission("m-1") == before


def test_stale_version_is_refused_even_when_the_state_matches(store: Store) -> None:
    create(store, "m-1")
    store.transition("m-1", "submitted", "approved", "bob", at(1))
    store.transition("m-1", "approved", "dispatched", "s", at(2))
    read = store.transition("m-1", "dispatched", "active", "c", at(3))
    store.transition("m-1", "active", "paused", "op", at(4))
    store.transition("m-1", "paused", "active", "op", at(5))  # back to the state we read

    with pytest.raises(LifecycleError, match="changed meanwhile"):
        store.transition("m-1", "active", "cancelled", "op", at(6), expected_version=read.version)
    current = store.get_mission("m-1")
    assert current is not None and current.state == "active" and current.version == 6
    ok = store.transition("m-1", "active", "cancelled", "op", at(7), expected_version=6)
    assert ok.state == "cancelled"


def test_transition_of_an_unknown_mission_is_a_mission_error(store: Store) -> None:
    with pytest.raises(MissionError, match="no mission m-x") as caught:
        store.transition("m-x", "submitted", "approved", "bob", at(1))
    assert not isinstance(caught.value, LifecycleError)


def test_transition_refuses_fields_it_may_not_set(store: Store) -> None:
    create(store, "m-1")
    with pytest.raises(TypeError, match="state"):
        store.transition("m-1", "submitted", "approved", "bob", at(1), state="completed")
    got = store.get_mission("m-1")
    assert got is not None and got.state == "submitted"


def test_list_filters_pages_and_orders_by_creation(store: Store) -> None:
    create(store, "m-c", when=at(3), template="patrol", priority="routine")
    create(store, "m-a", when=at(1), template="gas_leak_survey", priority="urgent")
    create(store, "m-b", when=at(2), template="patrol", priority="emergency", site="unit-9")
    store.transition("m-b", "submitted", "approved", "bob", at(4))

    assert [m.id for m in store.list_missions()] == ["m-a", "m-b", "m-c"]
    assert [m.id for m in store.list_missions(template="patrol")] == ["m-b", "m-c"]
    assert [m.id for m in store.list_missions(state="approved")] == ["m-b"]
    assert [m.id for m in store.list_missions(priority="routine")] == ["m-c"]
    assert [m.id for m in store.list_missions(site="unit-9")] == ["m-b"]
    assert [m.id for m in store.list_missions(template="patrol", site="unit-7")] == ["m-c"]
    assert [m.id for m in store.list_missions(limit=2)] == ["m-a", "m-b"]
    assert [m.id for m in store.list_missions(limit=2, offset=2)] == ["m-c"]
    assert [len(m.history) for m in store.list_missions()] == [1, 2, 1]
    assert [m.history for m in store.list_missions(history=False)] == [[], [], []]
    with pytest.raises(ValueError):
        store.list_missions(limit=-1)


def test_missions_in_returns_exactly_those_states(store: Store) -> None:
    for n in range(4):
        create(store, f"m-{n}", when=at(n))
    store.transition("m-1", "submitted", "approved", "bob", at(5))
    store.transition("m-2", "submitted", "rejected", "bob", at(5), "no permit")
    store.transition("m-3", "submitted", "approved", "bob", at(5))
    store.transition("m-3", "approved", "dispatched", "s", at(6))

    found = store.missions_in(["approved", "dispatched"])
    assert [(m.id, m.state) for m in found] == [("m-1", "approved"), ("m-3", "dispatched")]
    assert [len(m.history) for m in found] == [2, 3]
    assert store.missions_in([]) == []
    assert [m.id for m in store.missions_in(["submitted"])] == ["m-0"]

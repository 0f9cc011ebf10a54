from __future__ import annotations

from datetime import UTC, datetime

import pytest

from missions.errors import LifecycleError
from missions.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    MissionState,
    Transition,
    check_transition,
    is_terminal,
    make_transition,
)

S = MissionState

# the table of the issue, written out independently of missions.lifecycle
LEGAL: set[tuple[MissionState, MissionState]] = {
    (S.DRAFT, S.SUBMITTED),
    (S.DRAFT, S.CANCELLED),
    (S.SUBMITTED, S.APPROVED),
    (S.SUBMITTED, S.REJECTED),
    (S.SUBMITTED, S.CANCELLED),
    (S.APPROVED, S.SCHEDULED),
    (S.APPROVED, S.CANCELLED),
    (S.SCHEDULED, S.DISPATCHED),
    (S.SCHEDULED, S.CANCELLED),
    (S.SCHEDULED, S.FAILED),
    (S.DISPATCHED, S.ACTIVE),
    (S.DISPATCHED, S.FAILED),
    (S.DISPATCHED, S.ABORTED),
    (S.DISPATCHED, S.CANCELLED),
    (S.ACTIVE, S.PAUSED),
    (S.ACTIVE, S.COMPLETED),
    (S.ACTIVE, S.ABORTED),
    (S.ACTIVE, S.FAILED),
    (S.ACTIVE, S.CANCELLED),
    (S.PAUSED, S.ACTIVE),
    (S.PAUSED, S.ABORTED),
    (S.PAUSED, S.CANCELLED),
    (S.PAUSED, S.FAILED),
}
ALL_PAIRS = [(a, b) for a in MissionState for b in MissionState]
AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(MissionState)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions_pass(current: MissionState, target: MissionState) -> None:
    check_transition("m1", current, target)
    check_transition("m1", current.value, target.value)  # plain strings from the store


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transitions_are_refused(current: MissionState, target: MissionState) -> None:
    with pytest.raises(LifecycleError) as info:
        check_transition("m1", current, target)
    err = info.value
    assert (err.mission_id, err.current, err.target) == ("m1", current.value, target.value)
    assert f"from {current.value} to {target.value}" in str(err)


def test_terminal_states() -> None:
    expected = {S.REJECTED, S.COMPLETED, S.ABORTED, S.FAILED, S.CANCELLED}
    assert expected == TERMINAL_STATES
    assert all(is_terminal(s) == (s in expected) for s in MissionState)
    assert is_terminal("completed") and not is_terminal("paused")
    with pytest.raises(LifecycleError, match="final state"):
        check_transition("m1", S.COMPLETED, S.ACTIVE)


def test_error_names_the_allowed_targets() -> None:
    with pytest.raises(
        LifecycleError, match="allowed from submitted: approved, cancelled, rejected"
    ):
        check_transition("m7", S.SUBMITTED, S.ACTIVE)


def test_unknown_state_is_a_lifecycle_error() -> None:
    with pytest.raises(LifecycleError, match="unknown state"):
        check_transition("m1", "draft", "flying")
    with pytest.raises(LifecycleError, match="unknown state"):
        check_transition("m1", "limbo", "draft")


def test_make_transition_records_who_when_why() -> None:
    t = make_transition("m1", "active", "paused", "op-anna", AT, "gas alarm nearby")
    assert t == Transition("m1", S.ACTIVE, S.PAUSED, "op-anna", AT, "gas alarm nearby")
    with pytest.raises(LifecycleError):
        make_transition("m1", "draft", "active", "op-anna", AT)


def test_transition_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Transition("m1", S.DRAFT, S.SUBMITTED, "so-ben", datetime(2026, 3, 1, 6, 0))

"""API tokens: what `hazfleet user add` hands out must survive a command line."""

from __future__ import annotations

import pytest

import controller.api.tokens as tokens
from controller.api.tokens import new_token


def test_a_token_never_starts_with_a_dash() -> None:
    """After ``--token`` argparse reads a leading ``-`` as an option ("expected one
    argument"); one URL-safe base64 token in 64 would start with one."""
    drawn = [new_token() for _ in range(2000)]  # without the rule: 31 of them, expected
    assert not [t for t in drawn if t.startswith("-")]
    assert len(set(drawn)) == len(drawn)
    assert all(len(t) == 43 for t in drawn)


def test_a_token_with_a_leading_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["-crbG5AucnE", "crbG5AucnE"])
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda n: next(drawn))
    assert new_token() == "crbG5AucnE"

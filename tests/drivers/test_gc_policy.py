"""drivers/gc_policy.py: fewer collector passes inside the block, the old ones after."""

from __future__ import annotations

import gc

import pytest

from drivers.gc_policy import THRESHOLDS, fewer_gc_passes


def test_thresholds_apply_inside_and_are_restored_after() -> None:
    before = gc.get_threshold()
    with fewer_gc_passes():
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == before


def test_thresholds_are_restored_when_the_block_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_gc_passes():
        raise RuntimeError("drill failed")
    assert gc.get_threshold() == before


def test_cyclic_garbage_is_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    with fewer_gc_passes():
        gc.collect()
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2  # the cycle is found by a collection as before

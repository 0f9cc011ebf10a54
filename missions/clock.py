"""Time as an argument.

Every component takes a :class:`Clock`; nothing in the domain reads the system time or
sleeps by itself.  ``now()`` is wall-calendar time in seconds since the Unix epoch (used
for VDA 5050 timestamps); ``monotonic()`` never jumps and is what liveness checks use.
In a drill both advance together with the simulation; in tests a :class:`FakeClock` is
advanced by hand.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Calendar time in seconds since the Unix epoch (UTC)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""


class FakeClock:
    """A clock that only moves when told to: for tests and for lock-stepped drills."""

    def __init__(self, start_epoch_s: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._epoch0 = start_epoch_s
        self._elapsed_s = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._epoch0 + self._elapsed_s

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed_s

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._elapsed_s += seconds

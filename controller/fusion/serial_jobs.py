"""Calls run in the order they were submitted, on one background thread or inline.

The hazard picture hands its gas source estimators' updates (a few milliseconds of NumPy
each, which release the GIL) to a :class:`SerialJobs`, so that they run on a second core
while the controller goes on with its messages.  Results do not depend on the thread's
timing: one thread runs the jobs in submission order, and every read of what the jobs
write first calls :meth:`SerialJobs.settle`, which waits for all of them.  So the same
inputs give bit-for-bit the same estimates in either mode (tested), and a drill keeps
its seed-for-seed results whatever the load.

A job that raises does not stop the others: its exception goes to the job's
``on_error`` callback at the next :meth:`settle` (on the caller's thread), never
silently dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

ErrorHandler = Callable[[Exception], None]


class SerialJobs:
    """One queue of jobs: on a background thread (``background=True``) or run at once."""

    def __init__(self, background: bool = True, name: str = "serial-jobs") -> None:
        self.background = background
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Future[Any], ErrorHandler]] = []
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, on_error: ErrorHandler, fn: Callable[..., Any], /, *args: Any) -> None:
        """Run ``fn(*args)`` after every job submitted before it."""
        if not self.background or self._closed:
            try:
                fn(*args)
            except Exception as exc:  # reported like a background job's failure
                on_error(exc)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
            self._pending.append((self._pool.submit(fn, *args), on_error))

    def settle(self) -> None:
        """Wait until every submitted job has run; report the failures, in order."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future, on_error in pending:
            exc = future.exception()
            if isinstance(exc, Exception):
                on_error(exc)
            elif exc is not None:  # KeyboardInterrupt, SystemExit: not ours to swallow
                raise exc

    @property
    def queued(self) -> int:
        """Jobs submitted and not yet settled."""
        return len(self._pending)

    def close(self) -> None:
        """Settle, stop the thread; later jobs run inline."""
        self.settle()
        self._closed = True
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

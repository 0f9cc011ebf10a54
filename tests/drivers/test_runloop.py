"""The real-time loop: steps on every arriving message and at least every period."""

from __future__ import annotations

import threading
import time

from drivers.bus import Inbox, InMemoryBus
from drivers.runloop import RealtimeLoop, WakingBus


class Counter:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.steps = 0
        self.seen: list[bytes] = []
        self.step_thread: set[str] = set()

    def step(self) -> None:
        self.steps += 1
        self.step_thread.add(threading.current_thread().name)
        self.seen += [m.payload for m in self.inbox.drain()]


def wait_for(cond, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return False


def test_a_message_wakes_the_loop_long_before_its_period() -> None:
    bus = InMemoryBus()
    waking = WakingBus(bus.client())
    inbox = Inbox()
    waking.subscribe("t/#", inbox)
    c = Counter(inbox)
    loop = RealtimeLoop(c.step, waking.wake, period_s=30.0, name="test-loop")
    loop.start()
    try:
        assert wait_for(lambda: c.steps >= 1)  # first step at once
        bus.publish("t/x", b"hello")
        assert wait_for(lambda: c.seen == [b"hello"], timeout_s=2.0)
        assert c.step_thread == {"test-loop"}  # domain work on the loop's thread only
    finally:
        loop.stop()


def test_periodic_steps_without_messages_and_call_runs_between_steps() -> None:
    wake = threading.Event()
    c = Counter(Inbox())
    loop = RealtimeLoop(c.step, wake, period_s=0.01)
    loop.start()
    try:
        assert wait_for(lambda: c.steps >= 5)
        assert loop.call(lambda: "inside") == "inside"
    finally:
        loop.stop()
    steps = c.steps
    time.sleep(0.05)
    assert c.steps == steps  # stopped means stopped


def test_a_failing_step_does_not_end_the_loop() -> None:
    wake = threading.Event()
    calls = {"n": 0}

    def step() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")

    loop = RealtimeLoop(step, wake, period_s=0.01)
    loop.start()
    try:
        assert wait_for(lambda: calls["n"] >= 3)
    finally:
        loop.stop()

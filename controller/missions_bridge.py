"""Wiring between the :class:`~controller.service.Controller` and the mission service.

* controller -> service: the controller's mission events (``detail`` is
  ``"<outcome>: <note>"``) become :meth:`MissionService.on_outcome` calls, with the serial
  number of the robot running the mission and, when the run has ended, the results its
  actions reported (in mission order, see :func:`ordered_results`) so the service can
  draw the template's findings (entry verdict, NETA grade);
* service -> controller: released missions are submitted; cancel, pause and resume of
  running missions are forwarded (the bridge is the service's ``RunControl``);
* the scheduler's :meth:`MissionService.tick` runs every ``tick_interval_s``.

The controller calls its listener from inside ``Controller.step()`` while holding its
lock, and a listener must be cheap (``controller.events``).  So :meth:`on_event` only
queues; :meth:`step`, called by the owner's loop right after ``controller.step()``, hands
the queued events to the service.  The service may then call back into the controller
without any lock held by this thread.

Use::

    bridge = ControllerBridge(service, clock)
    controller = Controller(bus, clock, site, fleet, settings, on_event=bridge.on_event)
    bridge.attach(controller)
    controller.start(); bridge.start()        # start() resumes missions after a restart
    loop: controller.step(); bridge.step()
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from controller.dispatcher import MissionStatus
from controller.events import ControllerEvent
from controller.missions_service import MissionService
from controller.service import Controller
from drivers.errors import MissionError, StoreError
from missions.clock import Clock
from missions.mission import MissionOutcome, MissionSpec

log = logging.getLogger(__name__)

__all__ = ["ControllerBridge", "ordered_results", "parse_mission_event"]

DEFAULT_TICK_INTERVAL_S = 1.0
"""how often the scheduler looks for due missions, in s of clock.monotonic()"""


def parse_mission_event(detail: str) -> tuple[MissionOutcome, str] | None:
    """``"completed: all nodes reached"`` -> (COMPLETED, "all nodes reached"); None for
    mission events that are not outcome changes ("cancel requested", ...)."""
    head, _, note = detail.partition(": ")
    try:
        return MissionOutcome(head), note
    except ValueError:
        return None


_ENDED = frozenset({MissionOutcome.COMPLETED, MissionOutcome.FAILED, MissionOutcome.ABORTED})


def ordered_results(status: MissionStatus) -> list[str]:
    """The run's action results (``resultDescription``) in mission order.

    The dispatcher names actions ``f"{order_id}:{step}:{index}"``
    (:func:`controller.orders.order_action_id`), so the order is (step, index) as
    numbers: step 10 comes after step 9.  A result under an id that is not of the run's
    current order (an earlier dispatch) is left out with a warning; the findings then
    count a result missing, which is fail-safe.
    """
    if status.order_id is None:
        return []
    prefix = f"{status.order_id}:"
    keyed: list[tuple[tuple[int, int], str]] = []
    for action_id, result in status.action_results.items():
        step, sep, index = action_id.removeprefix(prefix).partition(":")
        if not action_id.startswith(prefix) or not sep or not step.isdigit() or not index.isdigit():
            log.warning(
                "run %s: result of action %r left out: not an action of order %s",
                status.id,
                action_id,
                status.order_id,
            )
            continue
        keyed.append(((int(step), int(index)), result))
    return [result for _, result in sorted(keyed, key=lambda kv: kv[0])]


class ControllerBridge:
    """Connects one Controller to one MissionService (see the module doc)."""

    def __init__(
        self,
        service: MissionService,
        clock: Clock,
        *,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
    ) -> None:
        if tick_interval_s < 0:
            raise ValueError(f"tick_interval_s must be >= 0, got {tick_interval_s}")
        self._service = service
        self._clock = clock
        self._tick_interval_s = tick_interval_s
        self._controller: Controller | None = None
        self._events: deque[ControllerEvent] = deque()
        self._lock = threading.Lock()
        self._last_tick_s: float | None = None

    @classmethod
    def wire(
        cls,
        service: MissionService,
        clock: Clock,
        make_controller: Callable[[Callable[[ControllerEvent], None]], Controller],
        *,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
    ) -> tuple[ControllerBridge, Controller]:
        """Build the bridge and the controller together: ``make_controller(on_event)``
        must pass ``on_event`` to the Controller it constructs."""
        bridge = cls(service, clock, tick_interval_s=tick_interval_s)
        controller = make_controller(bridge.on_event)
        bridge.attach(controller)
        return bridge, controller

    def attach(self, controller: Controller) -> None:
        """Use ``controller`` (constructed with ``on_event=self.on_event``)."""
        self._controller = controller
        self._service.connect(self)

    # ------------------------------------------------------------ controller -> service

    def on_event(self, event: ControllerEvent) -> None:
        """The Controller's listener: queue mission events (cheap, never raises)."""
        if event.kind != "mission":
            return
        with self._lock:
            self._events.append(event)

    def start(self) -> list[str]:
        """Resume the missions the store says were running (call after controller.start())."""
        return self._service.resume_after_restart()

    def step(self) -> None:
        """Hand queued controller events to the service, then tick the scheduler if due."""
        self._drain()
        now_s = self._clock.monotonic()
        if self._last_tick_s is None or now_s - self._last_tick_s >= self._tick_interval_s:
            self._last_tick_s = now_s
            try:
                self._service.tick()
            except StoreError:
                log.exception("scheduler tick failed; trying again next tick")

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._events:
                    return
                event = self._events.popleft()
            parsed = parse_mission_event(event.detail)
            if parsed is None:
                if event.detail.startswith("cancel refused"):
                    log.warning("mission run %s: %s", event.subject, event.detail)
                continue
            outcome, note = parsed
            status = self._status_of(event.subject)
            results = ordered_results(status) if status and outcome in _ENDED else []
            try:
                self._service.on_outcome(
                    event.subject,
                    outcome,
                    note,
                    robot=status.robot if status else None,
                    results=results,
                )
            except StoreError:
                # the database is unreachable: keep the event (and those after it, in
                # order) for the next step rather than lose an outcome
                with self._lock:
                    self._events.appendleft(event)
                log.exception("cannot record %s of run %s yet", outcome.value, event.subject)
                return
            except Exception:
                log.exception("outcome %s of run %s not applied", outcome.value, event.subject)

    def _status_of(self, run: str) -> MissionStatus | None:
        if self._controller is None:
            return None
        return next((m for m in self._controller.missions() if m.id == run), None)

    # ------------------------------------------------------ service -> controller (RunControl)

    def submit(self, mission: MissionSpec) -> None:
        self._require().submit(mission)

    def cancel(self, mission_id: str) -> None:
        self._require().cancel(mission_id)

    def pause(self, mission_id: str) -> None:
        self._require().pause(mission_id)

    def resume(self, mission_id: str) -> None:
        self._require().resume(mission_id)

    def _require(self) -> Controller:
        if self._controller is None:
            raise MissionError("no controller attached to the mission service")
        return self._controller

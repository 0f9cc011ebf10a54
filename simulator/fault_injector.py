"""Applying a drill's faults (:mod:`simulator.faults`) at their simulated time.

The drill runner (:mod:`simulator.drill`) calls :meth:`FaultInjector.apply_due` at the
start of every tick, before the controller steps, and runs the delivery barrier after it
when something happened, so a fault's effects reach every component at the same tick
whatever the machine's load.

* ``link_loss``: the robot's bus is marked down (nothing it publishes is sent or counted,
  nothing addressed to it is expected), the will CONNECTIONBROKEN is counted as sent to
  the controller and the TCP connection is cut without DISCONNECT, so the broker
  publishes the will and the barrier waits for it.  The transport reconnects by itself
  in the background; the bus stays down until the fault ends, when the runner waits for
  the subscriptions to be back, marks the bus up and the robot announces itself ONLINE.
* ``broker_outage``: every bus down, the embedded broker stopped; at the end it starts on
  the same port, every transport reconnects and resubscribes, every bus comes back up and
  every robot announces itself.  On an external broker it is skipped with a warning.
* ``drop_messages``: the robot's bus drops a share of what it publishes, drawn from
  ``default_rng([seed, FAULT_RNG_KEY, index])``.
* ``battery_failure``, ``stuck_sensor``, ``stall``: :meth:`SimRobot.inject`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers.broker import EmbeddedBroker
from drivers.bus import Will
from drivers.errors import BrokerError, ConfigError, TransportError
from drivers.mqtt import MqttTransport
from missions.clock import Clock
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.faults import (
    BrokerOutage,
    DropMessages,
    Fault,
    FaultEvent,
    FaultPhase,
    FaultTimeline,
    LinkLoss,
)
from simulator.robot import SimRobot
from simulator.robot_faults import RobotFault

log = logging.getLogger(__name__)

FAULT_RNG_KEY = 20_000
"""a drop_messages fault draws from ``default_rng([seed, FAULT_RNG_KEY, index])``"""
RECONNECT_TIMEOUT_S = 45.0
"""wall seconds to wait for a transport to reconnect and resubscribe after a fault
(above the transport's longest reconnect backoff, 30 s by default)"""


@dataclass(frozen=True)
class Link:
    """One component's connection as the drill sees it."""

    transport: MqttTransport
    bus: TrackedBus
    will: Will | None = None
    robot: SimRobot | None = None


class FaultInjector:
    def __init__(
        self,
        faults: list[Fault],
        *,
        robots: dict[str, Link],
        links: list[Link],
        tracker: DeliveryTracker,
        clock: Clock,
        seed: int,
        broker: EmbeddedBroker | None,
        broker_label: str,
        reconnect_timeout_s: float = RECONNECT_TIMEOUT_S,
    ) -> None:
        self._timeline = FaultTimeline(faults)
        self._robots = robots
        self._links = links
        self._tracker = tracker
        self._clock = clock
        self._seed = seed
        self._broker = broker
        self._broker_label = broker_label
        self._reconnect_timeout_s = reconnect_timeout_s
        self._skipped: set[int] = set()
        self.records: list[dict[str, Any]] = [
            {
                "index": i,
                "kind": f.kind,
                "robot": getattr(f, "robot", None),
                "at_s": f.at_s,
                "end_s": f.end_s,
                "started_s": None,
                "ended_s": None,
                "status": "pending",
                "note": None,
            }
            for i, f in enumerate(faults)
        ]
        """one per fault, for ``summary.json``: status pending, active, ended, skipped
        (cannot apply here, e.g. a broker outage on an external broker) or failed"""
        self.errors: list[str] = []
        """faults that could not be applied or undone: the drill fails"""

    def apply_due(self, sim_s: float) -> bool:
        """Apply every start and end due by ``sim_s``; True when anything was applied
        (the runner then waits at the barrier before the controller steps)."""
        events = self._timeline.due(sim_s)
        for event in events:
            if event.index in self._skipped:
                continue
            try:
                if event.phase is FaultPhase.START:
                    self._start(event, sim_s)
                else:
                    self._end(event, sim_s)
            except (TransportError, BrokerError) as exc:
                self._skipped.add(event.index)
                record = self.records[event.index]
                record["status"] = "failed"
                record["note"] = f"{event.phase.name.lower()} could not be applied: {exc}"
                self.errors.append(f"{event.label}: {exc}")
                log.error("drill: %s at %.1f s failed: %s", event.label, sim_s, exc)
        return bool(events)

    # -- starts and ends --------------------------------------------------------------

    def _start(self, event: FaultEvent, sim_s: float) -> None:
        f = event.fault
        record = self.records[event.index]
        if isinstance(f, LinkLoss):
            link = self._robots[f.robot]
            sock = link.transport.current_socket()
            if link.bus.down or sock is None:
                self._skip(event, sim_s, "the robot's link was already down")
                return
            link.bus.set_down(True)
            if link.will is not None:
                # the broker sends it to the controller: the barrier waits for it
                self._tracker.sent(link.will.topic, link.will.payload)
            link.transport.drop_connection_for_test()
        elif isinstance(f, BrokerOutage):
            if self._broker is None:
                problem = ConfigError(
                    "scenario",
                    f"faults.{event.index}.kind",
                    "broker_outage needs the embedded broker; this drill runs on "
                    f"{self._broker_label}: skipped",
                )
                self._skip(event, sim_s, str(problem))
                return
            for link in self._links:
                link.bus.set_down(True)
            self._broker.stop()
        elif isinstance(f, DropMessages):
            rng = np.random.default_rng([self._seed, FAULT_RNG_KEY, event.index])
            self._robots[f.robot].bus.drop_outgoing(f.fraction, rng)
        else:
            robot = self._robots[f.robot].robot
            if robot is not None:
                end = f.end_s
                # the drill clock's monotonic time counts simulated seconds from the start
                until = None if end is None else self._clock.monotonic() - sim_s + end
                robot.inject(RobotFault(f.kind), until)
        record["status"] = "active"  # a battery failure stays so: it has no end
        record["started_s"] = round(sim_s, 6)
        log.warning("drill: %s at %.1f s", event.label, sim_s)

    def _end(self, event: FaultEvent, sim_s: float) -> None:
        f = event.fault
        record = self.records[event.index]
        if isinstance(f, LinkLoss):
            link = self._robots[f.robot]
            self._rejoin(link)
            if link.robot is not None:
                link.robot.announce()
        elif isinstance(f, BrokerOutage):
            assert self._broker is not None  # skipped at its start otherwise
            self._broker.restart()
            for link in self._links:
                self._rejoin(link)
            for link in self._links:
                if link.robot is not None:
                    link.robot.announce()
        elif isinstance(f, DropMessages):
            self._robots[f.robot].bus.drop_outgoing(0.0, None)
        # the robot ends its own faults at their end time (SimRobot.inject's until_s)
        record["status"] = "ended"
        record["ended_s"] = round(sim_s, 6)
        log.warning("drill: %s at %.1f s", event.label, sim_s)

    def _rejoin(self, link: Link) -> None:
        """Bring a bus up once its transport is connected and subscribed again."""
        if not link.transport.wait_subscribed(self._reconnect_timeout_s):
            raise TransportError(
                f"{link.transport.client_id} did not reconnect within "
                f"{self._reconnect_timeout_s:g} s"
            )
        link.bus.set_down(False)

    def _skip(self, event: FaultEvent, sim_s: float, why: str) -> None:
        self._skipped.add(event.index)
        record = self.records[event.index]
        record["status"] = "skipped"
        record["note"] = why
        log.warning("drill: %s at %.1f s skipped: %s", event.label, sim_s, why)

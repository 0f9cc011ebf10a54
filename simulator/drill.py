"""The drill runner: a controller and simulated robots, lock-stepped over a real broker.

One :class:`~missions.clock.FakeClock` is shared by every component.  Each tick the
runner advances it by ``tick_s`` and steps the controller; meanwhile (the robots' first
half-step, :meth:`SimRobot.advance`, reads nothing that arrived) the hazard world and
every robot advance to the tick's time; after the delivery barrier
(:mod:`simulator.delivery`: everything the controller published has arrived) the
robots respond, and a second barrier brings what they said to the controller.  What the
robots measure comes from the :class:`~simulator.world.HazardWorld` when the scenario
has a world or hazards (seeded with ``[seed, 10_000]``).  Above
:data:`IN_PROCESS_MAX_ROBOTS` robots they run in worker processes
(:mod:`simulator.robot_host`) with the same results.
``speed`` only decides how long the runner sleeps between ticks (``None``: not at all),
so a seed gives the same outcome at any speed and on any load.
The scenario's ``faults`` are applied at the start of their tick, before the controller
steps, by a :class:`~simulator.fault_injector.FaultInjector`, followed by a barrier.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.alerts import AlertQuery
from controller.events import ControllerEvent
from controller.service import (
    Controller,
    ControllerSettings,
    MissionStatus,
    RobotStatus,
    controller_will,
)
from drivers.broker import EmbeddedBroker
from drivers.bus import Will
from drivers.gc_policy import fewer_gc_passes
from drivers.mqtt import MqttSettings, MqttTransport
from drivers.mqtt_pump import NetworkPump
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.mission import MissionOutcome
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.fault_injector import FaultInjector, Link
from simulator.robot import SimRobot
from simulator.robot_host import (
    BARRIER_TIMEOUT_S,
    RELEASE_EVERY,
    WORLD_RNG_KEY,
    HostProcess,
    HostSpec,
    Wiring,
    advance_robots,
    barrier_timeout_s,
    clear_retained,
    hazard_world,
    make_robot,
    respond_robots,
    split,
    wait_subscribed,
)
from simulator.scenario import Scenario
from simulator.world import HazardWorld

log = logging.getLogger(__name__)

ROBOTS_PER_WORKER = 50
"""robots per worker process when the runner chooses the number of processes (up to
:data:`MAX_WORKERS`); measured on 2 cores, 100 robots: 15.0x on one worker, 16.2x on two"""
MAX_WORKERS = 4
"""worker processes the runner's choice stops at (each steps its own copy of the hazard
world): a thousand robots ran 1.7x on four on 2 cores"""
IN_PROCESS_MAX_ROBOTS = 3
"""up to this many robots (or with faults) the runner keeps them in its own process: the
bundled 1-3 robot drills ran as fast either way"""
WAVE_ROBOTS = 200
"""robots in workers announce themselves and say goodbye this many at a time
(:meth:`DrillRunner._waves`)"""

__all__ = [
    "BARRIER_TIMEOUT_S",
    "WORLD_RNG_KEY",
    "DrillProgress",
    "DrillResult",
    "DrillRunner",
    "auto_processes",
]


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def auto_processes(scenario: Scenario) -> int:
    """Processes for the drill, the runner's own included: 1 (the robots in the runner's
    process) for the smallest fleets and for drills with faults; otherwise the runner's
    and one worker per :data:`ROBOTS_PER_WORKER` robots, at most :data:`MAX_WORKERS`."""
    n = len(scenario.robots)
    if n <= IN_PROCESS_MAX_ROBOTS or scenario.faults:
        return 1
    return 1 + min(MAX_WORKERS, math.ceil(n / ROBOTS_PER_WORKER))


@dataclass(frozen=True)
class DrillProgress:
    sim_s: float
    missions: list[MissionStatus]
    robots: list[RobotStatus]
    events: list[ControllerEvent]


@dataclass
class DrillResult:
    scenario: str
    seed: int
    broker: str
    passed: bool
    failures: list[str]
    missions: list[MissionStatus]
    robots: list[RobotStatus]
    expected: dict[str, MissionOutcome]
    sim_seconds: float
    wall_seconds: float
    messages_lost: int
    messages_rejected: dict[str, int]
    events: list[ControllerEvent] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)
    """ground truth of the drill's hazards (:meth:`HazardWorld.ground_truth`)"""
    faults: list[dict[str, Any]] = field(default_factory=list)
    """what became of each scenario fault (:attr:`FaultInjector.records`)"""
    exposure: dict[str, dict[str, float]] = field(default_factory=dict)
    """robot serial -> channel -> highest reading of its sensor stream"""
    ratings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """robot serial -> its exposure rating from the scenario (rated robots only)"""
    picture: dict[str, Any] | None = None
    """the controller's hazard picture at the end (Controller.hazard_picture)"""
    alerts: list[dict[str, Any]] = field(default_factory=list)
    """every alert the controller raised, oldest first, times in simulated seconds"""
    unjudged: list[str] = field(default_factory=list)
    """success criteria the drill could not judge (detection without the sensor stream)"""

    def summary(self) -> dict[str, Any]:
        """The stable ``summary.json`` format (documented in docs/drills.md)."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "broker": self.broker,
            "passed": self.passed,
            "failures": self.failures,
            "missions": [
                {
                    "id": m.id,
                    "robot": m.robot,
                    "outcome": m.outcome.value,
                    "expected": self.expected[m.id].value if m.id in self.expected else None,
                    "reason": m.reason,
                    "nodes_done": m.nodes_done,
                    "nodes_total": m.nodes_total,
                    "actions_finished": m.actions_finished,
                    "actions_total": m.actions_total,
                    "action_results": dict(m.action_results),
                }
                for m in self.missions
            ],
            "robots": [
                {
                    "serial": r.serial,
                    "manufacturer": r.manufacturer,
                    "version": r.version,
                    "availability": r.availability,
                    "connection": r.connection.value if r.connection else None,
                    "last_node_id": r.last_node_id,
                    "x_m": r.x_m,
                    "y_m": r.y_m,
                    "battery_pct": r.battery_pct,
                    "driving": r.driving,
                    "paused": r.paused,
                    "errors": list(r.errors),
                }
                for r in self.robots
            ],
            "sim_seconds": round(self.sim_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "messages": {"lost": self.messages_lost, "rejected": self.messages_rejected},
            "hazards": list(self.hazards),
            "faults": [dict(f) for f in self.faults],
            "exposure": {serial: dict(peaks) for serial, peaks in self.exposure.items()},
            "ratings": {serial: dict(r) for serial, r in self.ratings.items()},
            "picture": self.picture,
            "alerts": [dict(a) for a in self.alerts],
            "unjudged_criteria": list(self.unjudged),
        }


class DrillRunner:
    def __init__(
        self,
        scenario: Scenario,
        host: str,
        port: int,
        *,
        broker_label: str,
        seed: int = 0,
        speed: float | None = None,
        mqtt: MqttSettings | None = None,
        controller_settings: ControllerSettings | None = None,
        on_progress: Callable[[DrillProgress], None] | None = None,
        progress_every_s: float = 1.0,
        wall_start_epoch_s: float | None = None,
        broker: EmbeddedBroker | None = None,
        processes: int | None = None,
        clear_retained: bool = True,
    ) -> None:
        """``broker``: the embedded broker the drill runs on, if it is one (a
        ``broker_outage`` fault stops and restarts it; on any other it is skipped).
        ``processes``: how many processes the drill runs in, this one included: 1 keeps
        the robots here; N > 1 keeps the controller here and spreads the robots over
        N - 1 worker processes (:mod:`simulator.robot_host`); None lets
        :func:`auto_processes` choose.  Faults need the robots in this process.
        ``clear_retained``: at the end, remove the retained messages the drill's robots
        and controller left on the broker (their connection, factsheet and heartbeat):
        simulated robots leave no ghosts behind."""
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for as fast as possible)")
        if processes is None:
            processes = auto_processes(scenario)
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        if processes > 1 and scenario.faults:
            raise ValueError(
                f"scenario {scenario.name}: faults need the robots in the runner's process "
                f"(processes 1), got processes {processes}"
            )
        self.clear_retained = clear_retained
        self.processes = min(processes, len(scenario.robots) + 1)
        """processes the drill runs in: 1 is this one alone; N > 1 are this one (the
        controller) and N - 1 workers (the robots)"""
        self.scenario = scenario
        self._host, self._port = host, port
        self._broker_label = broker_label
        self.seed = seed
        self.speed = speed
        self._mqtt = mqtt
        base = controller_settings or ControllerSettings()
        self._settings = ControllerSettings(
            **{
                **base.__dict__,
                "interface": scenario.interface,
                "fleet_plan": scenario.fleet_plan(base.fleet_plan),
            }
        )
        self._on_progress = on_progress
        self._progress_every_s = progress_every_s
        epoch = time.time() if wall_start_epoch_s is None else wall_start_epoch_s
        self._epoch_s = epoch
        self.clock = FakeClock(start_epoch_s=epoch)
        self.tracker = DeliveryTracker()
        self.pump = NetworkPump()
        """every connection of this process does its I/O here, on the drill's thread,
        whenever it waits (barriers, workers, pacing): :mod:`drivers.mqtt_pump`"""
        self._wiring = Wiring(host, port, mqtt, seed, self.tracker, pump=self.pump)
        self._tag = uuid.uuid4().hex[:8]
        """client ids end in it: two drills on one broker never share a client id"""
        self._transports: list[MqttTransport] = []
        self._buses: list[TrackedBus] = []
        self._robot_buses: list[TrackedBus] = []
        self._events: list[ControllerEvent] = []
        self.world: HazardWorld | None = None
        """the drill's hazard physics; None when the scenario has no world nor hazards
        or when the robots run in worker processes (each steps its own copy)"""
        self._hosts: list[HostProcess] = []
        self._host_lost_by: dict[int, int] = {}
        """messages each worker counted as lost (cumulative, by worker)"""
        self.unjudged: list[str] = []
        """success criteria this run could not judge (set at the end of run())"""
        self._ground_truth: list[dict[str, Any]] | None = None
        self._broker = broker
        self._links: list[Link] = []
        self._robot_links: dict[str, Link] = {}
        self.faults: FaultInjector | None = None
        """applies the scenario's faults; None when it has none"""

    # -- wiring ---------------------------------------------------------------------------

    def _add_link(self, transport: MqttTransport, bus: TrackedBus, will: Will) -> None:
        self._transports.append(transport)
        self._buses.append(bus)
        self._links.append(Link(transport, bus, will))

    def _build(self) -> tuple[Controller, list[SimRobot]]:
        sc = self.scenario
        iface = sc.interface
        fleet = [RobotRef(manufacturer=r.manufacturer, serial=r.serial) for r in sc.robots]
        if self.processes > 1:
            self._spawn_hosts()
        will = controller_will(iface, self._settings.controller_id, self.clock)
        transport, cbus = self._wiring.link(
            f"{self._settings.controller_id}-{self.seed}-{self._tag}", will
        )
        self._add_link(transport, cbus, will)
        controller = Controller(
            cbus, self.clock, sc.site, fleet, self._settings, on_event=self._events.append
        )
        robots: list[SimRobot] = []
        if self.processes > 1:
            return controller, robots
        self.world = hazard_world(sc, self.seed)
        for i, entry in enumerate(sc.robots):
            robot, transport, rbus, will = make_robot(
                sc, i, self._wiring, self.clock, self.world, self._tag
            )
            robots.append(robot)
            self._add_link(transport, rbus, will)
            self._robot_buses.append(rbus)
            self._links[-1] = self._robot_links[entry.serial] = Link(transport, rbus, will, robot)
        if sc.faults:
            self.faults = FaultInjector(
                list(sc.faults),
                robots=self._robot_links,
                links=self._links,
                tracker=self.tracker,
                clock=self.clock,
                seed=self.seed,
                broker=self._broker,
                broker_label=self._broker_label,
            )
        return controller, robots

    def _spawn_hosts(self) -> None:
        level = logging.getLogger().getEffectiveLevel()
        # small bursts overlap a host's answers with this process's reading only while
        # every process has a core of its own (robot_host.respond_robots)
        release_every = RELEASE_EVERY if self.processes <= usable_cores() else 0
        for k, indices in enumerate(split(len(self.scenario.robots), self.processes - 1), start=1):
            if not indices:
                continue
            spec = HostSpec(
                scenario=self.scenario,
                indices=indices,
                process=k,
                host=self._host,
                port=self._port,
                mqtt=self._mqtt,
                seed=self.seed,
                epoch_s=self._epoch_s,
                tag=self._tag,
                log_level=level,
                clear_retained=self.clear_retained,
                release_every=release_every,
            )
            self._hosts.append(HostProcess(spec, pump=self.pump))
        for h in self._hosts:
            h.send_spec()
            # the hosts connect their robots while this process builds its controller;
            # the robots hold what they publish until every subscription is in place
            h.send("start")

    # -- running --------------------------------------------------------------------------

    def run(self) -> DrillResult:
        """Run the drill to its end; its result (the process's garbage collector runs
        fewer, larger passes meanwhile: :mod:`drivers.gc_policy`)."""
        with fewer_gc_passes():
            return self._run()

    def _run(self) -> DrillResult:
        wall0 = time.monotonic()
        sc = self.scenario
        try:
            controller, robots = self._build()
        except BaseException:
            self._close_all()
            raise
        try:
            controller.start()
            for r in robots:
                r.start()
            self._start_hosts()
            self._release_start_messages()
            sim_s = self._loop(controller, robots, wall0)
            # the final picture is taken before the goodbyes turn every robot OFFLINE
            result = self._result(
                controller,
                sim_s,
                time.monotonic() - wall0,
                timed_out=sim_s >= sc.success.timeout_s,
            )
        finally:
            self._shutdown(controller, robots)
        result.messages_lost = self.tracker.lost + sum(self._host_lost_by.values())
        if self._ground_truth is not None:
            result.hazards = self._ground_truth
        # judged now: with robots in workers the ground truth arrives with their goodbyes
        missed = self._detection_failures(result.picture, result.alerts, result.hazards)
        result.failures += missed
        result.passed = result.passed and not missed
        result.unjudged = list(self.unjudged)
        result.wall_seconds = time.monotonic() - wall0
        return result

    def _start_hosts(self) -> None:
        """Hosts have connected and started their robots (told so when they were
        spawned); everyone learns the others' patterns."""
        patterns = {h.spec.process: list(h.recv()) for h in self._hosts}
        patterns[0] = self.tracker.patterns()
        for h in self._hosts:
            h.send(
                "add_remote",
                [(k, p) for k, ps in patterns.items() if k != h.spec.process for p in ps],
            )
        for h in self._hosts:
            h.recv()
        for k, ps in patterns.items():
            if k != 0:
                for p in ps:
                    self.tracker.add_remote_subscription(k, p)

    def _loop(self, controller: Controller, robots: list[SimRobot], wall0: float) -> float:
        sc = self.scenario
        pending = sorted(sc.missions, key=lambda m: m.at_s)
        sim_s = 0.0
        next_progress = 0.0

        def progress() -> None:
            # the controller changes only when it steps (or is given a mission), so the
            # report is the same anywhere between two steps
            nonlocal next_progress
            if sim_s >= next_progress:
                self._progress(sim_s, controller)
                next_progress += self._progress_every_s

        ticks = 0
        while True:
            while pending and pending[0].at_s <= sim_s + 1e-9:
                controller.submit(sc.mission_spec(pending.pop(0)))
            if self.faults is not None and self.faults.apply_due(sim_s):
                # a cut link's last will reaches the controller before it steps
                self._barrier()
            # Two phases per tick, each closed by the delivery barrier: what the controller
            # sends in this tick reaches the robots before they step, and what the robots
            # send reaches the controller before its next step.  Without the first barrier
            # a robot would see an order in this tick or the next depending on the load.
            if self._hosts and ticks == 0:
                for h in self._hosts:  # later ticks' first halves follow each respond
                    h.send("advance", ticks)
            controller.step()
            # the drill's end depends only on what the controller has handled, so it is
            # known now: workers run the next tick's first half only if one follows
            last = self._last_tick(bool(pending), controller, sim_s)
            if self._hosts:
                # the progress report is made while the workers respond
                self._host_respond(
                    None if last else ticks + 1, first=ticks == 0, meanwhile=progress
                )
            else:
                # The robots' first half-step reads nothing that arrived, so it runs
                # while the controller's messages travel; the barrier then makes sure
                # they are in before any robot responds.
                if self.world is not None:
                    # the world reaches this tick's time before any robot reads it
                    self.world.step(max(0.0, sim_s - self.world.time_s))
                advance_robots(robots, self._robot_buses)
                self._barrier()
                respond_robots(robots, self._robot_buses)
                self._barrier()
                progress()
            if last:
                break
            ticks += 1
            sim_s = round(ticks * sc.tick_s, 9)
            self.clock.advance(sc.tick_s)
            if self.speed is not None:
                lag = wall0 + sim_s / self.speed - time.monotonic()
                if lag > 0:
                    self.pump.sleep(lag)
        self._progress(sim_s, controller)
        return sim_s

    def _last_tick(self, pending: bool, controller: Controller, sim_s: float) -> bool:
        """Whether the drill ends with this tick: every mission submitted and ended, or
        its time is up."""
        ended = not pending and controller.all_missions_ended()
        return ended or sim_s >= self.scenario.success.timeout_s

    def _host_respond(
        self, next_tick: int | None, *, first: bool, meanwhile: Callable[[], None]
    ) -> None:
        """The tick's second half with the robots in workers: each host receives what
        the controller sent it and its robots respond; then this process receives theirs,
        while the hosts run tick ``next_tick``'s first half (None: this tick is the
        last).  ``first``: the hosts also answer the first tick's "advance".
        ``meanwhile``: run while the hosts respond."""
        out = self.tracker.take_outbox()
        for h in self._hosts:
            h.send("respond", out.get(h.spec.process, []), next_tick)
        meanwhile()
        for h in self._hosts:
            if first:
                h.recv()  # "advance" done
            sent, lost = h.recv()
            self._host_lost_by[h.spec.process] = lost
            self.tracker.expect(sent.get(0, []))
        self._barrier()

    def _release_start_messages(self) -> None:
        wait_subscribed(self._transports)
        for b in self._buses:
            b.release()
        for start, stop in self._waves():
            for h in self._hosts:
                h.send("release", start, stop)
            self._exchange([h.recv() for h in self._hosts])

    def _waves(self) -> list[tuple[int, int]]:
        """Slices of every worker's robots, ``WAVE_ROBOTS`` robots at a time in all.

        A thousand robots announcing themselves at once send the controller two
        thousand QoS 1 messages (connection, factsheet) within milliseconds; a stock
        Mosquitto queues at most 1,000 per client (``max_queued_messages``) and drops
        the rest, and the drill then fails on messages lost.  In waves, with a barrier
        after each, the queue stays far below that; the goodbyes go the same way.
        Always one wave at least: its barrier also waits for this process's own."""
        per_host = max(1, WAVE_ROBOTS // max(1, len(self._hosts)))
        largest = max((len(h.spec.indices) for h in self._hosts), default=1)
        return [(lo, lo + per_host) for lo in range(0, largest, per_host)]

    def _exchange(self, host_out: list[dict[int, list[Any]]]) -> None:
        """Barrier over every process: each receives what the others sent it."""
        out = self.tracker.take_outbox()
        for h in self._hosts:
            keys = list(out.get(h.spec.process, []))
            for sent in host_out:
                keys.extend(sent.get(h.spec.process, []))
            h.send("sync", keys)
        for sent in host_out:
            self.tracker.expect(sent.get(0, []))
        self._barrier()
        for h in self._hosts:
            self._host_lost_by[h.spec.process] = h.recv()

    def _barrier(self) -> None:
        timeout_s = barrier_timeout_s(len(self.scenario.robots))
        if not self.tracker.wait_idle(timeout_s, self.pump):
            log.warning(
                "drill: messages did not arrive within %.1f s: %s",
                timeout_s,
                self.tracker.lost_topics[-5:],
            )

    def _progress(self, sim_s: float, controller: Controller) -> None:
        if self._on_progress is not None:
            events, self._events[:] = list(self._events), []
            self._on_progress(
                DrillProgress(sim_s, controller.missions(), controller.robots(), events)
            )

    def _shutdown(self, controller: Controller, robots: list[SimRobot]) -> None:
        for r in robots:
            try:
                r.shutdown()
            except Exception:  # a failed goodbye must not hide the drill's result
                log.exception("drill: robot shutdown failed")
        try:
            for start, stop in self._waves():
                for h in self._hosts:
                    h.send("shutdown", start, stop)
                for h in self._hosts:
                    self.tracker.expect(h.recv().get(0, []))
                self._barrier()  # the robots' OFFLINE reached the controller
            controller.shutdown()
            self._barrier()  # let the OFFLINE goodbyes reach the broker before disconnecting
            if self._hosts:
                out = self.tracker.take_outbox()
                for h in self._hosts:
                    h.send("finish", out.get(h.spec.process, []))
                for h in self._hosts:
                    done = h.recv()
                    self._host_lost_by[h.spec.process] = done["lost"]
                    if self._ground_truth is None:
                        self._ground_truth = done["ground_truth"]
        except Exception:
            log.exception("drill: shutdown failed")
        finally:
            self._close_all()

    def _close_all(self) -> None:
        if self.clear_retained:
            try:
                clear_retained(self._transports, self._buses)
            except Exception:  # cleaning up must not hide the drill's result
                log.exception("drill: clearing retained messages failed")
        for t in self._transports:
            t.close()
        for h in self._hosts:
            h.stop()
        self.pump.close()

    def _result(
        self, controller: Controller, sim_s: float, wall_s: float, *, timed_out: bool
    ) -> DrillResult:
        sc = self.scenario
        missions = controller.missions()
        expected = {m.id: m.expect for m in sc.missions}
        failures: list[str] = []
        if timed_out:
            failures.append(f"drill did not end within {sc.success.timeout_s:g} simulated s")
        by_id = {m.id: m for m in missions}
        for mid, want in expected.items():
            got = by_id.get(mid)
            if got is None:
                failures.append(f"mission {mid}: never submitted")
            elif got.outcome != want:
                why = f" ({got.reason})" if got.reason else ""
                failures.append(f"mission {mid}: {got.outcome.value}, expected {want.value}{why}")
        rejected = dict(controller.messages_rejected)
        if sum(rejected.values()) > sc.success.max_rejected_messages:
            failures.append(
                f"controller rejected {sum(rejected.values())} messages "
                f"(allowed {sc.success.max_rejected_messages}): {rejected}"
            )
        if self.tracker.lost:
            failures.append(f"{self.tracker.lost} messages were lost on the broker")
        failures.extend(f"ran twice: {text}" for text in controller.missions_run_twice())
        if self.faults is not None:
            failures.extend(f"fault {e}" for e in self.faults.errors)
        picture = controller.hazard_picture()
        alerts = self._alerts(controller)
        return DrillResult(
            scenario=sc.name,
            seed=self.seed,
            broker=self._broker_label,
            passed=not failures,
            failures=failures,
            missions=missions,
            robots=controller.robots(),
            expected=expected,
            sim_seconds=sim_s,
            wall_seconds=wall_s,
            messages_lost=self.tracker.lost,
            messages_rejected=rejected,
            hazards=self.world.ground_truth() if self.world is not None else [],
            faults=[dict(r) for r in self.faults.records] if self.faults is not None else [],
            exposure={
                key.split("/", 1)[1]: peaks for key, peaks in controller.exposure_peaks().items()
            },
            ratings={
                r.serial: r.rating.model_dump(exclude_none=True)
                for r in sc.robots
                if r.rating is not None
            },
            picture=picture,
            alerts=alerts,
        )

    def _detection_failures(
        self,
        picture: dict[str, Any] | None,
        alerts: list[dict[str, Any]],
        hazards: list[dict[str, Any]],
    ) -> list[str]:
        """The scenario's detection criteria, judged on the controller's picture and
        alerts.  Without the sensor stream or the picture the controller cannot detect:
        its criteria are listed in :attr:`unjudged` (and ``summary.json``) instead."""
        c = self.scenario.success
        wanted = [
            ("detect", "detect_within_s", c.detect_within_s, "s"),
            ("alert", "alert_within_s", c.alert_within_s, "s"),
            ("localize", "localize_within_m", c.localize_within_m, "m"),
        ]
        wanted = [w for w in wanted if w[2] is not None]
        if not wanted:
            return []
        if picture is None or self._settings.alarm_preset is None:
            # a library caller that left the sensor stream off: said, not failed (the
            # `hazfleet drill` command always runs with it unless the config turns it off)
            self.unjudged = [
                f"success.{name}: not judged: the controller ran without its sensor stream "
                "(alarm preset) or hazard picture"
                for _, name, _, _ in wanted
            ]
            for line in self.unjudged:
                log.warning("drill %s: %s", self.scenario.name, line)
            return []
        from simulator.recorder import detection_kpis  # the recorder imports this module

        kpis = detection_kpis({"hazards": hazards, "picture": picture, "alerts": alerts})
        out = []
        for key, name, limit, unit in wanted:
            got = kpis[key]["value"]
            assert limit is not None
            if got is None:
                out.append(f"success.{name}: not met ({kpis[key]['note']})")
            elif got > limit:
                out.append(f"success.{name}: {got:g} {unit}, more than {limit:g} {unit}")
        return out

    def _alerts(self, controller: Controller) -> list[dict[str, Any]]:
        """The controller's alerts for summary.json, raise and clear times in simulated s."""

        def sim_s(at: datetime | None) -> float | None:
            return None if at is None else round(at.timestamp() - self._epoch_s, 3)

        out = []
        for a in sorted(controller.alerts(AlertQuery(limit=100_000)), key=lambda a: a.raised_at):
            out.append(
                {
                    "id": a.id,
                    "key": a.key,
                    "severity": a.severity.value,
                    "hazard": a.hazard.value,
                    "title": a.title,
                    "robot": a.robot,
                    "mission": a.mission,
                    "x_m": a.location.x_m if a.location is not None else None,
                    "y_m": a.location.y_m if a.location is not None else None,
                    "raised_s": sim_s(a.raised_at),
                    "cleared_s": sim_s(a.cleared_at),
                    "peak": a.peak,
                    "unit": a.unit,
                    "occurrences": a.occurrences,
                    "evidence_readings": len(a.readings),
                    "image_bbox": list(a.image.bbox) if a.image is not None else None,
                }
            )
        return out

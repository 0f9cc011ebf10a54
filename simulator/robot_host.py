"""Simulated robots in other processes: how a drill uses a machine's second core.

One Python process runs on one core.  A drill with ``processes > 1`` therefore keeps the
controller in the runner's process and hands the robots, in contiguous blocks, to worker
processes, each a :class:`RobotHost`.  Every robot keeps its own MQTT connection and
last will; what crosses the process boundary (a :mod:`multiprocessing` pipe) is only the
lock-step and the keys of the messages each side sent the other
(:meth:`~simulator.delivery.DeliveryTracker.take_outbox`), so that each process's
delivery barrier knows what it must still receive.

A tick with workers: the runner's controller steps; the runner sends each worker
"respond" with the keys of what the controller sent it; the worker waits for those
messages, its robots respond (the tick's second half), it answers with the keys of what
they sent, and then, without waiting for another command, runs the *next* tick's first
half (the world and every robot's sensors, motion and actions move on:
:meth:`SimRobot.advance` reads nothing that arrived), while the runner reads the robots'
messages and its controller steps.  The runner decides before "respond" whether another
tick follows (the drill's end depends only on what the controller has handled), so a
worker never advances past the drill's end.

Determinism does not depend on the split: robot ``i`` draws from
``default_rng([seed, i])`` wherever it runs, every host steps its own copy of the hazard
world from the same seed (the world draws nothing when it is sampled), and every clock
is advanced by the same ``tick_s`` additions.  A drill gives the same result with one
process or several (tested).

How a worker starts: :func:`_context`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from typing import Any

import numpy as np

from drivers.bus import Will
from drivers.errors import TransportError
from drivers.gc_policy import THRESHOLDS
from drivers.mqtt import MqttSettings, MqttTransport
from drivers.mqtt_pump import NetworkPump
from missions.clock import FakeClock
from missions.errors import HazfleetError
from simulator.delivery import DeliveryTracker, Key, TrackedBus
from simulator.robot import SimRobot, SimRobotSpec, robot_will
from simulator.scenario import RobotEntry, Scenario
from simulator.world import HazardWorld

log = logging.getLogger(__name__)

WORLD_RNG_KEY = 10_000
"""the hazard world's generator is ``default_rng([seed, WORLD_RNG_KEY])``"""
BARRIER_TIMEOUT_S = 5.0
"""wall seconds to wait for one phase's messages before counting them lost (plus
:data:`BARRIER_S_PER_ROBOT` per robot of the drill: a thousand goodbyes at once take a
loaded two-core machine more than 5 s)"""
BARRIER_S_PER_ROBOT = 0.01


def barrier_timeout_s(robots: int) -> float:
    return BARRIER_TIMEOUT_S + BARRIER_S_PER_ROBOT * robots


HOST_REPLY_TIMEOUT_S = 120.0
"""wall seconds a host may take to answer one command (connecting 250 robots included)"""


class RobotHostError(HazfleetError):
    """A robot host process failed; the message names the host and its error."""


class RobotHostTransportError(RobotHostError, TransportError):
    """A robot host could not reach the broker (the CLI exits 3, as in one process)."""


def hazard_world(scenario: Scenario, seed: int) -> HazardWorld | None:
    """The drill's hazard physics, seeded the same in every process (None: no world)."""
    if not scenario.has_hazard_world:
        return None
    # its own stream, apart from the robots' ([seed, i]) however many robots there are
    rng = np.random.default_rng([seed, WORLD_RNG_KEY])
    return HazardWorld(scenario.site, scenario.world, scenario.hazards, rng)


def robot_spec(entry: RobotEntry) -> SimRobotSpec:
    kwargs: dict[str, Any] = {
        "manufacturer": entry.manufacturer,
        "serial": entry.serial,
        "start_node": entry.start_node,
        "max_speed_m_s": entry.max_speed_m_s,
        "battery_capacity_wh": entry.battery_capacity_wh,
        "start_battery_pct": entry.start_battery_pct,
        "charge_pct_per_s": entry.sim_charge_pct_per_s,
        "version": entry.version,
    }
    if entry.actions is not None:
        kwargs["actions"] = tuple(entry.actions)
    return SimRobotSpec(**kwargs)


@dataclass
class Wiring:
    """How a process of a drill connects its components to the broker."""

    host: str
    port: int
    mqtt: MqttSettings | None
    seed: int
    tracker: DeliveryTracker
    pump: NetworkPump | None = None
    """all of this process's connections do their I/O in it (None: a thread each)"""

    def link(self, client_id: str, will: Will) -> tuple[MqttTransport, TrackedBus]:
        """A connected transport with ``will``, wrapped for the delivery barrier and
        holding its publications until released."""
        t = MqttTransport(
            self.host,
            self.port,
            client_id=client_id,
            settings=self.mqtt,
            will=will,
            seed=self.seed,
            pump=self.pump,
        )
        t.connect()
        return t, TrackedBus(t, self.tracker, held=True)


def make_robot(
    scenario: Scenario,
    index: int,
    wiring: Wiring,
    clock: FakeClock,
    world: HazardWorld | None,
    tag: str,
) -> tuple[SimRobot, MqttTransport, TrackedBus, Will]:
    """Robot ``index`` of the scenario on its own connection (client id ``...-tag``)."""
    entry = scenario.robots[index]
    spec = robot_spec(entry)
    will = robot_will(spec, scenario.interface, clock)
    transport, bus = wiring.link(f"{entry.manufacturer}-{entry.serial}-{tag}", will)
    robot = SimRobot(
        spec,
        scenario.site,
        bus,
        clock,
        interface=scenario.interface,
        rng=np.random.default_rng([wiring.seed, index]),
        environment=world,
    )
    return robot, transport, bus, will


def clear_retained(transports: Sequence[MqttTransport], buses: Sequence[TrackedBus]) -> None:
    """Leave nothing behind: clear every retained message ``buses`` published and wait
    (bounded) until the broker has them, before the transports close."""
    cleared = sum(b.clear_retained() for b in buses)
    for t in transports:
        if not t.flush(BARRIER_TIMEOUT_S):
            log.warning("MQTT %s: retained messages may not all be cleared", t.client_id)
    log.debug("drill: cleared %d retained messages", cleared)


def wait_subscribed(transports: Sequence[MqttTransport]) -> None:
    for t in transports:
        if not t.wait_subscribed(barrier_timeout_s(len(transports))):
            raise TransportError(f"broker did not acknowledge subscriptions of {t.client_id}")


def advance_robots(robots: Sequence[SimRobot], buses: Sequence[TrackedBus]) -> None:
    """Every robot's first half-step (:meth:`SimRobot.advance`); what they publish is held
    until :func:`respond_robots`."""
    for b in buses:
        b.hold()
    for r in robots:
        r.advance()


def respond_robots(
    robots: Sequence[SimRobot], buses: Sequence[TrackedBus], release_every: int = 0
) -> None:
    """Every robot's second half-step; what they said (held since their first half, then
    their answers) leaves every ``release_every`` robots (0: all at once at the end).

    Small bursts let the controller's process read the first robots' messages while the
    last ones still answer, which pays while it has a core of its own (10 robots: ~1.15x);
    when the processes outnumber the cores, every burst costs the reader a wake-up, and
    one burst is faster (100 robots on 2 cores: ~0.9x in small bursts)."""
    step = release_every if release_every > 0 else len(robots)
    for start in range(0, len(robots), max(1, step)):
        for r in robots[start : start + step]:
            r.respond()
        for b in buses[start : start + step]:
            b.release()


RELEASE_EVERY = 5
"""robots per burst of writes while a host responds, where bursts pay (:class:`HostSpec`)"""


@dataclass(frozen=True)
class HostSpec:
    """What a worker needs to host its block of a scenario's robots (picklable)."""

    scenario: Scenario
    indices: tuple[int, ...]
    process: int
    """this host's number in the drill (the runner's own process is 0)"""
    host: str
    port: int
    mqtt: MqttSettings | None
    seed: int
    epoch_s: float
    tag: str
    log_level: int = logging.WARNING
    clear_retained: bool = True
    release_every: int = 0
    """robots per burst of writes as they respond (0: one burst; :func:`respond_robots`)"""


class RobotHost:
    """A block of a scenario's robots with their own clock, world copy and tracker."""

    def __init__(self, spec: HostSpec) -> None:
        self.spec = spec
        sc = spec.scenario
        self.clock = FakeClock(start_epoch_s=spec.epoch_s)
        self.tracker = DeliveryTracker()
        self.pump = NetworkPump()
        self._wiring = Wiring(
            spec.host, spec.port, spec.mqtt, spec.seed, self.tracker, pump=self.pump
        )
        self.world = hazard_world(sc, spec.seed)
        self._ticks = 0
        self._next_tick: int | None = None
        self.robots: list[SimRobot] = []
        self._transports: list[MqttTransport] = []
        self._buses: list[TrackedBus] = []

    def start(self) -> list[str]:
        """Connect and start every robot; the patterns they subscribed to."""
        for i in self.spec.indices:
            robot, transport, bus, _will = make_robot(
                self.spec.scenario, i, self._wiring, self.clock, self.world, self.spec.tag
            )
            self.robots.append(robot)
            self._transports.append(transport)
            self._buses.append(bus)
        for r in self.robots:
            r.start()
        wait_subscribed(self._transports)
        return self.tracker.patterns()

    def add_remote(self, subscriptions: Sequence[tuple[int, str]]) -> None:
        for process, pattern in subscriptions:
            self.tracker.add_remote_subscription(process, pattern)

    def release(self, start: int = 0, stop: int | None = None) -> dict[int, list[Key]]:
        """Publish what robots ``start:stop`` of this host said while starting."""
        for b in self._buses[start:stop]:
            b.release()
        self.pump.poll()
        return self.tracker.take_outbox()

    def sync(self, keys: Sequence[Key]) -> int:
        """Wait until ``keys`` (sent to this host) arrived; messages lost so far."""
        self.tracker.expect(keys)
        timeout_s = barrier_timeout_s(len(self.spec.scenario.robots))
        if not self.tracker.wait_idle(timeout_s, self.pump):
            log.warning(
                "robot host %d: messages did not arrive within %.1f s: %s",
                self.spec.process,
                timeout_s,
                self.tracker.lost_topics[-5:],
            )
        return self.tracker.lost

    def advance(self, ticks: int) -> None:
        """The first half of tick ``ticks``, run while the controller steps: the world
        and every robot's sensors, motion and actions move on to the tick's time
        (:meth:`SimRobot.advance` reads nothing that arrived).  What they publish is
        held until :meth:`respond`."""
        tick_s = self.spec.scenario.tick_s
        while self._ticks < ticks:  # the same float additions as the runner's clock
            self._ticks += 1
            self.clock.advance(tick_s)
        if self.world is not None:
            sim_s = round(self._ticks * tick_s, 9)
            self.world.step(max(0.0, sim_s - self.world.time_s))
        advance_robots(self.robots, self._buses)

    def respond(
        self, keys: Sequence[Key], next_tick: int | None = None
    ) -> tuple[dict[int, list[Key]], int]:
        """The second half: receive what the controller sent in this tick (``keys``),
        let every robot handle it and publish; what they sent, and messages lost so far.

        ``next_tick``: once this answer is sent, run that tick's first half at once
        (:meth:`after_reply`), while the runner reads the robots' messages and its
        controller steps."""
        lost = self.sync(keys)
        respond_robots(self.robots, self._buses, self.spec.release_every)
        self.pump.poll()  # on their way before the runner hears of them
        self._next_tick = next_tick
        return self.tracker.take_outbox(), lost

    def after_reply(self) -> None:
        """What :meth:`respond` left for after its answer: the next tick's first half."""
        ticks, self._next_tick = self._next_tick, None
        if ticks is not None:
            self.advance(ticks)

    def shutdown(self, start: int = 0, stop: int | None = None) -> dict[int, list[Key]]:
        """Robots ``start:stop`` of this host say goodbye (connection OFFLINE)."""
        for r in self.robots[start:stop]:
            try:
                r.shutdown()
            except Exception:  # a failed goodbye must not hide the drill's result
                log.exception("robot host %d: robot shutdown failed", self.spec.process)
        return self.tracker.take_outbox()

    def finish(self, keys: Sequence[Key]) -> dict[str, Any]:
        """Receive the controller's goodbye, clear the robots' retained messages (when
        the spec says so), disconnect; counts and the world's truth."""
        lost = self.sync(keys)
        if self.spec.clear_retained:
            clear_retained(self._transports, self._buses)
        self.close()
        return {
            "lost": lost,
            "lost_topics": list(self.tracker.lost_topics),
            "ground_truth": self.world.ground_truth() if self.world is not None else [],
        }

    def close(self) -> None:
        for t in self._transports:
            t.close()
        self._transports.clear()

    def idle_until(self, conn: multiprocessing.connection.Connection) -> None:
        """Do the robots' I/O until the runner's next command is in ``conn``: what the
        controller sends while it steps is read meanwhile, and keepalives go out."""
        while not self.pump.run_until(conn.poll, HOST_REPLY_TIMEOUT_S, wake_on=(conn,)):
            pass


def host_main(conn: multiprocessing.connection.Connection, spec: HostSpec | None = None) -> None:
    """A worker process: take its :class:`HostSpec`, then run commands
    ``(name, *args)`` on a :class:`RobotHost` and answer each with ``("ok", result)``,
    or ``("transport" | "error", traceback)`` and stop, until ``finish`` or ``close``.

    A forked worker inherits ``spec``; any other receives it over the pipe (None), not
    as a process argument: spawn writes the arguments before the child has imported
    anything, and a large scenario then blocks the parent until each child in turn has
    imported the simulator."""
    if spec is None:
        try:
            spec = conn.recv()
        except EOFError:
            return
    assert spec is not None
    # force: a forked worker inherits the runner's handlers; its lines name the host
    logging.basicConfig(
        level=spec.log_level,
        format=f"%(levelname)s host {spec.process}: %(name)s: %(message)s",
        force=True,
    )
    host = RobotHost(spec)
    gc.set_threshold(*THRESHOLDS)  # the whole process is this loop (drivers.gc_policy)
    try:
        while True:
            try:
                host.idle_until(conn)
                name, *args = conn.recv()
            except EOFError:  # the runner went away
                return
            try:
                result = getattr(host, name)(*args)
            except Exception as exc:
                kind = "transport" if isinstance(exc, TransportError) else "error"
                conn.send((kind, traceback.format_exc()))
                return
            conn.send(("ok", result))
            if name in ("finish", "close"):
                return
            try:
                host.after_reply()
            except Exception:  # the runner's next command gets the error
                conn.send(("error", traceback.format_exc()))
                return
    finally:
        host.close()


def _context() -> ForkContext | ForkServerContext | SpawnContext:
    """How to start a worker.

    ``fork`` when the runner has no other thread: the worker is a copy of the runner,
    with the simulator already imported (a worker that imports it takes ~0.8 s before
    its first robot connects: longer than a 10-robot drill's loop).  Forking a process
    with other threads is unsafe (a lock one of them holds, logging's or a connection's,
    stays held forever in the child), so then ``forkserver``: a single-threaded server
    imports the simulator once and forks each worker from it; ``spawn`` where neither
    exists.  The runner starts its workers before it opens any connection, so no socket
    of its own is shared with them."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While a worker starts, hide where the parent's ``__main__`` came from.

    ``spawn`` and ``forkserver`` children import the parent's main module before they run
    their target, in case the target lives there.  Ours is :func:`host_main`, in this
    (preloaded) module, and the parent's main is whatever ran the drill: ``hazfleet``'s
    CLI imports the whole controller, ~0.7 s per worker for nothing."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec = getattr(main, "__spec__", None)
    has_file = "__file__" in vars(main)
    file = vars(main).get("__file__")
    main.__spec__ = None
    if has_file:
        del main.__file__
    try:
        yield
    finally:
        main.__spec__ = spec
        if has_file:
            main.__file__ = file


class HostProcess:
    """The runner's handle on one worker: send a command to all hosts, then collect."""

    def __init__(self, spec: HostSpec, pump: NetworkPump | None = None) -> None:
        """``pump``: the runner's connections are pumped; do their I/O while waiting."""
        ctx = _context()
        self.start_method = ctx.get_start_method()
        """``fork``, ``forkserver`` or ``spawn``: how this worker was started"""
        self.spec = spec
        self._pump = pump
        self._conn, child = ctx.Pipe()
        # forked: the child has the spec already (pickling a large scenario for the pipe
        # took the runner ~20 ms per worker, and the worker as long to read it back)
        self._spec_sent = self.start_method == "fork"
        args = (child, spec) if self._spec_sent else (child,)
        self._proc = ctx.Process(
            target=host_main, args=args, name=f"robot-host-{spec.process}", daemon=True
        )
        with _main_module_hidden():
            self._proc.start()
        child.close()
        log.debug("robot host %d: started by %s", spec.process, self.start_method)

    def send_spec(self) -> None:
        """Hand the worker its spec unless it inherited it (called after every worker was
        started: they import the simulator in parallel meanwhile)."""
        if not self._spec_sent:
            self.send_raw(self.spec)
            self._spec_sent = True

    def send_raw(self, obj: Any) -> None:
        try:
            self._conn.send(obj)
        except (BrokenPipeError, OSError) as exc:
            if self._conn.poll(0):  # it said why before it went (a failed next tick)
                self.recv(0.0)
            raise RobotHostError(f"robot host {self.spec.process} is gone: {exc}") from exc

    def send(self, name: str, *args: Any) -> None:
        self.send_raw((name, *args))

    def recv(self, timeout_s: float = HOST_REPLY_TIMEOUT_S) -> Any:
        n = self.spec.process
        try:
            if self._pump is not None:
                self._pump.run_until(self._conn.poll, timeout_s, wake_on=(self._conn,))
                timeout_s = 0.0
            if not self._conn.poll(timeout_s):
                raise RobotHostError(f"robot host {n} did not answer within {timeout_s:g} s")
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:  # it exited: EOF, or a reset pipe
            self._proc.join(1.0)
            raise RobotHostError(
                f"robot host {n} exited (code {self._proc.exitcode}) without an answer"
            ) from exc
        if status != "ok":
            log.error("robot host %d failed:\n%s", n, value)
            last = str(value).strip().splitlines()[-1]
            error = RobotHostTransportError if status == "transport" else RobotHostError
            raise error(f"robot host {n} failed: {last}")
        return value

    def call(self, name: str, *args: Any) -> Any:
        self.send(name, *args)
        return self.recv()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Wait for the process to end; terminate it if it does not."""
        self._proc.join(timeout_s)
        if self._proc.is_alive():
            log.warning("robot host %d did not exit: terminating it", self.spec.process)
            self._proc.terminate()
            self._proc.join(timeout_s)
        self._conn.close()


def split(n: int, parts: int) -> list[tuple[int, ...]]:
    """``range(n)`` in ``parts`` contiguous blocks whose sizes differ by at most one."""
    base, extra = divmod(n, parts)
    out: list[tuple[int, ...]] = []
    start = 0
    for k in range(parts):
        size = base + (1 if k < extra else 0)
        out.append(tuple(range(start, start + size)))
        start += size
    return out

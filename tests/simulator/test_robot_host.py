"""Robots in worker processes (simulator.robot_host): same drill, same result.

The split is checked on the embedded Mosquitto only: what it must preserve (readings,
outcomes, timing in simulated seconds) does not depend on the broker.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from drivers.broker import find_mosquitto, free_port
from drivers.bus import InMemoryBus
from drivers.errors import TransportError
from simulator.delivery import DeliveryTracker, TrackedBus
from simulator.drill import (
    IN_PROCESS_MAX_ROBOTS,
    MAX_WORKERS,
    ROBOTS_PER_WORKER,
    DrillResult,
    DrillRunner,
    auto_processes,
)
from simulator.robot import SimRobot
from simulator.robot_host import (
    HostProcess,
    HostSpec,
    RobotHostError,
    RobotHostTransportError,
    respond_robots,
    split,
)
from simulator.scenario import Scenario, load_scenario
from tests.conftest import BrokerUnderTest, fast_settings

REPO = Path(__file__).resolve().parents[2]
DRILLS = REPO / "config" / "drills"


def test_split_gives_contiguous_blocks_differing_by_at_most_one() -> None:
    assert split(7, 3) == [(0, 1, 2), (3, 4), (5, 6)]
    assert split(2, 2) == [(0,), (1,)]
    blocks = split(1000, 4)
    assert [len(b) for b in blocks] == [250] * 4
    assert [i for b in blocks for i in b] == list(range(1000))


class _Answering:
    """Stands in for a robot's second half-step: says one thing on its (held) bus and
    notes what the broker had when it was its turn."""

    def __init__(self, name: str, bus: TrackedBus, broker: InMemoryBus, seen: list[int]) -> None:
        self.name, self.bus, self.broker, self.seen = name, bus, broker, seen

    def respond(self) -> None:
        self.seen.append(len(self.broker.published))
        self.bus.publish(f"t/{self.name}", b"state")


@pytest.mark.parametrize(
    ("release_every", "seen"),
    [(0, [0, 0, 0, 0, 0]), (2, [0, 0, 4, 4, 8]), (1, [0, 2, 4, 6, 8])],
)
def test_robots_answers_leave_in_bursts_of_release_every(
    release_every: int, seen: list[int]
) -> None:
    broker = InMemoryBus()
    tracker = DeliveryTracker()
    buses = [TrackedBus(broker.client(), tracker, held=True) for _ in range(5)]
    noted: list[int] = []
    robots = [_Answering(f"r{i}", b, broker, noted) for i, b in enumerate(buses)]
    for i, b in enumerate(buses):
        b.publish(f"t/r{i}/frame", b"held since the first half")
    respond_robots(cast(list[SimRobot], robots), buses, release_every)
    # what the broker had when each robot answered: each burst is its robots' held
    # message and answer, in that order
    assert noted == seen
    assert [m.topic for m in broker.published] == [
        t for i in range(5) for t in (f"t/r{i}/frame", f"t/r{i}")
    ]


def _with_robots(base: Scenario, n: int) -> Scenario:
    robots = [base.robots[0].model_copy(update={"serial": f"r{i:04d}"}) for i in range(n)]
    return base.model_copy(update={"robots": robots})


def test_the_runner_keeps_small_fleets_and_fault_drills_in_its_own_process() -> None:
    calm = load_scenario(DRILLS / "default.yaml")
    assert auto_processes(_with_robots(calm, IN_PROCESS_MAX_ROBOTS)) == 1
    assert auto_processes(_with_robots(calm, IN_PROCESS_MAX_ROBOTS + 1)) == 2  # one worker
    assert auto_processes(_with_robots(calm, ROBOTS_PER_WORKER)) == 2
    assert auto_processes(_with_robots(calm, ROBOTS_PER_WORKER + 1)) == 3
    assert auto_processes(_with_robots(calm, 1000)) == 1 + MAX_WORKERS
    lost = load_scenario(DRILLS / "robot-lost-short.yaml")
    assert lost.faults
    assert auto_processes(_with_robots(lost, 1000)) == 1


def test_faults_with_robots_in_workers_are_refused_with_the_reason() -> None:
    sc = load_scenario(DRILLS / "robot-lost-short.yaml")
    with pytest.raises(ValueError, match="faults need the robots in the runner's process"):
        DrillRunner(sc, "127.0.0.1", 1883, broker_label="x", processes=2)


def _run(
    sc: Scenario, broker: BrokerUnderTest, processes: int, release_every: int = 0
) -> DrillResult:
    unique = sc.model_copy(update={"interface": f"t{uuid.uuid4().hex[:10]}"})
    runner = DrillRunner(
        unique,
        broker.host,
        broker.port,
        broker_label=broker.url,
        seed=5,
        mqtt=fast_settings(broker.url),
        processes=processes,
    )
    result = runner.run()
    assert runner.processes == processes
    assert [h.spec.release_every for h in runner._hosts] == [release_every] * (processes - 1)
    assert (runner.world is None) == (processes > 1)  # the workers step their own copies
    return result


@pytest.mark.broker
def test_a_hazard_drill_split_over_worker_processes_gives_the_same_result(
    broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if broker.kind != "mosquitto" or broker.embedded is None:
        pytest.skip("the split is broker-independent; run once on embedded Mosquitto")
    sc = load_scenario(DRILLS / "h2s-leak.yaml")
    assert len(sc.robots) >= 2 and sc.has_hazard_world
    one = _run(sc, broker, processes=1)
    # one worker, its robots' answers one at a time; one worker, one burst; two workers
    # (the robots split 2 + 1)
    for processes, release_every in ((2, 1), (2, 0), (3, 0)):
        monkeypatch.setattr("simulator.drill.RELEASE_EVERY", release_every)
        monkeypatch.setattr("simulator.drill.usable_cores", lambda: 2)
        split = _run(sc, broker, processes=processes, release_every=release_every)
        assert one.passed and split.passed, (one.failures, split.failures)
        assert split.messages_lost == 0
        assert one.sim_seconds == split.sim_seconds
        assert [(m.id, m.robot, m.outcome, m.action_results) for m in one.missions] == [
            (m.id, m.robot, m.outcome, m.action_results) for m in split.missions
        ]
        assert [(r.serial, r.battery_pct, r.x_m, r.y_m) for r in one.robots] == [
            (r.serial, r.battery_pct, r.x_m, r.y_m) for r in split.robots
        ]
        assert one.hazards == split.hazards  # the ground truth: a worker's world copy
        readings = [v for m in split.missions for v in m.action_results.values()]
        assert any('"H2S"' in text for text in readings)  # workers' robots read physics


def _spec(port: int, mqtt_url: str) -> HostSpec:
    sc = load_scenario(DRILLS / "default.yaml")
    return HostSpec(
        scenario=sc,
        indices=(0,),
        process=1,
        host="127.0.0.1",
        port=port,
        mqtt=fast_settings(mqtt_url, connect_timeout_s=1.0, reconnect_max_s=0.2),
        seed=0,
        epoch_s=0.0,
        tag="t",
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_a_worker_that_cannot_reach_the_broker_fails_as_a_transport_error() -> None:
    port = _closed_port()
    host = HostProcess(_spec(port, f"mqtt://127.0.0.1:{port}"))
    try:
        host.send_spec()
        with pytest.raises(RobotHostTransportError, match="robot host 1 failed") as info:
            host.call("start")
        assert isinstance(info.value, TransportError)  # the CLI exits 3 for it
    finally:
        host.stop()


def test_a_worker_error_names_the_host_and_the_exception() -> None:
    port = _closed_port()
    host = HostProcess(_spec(port, f"mqtt://127.0.0.1:{port}"))
    try:
        host.send_spec()
        with pytest.raises(RobotHostError, match="robot host 1 failed: AttributeError"):
            host.call("no_such_command")
        with pytest.raises(RobotHostError, match="robot host 1"):
            host.call("start")  # it stopped after the error: gone
    finally:
        host.stop()


def test_a_failure_in_the_next_ticks_first_half_reaches_the_runner() -> None:
    """After answering "respond" the worker runs the next tick's first half on its own;
    an error there is the answer to the runner's next command, with its cause."""
    port = _closed_port()
    host = HostProcess(_spec(port, f"mqtt://127.0.0.1:{port}"))
    try:
        host.send_spec()
        assert host.call("respond", [], "not a tick") == ({}, 0)  # answered first
        with pytest.raises(RobotHostError, match="robot host 1 failed: TypeError"):
            host.call("respond", [], None)
    finally:
        host.stop()


@pytest.mark.parametrize(("other_thread", "method"), [(False, "fork"), (True, "forkserver")])
def test_a_worker_does_not_import_the_parents_main_module(
    tmp_path: Path, other_thread: bool, method: str
) -> None:
    """A single-threaded runner forks its workers (nothing to import); with another
    thread running it must not (a lock that thread holds would stay held in the child),
    and the forkserver's workers would import the parent's __main__ (for ``hazfleet
    drill`` the whole CLI and controller, ~0.7 s each); host_main needs none.  Either
    way a worker's log lines name it, not the runner's handlers' format."""
    marker = tmp_path / "imported"
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            if __name__ == "__mp_main__":
                open({str(marker)!r}, "w").write("the worker imported me")
            if __name__ == "__main__":
                import logging
                import threading
                logging.basicConfig(level=logging.WARNING, format="RUNNER %(message)s")
                from simulator.robot_host import HostProcess, RobotHostError
                stop = threading.Event()
                if {other_thread!r}:
                    threading.Thread(target=stop.wait, daemon=True).start()
                from tests.simulator.test_robot_host import _closed_port, _spec
                before = (sys.modules["__main__"].__spec__, sys.modules["__main__"].__file__)
                port = _closed_port()
                host = HostProcess(_spec(port, f"mqtt://127.0.0.1:{{port}}"))
                print("started by", host.start_method)
                try:
                    host.send_spec()
                    try:
                        host.call("start")  # refused: it logs, then answers
                    except RobotHostError as exc:
                        print("worker answered:", exc)
                finally:
                    host.stop()
                after = (sys.modules["__main__"].__spec__, sys.modules["__main__"].__file__)
                assert before == after, (before, after)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"started by {method}\n" in done.stdout
    assert "worker answered: robot host 1 failed: drivers.errors.TransportError" in done.stdout
    assert "WARNING host 1: drivers.mqtt: " in done.stderr  # the worker's own format
    assert not marker.exists()


@pytest.fixture
def stock_limits_mosquitto(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Mosquitto with tiny per-client queues: what a stock broker's 1,000 per client is
    to a fleet of 1,000 robots, 5 is to this test's 60."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto binary not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    user = pwd.getpwuid(os.geteuid()).pw_name
    conf.write_text(
        f"user {user}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        "persistence false\nset_tcp_nodelay true\n"
        "max_queued_messages 5\nmax_inflight_messages 5\n"
        f"log_dest file {tmp_path / 'mosquitto.log'}\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10.0
        while not _accepts(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"mosquitto did not start: {(tmp_path / 'mosquitto.log').read_text()}")
            time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_workers_announce_in_waves_a_broker_with_small_queues_keeps_up(
    stock_limits_mosquitto: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 robots announcing at once send the controller 120 QoS 1 messages; a broker
    holding 5 in flight and 5 queued per client drops dozens and fails the drill
    (measured: 46 lost without waves).  In waves of 2 robots (4 messages) it passes
    with nothing lost, goodbyes included."""
    import simulator.drill as drill
    from bench.sim_speed import scenario_data

    monkeypatch.setattr(drill, "WAVE_ROBOTS", 2)
    host, port = stock_limits_mosquitto
    data = scenario_data(60, gas=False, tick_s=1.0)
    data["interface"] = f"w{uuid.uuid4().hex[:8]}"
    runner = DrillRunner(
        Scenario.model_validate(data),
        host,
        port,
        broker_label="mosquitto with small queues",
        mqtt=fast_settings(f"mqtt://{host}:{port}"),
        processes=2,
    )
    result = runner.run()
    assert result.passed, result.failures
    assert result.messages_lost == 0

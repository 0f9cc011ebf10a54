"""End-to-end dispatch latency: mission accepted → order on the wire → first state that
acknowledges it, through the real controller, a simulated robot and a real broker.

Baseline measured in the same run on the same broker: a bare paho round trip (one client
publishes, a second echoes on another topic, the first receives), i.e. the two broker
hops an order and its acknowledging state need, with nothing of hazfleet in between.

Run: ``python -m bench.dispatch_latency [--missions N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.stats import summary_ms
from controller.service import Controller, ControllerSettings, controller_will
from drivers.broker import EmbeddedBroker
from drivers.bus import Message
from drivers.clock import SystemClock
from drivers.mqtt import MqttTransport
from drivers.runloop import RealtimeLoop, WakingBus
from missions.fleet import RobotRef
from missions.mission import MissionSpec, MissionStep
from missions.site import Edge, Node, SiteMap
from simulator.robot import SimRobot, SimRobotSpec, robot_will

SITE = SiteMap(
    map_id="bench",
    nodes=[Node(id="a", x=0, y=0), Node(id="b", x=0.5, y=0)],
    edges=[Edge(start="a", end="b")],
)


@dataclass
class Sample:
    to_wire_s: float
    to_ack_s: float


def _paho_client(cid: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=paho.MQTTv311)

    def nodelay(client: Any, userdata: Any, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    c.on_socket_open = nodelay
    return c


def bare_round_trips(host: str, port: int, n: int) -> list[float]:
    """Two-hop round trip with plain paho clients: the floor any dispatch can reach."""
    tag = uuid.uuid4().hex[:8]
    ping, pong = f"bench/{tag}/ping", f"bench/{tag}/pong"
    got = threading.Event()
    a, b = _paho_client(f"a-{tag}"), _paho_client(f"b-{tag}")
    a.on_message = lambda c, u, m: got.set()

    def echo(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        client.publish(pong, msg.payload)

    b.on_message = echo
    for c, topic in ((a, pong), (b, ping)):
        c.connect(host, port)
        c.loop_start()
        c.subscribe(topic)
    time.sleep(0.3)
    out: list[float] = []
    for _ in range(n):
        got.clear()
        t0 = time.monotonic()
        a.publish(ping, b"x" * 600)  # about the size of an order
        if got.wait(2.0):
            out.append(time.monotonic() - t0)
        time.sleep(0.005)
    for c in (a, b):
        c.loop_stop()
        c.disconnect()
    return out


def dispatch_latencies(host: str, port: int, n: int) -> list[Sample]:
    clock = SystemClock()
    iface = f"bench{uuid.uuid4().hex[:6]}"
    settings = ControllerSettings(interface=iface, controller_id="bench")
    spec = SimRobotSpec(manufacturer="bench", serial="r1", start_node="a", max_speed_m_s=2.0)

    ct = MqttTransport(
        host, port, client_id=f"ctl-{iface}", will=controller_will(iface, "bench", clock)
    )
    rt = MqttTransport(host, port, client_id=f"rob-{iface}", will=robot_will(spec, iface, clock))
    cbus, rbus = WakingBus(ct), WakingBus(rt)
    ct.connect()
    rt.connect()
    controller = Controller(
        cbus, clock, SITE, [RobotRef(manufacturer="bench", serial="r1")], settings
    )
    robot = SimRobot(spec, SITE, rbus, clock, interface=iface)
    cl = RealtimeLoop(controller.step, cbus.wake, period_s=0.05, name="bench-controller")
    rl = RealtimeLoop(robot.step, rbus.wake, period_s=0.05, name="bench-robot")

    wire: dict[str, float] = {}
    observer = MqttTransport(host, port, client_id=f"obs-{iface}")
    observer.connect()

    def on_order(m: Message) -> None:
        order_id = json.loads(m.payload)["orderId"]
        wire.setdefault(order_id, time.monotonic())

    observer.subscribe(f"{iface}/v2/+/+/order", on_order)
    cl.call(controller.start)
    rl.call(robot.start)
    cl.start()
    rl.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        r.availability == "online" for r in cl.call(controller.robots)
    ):
        time.sleep(0.02)

    samples: list[Sample] = []
    try:
        for i in range(n):
            node = "b" if i % 2 == 0 else "a"
            mission = MissionSpec(id=f"m{i}", robot="r1", steps=[MissionStep(node=node)])
            t0 = time.monotonic()
            cl.call(lambda m=mission: controller.submit(m))  # type: ignore[misc]
            status = None
            end = time.monotonic() + 10
            while time.monotonic() < end:
                status = next(s for s in cl.call(controller.missions) if s.id == mission.id)
                if status.outcome.terminal:
                    break
                time.sleep(0.002)
            if status is None or status.acknowledged_at_s is None or status.order_id is None:
                raise RuntimeError(f"mission {mission.id} was not acknowledged: {status}")
            samples.append(Sample(wire[status.order_id] - t0, status.acknowledged_at_s - t0))
    finally:
        cl.stop()
        rl.stop()
        robot.shutdown()
        controller.shutdown()
        for t in (observer, rt, ct):
            t.close()
    return samples


def _brokers() -> list[tuple[str, EmbeddedBroker | None, str, int]]:
    out: list[tuple[str, EmbeddedBroker | None, str, int]] = []
    prefs: tuple[Literal["mosquitto", "amqtt"], ...] = ("mosquitto", "amqtt")
    for prefer in prefs:
        try:
            b = EmbeddedBroker(prefer=prefer)
            b.start()
            out.append((f"embedded ({b.kind})", b, b.host, b.port))
        except Exception as e:
            print(f"# embedded {prefer}: not available ({e})")
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        out.append(("Mosquitto 127.0.0.1:1883", None, "127.0.0.1", 1883))
    except OSError:
        print("# Mosquitto 127.0.0.1:1883: not reachable, skipped")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--missions", type=int, default=100, help="missions per run")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    results: dict[str, Any] = {}
    per_run: dict[str, str] = {}
    print(
        "| broker | dispatch → ack median (ms) | p99 (ms) | → on wire median (ms) "
        "| bare 2-hop median (ms) | p99 (ms) | ratio of medians |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, broker, host, port in _brokers():
        try:
            ack: list[float] = []
            wire: list[float] = []
            bare: list[float] = []
            run_medians: list[float] = []
            for _ in range(args.runs):
                s = dispatch_latencies(host, port, args.missions)
                ack += [x.to_ack_s for x in s]
                wire += [x.to_wire_s for x in s]
                run_medians.append(statistics.median(x.to_ack_s for x in s))
                bare += bare_round_trips(host, port, args.missions)
            a, w, b = summary_ms(ack), summary_ms(wire), summary_ms(bare)
            ratio = a["median_ms"] / b["median_ms"]
            results[label] = {
                "ack": a,
                "wire": w,
                "bare": b,
                "ratio": ratio,
                "run_medians_ms": [m * 1000 for m in run_medians],
            }
            print(
                f"| {label} | {a['median_ms']:.2f} | {a['p99_ms']:.2f} | {w['median_ms']:.2f} "
                f"| {b['median_ms']:.2f} | {b['p99_ms']:.2f} | {ratio:.1f}× |"
            )
            per_run[label] = ", ".join(f"{m * 1000:.2f}" for m in run_medians)
        finally:
            if broker is not None:
                broker.stop()
    print("\nmedian dispatch → ack of each run (ms):")
    for label, text in per_run.items():
        print(f"- {label}: {text}")
    return results


if __name__ == "__main__":
    main()

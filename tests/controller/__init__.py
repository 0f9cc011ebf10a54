"""Test doubles for the controller tests: the robot's side played by hand on an InMemoryBus.

:class:`RobotSide` publishes connection/state/factsheet messages built with the wire
models (so they are valid unless a test breaks them on purpose) and collects what the
controller sends it.  :class:`Harness` wires a Controller to a FakeClock and an
InMemoryBus and can validate everything the controller published against the official
schemas (skipped when they are not available).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from controller import Controller, ControllerEvent, ControllerSettings
from drivers.bus import Inbox, InMemoryBus, Message
from drivers.vda5050 import (
    Connection,
    Factsheet,
    HeaderCounter,
    State,
    encode,
    format_timestamp,
)
from missions.clock import FakeClock
from missions.fleet import RobotRef
from missions.site import Edge, Node, SiteMap
from tests import vda5050_samples as samples
from tests.vda5050_schemas import schema_errors, schemas_available

IFACE = "uagv"
MAKER = "acme"

# A - B - C - D in a line/corner, E unreachable.  Coordinates in metres.
SITE = SiteMap(
    map_id="plant",
    nodes=[
        Node(id="A", x=0.0, y=0.0),
        Node(id="B", x=5.0, y=0.0, theta=1.5),
        Node(id="C", x=10.0, y=0.0),
        Node(id="D", x=10.0, y=5.0),
        Node(id="E", x=50.0, y=50.0),
    ],
    edges=[
        Edge(id="e-ab", start="A", end="B", max_speed_m_s=0.8),
        Edge(start="B", end="C"),
        Edge(id="e-cd", start="C", end="D"),
    ],
)


class RobotSide:
    """One robot, played by the test: what it reports and what it received."""

    def __init__(
        self,
        bus: InMemoryBus,
        clock: FakeClock,
        serial: str,
        *,
        manufacturer: str = MAKER,
        version: str = "2.1.0",
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.serial = serial
        self.manufacturer = manufacturer
        self.version = version
        self.headers = HeaderCounter()
        self.inbox = Inbox()
        bus.subscribe(f"{IFACE}/v2/{manufacturer}/{serial}/+", self.inbox)
        self.received: list[Message] = []
        # what the next state reports
        self.order_id = ""
        self.order_update_id = 0
        self.last_node_id = "A"
        self.last_node_seq = 0
        self.node_states: list[dict[str, Any]] = []
        self.edge_states: list[dict[str, Any]] = []
        self.action_states: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.paused = False
        self.driving = False
        self.battery = 77.5
        self.charging = False
        self.operating_mode = "AUTOMATIC"
        # None: the robot stands on its last node (reported at that node's position)
        self.position: tuple[float, float] | None = None
        self.position_map = "plant"

    # -- publishing

    def topic(self, name: str) -> str:
        return f"{IFACE}/v2/{self.manufacturer}/{self.serial}/{name}"

    def _header(self, name: str) -> dict[str, Any]:
        return {
            "headerId": self.headers.next(name),
            "timestamp": format_timestamp(self.clock.now()),
            "version": self.version,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial,
        }

    def connect(self, state: str = "ONLINE") -> None:
        msg = Connection.model_validate({**self._header("connection"), "connectionState": state})
        self.bus.publish(self.topic("connection"), encode(msg), 1, True)

    def state_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self._header("state"),
            "orderId": self.order_id,
            "orderUpdateId": self.order_update_id,
            "lastNodeId": self.last_node_id,
            "lastNodeSequenceId": self.last_node_seq,
            "nodeStates": self.node_states,
            "edgeStates": self.edge_states,
            "driving": self.driving,
            "paused": self.paused,
            "actionStates": self.action_states,
            "batteryState": {"batteryCharge": self.battery, "charging": self.charging},
            "operatingMode": self.operating_mode,
            "errors": self.errors,
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
        }
        position = self.position
        if position is None and SITE.has_node(self.last_node_id):
            node = SITE.node(self.last_node_id)
            position = (node.x, node.y)
        if position is not None:
            data["agvPosition"] = {
                "x": position[0],
                "y": position[1],
                "theta": 0.0,
                "mapId": self.position_map,
                "positionInitialized": True,
            }
        return data

    def send_state(self) -> None:
        msg = State.model_validate(self.state_dict())
        self.bus.publish(self.topic("state"), encode(msg), 0, False)

    def send_raw(self, name: str, payload: bytes) -> None:
        self.bus.publish(self.topic(name), payload, 0, False)

    def send_factsheet(self, actions: Sequence[str]) -> None:
        data = samples.minimal_dict("factsheet")
        data.update(self._header("factsheet"))
        data["protocolFeatures"]["agvActions"] = [
            {"actionType": a, "actionScopes": ["NODE", "INSTANT"]} for a in actions
        ]
        self.bus.publish(self.topic("factsheet"), encode(Factsheet.model_validate(data)), 0, True)

    # -- receiving

    def _take(self, name: str) -> list[dict[str, Any]]:
        for m in self.inbox.drain():
            if m.topic.rsplit("/", 1)[1] in ("order", "instantActions"):
                self.received.append(m)
        out = [json.loads(m.payload) for m in self.received if m.topic.endswith("/" + name)]
        self.received = [m for m in self.received if not m.topic.endswith("/" + name)]
        return out

    def take_orders(self) -> list[dict[str, Any]]:
        return self._take("order")

    def take_instant_actions(self) -> list[dict[str, Any]]:
        """Every action received on instantActions, flattened."""
        return [a for msg in self._take("instantActions") for a in msg["actions"]]

    # -- playing the robot

    def accept(self, order: dict[str, Any]) -> None:
        """Take over ``order`` standing on its first node (which counts as traversed)."""
        self.order_id = order["orderId"]
        self.order_update_id = order["orderUpdateId"]
        first = order["nodes"][0]
        self.last_node_id = first["nodeId"]
        self.last_node_seq = first["sequenceId"]
        self.node_states = [
            {"nodeId": n["nodeId"], "sequenceId": n["sequenceId"], "released": True}
            for n in order["nodes"][1:]
        ]
        self.edge_states = [
            {"edgeId": e["edgeId"], "sequenceId": e["sequenceId"], "released": True}
            for e in order["edges"]
        ]
        self.action_states = [
            {"actionId": a["actionId"], "actionType": a["actionType"], "actionStatus": "WAITING"}
            for n in order["nodes"]
            for a in n["actions"]
        ]
        self.driving = bool(self.node_states)

    def reach_next_node(self) -> None:
        node = self.node_states.pop(0)
        if self.edge_states:
            self.edge_states.pop(0)
        self.last_node_id = node["nodeId"]
        self.last_node_seq = node["sequenceId"]
        self.driving = bool(self.node_states)

    def set_action(self, action_id: str, status: str, result: str | None = None) -> None:
        for a in self.action_states:
            if a["actionId"] == action_id:
                a["actionStatus"] = status
                if result is not None:
                    a["resultDescription"] = result
                return
        entry: dict[str, Any] = {"actionId": action_id, "actionStatus": status}
        if result is not None:
            entry["resultDescription"] = result
        self.action_states.append(entry)

    def finish_all(self, result: str = "ok") -> None:
        """Drive to the end and finish every action of the order still unfinished."""
        while self.node_states:
            self.reach_next_node()
        for a in self.action_states:
            if a["actionStatus"] not in ("FINISHED", "FAILED"):
                a["actionStatus"] = "FINISHED"
                a["resultDescription"] = result
        self.driving = False


class Harness:
    """A Controller on an InMemoryBus and a FakeClock, with robots played by hand."""

    def __init__(
        self,
        serials: Sequence[str] = ("R1",),
        settings: ControllerSettings | None = None,
        site: SiteMap = SITE,
    ) -> None:
        self.bus = InMemoryBus()
        self.clock = FakeClock()
        self.events: list[ControllerEvent] = []
        self.fleet = [RobotRef(manufacturer=MAKER, serial=s) for s in serials]
        self.controller = Controller(
            self.bus,
            self.clock,
            site,
            self.fleet,
            settings or ControllerSettings(),
            on_event=self.events.append,
        )
        self.robots = {s: RobotSide(self.bus, self.clock, s) for s in serials}

    def tick(self, seconds: float = 0.1, times: int = 1) -> None:
        for _ in range(times):
            self.clock.advance(seconds)
            self.controller.step()

    def online(self, serial: str = "R1", *, factsheet: Sequence[str] | None = None) -> RobotSide:
        """Connect the robot, publish its factsheet (if given) and a first state; step."""
        robot = self.robots[serial]
        robot.connect()
        if factsheet is not None:
            robot.send_factsheet(factsheet)
        robot.send_state()
        self.controller.step()
        return robot

    def mission(self, mission_id: str) -> Any:
        return next(m for m in self.controller.missions() if m.id == mission_id)

    def robot_status(self, serial: str) -> Any:
        return next(r for r in self.controller.robots() if r.serial == serial)

    def published(self, name: str) -> list[dict[str, Any]]:
        """Payloads the controller published on VDA 5050 topic ``name`` (all robots)."""
        return [
            json.loads(m.payload)
            for m in self.bus.published
            if m.topic.startswith(f"{IFACE}/v2/") and m.topic.endswith("/" + name)
        ]

    def schema_problems(self) -> list[str]:
        """Schema violations in everything the controller sent to robots."""
        if not schemas_available():
            return []
        problems = []
        for name in ("order", "instantActions"):
            for i, payload in enumerate(self.published(name)):
                problems += [f"{name}[{i}] {p}" for p in schema_errors(name, payload)]
        return problems

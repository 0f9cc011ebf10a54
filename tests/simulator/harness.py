"""Test harness for the simulated robot: an InMemoryBus, a FakeClock and message builders."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from drivers.bus import InMemoryBus, Message
from drivers.vda5050.codec import decode, encode, format_timestamp
from drivers.vda5050.messages import (
    Action,
    ActionParameter,
    ActionState,
    ActionStatus,
    BlockingType,
    Edge,
    Error,
    Factsheet,
    InstantActions,
    Node,
    NodePosition,
    Order,
    State,
    VdaMessage,
)
from drivers.vda5050.topics import Topic, TopicName
from missions.clock import FakeClock
from missions.site import Edge as SiteEdge
from missions.site import Node as SiteNode
from missions.site import SiteMap
from simulator.environment import Environment
from simulator.robot import SimRobot
from simulator.robot_spec import SimRobotSpec

IFACE = "uagv"
MANUFACTURER = "acme"
SERIAL = "r1"
DT_S = 0.1

# A(0,0) --10 m-- B(10,0) --10 m-- D(20,0, max 0.5 m/s) --far-- F(50,50)
#                 |
#                 C(10,10)
SITE = SiteMap(
    map_id="plant",
    nodes=[
        SiteNode(id="A", x=0.0, y=0.0),
        SiteNode(id="B", x=10.0, y=0.0),
        SiteNode(id="C", x=10.0, y=10.0),
        SiteNode(id="D", x=20.0, y=0.0),
        SiteNode(id="F", x=50.0, y=50.0),
    ],
    edges=[
        SiteEdge(start="A", end="B"),
        SiteEdge(start="B", end="C"),
        SiteEdge(start="B", end="D", max_speed_m_s=0.5),
        SiteEdge(start="D", end="F"),
    ],
)


def act(
    action_type: str,
    action_id: str,
    blocking: str = "HARD",
    **params: Any,
) -> Action:
    return Action(
        actionType=action_type,
        actionId=action_id,
        blockingType=BlockingType(blocking),
        actionParameters=[ActionParameter(key=k, value=v) for k, v in params.items()],
    )


def make_order(
    node_ids: Sequence[str],
    *,
    order_id: str = "o1",
    update_id: int = 0,
    node_actions: Mapping[int, Sequence[Action]] | None = None,
    edge_actions: Mapping[int, Sequence[Action]] | None = None,
    first_seq: int = 0,
    released: int | None = None,
    deviation_m: float | None = None,
    serial: str = SERIAL,
) -> Order:
    """Nodes along ``node_ids`` with positions from SITE, edges between them; the first
    ``released`` nodes (all by default) and the edges between them are released."""
    node_actions = node_actions or {}
    edge_actions = edge_actions or {}
    n_released = len(node_ids) if released is None else released
    nodes = [
        Node(
            nodeId=nid,
            sequenceId=first_seq + 2 * i,
            released=i < n_released,
            actions=list(node_actions.get(i, [])),
            nodePosition=NodePosition(
                x=SITE.node(nid).x,
                y=SITE.node(nid).y,
                mapId=SITE.map_id,
                allowedDeviationXY=deviation_m if i == 0 else None,
            )
            if SITE.has_node(nid)
            else None,
        )
        for i, nid in enumerate(node_ids)
    ]
    edges = [
        Edge(
            edgeId=f"{a}-{b}",
            sequenceId=first_seq + 2 * i + 1,
            released=i + 1 < n_released,
            startNodeId=a,
            endNodeId=b,
            actions=list(edge_actions.get(i, [])),
        )
        for i, (a, b) in enumerate(itertools.pairwise(node_ids))
    ]
    return Order(
        headerId=0,
        timestamp=format_timestamp(0.0),
        version="2.1.0",
        manufacturer=MANUFACTURER,
        serialNumber=serial,
        orderId=order_id,
        orderUpdateId=update_id,
        nodes=nodes,
        edges=edges,
    )


def instant(*actions: Action) -> InstantActions:
    return InstantActions(
        headerId=0,
        timestamp=format_timestamp(0.0),
        version="2.1.0",
        manufacturer=MANUFACTURER,
        serialNumber=SERIAL,
        actions=list(actions),
    )


class Harness:
    """One started robot on an InMemoryBus, stepped on a FakeClock."""

    def __init__(
        self,
        spec: SimRobotSpec | None = None,
        *,
        environment: Environment | None = None,
        start: bool = True,
        beating: bool = True,
        site: SiteMap = SITE,
        **robot_kwargs: Any,
    ) -> None:
        self.beating = beating
        """True: act as a live controller, an ONLINE heartbeat every simulated second"""
        self._next_beat_s = 0.0
        self.bus = InMemoryBus()
        self.clock = FakeClock()
        self.spec = spec or SimRobotSpec(MANUFACTURER, SERIAL, "A")
        self.robot = SimRobot(
            self.spec, site, self.bus, self.clock, environment=environment, **robot_kwargs
        )
        if start:
            self.robot.start()

    def topic(self, name: TopicName) -> str:
        return str(Topic(IFACE, self.spec.manufacturer, self.spec.serial, name))

    def send(self, name: TopicName, msg: VdaMessage | bytes) -> None:
        payload = msg if isinstance(msg, bytes) else encode(msg)
        self.bus.publish(self.topic(name), payload)

    def send_order(self, order: Order | bytes) -> None:
        self.send(TopicName.ORDER, order)

    def send_instant(self, *actions: Action) -> None:
        self.send(TopicName.INSTANT_ACTIONS, instant(*actions))

    def beat(self, state: str = "ONLINE", interval_ms: int = 1000) -> None:
        body = {
            "headerId": 0,
            "timestamp": format_timestamp(self.clock.now()),
            "version": "2.1.0",
            "controllerId": "hazfleet",
            "connectionState": state,
            "intervalMs": interval_ms,
        }
        self.bus.publish(f"{IFACE}/hazfleet/hazfleet/heartbeat", json.dumps(body).encode(), 1, True)

    def step(self, n: int = 1, dt_s: float = DT_S) -> None:
        for _ in range(n):
            self.clock.advance(dt_s)
            if self.beating and self.clock.monotonic() >= self._next_beat_s - 1e-9:
                self.beat()
                self._next_beat_s = self.clock.monotonic() + 1.0
            self.robot.step()

    def published(self, name: TopicName) -> list[Message]:
        return [m for m in self.bus.published if m.topic == self.topic(name)]

    def states(self, order_id: str | None = None) -> list[State]:
        """Every published state (only those carrying ``order_id`` if given)."""
        out = [decode(State, m.payload, source=m.topic) for m in self.published(TopicName.STATE)]
        return out if order_id is None else [s for s in out if s.orderId == order_id]

    def robot_messages(self) -> list[Message]:
        prefix = f"{IFACE}/v2/{self.spec.manufacturer}/{self.spec.serial}/"
        own = (TopicName.STATE, TopicName.CONNECTION, TopicName.FACTSHEET, TopicName.VISUALIZATION)
        return [m for m in self.bus.published if m.topic in {prefix + name.value for name in own}]

    @property
    def state(self) -> State:
        return self.states()[-1]

    def factsheets(self) -> list[Factsheet]:
        return [
            decode(Factsheet, m.payload, source=m.topic)
            for m in self.published(TopicName.FACTSHEET)
        ]


def action_state(state: State, action_id: str) -> ActionState:
    matches = [a for a in state.actionStates if a.actionId == action_id]
    assert matches, f"no actionState {action_id!r} in {state.actionStates}"
    return matches[0]


def status_history(states: Sequence[State], action_id: str) -> list[ActionStatus]:
    """The distinct statuses ``action_id`` went through, in order."""
    out: list[ActionStatus] = []
    for s in states:
        for a in s.actionStates:
            if a.actionId == action_id and (not out or out[-1] is not a.actionStatus):
                out.append(a.actionStatus)
    return out


def errors_of(state: State, error_type: str) -> list[Error]:
    return [e for e in state.errors if e.errorType == error_type]

"""Engine state -> VDA 5050 messages: state, visualization, factsheet, connection.

Pure functions at the edge: the caller passes the header (id, timestamp) it publishes with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from drivers.vda5050.codec import Envelope
from drivers.vda5050.messages import (
    ActionParameterSpec,
    ActionState,
    AgvAction,
    AgvClass,
    AgvGeometry,
    AgvKinematic,
    AgvPosition,
    BatteryState,
    Connection,
    ConnectionState,
    EdgeState,
    Envelope2d,
    Error,
    EStop,
    Factsheet,
    LoadSpecification,
    LocalizationType,
    MaxArrayLens,
    MaxStringLens,
    NavigationType,
    NodeState,
    OperatingMode,
    OptionalParameter,
    PhysicalParameters,
    PolygonPoint,
    ProtocolFeatures,
    ProtocolLimits,
    SafetyState,
    State,
    SupportType,
    Timing,
    TypeSpecification,
    VehicleConfig,
    Velocity,
    VersionInfo,
    Visualization,
    WheelDefinition,
    WheelPosition,
    WheelType,
)
from simulator.robot_engine import RobotEngine
from simulator.robot_plan import wrap_angle
from simulator.robot_spec import ActionDef, SimRobotSpec

SERIES_NAME = "hazfleet-sim"
SOFTWARE_VERSION = "hazfleet-sim 0.1.0"
_VOLTAGE_EMPTY_V = 21.0
_VOLTAGE_SPAN_V = 4.2  # a nominal 24 V pack: 21.0 V empty .. 25.2 V full
_LENGTH_M = 0.9
_WIDTH_M = 0.6
_SAFE = SafetyState(eStop=EStop.NONE, fieldViolation=False)


Header = Envelope
"""the header fields of one message the robot sends"""


# --------------------------------------------------------------------------- state


class StateLists:
    """A robot's node, edge, action and error states as last validated, kept while they
    do not change.  A robot re-sends them in every state (every second) and they change
    only at a node, an order or an action's end; validating them again each time was two
    thirds of building a mid-mission state (57 of 85 µs with 12 nodes and 3 results)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[list[dict[str, Any]], list[Any]]] = {}

    def validated(self, name: str, raw: list[dict[str, Any]]) -> list[Any]:
        """``raw`` (the plain values of list field ``name`` of a state) as validated
        models: the previous ones when ``raw`` equals what they were made from."""
        kept = self._kept.get(name)
        if kept is not None and kept[0] == raw:
            return kept[1]
        models = _LIST_ADAPTERS[name].validate_python(raw)
        self._kept[name] = (raw, models)
        return models


_LIST_ADAPTERS: dict[str, TypeAdapter[list[Any]]] = {
    "nodeStates": TypeAdapter(list[NodeState]),
    "edgeStates": TypeAdapter(list[EdgeState]),
    "actionStates": TypeAdapter(list[ActionState]),
    "errors": TypeAdapter(list[Error]),
}


def build_state(
    engine: RobotEngine,
    spec: SimRobotSpec,
    map_id: str,
    h: Header,
    lists: StateLists | None = None,
) -> State:
    """The robot's state message.  ``lists``: the robot's :class:`StateLists` (its
    unchanged lists are not validated again); None validates everything."""
    # One validation of the whole tree (a dict of plain values) costs a third of building
    # the ~25 nested models one by one, and the robot publishes this every second.
    data = _state_values(engine, spec, map_id, h)
    if lists is not None:
        for name in _LIST_ADAPTERS:
            data[name] = lists.validated(name, data[name])
    return State.model_validate(data)


def _state_values(
    engine: RobotEngine, spec: SimRobotSpec, map_id: str, h: Header
) -> dict[str, Any]:
    return {
        **h.fields(),
        "orderId": engine.order_id,
        "orderUpdateId": engine.order_update_id,
        "lastNodeId": engine.last_node_id,
        "lastNodeSequenceId": engine.last_node_sequence_id,
        "driving": engine.driving,
        "paused": engine.paused,
        "distanceSinceLastNode": engine.distance_since_last_node_m,
        "operatingMode": OperatingMode.AUTOMATIC,
        "nodeStates": [
            {
                "nodeId": n.node_id,
                "sequenceId": n.sequence_id,
                "released": n.released,
                "nodeDescription": n.description,
                "nodePosition": {
                    "x": n.x_m,
                    "y": n.y_m,
                    "mapId": n.map_id,
                    "theta": None if n.theta is None else wrap_angle(n.theta),
                },
            }
            for n in engine.nodes
        ],
        "edgeStates": [
            {
                "edgeId": e.edge_id,
                "sequenceId": e.sequence_id,
                "released": e.released,
                "edgeDescription": e.description,
            }
            for e in engine.edges
        ],
        "actionStates": [
            {
                "actionId": r.action_id,
                "actionType": r.action.action_type,
                "actionDescription": r.action.description,
                "actionStatus": r.status,
                "resultDescription": r.result,
            }
            for r in engine.runs
        ],
        "agvPosition": _position(engine, map_id),
        "velocity": _velocity(engine),
        "batteryState": _battery(engine, spec),
        "errors": [
            {
                "errorType": e.error_type,
                "errorLevel": e.level,
                "errorReferences": [
                    {"referenceKey": k, "referenceValue": v} for k, v in e.references
                ],
                "errorDescription": e.description,
                "errorHint": e.hint,
            }
            for e in engine.errors
        ],
        "safetyState": _SAFE,
    }


def build_visualization(engine: RobotEngine, map_id: str, h: Header) -> Visualization:
    return Visualization(
        **h.fields(),
        agvPosition=_position(engine, map_id),
        velocity=_velocity(engine),
    )


def _position(engine: RobotEngine, map_id: str) -> AgvPosition:
    return AgvPosition(
        x=engine.x_m,
        y=engine.y_m,
        theta=wrap_angle(engine.theta),
        mapId=map_id,
        positionInitialized=True,
        localizationScore=1.0,
    )


def _velocity(engine: RobotEngine) -> Velocity:
    return Velocity(vx=engine.speed_m_s, vy=0.0, omega=0.0)


def _battery(engine: RobotEngine, spec: SimRobotSpec) -> BatteryState:
    pct = engine.battery_pct
    drain_w = spec.drive_power_w + spec.idle_power_w
    reach_m = (
        math.floor(engine.battery_wh / drain_w * 3600.0 * spec.max_speed_m_s)
        if drain_w > 0
        else None
    )
    return BatteryState(
        batteryCharge=round(pct, 3),
        batteryVoltage=round(_VOLTAGE_EMPTY_V + _VOLTAGE_SPAN_V * pct / 100.0, 3),
        charging=engine.charging,
        reach=reach_m,
    )


# --------------------------------------------------------------------------- connection


def build_connection(state: ConnectionState, h: Header) -> Connection:
    return Connection(
        **h.fields(),
        connectionState=state,
    )


# --------------------------------------------------------------------------- factsheet

_OPTIONAL_PARAMETERS = (
    ("order.nodes.nodePosition", "used for the mapId check; positions come from the site map"),
    ("order.nodes.nodePosition.theta", "orientation taken on arrival"),
    ("order.nodes.nodePosition.allowedDeviationXY", "first node of a new order only"),
    ("order.edges.maxSpeed", None),
    ("state.agvPosition", None),
    ("state.velocity", None),
    ("state.paused", None),
    ("state.distanceSinceLastNode", None),
    ("state.batteryState.batteryVoltage", None),
    ("state.batteryState.reach", None),
)


def build_factsheet(
    spec: SimRobotSpec,
    catalogue: Mapping[str, ActionDef],
    h: Header,
    *,
    state_interval_s: float,
    visualization_interval_s: float | None,
) -> Factsheet:
    """The factsheet (section 6.15).

    ``agvActions[].blockingTypes`` is left out on purpose: the 2.1.0 schema declares it
    with an ``enum`` on the array itself, so no factsheet carrying it is schema-valid.
    The allowed blocking types are written in each ``actionDescription`` instead, and an
    order using another one is rejected with ``orderError``.
    """
    half_l, half_w = _LENGTH_M / 2, _WIDTH_M / 2
    return Factsheet(
        **h.fields(),
        typeSpecification=TypeSpecification(
            seriesName=SERIES_NAME,
            seriesDescription="hazfleet simulated inspection robot (software only)",
            agvKinematic=AgvKinematic.DIFF,
            agvClass=AgvClass.CARRIER,
            maxLoadMass=20.0,
            localizationTypes=[LocalizationType.NATURAL],
            navigationTypes=[NavigationType.VIRTUAL_LINE_GUIDED],
        ),
        physicalParameters=PhysicalParameters(
            speedMin=0.01,
            speedMax=spec.max_speed_m_s,
            accelerationMax=1.0,
            decelerationMax=1.0,
            heightMin=0.5,
            heightMax=0.9,
            width=_WIDTH_M,
            length=_LENGTH_M,
        ),
        protocolLimits=ProtocolLimits(
            maxStringLens=MaxStringLens(),
            maxArrayLens=MaxArrayLens(),
            timing=Timing(
                minOrderInterval=0.0,
                minStateInterval=0.0,
                defaultStateInterval=state_interval_s,
                visualizationInterval=visualization_interval_s,
            ),
        ),
        protocolFeatures=ProtocolFeatures(
            optionalParameters=[
                OptionalParameter(parameter=p, support=SupportType.SUPPORTED, description=d)
                for p, d in _OPTIONAL_PARAMETERS
            ],
            agvActions=[_agv_action(d) for d in catalogue.values()],
        ),
        agvGeometry=AgvGeometry(
            wheelDefinitions=[
                WheelDefinition(
                    type=WheelType.DRIVE,
                    isActiveDriven=True,
                    isActiveSteered=False,
                    position=WheelPosition(x=0.0, y=side * (half_w - 0.05)),
                    diameter=0.2,
                    width=0.05,
                )
                for side in (1.0, -1.0)
            ],
            envelopes2d=[
                Envelope2d(
                    set="base",
                    polygonPoints=[
                        PolygonPoint(x=x, y=y)
                        for x, y in (
                            (half_l, half_w),
                            (-half_l, half_w),
                            (-half_l, -half_w),
                            (half_l, -half_w),
                        )
                    ],
                    description="mechanical outline",
                )
            ],
        ),
        loadSpecification=LoadSpecification(),
        vehicleConfig=VehicleConfig(
            versions=[VersionInfo(key="softwareVersion", value=SOFTWARE_VERSION)]
        ),
    )


def _agv_action(d: ActionDef) -> AgvAction:
    blocking = "/".join(b.value for b in d.blocking_types)
    return AgvAction(
        actionType=d.action_type,
        actionDescription=f"{d.description} (blockingType {blocking})",
        actionScopes=list(d.scopes),
        actionParameters=[
            ActionParameterSpec(
                key=p.key,
                valueDataType=p.data_type,
                description=p.description,
                isOptional=p.optional,
            )
            for p in d.params
        ]
        or None,
        resultDescription=d.result_description,
    )

"""Test helper: sample VDA 5050 messages of every topic.

* ``minimal(name)``: only the required fields;
* ``maximal(name)``: every optional field of the standard filled in;
* ``generated(name, count, seed)``: a seeded stream of varied, valid messages
  ("generated samples"): optional fields present or not, list lengths, enum values, JSON
  types of action parameter values, numbers across their ranges.

Two fields are spelled per the document but cannot validate against the 2.1.0 factsheet
schema (schema defects): ``agvActions[].blockingTypes`` (the schema puts an ``enum`` on
the array itself) and ``envelopes3d[].description`` (the schema says integer, the
document string).  ``maximal("factsheet", schema_compatible=True)`` and the generator
leave them out; ``schema_compatible=False`` includes them.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.vda5050 import (
    MODEL_FOR_TOPIC,
    ActionScope,
    ActionStatus,
    AgvClass,
    AgvKinematic,
    BlockingType,
    ConnectionState,
    CorridorRefPoint,
    ErrorLevel,
    EStop,
    InfoLevel,
    LocalizationType,
    MapStatus,
    NavigationType,
    OperatingMode,
    OrientationType,
    SupportType,
    TopicName,
    ValueDataType,
    VdaMessage,
    WheelType,
    format_timestamp,
)

TOPIC_NAMES: tuple[TopicName, ...] = tuple(TopicName)
MANUFACTURER = "hazfleet"
SERIAL = "RB-0001"
VERSION = "2.1.0"
T0_S = 1492256403.12  # 2017-04-15T11:40:03.12Z, the standard's example

# Fields that exist in the document but break the 2.1.0 schema (see module docstring).
SCHEMA_DEFECT_PATHS = (
    "protocolFeatures.agvActions.*.blockingTypes",
    "agvGeometry.envelopes3d.*.description",
)


def header(header_id: int = 0, epoch_s: float = T0_S, serial: str = SERIAL) -> dict[str, Any]:
    return {
        "headerId": header_id,
        "timestamp": format_timestamp(epoch_s),
        "version": VERSION,
        "manufacturer": MANUFACTURER,
        "serialNumber": serial,
    }


def json_bytes(obj: Any) -> bytes:
    """``obj`` as a compact UTF-8 JSON payload."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _build(name: TopicName, data: dict[str, Any]) -> VdaMessage:
    return MODEL_FOR_TOPIC[name].model_validate(data)


# --------------------------------------------------------------------------- minimal


def minimal_dict(name: str) -> dict[str, Any]:
    """JSON of the smallest valid message of topic ``name``."""
    topic = TopicName(name)
    h = header()
    if topic is TopicName.ORDER:
        node = {"nodeId": "dock", "sequenceId": 0, "released": True, "actions": []}
        return {**h, "orderId": "order-1", "orderUpdateId": 0, "nodes": [node], "edges": []}
    if topic is TopicName.INSTANT_ACTIONS:
        return {**h, "actions": []}
    if topic is TopicName.STATE:
        return {
            **h,
            "orderId": "",
            "orderUpdateId": 0,
            "lastNodeId": "",
            "lastNodeSequenceId": 0,
            "nodeStates": [],
            "edgeStates": [],
            "driving": False,
            "actionStates": [],
            "batteryState": {"batteryCharge": 80.0, "charging": False},
            "operatingMode": "AUTOMATIC",
            "errors": [],
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
        }
    if topic is TopicName.VISUALIZATION:
        return dict(h)
    if topic is TopicName.CONNECTION:
        return {**h, "connectionState": "ONLINE"}
    return {
        **h,
        "typeSpecification": {
            "seriesName": "HZ-1",
            "agvKinematic": "DIFF",
            "agvClass": "CARRIER",
            "maxLoadMass": 20.0,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.05,
            "speedMax": 1.2,
            "accelerationMax": 0.5,
            "decelerationMax": 0.8,
            "heightMin": 0.4,
            "heightMax": 0.6,
            "width": 0.6,
            "length": 0.9,
        },
        "protocolLimits": {
            "maxStringLens": {},
            "maxArrayLens": {},
            "timing": {"minOrderInterval": 0.5, "minStateInterval": 0.2},
        },
        "protocolFeatures": {"optionalParameters": [], "agvActions": []},
        "agvGeometry": {},
        "loadSpecification": {},
    }


def minimal(name: str) -> VdaMessage:
    return _build(TopicName(name), minimal_dict(name))


# --------------------------------------------------------------------------- maximal


def _action_max(action_id: str, blocking: str = "HARD") -> dict[str, Any]:
    return {
        "actionType": "measureDoseRate",
        "actionId": action_id,
        "blockingType": blocking,
        "actionDescription": "gamma dose rate survey, 10 s integration",
        "actionParameters": [
            {"key": "duration", "value": 10},
            {"key": "threshold_uSv_h", "value": 103.2},
            {"key": "direction", "value": "left"},
            {"key": "retract", "value": True},
            {"key": "sensors", "value": ["gamma", "neutron"]},
            {"key": "limits", "value": {"warn_uSv_h": 20.0, "abort_uSv_h": 100.0}},
        ],
    }


def _trajectory_max() -> dict[str, Any]:
    return {
        "degree": 2,
        "knotVector": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        "controlPoints": [
            {"x": 0.0, "y": 0.0, "weight": 1.0},
            {"x": 1.0, "y": 1.0, "weight": 0.5},
            {"x": 2.0, "y": 0.0, "weight": 1.0},
        ],
    }


def _node_position_max(x: float, y: float) -> dict[str, Any]:
    return {
        "x": x,
        "y": y,
        "theta": math.pi / 2,
        "allowedDeviationXY": 0.1,
        "allowedDeviationTheta": 0.2,
        "mapId": "reactor-hall-1",
        "mapDescription": "reactor hall, level 0",
    }


def _agv_position_max() -> dict[str, Any]:
    return {
        "x": 1.5,
        "y": -2.25,
        "theta": -math.pi,
        "mapId": "reactor-hall-1",
        "mapDescription": "reactor hall, level 0",
        "positionInitialized": True,
        "localizationScore": 0.93,
        "deviationRange": 0.05,
    }


def _velocity_max() -> dict[str, Any]:
    return {"vx": 0.4, "vy": 0.0, "omega": -0.1}


def _bbox_max() -> dict[str, Any]:
    return {"x": 0.0, "y": 0.0, "z": 0.3, "theta": 0.0}


def _dims_max() -> dict[str, Any]:
    return {"length": 0.4, "width": 0.3, "height": 0.25}


def maximal_dict(name: str, *, schema_compatible: bool = True) -> dict[str, Any]:
    """JSON of a message of topic ``name`` with every optional field filled in."""
    topic = TopicName(name)
    h = header(header_id=4_294_967_295)
    if topic is TopicName.ORDER:
        return {
            **h,
            "orderId": "order-7f3a",
            "orderUpdateId": 3,
            "zoneSetId": "zones-2024",
            "nodes": [
                {
                    "nodeId": "dock",
                    "sequenceId": 0,
                    "nodeDescription": "charging dock",
                    "released": True,
                    "nodePosition": _node_position_max(0.0, 0.0),
                    "actions": [],
                },
                {
                    "nodeId": "valve-3",
                    "sequenceId": 2,
                    "nodeDescription": "valve 3 inspection point",
                    "released": False,
                    "nodePosition": _node_position_max(2.0, 0.0),
                    "actions": [_action_max("a-survey-1")],
                },
            ],
            "edges": [
                {
                    "edgeId": "dock__valve-3",
                    "sequenceId": 1,
                    "edgeDescription": "main corridor",
                    "released": False,
                    "startNodeId": "dock",
                    "endNodeId": "valve-3",
                    "maxSpeed": 0.8,
                    "maxHeight": 1.9,
                    "minHeight": 0.1,
                    "orientation": 0.0,
                    "orientationType": "TANGENTIAL",
                    "direction": "straight",
                    "rotationAllowed": False,
                    "maxRotationSpeed": 0.5,
                    "length": 2.4,
                    "trajectory": _trajectory_max(),
                    "corridor": {
                        "leftWidth": 0.5,
                        "rightWidth": 0.25,
                        "corridorRefPoint": "CONTOUR",
                    },
                    "actions": [_action_max("a-sniff-1", "NONE")],
                }
            ],
        }
    if topic is TopicName.INSTANT_ACTIONS:
        return {**h, "actions": [_action_max("ia-1", "SOFT"), _action_max("ia-2", "NONE")]}
    if topic is TopicName.STATE:
        return {
            **h,
            "maps": [
                {
                    "mapId": "reactor-hall-1",
                    "mapVersion": "3",
                    "mapDescription": "survey 2024-05",
                    "mapStatus": "ENABLED",
                }
            ],
            "orderId": "order-7f3a",
            "orderUpdateId": 3,
            "zoneSetId": "zones-2024",
            "lastNodeId": "dock",
            "lastNodeSequenceId": 0,
            "driving": True,
            "paused": False,
            "newBaseRequest": True,
            "distanceSinceLastNode": 0.75,
            "operatingMode": "SEMIAUTOMATIC",
            "nodeStates": [
                {
                    "nodeId": "valve-3",
                    "sequenceId": 2,
                    "nodeDescription": "valve 3 inspection point",
                    "released": True,
                    "nodePosition": {"x": 2.0, "y": 0.0, "theta": 0.0, "mapId": "reactor-hall-1"},
                }
            ],
            "edgeStates": [
                {
                    "edgeId": "dock__valve-3",
                    "sequenceId": 1,
                    "edgeDescription": "main corridor",
                    "released": True,
                    "trajectory": _trajectory_max(),
                }
            ],
            "agvPosition": _agv_position_max(),
            "velocity": _velocity_max(),
            "loads": [
                {
                    "loadId": "sample-canister-12",
                    "loadType": "CANISTER",
                    "loadPosition": "front",
                    "boundingBoxReference": _bbox_max(),
                    "loadDimensions": _dims_max(),
                    "weight": 4.5,
                }
            ],
            "actionStates": [
                {
                    "actionId": "a-survey-1",
                    "actionType": "measureDoseRate",
                    "actionDescription": "gamma dose rate survey",
                    "actionStatus": "PAUSED",
                    "resultDescription": "12.5 uSv/h",
                }
            ],
            "batteryState": {
                "batteryCharge": 64.5,
                "batteryVoltage": 48.2,
                "batteryHealth": 97,
                "charging": False,
                "reach": 1800,
            },
            "errors": [
                {
                    "errorType": "doseRateHigh",
                    "errorReferences": [{"referenceKey": "actionId", "referenceValue": "a-1"}],
                    "errorDescription": "dose rate above warning level",
                    "errorHint": "retreat and re-plan",
                    "errorLevel": "WARNING",
                }
            ],
            "information": [
                {
                    "infoType": "detector",
                    "infoReferences": [{"referenceKey": "sensor", "referenceValue": "gamma"}],
                    "infoDescription": "detector warmed up",
                    "infoLevel": "DEBUG",
                }
            ],
            "safetyState": {"eStop": "AUTOACK", "fieldViolation": True},
        }
    if topic is TopicName.VISUALIZATION:
        return {**h, "agvPosition": _agv_position_max(), "velocity": _velocity_max()}
    if topic is TopicName.CONNECTION:
        return {**h, "connectionState": "CONNECTIONBROKEN"}
    return _factsheet_max(h, schema_compatible=schema_compatible)


def _factsheet_max(h: dict[str, Any], *, schema_compatible: bool) -> dict[str, Any]:
    agv_action: dict[str, Any] = {
        "actionType": "measureDoseRate",
        "actionDescription": "gamma dose rate survey",
        "actionScopes": ["INSTANT", "NODE"],
        "actionParameters": [
            {
                "key": "duration",
                "valueDataType": "INTEGER",
                "description": "integration time in s",
                "isOptional": True,
            }
        ],
        "resultDescription": "dose rate in uSv/h",
    }
    envelope3d: dict[str, Any] = {
        "set": "loaded",
        "format": "DXF",
        "data": {"layers": ["hull"], "scale": 1.0},
        "url": "ftp://example.invalid/hz1.dxf",
    }
    if not schema_compatible:
        agv_action["blockingTypes"] = ["SOFT", "HARD"]
        envelope3d["description"] = "hull with manipulator stowed"
    return {
        **h,
        "typeSpecification": {
            "seriesName": "HZ-1",
            "seriesDescription": "hazardous-area survey carrier",
            "agvKinematic": "OMNI",
            "agvClass": "CARRIER",
            "maxLoadMass": 20.0,
            "localizationTypes": ["NATURAL", "REFLECTOR"],
            "navigationTypes": ["AUTONOMOUS", "VIRTUAL_LINE_GUIDED"],
        },
        "physicalParameters": {
            "speedMin": 0.05,
            "speedMax": 1.2,
            "angularSpeedMin": 0.01,
            "angularSpeedMax": 1.0,
            "accelerationMax": 0.5,
            "decelerationMax": 0.8,
            "heightMin": 0.4,
            "heightMax": 0.6,
            "width": 0.6,
            "length": 0.9,
        },
        "protocolLimits": {
            "maxStringLens": {
                "msgLen": 65536,
                "topicSerialLen": 32,
                "topicElemLen": 32,
                "idLen": 64,
                "idNumericalOnly": False,
                "enumLen": 32,
                "loadIdLen": 32,
            },
            "maxArrayLens": {
                key: 16
                for key in (
                    "order.nodes",
                    "order.edges",
                    "node.actions",
                    "edge.actions",
                    "actions.actionsParameters",
                    "instantActions",
                    "trajectory.knotVector",
                    "trajectory.controlPoints",
                    "state.nodeStates",
                    "state.edgeStates",
                    "state.loads",
                    "state.actionStates",
                    "state.errors",
                    "state.information",
                    "error.errorReferences",
                    "information.infoReferences",
                )
            },
            "timing": {
                "minOrderInterval": 0.5,
                "minStateInterval": 0.2,
                "defaultStateInterval": 1.0,
                "visualizationInterval": 0.1,
            },
        },
        "protocolFeatures": {
            "optionalParameters": [
                {
                    "parameter": "order.nodes.nodePosition.allowedDeviationTheta",
                    "support": "SUPPORTED",
                    "description": "in rad",
                }
            ],
            "agvActions": [agv_action],
        },
        "agvGeometry": {
            "wheelDefinitions": [
                {
                    "type": "MECANUM",
                    "isActiveDriven": True,
                    "isActiveSteered": False,
                    "position": {"x": 0.3, "y": 0.25, "theta": 0.0},
                    "diameter": 0.15,
                    "width": 0.05,
                    "centerDisplacement": 0.0,
                    "constraints": "none",
                }
            ],
            "envelopes2d": [
                {
                    "set": "mechanical",
                    "polygonPoints": [
                        {"x": 0.45, "y": 0.3},
                        {"x": -0.45, "y": 0.3},
                        {"x": -0.45, "y": -0.3},
                    ],
                    "description": "hull",
                }
            ],
            "envelopes3d": [envelope3d],
        },
        "loadSpecification": {
            "loadPositions": ["front"],
            "loadSets": [
                {
                    "setName": "DEFAULT",
                    "loadType": "CANISTER",
                    "loadPositions": ["front"],
                    "boundingBoxReference": _bbox_max(),
                    "loadDimensions": _dims_max(),
                    "maxWeight": 10.0,
                    "minLoadhandlingHeight": 0.1,
                    "maxLoadhandlingHeight": 0.5,
                    "minLoadhandlingDepth": 0.0,
                    "maxLoadhandlingDepth": 0.3,
                    "minLoadhandlingTilt": -0.1,
                    "maxLoadhandlingTilt": 0.1,
                    "agvSpeedLimit": 0.5,
                    "agvAccelerationLimit": 0.3,
                    "agvDecelerationLimit": 0.5,
                    "pickTime": 12.0,
                    "dropTime": 8.0,
                    "description": "sealed sample canister",
                }
            ],
        },
        "vehicleConfig": {
            "versions": [{"key": "softwareVersion", "value": "v1.03.2"}],
            "network": {
                "dnsServers": ["10.0.0.1"],
                "ntpServers": ["10.0.0.2"],
                "localIpAddress": "10.0.0.42",
                "netmask": "255.255.255.0",
                "defaultGateway": "10.0.0.254",
            },
        },
    }


def maximal(name: str, *, schema_compatible: bool = True) -> VdaMessage:
    return _build(TopicName(name), maximal_dict(name, schema_compatible=schema_compatible))


# --------------------------------------------------------------------------- generated

_ID_CHARS = string.ascii_letters + string.digits + "_.:-"
_TEXTS = ("survey", "Übergabe Ventil 3", "zone ☢ B", "", "line\nbreak", 'quote "x"')


class _Gen:
    """Random building blocks over one numpy Generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def coin(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p)

    def integer(self, lo: int, hi: int) -> int:
        """Uniform in [lo, hi]."""
        return int(self.rng.integers(lo, hi, endpoint=True))

    def num(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def pick(self, options: Any) -> Any:
        seq = list(options)
        return seq[int(self.rng.integers(len(seq)))]

    def ident(self, prefix: str = "") -> str:
        n = self.integer(1, 12)
        return prefix + "".join(self.pick(_ID_CHARS) for _ in range(n))

    def text(self) -> str:
        return str(self.pick(_TEXTS))

    def maybe(self, make: Callable[[], Any], p: float = 0.5) -> Any:
        return make() if self.coin(p) else None

    def header(self) -> dict[str, Any]:
        return {
            "headerId": self.integer(0, 2**32 - 1),
            "timestamp": format_timestamp(self.num(0.0, 4.0e9)),
            "version": self.pick(("2.0.0", "2.1.0")),
            "manufacturer": self.ident(),
            "serialNumber": self.ident(),
        }

    def json_value(self, depth: int = 0) -> Any:
        kind = self.integer(0, 5 if depth < 2 else 3)
        if kind == 0:
            return self.coin()
        if kind == 1:
            return self.integer(-(2**40), 2**40)
        if kind == 2:
            return self.num(-1e6, 1e6)
        if kind == 3:
            return self.text()
        if kind == 4:
            return [self.json_value(depth + 1) for _ in range(self.integer(0, 3))]
        return {self.ident(): self.json_value(depth + 1) for _ in range(self.integer(0, 3))}


def _clean(obj: Any) -> Any:
    """Drop None values recursively (absent optional fields)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _g_action(g: _Gen) -> dict[str, Any]:
    return {
        "actionType": g.pick(("pick", "drop", "measureDoseRate", "startPause", g.ident())),
        "actionId": g.ident("a-"),
        "blockingType": g.pick(BlockingType),
        "actionDescription": g.maybe(g.text),
        "actionParameters": g.maybe(
            lambda: [{"key": g.ident(), "value": g.json_value()} for _ in range(g.integer(0, 4))]
        ),
    }


def _g_actions(g: _Gen, most: int = 3) -> list[dict[str, Any]]:
    return [_g_action(g) for _ in range(g.integer(0, most))]


def _g_node_position(g: _Gen, full: bool = True) -> dict[str, Any]:
    pos: dict[str, Any] = {
        "x": g.num(-500, 500),
        "y": g.num(-500, 500),
        "theta": g.maybe(lambda: g.num(-math.pi, math.pi)),
        "mapId": g.ident("map-"),
    }
    if full:
        pos["allowedDeviationXY"] = g.maybe(lambda: g.num(0, 2))
        pos["allowedDeviationTheta"] = g.maybe(lambda: g.num(0, math.pi))
        pos["mapDescription"] = g.maybe(g.text)
    return pos


def _g_trajectory(g: _Gen) -> dict[str, Any]:
    degree = g.integer(1, 3)
    n_points = g.integer(degree + 1, degree + 4)
    inner = sorted(g.num(0, 1) for _ in range(n_points - degree - 1))
    return {
        "degree": degree,
        "knotVector": [0.0] * (degree + 1) + inner + [1.0] * (degree + 1),
        "controlPoints": [
            {"x": g.num(-50, 50), "y": g.num(-50, 50), "weight": g.maybe(lambda: g.num(0, 3))}
            for _ in range(n_points)
        ],
    }


def _g_order(g: _Gen) -> dict[str, Any]:
    n_nodes = g.integer(1, 6)
    n_base = g.integer(1, n_nodes)
    node_ids = [g.ident("n-") for _ in range(n_nodes)]
    seq0 = 2 * g.integer(0, 10)
    nodes = [
        {
            "nodeId": node_ids[i],
            "sequenceId": seq0 + 2 * i,
            "released": i < n_base,
            "actions": _g_actions(g),
            "nodeDescription": g.maybe(g.text),
            "nodePosition": g.maybe(lambda: _g_node_position(g), 0.8),
        }
        for i in range(n_nodes)
    ]
    edges = [
        {
            "edgeId": f"{node_ids[i]}__{node_ids[i + 1]}",
            "sequenceId": seq0 + 2 * i + 1,
            "released": i + 1 < n_base,
            "startNodeId": node_ids[i],
            "endNodeId": node_ids[i + 1],
            "actions": _g_actions(g, 2),
            "edgeDescription": g.maybe(g.text),
            "maxSpeed": g.maybe(lambda: g.num(0.1, 2.0)),
            "maxHeight": g.maybe(lambda: g.num(0.5, 3.0)),
            "minHeight": g.maybe(lambda: g.num(0.0, 0.5)),
            "orientation": g.maybe(lambda: g.num(-math.pi, math.pi)),
            "orientationType": g.maybe(lambda: g.pick(OrientationType)),
            "direction": g.maybe(lambda: g.pick(("left", "right", "straight"))),
            "rotationAllowed": g.maybe(g.coin),
            "maxRotationSpeed": g.maybe(lambda: g.num(0.0, 2.0)),
            "length": g.maybe(lambda: g.num(0.1, 100.0)),
            "trajectory": g.maybe(lambda: _g_trajectory(g), 0.3),
            "corridor": g.maybe(
                lambda: {
                    "leftWidth": g.num(0, 2),
                    "rightWidth": g.num(0, 2),
                    "corridorRefPoint": g.maybe(lambda: g.pick(CorridorRefPoint)),
                },
                0.3,
            ),
        }
        for i in range(n_nodes - 1)
    ]
    return {
        **g.header(),
        "orderId": g.ident("order-"),
        "orderUpdateId": g.integer(0, 2**32 - 1),
        "zoneSetId": g.maybe(g.ident),
        "nodes": nodes,
        "edges": edges,
    }


def _g_agv_position(g: _Gen) -> dict[str, Any]:
    return {
        "x": g.num(-500, 500),
        "y": g.num(-500, 500),
        "theta": g.num(-math.pi, math.pi),
        "mapId": g.ident("map-"),
        "mapDescription": g.maybe(g.text),
        "positionInitialized": g.coin(0.9),
        "localizationScore": g.maybe(lambda: g.num(0, 1)),
        "deviationRange": g.maybe(lambda: g.num(0, 1)),
    }


def _g_velocity(g: _Gen) -> dict[str, Any]:
    return {
        "vx": g.maybe(lambda: g.num(-2, 2)),
        "vy": g.maybe(lambda: g.num(-2, 2)),
        "omega": g.maybe(lambda: g.num(-1, 1)),
    }


def _g_references(g: _Gen) -> list[dict[str, Any]]:
    keys = ("nodeId", "edgeId", "orderId", "actionId", "headerId")
    return [
        {"referenceKey": g.pick(keys), "referenceValue": g.ident()} for _ in range(g.integer(0, 3))
    ]


def _g_load(g: _Gen) -> dict[str, Any]:
    return {
        "loadId": g.maybe(g.ident),
        "loadType": g.maybe(lambda: g.pick(("EPAL", "CANISTER", "DRUM"))),
        "loadPosition": g.maybe(lambda: g.pick(("front", "back", "positionC1"))),
        "boundingBoxReference": g.maybe(
            lambda: {
                "x": g.num(-1, 1),
                "y": g.num(-1, 1),
                "z": g.num(0, 1),
                "theta": g.maybe(lambda: g.num(-math.pi, math.pi)),
            }
        ),
        "loadDimensions": g.maybe(
            lambda: {
                "length": g.num(0.1, 2),
                "width": g.num(0.1, 2),
                "height": g.maybe(lambda: g.num(0.1, 2)),
            }
        ),
        "weight": g.maybe(lambda: g.num(0, 500)),
    }


def _g_state(g: _Gen) -> dict[str, Any]:
    seq0 = 2 * g.integer(0, 10)
    return {
        **g.header(),
        "orderId": g.pick(("", g.ident("order-"))),
        "orderUpdateId": g.integer(0, 100),
        "zoneSetId": g.maybe(g.ident),
        "lastNodeId": g.pick(("", g.ident("n-"))),
        "lastNodeSequenceId": seq0,
        "driving": g.coin(),
        "paused": g.maybe(g.coin),
        "newBaseRequest": g.maybe(g.coin),
        "distanceSinceLastNode": g.maybe(lambda: g.num(0, 50)),
        "operatingMode": g.pick(OperatingMode),
        "nodeStates": [
            {
                "nodeId": g.ident("n-"),
                "sequenceId": seq0 + 2 * i + 2,
                "released": g.coin(),
                "nodeDescription": g.maybe(g.text),
                "nodePosition": g.maybe(lambda: _g_node_position(g, full=False)),
            }
            for i in range(g.integer(0, 4))
        ],
        "edgeStates": [
            {
                "edgeId": g.ident("e-"),
                "sequenceId": seq0 + 2 * i + 1,
                "released": g.coin(),
                "edgeDescription": g.maybe(g.text),
                "trajectory": g.maybe(lambda: _g_trajectory(g), 0.3),
            }
            for i in range(g.integer(0, 4))
        ],
        "agvPosition": g.maybe(lambda: _g_agv_position(g), 0.8),
        "velocity": g.maybe(lambda: _g_velocity(g)),
        "loads": g.maybe(lambda: [_g_load(g) for _ in range(g.integer(0, 2))]),
        "actionStates": [
            {
                "actionId": g.ident("a-"),
                "actionStatus": g.pick(ActionStatus),
                "actionType": g.maybe(g.ident),
                "actionDescription": g.maybe(g.text),
                "resultDescription": g.maybe(g.text),
            }
            for _ in range(g.integer(0, 5))
        ],
        "batteryState": {
            "batteryCharge": g.num(0, 100),
            "charging": g.coin(),
            "batteryVoltage": g.maybe(lambda: g.num(20, 60)),
            "batteryHealth": g.maybe(lambda: g.integer(0, 100)),
            "reach": g.maybe(lambda: g.integer(0, 10_000)),
        },
        "errors": [
            {
                "errorType": g.ident(),
                "errorLevel": g.pick(ErrorLevel),
                "errorReferences": g.maybe(lambda: _g_references(g)),
                "errorDescription": g.maybe(g.text),
                "errorHint": g.maybe(g.text),
            }
            for _ in range(g.integer(0, 3))
        ],
        "information": g.maybe(
            lambda: [
                {
                    "infoType": g.ident(),
                    "infoLevel": g.pick(InfoLevel),
                    "infoReferences": g.maybe(lambda: _g_references(g)),
                    "infoDescription": g.maybe(g.text),
                }
                for _ in range(g.integer(0, 3))
            ]
        ),
        "safetyState": {"eStop": g.pick(EStop), "fieldViolation": g.coin()},
        "maps": g.maybe(
            lambda: [
                {
                    "mapId": g.ident("map-"),
                    "mapVersion": g.ident(),
                    "mapDescription": g.maybe(g.text),
                    "mapStatus": g.pick(MapStatus),
                }
                for _ in range(g.integer(0, 3))
            ]
        ),
    }


def _g_instant_actions(g: _Gen) -> dict[str, Any]:
    return {**g.header(), "actions": _g_actions(g, 4)}


def _g_visualization(g: _Gen) -> dict[str, Any]:
    return {
        **g.header(),
        "agvPosition": g.maybe(lambda: _g_agv_position(g), 0.8),
        "velocity": g.maybe(lambda: _g_velocity(g)),
    }


def _g_connection(g: _Gen) -> dict[str, Any]:
    return {**g.header(), "connectionState": g.pick(ConnectionState)}


def _g_subset(g: _Gen, options: Any, least: int = 0) -> list[Any]:
    chosen = [o for o in options if g.coin()]
    return chosen if len(chosen) >= least else list(options)[:least]


def _g_factsheet(g: _Gen) -> dict[str, Any]:
    base = minimal_dict("factsheet")
    base.update(g.header())
    base["typeSpecification"] = {
        "seriesName": g.ident(),
        "seriesDescription": g.maybe(g.text),
        "agvKinematic": g.pick(AgvKinematic),
        "agvClass": g.pick(AgvClass),
        "maxLoadMass": g.num(0, 2000),
        "localizationTypes": _g_subset(g, LocalizationType, 1),
        "navigationTypes": _g_subset(g, NavigationType, 1),
    }
    base["physicalParameters"] = {
        **base["physicalParameters"],
        "speedMax": g.num(0.5, 3),
        "angularSpeedMin": g.maybe(lambda: g.num(0, 0.1)),
        "angularSpeedMax": g.maybe(lambda: g.num(0.5, 2)),
    }
    base["protocolLimits"]["maxStringLens"] = {
        "msgLen": g.maybe(lambda: g.integer(0, 2**20)),
        "idLen": g.maybe(lambda: g.integer(0, 255)),
        "idNumericalOnly": g.maybe(g.coin),
    }
    base["protocolLimits"]["maxArrayLens"] = {
        k: g.integer(0, 1000)
        for k in ("order.nodes", "order.edges", "state.actionStates", "instantActions")
        if g.coin()
    }
    base["protocolLimits"]["timing"]["visualizationInterval"] = g.maybe(lambda: g.num(0.05, 1))
    base["protocolFeatures"] = {
        "optionalParameters": [
            {
                "parameter": g.pick(("order.edges.trajectory", "order.edges.corridor")),
                "support": g.pick(SupportType),
                "description": g.maybe(g.text),
            }
            for _ in range(g.integer(0, 2))
        ],
        "agvActions": [
            {
                "actionType": g.ident(),
                "actionScopes": _g_subset(g, ActionScope, 1),
                "actionDescription": g.maybe(g.text),
                "actionParameters": g.maybe(
                    lambda: [
                        {
                            "key": g.ident(),
                            "valueDataType": g.pick(ValueDataType),
                            "description": g.maybe(g.text),
                            "isOptional": g.maybe(g.coin),
                        }
                        for _ in range(g.integer(0, 3))
                    ]
                ),
                "resultDescription": g.maybe(g.text),
            }
            for _ in range(g.integer(0, 4))
        ],
    }
    base["agvGeometry"] = {
        "wheelDefinitions": g.maybe(
            lambda: [
                {
                    "type": g.pick(WheelType),
                    "isActiveDriven": g.coin(),
                    "isActiveSteered": g.coin(),
                    "position": {"x": g.num(-1, 1), "y": g.num(-1, 1), "theta": None},
                    "diameter": g.num(0.05, 0.5),
                    "width": g.num(0.02, 0.2),
                    "centerDisplacement": g.maybe(lambda: g.num(0, 0.1)),
                }
                for _ in range(g.integer(0, 4))
            ]
        ),
    }
    base["loadSpecification"] = {
        "loadPositions": g.maybe(lambda: ["front"]),
        "loadSets": g.maybe(
            lambda: [{"setName": "DEFAULT", "loadType": "EPAL", "maxWeight": g.num(0, 1000)}]
        ),
    }
    return base


_GENERATORS: dict[TopicName, Callable[[_Gen], dict[str, Any]]] = {
    TopicName.ORDER: _g_order,
    TopicName.INSTANT_ACTIONS: _g_instant_actions,
    TopicName.STATE: _g_state,
    TopicName.VISUALIZATION: _g_visualization,
    TopicName.CONNECTION: _g_connection,
    TopicName.FACTSHEET: _g_factsheet,
}


def generated_dicts(name: str, count: int = 50, seed: int = 5050) -> list[dict[str, Any]]:
    """``count`` varied valid payloads (as JSON objects) of topic ``name``; seeded."""
    topic = TopicName(name)
    # One stream per topic, so adding a field to one generator leaves the others alone.
    g = _Gen(np.random.default_rng([seed, TOPIC_NAMES.index(topic)]))
    return [_clean(_GENERATORS[topic](g)) for _ in range(count)]


def generated(name: str, count: int = 50, seed: int = 5050) -> list[VdaMessage]:
    """The generated samples as validated models."""
    topic = TopicName(name)
    return [_build(topic, d) for d in generated_dicts(name, count, seed)]

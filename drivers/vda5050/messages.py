"""VDA 5050 v2.1 wire messages as frozen pydantic v2 models.

Field names are exactly the JSON names of the standard (camelCase), so
``msg.model_dump(mode="json", exclude_none=True)`` is the payload.  The one exception is
:class:`MaxArrayLens` in the factsheet, whose JSON keys contain dots
(``"order.nodes"``): there the Python names are snake_case and the model always
validates and serialises by the JSON key (alias).

Reference: ``VDA5050_EN.md`` (normative text, wins over the schema) and the official
``*.schema`` files of tag 2.1.0.

Inbound tolerance, decided here once for every consumer:

* Unknown fields are accepted and kept (``extra="allow"``);
  :func:`drivers.vda5050.codec.unknown_fields` lists them so the controller can log them
  once.
* Missing optional fields are ``None``.  Exceptions, where an absent array means the same
  as an empty one and iterating is what the code does, default to ``[]``:
  ``Action.actionParameters``, ``Error.errorReferences``, ``Info.infoReferences`` and
  ``State.information``.  ``State.loads`` deliberately stays ``None`` when absent: the
  standard says an absent array means "load state unknown" whereas ``[]`` means "unloaded".
  ``State.maps`` stays ``None`` ("robot does not report maps").  Those four therefore
  appear as ``[]`` when a decoded message is dumped again (still schema-valid).
* Enumerations the controller's logic or safety depends on are STRICT (an unknown value
  rejects the message with a field path): ``blockingType``, ``actionStatus`` (including
  the document's ``PAUSED``, missing from the 2.1.0 schema), ``connectionState``,
  ``errorLevel``, ``eStop``, ``operatingMode`` and ``corridorRefPoint`` (we send it).
* Enumerations that are descriptive are TOLERANT: an unknown value is kept as a plain
  ``str`` instead of an enum member: ``infoLevel`` (information must not drive logic),
  ``mapStatus``, ``orientationType`` (no enum in the schema) and every factsheet
  enumeration (kinematic, class, localization/navigation types, support, action scopes,
  blocking types, value data types, wheel types).
* Scalars are strict: a boolean must be a JSON boolean, an integer a JSON integer, a
  number a JSON number (integers are accepted and become floats).  NaN and infinity are
  rejected (section 6.1.4).  Ranges stated by the schema or document are enforced.
  Only ``trajectory.degree`` is lax (``2.0`` is read as ``2``: the document says float64,
  the schema integer).  ``timestamp`` is kept as the received string; consumers that need
  the time use :func:`drivers.vda5050.codec.parse_timestamp`.

Where the 2.1.0 document and schema differ, the document wins (see ``SOURCE.md``):
header fields are required on every topic, including factsheet and visualization;
``physicalParameters.heightMin`` is required and ``angularSpeedMin``/``angularSpeedMax``
exist; ``nodePosition.allowedDeviationTheta`` is within [0, pi];
``envelopes3d[].description`` is a string (the schema says integer, so an integer is
accepted too).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, StrictInt, StrictStr

UINT32_MAX = 2**32 - 1

# Type aliases shared by all models.  Strict scalars: JSON types are part of the contract.
Float = Annotated[float, Field(strict=True)]
UInt32 = Annotated[StrictInt, Field(ge=0, le=UINT32_MAX)]
Angle = Annotated[float, Field(strict=True, ge=-math.pi, le=math.pi)]  # rad, [-pi, pi]
NonNegative = Annotated[float, Field(strict=True, ge=0.0)]

# Tolerant enumerations: try the enum first, fall back to the raw string.
_TOLERANT = Field(union_mode="left_to_right")


class _Wire(BaseModel):
    """Base of every wire model: immutable, unknown fields kept, no NaN/inf."""

    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)


# --------------------------------------------------------------------------- enums


class BlockingType(StrEnum):
    NONE = "NONE"
    SOFT = "SOFT"
    HARD = "HARD"


class ConnectionState(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    CONNECTIONBROKEN = "CONNECTIONBROKEN"


class ActionStatus(StrEnum):
    WAITING = "WAITING"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"  # in the document (6.11), missing from the 2.1.0 schema
    FINISHED = "FINISHED"
    FAILED = "FAILED"


class ErrorLevel(StrEnum):
    WARNING = "WARNING"
    FATAL = "FATAL"


class InfoLevel(StrEnum):
    INFO = "INFO"
    DEBUG = "DEBUG"


class EStop(StrEnum):
    AUTOACK = "AUTOACK"
    MANUAL = "MANUAL"
    REMOTE = "REMOTE"
    NONE = "NONE"


class OperatingMode(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    SEMIAUTOMATIC = "SEMIAUTOMATIC"
    MANUAL = "MANUAL"
    SERVICE = "SERVICE"
    TEACHIN = "TEACHIN"


class MapStatus(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class CorridorRefPoint(StrEnum):
    KINEMATICCENTER = "KINEMATICCENTER"
    CONTOUR = "CONTOUR"


class OrientationType(StrEnum):
    GLOBAL = "GLOBAL"
    TANGENTIAL = "TANGENTIAL"


class AgvKinematic(StrEnum):
    DIFF = "DIFF"
    OMNI = "OMNI"
    THREEWHEEL = "THREEWHEEL"


class AgvClass(StrEnum):
    FORKLIFT = "FORKLIFT"
    CONVEYOR = "CONVEYOR"
    TUGGER = "TUGGER"
    CARRIER = "CARRIER"


class LocalizationType(StrEnum):
    NATURAL = "NATURAL"
    REFLECTOR = "REFLECTOR"
    RFID = "RFID"
    DMC = "DMC"
    SPOT = "SPOT"
    GRID = "GRID"


class NavigationType(StrEnum):
    PHYSICAL_LINE_GUIDED = "PHYSICAL_LINE_GUIDED"
    VIRTUAL_LINE_GUIDED = "VIRTUAL_LINE_GUIDED"
    AUTONOMOUS = "AUTONOMOUS"


class SupportType(StrEnum):
    SUPPORTED = "SUPPORTED"
    REQUIRED = "REQUIRED"


class ActionScope(StrEnum):
    INSTANT = "INSTANT"
    NODE = "NODE"
    EDGE = "EDGE"


class ValueDataType(StrEnum):
    BOOL = "BOOL"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    FLOAT = "FLOAT"
    STRING = "STRING"
    OBJECT = "OBJECT"
    ARRAY = "ARRAY"


class WheelType(StrEnum):
    DRIVE = "DRIVE"
    CASTER = "CASTER"
    FIXED = "FIXED"
    MECANUM = "MECANUM"


# --------------------------------------------------------------------------- header


class Header(_Wire):
    """The protocol header (section 6.4), flattened into every message."""

    headerId: UInt32
    """Per topic, incremented by 1 for each sent message (uint32)."""
    timestamp: StrictStr
    """ISO 8601 UTC, sent as ``YYYY-MM-DDTHH:mm:ss.ffZ`` (see codec.format_timestamp)."""
    version: StrictStr
    """Protocol version ``[Major].[Minor].[Patch]``."""
    manufacturer: StrictStr
    serialNumber: StrictStr


class VdaMessage(Header):
    """Base class of every topic message (they all carry the header)."""


# --------------------------------------------------------------------------- actions

ActionParameterValue = (
    StrictBool | StrictInt | Float | StrictStr | list[JsonValue] | dict[str, JsonValue]
)


class ActionParameter(_Wire):
    key: StrictStr
    value: ActionParameterValue
    """Any JSON value except null (array, boolean, number, string, object)."""


class Action(_Wire):
    actionType: StrictStr
    actionId: StrictStr
    blockingType: BlockingType
    actionDescription: StrictStr | None = None
    actionParameters: list[ActionParameter] = Field(default_factory=list)
    """Optional in the standard; absent is read as ``[]``."""


# --------------------------------------------------------------------------- order


class NodePosition(_Wire):
    x: Float
    """m, map coordinates."""
    y: Float
    """m, map coordinates."""
    mapId: StrictStr
    theta: Angle | None = None
    """rad, [-pi, pi]."""
    allowedDeviationXY: NonNegative | None = None
    """m; 0 means the vehicle's normal tolerance."""
    allowedDeviationTheta: Annotated[float, Field(strict=True, ge=0.0, le=math.pi)] | None = None
    """rad, [0, pi] per the document (the schema allows down to -pi)."""
    mapDescription: StrictStr | None = None


class Node(_Wire):
    nodeId: StrictStr
    sequenceId: UInt32
    released: StrictBool
    actions: list[Action]
    nodeDescription: StrictStr | None = None
    nodePosition: NodePosition | None = None


class ControlPoint(_Wire):
    x: Float
    y: Float
    weight: NonNegative | None = None
    """Defaults to 1.0 on the vehicle when absent."""


class Trajectory(_Wire):
    """NURBS; ``len(knotVector) == len(controlPoints) + degree + 1``."""

    degree: Annotated[int, Field(ge=1)]
    knotVector: list[Annotated[float, Field(strict=True, ge=0.0, le=1.0)]]
    controlPoints: list[ControlPoint]


class Corridor(_Wire):
    leftWidth: NonNegative
    """m, to the left of the trajectory."""
    rightWidth: NonNegative
    """m, to the right of the trajectory."""
    corridorRefPoint: CorridorRefPoint | None = None


class Edge(_Wire):
    edgeId: StrictStr
    sequenceId: UInt32
    released: StrictBool
    startNodeId: StrictStr
    endNodeId: StrictStr
    actions: list[Action]
    edgeDescription: StrictStr | None = None
    maxSpeed: Float | None = None
    """m/s."""
    maxHeight: Float | None = None
    """m, vehicle including load."""
    minHeight: Float | None = None
    """m, load handling device."""
    orientation: Angle | None = None
    """rad, [-pi, pi]."""
    orientationType: Annotated[OrientationType | str, _TOLERANT] | None = None
    direction: StrictStr | None = None
    rotationAllowed: StrictBool | None = None
    maxRotationSpeed: Float | None = None
    """rad/s."""
    length: Float | None = None
    """m, start node to end node."""
    trajectory: Trajectory | None = None
    corridor: Corridor | None = None


class Order(VdaMessage):
    orderId: StrictStr
    orderUpdateId: UInt32
    nodes: list[Node]
    edges: list[Edge]
    zoneSetId: StrictStr | None = None


class InstantActions(VdaMessage):
    actions: list[Action]


# --------------------------------------------------------------------------- connection


class Connection(VdaMessage):
    connectionState: ConnectionState


# --------------------------------------------------------------------------- state


class Map(_Wire):
    mapId: StrictStr
    mapVersion: StrictStr
    mapStatus: Annotated[MapStatus | str, _TOLERANT]
    mapDescription: StrictStr | None = None


MapState = Map
"""Alias: the schema titles the ``maps`` entries ``map``."""


class NodeState(_Wire):
    nodeId: StrictStr
    sequenceId: UInt32
    released: StrictBool
    nodeDescription: StrictStr | None = None
    nodePosition: NodePosition | None = None


class EdgeState(_Wire):
    edgeId: StrictStr
    sequenceId: UInt32
    released: StrictBool
    edgeDescription: StrictStr | None = None
    trajectory: Trajectory | None = None


class AgvPosition(_Wire):
    x: Float
    """m."""
    y: Float
    """m."""
    theta: Angle
    """rad, [-pi, pi] per the document."""
    mapId: StrictStr
    positionInitialized: StrictBool
    mapDescription: StrictStr | None = None
    localizationScore: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] | None = None
    deviationRange: Float | None = None
    """m."""


class Velocity(_Wire):
    vx: Float | None = None
    """m/s, vehicle frame."""
    vy: Float | None = None
    """m/s, vehicle frame."""
    omega: Float | None = None
    """rad/s."""


class BoundingBoxReference(_Wire):
    x: Float
    y: Float
    z: Float
    theta: Float | None = None


class LoadDimensions(_Wire):
    length: Float
    """m."""
    width: Float
    """m."""
    height: Float | None = None
    """m."""


class Load(_Wire):
    loadId: StrictStr | None = None
    loadType: StrictStr | None = None
    loadPosition: StrictStr | None = None
    boundingBoxReference: BoundingBoxReference | None = None
    loadDimensions: LoadDimensions | None = None
    weight: NonNegative | None = None
    """kg."""


class ActionState(_Wire):
    actionId: StrictStr
    actionStatus: ActionStatus
    actionType: StrictStr | None = None
    actionDescription: StrictStr | None = None
    resultDescription: StrictStr | None = None


class BatteryState(_Wire):
    batteryCharge: Float
    """State of charge in %."""
    charging: StrictBool
    batteryVoltage: Float | None = None
    """V."""
    batteryHealth: Annotated[float, Field(strict=True, ge=0.0, le=100.0)] | None = None
    """State of health in %."""
    reach: NonNegative | None = None
    """m, estimated with the current charge."""


class ErrorReference(_Wire):
    referenceKey: StrictStr
    referenceValue: StrictStr


class Error(_Wire):
    errorType: StrictStr
    errorLevel: ErrorLevel
    errorReferences: list[ErrorReference] = Field(default_factory=list)
    """Optional in the standard; absent is read as ``[]``."""
    errorDescription: StrictStr | None = None
    errorHint: StrictStr | None = None


class InfoReference(_Wire):
    referenceKey: StrictStr
    referenceValue: StrictStr


class Info(_Wire):
    infoType: StrictStr
    infoLevel: Annotated[InfoLevel | str, _TOLERANT]
    infoReferences: list[InfoReference] = Field(default_factory=list)
    """Optional in the standard; absent is read as ``[]``."""
    infoDescription: StrictStr | None = None


class SafetyState(_Wire):
    eStop: EStop
    fieldViolation: StrictBool


class State(VdaMessage):
    orderId: StrictStr
    """Current or last order; ``""`` if none."""
    orderUpdateId: UInt32
    lastNodeId: StrictStr
    """``""`` if none."""
    lastNodeSequenceId: UInt32
    driving: StrictBool
    operatingMode: OperatingMode
    nodeStates: list[NodeState]
    edgeStates: list[EdgeState]
    actionStates: list[ActionState]
    batteryState: BatteryState
    errors: list[Error]
    safetyState: SafetyState
    zoneSetId: StrictStr | None = None
    paused: StrictBool | None = None
    newBaseRequest: StrictBool | None = None
    distanceSinceLastNode: Float | None = None
    """m, line-guided vehicles."""
    agvPosition: AgvPosition | None = None
    velocity: Velocity | None = None
    loads: list[Load] | None = None
    """``None``: load state unknown; ``[]``: unloaded (the difference matters)."""
    information: list[Info] = Field(default_factory=list)
    """Optional in the standard; absent is read as ``[]``.  Not for logic."""
    maps: list[Map] | None = None


# --------------------------------------------------------------------------- visualization


class Visualization(VdaMessage):
    agvPosition: AgvPosition | None = None
    velocity: Velocity | None = None


# --------------------------------------------------------------------------- factsheet


class TypeSpecification(_Wire):
    seriesName: StrictStr
    agvKinematic: Annotated[AgvKinematic | str, _TOLERANT]
    agvClass: Annotated[AgvClass | str, _TOLERANT]
    maxLoadMass: NonNegative
    """kg."""
    localizationTypes: list[Annotated[LocalizationType | str, _TOLERANT]]
    navigationTypes: list[Annotated[NavigationType | str, _TOLERANT]]
    """Sorted by priority."""
    seriesDescription: StrictStr | None = None


class PhysicalParameters(_Wire):
    speedMin: Float
    """m/s."""
    speedMax: Float
    """m/s."""
    accelerationMax: Float
    """m/s²."""
    decelerationMax: Float
    """m/s²."""
    heightMin: Float
    """m; required by the document (optional in the schema)."""
    heightMax: Float
    """m."""
    width: Float
    """m."""
    length: Float
    """m."""
    angularSpeedMin: Float | None = None
    """rad/s; in the document, not in the schema."""
    angularSpeedMax: Float | None = None
    """rad/s; in the document, not in the schema."""


class MaxStringLens(_Wire):
    msgLen: UInt32 | None = None
    topicSerialLen: UInt32 | None = None
    topicElemLen: UInt32 | None = None
    idLen: UInt32 | None = None
    idNumericalOnly: StrictBool | None = None
    enumLen: UInt32 | None = None
    loadIdLen: UInt32 | None = None


class MaxArrayLens(_Wire):
    """JSON keys contain dots, so this model alone uses aliases (always by alias on the wire)."""

    model_config = ConfigDict(
        frozen=True,
        extra="allow",
        allow_inf_nan=False,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )

    order_nodes: UInt32 | None = Field(default=None, alias="order.nodes")
    order_edges: UInt32 | None = Field(default=None, alias="order.edges")
    node_actions: UInt32 | None = Field(default=None, alias="node.actions")
    edge_actions: UInt32 | None = Field(default=None, alias="edge.actions")
    actions_actionsParameters: UInt32 | None = Field(
        default=None, alias="actions.actionsParameters"
    )
    instantActions: UInt32 | None = Field(default=None, alias="instantActions")
    trajectory_knotVector: UInt32 | None = Field(default=None, alias="trajectory.knotVector")
    trajectory_controlPoints: UInt32 | None = Field(default=None, alias="trajectory.controlPoints")
    state_nodeStates: UInt32 | None = Field(default=None, alias="state.nodeStates")
    state_edgeStates: UInt32 | None = Field(default=None, alias="state.edgeStates")
    state_loads: UInt32 | None = Field(default=None, alias="state.loads")
    state_actionStates: UInt32 | None = Field(default=None, alias="state.actionStates")
    state_errors: UInt32 | None = Field(default=None, alias="state.errors")
    state_information: UInt32 | None = Field(default=None, alias="state.information")
    error_errorReferences: UInt32 | None = Field(default=None, alias="error.errorReferences")
    information_infoReferences: UInt32 | None = Field(
        default=None, alias="information.infoReferences"
    )


class Timing(_Wire):
    minOrderInterval: Float
    """s."""
    minStateInterval: Float
    """s."""
    defaultStateInterval: Float | None = None
    """s."""
    visualizationInterval: Float | None = None
    """s."""


class ProtocolLimits(_Wire):
    maxStringLens: MaxStringLens
    maxArrayLens: MaxArrayLens
    timing: Timing


class OptionalParameter(_Wire):
    parameter: StrictStr
    """Full name, e.g. ``order.nodes.nodePosition.allowedDeviationTheta``."""
    support: Annotated[SupportType | str, _TOLERANT]
    description: StrictStr | None = None


class ActionParameterSpec(_Wire):
    """A factsheet ``agvActions[].actionParameters`` entry (not the order's ActionParameter)."""

    key: StrictStr
    valueDataType: Annotated[ValueDataType | str, _TOLERANT]
    description: StrictStr | None = None
    isOptional: StrictBool | None = None


class AgvAction(_Wire):
    actionType: StrictStr
    actionScopes: list[Annotated[ActionScope | str, _TOLERANT]]
    actionDescription: StrictStr | None = None
    actionParameters: list[ActionParameterSpec] | None = None
    resultDescription: StrictStr | None = None
    blockingTypes: list[Annotated[BlockingType | str, _TOLERANT]] | None = None
    """Note: the 2.1.0 schema puts an ``enum`` on this array, so no instance carrying it
    validates against the schema; the document (array of enum) wins."""


class ProtocolFeatures(_Wire):
    optionalParameters: list[OptionalParameter]
    agvActions: list[AgvAction]


class WheelPosition(_Wire):
    x: Float
    """m, vehicle frame."""
    y: Float
    """m, vehicle frame."""
    theta: Float | None = None
    """rad."""


class WheelDefinition(_Wire):
    type: Annotated[WheelType | str, _TOLERANT]
    isActiveDriven: StrictBool
    isActiveSteered: StrictBool
    position: WheelPosition
    diameter: Float
    """m."""
    width: Float
    """m."""
    centerDisplacement: Float | None = None
    """m; 0 when absent."""
    constraints: StrictStr | None = None


class PolygonPoint(_Wire):
    x: Float
    """m."""
    y: Float
    """m."""


class Envelope2d(_Wire):
    set: StrictStr
    polygonPoints: list[PolygonPoint]
    description: StrictStr | None = None


class Envelope3d(_Wire):
    set: StrictStr
    format: StrictStr
    data: dict[str, JsonValue] | None = None
    url: StrictStr | None = None
    description: StrictStr | StrictInt | None = None
    """A string per the document; the schema says integer, so both are accepted."""


class AgvGeometry(_Wire):
    wheelDefinitions: list[WheelDefinition] | None = None
    envelopes2d: list[Envelope2d] | None = None
    envelopes3d: list[Envelope3d] | None = None


class LoadSet(_Wire):
    setName: StrictStr
    loadType: StrictStr
    loadPositions: list[StrictStr] | None = None
    boundingBoxReference: BoundingBoxReference | None = None
    loadDimensions: LoadDimensions | None = None
    maxWeight: Float | None = None
    """kg."""
    minLoadhandlingHeight: Float | None = None
    """m."""
    maxLoadhandlingHeight: Float | None = None
    """m."""
    minLoadhandlingDepth: Float | None = None
    """m."""
    maxLoadhandlingDepth: Float | None = None
    """m."""
    minLoadhandlingTilt: Float | None = None
    """rad."""
    maxLoadhandlingTilt: Float | None = None
    """rad."""
    agvSpeedLimit: Float | None = None
    """m/s."""
    agvAccelerationLimit: Float | None = None
    """m/s²."""
    agvDecelerationLimit: Float | None = None
    """m/s²."""
    pickTime: Float | None = None
    """s."""
    dropTime: Float | None = None
    """s."""
    description: StrictStr | None = None


class LoadSpecification(_Wire):
    loadPositions: list[StrictStr] | None = None
    """Absent or empty: the vehicle has no load handling device."""
    loadSets: list[LoadSet] | None = None


class VersionInfo(_Wire):
    key: StrictStr
    value: StrictStr


class Network(_Wire):
    dnsServers: list[StrictStr] | None = None
    ntpServers: list[StrictStr] | None = None
    localIpAddress: StrictStr | None = None
    netmask: StrictStr | None = None
    defaultGateway: StrictStr | None = None


class VehicleConfig(_Wire):
    versions: list[VersionInfo] | None = None
    network: Network | None = None


class Factsheet(VdaMessage):
    typeSpecification: TypeSpecification
    physicalParameters: PhysicalParameters
    protocolLimits: ProtocolLimits
    protocolFeatures: ProtocolFeatures
    agvGeometry: AgvGeometry
    loadSpecification: LoadSpecification
    vehicleConfig: VehicleConfig | None = None


__all__ = [
    "UINT32_MAX",
    "Action",
    "ActionParameter",
    "ActionParameterSpec",
    "ActionParameterValue",
    "ActionScope",
    "ActionState",
    "ActionStatus",
    "AgvAction",
    "AgvClass",
    "AgvGeometry",
    "AgvKinematic",
    "AgvPosition",
    "BatteryState",
    "BlockingType",
    "BoundingBoxReference",
    "Connection",
    "ConnectionState",
    "ControlPoint",
    "Corridor",
    "CorridorRefPoint",
    "EStop",
    "Edge",
    "EdgeState",
    "Envelope2d",
    "Envelope3d",
    "Error",
    "ErrorLevel",
    "ErrorReference",
    "Factsheet",
    "Header",
    "Info",
    "InfoLevel",
    "InfoReference",
    "InstantActions",
    "Load",
    "LoadDimensions",
    "LoadSet",
    "LoadSpecification",
    "LocalizationType",
    "Map",
    "MapState",
    "MapStatus",
    "MaxArrayLens",
    "MaxStringLens",
    "NavigationType",
    "Network",
    "Node",
    "NodePosition",
    "NodeState",
    "OperatingMode",
    "OptionalParameter",
    "Order",
    "OrientationType",
    "PhysicalParameters",
    "PolygonPoint",
    "ProtocolFeatures",
    "ProtocolLimits",
    "SafetyState",
    "State",
    "SupportType",
    "Timing",
    "Trajectory",
    "TypeSpecification",
    "ValueDataType",
    "VdaMessage",
    "VehicleConfig",
    "Velocity",
    "VersionInfo",
    "Visualization",
    "WheelDefinition",
    "WheelPosition",
    "WheelType",
]

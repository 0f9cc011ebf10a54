"""What a simulated robot is: its spec, and the catalogue of actions it can perform.

The catalogue is the single source for three things that must agree: what the factsheet
announces (``protocolFeatures.agvActions``), what an order may ask for (anything else is
an ``orderError``), and how long an action runs by default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drivers.vda5050.messages import ActionScope, BlockingType, ValueDataType

CONTROL_INSTANT_ACTIONS: tuple[str, ...] = (
    "startPause",
    "stopPause",
    "cancelOrder",
    "factsheetRequest",
    "stateRequest",
)
"""Instant actions about the robot's mode.  Always supported, whatever ``spec.actions``
says: a robot that cannot be paused or cancelled must never be built by accident."""

HAZARD_ACTIONS: tuple[str, ...] = (
    "measureGas",
    "thermalScan",
    "captureImage",
    "collectSample",
    "measureDoseRate",
    "atmosphericTest",
)

DEFAULT_ACTIONS: tuple[str, ...] = CONTROL_INSTANT_ACTIONS + HAZARD_ACTIONS

DEFAULT_ACTION_DURATIONS_S: Mapping[str, float] = MappingProxyType(
    {
        "measureGas": 5.0,
        "thermalScan": 4.0,
        "captureImage": 1.0,
        "collectSample": 8.0,
        "measureDoseRate": 3.0,
        "atmosphericTest": 9.0,
    }
)
"""Default running time in seconds per action type (``duration_s`` overrides it)."""

GENERIC_ACTION_DURATION_S = 2.0
"""Running time in seconds of an action type with no entry in ``action_durations_s``."""

_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]+")


@dataclass(frozen=True)
class SimRobotSpec:
    """One simulated robot.  Energies in Wh, powers in W, speeds in m/s, charge in %."""

    manufacturer: str
    serial: str
    start_node: str
    max_speed_m_s: float = 1.0
    battery_capacity_wh: float = 500.0
    drive_power_w: float = 150.0
    """drawn while driving, on top of idle_power_w"""
    idle_power_w: float = 20.0
    """always drawn"""
    action_power_w: float = 40.0
    """drawn on top while at least one action runs"""
    start_battery_pct: float = 100.0
    charge_pct_per_s: float = 0.05
    """charging rate on a charger node, in percent of ``battery_capacity_wh`` per second
    (0: it never charges); the default is :class:`missions.capabilities.BatteryModel`'s"""
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    """action types it can do (the control instant actions are always added)"""
    version: str = "2.1.0"
    """protocol version announced in every header"""
    action_durations_s: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_ACTION_DURATIONS_S, hash=False
    )
    """default running time in seconds per action type"""

    def __post_init__(self) -> None:
        for name in ("manufacturer", "serial"):
            value = getattr(self, name)
            if not isinstance(value, str) or _ID_RE.fullmatch(value) is None:
                raise ValueError(f"{name} {value!r} may contain only A-Z a-z 0-9 _ . : -")
        if not self.start_node:
            raise ValueError("start_node must not be empty")
        _require(self.max_speed_m_s > 0, f"max_speed_m_s must be > 0, got {self.max_speed_m_s}")
        _require(
            self.battery_capacity_wh > 0,
            f"battery_capacity_wh must be > 0, got {self.battery_capacity_wh}",
        )
        for name in ("drive_power_w", "idle_power_w", "action_power_w"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 0, f"{name} must be >= 0, got {value}")
        _require(
            0.0 <= self.start_battery_pct <= 100.0,
            f"start_battery_pct must be within 0..100, got {self.start_battery_pct}",
        )
        _require(
            math.isfinite(self.charge_pct_per_s) and 0.0 <= self.charge_pct_per_s <= 100.0,
            f"charge_pct_per_s must be within 0..100, got {self.charge_pct_per_s}",
        )
        for action_type, duration_s in self.action_durations_s.items():
            _require(
                math.isfinite(duration_s) and duration_s >= 0,
                f"action_durations_s[{action_type!r}] must be >= 0, got {duration_s}",
            )
        if any(not a for a in self.actions):
            raise ValueError("actions must not contain an empty action type")

    def duration_s(self, action_type: str) -> float:
        """Default running time of ``action_type`` in seconds."""
        return float(self.action_durations_s.get(action_type, GENERIC_ACTION_DURATION_S))


def _require(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class ParamDef:
    key: str
    data_type: ValueDataType
    description: str
    optional: bool = True


@dataclass(frozen=True)
class ActionDef:
    """One action type as the factsheet announces it and the robot checks orders."""

    action_type: str
    description: str
    scopes: tuple[ActionScope, ...]
    blocking_types: tuple[BlockingType, ...] = (
        BlockingType.NONE,
        BlockingType.SOFT,
        BlockingType.HARD,
    )
    params: tuple[ParamDef, ...] = ()
    result_description: str | None = None


DURATION_PARAM = "duration_s"
FAILURE_PARAM = "simulateFailure"
RADIUS_PARAM = "radius_m"

_COMMON_PARAMS = (
    ParamDef(DURATION_PARAM, ValueDataType.NUMBER, "running time in s (default per type)"),
    ParamDef(FAILURE_PARAM, ValueDataType.BOOL, "true: the action ends FAILED (for drills)"),
)
_ORDER_SCOPES = (ActionScope.INSTANT, ActionScope.NODE, ActionScope.EDGE)
_STILL = (BlockingType.SOFT, BlockingType.HARD)
_READINGS = (
    'JSON {"readings": {quantity: {"value": number|null, "unit": str, "status": str}}, '
    '"x_m": number, "y_m": number, "mapId": str}; status ok, warmup, over_range, dropout, '
    "fault or unavailable"
)

_CONTROL_DEFS = (
    ActionDef("startPause", "stop driving and pause running actions", (ActionScope.INSTANT,)),
    ActionDef("stopPause", "resume driving and paused actions", (ActionScope.INSTANT,)),
    ActionDef(
        "cancelOrder",
        "stop where it is, fail all unfinished actions and drop the order",
        (ActionScope.INSTANT,),
    ),
    ActionDef("factsheetRequest", "publish the factsheet again", (ActionScope.INSTANT,)),
    ActionDef("stateRequest", "publish a state message now", (ActionScope.INSTANT,)),
)

_HAZARD_DEFS = (
    ActionDef(
        "measureGas",
        "multi-gas reading of O2, LEL, H2S and CO at the robot's position",
        _ORDER_SCOPES,
        params=_COMMON_PARAMS,
        result_description=_READINGS + "; O2 in %vol, LEL in %LEL, H2S and CO in ppm",
    ),
    ActionDef(
        "thermalScan",
        "thermal camera sweep; reports the hottest point within radius_m",
        _ORDER_SCOPES,
        params=(*_COMMON_PARAMS, ParamDef(RADIUS_PARAM, ValueDataType.NUMBER, "m, default 2")),
        result_description=_READINGS
        + '; quantity temperatureMax in °C; "imageId": the thermal frame on the camera topic',
    ),
    ActionDef(
        "captureImage",
        "take a photograph (published on the camera topic, docs/protocol.md)",
        _ORDER_SCOPES,
        params=_COMMON_PARAMS,
        result_description='JSON {"imageId": str, "x_m", "y_m", "theta", "mapId"}',
    ),
    ActionDef(
        "collectSample",
        "take a physical sample with the arm (robot must stand still)",
        (ActionScope.INSTANT, ActionScope.NODE),
        blocking_types=_STILL,
        params=_COMMON_PARAMS,
        result_description='JSON {"sampleId": str, "x_m", "y_m", "mapId"}',
    ),
    ActionDef(
        "measureDoseRate",
        "gamma dose rate reading",
        _ORDER_SCOPES,
        params=_COMMON_PARAMS,
        result_description=_READINGS + "; quantity doseRate in µSv/h",
    ),
    ActionDef(
        "atmosphericTest",
        "confined-space entry test: O2 first, then LEL, then the toxic gases",
        (ActionScope.INSTANT, ActionScope.NODE),
        blocking_types=_STILL,
        params=_COMMON_PARAMS,
        result_description=_READINGS
        + "; readings in test order O2, LEL, H2S, CO, NH3, Cl2, SO2, NO2",
    ),
)

_KNOWN_DEFS: Mapping[str, ActionDef] = MappingProxyType(
    {d.action_type: d for d in (*_CONTROL_DEFS, *_HAZARD_DEFS)}
)


def action_catalogue(spec: SimRobotSpec) -> Mapping[str, ActionDef]:
    """Every action type ``spec`` supports, by type, in factsheet order.

    A type in ``spec.actions`` that the simulator has no model for becomes a generic
    action: it runs for its duration and finishes (a stand-in for e.g. ``pick`` in drills).
    """
    out: dict[str, ActionDef] = {a: _KNOWN_DEFS[a] for a in CONTROL_INSTANT_ACTIONS}
    for action_type in spec.actions:
        if action_type in out:
            continue
        known = _KNOWN_DEFS.get(action_type)
        out[action_type] = known or ActionDef(
            action_type,
            "generic simulated action: runs for its duration, then finishes",
            _ORDER_SCOPES,
            params=_COMMON_PARAMS,
            result_description='"done"',
        )
    return MappingProxyType(out)

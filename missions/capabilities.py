"""What a robot can do and what a mission needs: the inputs of allocation (issue 6).

* :class:`RobotCapabilities`: the action types a robot has (its factsheet's ``agvActions``
  plus what its configuration adds, e.g. a sensor the factsheet does not list), its
  hazardous-area rating, its top speed and its battery model.  Static: from the
  factsheet and the fleet configuration.
* :class:`RobotSnapshot`: a robot as it stands when a batch is allocated: its node,
  battery charge, and whether it is idle, busy (with which mission of which priority),
  charging or unavailable.
* :class:`MissionRequirements`: what a pending mission needs: its step nodes in order
  (the first is where it starts), the action types it runs, its estimated working time
  and its priority.  The zones its route crosses depend on the site, so
  :class:`missions.site_graph.SiteGraph` works them out (``route_zones``).

Ratings follow ATEX / IECEx area classification for gas atmospheres: a zone 1 area may
have an explosive atmosphere in normal operation, a zone 2 area only briefly and
abnormally.  Equipment certified for zone 1 (category 2G) may also work in zone 2;
equipment certified for zone 2 (category 3G) only in zone 2; unrated equipment in
neither.  Zone 0 (category 1G) is not offered: no mobile robot in the fleet is built for
it, so a site should draw such a space as ``no_go``.

Validation is strict (pydantic, ``extra="forbid"``, frozen): a bad value raises a
``ValidationError`` whose location names the field (``battery_pct``,
``battery.reserve_pct``, ``actions.0``).  Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from missions.mission import MissionSpec
from missions.model import Priority

ID_PATTERN = r"^[A-Za-z0-9_.:/\-]+$"
"""robot keys are ``manufacturer/serial`` (:attr:`missions.fleet.RobotRef.key`)"""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HazardRating(StrEnum):
    """A robot's hazardous-area certification (ATEX / IECEx, gas)."""

    NONE = "none"
    ZONE_2 = "zone_2"
    """category 3G: zone 2 areas only"""
    ZONE_1 = "zone_1"
    """category 2G: zone 1 and zone 2 areas"""

    @property
    def level(self) -> int:
        """0 none, 1 zone 2, 2 zone 1: a robot may enter an area whose level is at most
        its own (:attr:`AreaClass.level`)."""
        return _RATING_LEVEL[self]

    def covers(self, area: AreaClass) -> bool:
        return area.level <= self.level


class AreaClass(StrEnum):
    """The classification of a hazardous area drawn on the site."""

    ZONE_2 = "zone_2"
    ZONE_1 = "zone_1"

    @property
    def level(self) -> int:
        """1 zone 2, 2 zone 1 (the rating level needed to enter)"""
        return _AREA_LEVEL[self]

    @property
    def label(self) -> str:
        """``zone-1`` / ``zone-2``, as in messages to the safety officer"""
        return self.value.replace("_", "-")


_RATING_LEVEL = {HazardRating.NONE: 0, HazardRating.ZONE_2: 1, HazardRating.ZONE_1: 2}
_AREA_LEVEL = {AreaClass.ZONE_2: 1, AreaClass.ZONE_1: 2}
RATINGS_BY_LEVEL: tuple[HazardRating, ...] = (
    HazardRating.NONE,
    HazardRating.ZONE_2,
    HazardRating.ZONE_1,
)
"""index = :attr:`HazardRating.level`"""

PRIORITY_ORDER: tuple[Priority, ...] = (Priority.EMERGENCY, Priority.URGENT, Priority.ROUTINE)
"""most pressing first; ``urgent`` is the issue's "high"."""


class BatteryModel(_Strict):
    """How a robot spends and regains charge, in percent of a full battery.

    Energy for a trip: ``drive_pct_per_m`` per metre driven plus ``base_pct_per_s`` per
    second powered (driving or working: sensors, computer, actuators).  The defaults are
    those of a mid-size inspection robot: 0.05 %/m (2 km on a charge), 0.01 %/s (under 3 h
    standing), 0.05 %/s charging (about 35 min from empty).
    """

    drive_pct_per_m: float = Field(default=0.05, ge=0, le=100)
    base_pct_per_s: float = Field(default=0.01, ge=0, le=100)
    charge_pct_per_s: float = Field(default=0.05, gt=0, le=100)
    reserve_pct: float = Field(default=10.0, ge=0, lt=100)
    """charge that must be left on arrival at the nearest charger after the mission"""
    charge_below_pct: float = Field(default=25.0, ge=0, le=100)
    """an idle robot below this goes to a charger (:func:`missions.allocation.allocate`)"""
    charge_to_pct: float = Field(default=90.0, gt=0, le=100)
    """charging is planned up to this level"""

    @model_validator(mode="after")
    def _check_levels(self) -> Self:
        if self.charge_to_pct <= self.charge_below_pct:
            raise ValueError(
                f"charge_to_pct: {self.charge_to_pct} must be above charge_below_pct "
                f"{self.charge_below_pct}"
            )
        if self.reserve_pct >= self.charge_to_pct:
            raise ValueError(
                f"reserve_pct: {self.reserve_pct} must be below charge_to_pct {self.charge_to_pct}"
            )
        return self


def _check_action_types(values: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for value in values:
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            raise ValueError(f"action type {value!r} must be a non-empty string without spaces")
        out.add(value)
    return frozenset(out)


class RobotConfig(_Strict):
    """What the fleet configuration says about a robot beyond its factsheet."""

    rating: HazardRating = HazardRating.NONE
    battery: BatteryModel = Field(default_factory=BatteryModel)
    extra_actions: frozenset[str] = frozenset()
    """action types the robot supports that its factsheet does not list"""
    speed_limit_m_s: float | None = Field(default=None, gt=0, le=20)
    """site speed limit for this robot, below the factsheet's ``speedMax``"""

    @field_validator("extra_actions", mode="before")
    @classmethod
    def _actions(cls, value: object) -> object:
        if isinstance(value, (list, tuple, set, frozenset)):
            return _check_action_types(value)
        return value


class RobotCapabilities(_Strict):
    """A robot's static capabilities (see the module docstring)."""

    key: str = Field(min_length=1, pattern=ID_PATTERN)
    """``manufacturer/serial``"""
    actions: frozenset[str]
    """VDA 5050 action types it can run (``measureGas``, ``measureDoseRate``, ...)"""
    rating: HazardRating = HazardRating.NONE
    max_speed_m_s: float = Field(gt=0, le=20)
    """travel speed used for planning (m/s)"""
    battery: BatteryModel = Field(default_factory=BatteryModel)

    @field_validator("actions", mode="before")
    @classmethod
    def _actions(cls, value: object) -> object:
        if isinstance(value, (list, tuple, set, frozenset)):
            return _check_action_types(value)
        return value

    @classmethod
    def from_factsheet(
        cls,
        key: str,
        action_types: Iterable[str],
        speed_max_m_s: float,
        config: RobotConfig | None = None,
    ) -> RobotCapabilities:
        """Capabilities from a factsheet's ``protocolFeatures.agvActions[].actionType`` and
        ``physicalParameters.speedMax`` (m/s), completed by the fleet configuration (the
        controller reads those two fields off the wire model; the domain imports no wire
        code)."""
        cfg = config if config is not None else RobotConfig()
        speed = speed_max_m_s
        if cfg.speed_limit_m_s is not None:
            speed = min(speed, cfg.speed_limit_m_s)
        return cls(
            key=key,
            actions=frozenset(action_types) | cfg.extra_actions,
            rating=cfg.rating,
            max_speed_m_s=speed,
            battery=cfg.battery,
        )


class RobotStatus(StrEnum):
    IDLE = "idle"
    """free for a new mission"""
    BUSY = "busy"
    """running ``mission``; only an emergency may displace it, and only a routine one"""
    CHARGING = "charging"
    """on a charger; offered to emergency missions only"""
    TO_CHARGER = "to_charger"
    """driving to a charger on the dispatcher's orders: never assigned, but back in the
    pool once charged (a mission only it could do waits for it)"""
    UNAVAILABLE = "unavailable"
    """lost, paused, faulted or in manual mode: never assigned"""


class RobotSnapshot(_Strict):
    """A robot as the allocator sees it at the start of a batch."""

    capabilities: RobotCapabilities
    node: str = Field(min_length=1)
    """the node it stands on (or the next node of its order when between nodes)"""
    battery_pct: float = Field(ge=0, le=100)
    status: RobotStatus = RobotStatus.IDLE
    mission: str | None = None
    """id of the mission it runs (``status`` busy)"""
    mission_priority: Priority | None = None

    @model_validator(mode="after")
    def _check_mission(self) -> Self:
        busy = self.status is RobotStatus.BUSY
        if busy and (self.mission is None or self.mission_priority is None):
            raise ValueError("mission: a busy robot needs mission and mission_priority")
        if not busy and (self.mission is not None or self.mission_priority is not None):
            raise ValueError(f"mission: a robot that is {self.status.value} runs no mission")
        return self

    @property
    def key(self) -> str:
        return self.capabilities.key


DEFAULT_ACTION_S = 10.0
"""working time assumed for an action whose parameters give no ``duration_s``"""


class MissionRequirements(_Strict):
    """What a pending mission needs from a robot."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    nodes: tuple[str, ...] = Field(min_length=1)
    """step nodes in order; the first is where the robot must go to start"""
    actions: frozenset[str] = frozenset()
    """action types the robot must have"""
    task_duration_s: float = Field(ge=0, le=7 * 24 * 3600)
    """estimated working time at the steps (actions), driving excluded (s)"""
    priority: Priority = Priority.ROUTINE

    @field_validator("actions", mode="before")
    @classmethod
    def _actions(cls, value: object) -> object:
        if isinstance(value, (list, tuple, set, frozenset)):
            return _check_action_types(value)
        return value

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, node in enumerate(value):
            if not node:
                raise ValueError(f"node {i} is empty")
        return value

    @property
    def start(self) -> str:
        return self.nodes[0]

    @property
    def end(self) -> str:
        return self.nodes[-1]

    @classmethod
    def from_spec(
        cls,
        spec: MissionSpec,
        priority: Priority = Priority.ROUTINE,
        *,
        task_duration_s: float | None = None,
        action_s: Mapping[str, float] | None = None,
    ) -> MissionRequirements:
        """Requirements of an executable mission: its step nodes, its action types and,
        unless given, its working time estimated by :func:`estimate_task_duration_s`."""
        duration = (
            task_duration_s
            if task_duration_s is not None
            else estimate_task_duration_s(spec, action_s)
        )
        return cls(
            id=spec.id,
            nodes=tuple(step.node for step in spec.steps),
            actions=frozenset(a.type for step in spec.steps for a in step.actions),
            task_duration_s=duration,
            priority=priority,
        )


def estimate_task_duration_s(
    spec: MissionSpec, action_s: Mapping[str, float] | None = None
) -> float:
    """Working time of ``spec`` in seconds: each action's ``duration_s`` parameter when it
    has one (the templates set it for measurements and scans), otherwise ``action_s`` for
    its type, otherwise :data:`DEFAULT_ACTION_S`.  Driving is not included."""
    per_type = action_s or {}
    total = 0.0
    for step in spec.steps:
        for act in step.actions:
            value = act.params.get("duration_s")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                total += float(value)
            else:
                total += per_type.get(act.type, DEFAULT_ACTION_S)
    return total

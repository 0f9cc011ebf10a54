"""Drill scenarios: a site, a fleet of simulated robots, missions on a timeline, and the
criteria that decide whether the drill passed.  Loaded from ``config/drills/*.yaml``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from drivers.config_file import load_model
from missions.alarms import CHANNEL_UNITS
from missions.capabilities import AreaClass, BatteryModel, HazardRating, RobotConfig
from missions.fleet import SERIAL_PATTERN
from missions.fleet_settings import FleetPlanSettings
from missions.mission import MissionOutcome, MissionSpec
from missions.site import SiteMap
from simulator.faults import FaultEntry, check_faults, fault_list_error
from simulator.hazards import HazardEntry, WorldConfig, check_world, hazard_list_error
from simulator.occupancy import OccupancyMap


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExposureRating(_Strict):
    """What a robot is built to work in (its datasheet); the drill's KPI
    ``exposure_vs_rating`` compares what it met with this."""

    dose_rate_usv_h: float | None = Field(default=None, gt=0)
    """highest dose rate its electronics are rated for"""
    dose_usv: float | None = Field(default=None, gt=0)
    """total dose it may take in one drill"""
    max_readings: dict[str, float] = Field(default_factory=dict)
    """sensor-stream channel -> highest reading it is rated to work in (e.g. ``LEL: 10``
    for a robot without an ATEX rating, ``Cl2: 5`` for unprotected electronics)"""

    @field_validator("max_readings")
    @classmethod
    def _known_channels(cls, readings: dict[str, float]) -> dict[str, float]:
        for name in readings:
            if name not in CHANNEL_UNITS:  # a typo would never be checked
                raise ValueError(f"{name}: unknown channel (known: {', '.join(CHANNEL_UNITS)})")
        return readings


DEFAULT_CHARGE_PCT_PER_S = 0.05
"""a simulated robot's charging rate when neither it nor its battery model says"""


class RobotEntry(_Strict):
    serial: str = Field(min_length=1, pattern=SERIAL_PATTERN)
    manufacturer: str = Field(default="hazfleet-sim", min_length=1, pattern=SERIAL_PATTERN)
    start_node: str
    max_speed_m_s: float = Field(default=1.0, gt=0, le=10)
    battery_capacity_wh: float = Field(default=500.0, gt=0)
    start_battery_pct: float = Field(default=100.0, ge=0, le=100)
    charge_pct_per_s: float | None = Field(default=None, ge=0, le=100)
    """charging rate on a node of a ``charging`` zone, % of capacity per second (0: never
    charges).  What the simulated robot does; ``battery_model.charge_pct_per_s`` is what
    the controller plans with.  None: the planned rate when a ``battery_model`` is given
    (so plan and robot agree), else 0.05"""
    version: str = Field(default="2.1.0", pattern=r"^2\.[01]\.\d+$")
    actions: list[str] | None = None
    """action types it can do; None gives the simulator's full default set"""
    rating: ExposureRating | None = None
    """what it is built to withstand; None: no rating (the KPI skips it)"""
    area_rating: HazardRating | None = None
    """its ATEX/IECEx hazardous-area certification, for the controller's allocator;
    None (and no ``battery_model``): the controller knows nothing beyond its factsheet"""
    battery_model: BatteryModel | None = None
    """how the allocator plans its charge (docs/allocation.md)"""

    @property
    def sim_charge_pct_per_s(self) -> float:
        """The simulated robot's charging rate (see ``charge_pct_per_s``)."""
        if self.charge_pct_per_s is not None:
            return self.charge_pct_per_s
        if self.battery_model is not None:
            return self.battery_model.charge_pct_per_s
        return DEFAULT_CHARGE_PCT_PER_S

    def robot_config(self) -> RobotConfig | None:
        if self.area_rating is None and self.battery_model is None:
            return None
        return RobotConfig(
            rating=self.area_rating or HazardRating.NONE,
            battery=self.battery_model or BatteryModel(),
        )


class ScheduledMission(MissionSpec):
    at_s: float = Field(default=0.0, ge=0)
    """simulated seconds after the drill starts at which the mission is submitted"""
    expect: MissionOutcome = MissionOutcome.COMPLETED
    """the outcome this drill expects (a drill may test that a failure is reported)"""


class Criteria(_Strict):
    timeout_s: float = Field(default=600.0, gt=0)
    """simulated seconds; a drill that has not ended by then fails"""
    max_rejected_messages: int = Field(default=0, ge=0)
    """malformed or refused messages the controller may see before the drill fails"""
    detect_within_s: float | None = Field(default=None, gt=0)
    """the controller's hazard picture registers a hazard within this many simulated
    seconds of the first hazard's onset (KPI time_to_first_detection_s)"""
    alert_within_s: float | None = Field(default=None, gt=0)
    """its first alert of warn or worse comes within this (KPI time_to_first_alert_s)"""
    localize_within_m: float | None = Field(default=None, gt=0)
    """every ground-truth gas release and radiation source has a source estimate of its
    kind within this distance at the end (KPI source_localization_error_m)"""


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    interface: str = Field(default="uagv", pattern=r"^[A-Za-z0-9_.:\-]+$")
    tick_s: float = Field(default=0.1, gt=0, le=1.0)
    """simulated seconds per step of the lock-stepped drill"""
    site: SiteMap
    robots: list[RobotEntry] = Field(min_length=1)
    missions: list[ScheduledMission] = Field(default_factory=list)
    success: Criteria = Criteria()
    world: WorldConfig | None = None
    """walls, obstacles, wind and the hazard grid (docs/drills.md); None: open, calm"""
    hazards: list[HazardEntry] = Field(default_factory=list)
    """gas releases, radiation sources, shields and fires on the drill's timeline"""
    faults: list[FaultEntry] = Field(default_factory=list)
    """link losses, broker outages and robot failures on the drill's timeline"""
    area_classes: dict[str, AreaClass] = Field(default_factory=dict)
    """hazardous zone id -> zone_1 / zone_2 for the allocator (unlisted: zone 1)"""
    clearance_zones: list[str] = Field(default_factory=list)
    """zones besides the hazardous ones whose entry waits for an operator's clearance"""

    @field_validator("faults", mode="wrap")
    @classmethod
    def _fault_paths(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            raise fault_list_error(err) from None

    @field_validator("hazards", mode="wrap")
    @classmethod
    def _hazard_paths(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            raise hazard_list_error(err) from None

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        serials: set[str] = set()
        for i, r in enumerate(self.robots):
            if r.serial in serials:
                raise ValueError(f"robots.{i}.serial: duplicate serial {r.serial!r}")
            serials.add(r.serial)
            if not self.site.has_node(r.start_node):
                raise ValueError(f"robots.{i}.start_node: no node {r.start_node!r} on the site")
        ids: set[str] = set()
        for i, m in enumerate(self.missions):
            if m.id in ids:
                raise ValueError(f"missions.{i}.id: duplicate mission id {m.id!r}")
            ids.add(m.id)
            if m.robot is not None and m.robot not in serials:
                raise ValueError(f"missions.{i}.robot: no robot {m.robot!r} in this scenario")
            for j, step in enumerate(m.steps):
                if not self.site.has_node(step.node):
                    raise ValueError(
                        f"missions.{i}.steps.{j}.node: no node {step.node!r} on the site"
                    )
        if self.world is not None or self.hazards:
            problem = check_world(self.site, self.world, self.hazards)
            if problem is not None:
                raise ValueError(f"{problem[0]}: {problem[1]}")
        zone_ids = {z.id for z in self.site.zones}
        for name, zones in (
            ("area_classes", list(self.area_classes)),
            ("clearance_zones", self.clearance_zones),
        ):
            for zid in zones:
                if zid not in zone_ids:
                    raise ValueError(f"{name}.{zid}: no zone {zid!r} on the site")
        fault_problem = check_faults(self.faults, serials)
        if fault_problem is not None:
            raise ValueError(f"{fault_problem[0]}: {fault_problem[1]}")
        return self

    @property
    def has_hazard_world(self) -> bool:
        """True when the drill models a world (walls, wind) or hazards; otherwise the robots
        read clean air, as before hazards existed."""
        return self.world is not None or bool(self.hazards)

    @property
    def solids(self) -> list[list[tuple[float, float]]]:
        """The world's walls and obstacles as polygons in metres (for maps)."""
        if self.world is None:
            return []
        return [list(p) for p in (*self.world.walls, *self.world.obstacles)]

    @property
    def occupancy(self) -> OccupancyMap | None:
        """The world's occupancy image, thresholded (for maps); None without one."""
        if self.world is None or self.world.occupancy is None:
            return None
        return self.world.occupancy.load()

    def robot_configs(self) -> dict[str, RobotConfig]:
        """robot key -> allocator configuration, for robots whose entry gives one"""
        out = {}
        for r in self.robots:
            cfg = r.robot_config()
            if cfg is not None:
                out[f"{r.manufacturer}/{r.serial}"] = cfg
        return out

    def fleet_plan(self, base: FleetPlanSettings | None = None) -> FleetPlanSettings:
        """The controller's allocator settings for this drill: ``base``'s, with this
        scenario's robot configurations, area classes and clearance zones added."""
        b = base if base is not None else FleetPlanSettings()
        return dataclasses.replace(
            b,
            robots={**b.robots, **self.robot_configs()},
            area_classes={**b.area_classes, **self.area_classes},
            clearance_zones=b.clearance_zones | frozenset(self.clearance_zones),
        )

    def mission_spec(self, m: ScheduledMission) -> MissionSpec:
        return MissionSpec.model_validate(m.model_dump(exclude={"at_s", "expect"}))


def load_scenario(path: Path) -> Scenario:
    """Read, validate and check a scenario file.  A relative ``world.occupancy.image`` is
    taken relative to the scenario file."""

    def resolve_image(data: dict[str, Any]) -> None:
        world = data.get("world")
        occupancy = world.get("occupancy") if isinstance(world, dict) else None
        image = occupancy.get("image") if isinstance(occupancy, dict) else None
        relative = isinstance(image, str) and bool(image) and not Path(image).is_absolute()
        if isinstance(occupancy, dict) and relative:
            occupancy["image"] = str((path.parent / str(image)).resolve())

    return load_model(path, Scenario, resolve_image)

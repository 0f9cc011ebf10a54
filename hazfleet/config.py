"""The main configuration file (``config/hazfleet.yaml``), validated with ``extra="forbid"``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from controller.service import ControllerSettings
from drivers.config_file import load_model, load_yaml
from drivers.mqtt import MqttSettings
from hazfleet import paths
from missions.alarms import AlarmPreset
from missions.capabilities import AreaClass, BatteryModel, HazardRating, RobotConfig
from missions.fleet import RobotRef
from missions.fleet_settings import FleetPlanSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControllerConfig(_Strict):
    controller_id: str = Field(default="hazfleet", pattern=r"^[A-Za-z0-9_.:\-]+$")
    admit_unknown: bool = False
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    stale_after_s: float = Field(default=3.0, gt=0)
    lost_after_s: float = Field(default=30.0, gt=0)
    state_interval_s: float = Field(default=1.0, gt=0, le=60)
    lost_after_missed_states: int = Field(default=5, ge=1, le=1000)
    resend_interval_s: float = Field(default=1.0, gt=0)
    allowed_deviation_xy_m: float = Field(default=0.5, gt=0)
    alarm_preset: str | None = "industrial-scientific"
    """gas alarm set points (a name in config/alarms/ or a path); null: no sensor stream"""
    sensors_stale_after_s: float = Field(default=30.0, gt=0)

    def settings(
        self, interface: str, fleet_plan: FleetPlanSettings | None = None
    ) -> ControllerSettings:
        """The controller's settings, with the alarm preset read (ConfigError naming the
        preset file, field and problem when it is bad)."""
        values = self.model_dump(exclude={"alarm_preset"})
        preset = None
        if self.alarm_preset is not None:
            preset = load_model(paths.alarm_preset_file(self.alarm_preset), AlarmPreset)
        settings = ControllerSettings(interface=interface, alarm_preset=preset, **values)
        if fleet_plan is not None:
            settings = dataclasses.replace(settings, fleet_plan=fleet_plan)
        return settings


class DrillConfig(_Strict):
    scenario: str = "default"
    report_dir: str = "reports"
    seed: int = Field(default=0, ge=0)
    speed: float | Literal["max"] = 10.0


class ServeConfig(_Strict):
    """``hazfleet serve``: where the REST API listens and where missions are stored."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    db: str = Field(default="sqlite:///hazfleet.db", min_length=1)
    """SQLAlchemy URL: ``sqlite:///file.db`` or ``postgresql+psycopg://user@host/db``"""
    tick_s: float = Field(default=1.0, gt=0, le=60)
    """how often the mission scheduler looks for due missions (seconds)"""


class FleetRobot(RobotRef):
    """A robot of the fleet and what the allocator must know beyond its factsheet
    (docs/allocation.md).  Leave all four out and missions pinned to it keep the
    zone-blind route; give any and it is held to its rating everywhere."""

    rating: HazardRating | None = None
    """hazardous-area certification: ``none``, ``zone_2``, ``zone_1`` (default none)"""
    battery: BatteryModel | None = None
    extra_actions: list[str] | None = None
    """action types it supports that its factsheet does not list"""
    speed_limit_m_s: float | None = Field(default=None, gt=0, le=20)

    def robot_config(self) -> RobotConfig | None:
        """None when the entry says nothing beyond manufacturer and serial."""
        given = self.model_dump(
            include={"rating", "battery", "extra_actions", "speed_limit_m_s"}, exclude_none=True
        )
        return RobotConfig.model_validate(given) if given else None


class FleetConfig(_Strict):
    """The site and robots ``hazfleet serve`` controls.

    ``site`` is a bundled drill name, a scenario YAML (its ``site:`` and, when ``robots``
    is empty, its ``robots:`` are used) or a YAML file holding just a site map.
    """

    site: str = Field(default="default", min_length=1)
    interface: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:\-]+$")
    """VDA 5050 interface name; None: the scenario's, else ``uagv``"""
    robots: list[FleetRobot] = Field(default_factory=list)
    area_classes: dict[str, AreaClass] = Field(default_factory=dict)
    """hazardous zone id -> ``zone_1`` / ``zone_2``; an unlisted hazardous zone is zone 1"""
    clearance_zones: list[str] = Field(default_factory=list)
    """zones, besides the hazardous ones, whose entry waits for an operator's clearance"""
    reallocate_every_s: float = Field(default=5.0, gt=0, le=3600)
    gate_hazardous: bool = False
    """true: every hazardous area waits for an operator's clearance too, unless the
    mission's permit covers it (docs/allocation.md, "Horizon")"""

    @field_validator("robots", mode="before")
    @classmethod
    def _plain_refs(cls, value: object) -> object:
        # a plain RobotRef (no allocator fields) is a robot entry too
        if isinstance(value, list):
            return [
                v.model_dump() if isinstance(v, RobotRef) and not isinstance(v, FleetRobot) else v
                for v in value
            ]
        return value

    @field_validator("robots")
    @classmethod
    def _unique(cls, robots: list[FleetRobot]) -> list[FleetRobot]:
        seen: set[str] = set()
        for i, r in enumerate(robots):
            if r.key in seen:
                raise ValueError(f"{i}: robot {r.key!r} is listed twice")
            seen.add(r.key)
        return robots

    def plan_settings(self, robots: dict[str, RobotConfig] | None = None) -> FleetPlanSettings:
        """The allocator's settings; ``robots`` (key -> config, e.g. from a scenario) is
        used for robots this section does not describe."""
        configs = dict(robots or {})
        for r in self.robots:
            cfg = r.robot_config()
            if cfg is not None:
                configs[r.key] = cfg
        return FleetPlanSettings(
            robots=configs,
            area_classes=dict(self.area_classes),
            clearance_zones=frozenset(self.clearance_zones),
            reallocate_every_s=self.reallocate_every_s,
            gate_hazardous=self.gate_hazardous,
        )


class HazfleetConfig(_Strict):
    broker: MqttSettings = MqttSettings(url="embedded")
    controller: ControllerConfig = ControllerConfig()
    drill: DrillConfig = DrillConfig()
    serve: ServeConfig = ServeConfig()
    fleet: FleetConfig = FleetConfig()


def load_config(path: Path | None) -> HazfleetConfig:
    """Every field is optional: no file, or an empty one, gives the defaults."""
    if path is None or load_yaml(path) is None:
        return HazfleetConfig()
    return load_model(path, HazfleetConfig)

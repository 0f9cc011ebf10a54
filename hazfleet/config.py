"""The main configuration file (``config/hazfleet.yaml``), validated with ``extra="forbid"``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.service import ControllerSettings
from drivers.config_file import load_model, load_yaml
from drivers.mqtt import MqttSettings
from hazfleet import paths
from missions.alarms import AlarmPreset
from missions.fleet import RobotRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControllerConfig(_Strict):
    controller_id: str = Field(default="hazfleet", pattern=r"^[A-Za-z0-9_.:\-]+$")
    admit_unknown: bool = False
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    stale_after_s: float = Field(default=3.0, gt=0)
    lost_after_s: float = Field(default=30.0, gt=0)
    resend_interval_s: float = Field(default=1.0, gt=0)
    allowed_deviation_xy_m: float = Field(default=0.5, gt=0)
    alarm_preset: str | None = "industrial-scientific"
    """gas alarm set points (a name in config/alarms/ or a path); null: no sensor stream"""
    sensors_stale_after_s: float = Field(default=30.0, gt=0)

    def settings(self, interface: str) -> ControllerSettings:
        """The controller's settings, with the alarm preset read (ConfigError naming the
        preset file, field and problem when it is bad)."""
        values = self.model_dump(exclude={"alarm_preset"})
        preset = None
        if self.alarm_preset is not None:
            preset = load_model(paths.alarm_preset_file(self.alarm_preset), AlarmPreset)
        return ControllerSettings(interface=interface, alarm_preset=preset, **values)


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


class FleetConfig(_Strict):
    """The site and robots ``hazfleet serve`` controls.

    ``site`` is a bundled drill name, a scenario YAML (its ``site:`` and, when ``robots``
    is empty, its ``robots:`` are used) or a YAML file holding just a site map.
    """

    site: str = Field(default="default", min_length=1)
    interface: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:\-]+$")
    """VDA 5050 interface name; None: the scenario's, else ``uagv``"""
    robots: list[RobotRef] = Field(default_factory=list)


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

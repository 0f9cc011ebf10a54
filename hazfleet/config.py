"""The main configuration file (``config/hazfleet.yaml``), validated with ``extra="forbid"``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.service import ControllerSettings
from drivers.config_file import load_model, load_yaml
from drivers.mqtt import MqttSettings


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

    def settings(self, interface: str) -> ControllerSettings:
        return ControllerSettings(interface=interface, **self.model_dump())


class DrillConfig(_Strict):
    scenario: str = "default"
    report_dir: str = "reports"
    seed: int = Field(default=0, ge=0)
    speed: float | Literal["max"] = 10.0


class HazfleetConfig(_Strict):
    broker: MqttSettings = MqttSettings(url="embedded")
    controller: ControllerConfig = ControllerConfig()
    drill: DrillConfig = DrillConfig()


def load_config(path: Path | None) -> HazfleetConfig:
    """Every field is optional: no file, or an empty one, gives the defaults."""
    if path is None or load_yaml(path) is None:
        return HazfleetConfig()
    return load_model(path, HazfleetConfig)

"""Who is in the fleet: robots are named by VDA 5050 manufacturer and serial number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SERIAL_PATTERN = r"^[A-Za-z0-9_.:\-]+$"


class RobotRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    manufacturer: str = Field(min_length=1, pattern=SERIAL_PATTERN)
    serial: str = Field(min_length=1, pattern=SERIAL_PATTERN)

    @property
    def key(self) -> str:
        return f"{self.manufacturer}/{self.serial}"

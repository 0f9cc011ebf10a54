"""Mission specs as the controller receives them, and their outcomes as data.

A mission is a sequence of steps; each step is a node of the site map to reach and the
actions to run there.  The controller plans the route between steps and turns the
whole into a VDA 5050 order that starts at the robot's current node.  (The full mission
model with templates, permits and schedules grows here; this is its core.)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from missions.model import Priority

ParamValue = str | int | float | bool | list[str | int | float | bool]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissionAction(_Strict):
    type: str = Field(min_length=1)
    """VDA 5050 actionType, e.g. ``measureGas`` or ``captureImage``"""
    params: dict[str, ParamValue] = Field(default_factory=dict)
    blocking: Literal["NONE", "SOFT", "HARD"] = "HARD"
    description: str | None = None


class MissionStep(_Strict):
    node: str = Field(min_length=1)
    actions: list[MissionAction] = Field(default_factory=list)


class MissionSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    name: str = ""
    robot: str | None = None
    """serial number of the robot to use; None lets the controller pick an idle one"""
    steps: list[MissionStep] = Field(min_length=1)
    priority: Priority = Priority.ROUTINE
    """batch the allocator serves it in; an emergency may displace a routine mission
    (docs/allocation.md)"""
    cleared_zones: list[str] = Field(default_factory=list)
    """zones the mission may enter without waiting for an operator's clearance (those its
    approved permit covers); the others that need clearance hold the order's horizon at
    their boundary (docs/allocation.md, "Horizon")"""


class MissionOutcome(StrEnum):
    """Where a mission stands, as the controller knows it."""

    PENDING = "pending"
    DISPATCHED = "dispatched"  # order sent, not yet acknowledged in state
    ACTIVE = "active"  # acknowledged: the robot's state carries our orderId
    COMPLETED = "completed"
    FAILED = "failed"  # the robot reported a failed action or a fatal error
    ABORTED = "aborted"  # cancelled, or the robot was lost

    @property
    def terminal(self) -> bool:
        return self in (MissionOutcome.COMPLETED, MissionOutcome.FAILED, MissionOutcome.ABORTED)

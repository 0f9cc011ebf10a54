"""What the fleet configuration adds to the robots' factsheets, for the allocator.

Kept in the domain package, apart from :mod:`controller.fleet_plan` that uses it, so that
a scenario (which carries these settings) can be loaded without importing the controller:
a drill's simulator workers unpickle their scenario and never plan anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from missions.capabilities import AreaClass, RobotConfig


@dataclass(frozen=True)
class FleetPlanSettings:
    robots: Mapping[str, RobotConfig] = field(default_factory=dict)
    """robot key ``manufacturer/serial`` -> its configuration; others get ``default_robot``"""
    default_robot: RobotConfig = field(default_factory=RobotConfig)
    area_classes: Mapping[str, AreaClass | str] = field(default_factory=dict)
    """hazardous zone id -> ``zone_1`` / ``zone_2`` (unlisted hazardous zones: zone 1)"""
    clearance_zones: frozenset[str] = frozenset()
    """zones whose entry waits for an operator's clearance (docs/allocation.md, "Horizon")"""
    gate_hazardous: bool = False
    """True: every hazardous area (as the allocator classes them) waits for clearance too,
    unless the mission's permit covers it (``MissionSpec.cleared_zones``)"""
    reallocate_every_s: float = 5.0
    """with missions waiting, allocate again at least this often even when no robot changed
    (battery levels drift)"""


__all__ = ["FleetPlanSettings"]

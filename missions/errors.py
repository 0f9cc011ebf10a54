"""The root of the hazfleet exception tree and the domain's own errors.

The whole tree is drawn in :mod:`drivers.errors`, which re-exports these; they live here
because the pure domain raises them and may import nothing from ``drivers``.
"""

from __future__ import annotations


class HazfleetError(Exception):
    """Base of every error hazfleet raises on purpose."""


class MissionError(HazfleetError):
    """A mission cannot be accepted, planned or changed (unknown node, no route, ...)."""


class LifecycleError(MissionError):
    """A mission state transition the lifecycle does not allow."""

    def __init__(self, mission_id: str, current: str, target: str, problem: str = "") -> None:
        self.mission_id = mission_id
        self.current = current
        self.target = target
        detail = f": {problem}" if problem else ""
        super().__init__(f"mission {mission_id}: cannot go from {current} to {target}{detail}")


class PermitError(MissionError):
    """An approval the permit-to-work rules refuse (wrong role, two-person rule)."""

"""What the robot has accepted to do, in plain data: nodes, edges, and its errors.

The wire layer turns VDA 5050 orders into these (:mod:`simulator.robot_orders`); the
engine (:mod:`simulator.robot_engine`) works on them and never sees a wire model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.vda5050.messages import ErrorLevel
from simulator.robot_actions import PlannedAction


@dataclass(frozen=True)
class PlannedNode:
    node_id: str
    sequence_id: int
    released: bool
    x_m: float
    y_m: float
    map_id: str
    theta: float | None = None
    """rad; the orientation to take on arrival, None for any"""
    actions: tuple[PlannedAction, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class PlannedEdge:
    edge_id: str
    sequence_id: int
    released: bool
    start_node_id: str
    end_node_id: str
    max_speed_m_s: float | None = None
    actions: tuple[PlannedAction, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class RobotError:
    """One entry of ``state.errors``."""

    error_type: str
    level: ErrorLevel
    description: str
    references: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    until_new_order: bool = True
    """True: reported until an order is accepted (rejection warnings, section 6.6.4)"""


def wrap_angle(theta_rad: float) -> float:
    """The same orientation within [-pi, pi]."""
    return math.atan2(math.sin(theta_rad), math.cos(theta_rad))

"""Simulated VDA 5050 robots (and, later, scenarios, the drill runner and reports)."""

from simulator.environment import QUANTITY_UNITS, CleanAir, Environment
from simulator.robot import RobotSnapshot, SimRobot, robot_will
from simulator.robot_spec import (
    DEFAULT_ACTION_DURATIONS_S,
    DEFAULT_ACTIONS,
    HAZARD_ACTIONS,
    SimRobotSpec,
)

__all__ = [
    "DEFAULT_ACTIONS",
    "DEFAULT_ACTION_DURATIONS_S",
    "HAZARD_ACTIONS",
    "QUANTITY_UNITS",
    "CleanAir",
    "Environment",
    "RobotSnapshot",
    "SimRobot",
    "SimRobotSpec",
    "robot_will",
]

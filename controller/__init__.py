"""hazfleet master control (VDA 5050): fleet registry, order building, dispatcher,
controller heartbeat.  :class:`Controller` is the one entry point."""

from controller.dispatcher import MissionStatus
from controller.events import ControllerEvent
from controller.heartbeat import controller_will, heartbeat_topic
from controller.orders import build_order, resolve_start_node
from controller.registry import RobotStatus
from controller.service import Controller, ControllerSettings

__all__ = [
    "Controller",
    "ControllerEvent",
    "ControllerSettings",
    "MissionStatus",
    "RobotStatus",
    "build_order",
    "controller_will",
    "heartbeat_topic",
    "resolve_start_node",
]

"""Faults a simulated robot can be given (:meth:`simulator.robot.SimRobot.inject`).

:class:`RobotFault` names what the robot itself must model; the link faults (link loss,
dropped messages, broker outage) are the drill runner's, on the robot's bus
(:mod:`simulator.delivery`).  :class:`FaultyInstruments` is the robot's instruments
with a stuck-sensor switch.
"""

from __future__ import annotations

from enum import StrEnum

from simulator.environment import TOXIC_GASES
from simulator.robot_actions import Instruments, Where
from simulator.robot_sensors import SensorSuite

GAS_QUANTITIES: tuple[str, ...] = ("O2", "LEL", "CH4", *TOXIC_GASES)
"""the readings a stuck gas sensor freezes"""


class RobotFault(StrEnum):
    BATTERY_FAILURE = "battery_failure"
    """battery to 0 %: FATAL batteryEmpty, as when it drains (permanent)"""
    STUCK_SENSOR = "stuck_sensor"
    """gas readings frozen at their value at onset"""
    STALL = "stall"
    """does not advance; WARNING ``stalled``"""


class FaultyInstruments(Instruments):
    """Instruments whose gas sensors can stick (:meth:`stick`).

    The stepped gas cells (a :class:`~simulator.robot_sensors.SensorSuite`) get the
    suite's own ``stuck`` fault until the given time: each repeats the last value it
    reported.  A gas no cell measures, read by the simple noisy instrument
    (:meth:`Instruments.read`), repeats its reading at the onset, at the robot's position
    then, until :meth:`unstick`."""

    _frozen: dict[str, float | None] | None = None  # no __init__: the base's signature rules

    @property
    def stuck(self) -> bool:
        return self._frozen is not None

    def stick(self, where: Where, until_s: float) -> None:
        """Freeze every gas reading at its current value until clock time ``until_s``
        (s; ``math.inf``: for good)."""
        cells: set[str] = set()
        for suite in [v for v in vars(self).values() if isinstance(v, SensorSuite)]:
            for quantity in suite.quantities:
                suite.inject(quantity, "stuck", until_s)
                cells.add(quantity)
        self._frozen = None  # read the live value, not an older frozen one
        frozen = {
            q: super(FaultyInstruments, self).read(q, where)
            for q in GAS_QUANTITIES
            if q not in cells
        }
        self._frozen = frozen

    def unstick(self) -> None:
        self._frozen = None

    def read(self, quantity: str, where: Where) -> float | None:
        frozen = self._frozen
        if frozen is not None and quantity in frozen:
            return frozen[quantity]
        return super().read(quantity, where)

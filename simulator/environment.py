"""What the simulated robot's sensors read: the :class:`Environment` port.

An environment answers one question: the true value of a physical quantity at a point of
the site map at a moment.  The robot adds sensor noise and resolution on top (see
:mod:`simulator.robot_actions`).  :class:`CleanAir` is a site with no hazard at all; hazard
physics (gas plumes, hot spots, sources) replaces it later behind the same interface.

Quantities and their units (the names are also the keys of action results):

=============  ========  ===========================================
quantity       unit      meaning
=============  ========  ===========================================
``O2``         %vol      oxygen
``LEL``        %LEL      flammable gas, percent of lower explosive limit
``H2S``        ppm       hydrogen sulphide
``CO``         ppm       carbon monoxide
``NH3``        ppm       ammonia
``Cl2``        ppm       chlorine
``SO2``        ppm       sulphur dioxide
``NO2``        ppm       nitrogen dioxide
``CH4``        %vol      methane
``temperature``  °C      air / surface temperature
``doseRate``   µSv/h     ambient gamma dose rate
``windSpeed``  m/s       horizontal wind speed (an anemometer on the mast)
``windDirection`` deg    map-frame direction the air moves *toward*, degrees
                         counter-clockwise from +x, in [0, 360)
=============  ========  ===========================================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

QUANTITY_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "O2": "%vol",
        "LEL": "%LEL",
        "H2S": "ppm",
        "CO": "ppm",
        "NH3": "ppm",
        "Cl2": "ppm",
        "SO2": "ppm",
        "NO2": "ppm",
        "CH4": "%vol",
        "temperature": "°C",
        "doseRate": "µSv/h",
        "windSpeed": "m/s",
        "windDirection": "deg",
    }
)
"""Every quantity an environment may be asked for, with its unit."""

TOXIC_GASES: tuple[str, ...] = ("H2S", "CO", "NH3", "Cl2", "SO2", "NO2")
"""The toxic gases, in the order an atmospheric test reports them."""


class Environment(Protocol):
    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        """True value of ``quantity`` (unit in :data:`QUANTITY_UNITS`) at map point
        (``x_m``, ``y_m``) in metres, at ``t_s`` seconds of the simulation's monotonic
        clock; None when this environment does not model the quantity."""


_CLEAN_AIR: Mapping[str, float] = MappingProxyType(
    {
        "O2": 20.9,
        "LEL": 0.0,
        "H2S": 0.0,
        "CO": 0.0,
        "NH3": 0.0,
        "Cl2": 0.0,
        "SO2": 0.0,
        "NO2": 0.0,
        "CH4": 0.0,
        "temperature": 20.0,
        "doseRate": 0.1,
        "windSpeed": 0.0,
        "windDirection": 0.0,
    }
)


class CleanAir:
    """Normal air everywhere and always: O2 20.9 %vol, no flammable or toxic gas,
    20 °C, background dose rate 0.1 µSv/h, no wind."""

    def sample(self, quantity: str, x_m: float, y_m: float, t_s: float) -> float | None:
        return _CLEAN_AIR.get(quantity)

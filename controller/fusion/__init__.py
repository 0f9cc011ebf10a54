"""Fusion of robot readings into a site hazard map, and hazard source localization.

Pure numpy: no I/O, no clock (every time is an argument, in seconds on the caller's
clock), no import from :mod:`simulator` (the dependency runs the other way).  See
``docs/fusion.md`` for the formulas, their sources, defaults and how the controller feeds
each object.

* :mod:`.grid`: :class:`GridSpec`, the map-aligned grid every layer lives on.
* :mod:`.hazard_map`: :class:`HazardMap`, log-odds evidence per hazard type with time decay.
* :mod:`.gas_map`: :class:`KernelDMV`, Kernel DM+V/W concentration mean, variance, confidence.
* :mod:`.dose_map`: :class:`DoseRateMap`, dose rate (µSv/h) and per-cell maximum.
* :mod:`.gas_source`: :class:`GasSourceEstimator`, gas leak position and rate.
* :mod:`.radiation_source`: :class:`RadiationSourceEstimator`, gamma point source.
"""

from controller.fusion.dose_map import DoseRateMap
from controller.fusion.gas_map import GasMapSnapshot, KernelDMV
from controller.fusion.gas_source import GasSourceEstimate, GasSourceEstimator, ppm_per_g_m3
from controller.fusion.grid import GridSpec
from controller.fusion.hazard_map import HAZARD_LAYERS, HazardMap, LayerConfig
from controller.fusion.radiation_source import RadiationSourceEstimate, RadiationSourceEstimator

__all__ = [
    "HAZARD_LAYERS",
    "DoseRateMap",
    "GasMapSnapshot",
    "GasSourceEstimate",
    "GasSourceEstimator",
    "GridSpec",
    "HazardMap",
    "KernelDMV",
    "LayerConfig",
    "RadiationSourceEstimate",
    "RadiationSourceEstimator",
    "ppm_per_g_m3",
]

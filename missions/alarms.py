"""Alarm logic per gas channel, as a certified portable detector does it (hazards.md §1.2).

Pure and stepped by the caller: :meth:`ChannelMonitor.feed` takes one reading (time on a
monotonic clock, value or None, the sensor's status) and returns the alarms that were
raised or cleared by it.

Set points come from an :class:`AlarmPreset` (``config/alarms/*.yaml``; the default is
Industrial Scientific's table, every preset cites its source).  For each channel:

* ``LOW`` / ``HIGH``: the reading at or above the set point; for a two-sided channel
  (O2) ``LOW`` is at or *below* ``low`` (deficient) and ``HIGH`` at or above ``high``
  (enriched).
* ``CEILING``: above the ceiling (an OSHA "C" value) at any instant.
* ``STEL`` / ``TWA``: the 15-minute and 8-hour averages of
  :class:`~missions.exposure.ExposureAccumulator` at or above their set points (the
  preset says whether the TWA is OSHA's moving window or ACGIH's accumulating one).
* ``OVER_RANGE``: the sensor says so, or the reading reaches ``range_max``; it also
  raises ``HIGH`` (a detector past its range is past every set point).
* ``NEGATIVE_DRIFT``: below −½ of the TWA set point (toxics) or of the LOW set point
  (LEL, and toxics without a TWA), as BW's "downscale" alarm.
* ``SENSOR_FAULT``: the sensor reports a fault or a dropout, the value is missing or
  not a number, or it has not changed at all for ``stuck_after_s`` while away from the
  channel's clean-air value (a cell stuck *at* its clean-air value cannot be told from
  clean air by its readings alone).
* ``LEL_INVALID``: the catalytic bead needs ≥ 10 %vol O2; an LEL reading taken in less is
  invalid (feed the O2 of the same instant).
* A reading that cannot be trusted (fault, LEL invalid) clears no gas alarm: the gas
  may still be there (fail-safe).
* Warm-up: nothing is raised while the sensor reports ``warmup``.
* Latching: kinds listed in the preset's ``latching`` stay active after their condition
  clears until :meth:`ChannelMonitor.acknowledge`; the others clear by themselves.
* LEL correction: a bead calibrated on one gas reads another with a factor (MX6 table):
  ``corrected = reading · factor``; 10 %LEL of pentane on a methane-calibrated bead is
  20.2 %LEL.  Set points apply to the corrected value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from missions.exposure import ExposureAccumulator

LEL_MIN_O2_PERCENT = 10.0
"""below this much oxygen a catalytic bead cannot burn the gas it should measure"""
STUCK_AFTER_S = 1800.0
"""a reading away from clean air that has not changed in its last digit for 30 minutes:
field concentrations fluctuate (turbulence) much faster than that, a steady plume read
by a 1-ppm cell rarely holds one value for minutes"""

LEL_CORRECTION_FACTORS: dict[tuple[str, str], float] = {
    ("pentane", "methane"): 2.02,
    ("propane", "methane"): 1.62,
    ("hydrogen", "methane"): 0.94,
    ("butane", "methane"): 1.67,
    ("hexane", "methane"): 2.86,
    ("methane", "methane"): 1.0,
}
"""(sample gas, calibration gas) → factor, Industrial Scientific MX6 reference table
(hazards.md §1.2)"""


CHANNEL_UNITS: dict[str, str] = {
    "O2": "%vol",
    "LEL": "%LEL",
    "CH4": "%vol",
    "H2S": "ppm",
    "CO": "ppm",
    "NH3": "ppm",
    "Cl2": "ppm",
    "SO2": "ppm",
    "NO2": "ppm",
    "temperature": "°C",
    "doseRate": "µSv/h",
    "windSpeed": "m/s",
    "windDirection": "deg",
}
"""every channel a robot's sensor stream carries, with the only unit accepted for it"""


class AlarmKind(StrEnum):
    LOW = "LOW"
    HIGH = "HIGH"
    CEILING = "CEILING"
    STEL = "STEL"
    TWA = "TWA"
    OVER_RANGE = "OVER_RANGE"
    NEGATIVE_DRIFT = "NEGATIVE_DRIFT"
    SENSOR_FAULT = "SENSOR_FAULT"
    LEL_INVALID = "LEL_INVALID"


SensorState = Literal["ok", "warmup", "fault", "dropout", "over_range"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSetPoints(_Strict):
    unit: str = Field(min_length=1)
    low: float
    high: float
    twa: float | None = Field(default=None, gt=0)
    stel: float | None = Field(default=None, gt=0)
    ceiling: float | None = Field(default=None, gt=0)
    range_max: float | None = Field(default=None, gt=0)
    two_sided: bool = False
    """O2: LOW means at or below ``low``"""
    clean_air: float = 0.0
    """what the channel reads in clean air (20.9 for O2)"""

    @model_validator(mode="after")
    def _ordered(self) -> ChannelSetPoints:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class AlarmPreset(_Strict):
    """One vendor's or regulator's set points, with where they come from."""

    name: str = Field(min_length=1)
    source: str = Field(min_length=10)
    """the document the numbers come from (URL and title)"""
    twa_method: Literal["osha", "acgih"] = "acgih"
    latching: frozenset[AlarmKind] = frozenset(
        {AlarmKind.HIGH, AlarmKind.CEILING, AlarmKind.STEL, AlarmKind.TWA, AlarmKind.OVER_RANGE}
    )
    stuck_after_s: float = Field(default=STUCK_AFTER_S, gt=0)
    channels: dict[str, ChannelSetPoints] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_channels(self) -> AlarmPreset:
        for name, sp in self.channels.items():
            if name not in CHANNEL_UNITS:
                known = ", ".join(CHANNEL_UNITS)
                raise ValueError(f"channels.{name}: unknown channel (known: {known})")
            if sp.unit != CHANNEL_UNITS[name]:
                raise ValueError(
                    f"channels.{name}.unit: {name} is read in {CHANNEL_UNITS[name]!r}, "
                    f"not {sp.unit!r}"
                )
        return self


@dataclass(frozen=True)
class AlarmChange:
    """An alarm raised (``active``) or cleared on a channel."""

    channel: str
    kind: AlarmKind
    active: bool
    t_s: float
    value: float | None
    threshold: float | None
    unit: str


@dataclass
class ChannelMonitor:
    """The alarms of one channel of one detector (module docstring)."""

    channel: str
    setpoints: ChannelSetPoints
    preset: AlarmPreset
    lel_factor: float = 1.0
    """correction of an LEL bead for the gas measured (:data:`LEL_CORRECTION_FACTORS`)"""
    exposure: ExposureAccumulator = field(default_factory=ExposureAccumulator)
    active: set[AlarmKind] = field(default_factory=set)
    """alarms on now, latched ones included"""
    _latched: set[AlarmKind] = field(default_factory=set)
    _last_value: float | None = None
    _same_since_s: float | None = None

    def feed(
        self,
        t_s: float,
        value: float | None,
        status: SensorState = "ok",
        *,
        o2_percent: float | None = None,
    ) -> list[AlarmChange]:
        """Take one reading; the alarms it raised or cleared, in a stable order."""
        sp = self.setpoints
        conditions: dict[AlarmKind, float | None] = {}
        """kind -> threshold crossed (None where no number applies)"""
        if status == "warmup":
            return self._update(t_s, None, {})
        corrected: float | None = None
        faulty = status in ("fault", "dropout") or value is None or not math.isfinite(value)
        if not faulty:
            assert value is not None
            corrected = value * self.lel_factor
            if self._stuck(t_s, value):
                faulty = True
        if faulty:
            conditions[AlarmKind.SENSOR_FAULT] = None
            return self._update(t_s, corrected, self._keep_gas_alarms(conditions))
        assert corrected is not None
        if self.channel == "LEL" and o2_percent is not None and o2_percent < LEL_MIN_O2_PERCENT:
            conditions[AlarmKind.LEL_INVALID] = LEL_MIN_O2_PERCENT
            return self._update(t_s, corrected, self._keep_gas_alarms(conditions))
        self.exposure.add(t_s, corrected)
        over = status == "over_range" or (sp.range_max is not None and corrected >= sp.range_max)
        if over:
            conditions[AlarmKind.OVER_RANGE] = sp.range_max
            conditions[AlarmKind.HIGH] = sp.high
        if sp.two_sided:
            if corrected <= sp.low:
                conditions[AlarmKind.LOW] = sp.low
            if corrected >= sp.high:
                conditions[AlarmKind.HIGH] = sp.high
        else:
            if corrected >= sp.low:
                conditions[AlarmKind.LOW] = sp.low
            if corrected >= sp.high:
                conditions[AlarmKind.HIGH] = sp.high
            drift_base = sp.twa if sp.twa is not None else sp.low
            if corrected < -0.5 * drift_base:
                conditions[AlarmKind.NEGATIVE_DRIFT] = -0.5 * drift_base
        if sp.ceiling is not None and corrected > sp.ceiling:
            conditions[AlarmKind.CEILING] = sp.ceiling
        if sp.stel is not None and self.exposure.stel() >= sp.stel:
            conditions[AlarmKind.STEL] = sp.stel
        twa = (
            self.exposure.twa_osha()
            if self.preset.twa_method == "osha"
            else self.exposure.twa_acgih()
        )
        if sp.twa is not None and twa >= sp.twa:
            conditions[AlarmKind.TWA] = sp.twa
        return self._update(t_s, corrected, conditions)

    def acknowledge(self, kind: AlarmKind) -> bool:
        """An operator acknowledged a latched alarm: it clears at the next reading that no
        longer meets its condition.  False if it was not latched."""
        if kind not in self._latched:
            return False
        self._latched.discard(kind)
        return True

    def _keep_gas_alarms(
        self, conditions: dict[AlarmKind, float | None]
    ) -> dict[AlarmKind, float | None]:
        """A reading that cannot be trusted clears nothing: the gas may still be there."""
        for kind in self.active - {AlarmKind.SENSOR_FAULT, AlarmKind.LEL_INVALID}:
            conditions.setdefault(kind, None)
        return conditions

    def _stuck(self, t_s: float, value: float) -> bool:
        if value != self._last_value:
            self._last_value, self._same_since_s = value, t_s
            return False
        since = self._same_since_s if self._same_since_s is not None else t_s
        away = abs(value - self.setpoints.clean_air) > 1e-9
        return away and t_s - since >= self.preset.stuck_after_s

    def _update(
        self, t_s: float, value: float | None, conditions: dict[AlarmKind, float | None]
    ) -> list[AlarmChange]:
        now = set(conditions)
        for kind in now:
            if kind in self.preset.latching:
                self._latched.add(kind)
        wanted = now | self._latched
        changes: list[AlarmChange] = []
        if not wanted and not self.active:
            return changes  # the common case: clean air before and now
        for kind in _ALARM_KINDS:
            if kind in wanted and kind not in self.active:
                changes.append(self._change(kind, True, t_s, value, conditions.get(kind)))
            elif kind not in wanted and kind in self.active:
                changes.append(self._change(kind, False, t_s, value, None))
        self.active = wanted
        return changes

    def _change(
        self,
        kind: AlarmKind,
        active: bool,
        t_s: float,
        value: float | None,
        threshold: float | None,
    ) -> AlarmChange:
        return AlarmChange(self.channel, kind, active, t_s, value, threshold, self.setpoints.unit)


_ALARM_KINDS = tuple(AlarmKind)
"""every alarm kind in declaration order (iterating the Enum itself is slower)"""


def lel_factor(sample_gas: str, calibration_gas: str = "methane") -> float:
    """The LEL correction factor; KeyError names the pair when it is not tabulated."""
    key = (sample_gas.lower(), calibration_gas.lower())
    if key not in LEL_CORRECTION_FACTORS:
        raise KeyError(f"no LEL correction factor for {sample_gas} on a {calibration_gas} bead")
    return LEL_CORRECTION_FACTORS[key]


__all__ = [
    "CHANNEL_UNITS",
    "LEL_CORRECTION_FACTORS",
    "LEL_MIN_O2_PERCENT",
    "AlarmChange",
    "AlarmKind",
    "AlarmPreset",
    "ChannelMonitor",
    "ChannelSetPoints",
    "lel_factor",
]

"""Gas-detector sensor models: lag, cross-sensitivity, temperature, drift, noise, faults.

A :class:`Sensor` turns the true values of the atmosphere at the robot (as an
:class:`simulator.environment.Environment` returns them) into what one detector cell reports.
Formulas and datasheet values: ``shared/reference/hazards.md`` §4.5 (sensor models) and §1.2
(cross-sensitivity, alarm ranges, catalytic poisoning).

Per call of :meth:`Sensor.step` (``dt_s`` seconds; the true values are held constant over the
step, as the shared clock samples them), in this order:

1. **First-order lag** per gas, ``y' = (x − y)/τ`` with ``τ = t90 / ln 10``, solved exactly:
   ``y(t+dt) = x + (y(t) − x)·exp(−dt/τ)``.  τ is the rise constant when the gas at the cell
   rises and the fall (recovery) constant when it falls.  Within one step y moves monotonically
   towards x and never crosses it, so the rise/fall choice cannot change inside a step and the
   result does not depend on how a long ``dt_s`` is split: no sub-stepping is needed.  Each gas
   is lagged on its own because each diffuses through the cell's capillary on its own.
2. **Cross-sensitivity**: the cell's signal is ``y_target + Σ factor_g · y_g`` (factor in
   reading units per unit of the interfering gas, e.g. −1.6 ppm SO2 per ppm NO2).
3. **Temperature**: the signal is multiplied by the relative sensitivity at the air
   temperature (quantity ``temperature``, °C; 20 °C when absent), linearly interpolated in the
   datasheet curve and held flat beyond its ends.  Catalytic poisoning multiplies it too.
4. **Drift**: a zero offset doing a Gaussian random walk, ``Var = drift_sd_per_h² · t_h``.
5. **Noise**: white Gaussian, ``noise_sd``.
6. **Quantisation** to ``resolution``, then clipping to ``[range_min, range_max]``; a clipped
   reading has status ``"over_range"`` (ALTAIR 4X shows "XXX" above 100 % LEL, §1.2).

Status is the simulator's ground truth about the reading; what a real detector would know
(it knows it is warming up or has dropped out, it does not know it is stuck or poisoned) is for
the robot layer to decide.  One status per reading, by priority: ``warmup`` (value None),
``fault`` and ``dropout`` (value None), ``stuck`` (value frozen at the last value reported
before the fault), ``over_range``, ``poisoned``, ``ok``.

Randomness comes only from the ``numpy.random.Generator`` passed in.  Every step draws exactly
two standard normals (drift, noise), whatever the status, so injecting a fault does not shift
the random stream of later readings.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np

from simulator.environment import QUANTITY_UNITS

_log = logging.getLogger(__name__)

SensorStatus = Literal["ok", "warmup", "over_range", "dropout", "stuck", "poisoned", "fault"]
"""Ground-truth status of one reading (see the module docstring for the priority)."""

Fault = Literal["dropout", "stuck", "poisoned", "fault"]
"""Faults :meth:`Sensor.inject` accepts."""

FAULTS: tuple[Fault, ...] = ("dropout", "stuck", "poisoned", "fault")

INTERFERENT_UNITS: Mapping[str, str] = MappingProxyType({**QUANTITY_UNITS, "H2": "ppm"})
"""Gases a cross-sensitivity may name: the environment's quantities plus H2 (ppm), which the
datasheets quote against CO cells but no environment models yet; a caller may pass it in
``true_values`` and an absent interferent counts as zero."""

REFERENCE_TEMPERATURE_C = 20.0
"""Temperature at which the sensitivity is 100 % (Alphasense calibrates at 20 °C); used when
``true_values`` has no ``temperature``."""

_LN10 = math.log(10.0)
_SECONDS_PER_HOUR = 3600.0
_HOURS_PER_YEAR = 8766.0  # 365.25 d, to turn datasheet "per year" drifts into per hour
_EPS_S = 1e-9  # float slack: 600 steps of 0.1 s sum to 59.99999999999 s, not 60 s


def tau_from_t90(t90_s: float) -> float:
    """Time constant τ in s of a first-order lag whose step response reaches 90 % after
    ``t90_s`` seconds: ``τ = t90 / ln 10`` (§4.5; t90 = 30 s gives τ = 13.03 s)."""
    return t90_s / _LN10


def lag_step(y: float, x: float, dt_s: float, tau_rise_s: float, tau_fall_s: float) -> float:
    """Exact solution of ``y' = (x − y)/τ`` over ``dt_s`` with ``x`` held constant; τ is
    ``tau_rise_s`` when ``x > y`` and ``tau_fall_s`` otherwise (τ = 0: instant response)."""
    tau_s = tau_rise_s if x > y else tau_fall_s
    if tau_s <= 0.0:
        return x
    return x + (y - x) * math.exp(-dt_s / tau_s)


def drift_sd_per_h_from_per_year(drift_per_year: float) -> float:
    """Random-walk drift sd per √hour whose one-sigma spread after one year is
    ``drift_per_year`` (how a datasheet's "zero drift < ±X per year" is read here)."""
    return drift_per_year / math.sqrt(_HOURS_PER_YEAR)


@dataclass(frozen=True)
class PoisoningSpec:
    """Catalytic-bead poisoning: exposure to ``trigger_quantity`` above ``instant_threshold``
    (any time) or above ``sustained_threshold`` for ``sustained_duration_s`` without a break
    desensitises the bead for the rest of the sensor's life (until it is replaced or
    recalibrated), multiplying its sensitivity by ``sensitivity_factor``."""

    trigger_quantity: str = "H2S"
    instant_threshold: float = 200.0
    sustained_threshold: float = 50.0
    sustained_duration_s: float = 60.0
    sensitivity_factor: float = 0.5

    def __post_init__(self) -> None:
        if self.trigger_quantity not in INTERFERENT_UNITS:
            raise ValueError(f"PoisoningSpec.trigger_quantity: unknown {self.trigger_quantity!r}")
        if not 0.0 <= self.sustained_threshold <= self.instant_threshold:
            raise ValueError("PoisoningSpec: need 0 <= sustained_threshold <= instant_threshold")
        if not self.sustained_duration_s > 0.0:
            raise ValueError("PoisoningSpec.sustained_duration_s: must be > 0 s")
        if not 0.0 <= self.sensitivity_factor <= 1.0:
            raise ValueError("PoisoningSpec.sensitivity_factor: must be in [0, 1]")


ALTAIR_4X_H2S_POISONING = PoisoningSpec()
"""ALTAIR 4X manual (hazards.md §4.5): "H2S exposures over 200 ppm or over 50 ppm for one
minute" desensitise the LEL sensor.  The manual gives no size for the loss: the factor 0.5 is
an assumption (a bead that reads half is the case a bump test must catch)."""


@dataclass(frozen=True)
class SensorSpec:
    """What one detector cell is, from its datasheet.  Units are those of ``quantity`` in
    :data:`simulator.environment.QUANTITY_UNITS` unless stated.

    - ``t90_rise_s`` / ``t90_fall_s``: time to 90 % of a rising / falling step, s.
    - ``noise_sd``: white-noise standard deviation per reading.
    - ``resolution``: quantisation step (0: none).
    - ``range_min`` / ``range_max``: display range; readings outside are clipped and flagged.
    - ``drift_sd_per_h``: zero-drift random walk, sd after one hour (grows as √t).
    - ``cross_sensitivity``: interfering gas (see :data:`INTERFERENT_UNITS`) → reading units
      per unit of that gas; negative for a cell that reads down (SO2 cell in NO2).
    - ``temperature_curve``: ((°C, relative sensitivity), ...) with strictly increasing
      temperatures; empty means no temperature dependence.
    - ``warmup_s``: time after start during which no value is reported.
    - ``poisoning``: catalytic poisoning, or None for cells that are not poisoned.
    - ``source``: where the numbers come from, and which ones are assumptions.
    """

    name: str
    quantity: str
    unit: str
    t90_rise_s: float
    t90_fall_s: float
    noise_sd: float
    resolution: float
    range_min: float
    range_max: float
    drift_sd_per_h: float = 0.0
    cross_sensitivity: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    temperature_curve: tuple[tuple[float, float], ...] = ()
    warmup_s: float = 0.0
    poisoning: PoisoningSpec | None = None
    source: str = ""

    def __post_init__(self) -> None:
        where = f"SensorSpec {self.name!r}"
        expected_unit = QUANTITY_UNITS.get(self.quantity)
        if expected_unit is None:
            raise ValueError(f"{where}: quantity {self.quantity!r} is not in QUANTITY_UNITS")
        if self.unit != expected_unit:
            raise ValueError(
                f"{where}: unit {self.unit!r} for {self.quantity} (expected {expected_unit!r})"
            )
        for label, value in (
            ("t90_rise_s", self.t90_rise_s),
            ("t90_fall_s", self.t90_fall_s),
            ("noise_sd", self.noise_sd),
            ("resolution", self.resolution),
            ("drift_sd_per_h", self.drift_sd_per_h),
            ("warmup_s", self.warmup_s),
        ):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{where}: {label} must be finite and >= 0, got {value!r}")
        if not (math.isfinite(self.range_min) and math.isfinite(self.range_max)):
            raise ValueError(f"{where}: range_min and range_max must be finite")
        if not self.range_min < self.range_max:
            raise ValueError(f"{where}: range_min {self.range_min} >= range_max {self.range_max}")
        cross = dict(self.cross_sensitivity)
        for gas, factor in cross.items():
            if gas not in INTERFERENT_UNITS or gas == self.quantity:
                raise ValueError(f"{where}: cross_sensitivity names unknown gas {gas!r}")
            if not math.isfinite(factor):
                raise ValueError(f"{where}: cross_sensitivity[{gas!r}] must be finite")
        object.__setattr__(self, "cross_sensitivity", MappingProxyType(cross))
        temps = [t for t, _ in self.temperature_curve]
        if any(b <= a for a, b in itertools.pairwise(temps)):
            raise ValueError(f"{where}: temperature_curve temperatures must strictly increase")
        if any(not (math.isfinite(s) and s > 0.0) for _, s in self.temperature_curve):
            raise ValueError(f"{where}: temperature_curve sensitivities must be finite and > 0")

    @property
    def tau_rise_s(self) -> float:
        """Rise time constant τ in s (t90_rise / ln 10)."""
        return tau_from_t90(self.t90_rise_s)

    @property
    def tau_fall_s(self) -> float:
        """Fall (recovery) time constant τ in s (t90_fall / ln 10)."""
        return tau_from_t90(self.t90_fall_s)

    def relative_sensitivity(self, temperature_c: float) -> float:
        """Sensitivity at ``temperature_c`` °C relative to calibration (1.0 = 100 %),
        linearly interpolated in ``temperature_curve``, flat beyond its ends."""
        if not self.temperature_curve:
            return 1.0
        temps = [t for t, _ in self.temperature_curve]
        factors = [s for _, s in self.temperature_curve]
        return float(np.interp(temperature_c, temps, factors))


class Reading(NamedTuple):
    """One sensor output: ``value`` in the spec's unit (None when nothing is reported) and
    its ground-truth ``status``."""

    value: float | None
    status: SensorStatus


class Sensor:
    """One detector cell stepped on the shared clock.

    ``start_s`` is the clock time at power-on; ``until_s`` of :meth:`inject` and the warm-up
    are on that same clock.  ``initial_values`` (true values, spec units) sets the gas at the
    cell at power-on; gases not given start equilibrated with the first value seen, as a
    detector that zeroes in the air where it is switched on.
    """

    def __init__(
        self,
        spec: SensorSpec,
        rng: np.random.Generator,
        *,
        start_s: float = 0.0,
        initial_values: Mapping[str, float] | None = None,
    ) -> None:
        self._spec = spec
        self._rng = rng
        self._start_s = start_s
        self._t_s = start_s
        self._lagged: dict[str, float] = dict(initial_values or {})
        self._drift = 0.0
        self._faults: dict[Fault, float] = {}
        self._poisoned = False
        self._poison_exposure_s = 0.0
        self._last_value: float | None = None
        self._stuck_value: float | None = None
        self._normals: list[float] = []
        """standard normals drawn ahead from ``rng`` (its only user), consumed in order:
        the same values, one NumPy call per block instead of one per step"""
        self._gain_at: tuple[float, float] | None = None
        """(temperature °C, relative sensitivity) of the last step"""
        # the spec's derived constants, taken once (a detector steps every second)
        self._tau_rise_s = spec.tau_rise_s
        self._tau_fall_s = spec.tau_fall_s
        self._cross = tuple(spec.cross_sensitivity.items())
        self._warm_at_s = start_s + spec.warmup_s - _EPS_S

    def _draw_normals(self) -> tuple[float, float]:
        if len(self._normals) < 2:
            self._normals = self._rng.standard_normal(_NORMAL_BLOCK).tolist()[::-1]
        return self._normals.pop(), self._normals.pop()

    def _gain(self, temperature_c: float) -> float:
        cached = self._gain_at
        if cached is None or cached[0] != temperature_c:
            cached = self._gain_at = (temperature_c, self._spec.relative_sensitivity(temperature_c))
        return cached[1]

    @property
    def spec(self) -> SensorSpec:
        return self._spec

    @property
    def t_s(self) -> float:
        """Clock time in s of the latest reading (``start_s`` before the first step)."""
        return self._t_s

    @property
    def drift(self) -> float:
        """Current zero drift in the spec's unit."""
        return self._drift

    @property
    def poisoned(self) -> bool:
        """True once the bead has been poisoned by exposure (injected poisoning excluded)."""
        return self._poisoned

    def active_faults(self) -> frozenset[Fault]:
        """Faults injected and not yet expired at :attr:`t_s`."""
        if not self._faults:
            return _NO_FAULTS
        return frozenset(f for f, until_s in self._faults.items() if self._t_s < until_s)

    def inject(self, fault: Fault, until_s: float) -> None:
        """Start ``fault`` now; it holds for readings at clock times before ``until_s``
        (``math.inf``: for good).  ``"stuck"`` freezes the last value reported; a sensor stuck
        before any value reports the first value it computes."""
        if fault not in FAULTS:
            raise ValueError(f"Sensor {self._spec.name!r}: unknown fault {fault!r}")
        if fault == "stuck" and "stuck" not in self.active_faults():
            self._stuck_value = self._last_value
        self._faults[fault] = until_s

    def step(self, true_values: Mapping[str, float], dt_s: float) -> Reading:
        """Advance ``dt_s`` seconds with ``true_values`` (quantity → true value, units of
        :data:`INTERFERENT_UNITS`) held over the step, and return the reading at its end.

        Raises ValueError when ``dt_s`` is negative or not finite, or when the sensed
        quantity is missing from ``true_values`` or any value is not finite."""
        spec = self._spec
        if not (math.isfinite(dt_s) and dt_s >= 0.0):
            raise ValueError(f"Sensor {spec.name!r}: dt_s must be finite and >= 0, got {dt_s!r}")
        if spec.quantity not in true_values:
            raise ValueError(f"Sensor {spec.name!r}: true_values has no {spec.quantity!r}")
        if not all(map(math.isfinite, true_values.values())):
            bad = [q for q, v in true_values.items() if not math.isfinite(v)]
            raise ValueError(f"Sensor {spec.name!r}: true_values not finite for {bad}")
        return self.step_checked(true_values, dt_s)

    def step_checked(self, true_values: Mapping[str, float], dt_s: float) -> Reading:
        """:meth:`step` for a caller that has already checked its arguments (finite values
        that include the sensed quantity, ``dt_s`` finite and >= 0): a robot's detector
        checks them once for all its cells.  The same arithmetic, in the same order."""
        spec = self._spec
        self._t_s += dt_s
        z_drift, z_noise = self._draw_normals()
        if spec.poisoning is not None:
            self._update_poisoning(true_values, dt_s)

        signal = self._lag(spec.quantity, true_values[spec.quantity], dt_s)
        for gas, factor in self._cross:
            signal += factor * self._lag(gas, true_values.get(gas, 0.0), dt_s)
        temperature_c = true_values.get("temperature", REFERENCE_TEMPERATURE_C)
        gain = self._gain(temperature_c)
        poisoned = self._poisoned or (bool(self._faults) and "poisoned" in self.active_faults())
        if poisoned and spec.poisoning is not None:
            gain *= spec.poisoning.sensitivity_factor
        self._drift += spec.drift_sd_per_h * math.sqrt(dt_s / _SECONDS_PER_HOUR) * z_drift
        raw = gain * signal + self._drift + spec.noise_sd * z_noise
        value = _quantise(raw, spec.resolution)
        status: SensorStatus = "poisoned" if poisoned else "ok"
        if value > spec.range_max or value < spec.range_min:
            value = min(max(value, spec.range_min), spec.range_max)
            status = "over_range"
        return self._report(value, status)

    def _report(self, value: float, status: SensorStatus) -> Reading:
        """Apply warm-up and injected faults to the computed reading."""
        if self._t_s < self._warm_at_s:
            return Reading(None, "warmup")
        if self._faults:
            faults = self.active_faults()
            if "fault" in faults:
                return Reading(None, "fault")
            if "dropout" in faults:
                return Reading(None, "dropout")
            if "stuck" in faults:
                if self._stuck_value is None:
                    self._stuck_value = value
                return Reading(self._stuck_value, "stuck")
        self._last_value = value
        return Reading(value, status)

    def _lag(self, gas: str, x: float, dt_s: float) -> float:
        y = self._lagged.get(gas, x)
        tau_s = self._tau_rise_s if x > y else self._tau_fall_s
        y = x if tau_s <= 0.0 else x + (y - x) * math.exp(-dt_s / tau_s)
        self._lagged[gas] = y
        return y

    def _update_poisoning(self, true_values: Mapping[str, float], dt_s: float) -> None:
        """The bead sees the gas without the diffusion lag of a reading, so the true value
        is compared with the thresholds; the sustained timer restarts at every break."""
        rule = self._spec.poisoning
        if rule is None or self._poisoned:
            return
        level = true_values.get(rule.trigger_quantity, 0.0)
        if level > rule.instant_threshold:
            self._poisoned = True
        elif level > rule.sustained_threshold:
            self._poison_exposure_s += dt_s
            if self._poison_exposure_s >= rule.sustained_duration_s - _EPS_S:
                self._poisoned = True
        else:
            self._poison_exposure_s = 0.0
        if self._poisoned:
            _log.info(
                "sensor %s poisoned by %s at t=%.1f s",
                self._spec.name,
                rule.trigger_quantity,
                self._t_s,
            )


_NORMAL_BLOCK = 256
_NO_FAULTS: frozenset[Fault] = frozenset()


def _quantise(value: float, resolution: float) -> float:
    """Round to the nearest multiple of ``resolution`` (ties to even); 0 means no rounding.
    The final round(…, 10) removes binary artefacts such as 0.30000000000000004."""
    if resolution <= 0.0:
        return value
    return round(round(value / resolution) * resolution, 10)


# ---------------------------------------------------------------------------------------------
# Presets.  Numbers from hazards.md §4.5 unless marked; "(assumed)" marks values the reference
# does not give.  Where a datasheet gives only t90, recovery is taken as fast as the rise.
# Display floors below zero let downscale drift show (GasAlertMicro 5 raises a downscale alarm
# below −½ LOW set point, §1.2); they are set at −(Industrial Scientific LOW set point).
# ---------------------------------------------------------------------------------------------

CO_B4_TEMPERATURE_CURVE: tuple[tuple[float, float], ...] = (
    (-20.0, 0.575),
    (20.0, 1.0),
    (50.0, 1.175),
)
"""Alphasense CO-B4 relative sensitivity: 45–70 % at −20 °C and 110–125 % at 50 °C (§4.5);
the curve takes the middle of each band and 100 % at the 20 °C calibration point."""

ALPHASENSE_CO_B4 = SensorSpec(
    name="Alphasense CO-B4",
    quantity="CO",
    unit="ppm",
    t90_rise_s=15.0,
    t90_fall_s=15.0,
    noise_sd=0.002,  # ±2σ = 4 ppb
    resolution=1.0,  # detector display, §4.5 quantisation list
    range_min=-35.0,
    range_max=1000.0,  # (assumed: CO-B4 performance range, not in the reference)
    drift_sd_per_h=drift_sd_per_h_from_per_year(0.1),  # zero drift < ±100 ppb/yr
    cross_sensitivity={"H2": 0.10},  # H2 < 10 %: the bound is used (worst case)
    temperature_curve=CO_B4_TEMPERATURE_CURVE,
    warmup_s=60.0,  # (assumed)
    source="scribd.com/document/700526047/COB4-11-13 via hazards.md §4.5: t90 < 15 s, noise "
    "±2σ 4 ppb, zero drift < ±100 ppb/yr, H2 < 10 %, temperature 45–70 % at −20 °C and "
    "110–125 % at 50 °C. Assumed: range 1000 ppm, warm-up 60 s. Not modelled: sensitivity "
    "drift < 10 %/yr.",
)

ALPHASENSE_SO2_A4 = SensorSpec(
    name="Alphasense SO2-A4",
    quantity="SO2",
    unit="ppm",
    t90_rise_s=20.0,
    t90_fall_s=20.0,
    noise_sd=0.0075,  # 15 ppb, read as ±2σ like the other Alphasense sheets
    resolution=0.1,  # (assumed: toxic resolution as for H2S in §4.5)
    range_min=-2.0,
    range_max=100.0,  # (assumed)
    cross_sensitivity={"NO2": -1.60},
    warmup_s=60.0,  # (assumed)
    source="de.scribd.com/document/332637074 via hazards.md §4.5: t90 < 20 s, noise 15 ppb, "
    "NO2 cross-sensitivity −160 %. Assumed: resolution 0.1 ppm, range 100 ppm, warm-up 60 s.",
)

ALPHASENSE_SO2_B4 = SensorSpec(
    name="Alphasense SO2-B4",
    quantity="SO2",
    unit="ppm",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.0025,  # 5 ppb as ±2σ
    resolution=0.1,  # (assumed)
    range_min=-2.0,
    range_max=100.0,  # (assumed)
    drift_sd_per_h=drift_sd_per_h_from_per_year(0.02),  # zero drift < ±20 ppb/yr
    warmup_s=60.0,  # (assumed)
    source="scribd.com/document/700525365 via hazards.md §4.5: t90 < 30 s, noise 5 ppb, zero "
    "drift < ±20 ppb/yr. The reference gives no cross-sensitivity for the B4. Assumed: "
    "resolution 0.1 ppm, range 100 ppm, warm-up 60 s.",
)

MX6_IR_METHANE = SensorSpec(
    name="Industrial Scientific MX6 IR methane",
    quantity="LEL",
    unit="%LEL",
    t90_rise_s=25.0,
    t90_fall_s=25.0,
    noise_sd=0.3,  # (assumed: project default of simulator/robot_actions.py)
    resolution=1.0,
    range_min=-10.0,
    range_max=100.0,
    warmup_s=60.0,  # (assumed)
    source="omniinstruments.co.uk/p/17124975-s via hazards.md §4.5: T50 10 s, T90 25 s, "
    "resolution 1 % LEL. A first-order lag cannot match both: t90 is kept (its t50 is 7.5 s). "
    "IR is not poisoned by H2S. Assumed: noise 0.3 % LEL, warm-up 60 s.",
)

MSA_ALTAIR_4_LEL = SensorSpec(
    name="MSA ALTAIR 4 catalytic LEL",
    quantity="LEL",
    unit="%LEL",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.3,  # (assumed; reproducibility ±3 % LEL is calibration scatter, not noise)
    resolution=1.0,
    range_min=-10.0,
    range_max=100.0,  # > 100 % LEL shows "XXX" (ALTAIR 4X, §1.2)
    warmup_s=60.0,  # (assumed)
    poisoning=ALTAIR_4X_H2S_POISONING,
    source="easymanua.ls/msa/altair-4/manual?p=47 via hazards.md §4.5: T90 <= 30 s, "
    "reproducibility ±3 % LEL (0–50 %), ±5 % (50–100 %); poisoning from the ALTAIR 4X manual. "
    "Assumed: noise 0.3 % LEL, warm-up 60 s, poisoned sensitivity 50 %. Not modelled: the "
    "under-reading below 10 %vol O2 (§1.2; flag it from the O2 reading).",
)

MSA_ALTAIR_4_O2 = SensorSpec(
    name="MSA ALTAIR 4 O2",
    quantity="O2",
    unit="%vol",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.05,  # (assumed: project default of simulator/robot_actions.py)
    resolution=0.1,
    range_min=0.0,
    range_max=30.0,  # (assumed)
    warmup_s=60.0,  # (assumed)
    source="easymanua.ls/msa/altair-4/manual?p=47 via hazards.md §4.5: response 30 s (3 min in "
    "the extended temperature range, not modelled), resolution 0.1 %vol, reproducibility "
    "0.7 %vol. Assumed: noise 0.05 %vol, range 0–30 %vol, warm-up 60 s.",
)

GENERIC_EC_CROSS_SENSITIVITY: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "CO": MappingProxyType({"H2": 0.60, "H2S": 0.10}),
        "Cl2": MappingProxyType({"NO2": 1.20}),
    }
)
"""Upper-bound cross-sensitivities of generic electrochemical cells (Biosystems/City
Technology table, hazards.md §1.2): the CO cell sees up to ~60 % of H2 and < 10 % of H2S; the
Cl2 cell sees ~120 % of NO2.  Target quantity → interferent → factor."""

GENERIC_EC_H2S = SensorSpec(
    name="generic electrochemical H2S",
    quantity="H2S",
    unit="ppm",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.1,  # (assumed: project default of simulator/robot_actions.py)
    resolution=0.1,
    range_min=-10.0,
    range_max=200.0,  # (assumed)
    warmup_s=60.0,  # (assumed)
    source="hazards.md §4.5: typical electrochemical t90 15–30 s (the slow end is used), "
    "resolution 0.1 ppm. Not a datasheet: noise, range and warm-up assumed.",
)

GENERIC_EC_CO = SensorSpec(
    name="generic electrochemical CO",
    quantity="CO",
    unit="ppm",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.5,  # (assumed: project default of simulator/robot_actions.py)
    resolution=1.0,
    range_min=-35.0,
    range_max=1000.0,  # (assumed)
    cross_sensitivity=GENERIC_EC_CROSS_SENSITIVITY["CO"],
    warmup_s=60.0,  # (assumed)
    source="hazards.md §4.5 (typical t90, resolution 1 ppm) and §1.2 (Biosystems/City "
    "Technology cross-sensitivities, upper bounds). Noise, range and warm-up assumed.",
)

GENERIC_EC_CL2 = SensorSpec(
    name="generic electrochemical Cl2",
    quantity="Cl2",
    unit="ppm",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.05,  # (assumed: project default of simulator/robot_actions.py)
    resolution=0.1,
    range_min=-0.5,
    range_max=20.0,  # (assumed)
    cross_sensitivity=GENERIC_EC_CROSS_SENSITIVITY["Cl2"],
    warmup_s=60.0,  # (assumed)
    source="hazards.md §4.5 (typical t90) and §1.2 (Cl2 cell sees ~120 % of NO2). Noise, "
    "resolution, range and warm-up assumed.",
)

PRESETS: Mapping[str, SensorSpec] = MappingProxyType(
    {
        "alphasense_co_b4": ALPHASENSE_CO_B4,
        "alphasense_so2_a4": ALPHASENSE_SO2_A4,
        "alphasense_so2_b4": ALPHASENSE_SO2_B4,
        "mx6_ir_methane": MX6_IR_METHANE,
        "msa_altair_4_lel": MSA_ALTAIR_4_LEL,
        "msa_altair_4_o2": MSA_ALTAIR_4_O2,
        "generic_ec_h2s": GENERIC_EC_H2S,
        "generic_ec_co": GENERIC_EC_CO,
        "generic_ec_cl2": GENERIC_EC_CL2,
    }
)
"""Every preset by a config-friendly key."""

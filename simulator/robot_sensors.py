"""The simulated robot's detectors: gas sensor models and a gamma counter, stepped with it.

A :class:`SensorSuite` carries one :class:`~simulator.physics.sensors.Sensor` per gas the
robot measures and, in a world with radiation sources, a Poisson counting
:class:`~simulator.physics.radiation.Detector`.  The robot calls :meth:`SensorSuite.observe`
with its position every step (the suite updates once a period, see "Update rate"), so each
cell's first-order lag runs all the time, driving or not: a reading
taken right after arriving somewhere still lags the truth, which is why the mission templates
dwell at least t90 before they read.

Gas cells (presets of :data:`simulator.physics.sensors.PRESETS`, datasheet numbers and their
assumptions documented there):

=========  ==============================  ===========================================
quantity   preset                          why this one
=========  ==============================  ===========================================
``O2``     ``msa_altair_4_o2``             the portable multi-gas meter of the reference
``LEL``    ``msa_altair_4_lel``            catalytic bead: it can be poisoned by H2S
``H2S``    ``generic_ec_h2s``              t90 30 s (slow end of electrochemical cells)
``CO``     ``generic_ec_co``               sees H2S (< 10 %) and H2 (no world models H2)
``Cl2``    ``generic_ec_cl2``              sees NO2 (~120 %)
``SO2``    ``alphasense_so2_a4``           reads down in NO2 (−160 %)
``NH3``    :data:`GENERIC_EC_NH3`          no preset yet: defined here (assumed values)
``NO2``    :data:`GENERIC_EC_NO2`          no preset yet: defined here (assumed values)
=========  ==============================  ===========================================

Update rate.  Like a portable detector, which refreshes its reading about once a second,
the suite updates every :data:`DETECTOR_UPDATE_PERIOD_S` of the robot's steps (with the
position at that step, held over the interval) and whenever an action reads it
(``observe(..., now=True)``), so a result is the reading at the moment it is taken.  The
lag is solved exactly over any interval, so the rate changes nothing about t90; it keeps a
thousand robots' detectors cheap (a full update of the eight cells costs ~70 µs).

Warm-up.  A robot is deployed with its detector switched on and warmed up, so the suite
starts every cell ``warmup_s`` before the first observation, equilibrated with the air where
the robot stands (as a detector zeroes where it is switched on).

Status.  :class:`Measurement` carries the status a real detector would report: it knows when
it is warming up, has a faulted or dropped-out cell, or is over its range, and reports those;
it cannot know that a cell is stuck or its bead poisoned, so those read ``"ok"`` on the wire
(the ground truth is in :meth:`SensorSuite.true_status`, for drill scoring).  A quantity the
environment does not model reads value None with status ``"unavailable"``.

Dose rate.  In a :class:`~simulator.world.HazardWorld` with radiation sources the counter
counts ``Poisson(Ḣ · eff · dt)`` every step at the robot's position and a reading is the
counts of the last ``window_s`` seconds over ``eff · window_s``; elsewhere (no source, or
another environment) :meth:`SensorSuite.dose_rate` returns None and the robot keeps its
simple noisy reading.  Efficiency :data:`DOSE_EFFICIENCY_CPS_PER_USV_H` (assumed: an
energy-compensated GM probe counts of order 1–10 cps per µSv/h).

Randomness: one child generator per cell and one for the counter, spawned from the robot's
generator in a fixed order, so a seed fixes every reading.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np

from simulator.environment import Environment
from simulator.physics.radiation import Detector
from simulator.physics.sensors import (
    FAULTS,
    INTERFERENT_UNITS,
    PRESETS,
    Fault,
    Reading,
    Sensor,
    SensorSpec,
    SensorStatus,
)
from simulator.world import HazardWorld

log = logging.getLogger(__name__)

WireStatus = Literal["ok", "warmup", "over_range", "dropout", "fault", "unavailable"]
"""Status of a reading as the robot reports it (see the module docstring)."""

_REPORTED: Mapping[SensorStatus, WireStatus] = MappingProxyType(
    {
        "ok": "ok",
        "warmup": "warmup",
        "over_range": "over_range",
        "dropout": "dropout",
        "fault": "fault",
        # the detector cannot tell: a stuck cell or a poisoned bead looks healthy
        "stuck": "ok",
        "poisoned": "ok",
    }
)

GENERIC_EC_NH3 = SensorSpec(
    name="generic electrochemical NH3",
    quantity="NH3",
    unit="ppm",
    t90_rise_s=40.0,
    t90_fall_s=40.0,
    noise_sd=0.5,  # (assumed: project default of the robot's former noise table)
    resolution=1.0,  # (assumed)
    range_min=-25.0,
    range_max=500.0,  # (assumed)
    warmup_s=60.0,  # (assumed)
    source="hazards.md §4.5: Danfoss guide, EC NH3 t90 < 40 s (the bound is used). Noise, "
    "resolution, range and warm-up assumed.",
)

GENERIC_EC_NO2 = SensorSpec(
    name="generic electrochemical NO2",
    quantity="NO2",
    unit="ppm",
    t90_rise_s=30.0,
    t90_fall_s=30.0,
    noise_sd=0.1,  # (assumed: project default of the robot's former noise table)
    resolution=0.1,  # (assumed: toxic resolution as for H2S in §4.5)
    range_min=-3.0,
    range_max=50.0,  # (assumed)
    warmup_s=60.0,  # (assumed)
    source="hazards.md §4.5: typical electrochemical t90 15–30 s (the slow end is used). "
    "Noise, resolution, range and warm-up assumed.",
)

DEFAULT_GAS_SENSORS: Mapping[str, SensorSpec] = MappingProxyType(
    {
        "O2": PRESETS["msa_altair_4_o2"],
        "LEL": PRESETS["msa_altair_4_lel"],
        "H2S": PRESETS["generic_ec_h2s"],
        "CO": PRESETS["generic_ec_co"],
        "NH3": GENERIC_EC_NH3,
        "Cl2": PRESETS["generic_ec_cl2"],
        "SO2": PRESETS["alphasense_so2_a4"],
        "NO2": GENERIC_EC_NO2,
    }
)
"""quantity -> the cell that measures it (module docstring)."""

DETECTOR_UPDATE_PERIOD_S = 1.0
"""Seconds between detector updates (module docstring, "Update rate")."""

DOSE_EFFICIENCY_CPS_PER_USV_H = 10.0
"""Counts per second per µSv/h of the robot's gamma probe (assumed, see module docstring)."""

_COUNT_MEMORY_S = 3600.0  # counts kept for dose-rate windows; longer dwells are cut
_EPS_S = 1e-9


@dataclass(frozen=True)
class Measurement:
    """One reading as reported: value in the quantity's unit (None: nothing reported)."""

    value: float | None
    status: WireStatus


class SensorSuite:
    """The robot's gas cells and gamma counter, stepped on the shared clock."""

    def __init__(
        self,
        environment: Environment,
        rng: np.random.Generator,
        specs: Mapping[str, SensorSpec] = DEFAULT_GAS_SENSORS,
        *,
        update_period_s: float = DETECTOR_UPDATE_PERIOD_S,
    ) -> None:
        if not (math.isfinite(update_period_s) and update_period_s >= 0.0):
            raise ValueError(f"update_period_s must be finite and >= 0, got {update_period_s}")
        self._update_period_s = update_period_s
        self._environment = environment
        self._specs = dict(specs)
        children = rng.spawn(len(self._specs) + 1)
        self._cell_rngs = dict(zip(self._specs, children[:-1], strict=True))
        self._sensors: dict[str, Sensor] = {}
        self._readings: dict[str, Reading] = {}
        self._detector: Detector | None = None
        if isinstance(environment, HazardWorld) and any(
            h["kind"] == "radiation_source" for h in environment.ground_truth()
        ):
            self._detector = Detector(DOSE_EFFICIENCY_CPS_PER_USV_H, children[-1])
        self._counts: deque[tuple[float, float, int]] = deque()
        """(step end time s, step length s, counts) of the gamma counter"""
        self._t_s: float | None = None
        self._pending_faults: list[tuple[str, Fault, float]] = []
        wanted: dict[str, None] = {}
        for quantity, spec in self._specs.items():
            wanted[quantity] = None
            for gas in spec.cross_sensitivity:
                wanted[gas] = None
        wanted["temperature"] = None
        self._wanted = tuple(wanted)
        """what the environment is asked at each update: the sensed quantities, their
        interferents and the temperature, in a fixed order"""

    @property
    def t_s(self) -> float | None:
        """Clock time in s the suite has been stepped to (None before the first step)."""
        return self._t_s

    @property
    def update_period_s(self) -> float:
        """Seconds between the detector's own updates (0: every :meth:`observe`)."""
        return self._update_period_s

    @property
    def quantities(self) -> tuple[str, ...]:
        """The gases this suite measures with a sensor model."""
        return tuple(self._specs)

    @property
    def counts_radiation(self) -> bool:
        """True when dose rates come from the Poisson counter."""
        return self._detector is not None

    def observe(self, x_m: float, y_m: float, t_s: float, *, now: bool = False) -> None:
        """Step every cell from its last update to ``t_s`` (s) with the true values at map
        point (``x_m``, ``y_m``) held over the step, if an update is due
        (:attr:`update_period_s` since the last one) or ``now`` is True.  A time not after
        the last update does nothing."""
        if self._t_s is not None:
            if t_s <= self._t_s + _EPS_S:
                return
            if not now and t_s < self._t_s + self._update_period_s - _EPS_S:
                return
        dt_s = 0.0 if self._t_s is None else t_s - self._t_s
        truth = self._truth(x_m, y_m, t_s)
        inputs = _floats({q: v for q, v in truth.items() if q in INTERFERENT_UNITS})
        for quantity, spec in self._specs.items():
            value = truth.get(quantity)
            sensor = self._sensors.get(quantity)
            if value is None:
                self._readings.pop(quantity, None)
                continue
            if sensor is None:
                sensor = self._power_on(quantity, spec, truth, t_s)
                step_s = spec.warmup_s
            else:
                step_s = t_s - sensor.t_s
            # inputs are finite by construction (_truth drops the rest) and hold every
            # sensed quantity that has a value: checked once here, not once per cell
            self._readings[quantity] = sensor.step_checked(inputs, max(0.0, step_s))
        if self._detector is not None and dt_s > 0.0:
            dose = self._environment.sample("doseRate", x_m, y_m, t_s)
            if dose is not None and math.isfinite(dose) and dose >= 0.0:
                self._counts.append((t_s, dt_s, self._detector.count(dose, dt_s)))
            while self._counts and self._counts[0][0] < t_s - _COUNT_MEMORY_S:
                self._counts.popleft()
        self._t_s = t_s

    def reading(self, quantity: str) -> Measurement | None:
        """The latest reading of ``quantity`` as the robot reports it; None when no cell of
        this suite measures it."""
        if quantity not in self._specs:
            return None
        got = self._readings.get(quantity)
        if got is None:
            return Measurement(None, "unavailable")
        return Measurement(got.value, _REPORTED[got.status])

    def true_status(self, quantity: str) -> SensorStatus | None:
        """Ground-truth status of the latest reading (stuck and poisoned included)."""
        got = self._readings.get(quantity)
        return got.status if got is not None else None

    def dose_rate(self, window_s: float) -> float | None:
        """Dose rate in µSv/h from the counts of the last ``window_s`` seconds; None when this
        suite has no counter or has counted for no time yet."""
        if self._detector is None or self._t_s is None:
            return None
        start_s = self._t_s - max(window_s, 0.0)
        counts = 0
        counted_s = 0.0
        for end_s, dt_s, n in reversed(self._counts):
            if end_s - dt_s < start_s - _EPS_S:
                break
            counts += n
            counted_s += dt_s
        if counted_s <= 0.0 and self._counts:
            # a window shorter than one step: the last step's counts
            end_s, counted_s, counts = self._counts[-1]
        if counted_s <= 0.0:
            return None
        return self._detector.measured_dose_rate(counts, counted_s)

    def inject(self, quantity: str, fault: Fault, until_s: float) -> bool:
        """Inject ``fault`` into the cell measuring ``quantity`` until clock time ``until_s``
        (``math.inf``: for good); False (and a warning) when no cell measures it."""
        if fault not in FAULTS:
            raise ValueError(f"unknown sensor fault {fault!r}; known: {FAULTS}")
        if quantity not in self._specs:
            log.warning("sensor fault %s: no sensor measures %r", fault, quantity)
            return False
        sensor = self._sensors.get(quantity)
        if sensor is None:
            # not powered on yet (no step so far): applied at power-on
            self._pending_faults.append((quantity, fault, until_s))
        else:
            sensor.inject(fault, until_s)
        log.info(
            "sensor %s (%s): %s until t=%s s", quantity, self._specs[quantity].name, fault, until_s
        )
        return True

    # ------------------------------------------------------------------ internals

    def _truth(self, x_m: float, y_m: float, t_s: float) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for q in self._wanted:
            value = self._environment.sample(q, x_m, y_m, t_s)
            out[q] = value if value is None or math.isfinite(value) else None
        return out

    def _power_on(
        self, quantity: str, spec: SensorSpec, truth: Mapping[str, float | None], t_s: float
    ) -> Sensor:
        initial = _floats({q: v for q, v in truth.items() if q in INTERFERENT_UNITS})
        sensor = Sensor(
            spec,
            self._cell_rngs[quantity],
            start_s=t_s - spec.warmup_s,
            initial_values=initial,
        )
        for q, fault, until_s in self._pending_faults:
            if q == quantity:
                sensor.inject(fault, until_s)
        self._sensors[quantity] = sensor
        return sensor


def _floats(values: Mapping[str, float | None]) -> dict[str, float]:
    return {q: float(v) for q, v in values.items() if v is not None}


__all__ = [
    "DEFAULT_GAS_SENSORS",
    "DETECTOR_UPDATE_PERIOD_S",
    "DOSE_EFFICIENCY_CPS_PER_USV_H",
    "GENERIC_EC_NH3",
    "GENERIC_EC_NO2",
    "Measurement",
    "SensorSuite",
    "WireStatus",
]

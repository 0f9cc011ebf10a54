"""Running one action: its status machine, its measurements and its result.

Status machine (section 6.11): WAITING -> INITIALIZING -> RUNNING -> FINISHED | FAILED,
with RUNNING/INITIALIZING <-> PAUSED while the robot is paused by ``startPause``.  An
action changes status at most once per simulation step, so every status is visible in at
least one published state message.

Gas readings come from the robot's detector (:mod:`simulator.robot_sensors`): sensor
models run all the time along the robot's path (:meth:`Instruments.observe`, every step),
so a reading lags the truth by the cell's t90.  A sensing action reports the detector's
reading at the moment of each phase (a NONE-blocking reading taken while driving is the
reading where the robot is at that moment).  ``doseRate`` comes from the Poisson counter
over the action's running time when the world has radiation sources; ``temperature``
(thermalScan) and dose rates elsewhere are the true value plus seeded Gaussian noise,
rounded to the instrument's resolution.  Results are compact JSON in
``resultDescription``::

    {"readings": {"O2": {"value": 20.9, "unit": "%vol", "status": "ok"}, ...},
     "x_m": 3.0, "y_m": 4.0, "mapId": "site"}

The insertion order of ``readings`` is the order of measurement (an ``atmosphericTest``
reads O2, then LEL, then the toxic gases).  ``value`` is null when the environment does
not model the quantity (status ``unavailable``) or the sensor gives no value (status
``warmup``, ``dropout`` or ``fault``); ``over_range`` values are clipped to the range.

``captureImage`` and ``thermalScan`` also take a camera frame (:mod:`simulator.camera`)
when they finish; the robot publishes it on its camera topic (docs/protocol.md) and the
result names it by ``imageId``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import JsonValue

from drivers.vda5050.camera import FrameKind
from drivers.vda5050.messages import ActionStatus, BlockingType
from simulator.camera import Camera, CapturedFrame
from simulator.environment import QUANTITY_UNITS, TOXIC_GASES, Environment
from simulator.robot_sensors import Measurement, SensorSuite
from simulator.robot_spec import RADIUS_PARAM

ACTIVE = frozenset({ActionStatus.INITIALIZING, ActionStatus.RUNNING, ActionStatus.PAUSED})
FINAL = frozenset({ActionStatus.FINISHED, ActionStatus.FAILED})

_EPS_S = 1e-9  # float slack: ten FakeClock ticks of 0.1 s sum to 0.9999999999999999 s
_THERMAL_RADIUS_M = 2.0
_THERMAL_RAYS = 8

# Simple instruments (true value + noise): quantity -> (absolute noise sd, relative noise sd,
# resolution, lowest value, highest value).  Gases with a cell in the detector
# (simulator.robot_sensors) use the cell instead; their rows serve environments whose
# detector has no cell for them.
_SENSOR: Mapping[str, tuple[float, float, float, float, float]] = {
    "O2": (0.05, 0.0, 0.1, 0.0, 100.0),
    "LEL": (0.3, 0.0, 1.0, 0.0, 100.0),
    "H2S": (0.1, 0.02, 0.1, 0.0, math.inf),
    "CO": (0.5, 0.02, 1.0, 0.0, math.inf),
    "NH3": (0.5, 0.02, 1.0, 0.0, math.inf),
    "Cl2": (0.05, 0.02, 0.1, 0.0, math.inf),
    "SO2": (0.1, 0.02, 0.1, 0.0, math.inf),
    "NO2": (0.1, 0.02, 0.1, 0.0, math.inf),
    "CH4": (0.01, 0.0, 0.01, 0.0, 100.0),
    "temperature": (0.2, 0.0, 0.1, -273.15, math.inf),
    "doseRate": (0.005, 0.05, 0.01, 0.0, math.inf),
}

# action type -> phases (fraction of the running time, quantities read at that moment)
_PROGRAMS: Mapping[str, tuple[tuple[float, tuple[str, ...]], ...]] = {
    "measureGas": ((1.0, ("O2", "LEL", "H2S", "CO")),),
    "measureDoseRate": ((1.0, ("doseRate",)),),
    "atmosphericTest": ((1 / 3, ("O2",)), (2 / 3, ("LEL",)), (1.0, TOXIC_GASES)),
}


class Origin(StrEnum):
    NODE = "NODE"
    EDGE = "EDGE"
    INSTANT = "INSTANT"


@dataclass(frozen=True)
class PlannedAction:
    """An action as accepted from an order or an instantActions message."""

    action_id: str
    action_type: str
    blocking: BlockingType
    params: Mapping[str, JsonValue]
    description: str | None = None


@dataclass(frozen=True)
class Where:
    """Where and when the robot is: metres, radians, simulation seconds."""

    x_m: float
    y_m: float
    theta: float
    t_s: float


class Instruments:
    """The robot's detector, camera, simple instruments and id generator.

    ``environment`` is the truth; ``rng`` the robot's generator (the detector's cells and
    the camera get child streams spawned from it, the simple instruments draw from it).
    """

    def __init__(
        self, environment: Environment, rng: np.random.Generator, serial: str, map_id: str
    ) -> None:
        self._environment = environment
        self._rng = rng
        self._serial = serial
        self.map_id = map_id
        self._counters: dict[str, int] = {}
        sensors_rng, camera_rng = rng.spawn(2)
        self.sensors = SensorSuite(environment, sensors_rng)
        """gas cells and gamma counter, stepped by :meth:`observe`"""
        self.camera = Camera(environment, camera_rng)
        self._frames: list[CapturedFrame] = []

    def observe(self, where: Where) -> None:
        """Let the detector update at ``where.t_s`` with the robot at ``where``, if an update
        is due (the robot calls it every step)."""
        self.sensors.observe(where.x_m, where.y_m, where.t_s)

    def measure(self, quantity: str, where: Where, window_s: float = 0.0) -> Measurement:
        """What the robot reports for ``quantity`` at ``where`` now: the detector's reading
        for a gas it has a cell for, the counter's dose rate over the last ``window_s``
        seconds when it counts, else :meth:`read`."""
        # the reading at this moment, between the detector's periodic updates
        self.sensors.observe(where.x_m, where.y_m, where.t_s, now=True)
        got = self.sensors.reading(quantity)
        if got is not None:
            return got
        if quantity == "doseRate" and self.sensors.counts_radiation:
            dose = self.sensors.dose_rate(window_s)
            if dose is not None:
                return Measurement(round(dose, 6), "ok")
        value = self.read(quantity, where)
        return Measurement(value, "ok" if value is not None else "unavailable")

    def stream(self, dose_window_s: float) -> list[tuple[str, Measurement]]:
        """The detector's latest reading of every channel it has (and the counter's dose
        rate over the last ``dose_window_s``), for the sensor stream; draws nothing."""
        out: list[tuple[str, Measurement]] = []
        for quantity in self.sensors.quantities:
            got = self.sensors.reading(quantity)
            if got is not None:
                out.append((quantity, got))
        if self.sensors.counts_radiation:
            dose = self.sensors.dose_rate(dose_window_s)
            out.append(
                ("doseRate", Measurement(None, "unavailable"))
                if dose is None
                else ("doseRate", Measurement(round(dose, 6), "ok"))
            )
        return out

    def anemometer(self, where: Where) -> list[tuple[str, Measurement]]:
        """The mast anemometer's wind speed (0.1 m/s) and direction (1°) at ``where``, as
        a sonic anemometer reports them (no moving parts: no lag; its noise is far below
        these resolutions); empty where the environment models no wind.  Draws nothing."""
        speed = self._environment.sample("windSpeed", where.x_m, where.y_m, where.t_s)
        direction = self._environment.sample("windDirection", where.x_m, where.y_m, where.t_s)
        if speed is None or direction is None:
            return []
        return [
            ("windSpeed", Measurement(round(speed, 1), "ok")),
            ("windDirection", Measurement(float(round(direction) % 360), "ok")),
        ]

    def read(self, quantity: str, where: Where) -> float | None:
        """True value at ``where`` plus seeded Gaussian noise, rounded to the resolution."""
        true_value = self._environment.sample(quantity, where.x_m, where.y_m, where.t_s)
        if true_value is None:
            return None
        sensor = _SENSOR.get(quantity)
        if sensor is None:
            return float(true_value)
        abs_sd, rel_sd, resolution, low, high = sensor
        noisy = true_value + float(self._rng.normal(0.0, abs_sd + rel_sd * abs(true_value)))
        clamped = min(high, max(low, noisy))
        return round(round(clamped / resolution) * resolution, 6)

    def capture(self, kind: FrameKind, where: Where, action_id: str, action_type: str) -> str:
        """Render a camera frame of ``kind`` at ``where`` for the robot to publish; its id."""
        image_id = self.next_id("img" if kind == "rgb" else "thr")
        self._frames.append(
            CapturedFrame(
                image_id=image_id,
                action_id=action_id,
                action_type=action_type,
                map_id=self.map_id,
                frame=self.camera.capture(kind, where.x_m, where.y_m, where.theta, where.t_s),
            )
        )
        return image_id

    def take_frames(self) -> list[CapturedFrame]:
        """Frames captured since the last call, oldest first (the robot publishes them)."""
        frames, self._frames = self._frames, []
        return frames

    def next_id(self, kind: str) -> str:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return f"{self._serial}-{kind}-{n:04d}"


class ActionRun:
    """The life of one action on the robot."""

    def __init__(
        self,
        action: PlannedAction,
        origin: Origin,
        *,
        duration_s: float,
        simulate_failure: bool,
        scope_sequence_id: int | None = None,
    ) -> None:
        self.action = action
        self.origin = origin
        self.scope_sequence_id = scope_sequence_id
        """sequenceId of the node or edge the action belongs to (None for instant ones)"""
        self.duration_s = duration_s
        self.simulate_failure = simulate_failure
        self.status = ActionStatus.WAITING
        self.result: str | None = None
        self.running_s = 0.0
        self._resume_status: ActionStatus | None = None
        self._readings: dict[str, Measurement] = {}
        self._phase = 0
        self._changed_tick = -1

    @property
    def action_id(self) -> str:
        return self.action.action_id

    @property
    def blocking(self) -> BlockingType:
        return self.action.blocking

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def _set(self, status: ActionStatus, tick: int) -> None:
        self.status = status
        self._changed_tick = tick

    def start(self, tick: int) -> None:
        """Triggered: preparation begins (WAITING -> INITIALIZING)."""
        self._set(ActionStatus.INITIALIZING, tick)

    def pause(self, tick: int) -> bool:
        if self.status not in (ActionStatus.INITIALIZING, ActionStatus.RUNNING):
            return False
        self._resume_status = self.status
        self._set(ActionStatus.PAUSED, tick)
        return True

    def resume(self, tick: int) -> bool:
        if self.status is not ActionStatus.PAUSED:
            return False
        self._set(self._resume_status or ActionStatus.RUNNING, tick)
        self._resume_status = None
        return True

    def fail(self, reason: str, tick: int) -> bool:
        if self.final:
            return False
        self.result = reason
        self._set(ActionStatus.FAILED, tick)
        return True

    def finish_now(self, result: str, tick: int) -> None:
        """For actions that complete at once (control instant actions)."""
        self.result = result
        self._set(ActionStatus.FINISHED, tick)

    def progress(self, dt_s: float, tick: int, where: Where, instruments: Instruments) -> bool:
        """Advance by ``dt_s`` seconds; True when the status changed."""
        if self._changed_tick == tick:
            return False
        if self.status is ActionStatus.INITIALIZING:
            self._set(ActionStatus.RUNNING, tick)
            self.running_s += dt_s
            self._take_due_phases(where, instruments)
            return True
        if self.status is not ActionStatus.RUNNING:
            return False
        self.running_s += dt_s
        self._take_due_phases(where, instruments)
        if self.running_s + _EPS_S >= self.duration_s:
            self.complete(where, instruments, tick)
            return True
        return False

    def complete(self, where: Where, instruments: Instruments, tick: int) -> None:
        """End now: take any measurement still due and report the result."""
        if self.simulate_failure:
            self.result = (
                f"simulated failure: {self.action.action_type} ended FAILED because "
                "the order set simulateFailure=true"
            )
            self._set(ActionStatus.FAILED, tick)
            return
        self._phase_all(where, instruments)
        self.result = self._result(where, instruments)
        self._set(ActionStatus.FINISHED, tick)

    # ---------------------------------------------------------------- measurements

    def _take_due_phases(self, where: Where, instruments: Instruments) -> None:
        program = _PROGRAMS.get(self.action.action_type, ())
        done = self.running_s / self.duration_s if self.duration_s > 0 else 1.0
        while self._phase < len(program) and done + _EPS_S >= program[self._phase][0]:
            for quantity in program[self._phase][1]:
                self._readings[quantity] = instruments.measure(quantity, where, self.running_s)
            self._phase += 1

    def _phase_all(self, where: Where, instruments: Instruments) -> None:
        program = _PROGRAMS.get(self.action.action_type, ())
        while self._phase < len(program):
            for quantity in program[self._phase][1]:
                self._readings[quantity] = instruments.measure(quantity, where, self.running_s)
            self._phase += 1

    def _result(self, where: Where, instruments: Instruments) -> str:
        action_type = self.action.action_type
        place: dict[str, JsonValue] = {
            "x_m": round(where.x_m, 3),
            "y_m": round(where.y_m, 3),
            "mapId": instruments.map_id,
        }
        if action_type in _PROGRAMS:
            readings: dict[str, JsonValue] = {
                q: {"value": m.value, "unit": QUANTITY_UNITS.get(q, ""), "status": m.status}
                for q, m in self._readings.items()
            }
            return _json({"readings": readings, **place})
        if action_type == "thermalScan":
            hottest = self._thermal_max(where, instruments)
            scan: dict[str, JsonValue] = {
                "temperatureMax": {
                    "value": hottest,
                    "unit": QUANTITY_UNITS["temperature"],
                    "status": "ok" if hottest is not None else "unavailable",
                }
            }
            image_id = instruments.capture("thermal", where, self.action_id, action_type)
            return _json({"readings": scan, **place, "imageId": image_id})
        if action_type == "captureImage":
            image_id = instruments.capture("rgb", where, self.action_id, action_type)
            return _json({"imageId": image_id, **place, "theta": round(where.theta, 4)})
        if action_type == "collectSample":
            return _json({"sampleId": instruments.next_id("smp"), **place})
        return "done"

    def _thermal_max(self, where: Where, instruments: Instruments) -> float | None:
        radius_m = self.action.params.get(RADIUS_PARAM, _THERMAL_RADIUS_M)
        r = float(radius_m) if isinstance(radius_m, int | float) else _THERMAL_RADIUS_M
        points = [where] + [
            Where(
                where.x_m + r * math.cos(2 * math.pi * k / _THERMAL_RAYS),
                where.y_m + r * math.sin(2 * math.pi * k / _THERMAL_RAYS),
                where.theta,
                where.t_s,
            )
            for k in range(_THERMAL_RAYS)
        ]
        values = [v for p in points if (v := instruments.read("temperature", p)) is not None]
        return max(values) if values else None


def _json(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

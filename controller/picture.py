"""The live hazard picture: what the robots sense, fused into maps and source estimates.

:class:`HazardPicture` is pure (no I/O, no clock: every call takes the time, seconds on
the controller's monotonic clock).  The controller feeds it every accepted sensor message
and every camera frame, and reads it for alerts, the API and drill scoring.  It keeps, on
one grid over the site (docs/fusion.md for the estimators themselves):

* a **gas map per channel** (Kernel DM+V/W: mean, variance, confidence) from every ``ok``
  reading, wind-stretched with the wind the robots report;
* a **dose-rate map** from the ``doseRate`` channel;
* the **hazard layers** (log-odds with time decay) fed by the camera detectors, each
  report weighted by that detector's measured true/false positive rates
  (:data:`DETECTOR_RELIABILITY`); a frame that shows nothing of a kind is a confirmed
  miss over its footprint;
* a **gas source estimate** per toxic channel (and CH4), started the first time a reading
  of that channel passes its trigger (:data:`SOURCE_TRIGGERS`), with the fleet's mean wind
  at that moment; earlier readings of the last ``history_s`` seconds are replayed into it,
  so the clean air around the leak counts too;
* a **radiation source estimate**, started the first time a dose rate passes
  ``dose_trigger_usv_h``.

Cost is bounded for large fleets: readings are buffered and fused into the kernel maps
in one batch per :meth:`HazardPicture.flush` (one call per controller step); a source
estimator takes at most one reading per robot every ``source_min_interval_s``, and from
all robots together ``source_max_readings_per_s`` on average (a token bucket, so a crowd
arriving at once, or the replay at its start, cannot break the budget), and only
considers candidate cells within ``source_search_radius_m`` of where its gas was first
found; before any trigger, nothing but the kernel maps is computed.

One faulty robot never poisons the picture: readings whose status is not ``ok`` are not
fused (the robot itself says the cell is warming up, over range, dropped out or faulty);
a stuck cell that still says ``ok`` is caught by the gas estimator's flat-line rule and
consensus weighting (docs/fusion.md).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controller.fusion.dose_map import DoseRateMap
from controller.fusion.gas_map import KernelDMV
from controller.fusion.gas_source import GasSourceEstimate, GasSourceEstimator, ppm_per_g_m3
from controller.fusion.grid import BoolArray, GridSpec
from controller.fusion.hazard_map import HazardMap
from controller.fusion.radiation_source import RadiationSourceEstimate, RadiationSourceEstimator
from controller.fusion.serial_jobs import SerialJobs
from drivers.vda5050.sensors import SensorReadings
from missions.alarms import CHANNEL_UNITS
from missions.site import SiteMap

log = logging.getLogger(__name__)

GAS_CHANNELS: tuple[str, ...] = ("H2S", "CO", "NH3", "Cl2", "SO2", "NO2", "LEL", "CH4", "O2")
"""channels that get a gas map"""

MOLAR_MASS_G_MOL: Mapping[str, float] = {
    "H2S": 34.08,
    "CO": 28.01,
    "NH3": 17.03,
    "Cl2": 70.90,
    "SO2": 64.07,
    "NO2": 46.01,
    "CH4": 16.04,
}
"""channels whose source the controller estimates, with the molar mass that turns their
reading into g/m³ (CH4 reads %vol: 10,000 ppm per %vol)"""

SOURCE_TRIGGERS: Mapping[str, float] = {
    "H2S": 1.0,
    "CO": 5.0,
    "NH3": 5.0,
    "Cl2": 0.3,
    "SO2": 1.0,
    "NO2": 1.0,
    "CH4": 0.25,
}
"""a reading above this (the channel's unit) is gas, not sensor noise: well above each
cell's noise and drift band (simulator/robot.py's clean-air bounds) and below the lowest
alarm set point of docs/alarms.md; the first one starts that channel's source estimate"""

SENSOR_T90_S: Mapping[str, float] = {
    "H2S": 30.0,
    "CO": 30.0,
    "NH3": 90.0,
    "Cl2": 60.0,
    "SO2": 30.0,
    "NO2": 40.0,
    "CH4": 20.0,
}
"""response time t90 of typical cells (hazards.md §4.5: Alphasense, City, Dräger data),
used to filter the forward model as the cell filters the gas; a site sets its own
detectors' values in :class:`PictureSettings`"""

DETECTOR_RELIABILITY: Mapping[str, tuple[float, float, str]] = {
    "flame": (
        0.87,
        0.08,
        "still decision v3 on the held-out half of the CAIR fire image set: "
        "recall 0.870, FPR 0.078 (bench/detect_eval.py)",
    ),
    "smoke": (
        0.80,
        0.10,
        "assumed: no labelled smoke set here; Shafar et al. 2017 report "
        "72-91 % for weights-free smoke detection (hazards.md §2.2)",
    ),
    "hotspot": (0.95, 0.02, "assumed: radiometric thresholding of a calibrated camera"),
}
"""detector kind -> (true positive rate, false positive rate, where the figures come from)"""

LAYER_OF_DETECTION: Mapping[str, str] = {"flame": "fire", "smoke": "smoke", "hotspot": "heat"}


@dataclass(frozen=True)
class PictureSettings:
    cell_m: float = 0.5
    """hazard-map and gas-map cell side"""
    margin_m: float = 5.0
    """the grid covers the site's nodes and zones plus this margin"""
    kernel_sigma_m: float = 1.0
    wind_scale_s: float = 1.0
    """DM+V/W stretch γ: metres per m/s of wind"""
    map_decay_per_s: float = 1.0 / 600.0
    """gas-map time decay β: a reading weighs 1/e after 10 minutes"""
    source_cell_m: float = 1.0
    source_search_radius_m: float = 15.0
    """candidate source cells lie within this of the first reading past the trigger"""
    source_min_interval_s: float = 2.0
    """a robot's readings enter a source estimate at most this often"""
    source_max_readings_per_s: float = 0.5
    """and all robots' together at most this often on average (a reading costs 1-10 ms,
    with the candidate count): with many robots in the gas each robot's interval grows"""
    source_burst_readings: int = 24
    """the most readings an estimate takes at once, at its start (the replay) or after a
    quiet spell: a token bucket of this size refilled at ``source_max_readings_per_s``"""
    source_reference_hypotheses: int = 150_000
    """the two above hold for an estimate of up to this many hypotheses (an indoor search,
    15 m at 1 m cells: ~136,000); a larger one (a wide outdoor search) gets both scaled
    down in proportion, so its cost per simulated second stays the same"""
    source_upwind_s: float = 120.0
    """outdoors the search reaches as far upwind as the wind carries gas in this time"""
    source_cells_across: float = 25.0
    """candidate cells per search radius at most (the cells coarsen beyond)"""
    source_open_air_diffusivities_m2_s: tuple[float, ...] = (5.0, 20.0)
    """added when the search reaches beyond ``source_search_radius_m``: open-air plumes
    spread like eddy diffusivities of metres²/s (a class-D plume 150 m downwind has
    σy ≈ 12 m)"""
    source_reading_margin_m: float = 10.0
    """readings farther than this beyond the candidate area are not used"""
    source_replay_per_robot: int = 3
    """a robot's newest readings replayed into a new estimate (at most)"""
    source_background: bool = True
    """gas source estimates take their readings on a background thread (a second core),
    read back only once every reading handed over has been taken: the same estimates as
    inline (:mod:`controller.fusion.serial_jobs`)"""
    source_rates: int = 16
    """emission-rate hypotheses (log-spaced)"""
    source_puffs_per_decade: int = 8
    source_min_puff_age_s: float = 0.1
    """the forward model's quadrature: half the default points and no puffs younger than
    0.1 s (within a 1 m source cell they add nothing a reading can tell apart)"""
    source_diffusivities_m2_s: tuple[float, ...] = (0.05, 0.2, 1.0)
    """eddy diffusivity hypotheses (indoor still air to a breezy yard)"""
    source_onset_ages_s: tuple[float, ...] = (15.0, 60.0, 240.0, 900.0)
    """the release started this long before its gas was first found (hypotheses)"""
    mixing_height_m: float = 2.0
    history_s: float = 120.0
    """readings kept per robot and channel to replay into a source estimate at its start"""
    sensor_t90_s: Mapping[str, float] = field(default_factory=lambda: dict(SENSOR_T90_S))
    radiation_search_radius_m: float = 30.0
    """candidate gamma-source cells lie within this of the first dose rate past the trigger"""
    dose_trigger_usv_h: float = 1.0
    """ten times a typical background: a source is near"""
    dose_live_time_s: float = 10.0
    """the dose rate on the stream is averaged over this long (docs/protocol.md)"""
    dose_efficiency_cps_per_usv_h: float = 10.0
    """counts/s per µSv/h of the robots' counters (simulator: DOSE_EFFICIENCY)"""
    detection_min_confidence: float = 0.5
    """a camera detection at least this confident counts as seen (alerts, first detection)"""


@dataclass
class _Buffered:
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    u: list[float] = field(default_factory=list)
    v: list[float] = field(default_factory=list)

    def add(self, x: float, y: float, value: float, t: float, u: float, v: float) -> None:
        self.x.append(x)
        self.y.append(y)
        self.value.append(value)
        self.t.append(t)
        self.u.append(u)
        self.v.append(v)

    def clear(self) -> None:
        for items in (self.x, self.y, self.value, self.t, self.u, self.v):
            items.clear()


@dataclass(frozen=True)
class Sample:
    t_s: float
    x_m: float
    y_m: float
    value: float


@dataclass(frozen=True)
class FirstSeen:
    """When the picture first registered a hazard of some kind, and from what."""

    t_s: float
    hazard: str
    """``gas:H2S``, ``radiation``, ``fire``, ``smoke``, ``heat``"""
    robot: str
    x_m: float
    y_m: float
    value: float
    unit: str


class HazardPicture:
    """Maps and source estimates over ``grid`` (module docstring)."""

    def __init__(self, grid: GridSpec, settings: PictureSettings | None = None) -> None:
        self.settings = settings or PictureSettings()
        self.grid = grid
        s = self.settings
        self.hazards = HazardMap(grid)
        self.dose = DoseRateMap(grid, sigma_m=s.kernel_sigma_m)
        self._gas: dict[str, KernelDMV] = {}
        self._pending: dict[str, _Buffered] = defaultdict(_Buffered)
        self._pending_dose = _Buffered()
        self._range: dict[str, tuple[float, float]] = {}
        """gas channel -> (lowest, highest) reading fused"""
        self._wind: dict[str, tuple[float, float]] = {}
        """robot -> its latest wind (u, v) m/s"""
        self._history: dict[tuple[str, str], deque[Sample]] = {}
        self._sources: dict[str, GasSourceEstimator] = {}
        self._source_jobs = SerialJobs(s.source_background, "gas-source")
        self._source_last: dict[tuple[str, str], float] = {}
        self._source_centre: dict[str, tuple[float, float]] = {}
        """channel -> where its gas was first found (the candidates' centre)"""
        self._source_reach: dict[str, float] = {}
        """channel -> how far from the find a reading may be and still be used"""
        self._source_tokens: dict[str, tuple[float, float]] = {}
        """channel -> (readings its estimate may still take, sim time of that count)"""
        self._radiation: RadiationSourceEstimator | None = None
        self._radiation_last: dict[str, float] = {}
        self._dose_history: dict[str, deque[Sample]] = {}
        self.distrusted: dict[str, set[str]] = {}
        """gas channel -> robots whose readings of it the source estimate rejected (weight
        0): kept out of that channel's map from then on (refreshed by :meth:`gas_sources`)"""
        self.first_seen: dict[str, FirstSeen] = {}
        """hazard -> when the picture first registered it"""
        self.readings_fused = 0
        self.readings_skipped = 0
        """readings not fused: status not ``ok``, no value, off the grid"""
        self.frames_fused = 0

    @classmethod
    def for_site(cls, site: SiteMap, settings: PictureSettings | None = None) -> HazardPicture:
        """A picture whose grid covers ``site``'s nodes and zones plus the margin."""
        s = settings or PictureSettings()
        xs = [n.x for n in site.nodes]
        ys = [n.y for n in site.nodes]
        for zone in site.zones:
            xs.extend(p[0] for p in zone.polygon)
            ys.extend(p[1] for p in zone.polygon)
        m = s.margin_m
        grid = GridSpec.covering(min(xs) - m, min(ys) - m, max(xs) + m, max(ys) + m, s.cell_m)
        return cls(grid, s)

    # ------------------------------------------------------------------ input: readings

    def add_readings(self, robot: str, msg: SensorReadings, t_s: float) -> list[FirstSeen]:
        """One accepted sensor message of ``robot`` received at ``t_s``: buffered for the
        maps (see :meth:`flush`) and fed to the source estimates.  Returns the hazards the
        picture registers for the first time."""
        if msg.x_m is None or msg.y_m is None:
            self.readings_skipped += len(msg.readings)
            return []
        x, y = msg.x_m, msg.y_m
        values = {
            r.channel: r.value for r in msg.readings if r.status == "ok" and r.value is not None
        }
        self.readings_skipped += len(msg.readings) - len(values)
        speed, direction = values.get("windSpeed"), values.get("windDirection")
        if speed is not None and direction is not None:
            rad = math.radians(direction)
            self._wind[robot] = (speed * math.cos(rad), speed * math.sin(rad))
        if not bool(self.grid.contains(x, y)):
            self.readings_skipped += len(values)
            return []
        u, v = self._wind.get(robot, (0.0, 0.0))
        new: list[FirstSeen] = []
        for channel, value in values.items():
            if channel in GAS_CHANNELS:
                if robot in self.distrusted.get(channel, ()):
                    self.readings_skipped += 1
                    continue
                self._pending[channel].add(x, y, max(0.0, value), t_s, u, v)
                low, high = self._range.get(channel, (value, value))
                self._range[channel] = (min(low, value), max(high, value))
                self.readings_fused += 1
                if channel in MOLAR_MASS_G_MOL:
                    new.extend(self._gas_source_reading(robot, channel, Sample(t_s, x, y, value)))
            elif channel == "doseRate":
                self._pending_dose.add(x, y, max(0.0, value), t_s, u, v)
                self.readings_fused += 1
                new.extend(self._dose_reading(robot, Sample(t_s, x, y, value)))
        return new

    def _gas_source_reading(self, robot: str, channel: str, sample: Sample) -> list[FirstSeen]:
        s = self.settings
        key = (robot, channel)
        hist = self._history.get(key)
        if hist is None:
            hist = self._history[key] = deque()
        hist.append(sample)
        while hist and hist[0].t_s < sample.t_s - s.history_s:
            hist.popleft()
        estimator = self._sources.get(channel)
        found: list[FirstSeen] = []
        if estimator is None:
            if sample.value < SOURCE_TRIGGERS[channel]:
                return []
            estimator = self._start_source(channel, sample)
            hazard = f"gas:{channel}"
            first = FirstSeen(
                sample.t_s, hazard, robot, sample.x_m, sample.y_m, sample.value, _unit(channel)
            )
            self.first_seen.setdefault(hazard, first)
            found.append(first)
            # recent readings of this channel, clean air included, the newest few per
            # robot, the robots nearest the find first while the budget lasts
            replay = sorted(
                (
                    (math.dist((h[-1].x_m, h[-1].y_m), (sample.x_m, sample.y_m)), r, h)
                    for (r, ch), h in self._history.items()
                    if ch == channel
                ),
                key=lambda item: (item[0], item[1]),
            )
            for _, r, samples in replay:
                recent = list(samples)[-s.source_replay_per_robot :]
                self._feed_source(estimator, r, channel, recent)
            return found
        last = self._source_last.get(key)
        if last is None or sample.t_s - last >= self._source_interval(channel, sample.t_s) - 1e-9:
            self._feed_source(estimator, robot, channel, [sample])
        return found

    def _source_interval(self, channel: str, t_s: float) -> float:
        """Seconds between two readings of one robot into ``channel``'s estimate: the
        minimum, or longer when so many robots feed it that the total would pass
        ``source_max_readings_per_s``."""
        s = self.settings
        feeding = sum(
            1
            for (_, ch), last in self._source_last.items()
            if ch == channel and t_s - last <= s.history_s
        )
        return max(s.source_min_interval_s, feeding / s.source_max_readings_per_s)

    def _take_token(self, channel: str, t_s: float) -> bool:
        """Whether ``channel``'s estimate may take one more reading at ``t_s`` (and if so,
        spend it): the bucket of ``source_burst_readings`` refilled at
        ``source_max_readings_per_s`` (both scaled down for a search of more than
        ``source_reference_hypotheses``), so no burst of new robots breaks the budget."""
        s = self.settings
        share = min(1.0, s.source_reference_hypotheses / self._sources[channel].hypotheses)
        burst = max(3.0, s.source_burst_readings * share)
        tokens, since = self._source_tokens.get(channel, (burst, t_s))
        tokens = min(burst, tokens + max(0.0, t_s - since) * s.source_max_readings_per_s * share)
        ok = tokens >= 1.0
        self._source_tokens[channel] = (tokens - 1.0 if ok else tokens, max(since, t_s))
        return ok

    def _candidates(
        self, sample: Sample, radius_m: float, cells_across: float
    ) -> tuple[GridSpec, BoolArray]:
        """Where a source estimate looks: the cells of the picture's area (the site and its
        margin) within ``radius_m`` of ``sample``, on a grid whose cells grow with the
        radius (``source_cell_m`` up to a radius of ``cells_across`` cells, coarser
        beyond: a leak 300 m upwind is placed to ~15 m, not searched on a metre grid)."""
        s = self.settings
        g = self.grid
        cell_m = max(s.source_cell_m, radius_m / cells_across)
        sg = GridSpec.covering(
            g.origin_x_m,
            g.origin_y_m,
            g.origin_x_m + g.nx * g.cell_m,
            g.origin_y_m + g.ny * g.cell_m,
            cell_m,
        )
        cx, cy = sg.center_coordinates()
        return sg, np.hypot(cx - sample.x_m, cy - sample.y_m) <= radius_m

    def _search_radius(self) -> float:
        """The gas search radius: ``source_search_radius_m``, or as far as the measured
        wind carries gas in ``source_upwind_s`` if that is farther (outdoors)."""
        s = self.settings
        return max(s.source_search_radius_m, math.hypot(*self.mean_wind()) * s.source_upwind_s)

    def _start_source(self, channel: str, sample: Sample) -> GasSourceEstimator:
        s = self.settings
        radius = self._search_radius()
        sg, near = self._candidates(sample, radius, s.source_cells_across)
        self._source_reach[channel] = radius + s.source_reading_margin_m
        diffusivities = s.source_diffusivities_m2_s
        if radius > s.source_search_radius_m:
            diffusivities = (*diffusivities, *s.source_open_air_diffusivities_m2_s)
        u, v = self.mean_wind()
        ppm = ppm_per_g_m3(MOLAR_MASS_G_MOL[channel])
        estimator = GasSourceEstimator(
            sg,
            wind_u_m_s=u,
            wind_v_m_s=v,
            diffusivity_m2_s=diffusivities,
            mixing_height_m=s.mixing_height_m,
            units_per_g_m3=ppm / 1e4 if channel == "CH4" else ppm,
            noise_floor=SOURCE_TRIGGERS[channel] / 2.0,
            onsets_s=[sample.t_s - age for age in s.source_onset_ages_s],
            n_rates=s.source_rates,
            candidates=near,
            puffs_per_decade=s.source_puffs_per_decade,
            min_puff_age_s=s.source_min_puff_age_s,
        )
        self._sources[channel] = estimator
        self._source_centre[channel] = (sample.x_m, sample.y_m)
        return estimator

    def _feed_source(
        self, estimator: GasSourceEstimator, robot: str, channel: str, samples: list[Sample]
    ) -> None:
        s = self.settings
        key = (robot, channel)
        last = self._source_last.get(key)
        centre = self._source_centre[channel]
        reach = self._source_reach[channel]
        keep: list[Sample] = []
        for sm in samples:
            if last is not None and sm.t_s - last < s.source_min_interval_s - 1e-9:
                continue
            if not bool(estimator.grid.contains(sm.x_m, sm.y_m)):
                continue
            if math.dist((sm.x_m, sm.y_m), centre) > reach:
                continue  # far from every candidate: it can tell them apart no better
            if not self._take_token(channel, sm.t_s):
                break
            keep.append(sm)
            last = sm.t_s
        if not keep:
            return
        self._source_last[key] = keep[-1].t_s
        tau = s.sensor_t90_s.get(channel, 0.0) / math.log(10.0)

        def rejected(exc: Exception) -> None:
            self.readings_skipped += len(keep)
            log.warning("%s source estimate: readings of %s rejected: %s", channel, robot, exc)

        self._source_jobs.submit(
            rejected,
            estimator.add_readings,
            robot,
            [k.t_s for k in keep],
            [k.x_m for k in keep],
            [k.y_m for k in keep],
            [max(0.0, k.value) for k in keep],
            tau,
        )

    def _dose_reading(self, robot: str, sample: Sample) -> list[FirstSeen]:
        s = self.settings
        hist = self._dose_history.setdefault(robot, deque())
        hist.append(sample)
        while hist and hist[0].t_s < sample.t_s - s.history_s:
            hist.popleft()
        est = self._radiation
        found: list[FirstSeen] = []
        if est is None:
            if sample.value < s.dose_trigger_usv_h:
                return []
            est = self._radiation = self._start_radiation(sample)
            first = FirstSeen(
                sample.t_s, "radiation", robot, sample.x_m, sample.y_m, sample.value, "µSv/h"
            )
            self.first_seen.setdefault("radiation", first)
            found.append(first)
            # the robots' recent dose rates, background included, go in too
            for r, samples in self._dose_history.items():
                for old in samples:
                    self._feed_dose(est, r, old)
            return found
        self._feed_dose(est, robot, sample)
        return found

    def _start_radiation(self, sample: Sample) -> RadiationSourceEstimator:
        s = self.settings
        sg, near = self._candidates(
            sample, s.radiation_search_radius_m, s.radiation_search_radius_m / s.source_cell_m
        )
        return RadiationSourceEstimator(
            sg,
            efficiency_cps_per_usv_h=s.dose_efficiency_cps_per_usv_h,
            backgrounds_usv_h=(0.05, 0.1, 0.2),
            n_strengths=41,
            candidates=near,
        )

    def _feed_dose(self, est: RadiationSourceEstimator, robot: str, sample: Sample) -> None:
        """Readings a live time apart hold independent counts: one per live time."""
        s = self.settings
        last = self._radiation_last.get(robot)
        if last is not None and sample.t_s - last < s.dose_live_time_s - 1e-9:
            return
        if not bool(est.grid.contains(sample.x_m, sample.y_m)):
            return
        est.add_dose_rates(
            sample.x_m, sample.y_m, max(0.0, sample.value), s.dose_live_time_s, robot_id=robot
        )
        self._radiation_last[robot] = sample.t_s

    # ------------------------------------------------------------------ input: frames

    def add_frame(
        self,
        robot: str,
        kind: str,
        footprint: tuple[float, float, float] | None,
        detections: Iterable[tuple[str, float, float, float, float]],
        t_s: float,
    ) -> list[FirstSeen]:
        """One accepted camera frame of ``robot``: its ``kind`` (``rgb``/``thermal``), its
        floor ``footprint`` (centre x, y and radius, m; None if unknown) and its located
        detections ``(detector kind, confidence, x_m, y_m, radius_m)``.  A detection at
        least ``detection_min_confidence`` confident raises its layer; every detector kind
        this frame's kind runs that saw nothing confident is a confirmed miss over the
        footprint."""
        self.frames_fused += 1
        s = self.settings
        seen: set[str] = set()
        new: list[FirstSeen] = []
        for det_kind, confidence, x, y, radius in detections:
            layer = LAYER_OF_DETECTION.get(det_kind)
            if layer is None or confidence < s.detection_min_confidence:
                continue
            if not bool(self.grid.contains(x, y)):
                continue
            tpr, fpr, _ = DETECTOR_RELIABILITY[det_kind]
            self.hazards.update(layer, x, y, max(radius, self.grid.cell_m), True, tpr, fpr, t_s)
            seen.add(det_kind)
            if layer not in self.first_seen:
                first = FirstSeen(t_s, layer, robot, x, y, confidence, "confidence")
                self.first_seen[layer] = first
                new.append(first)
        if footprint is not None:
            fx, fy, fr = footprint
            if bool(self.grid.contains(fx, fy)):
                runs = ("hotspot",) if kind == "thermal" else ("flame", "smoke")
                for det_kind in runs:
                    if det_kind in seen:
                        continue
                    tpr, fpr, _ = DETECTOR_RELIABILITY[det_kind]
                    layer = LAYER_OF_DETECTION[det_kind]
                    self.hazards.update(layer, fx, fy, fr, False, tpr, fpr, t_s)
        return new

    # ------------------------------------------------------------------ maps

    def flush(self) -> None:
        """Fuse the buffered readings into the kernel maps (one batch per channel)."""
        for channel, buf in self._pending.items():
            if not buf.value:
                continue
            gas = self._gas.get(channel)
            if gas is None:
                s = self.settings
                gas = self._gas[channel] = KernelDMV(
                    self.grid,
                    sigma_m=s.kernel_sigma_m,
                    wind_scale_s=s.wind_scale_s,
                    decay_per_s=s.map_decay_per_s,
                )
            gas.add(buf.x, buf.y, buf.value, buf.t, buf.u, buf.v)
            buf.clear()
        d = self._pending_dose
        if d.value:
            self.dose.add(d.x, d.y, d.value, d.t)
            d.clear()

    def gas_map(self, channel: str) -> KernelDMV | None:
        self.flush()
        return self._gas.get(channel)

    def mean_wind(self) -> tuple[float, float]:
        """The fleet's mean wind (u, v) m/s from each robot's latest report; calm if none."""
        if not self._wind:
            return (0.0, 0.0)
        us, vs = zip(*self._wind.values(), strict=True)
        return (sum(us) / len(us), sum(vs) / len(vs))

    def gas_sources(self) -> dict[str, GasSourceEstimate]:
        """channel -> its current source estimate (channels with a started estimate)."""
        self._source_jobs.settle()
        out: dict[str, GasSourceEstimate] = {}
        for channel, est in self._sources.items():
            got = est.estimate()
            if got is not None:
                out[channel] = got
                # a robot the estimate gives no weight (its cell flat-lines, or it
                # contradicts the others) no longer feeds that channel's map either
                self.distrusted[channel] = {r for r, w in got.robot_weights.items() if w == 0.0}
        return out

    def close(self) -> None:
        """Take the readings still queued and stop the background thread (later readings
        are taken inline); the picture stays readable."""
        self._source_jobs.close()

    def radiation_source(self) -> RadiationSourceEstimate | None:
        return self._radiation.estimate() if self._radiation is not None else None

    def summary(self, t_s: float) -> dict[str, Any]:
        """A JSON-able digest: per gas channel the map's peak, the source estimates, the
        dose map's peak, each hazard layer's peak probability, and the first sightings."""
        self.flush()
        g = self.grid
        gas: dict[str, Any] = {}
        for channel, kmap in sorted(self._gas.items()):
            low, high = self._range[channel]
            entry: dict[str, Any] = {
                "readings": kmap.count,
                "min_reading": low,
                "max_reading": high,
                "unit": _unit(channel),
            }
            if _notable(channel, low, high):
                # the map's peak costs a convolution of the grid: only where there is gas
                snap = kmap.snapshot(t_s)
                flat = snap.mean.ravel()
                j = int(np.argmax(flat))
                x, y = g.center_of(j % g.nx, j // g.nx)
                entry |= {
                    "peak_mean": round(float(flat[j]), 4),
                    "peak_x_m": round(x, 2),
                    "peak_y_m": round(y, 2),
                }
            gas[channel] = entry
        sources: dict[str, Any] = {}
        for channel, est in self.gas_sources().items():
            sources[channel] = {
                "x_m": round(est.x_m, 2),
                "y_m": round(est.y_m, 2),
                "sigma_m": round(est.sigma_m, 2),
                "radius95_m": round(est.radius95_m, 2),
                "rate_g_s": None if est.rate_g_s is None else round(est.rate_g_s, 5),
                "readings_used": est.readings_used,
                "robot_weights": {k: round(w, 3) for k, w in sorted(est.robot_weights.items())},
            }
        rad = self.radiation_source()
        radiation = None
        if rad is not None:
            radiation = {
                "x_m": round(rad.x_m, 2),
                "y_m": round(rad.y_m, 2),
                "sigma_m": round(rad.sigma_m, 2),
                "radius95_m": round(rad.radius95_m, 2),
                "strength_usv_h_at_1m": round(rad.strength_usv_h_at_1m, 3),
                "readings_used": rad.readings_used,
            }
        layers: dict[str, float] = {}
        for name in ("fire", "smoke", "heat"):
            p = self.hazards.probability(name, t_s)
            layers[name] = round(float(p.max()), 4)
        return {
            "grid": {"origin_x_m": g.origin_x_m, "origin_y_m": g.origin_y_m,
                     "cell_m": g.cell_m, "nx": g.nx, "ny": g.ny},
            "wind_m_s": [round(w, 3) for w in self.mean_wind()],
            "gas": gas,
            "gas_sources": sources,
            "radiation_source": radiation,
            "hazard_layers_peak_probability": layers,
            "first_seen": {
                k: {"t_s": round(f.t_s, 3), "robot": f.robot, "x_m": round(f.x_m, 2),
                    "y_m": round(f.y_m, 2), "value": f.value, "unit": f.unit}
                for k, f in sorted(self.first_seen.items())
            },
            "readings_fused": self.readings_fused,
            "readings_skipped": self.readings_skipped,
            "frames_fused": self.frames_fused,
        }  # fmt: skip


def _notable(channel: str, low: float, high: float) -> bool:
    """Readings away from clean air: a toxic or CH4 reading past its trigger, LEL at
    5 %LEL, O2 outside 19.5–23.5 %vol (the two-sided alarm band of docs/alarms.md)."""
    if channel in SOURCE_TRIGGERS:
        return high >= SOURCE_TRIGGERS[channel]
    if channel == "LEL":
        return high >= 5.0
    if channel == "O2":
        return low < 19.5 or high > 23.5
    return True


def _unit(channel: str) -> str:
    return CHANNEL_UNITS.get(channel, "")


__all__ = [
    "DETECTOR_RELIABILITY",
    "GAS_CHANNELS",
    "SOURCE_TRIGGERS",
    "FirstSeen",
    "HazardPicture",
    "PictureSettings",
]

"""Exposure arithmetic as regulations and real detectors do it (hazards.md §1.1, §1.3).

Pure functions and one accumulator, no I/O.  Concentrations in ppm (or the channel's
unit), times in seconds of a monotonic clock unless a name says hours.

* :func:`osha_twa`: 29 CFR 1910.1000(d)(1), ``E = Σ Ci·Ti / 8`` (T in hours).
  Anchor: 2 h at 150, 2 h at 75 and 4 h at 50 ppm give 81.25 ppm.
* :func:`mixture_index`: 1910.1000(d)(2), ``Em = Σ Ci/Li`` (must be ≤ 1).
  Anchor: 500/1000 + 45/200 + 40/200 = 0.925.
* :func:`ppm_to_mg_m3`: at 25 °C and 1 atm, ``mg/m³ = ppm · MW / 24.45``.
* :class:`ExposureAccumulator`: what a personal monitor computes from 1-Hz samples
  (RAE TN-119, MSA ALTAIR Pro, BW, Blackline): negative readings count as 0; each
  minute's samples are averaged into one bucket; STEL is the mean of the last 15
  buckets, zero-padded while the monitor has run less than 15 minutes; the OSHA TWA is
  the mean of a moving 8-hour (480-bucket) window, zero-padded; the ACGIH TWA is all the
  buckets so far divided by 480 (it keeps growing past 8 hours).  Anchor (RAE): 2 h at
  20 ppm give an ACGIH TWA of 5 ppm.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

MOLAR_VOLUME_L_25C = 24.45
"""litres per mole of an ideal gas at 25 °C and 1 atm"""
SECONDS_PER_BUCKET = 60.0
STEL_MINUTES = 15
TWA_MINUTES = 480


def osha_twa(segments: Iterable[tuple[float, float]]) -> float:
    """8-hour TWA of ``(concentration, hours)`` segments (1910.1000(d)(1))."""
    total = 0.0
    for concentration, hours in segments:
        if not (math.isfinite(concentration) and math.isfinite(hours) and hours >= 0):
            raise ValueError(f"segment ({concentration}, {hours} h) is not a valid exposure")
        total += concentration * hours
    return total / 8.0


def mixture_index(exposures: Iterable[tuple[float, float]]) -> float:
    """``Σ C/L`` of ``(concentration, limit)`` pairs (1910.1000(d)(2)); above 1 the
    mixture exceeds its limit."""
    index = 0.0
    for concentration, limit in exposures:
        if not limit > 0:
            raise ValueError(f"exposure limit must be > 0, got {limit}")
        index += concentration / limit
    return index


def ppm_to_mg_m3(ppm: float, molar_mass_g_mol: float) -> float:
    """ppm to mg/m³ at 25 °C and 1 atm (the OSHA/NIOSH convention)."""
    return ppm * molar_mass_g_mol / MOLAR_VOLUME_L_25C


class ExposureAccumulator:
    """STEL and TWA of one channel from samples on a monotonic clock (module docstring).

    Samples may come at any rate; each falls in the minute bucket of its time since the
    first sample.  A minute without samples counts as 0 (the monitor saw nothing); a
    time going backwards raises ValueError.
    """

    def __init__(self, stel_minutes: int = STEL_MINUTES, twa_minutes: int = TWA_MINUTES) -> None:
        if stel_minutes < 1 or twa_minutes < 1:
            raise ValueError("the STEL and TWA windows need at least one minute")
        self._stel_minutes = stel_minutes
        self._twa_minutes = twa_minutes
        self._start_s: float | None = None
        self._last_s: float | None = None
        self._bucket = -1
        self._sum = 0.0
        self._count = 0
        self._recent: deque[float] = deque(maxlen=twa_minutes)
        """closed minute averages, newest last (the OSHA window)"""
        self._accumulated = 0.0
        """Σ of every closed minute average (ACGIH)"""
        self.peak = 0.0
        """highest sample so far (after clipping negatives)"""

    @property
    def minutes(self) -> int:
        """Closed minute buckets so far."""
        return max(0, self._bucket)

    def add(self, t_s: float, value: float) -> None:
        """One sample at monotonic time ``t_s``; negatives count as 0."""
        if not (math.isfinite(t_s) and math.isfinite(value)):
            raise ValueError(f"sample ({t_s}, {value}) is not finite")
        if self._last_s is not None and t_s < self._last_s:
            raise ValueError(f"sample time {t_s} s is before the previous one ({self._last_s} s)")
        if self._start_s is None:
            self._start_s = t_s
            self._bucket = 0
        self._last_s = t_s
        bucket = int((t_s - self._start_s) // SECONDS_PER_BUCKET)
        self._close_until(bucket)
        v = max(0.0, value)
        self._sum += v
        self._count += 1
        self.peak = max(self.peak, v)

    def _close_until(self, bucket: int) -> None:
        while self._bucket < bucket:
            average = self._sum / self._count if self._count else 0.0
            self._recent.append(average)
            self._accumulated += average
            self._sum, self._count = 0.0, 0
            self._bucket += 1

    def stel(self) -> float:
        """Mean of the last ``stel_minutes`` closed minutes, zero-padded."""
        recent = list(self._recent)[-self._stel_minutes :]
        return sum(recent) / self._stel_minutes

    def twa_osha(self) -> float:
        """Mean of the last ``twa_minutes`` closed minutes (moving window), zero-padded."""
        return sum(self._recent) / self._twa_minutes

    def twa_acgih(self) -> float:
        """Every closed minute so far over ``twa_minutes`` (accumulating)."""
        return self._accumulated / self._twa_minutes


__all__ = [
    "MOLAR_VOLUME_L_25C",
    "ExposureAccumulator",
    "mixture_index",
    "osha_twa",
    "ppm_to_mg_m3",
]

"""Dose-rate map (µSv/h) from point readings, and the highest reading per cell.

The map is the Kernel DM+V machinery of :mod:`.gas_map` without wind (an isotropic kernel
of width ``sigma_m``; gamma radiation is not carried by air): a kernel-weighted mean of the
readings around each cell with confidence α, falling back to the mean of all readings where
there are none nearby, and a variance map that shows where readings disagree.  Same
approximations (readings snapped to cell centres), same validation: NaN, infinite or
negative dose rates and positions off the grid raise ValueError naming the field.

A kernel mean smooths a 1/d² peak: close to a source the map reads low.  That is why the
per-cell maximum is kept as well (what was actually measured there; NaN where nothing was),
and why the source itself is located with :class:`~controller.fusion.RadiationSourceEstimator`
rather than read off this map.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from controller.fusion.gas_map import GasMapSnapshot, KernelDMV
from controller.fusion.grid import FloatArray, GridSpec, as_float_array, broadcast_fields


class DoseRateMap:
    """Dose-rate map over a :class:`GridSpec`: kernel mean/variance/confidence and per-cell
    maximum of the readings (µSv/h).  ``decay_per_s`` β weights old readings down
    (``exp(−β·age)``); 0 keeps them all at full weight (a source does not move)."""

    def __init__(
        self,
        grid: GridSpec,
        *,
        sigma_m: float = 1.0,
        decay_per_s: float = 0.0,
        confidence_scale: float = 1.0,
    ) -> None:
        self.grid = grid
        self._kernel = KernelDMV(
            grid, sigma_m=sigma_m, decay_per_s=decay_per_s, confidence_scale=confidence_scale
        )
        self._max: FloatArray = np.full(grid.size, -np.inf)

    @property
    def count(self) -> int:
        """Readings fused so far."""
        return self._kernel.count

    def add(
        self,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        dose_rate_usv_h: npt.ArrayLike,
        t_s: npt.ArrayLike,
    ) -> None:
        """Fuse dose-rate readings (µSv/h, ≥ 0) taken at map points (m) at times (s)."""
        rate = as_float_array("dose_rate_usv_h", dose_rate_usv_h, nonnegative=True)
        xs = as_float_array("x_m", x_m)
        ys = as_float_array("y_m", y_m)
        ts = as_float_array("t_s", t_s)
        n = max(rate.size, xs.size, ys.size, ts.size)
        f = broadcast_fields(n, x_m=xs, y_m=ys, dose_rate_usv_h=rate, t_s=ts)
        idx = self.grid.flat_index(f["x_m"], f["y_m"])
        self._kernel.add(f["x_m"], f["y_m"], f["dose_rate_usv_h"], f["t_s"])
        np.maximum.at(self._max, idx, f["dose_rate_usv_h"])

    def snapshot(self, t_s: float) -> GasMapSnapshot:
        """Mean (µSv/h), variance ((µSv/h)²), confidence and weight maps at ``t_s``."""
        return self._kernel.snapshot(t_s)

    def max_map(self) -> FloatArray:
        """Highest reading per cell (µSv/h), ``(ny, nx)``; NaN where nothing was read."""
        out = self._max.copy()
        out[np.isneginf(out)] = np.nan
        return out.reshape(self.grid.shape)

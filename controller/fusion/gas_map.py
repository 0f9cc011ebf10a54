"""Gas concentration map: Kernel DM+V/W with time decay (TD), fast enough for a fleet.

The model (hazards.md §3.3; Lilienthal, Reggente, Trincavelli, Blanco & Gonzalez, IROS
2009; TD extension as in the TDKernelDMVW formulation).  For readings ``r_i`` at ``x_i``,
time ``t_i``, wind speed ``|v_i|`` and direction ``θ_i``, and a query time ``t*``::

    a = σ + γ·|v_i|,   b = σ / (1 + γ·|v_i|/σ)          # stretched along, shrunk across
    Σ_i = R(θ_i) diag(a², b²) R(θ_i)ᵀ
    ω_i(k) = N(x_k − x_i; 0, Σ_i) · exp(−β·(t* − t_i))
    Ω(k) = Σ_i ω_i(k)                R(k) = Σ_i ω_i(k)·r_i
    α(k) = 1 − exp(−Ω(k)/σ_Ω²),      σ_Ω = confidence_scale / (√(2π)·σ)
    r(k) = α·R/Ω + (1 − α)·r0        r0: time-weighted mean of all readings
    V(k) = Σ_i ω_i(k)·(r_i − r(k_i))²
    v(k) = α·V/Ω + (1 − α)·v0        v0: time-weighted variance of all readings

Outputs: the mean ``r``, variance ``v`` and confidence ``α`` maps (and ``Ω``).

How it is computed, and every approximation against the formulas above:

1. **Readings are snapped to the centre of their cell** (``x_i`` → centre of the cell
   holding it).  Position error ≤ cell·√2/2; with the recommended cell ≤ σ/2 the kernel
   weight changes by a few per cent at most.  Given snapping, everything below is exact.
2. **Sufficient statistics per cell, O(1) per reading**: per wind class and cell,
   ``W = Σ w_i``, ``S1 = Σ w_i·r_i``, ``S2 = Σ w_i·r_i²`` (``np.bincount`` per large
   batch, ``np.add.at`` per small one).
3. **Time decay as a global factor**: ``w_i = exp(β·(t_i − t_ref))`` is stored, and at query
   time every sum is multiplied by ``exp(−β·(t* − t_ref))``; exact (the factor is common to
   all readings).  ``t_ref`` moves forward (sums rescaled) before the stored weights could
   overflow.
4. **Convolution at query time**: ``Ω = Σ_classes K_c ∗ W_c``, ``R = Σ_c K_c ∗ S1_c`` (FFT,
   zero-padded: linear, untruncated).  Exact for snapped readings.
5. **Variance, exact for snapped readings**: all readings of a cell share the mean at that
   cell, ``m = r(k_i)``, so ``Σ_{i in cell} w_i (r_i − m)² = S2 − 2m·S1 + m²·W``; ``V`` is the
   kernel convolution of that per-cell sum.  The mean ``r(k_i)`` is the one of the query,
   as in the formula (not the mean at the reading's time).
6. **Wind classes (the only approximation besides snapping)**: the kernel of a reading
   depends on its own wind.  Readings are binned into a calm class (no wind given, or
   ``|v| <`` the first speed edge: isotropic kernel σ) and ``speed bins × n_directions``
   classes; each class uses one kernel, built from the bin's representative speed (the
   geometric mean of the bin's edges; 1.5× the lower edge for the open last bin) and the
   direction bin's centre.  With 16 directions the direction error is ≤ 11.25°.  With a
   single known wind (the usual indoor case), pass ``speed_edges_m_s`` whose bin around it
   is narrow, so the representative speed is close to it.
7. ``r0``, ``v0`` are the time-weighted mean and variance of all readings (weights
   ``exp(−β(t* − t_i))``), as in TDKernelDMVW.

Inputs are validated: NaN or infinite values, negative concentrations and positions off the
grid raise ValueError naming the field.  A detector's small negative readings (zero noise,
drift) must be clipped to 0 by the caller.  Units: whatever the readings are in (ppm,
g/m³); the mean map is in the same unit, the variance in its square.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from controller.fusion.grid import (
    FloatArray,
    GridSpec,
    IntArray,
    as_float_array,
    broadcast_fields,
)
from controller.fusion.kernels import ComplexArray, Convolver, wind_stretched_axes

_RENORMALISE = 30.0


@dataclass(frozen=True)
class GasMapSnapshot:
    """The maps at one query time, each ``(ny, nx)``: ``mean`` (reading unit), ``variance``
    (unit²), ``confidence`` α in [0, 1), ``weight`` Ω (1/m², time-decayed kernel mass)."""

    t_s: float
    mean: FloatArray
    variance: FloatArray
    confidence: FloatArray
    weight: FloatArray
    r0: float
    v0: float


_SCATTER_BELOW = 64
"""batches of fewer than ``grid size / _SCATTER_BELOW`` readings are added with
``np.add.at`` (3 µs for 50 readings on a 200 × 200 grid) instead of a full-grid
``np.bincount`` and sum (25 µs): the live picture adds a robot's message at a time"""


class _Sums:
    __slots__ = ("s1", "s2", "w")

    def __init__(self, size: int) -> None:
        self.w: FloatArray = np.zeros(size)
        self.s1: FloatArray = np.zeros(size)
        self.s2: FloatArray = np.zeros(size)


class KernelDMV:
    """Kernel DM+V/W with time decay over a :class:`GridSpec` (module docstring).

    Parameters: ``sigma_m`` kernel width σ (m); ``wind_scale_s`` γ (s: metres of stretch
    per m/s of wind; 0 disables DM+V/W); ``decay_per_s`` β (1/s; 0: no time decay);
    ``confidence_scale`` scales σ_Ω; ``speed_edges_m_s`` increasing speed-bin edges (the
    first is the calm threshold); ``n_directions`` wind direction bins.
    """

    def __init__(
        self,
        grid: GridSpec,
        *,
        sigma_m: float = 1.0,
        wind_scale_s: float = 0.0,
        decay_per_s: float = 0.0,
        confidence_scale: float = 1.0,
        speed_edges_m_s: tuple[float, ...] = (0.05, 0.3, 1.0, 3.0),
        n_directions: int = 16,
    ) -> None:
        for name, value, low in (
            ("sigma_m", sigma_m, 0.0),
            ("confidence_scale", confidence_scale, 0.0),
        ):
            if not (math.isfinite(value) and value > low):
                raise ValueError(f"{name}: must be finite and > {low}, got {value}")
        for name, value in (("wind_scale_s", wind_scale_s), ("decay_per_s", decay_per_s)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name}: must be finite and >= 0, got {value}")
        edges = np.asarray(speed_edges_m_s, dtype=np.float64)
        if edges.size < 1 or not (np.diff(edges) > 0).all() or not (edges > 0).all():
            raise ValueError("speed_edges_m_s: need >= 1 positive, strictly increasing edges")
        if n_directions < 1:
            raise ValueError(f"n_directions: must be >= 1, got {n_directions}")
        self.grid = grid
        self.sigma_m = sigma_m
        self.wind_scale_s = wind_scale_s
        self.decay_per_s = decay_per_s
        self.confidence_scale = confidence_scale
        self._edges = edges
        self._n_dir = n_directions
        reps = [math.sqrt(lo * hi) for lo, hi in itertools.pairwise(edges)]
        self._speed_reps = (*reps, 1.5 * float(edges[-1]))
        self._sums: dict[int, _Sums] = {}
        self._conv = Convolver(grid)
        self._t_ref: float | None = None
        self._count = 0
        self._total_w = 0.0
        self._total_s1 = 0.0
        self._total_s2 = 0.0

    @property
    def count(self) -> int:
        """Readings fused so far."""
        return self._count

    # ------------------------------------------------------------------ classes

    def class_kernel(self, cls: int) -> tuple[float, float, float]:
        """``(a_m, b_m, theta_rad)`` of wind class ``cls`` (0: calm, isotropic σ)."""
        if cls == 0 or self.wind_scale_s == 0.0:
            return (self.sigma_m, self.sigma_m, 0.0)
        speed_bin, dir_bin = divmod(cls - 1, self._n_dir)
        theta = (dir_bin + 0.5) * 2.0 * math.pi / self._n_dir - math.pi
        a, b = wind_stretched_axes(self.sigma_m, self.wind_scale_s, self._speed_reps[speed_bin])
        return (a, b, theta)

    def _classes(self, u: FloatArray, v: FloatArray) -> IntArray:
        speed = np.hypot(u, v)
        speed_bin = np.searchsorted(self._edges, speed, side="right") - 1  # −1: calm
        theta = np.arctan2(v, u)  # (−π, π]
        dir_bin = np.floor((theta + math.pi) / (2.0 * math.pi) * self._n_dir).astype(np.int64)
        dir_bin = np.clip(dir_bin, 0, self._n_dir - 1)
        cls = 1 + speed_bin * self._n_dir + dir_bin
        out: IntArray = np.where(speed_bin < 0, 0, cls).astype(np.int64)
        return out

    # ------------------------------------------------------------------ input

    def add(
        self,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        value: npt.ArrayLike,
        t_s: npt.ArrayLike,
        wind_u_m_s: npt.ArrayLike | None = None,
        wind_v_m_s: npt.ArrayLike | None = None,
    ) -> None:
        """Fuse readings: positions (m), concentrations (≥ 0, any one unit), times (s) and,
        optionally, the wind (m/s, map frame, toward) each was taken in.  Scalars broadcast."""
        val = as_float_array("value", value, nonnegative=True)
        t = as_float_array("t_s", t_s)
        xs = as_float_array("x_m", x_m)
        ys = as_float_array("y_m", y_m)
        n = max(val.size, t.size, xs.size, ys.size)
        f = broadcast_fields(n, x_m=xs, y_m=ys, value=val, t_s=t)
        idx = self.grid.flat_index(f["x_m"], f["y_m"])
        if (wind_u_m_s is None) != (wind_v_m_s is None):
            raise ValueError("wind_u_m_s/wind_v_m_s: give both or neither")
        if wind_u_m_s is not None and wind_v_m_s is not None and self.wind_scale_s > 0.0:
            wf = broadcast_fields(
                n,
                wind_u_m_s=as_float_array("wind_u_m_s", wind_u_m_s),
                wind_v_m_s=as_float_array("wind_v_m_s", wind_v_m_s),
            )
            cls: IntArray | None = self._classes(wf["wind_u_m_s"], wf["wind_v_m_s"])
        else:
            cls = None
        tt = f["t_s"]
        w = self._weights(tt)
        r = f["value"]
        wr = w * r
        wrr = wr * r
        size = self.grid.size
        groups: list[tuple[int, IntArray | slice]] = []
        if cls is None or (cls == cls[0]).all():
            groups.append((0 if cls is None else int(cls[0]), slice(None)))
        else:
            for k in np.unique(cls):
                groups.append((int(k), np.flatnonzero(cls == k)))
        for k, sel in groups:
            sums = self._sums.get(k)
            if sums is None:
                sums = self._sums[k] = _Sums(size)
            i = idx[sel]
            if i.size * _SCATTER_BELOW < size:
                # a few readings (a robot's message): scatter them, O(readings)
                np.add.at(sums.w, i, w[sel])
                np.add.at(sums.s1, i, wr[sel])
                np.add.at(sums.s2, i, wrr[sel])
            else:  # a large batch: one pass over the grid is cheaper
                sums.w += np.bincount(i, weights=w[sel], minlength=size)
                sums.s1 += np.bincount(i, weights=wr[sel], minlength=size)
                sums.s2 += np.bincount(i, weights=wrr[sel], minlength=size)
        self._count += n
        self._total_w += float(w.sum())
        self._total_s1 += float(wr.sum())
        self._total_s2 += float(wrr.sum())

    def _weights(self, t: FloatArray) -> FloatArray:
        """Stored weights ``exp(β(t − t_ref))``, moving ``t_ref`` forward when needed."""
        if self.decay_per_s == 0.0:
            return np.ones_like(t)
        t_max = float(t.max())
        if self._t_ref is None:
            self._t_ref = t_max
        elif self.decay_per_s * (t_max - self._t_ref) > _RENORMALISE:
            scale = math.exp(-self.decay_per_s * (t_max - self._t_ref))
            for s in self._sums.values():
                s.w *= scale
                s.s1 *= scale
                s.s2 *= scale
            self._total_w *= scale
            self._total_s1 *= scale
            self._total_s2 *= scale
            self._t_ref = t_max
        out: FloatArray = np.exp(self.decay_per_s * (t - self._t_ref))
        return out

    # ------------------------------------------------------------------ query

    def snapshot(self, t_s: float) -> GasMapSnapshot:
        """The mean, variance and confidence maps at query time ``t_s`` (s)."""
        if not math.isfinite(t_s):
            raise ValueError(f"t_s: must be finite, got {t_s}")
        shape = self.grid.shape
        if self._count == 0:
            zeros = np.zeros(shape)
            return GasMapSnapshot(t_s, zeros, zeros.copy(), zeros.copy(), zeros.copy(), 0.0, 0.0)
        decay = 1.0
        if self.decay_per_s > 0.0 and self._t_ref is not None:
            decay = math.exp(-self.decay_per_s * (t_s - self._t_ref))
        conv = self._conv
        kernels: dict[int, ComplexArray] = {
            k: conv.kernel_fft(*self.class_kernel(k)) for k in self._sums
        }
        omega_hat: ComplexArray | None = None
        r_hat: ComplexArray | None = None
        for k, s in self._sums.items():
            kw = conv.forward(s.w) * kernels[k]
            kr = conv.forward(s.s1) * kernels[k]
            omega_hat = kw if omega_hat is None else omega_hat + kw
            r_hat = kr if r_hat is None else r_hat + kr
        assert omega_hat is not None and r_hat is not None
        omega = np.maximum(conv.inverse(omega_hat), 0.0) * decay
        big_r = conv.inverse(r_hat) * decay
        r0 = self._total_s1 / self._total_w if self._total_w > 0 else 0.0
        v0 = max(self._total_s2 / self._total_w - r0 * r0, 0.0) if self._total_w > 0 else 0.0
        sigma_omega = self.confidence_scale / (math.sqrt(2.0 * math.pi) * self.sigma_m)
        alpha = 1.0 - np.exp(-omega / sigma_omega**2)
        # FFT round-off leaves ~1e-16·max where no kernel reaches: treat as no weight
        tiny = 1e-12 * max(float(omega.max()), 1e-300)
        ratio = np.where(omega > tiny, big_r / np.maximum(omega, tiny), r0)
        mean = alpha * ratio + (1.0 - alpha) * r0
        flat_mean = mean.reshape(-1)
        v_hat: ComplexArray | None = None
        for k, s in self._sums.items():
            per_cell = np.maximum(s.s2 - 2.0 * flat_mean * s.s1 + flat_mean**2 * s.w, 0.0)
            kv = conv.forward(per_cell) * kernels[k]
            v_hat = kv if v_hat is None else v_hat + kv
        assert v_hat is not None
        big_v = np.maximum(conv.inverse(v_hat), 0.0) * decay
        vratio = np.where(omega > tiny, big_v / np.maximum(omega, tiny), v0)
        variance = alpha * vratio + (1.0 - alpha) * v0
        return GasMapSnapshot(t_s, mean, variance, alpha, omega, r0, v0)

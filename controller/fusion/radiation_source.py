"""Gamma point-source localization from dose-rate or count readings.

Model (hazards.md §4.6, build-up 1, no shielding): the dose rate at distance ``d`` from a
point source is ``Ḣ = b + S / max(d, d_min)²`` µSv/h, with ``S = Γ·A`` the source strength
(µSv/h at 1 m; divide by Γ, e.g. 76 µSv/h per GBq at 1 m for Cs-137, for the activity) and
``b`` the background.  A detector of efficiency ``eff`` (counts/s per µSv/h) counting for
``dt`` seconds sees ``N ~ Poisson(λ)``, ``λ = eff·dt·Ḣ``.

Posterior on a grid: source at the centre of a candidate cell ``j``, strength ``S`` on a
log-spaced grid (log-uniform prior), background ``b`` on a grid of given values (one value:
known background).  Each reading adds ``N·ln λ − λ`` (the Poisson log-likelihood without
its ``ln N!``, the same for every hypothesis) to every (j, b, S): O(cells × b × S) per
reading, updated as readings arrive.  The strength's maximum-likelihood value per cell has
no closed form once a background is present; the grid over ``S`` is exact to its spacing.
A dose-rate reading without its counts is turned into the counts it stands for,
``N = Ḣ·eff·dt`` (not an integer: the Poisson formula above still applies to it).

Faulty detectors.  Each reading's likelihood is mixed with a broad outlier density,
``(1 − ε)·Poisson(N; λ) + ε·u(N)`` with ``u(N) = 1/((N + 1)·ln 10⁷)`` (log-uniform over
counts up to 10⁷), so that one absurd reading moves the posterior by a bounded amount, and
log-likelihoods are kept per robot and weighted by their agreement with the fleet's
consensus (:mod:`.consensus`; three robots or more).

Not handled: shielding between source and robot (reads low: the estimate is pushed away
from the shield), several sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from controller.fusion.consensus import consensus_weights
from controller.fusion.grid import (
    BoolArray,
    FloatArray,
    GridSpec,
    as_float_array,
    spatial_summary,
)


@dataclass(frozen=True)
class RadiationSourceEstimate:
    """A gamma point-source estimate: posterior mean ``x_m, y_m`` (m), 2×2
    ``covariance_m2``, RMS radius ``sigma_m``, 95 % radius ``radius95_m`` around the mean,
    most probable cell ``map_x_m, map_y_m``, strength (µSv/h at 1 m: posterior median and
    95 % interval), background (µSv/h, posterior mean), ``readings_used`` (by robots
    with weight > 0) and the weight of each robot."""

    x_m: float
    y_m: float
    covariance_m2: tuple[tuple[float, float], tuple[float, float]]
    sigma_m: float
    radius95_m: float
    map_x_m: float
    map_y_m: float
    strength_usv_h_at_1m: float
    strength_interval_usv_h_at_1m: tuple[float, float]
    background_usv_h: float
    readings_used: int
    robot_weights: dict[str, float] = field(default_factory=dict)


class RadiationSourceEstimator:
    """Grid posterior over a gamma point source (module docstring).

    ``efficiency_cps_per_usv_h``: the detector's counts/s per µSv/h.  ``backgrounds_usv_h``:
    candidate background dose rates (uniform prior).  ``strength_bounds_usv_h_at_1m`` and
    ``n_strengths``: the strength grid.  ``min_distance_m``: ``d_min`` (default half a cell:
    the source may sit anywhere in its cell).  ``candidates``: (ny, nx) mask of cells that
    may hold the source.
    """

    def __init__(
        self,
        grid: GridSpec,
        *,
        efficiency_cps_per_usv_h: float,
        backgrounds_usv_h: Sequence[float] = (0.1,),
        strength_bounds_usv_h_at_1m: tuple[float, float] = (0.1, 1e6),
        n_strengths: int = 71,
        min_distance_m: float | None = None,
        candidates: BoolArray | None = None,
        outlier_prob: float = 0.01,
        consensus_deficit_nats: float = 1.0,
    ) -> None:
        if not (math.isfinite(efficiency_cps_per_usv_h) and efficiency_cps_per_usv_h > 0):
            raise ValueError(
                f"efficiency_cps_per_usv_h: must be > 0, got {efficiency_cps_per_usv_h}"
            )
        self.backgrounds_usv_h = as_float_array(
            "backgrounds_usv_h", backgrounds_usv_h, nonnegative=True
        )
        if self.backgrounds_usv_h.size == 0:
            raise ValueError("backgrounds_usv_h: empty")
        lo, hi = strength_bounds_usv_h_at_1m
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError("strength_bounds_usv_h_at_1m: need 0 < low < high")
        if not (0.0 < outlier_prob < 1.0):
            raise ValueError(f"outlier_prob: must be in (0, 1), got {outlier_prob}")
        if not (math.isfinite(consensus_deficit_nats) and consensus_deficit_nats > 0):
            raise ValueError(f"consensus_deficit_nats: must be > 0, got {consensus_deficit_nats}")
        if n_strengths < 2:
            raise ValueError(f"n_strengths: need >= 2, got {n_strengths}")
        self.grid = grid
        self.efficiency = float(efficiency_cps_per_usv_h)
        self.strengths: FloatArray = np.geomspace(lo, hi, n_strengths)
        self.min_distance_m = grid.cell_m / 2.0 if min_distance_m is None else min_distance_m
        if not (math.isfinite(self.min_distance_m) and self.min_distance_m > 0):
            raise ValueError(f"min_distance_m: must be > 0, got {min_distance_m}")
        mask = (
            np.ones(grid.shape, dtype=np.bool_)
            if candidates is None
            else np.asarray(candidates, dtype=np.bool_)
        )
        if mask.shape != grid.shape or not mask.any():
            raise ValueError("candidates: must be a (ny, nx) mask with at least one cell")
        gx, gy = grid.center_coordinates()
        self._cand_x: FloatArray = gx[mask]
        self._cand_y: FloatArray = gy[mask]
        self._shape = (self._cand_x.size, self.backgrounds_usv_h.size, n_strengths)
        self._robots: dict[str, tuple[FloatArray, list[int]]] = {}
        """robot → (log-likelihood, [readings])"""
        self._ln_in = math.log1p(-outlier_prob)
        self._ln_eps = math.log(outlier_prob) - math.log(math.log(1e7))
        self.consensus_deficit_nats = consensus_deficit_nats
        self._n = 0

    @property
    def readings_used(self) -> int:
        """Readings in the posterior."""
        return self._n

    def add_counts(
        self,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        counts: npt.ArrayLike,
        live_time_s: npt.ArrayLike,
        robot_id: str = "robot",
    ) -> None:
        """Fuse counts (≥ 0) taken over ``live_time_s`` (> 0 s) at map points (m) by the
        detector of ``robot_id``."""
        xs = as_float_array("x_m", x_m)
        ys = as_float_array("y_m", y_m)
        n = as_float_array("counts", counts, nonnegative=True)
        dt = as_float_array("live_time_s", live_time_s, nonnegative=True)
        if (dt == 0).any():
            raise ValueError("live_time_s: must be > 0")
        size = max(xs.size, ys.size, n.size, dt.size)
        xs, ys, n, dt = (np.broadcast_to(a, (size,)) for a in (xs, ys, n, dt))
        self.grid.cells_of(xs, ys, field="x_m/y_m")
        robot = self._robots.get(robot_id)
        if robot is None:
            robot = self._robots[robot_id] = (np.zeros(self._shape), [0])
        loglik, count = robot
        lnb = self.backgrounds_usv_h[None, :, None]
        s = self.strengths[None, None, :]
        for xi, yi, ni, ti in zip(xs, ys, n, dt, strict=True):
            d2 = np.maximum(
                (self._cand_x - xi) ** 2 + (self._cand_y - yi) ** 2, self.min_distance_m**2
            )
            lam = self.efficiency * ti * (lnb + s / d2[:, None, None])
            lam = np.maximum(lam, 1e-300)
            poisson = ni * np.log(lam) - lam - math.lgamma(float(ni) + 1.0)
            outlier = self._ln_eps - math.log(float(ni) + 1.0)
            loglik += np.logaddexp(poisson + self._ln_in, outlier)
            count[0] += 1
            self._n += 1

    def add_dose_rates(
        self,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        dose_rate_usv_h: npt.ArrayLike,
        live_time_s: npt.ArrayLike,
        robot_id: str = "robot",
    ) -> None:
        """Fuse dose-rate readings (µSv/h, ≥ 0) averaged over ``live_time_s`` seconds by the
        detector of ``robot_id``; they count as ``Ḣ·eff·dt`` counts (module docstring)."""
        rate = as_float_array("dose_rate_usv_h", dose_rate_usv_h, nonnegative=True)
        dt = as_float_array("live_time_s", live_time_s, nonnegative=True)
        self.add_counts(x_m, y_m, rate * self.efficiency * dt, dt, robot_id)

    def robot_weights(self) -> dict[str, float]:
        """Weight in [0, 1] of each robot's readings (:mod:`.consensus`)."""
        logliks = {rid: (ll, c[0]) for rid, (ll, c) in self._robots.items()}
        return consensus_weights(
            logliks, dict.fromkeys(self._robots, 1.0), self.consensus_deficit_nats
        )

    def _log_posterior(self, weights: dict[str, float]) -> FloatArray:
        total = np.zeros(self._shape)
        for rid, (ll, _c) in self._robots.items():
            if weights[rid] > 0.0:
                total += weights[rid] * ll
        return total

    def posterior_map(self) -> FloatArray:
        """Posterior probability of the source per grid cell, ``(ny, nx)``."""
        lp = self._log_posterior(self.robot_weights())
        p = np.exp(lp - lp.max()).sum(axis=(1, 2))
        out = np.zeros(self.grid.size)
        ix, iy = self.grid.cells_of(self._cand_x, self._cand_y)
        out[iy * self.grid.nx + ix] = p / p.sum()
        return out.reshape(self.grid.shape)

    def estimate(self) -> RadiationSourceEstimate | None:
        """The current estimate, or None before any reading."""
        if self._n == 0:
            return None
        weights = self.robot_weights()
        lp = self._log_posterior(weights)
        p = np.exp(lp - lp.max())
        p /= p.sum()
        where = spatial_summary(p.sum(axis=(1, 2)), self._cand_x, self._cand_y)
        ps = p.sum(axis=(0, 1))
        cdf = np.cumsum(ps)
        last = self.strengths.size - 1
        med = self.strengths[min(int(np.searchsorted(cdf, 0.5)), last)]
        lo = self.strengths[min(int(np.searchsorted(cdf, 0.025)), last)]
        hi = self.strengths[min(int(np.searchsorted(cdf, 0.975)), last)]
        background = float(p.sum(axis=(0, 2)) @ self.backgrounds_usv_h)
        return RadiationSourceEstimate(
            x_m=where.x_m,
            y_m=where.y_m,
            covariance_m2=where.covariance_m2,
            sigma_m=where.sigma_m,
            radius95_m=where.radius95_m,
            map_x_m=float(self._cand_x[where.best]),
            map_y_m=float(self._cand_y[where.best]),
            strength_usv_h_at_1m=float(med),
            strength_interval_usv_h_at_1m=(float(lo), float(hi)),
            background_usv_h=background,
            readings_used=sum(c[0] for rid, (_ll, c) in self._robots.items() if weights[rid] > 0),
            robot_weights=weights,
        )

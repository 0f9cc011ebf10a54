"""Gas source term estimation: where a leak is, how strong, and how sure we are.

Bayesian grid posterior (hazards.md §3.4, "source term estimation"), updated reading by
reading.  Hypotheses: a point source at the centre of a candidate cell ``j``, releasing
``Q`` g/s since onset time ``t0``.  Readings: concentration ``z_i`` at ``(x_i, y_i)`` and
time ``t_i`` from robot ``r``'s detector.

Forward model (hazards.md §4.2, its analytic solution without walls).  The concentration,
well mixed over a layer of height ``H``, of a continuous point source in a uniform wind
``u`` with eddy diffusivity ``K`` is linear in ``Q``, ``c = Q·g``, with::

    g(x, t | j, t0) = 1/H ∫_0^{t−t0} exp(−|d − u·s|² / (2·S(s))) / (2π·S(s)) ds,
    d = x − x_j,   S(s) = 2K·s + σ0²

the superposition of puffs released ``s`` seconds ago (Green's function of
``∂c/∂t + u·∇c = K∇²c``).  ``σ0`` (default half a cell) is the spread of a source that
occupies a cell; it keeps ``g`` finite at the source.  The integral is taken numerically
on geometrically spaced puff ages (trapezoid rule, 16 per decade); ``t − t0 ≤ 0`` gives 0.
Walls are ignored (gas reflected by a wall reads higher than the model says: the
heavy-tailed likelihood below absorbs part of that).  Without ``onsets_s`` the release is
taken to have run for ``steady_age_s`` (a quasi-steady plume).

Detector lag (hazards.md §4.5): an electrochemical cell reports ``y' = (c − y)/τ``.  As the
filter is linear, the predicted reading is ``Q·ỹ`` with ``ỹ`` the same first-order filter
applied to ``g`` along the robot's own sequence of readings
(``ỹ_i = g_i + (ỹ_{i−1} − g_i)·exp(−Δt/τ)``), kept per robot and hypothesis.  Pass the cell's
``τ = t90/ln 10`` as ``sensor_tau_s`` (0: no lag).  Deconvolving the readings instead
would amplify noise; filtering the model does not.

Likelihood (robust to intermittency and to outliers).  Turbulent plumes are patchy: the
error is multiplicative (log-normal, hazards.md §4.2), and small readings are dominated by
the detector's additive noise.  So the residual is taken in log space with a floor ``f``
(reading units, of the order of the detector noise or resolution)::

    ρ_i = (ln(z_i + f) − ln(Q·ỹ_i·k + f)) / σ_ln      (k = reading units per g/m³)
    p(z_i | j, Q, t0) ∝ (1 − ε)·φ(ρ_i)/σ_ln + ε·u

a Gaussian mixed with a uniform outlier density ``u`` (over 20 log units) of weight ``ε``:
one reading can move the log-posterior by at most ``ln((1−ε)/(σ_ln√(2π)·ε·u))``, whatever it
says.  ``Q`` has a log-uniform prior on a grid of ``n_rates`` values in ``rate_bounds_g_s``
(no closed form exists for a robust likelihood; the grid is exact to its spacing), ``t0`` a
uniform prior over ``onsets_s``, the position a uniform prior over the candidate cells.

Robots (one faulty robot must not poison the estimate).  Log-likelihoods are kept per
robot, and each robot's sum enters the posterior with a weight in [0, 1]:

* 0 when its detector **flat-lines**: ``flatline_count`` consecutive identical non-zero
  readings while it travelled at least ``flatline_travel_m`` (a stuck cell repeats its
  last value; a working one in a real plume does not, noise and resolution see to that);
* reduced when it disagrees with the consensus (three or more robots with readings): its
  deficit, how many nats per reading worse its readings fit the most probable hypothesis of
  all robots together than its own most probable one, above ``consensus_deficit_nats``
  lowers its weight linearly to 0 at twice that.  The worst robot is judged first, then the
  rest again without it, so a faulty robot cannot make a healthy one look inconsistent.
  The bounded influence per reading keeps the joint hypothesis with the majority.  With two
  robots there is no majority: only the flat-line rule applies (and the bounded influence).

Outputs (:class:`GasSourceEstimate`): the posterior mean position and its covariance, the
RMS radius ``sqrt(trace Σ)``, the radius around the mean holding 95 % of the posterior mass,
the MAP cell, the rate (posterior median, g/s) when identifiable (95 % interval narrower
than a factor ``rate_identifiable_factor`` and clear of the grid's ends; else None), and
the log Bayes factor of "a source" against "no source" (all readings clean air).

Cost: per reading O(cells × diffusivities × onsets × rates), in float32 (≈ 8 ms for
3,381 cells, 13 onsets, 25 rates); memory per robot cells × scenarios × rates × 4 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from controller.fusion.consensus import consensus_deficits, consensus_weights
from controller.fusion.grid import (
    BoolArray,
    FloatArray,
    GridSpec,
    as_float_array,
    spatial_summary,
)

_MOLAR_VOLUME_20C_M3_MOL = 8.314462618 * 293.15 / 101325.0
_OUTLIER_SPAN_LN = 20.0
_PUFFS_PER_DECADE = 16
_MIN_PUFF_AGE_S = 0.01


def ppm_per_g_m3(
    molar_mass_g_mol: float, temperature_k: float = 293.15, pressure_pa: float = 101325.0
) -> float:
    """ppm of a gas per g/m³ (ideal gas; 705.8 for H2S at 20 °C, 1 atm): pass it as
    ``units_per_g_m3`` when readings are in ppm, so that rates come out in g/s."""
    if not (molar_mass_g_mol > 0 and temperature_k > 0 and pressure_pa > 0):
        raise ValueError("molar_mass_g_mol, temperature_k and pressure_pa must be > 0")
    molar_volume = 8.314462618 * temperature_k / pressure_pa
    return molar_volume / molar_mass_g_mol * 1e6


@dataclass(frozen=True)
class GasSourceEstimate:
    """A gas source estimate (map frame, m).

    ``x_m, y_m``: posterior mean; ``covariance_m2``: 2×2 posterior covariance;
    ``sigma_m``: RMS radius ``sqrt(trace)``; ``radius95_m``: radius around the mean holding
    95 % of the posterior; ``map_x_m, map_y_m``: the most probable cell's centre;
    ``rate_g_s``: posterior median rate, None if not identifiable; ``rate_interval_g_s``:
    its 95 % interval; ``onset_s``: posterior mean release start (None in steady mode);
    ``log_bayes_factor``: ln p(data | a source) − ln p(data | no source);
    ``readings_used``: readings in the posterior; ``robot_weights``: weight per robot.
    """

    x_m: float
    y_m: float
    covariance_m2: tuple[tuple[float, float], tuple[float, float]]
    sigma_m: float
    radius95_m: float
    map_x_m: float
    map_y_m: float
    rate_g_s: float | None
    rate_interval_g_s: tuple[float, float]
    onset_s: float | None
    log_bayes_factor: float
    readings_used: int
    robot_weights: dict[str, float] = field(default_factory=dict)


class _Robot:
    """Per-robot state: its log-likelihood sums, detector-lag filter and flat-line check."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        self.loglik: npt.NDArray[np.float32] = np.zeros(shape, dtype=np.float32)
        self.loglik_none = 0.0
        self.lagged: FloatArray | None = None
        self.t_last: float | None = None
        self.n = 0
        self.flat_value: float | None = None
        self.flat_count = 0
        self.flat_travel_m = 0.0
        self.flat_tripped = False
        self.last_xy: tuple[float, float] | None = None
        self._max: tuple[int, float] | None = None

    def max_loglik(self) -> float:
        """The largest entry of ``loglik`` (remembered until the next reading)."""
        if self._max is None or self._max[0] != self.n:
            self._max = (self.n, float(self.loglik.max()))
        return self._max[1]


def _quadrature_weights(s: FloatArray, ages: FloatArray) -> FloatArray:
    """Weights ``W`` (``len(s)`` × ``len(ages)``) such that ``f(s) @ W`` is, per age, the
    integral of ``f`` from 0 to that age: the integrand taken flat from 0 to ``s[0]``,
    the trapezoid rule between the points, linear interpolation of the running integral
    between two points, the whole integral beyond the last; 0 for an age ≤ 0."""
    n = s.size
    ds = np.diff(s)
    # running integral up to point i as weights on the points: row i of ``cum``
    cum = np.zeros((n, n))
    cum[:, 0] = s[0]
    for i in range(1, n):
        cum[i] = cum[i - 1]
        cum[i, i - 1] += 0.5 * ds[i - 1]
        cum[i, i] += 0.5 * ds[i - 1]
    out = np.zeros((n, ages.size))
    pos = np.searchsorted(s, ages)
    for j, age in enumerate(ages):
        k = int(pos[j])
        if age <= 0.0:
            continue
        if k >= n:
            out[:, j] = cum[n - 1]
        elif k == 0:
            out[0, j] = age
        else:
            w = (age - s[k - 1]) / (s[k] - s[k - 1])
            out[:, j] = cum[k - 1] * (1 - w) + cum[k] * w
    return out


class GasSourceEstimator:
    """Grid posterior over a gas source's position, rate and onset (module docstring).

    ``grid``: candidate source cells (``candidates`` (ny, nx) True where a source may be,
    e.g. open floor; default all).  ``wind_u_m_s``, ``wind_v_m_s``: mean wind (m/s, toward,
    map frame).  ``diffusivity_m2_s``: eddy diffusivity K.  ``mixing_height_m``: H.
    ``units_per_g_m3``: reading units per g/m³ (:func:`ppm_per_g_m3` for ppm).
    ``noise_floor``: floor f (reading units).  ``sigma_ln``, ``outlier_prob``: likelihood.
    ``onsets_s``: candidate release start times (s, caller's clock), or None (steady).
    """

    def __init__(
        self,
        grid: GridSpec,
        *,
        wind_u_m_s: float,
        wind_v_m_s: float,
        diffusivity_m2_s: float | npt.ArrayLike,
        mixing_height_m: float = 2.0,
        units_per_g_m3: float = 1.0,
        noise_floor: float = 0.5,
        sigma_ln: float = 0.8,
        outlier_prob: float = 0.05,
        rate_bounds_g_s: tuple[float, float] = (1e-4, 10.0),
        n_rates: int = 25,
        onsets_s: npt.ArrayLike | None = None,
        steady_age_s: float = 600.0,
        source_sigma_m: float | None = None,
        candidates: BoolArray | None = None,
        flatline_count: int = 8,
        flatline_travel_m: float = 3.0,
        consensus_deficit_nats: float = 1.0,
        rate_identifiable_factor: float = 10.0,
        puffs_per_decade: int = _PUFFS_PER_DECADE,
        min_puff_age_s: float = _MIN_PUFF_AGE_S,
    ) -> None:
        checks: tuple[tuple[str, float, bool], ...] = (
            ("wind_u_m_s", wind_u_m_s, True),
            ("wind_v_m_s", wind_v_m_s, True),
            ("mixing_height_m", mixing_height_m, mixing_height_m > 0),
            ("units_per_g_m3", units_per_g_m3, units_per_g_m3 > 0),
            ("noise_floor", noise_floor, noise_floor > 0),
            ("sigma_ln", sigma_ln, sigma_ln > 0),
            ("outlier_prob", outlier_prob, 0 < outlier_prob < 1),
            ("steady_age_s", steady_age_s, steady_age_s > 0),
            ("rate_identifiable_factor", rate_identifiable_factor, rate_identifiable_factor > 1),
        )
        for name, value, ok in checks:
            if not (math.isfinite(value) and ok):
                raise ValueError(f"{name}: invalid value {value!r}")
        lo, hi = rate_bounds_g_s
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"rate_bounds_g_s: need 0 < low < high, got {rate_bounds_g_s}")
        if n_rates < 2:
            raise ValueError(f"n_rates: need >= 2, got {n_rates}")
        self.grid = grid
        self.wind = (float(wind_u_m_s), float(wind_v_m_s))
        self.diffusivities_m2_s = as_float_array("diffusivity_m2_s", diffusivity_m2_s)
        if self.diffusivities_m2_s.size == 0 or (self.diffusivities_m2_s <= 0).any():
            raise ValueError(
                f"diffusivity_m2_s: need one or more values > 0, got {diffusivity_m2_s!r}"
            )
        self.mixing_height_m = float(mixing_height_m)
        self.units_per_g_m3 = float(units_per_g_m3)
        self.noise_floor = float(noise_floor)
        self.sigma_ln = float(sigma_ln)
        self.outlier_prob = float(outlier_prob)
        self.source_sigma_m = grid.cell_m / 2.0 if source_sigma_m is None else source_sigma_m
        if not (math.isfinite(self.source_sigma_m) and self.source_sigma_m > 0):
            raise ValueError(f"source_sigma_m: must be > 0, got {source_sigma_m}")
        self.rates_g_s: FloatArray = np.geomspace(lo, hi, n_rates)
        if onsets_s is None:
            self.onsets_s: FloatArray | None = None
        else:
            self.onsets_s = as_float_array("onsets_s", onsets_s)
            if self.onsets_s.size == 0:
                raise ValueError("onsets_s: empty")
        self.steady_age_s = float(steady_age_s)
        if candidates is None:
            mask = np.ones(grid.shape, dtype=np.bool_)
        else:
            mask = np.asarray(candidates, dtype=np.bool_)
            if mask.shape != grid.shape:
                raise ValueError(f"candidates: shape {mask.shape} is not the grid's {grid.shape}")
            if not mask.any():
                raise ValueError("candidates: no cell may hold the source")
        gx, gy = grid.center_coordinates()
        self._cand_x: FloatArray = gx[mask]
        self._cand_y: FloatArray = gy[mask]
        self._cand_x_f32 = self._cand_x.astype(np.float32)
        self._cand_y_f32 = self._cand_y.astype(np.float32)
        self._n_onsets = 1 if self.onsets_s is None else self.onsets_s.size
        self._n_k = self.diffusivities_m2_s.size
        self._shape = (self._cand_x.size, self._n_onsets * self._n_k, n_rates)
        self._rates_f32 = self.rates_g_s.astype(np.float32)
        self._robots: dict[str, _Robot] = {}
        self._total = np.zeros(self._shape, dtype=np.float64)
        """Σ of every robot's ``loglik``, kept as readings arrive (a posterior with every
        weight 1 then costs no pass over the robots)"""
        self._estimate: tuple[tuple[int, ...], GasSourceEstimate | None] | None = None
        self._buffer: npt.NDArray[np.float32] | None = None
        """scratch of the hypotheses' shape (one reading's log-likelihoods, the posterior)"""
        self.flatline_count = flatline_count
        self.flatline_travel_m = flatline_travel_m
        if not (math.isfinite(consensus_deficit_nats) and consensus_deficit_nats > 0):
            raise ValueError(f"consensus_deficit_nats: must be > 0, got {consensus_deficit_nats}")
        self.consensus_deficit_nats = consensus_deficit_nats
        self.rate_identifiable_factor = rate_identifiable_factor
        if puffs_per_decade < 2 or not (math.isfinite(min_puff_age_s) and min_puff_age_s > 0):
            raise ValueError("puffs_per_decade must be >= 2 and min_puff_age_s > 0")
        self.puffs_per_decade = puffs_per_decade
        """quadrature points per decade of puff age (the forward model's cost is linear in
        it); the integrand is taken flat below ``min_puff_age_s``"""
        self.min_puff_age_s = min_puff_age_s
        eps = self.outlier_prob
        self._ln_out = math.log(eps / _OUTLIER_SPAN_LN)
        self._ln_in = math.log((1 - eps) / (self.sigma_ln * math.sqrt(2 * math.pi)))

    @property
    def candidate_count(self) -> int:
        """Number of candidate source cells."""
        return int(self._cand_x.size)

    @property
    def hypotheses(self) -> int:
        """Hypotheses a reading updates (cells × scenarios × rates): its cost."""
        return math.prod(self._shape)

    @property
    def readings_used(self) -> int:
        """Readings in the posterior so far (all robots)."""
        return sum(r.n for r in self._robots.values())

    # ------------------------------------------------------------------ forward model

    def unit_response(self, x_m: float, y_m: float, t_s: float) -> FloatArray:
        """``g`` (g/m³ per g/s) at (``x_m``, ``y_m``) and time ``t_s`` for every candidate cell
        and scenario, shape ``(cells, diffusivities × onsets)`` (diffusivity-major; module
        docstring).

        The puff integral is a trapezoid rule over geometric puff ages, so for each age it
        is a fixed linear combination of the integrand at the quadrature points
        (:func:`_quadrature_weights`): one matrix product per diffusivity, with the
        integrand in float32 (a likelihood needs no more)."""
        ages = np.array([self.steady_age_s]) if self.onsets_s is None else t_s - self.onsets_s
        max_age = float(ages.max())
        n_o = ages.size
        out = np.zeros((self._cand_x.size, self._n_k * n_o))
        if max_age <= 0.0:
            return out
        decades = max(1.0, math.log10(max_age / self.min_puff_age_s))
        n = math.ceil(decades * self.puffs_per_decade) + 1
        s = np.geomspace(self.min_puff_age_s, max_age, n)
        weights = _quadrature_weights(s, ages)  # (n, onsets)
        ux, uy = self.wind
        dx = (x_m - self._cand_x_f32)[:, None] - (ux * s).astype(np.float32)[None, :]
        dy = (y_m - self._cand_y_f32)[:, None] - (uy * s).astype(np.float32)[None, :]
        d2 = dx * dx
        d2 += dy * dy
        f = np.empty_like(d2)
        for ik, k in enumerate(self.diffusivities_m2_s):
            var = 2.0 * k * s + self.source_sigma_m**2  # (n,)
            np.multiply(d2, (-0.5 / var).astype(np.float32), out=f)
            np.exp(f, out=f)
            w = (weights / (2.0 * math.pi * var)[:, None]).astype(np.float32)
            out[:, ik * n_o : (ik + 1) * n_o] = f @ w
        out /= self.mixing_height_m
        return out

    # ------------------------------------------------------------------ input

    def add_readings(
        self,
        robot_id: str,
        t_s: npt.ArrayLike,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        value: npt.ArrayLike,
        sensor_tau_s: float = 0.0,
    ) -> None:
        """Fuse one robot's readings, in time order: times (s), positions (m), concentrations
        (≥ 0, reading units) and the detector's lag time constant (s, t90/ln 10; 0: none).
        Points off the grid, NaN, infinite or negative values raise ValueError naming the
        field; so do times earlier than that robot's previous reading."""
        t = as_float_array("t_s", t_s)
        xs = as_float_array("x_m", x_m)
        ys = as_float_array("y_m", y_m)
        zs = as_float_array("value", value, nonnegative=True)
        if not (t.size == xs.size == ys.size == zs.size):
            raise ValueError("t_s/x_m/y_m/value: must have the same length")
        if not (math.isfinite(sensor_tau_s) and sensor_tau_s >= 0):
            raise ValueError(f"sensor_tau_s: must be finite and >= 0, got {sensor_tau_s}")
        self.grid.cells_of(xs, ys, field="x_m/y_m")
        robot = self._robots.get(robot_id)
        if robot is None:
            robot = self._robots[robot_id] = _Robot(self._shape)
        prev = robot.t_last
        if np.any(np.diff(t) < 0) or (prev is not None and t.size and t[0] < prev):
            raise ValueError(f"t_s: readings of robot {robot_id!r} must be in time order")
        for ti, xi, yi, zi in zip(t, xs, ys, zs, strict=True):
            self._add_one(robot, float(ti), float(xi), float(yi), float(zi), sensor_tau_s)

    def _add_one(self, robot: _Robot, t: float, x: float, y: float, z: float, tau: float) -> None:
        g = self.unit_response(x, y, t)
        if robot.lagged is None or tau == 0.0 or robot.t_last is None:
            lagged = g
        else:
            keep = math.exp(-(t - robot.t_last) / tau)
            lagged = g + (robot.lagged - g) * keep
        robot.lagged = lagged
        robot.t_last = t
        self._flatline(robot, x, y, z)
        f = np.float32(self.noise_floor)
        scale = self._rates_f32 * np.float32(self.units_per_g_m3)
        # one scratch array per estimator: a fresh 2 MB array per reading costs its page
        # faults every time
        rho = self._scratch()
        np.multiply(lagged.astype(np.float32)[:, :, None], scale[None, None, :], out=rho)
        rho += f
        np.log(rho, out=rho)
        # ρ = (ln(z + f) − ln(pred + f)) / σ; only ρ² is used, so the sign is free
        rho -= np.float32(math.log(z + self.noise_floor))
        # ln((1−ε)φ(ρ)/σ + ε·u) = ln(ε·u) + ln(1 + exp(c − ρ²/2)), c = ln_in − ln_out
        rho *= rho
        rho *= np.float32(-0.5 / (self.sigma_ln * self.sigma_ln))
        rho += np.float32(self._ln_in - self._ln_out)
        np.exp(rho, out=rho)
        # ln(1 + e) as log(1 + e), not log1p: NumPy's float32 log has a SIMD loop and
        # log1p none (1.3 vs 3.6-9.9 ms on 534,720 hypotheses); the difference, where
        # e < 1e-7, is below 2.4e-7 nats a reading, under float32's resolution of the sums
        rho += np.float32(1.0)
        np.log(rho, out=rho)
        rho += np.float32(self._ln_out)
        robot.loglik += rho
        self._total += rho
        rho0 = (math.log(z + f) - math.log(f)) / self.sigma_ln
        robot.loglik_none += float(np.logaddexp(self._ln_in - 0.5 * rho0 * rho0, self._ln_out))
        robot.n += 1

    def _scratch(self) -> npt.NDArray[np.float32]:
        if self._buffer is None:
            self._buffer = np.empty(self._shape, dtype=np.float32)
        return self._buffer

    def _flatline(self, robot: _Robot, x: float, y: float, z: float) -> None:
        moved = 0.0 if robot.last_xy is None else math.dist(robot.last_xy, (x, y))
        robot.last_xy = (x, y)
        if z != 0.0 and z == robot.flat_value:
            robot.flat_count += 1
            robot.flat_travel_m += moved
        else:
            robot.flat_value = z
            robot.flat_count = 1
            robot.flat_travel_m = 0.0
        if (
            robot.flat_count >= self.flatline_count
            and robot.flat_travel_m >= self.flatline_travel_m
        ):
            robot.flat_tripped = True

    # ------------------------------------------------------------------ output

    def robot_weights(self) -> dict[str, float]:
        """Weight in [0, 1] of each robot's evidence (module docstring, "Robots")."""
        base = {rid: 0.0 if r.flat_tripped else 1.0 for rid, r in self._robots.items()}
        logliks = {rid: (r.loglik, r.n) for rid, r in self._robots.items()}
        return consensus_weights(
            logliks, base, self.consensus_deficit_nats, total=self._sum, maxima=self._maxima()
        )

    def consensus_deficits(self, weights: dict[str, float]) -> dict[str, float]:
        """Per robot: how much worse, in nats per reading, its readings fit the joint most
        probable hypothesis than its own (:func:`.consensus.consensus_deficits`)."""
        logliks = {rid: (r.loglik, r.n) for rid, r in self._robots.items()}
        return consensus_deficits(logliks, weights, total=self._sum, maxima=self._maxima())

    def _maxima(self) -> dict[str, float]:
        return {rid: r.max_loglik() for rid, r in self._robots.items()}

    def _sum(self, weights: Mapping[str, float]) -> FloatArray:
        """Σ weight × loglik (robots not in ``weights`` count 0): the running total itself
        (read only!) when every robot has weight 1, else summed robot by robot (a robot
        weighted out leaves no rounding trace of its readings behind)."""
        if len(weights) == len(self._robots) and all(w == 1.0 for w in weights.values()):
            return self._total
        total = np.zeros(self._shape, dtype=np.float64)
        for rid, w in weights.items():
            if w > 0.0:
                total += w * self._robots[rid].loglik
        return total

    def log_posterior(self, weights: Mapping[str, float] | None = None) -> FloatArray:
        """Unnormalised log-posterior over (candidate cell, onset, rate), with ``weights``
        (default: :meth:`robot_weights`)."""
        return self._sum(self.robot_weights() if weights is None else weights).copy()

    def posterior_map(self) -> FloatArray:
        """Posterior probability of the source being in each grid cell, ``(ny, nx)``
        (0 outside the candidate cells); uniform before any reading."""
        p_cell = self._cell_posterior(self.log_posterior())
        out = np.zeros(self.grid.size)
        ix, iy = self.grid.cells_of(self._cand_x, self._cand_y)
        out[iy * self.grid.nx + ix] = p_cell
        return out.reshape(self.grid.shape)

    @staticmethod
    def _cell_posterior(lp: FloatArray) -> FloatArray:
        m = float(lp.max())
        p = np.exp(lp - m)
        cell = p.sum(axis=(1, 2))
        out: FloatArray = cell / cell.sum()
        return out

    def estimate(self) -> GasSourceEstimate | None:
        """The current estimate, or None before any reading."""
        key = tuple(r.n for r in self._robots.values())
        if self._estimate is None or self._estimate[0] != key:
            self._estimate = (key, self._estimate_now())
        return self._estimate[1]

    def _estimate_now(self) -> GasSourceEstimate | None:
        if self.readings_used == 0:
            return None
        weights = self.robot_weights()
        lp = self._sum(weights)
        m = float(lp.max())
        # the posterior in float32 (relative error ~1e-7, far below what it is used for),
        # its marginals summed in float32 per cell and rate, normalised in float64
        p = self._scratch()
        np.subtract(lp, m, out=p, casting="unsafe")  # float64 -> float32
        np.exp(p, out=p)
        p_cell = p.reshape(p.shape[0], -1).sum(axis=1).astype(np.float64)
        z = float(p_cell.sum())
        where = spatial_summary(p_cell / z, self._cand_x, self._cand_y)
        p_rate = p.sum(axis=(0, 1)).astype(np.float64) / z
        cdf = np.cumsum(p_rate)
        ln_rates = np.log(self.rates_g_s)
        lo_i = int(np.searchsorted(cdf, 0.025))
        med_i = int(np.searchsorted(cdf, 0.5))
        hi_i = min(int(np.searchsorted(cdf, 0.975)), ln_rates.size - 1)
        interval = (float(self.rates_g_s[lo_i]), float(self.rates_g_s[hi_i]))
        identifiable = (
            interval[1] / interval[0] <= self.rate_identifiable_factor
            and lo_i > 0
            and hi_i < ln_rates.size - 1
        )
        onset: float | None = None
        if self.onsets_s is not None:
            p_scen = (p.sum(axis=(0, 2)).astype(np.float64) / z).reshape(self._n_k, self._n_onsets)
            onset = float(p_scen.sum(axis=0) @ self.onsets_s)
        # evidence: mean likelihood over the hypotheses (uniform priors) vs "no source"
        ln_evidence = m + math.log(z / p.size)
        ln_none = sum(
            weights[rid] * r.loglik_none for rid, r in self._robots.items() if weights[rid] > 0
        )
        used = sum(r.n for rid, r in self._robots.items() if weights[rid] > 0)
        return GasSourceEstimate(
            x_m=where.x_m,
            y_m=where.y_m,
            covariance_m2=where.covariance_m2,
            sigma_m=where.sigma_m,
            radius95_m=where.radius95_m,
            map_x_m=float(self._cand_x[where.best]),
            map_y_m=float(self._cand_y[where.best]),
            rate_g_s=float(self.rates_g_s[med_i]) if identifiable else None,
            rate_interval_g_s=interval,
            onset_s=onset,
            log_bayes_factor=ln_evidence - ln_none,
            readings_used=used,
            robot_weights=weights,
        )

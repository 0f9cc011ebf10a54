"""Per-cell hazard evidence: one log-odds layer per hazard type, with time decay.

Formulas (hazards.md §3.1; occupancy-grid log-odds of Thrun/Elfes, naive-Bayes fusion of
independent detectors):

* A detector's report is turned into a likelihood ratio through its **measured**
  reliability, the true-positive rate TPR and false-positive rate FPR of that detector for
  that hazard: ``Δl = ln(TPR/FPR)`` when it detects the hazard, ``Δl = ln((1−TPR)/(1−FPR))``
  on a confirmed miss (the footprint was in view and nothing was seen).  TPR 0.9 and FPR
  0.1 give ``+ln 9`` and ``−ln 9``.
* Independent reports add in log-odds: ``l ← l + Δl`` over the cells of the footprint, then
  ``l`` is clamped to ``[−clamp, +clamp]`` (±10 by default) so the map stays responsive.
* Between reports the evidence decays toward the prior ``l0 = ln(p0/(1−p0))``:
  ``l ← l0 + (l − l0)·exp(−Δt/τ)`` with ``τ`` per layer (minutes for gas, longer for spills
  and radiation).
* The probability of a cell is ``p = 1 − 1/(1 + e^l)``.

Lazy decay.  All cells of a layer decay with the same τ, so the layer stores the excess
``e = l − l0`` divided by a global factor ``exp(−(t_ref_now − t_ref)/τ)``: decaying a whole
layer is then O(1) (move the layer's clock), and an update costs only its footprint.
Reports may arrive out of order: a report of time ``t`` earlier than the layer's clock adds
``Δl·exp(−(now − t)/τ)``, exactly what it would have decayed to.  The clamp is applied to the
cells a report touches, at the layer's clock time (the latest time it has seen); a batch of
reports is summed per cell first and clamped once (sequential clamping could differ only
for cells that cross ±clamp inside the batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from controller.fusion.grid import FloatArray, GridSpec, IntArray, as_float_array

HAZARD_LAYERS: tuple[str, ...] = (
    "gas_toxic",
    "flammable",
    "oxygen",
    "heat",
    "fire",
    "smoke",
    "radiation",
    "spill",
)
"""The hazard types of the site map (hazards.md §3.1), one layer each."""


@dataclass(frozen=True)
class LayerConfig:
    """How one layer behaves: ``tau_s`` the decay time constant (s), ``prior_p`` the
    probability a cell decays back to (0 < p < 1), ``clamp`` the bound on |log-odds|."""

    tau_s: float
    prior_p: float = 0.5
    clamp: float = 10.0

    def __post_init__(self) -> None:
        if not (self.tau_s > 0.0):
            raise ValueError(f"LayerConfig.tau_s: must be > 0 s (inf: no decay), got {self.tau_s}")
        if not (0.0 < self.prior_p < 1.0):
            raise ValueError(f"LayerConfig.prior_p: must be in (0, 1), got {self.prior_p}")
        if not (math.isfinite(self.clamp) and self.clamp > 0.0):
            raise ValueError(f"LayerConfig.clamp: must be finite and > 0, got {self.clamp}")
        if abs(self.prior_log_odds) >= self.clamp:
            raise ValueError("LayerConfig.prior_p: its log-odds lies outside ±clamp")

    @property
    def prior_log_odds(self) -> float:
        """``l0 = ln(p0/(1−p0))``."""
        return math.log(self.prior_p / (1.0 - self.prior_p))


DEFAULT_LAYERS: MappingProxyType[str, LayerConfig] = MappingProxyType(
    {
        # gas moves and clears in minutes (hazards.md §3.1: "τ in minutes for gas")
        "gas_toxic": LayerConfig(tau_s=300.0),
        "flammable": LayerConfig(tau_s=300.0),
        "oxygen": LayerConfig(tau_s=300.0),
        "smoke": LayerConfig(tau_s=300.0),
        # heat and fire: a fire burns for a while; assumed 10 min
        "heat": LayerConfig(tau_s=600.0),
        "fire": LayerConfig(tau_s=600.0),
        # "longer for spills and radiation": assumed 1 h
        "radiation": LayerConfig(tau_s=3600.0),
        "spill": LayerConfig(tau_s=3600.0),
    }
)
"""Default decay per layer; prior 0.5 (no opinion), clamp ±10."""

_RENORMALISE = 30.0
"""When the stored excess has been scaled up by more than e^30, fold the factor in."""


def log_odds_increment(detected: bool, tpr: float, fpr: float) -> float:
    """``ln(TPR/FPR)`` on a detection, ``ln((1−TPR)/(1−FPR))`` on a confirmed miss.
    ValueError unless 0 < FPR < 1 and 0 < TPR < 1 (a perfect detector is not a measured one)."""
    if not (0.0 < tpr < 1.0):
        raise ValueError(f"tpr: must be in (0, 1), got {tpr}")
    if not (0.0 < fpr < 1.0):
        raise ValueError(f"fpr: must be in (0, 1), got {fpr}")
    if detected:
        return math.log(tpr / fpr)
    return math.log((1.0 - tpr) / (1.0 - fpr))


class _Layer:
    """Stored excess log-odds of one layer and its decay clock."""

    def __init__(self, grid: GridSpec, config: LayerConfig) -> None:
        self.config = config
        self.stored: FloatArray = np.zeros(grid.size, dtype=np.float64)
        self.t_ref: float | None = None
        """time at which ``stored`` is the true excess (scale 1)"""
        self.now: float | None = None
        """latest time this layer has seen"""

    def gain(self, t_s: float) -> float:
        """Factor by which a true excess at ``t_s`` is stored: ``exp((t_s − t_ref)/τ)``."""
        if self.t_ref is None or math.isinf(self.config.tau_s):
            return 1.0
        return math.exp((t_s - self.t_ref) / self.config.tau_s)

    def advance(self, t_s: float) -> None:
        if self.t_ref is None:
            self.t_ref = self.now = t_s
            return
        assert self.now is not None
        self.now = max(self.now, t_s)
        if math.isfinite(self.config.tau_s) and (self.now - self.t_ref) / self.config.tau_s > (
            _RENORMALISE
        ):
            self.stored *= math.exp(-(self.now - self.t_ref) / self.config.tau_s)
            self.t_ref = self.now

    def excess_at(self, t_s: float) -> FloatArray:
        return self.stored / self.gain(t_s)


class HazardMap:
    """One log-odds layer per hazard type on a :class:`GridSpec` (formulas in the module
    docstring).  Times are seconds on the caller's clock; nothing reads a clock.

    ``layers`` overrides the :data:`DEFAULT_LAYERS` configuration of some layers; any name
    may be used, the eight of :data:`HAZARD_LAYERS` always exist.
    """

    def __init__(self, grid: GridSpec, layers: dict[str, LayerConfig] | None = None) -> None:
        self.grid = grid
        configs = dict(DEFAULT_LAYERS)
        configs.update(layers or {})
        self._layers = {name: _Layer(grid, cfg) for name, cfg in configs.items()}
        self._footprints: dict[float, tuple[IntArray, IntArray]] = {}

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(self._layers)

    def config(self, layer: str) -> LayerConfig:
        """The configuration of ``layer``."""
        return self._layer(layer).config

    def _layer(self, name: str) -> _Layer:
        try:
            return self._layers[name]
        except KeyError:
            raise ValueError(
                f"layer: unknown hazard layer {name!r}; known {self.layer_names}"
            ) from None

    def _footprint(self, radius_m: float) -> tuple[IntArray, IntArray]:
        """Cell offsets (dx, dy) whose centres lie within ``radius_m`` of a cell centre
        (always at least the cell itself)."""
        fp = self._footprints.get(radius_m)
        if fp is None:
            r = math.floor(radius_m / self.grid.cell_m)
            dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
            keep = (dx * dx + dy * dy) * self.grid.cell_m**2 <= radius_m**2 + 1e-12
            fp = (dx[keep].astype(np.int64), dy[keep].astype(np.int64))
            self._footprints[radius_m] = fp
        return fp

    def update(
        self,
        layer: str,
        x_m: float,
        y_m: float,
        radius_m: float,
        detected: bool,
        tpr: float,
        fpr: float,
        t_s: float,
    ) -> None:
        """One report of a detector with reliability (``tpr``, ``fpr``) about ``layer``:
        ``detected`` True adds ``ln(TPR/FPR)``, False (a confirmed miss in view) adds
        ``ln((1−TPR)/(1−FPR))`` to every cell whose centre lies within ``radius_m`` of
        (``x_m``, ``y_m``), at time ``t_s``; the point must lie on the grid."""
        self.update_many(layer, [x_m], [y_m], radius_m, [detected], tpr, fpr, t_s)

    def update_many(
        self,
        layer: str,
        x_m: npt.ArrayLike,
        y_m: npt.ArrayLike,
        radius_m: float,
        detected: npt.ArrayLike,
        tpr: float,
        fpr: float,
        t_s: npt.ArrayLike,
    ) -> None:
        """A batch of reports of one detector type (same footprint radius and reliability):
        arrays of positions (m), detected flags and times (s, a scalar for all).  Summed per
        cell, then clamped once (module docstring)."""
        lay = self._layer(layer)
        if not (math.isfinite(radius_m) and radius_m >= 0.0):
            raise ValueError(f"radius_m: must be finite and >= 0, got {radius_m}")
        up = log_odds_increment(True, tpr, fpr)
        down = log_odds_increment(False, tpr, fpr)
        centre = self.grid.flat_index(x_m, y_m)
        n = centre.size
        det = np.atleast_1d(np.asarray(detected, dtype=np.bool_))
        if det.shape != (n,) and det.shape != (1,):
            raise ValueError(f"detected: length {det.size} does not match the {n} positions")
        times = as_float_array("t_s", t_s)
        if times.size not in (1, n):
            raise ValueError(f"t_s: length {times.size} does not match the {n} positions")
        t_max = float(times.max())
        lay.advance(float(times.min()))
        lay.advance(t_max)
        if lay.t_ref is not None and math.isfinite(lay.config.tau_s):
            gains = np.exp((times - lay.t_ref) / lay.config.tau_s)
        else:
            gains = np.ones_like(times)
        delta = np.where(det, up, down) * gains
        delta = np.broadcast_to(delta, (n,))
        dx, dy = self._footprint(radius_m)
        nx, ny = self.grid.nx, self.grid.ny
        cx = centre % nx
        cy = centre // nx
        px = cx[:, None] + dx[None, :]
        py = cy[:, None] + dy[None, :]
        inside = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
        idx = (py * nx + px)[inside]
        w = np.broadcast_to(delta[:, None], inside.shape)[inside]
        touched = np.unique(idx)
        added = np.bincount(idx, weights=w, minlength=self.grid.size)[touched]
        g_now = lay.gain(t_max)
        l0 = lay.config.prior_log_odds
        c = lay.config.clamp
        excess = (lay.stored[touched] + added) / g_now
        excess = np.clip(excess, -c - l0, c - l0)
        lay.stored[touched] = excess * g_now

    def log_odds(self, layer: str, t_s: float) -> FloatArray:
        """Log-odds of every cell of ``layer`` at time ``t_s`` as a ``(ny, nx)`` array
        (decayed to ``t_s``; a time before the latest report is extrapolated backwards)."""
        lay = self._layer(layer)
        if not math.isfinite(t_s):
            raise ValueError(f"t_s: must be finite, got {t_s}")
        l0 = lay.config.prior_log_odds
        return (l0 + lay.excess_at(t_s)).reshape(self.grid.shape)

    def probability(self, layer: str, t_s: float) -> FloatArray:
        """``p = 1 − 1/(1 + e^l)`` of every cell of ``layer`` at ``t_s``, shape ``(ny, nx)``."""
        out: FloatArray = 1.0 - 1.0 / (1.0 + np.exp(self.log_odds(layer, t_s)))
        return out

    def probability_at(self, layer: str, x_m: float, y_m: float, t_s: float) -> float:
        """Probability of ``layer`` in the cell holding (``x_m``, ``y_m``) at ``t_s``."""
        lay = self._layer(layer)
        k = int(self.grid.flat_index(x_m, y_m)[0])
        if not math.isfinite(t_s):
            raise ValueError(f"t_s: must be finite, got {t_s}")
        l_val = lay.config.prior_log_odds + float(lay.stored[k]) / lay.gain(t_s)
        return 1.0 - 1.0 / (1.0 + math.exp(l_val))

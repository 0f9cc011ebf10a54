"""Per-robot weights from the consensus of the fleet, shared by the source estimators.

Each estimator keeps one log-likelihood array per robot over the same hypotheses.  A
robot's **deficit** is how many nats per reading worse its readings fit the most probable
hypothesis of all robots together (weighted) than its own most probable one.  Healthy
robots agree with the joint hypothesis up to noise and model error (deficits of 0–0.8
nats per reading in the tests); a faulty one cannot (3–5).  With three robots or more,
the worst robot whose deficit exceeds ``threshold_nats`` is weighted down linearly, to 0
at twice the threshold; then the others are judged again without it, so a faulty robot
cannot make a healthy one look inconsistent.  With fewer than three robots there is no
majority and nobody is weighted down here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

MIN_READINGS = 5
"""A robot is judged once it has this many readings."""


Summer = Callable[[Mapping[str, float]], npt.NDArray[np.floating]]
"""Σ weight × log-likelihood over the robots given (weights > 0), as an estimator that
keeps a running total can compute it without a pass over every robot"""


def weighted_sum(
    logliks: Mapping[str, tuple[npt.NDArray[np.floating], int]], weights: Mapping[str, float]
) -> npt.NDArray[np.floating]:
    """Σ weight × log-likelihood over ``weights`` (the plain :data:`Summer`)."""
    first = next(iter(logliks.values()))[0]
    total = np.zeros(first.shape, dtype=first.dtype)
    for r, w in weights.items():
        total += first.dtype.type(w) * logliks[r][0]
    return total


def consensus_deficits(
    logliks: Mapping[str, tuple[npt.NDArray[np.floating], int]],
    weights: Mapping[str, float],
    *,
    total: Summer | None = None,
    maxima: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Deficit (nats per reading) of every robot with weight > 0 and enough readings, when
    at least three such robots exist; ``logliks`` maps robot → (log-likelihood array,
    number of readings).  ``total`` and ``maxima`` (each robot's largest log-likelihood)
    may come from the caller's caches; they must equal what they replace."""
    live = [r for r, w in weights.items() if w > 0 and logliks[r][1] >= MIN_READINGS]
    if len(live) < 3:
        return {}
    joint = (total or (lambda ws: weighted_sum(logliks, ws)))({r: weights[r] for r in live})
    best = int(np.argmax(joint))
    out: dict[str, float] = {}
    for r in live:
        ll, n = logliks[r]
        top = float(ll.max()) if maxima is None else maxima[r]
        out[r] = (top - float(ll.ravel()[best])) / n
    return out


def consensus_weights(
    logliks: Mapping[str, tuple[npt.NDArray[np.floating], int]],
    base: Mapping[str, float],
    threshold_nats: float,
    *,
    total: Summer | None = None,
    maxima: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Weights in [0, 1] per robot: ``base`` (e.g. 0 for a flat-lined detector), lowered for
    the robots that disagree with the consensus (module docstring)."""
    out = dict(base)
    for _ in range(len(out)):
        deficits = consensus_deficits(logliks, out, total=total, maxima=maxima)
        if not deficits:
            break
        worst = max(deficits, key=lambda r: deficits[r])
        excess = (deficits[worst] - threshold_nats) / threshold_nats
        if excess <= 0.0:
            break
        out[worst] = float(np.clip(1.0 - excess, 0.0, 1.0))
        if out[worst] > 0.0:
            break  # partly trusted: it stays in, the others are judged with it
    return out

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

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

MIN_READINGS = 5
"""A robot is judged once it has this many readings."""


def consensus_deficits(
    logliks: Mapping[str, tuple[npt.NDArray[np.floating], int]],
    weights: Mapping[str, float],
) -> dict[str, float]:
    """Deficit (nats per reading) of every robot with weight > 0 and enough readings, when
    at least three such robots exist; ``logliks`` maps robot → (log-likelihood array,
    number of readings)."""
    live = [r for r, w in weights.items() if w > 0 and logliks[r][1] >= MIN_READINGS]
    if len(live) < 3:
        return {}
    first = logliks[live[0]][0]
    total = np.zeros(first.shape, dtype=first.dtype)
    for r in live:
        total += first.dtype.type(weights[r]) * logliks[r][0]
    best = int(np.argmax(total))
    out: dict[str, float] = {}
    for r in live:
        ll, n = logliks[r]
        out[r] = (float(ll.max()) - float(ll.ravel()[best])) / n
    return out


def consensus_weights(
    logliks: Mapping[str, tuple[npt.NDArray[np.floating], int]],
    base: Mapping[str, float],
    threshold_nats: float,
) -> dict[str, float]:
    """Weights in [0, 1] per robot: ``base`` (e.g. 0 for a flat-lined detector), lowered for
    the robots that disagree with the consensus (module docstring)."""
    out = dict(base)
    for _ in range(len(out)):
        deficits = consensus_deficits(logliks, out)
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

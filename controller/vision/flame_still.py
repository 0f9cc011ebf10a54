"""The still-image flame decision: is there fire in this photo?

A logistic score over the hand-crafted features of :mod:`controller.vision.still_features`::

    z = (feature − mean) / scale          (per feature, standardised)
    p = 1 / (1 + exp(−(weights · z + bias)))       fire if p ≥ threshold

with one gate in front: a photo in which less than :data:`MIN_HOT_FRACTION` of the pixels
are "hot" flame colours has no flame (p = 0).  A linear score extrapolates badly far from
the photos it was fitted on (bare grey concrete scored 0.68); the gate keeps every fire
photo of the tuning half (the smallest hot fraction there is 0.0001).

The numbers below are the only tuned part.  They were fitted with L2-regularised logistic
regression (Newton's method, λ = 3) on the **even** rows of the CAIR fire dataset's
``labels.csv`` only (``python -m bench.detect_eval --fit``; the threshold chosen by
repeated stratified 5-fold cross-validation on that half, best F1 with a false-positive
rate ≤ 7 %), and are reported on the odd rows (docs/detection.md).  They are a property
of this feature set, not pretrained weights: anyone can refit them from the features and
the documented half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from controller.vision.still_features import FEATURE_NAMES, hot_fraction, still_features

MIN_HOT_FRACTION = 1e-4
"""below this fraction of "hot" pixels a photo has no flame (about 8 px at 320 × 240)"""


@dataclass(frozen=True)
class LinearScore:
    """A standardised linear score and its decision threshold (module docstring)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def __post_init__(self) -> None:
        n = len(FEATURE_NAMES)
        if not len(self.mean) == len(self.scale) == len(self.weights) == n:
            raise ValueError(f"LinearScore needs {n} means, scales and weights")

    def probability(self, features: NDArray[np.float64]) -> float:
        """p (0..1) of fire for one feature vector."""
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(np.dot(z, np.asarray(self.weights))) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


@dataclass(frozen=True)
class StillDecision:
    """The decision on one photo: ``fire`` when ``probability`` ≥ the model's threshold."""

    fire: bool
    probability: float


# fitted by `python -m bench.detect_eval --fit` on the even half (module docstring);
# lambda 3; 20 x 5-fold CV on that half at this threshold: F1 0.926, false-positive rate 0.070
# (optimistic: the features were selected on the same half; nested CV of the whole
# procedure, selection included, estimated F1 0.851 and FPR 0.086)
# fmt: off
STILL_MODEL = LinearScore(
    mean=(
        -1.89553, 0.525262, -2.24614, 0.79851, -2.52997, -1.96253,
        -0.202738, -2.41395, 0.581512, -2.86957, 0.114048,
    ),
    scale=(
        0.841631, 0.0872497, 0.643593, 0.187542, 0.679348, 0.743815,
        0.30951, 0.659631, 0.429222, 0.211399, 0.0481639,
    ),
    weights=(
        0.4771, -0.718267, -1.2665, -1.14334, -0.944817, 0.579552,
        0.574507, 0.671514, 0.44682, -0.4633, 0.433617,
    ),
    bias=-0.959036,
    threshold=0.4,
)
# fmt: on


def classify_still(rgb: NDArray[np.uint8], model: LinearScore = STILL_MODEL) -> StillDecision:
    """Fire or not in an RGB-order uint8 photo of any size."""
    return decide(still_features(rgb), model)


def decide(features: NDArray[np.float64], model: LinearScore = STILL_MODEL) -> StillDecision:
    """The decision on a photo's :func:`~controller.vision.still_features.still_features`."""
    if hot_fraction(features) < MIN_HOT_FRACTION:
        return StillDecision(fire=False, probability=0.0)
    p = model.probability(features)
    return StillDecision(fire=p >= model.threshold, probability=p)

"""The still-image flame decision: is there fire in this photo?

A logistic score over the hand-crafted features of :mod:`controller.vision.still_features`::

    z = (feature − mean) / scale          (per feature, standardised)
    p = 1 / (1 + exp(−(weights · z + bias)))       fire if p ≥ threshold

with one gate in front: a photo in which less than :data:`MIN_HOT_FRACTION` of the pixels
are "hot" flame colours has no flame (p = 0).  A linear score extrapolates badly far from
the photos it was fitted on (bare grey concrete scored 0.68); the gate keeps every fire
photo of the tuning half (the smallest hot fraction there is 0.0001).

The numbers below are the only tuned part.  They were fitted with L2-regularised logistic
regression (Newton's method) on the **even** rows of the CAIR fire dataset's
``labels.csv`` only (``python -m bench.detect_eval --fit``; regularisation and threshold
chosen by leave-one-out on that half), and are reported on the odd rows
(docs/detection.md).  They are a property of this feature set, not pretrained weights:
anyone can refit them from the features and the documented half.
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
# lambda 0.3, leave-one-out on that half: F1 0.862, false-positive rate 0.089
# fmt: off
STILL_MODEL = LinearScore(
    mean=(
        -1.89553, -1.33059, -2.32514, 0.480765, 0.79851, 1.54648,
        0.249102, 0.435626, -1.68455, 0.581512, -2.27824, -2.22659,
        -2.73737, -2.41395, -2.32941, -1.96253, -2.32031, -2.24614,
        -2.62437, -2.81872, -2.04194, -1.02397, -2.08686, -1.7049,
        -2.52997,
    ),
    scale=(
        0.841631, 0.707059, 0.639097, 0.357342, 0.187542, 1.83676,
        0.197568, 0.200063, 1.00959, 0.429222, 0.764895, 0.671781,
        0.513191, 0.659631, 0.706114, 0.743815, 0.67814, 0.643593,
        0.53001, 0.327087, 0.647155, 0.578698, 0.790022, 0.949731,
        0.679348,
    ),
    weights=(
        -0.355079, -0.243327, -0.105635, -0.35323, -1.72183, -0.676468,
        1.38173, -1.79842, -0.580544, 1.53203, 0.432814, -0.577228,
        -0.276649, 1.8094, 0.48152, 1.03614, -0.674427, -1.44705,
        1.84024, -0.00522424, 0.263049, -0.587093, -0.199233, -0.113442,
        -2.01611,
    ),
    bias=-1.18196,
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

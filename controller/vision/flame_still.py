"""The still-image flame decision: is there fire in this photo?

A logistic score over the hand-crafted features of :mod:`controller.vision.still_features`::

    z = (feature − mean) / scale          (per feature, standardised)
    p = 1 / (1 + exp(−(weights · z + bias)))       fire if p ≥ threshold

with one gate in front: a photo in which less than :data:`MIN_HOT_FRACTION` of the pixels
are "hot" flame colours has no flame (p = 0).  A linear score extrapolates badly far from
the photos it was fitted on (bare grey concrete scored 0.68); the gate keeps every fire
photo of the tuning half (the smallest hot fraction there is 0.0001).

The numbers below are the only tuned part (v3).  They were fitted with L2-regularised
logistic regression (Newton's method) over all 48 features, none selected by the data, on
the **even** rows of the CAIR fire dataset's ``labels.csv`` only (``python -m
bench.detect_eval --fit``: λ = 3 of 1, 3, 10, 30 by out-of-fold log-loss; the threshold by
repeated stratified 5-fold cross-validation on that half, best F1 with a mean
false-positive rate ≤ 7 %), and are to be reported on the odd rows (docs/detection.md).
They are a property of this feature set, not pretrained weights: anyone can refit them from
the features and the documented half.
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
# lambda 3 (chosen from 1, 3, 10, 30); 20 x 5-fold CV on that half at this threshold:
# F1 0.869, false-positive rate 0.051, recall 0.834.  Nested CV of the whole procedure
# (`--nested`, 20 x 5-fold, lambda and threshold chosen inside): F1 0.870, FPR 0.046
# (90th percentile over the repeats 0.069), recall 0.828, precision 0.917
# fmt: off
STILL_MODEL = LinearScore(
    mean=(
        -1.89553, -1.33059, -2.32514, 0.480765, 0.79851, 1.54648,
        0.249102, 0.435626, -1.68455, 0.581512, -2.27824, -2.22659,
        -2.73737, -2.41395, -2.32941, -1.96253, -2.32031, -2.24614,
        -2.62437, -2.81872, -2.04194, -1.02397, -2.08686, -1.7049,
        -2.52997, 0.525262, -0.202738, -2.86957, 0.114048, 0.277156,
        -2.4837, 0.345964, 0.539198, 0.331286, 0.674412, 1.79608,
        0.182224, -0.125844, 0.137847, 0.0952323, 0.344852, 0.319694,
        0.725255, 0.581704, 0.190642, 0.12875, -2.01598, -2.43816,
    ),
    scale=(
        0.841631, 0.707059, 0.639097, 0.357342, 0.187542, 1.83676,
        0.197568, 0.200063, 1.00959, 0.429222, 0.764895, 0.671781,
        0.513191, 0.659631, 0.706114, 0.743815, 0.67814, 0.643593,
        0.53001, 0.327087, 0.647155, 0.578698, 0.790022, 0.949731,
        0.679348, 0.0872497, 0.30951, 0.211399, 0.0481639, 0.333973,
        0.466384, 0.364312, 0.271855, 0.283294, 0.689769, 0.456823,
        0.427806, 0.409252, 0.0686129, 0.0359488, 0.286468, 0.23815,
        0.277567, 0.141827, 0.108846, 0.0662125, 0.950892, 0.630539,
    ),
    weights=(
        0.0871435, 0.122787, 0.0922305, -0.0545752, -0.843646, 0.0256897,
        0.215308, -0.480242, -0.198355, 0.22816, 0.263387, -0.295848,
        0.0747538, 0.453176, 0.381356, 0.419952, -0.16358, -0.861085,
        0.286984, 0.0265484, 0.176461, -0.00867969, 0.0510988, -0.00526037,
        -0.727424, -0.798525, 0.471729, -0.280466, 0.378662, -0.215693,
        -0.151868, -0.0538113, -0.0470212, -0.420936, -0.0910713, -0.204899,
        0.558535, 0.335591, 0.159827, 0.00744438, 0.299933, 0.173074,
        0.103023, -0.239681, 0.554602, -0.472455, -0.0415679, 0.201353,
    ),
    bias=-1.12297,
    threshold=0.5,
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

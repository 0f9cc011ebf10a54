"""Still-image flame decision on real labelled photos: tune half vs held-out half.

Dataset: ``../shared/datasets/cair-fire-detection-image-dataset/`` next to the repository
(``--dataset`` overrides), 108 fire and 180 non-fire photos with image-level labels; see
its SOURCE.md.  The images are read from there at run time and never copied.  When the
folder is absent this prints why and exits 0 (a user's machine will not have it).

Protocol (the dataset's rules): rows of ``labels.csv`` in file order; the **even**
indices (0, 2, 4, …) are the tuning half, the **odd** ones the held-out half.  ``--fit``
reads the tuning half only and fits :data:`controller.vision.flame_still.STILL_MODEL` on it
with one fixed procedure (:func:`fit`): every feature kept (no selection), L2 logistic
regression with λ the one of :data:`LAMBDAS` of least out-of-fold log-loss, and the
threshold of best mean F1 with a mean false-positive rate ≤ :data:`MAX_FPR` over repeated
stratified k-fold cross-validation; it prints the constants to paste.  ``--nested``
estimates that whole procedure on the tuning half by nested cross-validation (λ and
threshold chosen again inside every outer training fold).  ``--tune-only`` scores the
package's decision on the tuning half without reading the held-out images.  Without any
of these it reports precision, recall, F1 and false-positive rate of the decision in the
package (:func:`controller.vision.flame_still.decide`: the gate on "hot" pixels, then the
fitted score) on both halves, plus the Chen + Celik colour rule alone (fire if any
8-connected flame-coloured region covers ≥ 0.5 % of the shrunk photo) as a baseline.
Every run on the held-out half is an evaluation of it; the ones made so far are listed in
docs/detection.md.

Run: ``python -m bench.detect_eval [--dataset DIR] [--fit | --nested | --tune-only]``
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from controller.vision.blobs import components
from controller.vision.colour import flame_mask
from controller.vision.flame_still import MIN_HOT_FRACTION, LinearScore, decide
from controller.vision.still_features import hot_fraction, shrink, still_features

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "cair-fire-detection-image-dataset"
LAMBDAS = (1.0, 3.0, 10.0, 30.0)
"""L2 penalties :func:`fit` chooses from (least out-of-fold log-loss)"""
LAMBDA_REPEATS = 3
THRESHOLDS = tuple(round(0.2 + 0.05 * k, 2) for k in range(13))
MAX_FPR = 0.07
"""cap on the cross-validated false-positive rate (below the issue's 10 %, as a margin)"""
CV_FOLDS = 5
CV_REPEATS = 20
CV_SEED = 0
NESTED_REPEATS = 20
NESTED_SEED = 1
COLOUR_ONLY_MIN_FRACTION = 0.005


@dataclass(frozen=True)
class Scores:
    """Image-level confusion counts and the rates derived from them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0


def scores(predicted: NDArray[np.bool_], truth: NDArray[np.bool_]) -> Scores:
    return Scores(
        tp=int((predicted & truth).sum()),
        fp=int((predicted & ~truth).sum()),
        fn=int((~predicted & truth).sum()),
        tn=int((~predicted & ~truth).sum()),
    )


def load(
    dataset: Path, even_only: bool = False
) -> tuple[list[str], NDArray[np.float64], NDArray[np.bool_], list[bool]]:
    """(files, features (n, k), labels, colour-only decisions) in labels.csv order; with
    ``even_only`` the tuning half only (the held-out images are not even read)."""
    with (dataset / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if even_only:
        rows = rows[::2]
    files, feats, labels, colour_only = [], [], [], []
    for row in rows:
        bgr = cv2.imread(str(dataset / row["file"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{dataset / row['file']}: cannot be decoded")
        rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        files.append(row["file"])
        feats.append(still_features(rgb))
        labels.append(row["label"] == "fire")
        small = shrink(rgb)
        min_px = max(1, math.ceil(COLOUR_ONLY_MIN_FRACTION * small.shape[0] * small.shape[1]))
        colour_only.append(bool(components(flame_mask(small), min_px).blobs))
    return files, np.asarray(feats), np.asarray(labels, dtype=bool), colour_only


# ------------------------------------------------------------------ fitting (tuning half only)


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.bool_], lam: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    """(mean, scale, weights, bias) of an L2-regularised logistic regression (Newton)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    t = y.astype(np.float64)
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], lam)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -60, 60)))
        grad = z.T @ (p - t) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return mean, scale, w[:-1], float(w[-1])


def model_of(x: NDArray[np.float64], y: NDArray[np.bool_], lam: float, thr: float) -> LinearScore:
    mean, scale, weights, bias = fit_logistic(x, y, lam)
    return LinearScore(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in weights),
        bias=bias,
        threshold=thr,
    )


def stratified_folds(y: NDArray[np.bool_], k: int, rng: np.random.Generator) -> NDArray[np.int_]:
    """A fold number 0..k-1 per row, each class dealt round-robin after a shuffle."""
    fold = np.empty(len(y), dtype=np.int_)
    for cls in (True, False):
        rows = np.flatnonzero(y == cls)
        rng.shuffle(rows)
        fold[rows] = np.arange(len(rows)) % k
    return fold


def out_of_fold(
    x: NDArray[np.float64], y: NDArray[np.bool_], lam: float, repeats: int, seed: int
) -> NDArray[np.float64]:
    """Out-of-fold p of fire, shape (repeats, rows), of stratified :data:`CV_FOLDS`-fold
    cross-validation repeated ``repeats`` times; photos the hot-pixel gate rejects get 0,
    as in :func:`~controller.vision.flame_still.decide`."""
    rng = np.random.default_rng(seed)
    gated = np.asarray([hot_fraction(row) < MIN_HOT_FRACTION for row in x], dtype=bool)
    out = np.empty((repeats, len(y)))
    for rep in range(repeats):
        fold = stratified_folds(y, CV_FOLDS, rng)
        for k in range(CV_FOLDS):
            test = fold == k
            mean, scale, weights, bias = fit_logistic(x[~test], y[~test], lam)
            logit = np.clip((x[test] - mean) / scale @ weights + bias, -60, 60)
            out[rep, test] = 1.0 / (1.0 + np.exp(-logit))
    out[:, gated] = 0.0
    return out


def log_loss(p: NDArray[np.float64], y: NDArray[np.bool_]) -> float:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.where(y, np.log(q), np.log(1 - q)).mean())


def cross_validate(x: NDArray[np.float64], y: NDArray[np.bool_], lam: float) -> NDArray[np.float64]:
    """Out-of-fold scores, shape (repeats, thresholds, 3): F1, FPR and recall of each of
    :data:`CV_REPEATS` repeats of stratified k-fold at each of :data:`THRESHOLDS`."""
    p = out_of_fold(x, y, lam, CV_REPEATS, CV_SEED)
    out = np.empty((CV_REPEATS, len(THRESHOLDS), 3))
    for rep in range(CV_REPEATS):
        for t, thr in enumerate(THRESHOLDS):
            s = scores(p[rep] >= thr, y)
            out[rep, t] = (s.f1, s.fpr, s.recall)
    return out


@dataclass(frozen=True)
class Estimate:
    """Mean over the cross-validation repeats at the chosen threshold."""

    f1: float
    fpr: float
    recall: float


def choose_lambda(x: NDArray[np.float64], y: NDArray[np.bool_]) -> float:
    """The one of :data:`LAMBDAS` with the least out-of-fold log-loss (ties: the larger)."""
    losses = {lam: log_loss(out_of_fold(x, y, lam, LAMBDA_REPEATS, CV_SEED), y) for lam in LAMBDAS}
    return min(LAMBDAS, key=lambda lam: (losses[lam], -lam))


def fit(x: NDArray[np.float64], y: NDArray[np.bool_]) -> tuple[LinearScore, float, Estimate]:
    """(model, λ, estimate): the model fitted on (x, y) with every feature and λ from
    :func:`choose_lambda`, its threshold chosen by repeated stratified k-fold on (x, y):
    best mean F1 with mean FPR ≤ :data:`MAX_FPR` (the highest threshold when none keeps
    it).  The estimate is that cross-validation's at the threshold: optimistic, since the
    threshold was picked on it; :func:`nested` is the honest one."""
    lam = choose_lambda(x, y)
    mean = cross_validate(x, y, lam).mean(axis=0)
    ok = [t for t in range(len(THRESHOLDS)) if mean[t, 1] <= MAX_FPR] or [len(THRESHOLDS) - 1]
    best = max(ok, key=lambda t: (mean[t, 0], THRESHOLDS[t]))
    estimate = Estimate(f1=mean[best, 0], fpr=mean[best, 1], recall=mean[best, 2])
    return model_of(x, y, lam, THRESHOLDS[best]), lam, estimate


def nested(x: NDArray[np.float64], y: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Nested cross-validation of :func:`fit`: in each of :data:`NESTED_REPEATS` repeats of
    stratified :data:`CV_FOLDS`-fold, :func:`fit` runs on the outer training folds (λ and
    threshold chosen there) and decides the held-back fold.  Rows (repeats), columns
    precision, recall, F1 and FPR of each repeat's pooled decisions."""
    rng = np.random.default_rng(NESTED_SEED)
    out = np.empty((NESTED_REPEATS, 4))
    for rep in range(NESTED_REPEATS):
        fold = stratified_folds(y, CV_FOLDS, rng)
        predicted = np.zeros(len(y), dtype=bool)
        for k in range(CV_FOLDS):
            test = fold == k
            model, _lam, _cv = fit(x[~test], y[~test])
            predicted[test] = [decide(row, model).fire for row in x[test]]
        s = scores(predicted, y)
        out[rep] = (s.precision, s.recall, s.f1, s.fpr)
        print(f"  repeat {rep + 1}/{NESTED_REPEATS}: F1 {s.f1:.3f}, FPR {s.fpr:.3f}", flush=True)
    return out


def _tuple(name: str, values: Sequence[float]) -> str:
    cells = [f"{v:.6g}," for v in values]
    lines = [" ".join(cells[k : k + 6]) for k in range(0, len(cells), 6)]
    body = "".join(f"        {line}\n" for line in lines)
    return f"    {name}=(\n{body}    ),"


def print_model(model: LinearScore, lam: float, cv: Estimate) -> None:
    print(
        f"# fitted on the even half: lambda {lam:g}; {CV_REPEATS} x {CV_FOLDS}-fold CV on it "
        f"at this threshold: F1 {cv.f1:.3f}, FPR {cv.fpr:.3f}, recall {cv.recall:.3f}"
    )
    print("# fmt: off")
    print("STILL_MODEL = LinearScore(")
    print(_tuple("mean", model.mean))
    print(_tuple("scale", model.scale))
    print(_tuple("weights", model.weights))
    print(f"    bias={model.bias:.6g},")
    print(f"    threshold={model.threshold},")
    print(")")
    print("# fmt: on")


# ------------------------------------------------------------------ report


def table(rows: list[tuple[str, str, Scores]]) -> str:
    lines = [
        "| decision | half | n (fire/non-fire) | precision | recall | F1 | FPR |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, half, s in rows:
        lines.append(
            f"| {name} | {half} | {s.tp + s.fn}/{s.fp + s.tn} | {s.precision:.3f} | "
            f"{s.recall:.3f} | {s.f1:.3f} | {s.fpr:.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.detect_eval", description=__doc__)
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--fit", action="store_true", help="fit on the even half, print constants")
    ap.add_argument("--nested", action="store_true", help="nested CV of --fit on the even half")
    ap.add_argument(
        "--tune-only", action="store_true", help="score the even half only (odd half not read)"
    )
    args = ap.parse_args(argv)
    dataset: Path = args.dataset
    if not (dataset / "labels.csv").is_file():
        print(f"skipped: dataset folder {dataset} (with labels.csv) is absent")
        return 0
    tune_only = bool(args.fit or args.nested or args.tune_only)
    files, x, y, colour_only = load(dataset, even_only=tune_only)
    if args.fit:
        model, lam, cv = fit(x, y)
        print_model(model, lam, cv)
        return 0
    if args.nested:
        runs = nested(x, y)
        mean, sd = runs.mean(axis=0), runs.std(axis=0)
        print(
            f"nested CV of --fit on the even half ({NESTED_REPEATS} x {CV_FOLDS}-fold): "
            f"precision {mean[0]:.3f}, recall {mean[1]:.3f}, F1 {mean[2]:.3f} (sd {sd[2]:.3f}), "
            f"FPR {mean[3]:.3f} (sd {sd[3]:.3f}, 90th percentile "
            f"{float(np.quantile(runs[:, 3], 0.9)):.3f})"
        )
        return 0
    even = np.ones(len(files), bool) if tune_only else np.arange(len(files)) % 2 == 0
    still = np.asarray([decide(f).fire for f in x], dtype=bool)
    colour = np.asarray(colour_only, dtype=bool)
    rows = []
    for name, pred in (("still classifier", still), ("colour rule only", colour)):
        rows.append((name, "tune (even)", scores(pred[even], y[even])))
        if not tune_only:
            rows.append((name, "held-out (odd)", scores(pred[~even], y[~even])))
    half = ", tuning half only" if tune_only else ""
    print(f"dataset: {dataset} ({len(files)} photos{half}, {int(y.sum())} fire)\n")
    print(table(rows))
    if not tune_only:
        wrong = [f for f, a, b, e in zip(files, still, y, even, strict=True) if a != b and not e]
        print(f"\nheld-out mistakes of the still classifier ({len(wrong)}): {', '.join(wrong)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

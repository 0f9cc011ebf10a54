"""Still-image flame decision on real labelled photos: tune half vs held-out half.

Dataset: ``../shared/datasets/cair-fire-detection-image-dataset/`` next to the repository
(``--dataset`` overrides), 108 fire and 180 non-fire photos with image-level labels; see
its SOURCE.md.  The images are read from there at run time and never copied.  When the
folder is absent this prints why and exits 0 (a user's machine will not have it).

Protocol (the dataset's rules): rows of ``labels.csv`` in file order; the **even**
indices (0, 2, 4, …) are the tuning half, the **odd** ones the held-out half.  ``--fit``
fits :data:`controller.vision.flame_still.STILL_MODEL` on the tuning half only (L2
logistic regression; the regularisation and the threshold picked by leave-one-out on
that half, best F1 with a false-positive rate ≤ 10 %) and prints the constants to paste.
Without ``--fit`` it reports precision, recall, F1 and false-positive rate of the decision
in the package (:func:`controller.vision.flame_still.decide`: the gate on flame-coloured
pixels, then the fitted score) on both halves, plus the Chen + Celik colour rule alone
(fire if any 8-connected flame-coloured region covers ≥ 0.5 % of the shrunk photo) as a
baseline.

Run: ``python -m bench.detect_eval [--dataset DIR] [--fit]``
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
from controller.vision.flame_still import LinearScore, decide
from controller.vision.still_features import shrink, still_features

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "cair-fire-detection-image-dataset"
LAMBDAS = (0.3, 1.0, 3.0, 10.0)
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
MAX_FPR = 0.10
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


def load(dataset: Path) -> tuple[list[str], NDArray[np.float64], NDArray[np.bool_], list[bool]]:
    """(files, features (n, k), labels, colour-only decisions) in labels.csv order."""
    with (dataset / "labels.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
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


def fit(x: NDArray[np.float64], y: NDArray[np.bool_]) -> tuple[LinearScore, float, Scores]:
    """The model fitted on (x, y), λ and threshold chosen by leave-one-out on them."""
    best: tuple[float, float, float, Scores] | None = None
    for lam in LAMBDAS:
        p = np.empty(len(y))
        for k in range(len(y)):
            keep = np.arange(len(y)) != k
            p[k] = model_of(x[keep], y[keep], lam, 0.5).probability(x[k])
        for thr in THRESHOLDS:
            s = scores(p >= thr, y)
            if s.fpr <= MAX_FPR and (best is None or s.f1 > best[3].f1):
                best = (lam, thr, s.f1, s)
    if best is None:
        raise SystemExit(f"no (lambda, threshold) keeps the false-positive rate <= {MAX_FPR}")
    lam, thr, _f1, loo = best
    return model_of(x, y, lam, thr), lam, loo


def _tuple(name: str, values: Sequence[float]) -> str:
    cells = [f"{v:.6g}," for v in values]
    lines = [" ".join(cells[k : k + 6]) for k in range(0, len(cells), 6)]
    body = "".join(f"        {line}\n" for line in lines)
    return f"    {name}=(\n{body}    ),"


def print_model(model: LinearScore, lam: float, loo: Scores) -> None:
    print(
        f"# fitted on the even half: lambda {lam}, leave-one-out F1 {loo.f1:.3f}, FPR {loo.fpr:.3f}"
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
    args = ap.parse_args(argv)
    dataset: Path = args.dataset
    if not (dataset / "labels.csv").is_file():
        print(f"skipped: dataset folder {dataset} (with labels.csv) is absent")
        return 0
    files, x, y, colour_only = load(dataset)
    even = np.arange(len(files)) % 2 == 0
    if args.fit:
        model, lam, loo = fit(x[even], y[even])
        print_model(model, lam, loo)
        return 0
    still = np.asarray([decide(f).fire for f in x], dtype=bool)
    colour = np.asarray(colour_only, dtype=bool)
    rows = []
    for name, pred in (("still classifier", still), ("colour rule only", colour)):
        rows.append((name, "tune (even)", scores(pred[even], y[even])))
        rows.append((name, "held-out (odd)", scores(pred[~even], y[~even])))
    print(f"dataset: {dataset} ({len(files)} photos, {int(y.sum())} fire)\n")
    print(table(rows))
    wrong = [f for f, a, b, e in zip(files, still, y, even, strict=True) if a != b and not e]
    print(f"\nheld-out mistakes of the still classifier ({len(wrong)}): {', '.join(wrong)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

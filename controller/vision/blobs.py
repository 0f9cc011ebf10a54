"""Masks to regions: morphological clean-up and 8-connected components with a minimum area."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Blob:
    """One connected region of a mask (pixels; see :mod:`controller.vision.detection`)."""

    label: int
    """its label in ``Components.labels``"""
    bbox_px: tuple[int, int, int, int]
    centroid_px: tuple[float, float]
    area_px: int


@dataclass(frozen=True)
class Components:
    """The blobs of a mask at least ``min_area_px`` large, and the label image they index."""

    labels: NDArray[np.int32]
    blobs: tuple[Blob, ...]

    def mask_of(self, blob: Blob) -> NDArray[np.bool_]:
        """Boolean mask of ``blob`` inside its bounding box ``(height, width)``."""
        u, v, w, h = blob.bbox_px
        return np.asarray(self.labels[v : v + h, u : u + w] == blob.label)


_KERNELS: dict[int, NDArray[np.uint8]] = {}


def _kernel(size: int) -> NDArray[np.uint8]:
    k = _KERNELS.get(size)
    if k is None:
        k = _KERNELS[size] = np.asarray(
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), dtype=np.uint8
        )
    return k


def clean(mask: NDArray[np.uint8], open_px: int = 3, close_px: int = 5) -> NDArray[np.uint8]:
    """Opening (drops specks smaller than ``open_px``) then closing (fills gaps smaller than
    ``close_px``) of a 0 / 255 mask; a size below 2 skips that step."""
    out: cv2.typing.MatLike = mask
    if open_px >= 2:
        out = cv2.morphologyEx(out, cv2.MORPH_OPEN, _kernel(open_px))
    if close_px >= 2:
        out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _kernel(close_px))
    return np.asarray(out, dtype=np.uint8)


def components(mask: NDArray[np.uint8], min_area_px: int) -> Components:
    """8-connected components of a 0 / 255 (or 0 / 1) mask with at least ``min_area_px``
    pixels, largest first."""
    if mask.size == 0:
        return Components(labels=np.zeros(mask.shape, np.int32), blobs=())
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=cv2.CV_32S
    )
    blobs = [
        Blob(
            label=k,
            bbox_px=(
                int(stats[k, cv2.CC_STAT_LEFT]),
                int(stats[k, cv2.CC_STAT_TOP]),
                int(stats[k, cv2.CC_STAT_WIDTH]),
                int(stats[k, cv2.CC_STAT_HEIGHT]),
            ),
            centroid_px=(float(centroids[k, 0]), float(centroids[k, 1])),
            area_px=int(stats[k, cv2.CC_STAT_AREA]),
        )
        for k in range(1, n)
        if stats[k, cv2.CC_STAT_AREA] >= min_area_px
    ]
    blobs.sort(key=lambda b: b.area_px, reverse=True)
    return Components(labels=np.asarray(labels, dtype=np.int32), blobs=tuple(blobs))

"""Prompts and SAM's input geometry: a box per instance (jittered in training), points inside its mask.

SAM takes an image resized so that its longest side is the model's ``image_size`` and padded at the
bottom and right; prompt coordinates are in that resized frame (x, y; boxes as x0, y0, x1, y1). The
jitter follows SAM's training: each box edge moves by noise of 10% of the box side, at most
``max_shift`` pixels, so that the model does not learn to trust a perfect box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """How an image of ``width`` x ``height`` enters a SAM of ``image_size``: scaled, then padded."""

    width: int
    height: int
    image_size: int

    @property
    def scale(self) -> float:
        return self.image_size / max(self.width, self.height)

    @property
    def resized(self) -> tuple[int, int]:
        """(width, height) after the resize, before the padding (rounded as SAM's processor does)."""
        return int(self.width * self.scale + 0.5), int(self.height * self.scale + 0.5)

    def box(self, xywh: tuple[float, float, float, float]) -> np.ndarray:
        """A COCO box (x, y, width, height, image pixels) as SAM's x0, y0, x1, y1 in the resized frame."""
        x, y, w, h = xywh
        return np.array([x, y, x + w, y + h], dtype=np.float32) * self.scale


def jittered_box(box: np.ndarray, rng: np.random.Generator, fraction: float = 0.1, max_shift: float = 20.0,
                 limit: float | None = None) -> np.ndarray:
    """``box`` (x0, y0, x1, y1) with each edge moved by N(0, fraction x side), clipped to ``max_shift``
    pixels, kept ordered and inside [0, limit]."""
    side = np.array([box[2] - box[0], box[3] - box[1]] * 2, dtype=np.float32)
    shift = np.clip(rng.normal(0.0, 1.0, 4) * fraction * side, -max_shift, max_shift)
    moved = box + shift.astype(np.float32)
    x0, x1 = sorted((moved[0], moved[2]))
    y0, y1 = sorted((moved[1], moved[3]))
    out = np.array([x0, y0, x1, y1], dtype=np.float32)
    return np.clip(out, 0.0, limit) if limit is not None else out


def points_in_mask(mask: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` (x, y) pixel centres drawn uniformly among the mask's pixels (with replacement)."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise ValueError("points_in_mask: the mask is empty")
    chosen = rng.integers(0, xs.size, count)
    return np.stack([xs[chosen], ys[chosen]], axis=1).astype(np.float32) + 0.5

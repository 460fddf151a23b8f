"""Mask quality: IoU and Dice per instance, and the baseline a model must beat, filling its prompt box."""

from __future__ import annotations

import numpy as np


def iou(predicted: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of two boolean masks; two empty masks agree perfectly (1.0)."""
    union = np.logical_or(predicted, target).sum()
    return float(np.logical_and(predicted, target).sum() / union) if union else 1.0


def dice(predicted: np.ndarray, target: np.ndarray) -> float:
    """2|A and B| / (|A| + |B|); 1.0 for two empty masks."""
    total = predicted.sum() + target.sum()
    return float(2 * np.logical_and(predicted, target).sum() / total) if total else 1.0


def box_fill(box_xyxy: np.ndarray, height: int, width: int) -> np.ndarray:
    """The mask that fills the prompt box (pixels whose centre lies inside it): the no-model baseline."""
    x0, y0, x1, y1 = box_xyxy
    xs, ys = np.arange(width) + 0.5, np.arange(height) + 0.5
    return ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]

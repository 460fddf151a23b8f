"""The calibration set: a deterministic draw from the train split, never from val or test."""

from __future__ import annotations

import numpy as np
import torch

from distillery.data.batches import Normalizer
from distillery.data.prepared import PreparedSplit


def calibration_indices(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct indices of a split of ``size`` images, the same for the same seed."""
    return np.sort(np.random.default_rng(seed).permutation(size)[: min(count, size)])


def calibration_batches(
    train: PreparedSplit, count: int, seed: int, normalizer: Normalizer, batch_size: int = 32
) -> list[torch.Tensor]:
    """Normalised NCHW float batches of the calibration images (``train.images``: the exported models' input
    shape, which a task's training batches need not have)."""
    idx = calibration_indices(len(train.images), count, seed)
    return [normalizer.images(train.images[idx[i : i + batch_size]]) for i in range(0, len(idx), batch_size)]

"""Deterministic stratified splits: per class for single-label, iterative for multi-label.

Iterative stratification follows Sechidis, Tsoumakas & Vlahavas (2011): repeatedly take the
label with the fewest remaining examples and give each of its examples to the split that
most lacks that label, so rare labels are spread as evenly as common ones.
"""

from __future__ import annotations

import numpy as np


def stratified_single(labels: np.ndarray, fractions: dict[str, float], seed: int) -> np.ndarray:
    """Split names per row for a one-hot label matrix, class by class."""
    rng = np.random.default_rng(seed)
    names = list(fractions)
    out = np.empty(len(labels), dtype=object)
    classes = labels.argmax(axis=1)
    for cls in range(labels.shape[1]):
        idx = rng.permutation(np.flatnonzero(classes == cls))
        bounds = np.cumsum([round(fractions[n] * len(idx)) for n in names[:-1]])
        for name, part in zip(names, np.split(idx, bounds), strict=True):
            out[part] = name
    return out


def iterative_stratification(
    labels: np.ndarray, fractions: dict[str, float], seed: int
) -> np.ndarray:
    """Split names per row for a multi-hot label matrix (rows without labels included)."""
    rng = np.random.default_rng(seed)
    names = list(fractions)
    ratios = np.array([fractions[n] for n in names])
    matrix = np.concatenate([labels.astype(bool), ~labels.any(axis=1, keepdims=True)], axis=1)
    n_rows = len(matrix)
    want_rows = ratios * n_rows
    want_label = ratios[:, None] * matrix.sum(axis=0)[None, :]
    assigned = np.full(n_rows, -1)
    remaining = matrix.copy()
    while (assigned < 0).any():
        counts = remaining.sum(axis=0)
        label = int(np.flatnonzero(counts == counts[counts > 0].min())[0])
        for row in rng.permutation(np.flatnonzero(remaining[:, label])):
            need = want_label[:, label]
            best = np.flatnonzero(need == need.max())
            if len(best) > 1:
                best = best[want_rows[best] == want_rows[best].max()]
            split = int(rng.choice(best))
            assigned[row] = split
            want_label[split] -= matrix[row]
            want_rows[split] -= 1
            remaining[row] = False
    return np.array(names, dtype=object)[assigned]

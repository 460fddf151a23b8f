"""Whole items to train/val/test when a dataset comes without split folders: seeded, reproducible."""

from __future__ import annotations

import numpy as np


def seeded_split(names: list[str], val_fraction: float, test_fraction: float,
                 rng: np.random.Generator) -> dict[str, str]:
    """Name -> split: a shuffle (from ``rng``) of the sorted names, cut by the fractions.

    Each split that has a fraction gets at least one name when there are three or more.
    """
    names = sorted(names)
    order = rng.permutation(len(names))
    enough = len(names) >= 3
    n_test = max(round(test_fraction * len(names)), 1 if test_fraction > 0 and enough else 0)
    n_val = max(round(val_fraction * len(names)), 1 if val_fraction > 0 and enough else 0)
    splits = ["test"] * n_test + ["val"] * n_val + ["train"] * (len(names) - n_test - n_val)
    return {names[i]: split for i, split in zip(order, splits, strict=True)}

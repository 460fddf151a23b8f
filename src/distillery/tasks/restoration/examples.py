"""Restoration's ``examples`` part: small generated photos (smooth gradients, edges, texture), clean only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from distillery.data.sources import SPLITS

SIDE = (56, 48)  # width, height: above the tiny configurations' crops and tiles


def synthetic_photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Something a denoiser can learn: smooth colour fields, a few sharp-edged shapes, mild texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.stack([128 + 90 * np.sin(x / rng.uniform(6, 20) + rng.uniform(0, 6)) * np.cos(y / rng.uniform(6, 20))
                      for _ in range(3)], axis=2)
    for _ in range(3):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 14)
        image[(x - cx) ** 2 + (y - cy) ** 2 < r**2] = rng.uniform(0, 255, size=3)
    image += rng.normal(0, 4, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def write_example_data(raw: Path, images: tuple[int, int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for split, count in zip(SPLITS, images, strict=True):
        folder = raw / split / "clean"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(synthetic_photo(rng, *SIDE)).save(folder / f"{split}_{i:04d}.png")

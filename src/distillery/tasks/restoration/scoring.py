"""Restoration's ``scoring`` part: whole images from the tiles, PSNR and SSIM, pixel agreement.

Outputs arrive as the model's restored tiles of a split, in order; they are blended back into
whole images (``store.RestorationDataset.restored_images``) and scored against the clean images.
A "decision" is the restored 8-bit image itself (all of a split's, flattened end to end).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillery.tasks.restoration.dataset import RestorationDataset
from distillery.tasks.restoration.metrics import score_images


def clean_images(data: RestorationDataset, split: str) -> list[np.ndarray]:
    return [data.store.clean(image) for image in data.tiled(split).images]


def score(outputs: np.ndarray, data: RestorationDataset, split: str) -> dict[str, Any]:
    restored = data.restored_images(split, outputs)
    names = [image.name for image in data.tiled(split).images]
    scored = score_images(restored, clean_images(data, split), names)
    return {"psnr": scored["psnr"], "ssim": scored["ssim"]}


def decide(outputs: np.ndarray, data: RestorationDataset, split: str) -> np.ndarray:
    return np.concatenate([image.ravel() for image in data.restored_images(split, outputs)])


def agreement(decisions: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """``labels``: the share of pixel values that are identical; ``images``: within one grey level."""
    difference = np.abs(decisions.astype(np.int16) - reference.astype(np.int16))
    return {"labels": float(np.mean(difference == 0)), "images": float(np.mean(difference <= 1))}


SIDE = 192  # pixels of the centre crop in a side-by-side picture


def side_by_side(panels: list[np.ndarray], side: int = SIDE) -> np.ndarray:
    """The centre ``side`` x ``side`` crop of each same-sized image, left to right."""
    height, width = panels[0].shape[:2]
    side_h, side_w = min(side, height), min(side, width)
    top, left = (height - side_h) // 2, (width - side_w) // 2
    return np.concatenate([p[top:top + side_h, left:left + side_w] for p in panels], axis=1)


def validation_images(outputs: np.ndarray, data: RestorationDataset) -> dict[str, np.ndarray]:
    """The first val image, degraded / restored / clean side by side, named by its file."""
    image = data.tiled("val").images[0]
    restored = data.restored_images("val", outputs)[0]
    strip = side_by_side([data.store.degraded(image), restored, data.store.clean(image)])
    return {image.name.replace("/", "_"): strip}

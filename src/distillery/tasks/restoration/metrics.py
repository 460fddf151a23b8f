"""PSNR and SSIM of restored images, as scikit-image computes them, on the 8-bit images a user gets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    """dB over the whole H x W x 3 uint8 image (data range 255); inf for identical images."""
    return float(peak_signal_noise_ratio(clean, restored, data_range=255))


def ssim(restored: np.ndarray, clean: np.ndarray) -> float:
    """scikit-image's SSIM (7x7 uniform window, sample covariance) averaged over the colour channels."""
    return float(structural_similarity(clean, restored, data_range=255, channel_axis=2))


def score_images(restored: Sequence[np.ndarray], clean: Sequence[np.ndarray], names: Sequence[str]) -> dict:
    """Per-image PSNR and SSIM and their means (the mean of per-image dB, as restoration papers report)."""
    psnrs = [psnr(r, c) for r, c in zip(restored, clean, strict=True)]
    ssims = [ssim(r, c) for r, c in zip(restored, clean, strict=True)]
    per_image = {name: {"psnr": round(p, 4), "ssim": round(s, 5)}
                 for name, p, s in zip(names, psnrs, ssims, strict=True)}
    return {"psnr": round(float(np.mean(psnrs)), 4), "ssim": round(float(np.mean(ssims)), 5), "per_image": per_image}

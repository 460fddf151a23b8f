"""The classical denoisers a user would otherwise pick, run on the same test images as the model.

scikit-image's total variation, wavelet and non-local means, and BM3D (PyPI ``bm3d``) where it
installs, each given the noise level (the degradation's sigma when the pipeline made the noise,
else scikit-image's estimate from the degraded image), with its wall time per image.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet, estimate_sigma

Denoiser = Callable[[np.ndarray, float], np.ndarray]  # (H x W x 3 float in [0, 1], sigma in [0, 1]) -> same


def total_variation(image: np.ndarray, sigma: float) -> np.ndarray:
    return denoise_tv_chambolle(image, weight=0.9 * sigma, channel_axis=2)


def wavelet(image: np.ndarray, sigma: float) -> np.ndarray:
    return denoise_wavelet(image, sigma=sigma, mode="soft", method="BayesShrink", rescale_sigma=True,
                           convert2ycbcr=True, channel_axis=2)


def non_local_means(image: np.ndarray, sigma: float) -> np.ndarray:
    return denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True,
                            channel_axis=2)


def bm3d_rgb(image: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return bm3d.bm3d_rgb(image, sigma_psd=sigma)


def available() -> dict[str, Denoiser]:
    """The denoisers this machine can run, by the name the metrics use."""
    found: dict[str, Denoiser] = {"tv": total_variation, "wavelet": wavelet, "nl_means": non_local_means}
    if importlib.util.find_spec("bm3d") is not None:
        found["bm3d"] = bm3d_rgb
    return found


def noise_sigma(degraded: np.ndarray, known: float | None) -> float:
    """The noise level on the [0, 1] scale: the degradation's when known, else estimated."""
    if known:
        return known / 255.0
    return float(np.mean(estimate_sigma(degraded.astype(np.float64) / 255.0, channel_axis=2)))


@dataclass(frozen=True)
class Denoised:
    image: np.ndarray  # uint8, as the model's outputs are scored
    seconds: float


def run_denoiser(denoiser: Denoiser, degraded: np.ndarray, sigma: float) -> Denoised:
    start = time.perf_counter()
    out = denoiser(degraded.astype(np.float64) / 255.0, sigma)
    seconds = time.perf_counter() - start
    return Denoised(np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8), seconds)

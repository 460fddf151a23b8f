"""Tiled restoration, PSNR/SSIM against scikit-image's definitions, and the classical denoisers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distillery.config import Degradation
from distillery.models.registry import create_model
from distillery.tasks.restoration.baselines import available, noise_sigma, run_denoiser
from distillery.tasks.restoration.degrade import degrade
from distillery.tasks.restoration.metrics import psnr, score_images, ssim
from distillery.tasks.restoration.tiling import blend_window, restore_tiled, tile_starts


def photo(height: int = 70, width: int = 90) -> np.ndarray:
    """A smooth image with an edge: something denoisers can recover."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([128 + 60 * np.sin(x / 9), 128 + 60 * np.cos(y / 7), np.where(x > width // 2, 200, 60)], axis=2)
    return np.clip(base, 0, 255).astype(np.uint8)


def test_tiles_cover_the_image_and_end_flush() -> None:
    assert tile_starts(100, 32, 8) == [0, 24, 48, 68]
    assert tile_starts(20, 32, 8) == [0]
    window = blend_window(16, 4)
    assert window.min() > 0 and window[8, 8] == 1.0 and window[0, 0] < window[2, 2]


@pytest.mark.parametrize(("height", "width", "tile", "overlap"), [(70, 90, 32, 8), (20, 25, 32, 8), (64, 64, 32, 0)])
def test_a_pointwise_model_restores_exactly_through_tiles(height, width, tile, overlap) -> None:
    image = photo(height, width)
    calls = []

    def darken(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return (batch - 10) / 255

    out = restore_tiled(image, darken, tile, overlap)
    assert out.shape == image.shape and set(calls) == {(1, 3, tile, tile)}
    assert np.array_equal(out, np.clip(image.astype(int) - 10, 0, 255).astype(np.uint8))


def test_a_convolutional_model_through_overlapping_tiles_matches_the_whole_image() -> None:
    torch.manual_seed(0)
    model = create_model("nafnet", "w8", [], 0).eval()
    for block in model.modules():  # give the residual branches weight, so the model is not the identity
        if hasattr(block, "beta"):
            torch.nn.init.constant_(block.beta, 0.5)
            torch.nn.init.constant_(block.gamma, 0.5)
    image = photo(96, 96)

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(batch / 255)).numpy()

    whole = restore_tiled(image, run, tile=96, overlap=0)
    tiled = restore_tiled(image, run, tile=64, overlap=32)
    assert psnr(tiled, whole) > 35


def test_psnr_and_ssim_follow_their_definitions() -> None:
    clean = photo()
    off_by_one = clean.copy()
    off_by_one[clean < 255] += 1
    mse = np.mean((off_by_one.astype(float) - clean) ** 2)
    assert psnr(off_by_one, clean) == pytest.approx(10 * np.log10(255**2 / mse))
    assert ssim(clean, clean) == pytest.approx(1.0) and ssim(off_by_one, clean) < 1.0
    scored = score_images([off_by_one, clean], [clean, clean[:, ::-1]], ["a", "b"])
    assert scored["psnr"] == pytest.approx(np.mean([psnr(off_by_one, clean), psnr(clean, clean[:, ::-1])]), abs=1e-4)
    assert set(scored["per_image"]) == {"a", "b"}


def test_every_classical_denoiser_improves_on_the_noisy_input() -> None:
    clean = photo()
    noisy = degrade(clean, Degradation(25.0, 0.0, 0), 0, "photo")
    sigma = noise_sigma(noisy, 25.0)
    assert sigma == pytest.approx(25 / 255)
    assert noise_sigma(noisy, None) == pytest.approx(sigma, rel=0.25)
    denoisers = available()
    assert {"tv", "wavelet", "nl_means", "bm3d"} <= set(denoisers)
    for name, denoiser in denoisers.items():
        result = run_denoiser(denoiser, noisy, sigma)
        assert result.image.dtype == np.uint8 and result.seconds > 0
        assert psnr(result.image, clean) > psnr(noisy, clean) + 3, name
